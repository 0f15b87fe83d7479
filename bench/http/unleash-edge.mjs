// Unleash Edge beside Vane in scripts/bench.sh's `workerd` stage.
//
//   node bench/http/unleash-edge.mjs body CASES_JSON
//       the bulk context of a generated tenant (tenantgen's N.cases.json) as
//       an Unleash context, the JSON body of Unleash's frontend API
//   node bench/http/unleash-edge.mjs check VANE_URL VANE_KEY EDGE_URL EDGE_TOKEN CASES_JSON
//       asks both servers for every flag for each of the tenant's check
//       contexts and its bulk context, and fails unless they agree
//
// The same context, each in its server's form: OFREP's evaluation context
// for Vane; for Unleash, the targeting key as `userId` and every other
// attribute as a string property (Unleash properties are strings), as
// bench/benches/common/unleash.rs gives yggdrasil.
//
// What agreeing means (the tenant generator writes the Unleash form,
// bench/src/tenant.rs): a boolean flag's value is the toggle's `enabled`; a
// flag of other values is enabled with Vane's variant (name and payload)
// unless Vane served the default for want of a matching rule (reason
// DEFAULT) or the flag is disabled. Answers Vane gives with reason SPLIT are
// counted but not compared: the two hash units differently (Vane
// `"{salt}|{unit}"` with MurmurHash3, Unleash its own seeded hash), so a
// split agrees in distribution, not per unit.
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";

/** An OFREP evaluation context as an Unleash context. */
export function unleashContext(context) {
  const properties = {};
  let userId;
  for (const [name, value] of Object.entries(context)) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (name === "targetingKey") userId = text;
    else properties[name] = text;
  }
  return { userId, properties };
}

/** Why Unleash's toggle disagrees with Vane's OFREP result, or null. */
function disagreement(flag, toggle) {
  const enabled = toggle?.enabled ?? false;
  if (flag.reason === "DISABLED" || (typeof flag.value !== "boolean" && flag.reason === "DEFAULT")) {
    return enabled ? `Vane ${flag.reason}, Unleash enabled (${toggle.variant?.name})` : null;
  }
  if (typeof flag.value === "boolean") {
    return enabled === flag.value ? null : `Vane ${flag.value} (${flag.reason}), Unleash enabled=${enabled}`;
  }
  if (!enabled) return `Vane ${flag.variant} (${flag.reason}), Unleash not enabled`;
  const payload = toggle.variant?.payload?.value;
  const value = payload === undefined ? undefined : JSON.parse(payload);
  if (toggle.variant.name !== flag.variant || !isDeepStrictEqual(value, flag.value)) {
    return `Vane ${flag.variant}=${JSON.stringify(flag.value)}, Unleash ${toggle.variant.name}=${payload}`;
  }
  return null;
}

async function post(url, auth, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res.json();
}

async function check(vaneUrl, vaneKey, edgeUrl, edgeToken, casesFile) {
  const cases = JSON.parse(readFileSync(casesFile, "utf8"));
  const contexts = [cases.bulk_context, ...cases.check_contexts];
  let compared = 0, splits = 0;
  const wrong = [];
  for (const context of contexts) {
    const vane = await post(`${vaneUrl}/ofrep/v1/evaluate/flags`, `Bearer ${vaneKey}`, { context });
    const edge = await post(`${edgeUrl}/api/frontend/all`, edgeToken, unleashContext(context));
    const toggles = new Map(edge.toggles.map((t) => [t.name, t]));
    if (vane.flags.length !== toggles.size) {
      wrong.push(`${vane.flags.length} flags from Vane, ${toggles.size} toggles from Unleash Edge`);
    }
    for (const flag of vane.flags) {
      if (flag.errorCode) wrong.push(`${flag.key}: Vane error ${flag.errorCode}`);
      else if (flag.reason === "SPLIT") splits += 1;
      else {
        compared += 1;
        const why = disagreement(flag, toggles.get(flag.key));
        if (why) wrong.push(`${flag.key} for ${JSON.stringify(context)}: ${why}`);
      }
    }
  }
  if (wrong.length) {
    console.error(`unleash-edge: Vane and Unleash Edge disagree (${wrong.length}):\n  ${wrong.slice(0, 20).join("\n  ")}`);
    process.exit(1);
  }
  console.error(
    `unleash-edge: ${cases.tenant}: ${contexts.length} contexts, ${compared} answers equal, ` +
      `${splits} split answers not compared per unit (different hashes)`,
  );
}

const [command, ...args] = process.argv.slice(2);
if (command === "body") {
  console.log(JSON.stringify(unleashContext(JSON.parse(readFileSync(args[0], "utf8")).bulk_context)));
} else if (command === "check" && args.length === 5) {
  await check(...args);
} else {
  console.error("usage: unleash-edge.mjs body CASES_JSON | check VANE_URL VANE_KEY EDGE_URL EDGE_TOKEN CASES_JSON");
  process.exit(2);
}
