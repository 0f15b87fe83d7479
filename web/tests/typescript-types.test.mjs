// The browser package's TypeScript types (`vane.d.ts`, written from
// snapshot-builder/src/wasm/typescript.rs) against what the bindings really
// return. This runs the real package (web/playground/pkg, built by
// scripts/build-web.sh) in Node on the example tenants, writes every value
// it gets back as a TypeScript object literal that must `satisfies` its
// declared type, and type-checks that file with tsc: a field the types do
// not declare (a snake_case name, say), a missing field or a wrong type
// fails. A control file with one undeclared field proves tsc does refuse.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = path.join(root, "web/playground/pkg");
const out = path.join(root, "target/typescript-types");
const tsc = path.join(root, "node_modules/.bin/tsc");

const { initSync, compile, Snapshot } = await import(pathToFileURL(path.join(pkg, "vane.js")));
initSync({ module: readFileSync(path.join(pkg, "vane_bg.wasm")) });
const examples = JSON.parse(readFileSync(path.join(pkg, "examples.json"), "utf8"));

/** 2026-11-29T00:00:00Z: inside the shop's Black Friday window. */
const NOW = 1_795_910_400;
const CONTEXTS = [
  undefined,
  { targetingKey: "user-1" },
  { targetingKey: "user-2", email: "ana@shop.example", country: "DE", plan: "pro", platform: "web" },
  { targetingKey: "9f1c", appVersion: "4.2.0", user: { tier: "premium" }, region: "eu-west", age: 41 },
];

/** Every value the bindings return for the examples, each with the type it must satisfy. */
function outputs() {
  const values = [];
  const add = (type, value) => values.push({ type, value });
  for (const ex of examples) {
    const options = { fileName: ex.fileName, tenant: ex.tenant, version: 1, createdAt: 0 };
    const built = compile(ex.text, { ...options, access: ex.access ?? undefined, accessFileName: ex.accessFileName ?? undefined });
    assert.equal(built.ok, true, JSON.stringify(built.diagnostics));
    add("CompileOutput", built);
    // Without its access file (a flagd tenant: the "no clients" warning) and broken.
    add("CompileOutput", compile(ex.text, options));
    add("CompileOutput", compile(ex.text.slice(0, ex.text.length / 2), options));
    const snapshot = Snapshot.fromBytes(built.bytes);
    add("SnapshotInfo", snapshot.info);
    add("string[]", snapshot.flagKeys);
    add("Inspection", snapshot.inspect());
    for (const context of CONTEXTS) {
      add("BulkEvaluation", snapshot.evaluateAll(context, NOW));
      for (const key of [...snapshot.flagKeys, "no-such-flag"]) {
        add("EvaluationResult", snapshot.evaluate(key, context, NOW));
        add("Explanation", snapshot.explain(key, context, NOW));
      }
    }
  }
  add("CompileOutput", compile("flags: [", { fileName: "broken.yaml" }));
  return values;
}

/** A value as a TypeScript expression: JSON, with the package's bytes and Snapshot objects named. */
function literal(value) {
  const text = JSON.stringify(value, (_, v) => {
    if (v instanceof Uint8Array) return "__BYTES__";
    if (v instanceof Snapshot) return "__SNAPSHOT__";
    return v;
  }, 1);
  return text.replaceAll('"__BYTES__"', "new Uint8Array()").replaceAll('"__SNAPSHOT__"', "snapshot");
}

/** A module that checks each value against its type; `tsc` output and status. */
function typecheck(name, values) {
  mkdirSync(out, { recursive: true });
  const types = path.relative(out, path.join(pkg, "vane.js"));
  const lines = [
    `import type { BulkEvaluation, CompileOutput, EvaluationResult, Explanation, Inspection, Snapshot, SnapshotInfo } from "${types}";`,
    "declare const snapshot: Snapshot;",
    ...values.map(({ type, value }, i) => `export const v${i} = ${literal(value)} satisfies ${type};`),
  ];
  const file = path.join(out, `${name}.ts`);
  writeFileSync(file, lines.join("\n") + "\n");
  try {
    execFileSync(tsc, ["--noEmit", "--strict", "--target", "es2022", "--lib", "esnext,dom",
      "--module", "esnext", "--moduleResolution", "bundler", file], { encoding: "utf8" });
    return { ok: true, output: "" };
  } catch (e) {
    return { ok: false, output: `${e.stdout}${e.stderr}` };
  }
}

test("every value the bindings return satisfies its TypeScript type", () => {
  const values = outputs();
  const count = (type) => values.filter((v) => v.type === type).length;
  for (const type of ["CompileOutput", "SnapshotInfo", "Inspection", "BulkEvaluation", "EvaluationResult", "Explanation"]) {
    assert.ok(count(type) >= examples.length, `${type}: ${count(type)} values`);
  }
  assert.ok(values.some((v) => v.type === "CompileOutput" && !v.value.ok), "a failed compile is checked too");
  const { ok, output } = typecheck("outputs", values);
  assert.ok(ok, `tsc refused target/typescript-types/outputs.ts:\n${output}`);
});

test("the check refuses a field the types do not declare", () => {
  const ex = examples[0];
  const { info } = compile(ex.text, { fileName: ex.fileName, version: 1, createdAt: 0 }).snapshot;
  const { ok, output } = typecheck("control", [{ type: "SnapshotInfo", value: { ...info, flag_count: 7 } }]);
  assert.equal(ok, false);
  assert.match(output, /"flag_count"' does not exist in type 'SnapshotInfo'/);
});
