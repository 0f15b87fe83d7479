//! JavaScript bindings (feature `wasm`): the builder and the resolver as one
//! wasm-bindgen package for the browser playground and local evaluation.
//!
//! ```text
//! compile(source, options)      ─► { ok, diagnostics, bytes?, snapshot? }
//! Snapshot.fromBytes(bytes)     ─► Snapshot            (throws Error: the resolver's message)
//! snapshot.info / .inspect()    ─► SnapshotInfo / Inspection
//! snapshot.evaluate(key, ctx)   ─► EvaluationResult    (the OFREP object)
//! snapshot.evaluateAll(ctx)     ─► BulkEvaluation      (the OFREP bulk body)
//! snapshot.explain(key, ctx)    ─► Explanation
//! ```
//!
//! Plain JS objects go in and out. They cross the boundary as JSON text
//! (`JSON.stringify` in, `JSON.parse` out), so a result is exactly the JSON
//! `vane eval` and the worker produce, and the package needs no serializer
//! besides `serde_json`. Errors are JS `Error`s whose message is the
//! resolver's or the builder's. The TypeScript types of every object are in
//! [`typescript`] and land in the generated `.d.ts`.
//!
//! Build: `scripts/build-web.sh` (`wasm-bindgen --target web`); tests:
//! `tests/browser.rs` in headless Chromium (`scripts/browser-tests.sh`).

use wasm_bindgen::prelude::*;

use vane_resolver::Snapshot as Resolved;

use crate::{build_sources, BuildOptions, Format, Sources};

mod inspect;
mod js;
mod typescript;

/// Options of [`compile_rules`], from JS.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompileOptions {
    /// Names the source in diagnostics and picks the dialect (`.yaml`/`.yml`:
    /// Vane, `.json`: flagd) when `format` is absent. Default `rules`.
    file_name: Option<String>,
    /// `"vane"` or `"flagd"`; detected from the name and text when absent.
    format: Option<String>,
    /// Tenant; required for flagd sources.
    tenant: Option<String>,
    /// Snapshot version; default: `createdAt`.
    version: Option<u64>,
    /// Creation time, Unix seconds; default: now.
    created_at: Option<u64>,
    /// The text of an access file (clients and CORS origins for a flagd
    /// source, as `vane build --access`).
    access: Option<String>,
    /// Names the access file in diagnostics. Default `access.yaml`.
    access_file_name: Option<String>,
    /// Every warning is an error, as `vane build --strict`. Default false.
    #[serde(default)]
    strict: bool,
}

/// Compiles Vane YAML or flagd JSON rules (plus an optional access file)
/// into snapshot bytes with the build `vane build` and `vane check` run
/// ([`build_sources`]), so it reports the same diagnostics.
///
/// Returns `{ok, diagnostics, bytes?, snapshot?}`: `ok` is false when the
/// rules have errors (then only `diagnostics`, each located by file, line,
/// column, flag and path); warnings come with a successful build too.
/// Throws an `Error` for unusable options (unknown field or format).
#[wasm_bindgen(js_name = compile, unchecked_return_type = "CompileOutput")]
pub fn compile_rules(
    source: &str,
    #[wasm_bindgen(unchecked_param_type = "CompileOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    let options: CompileOptions = js::from_js(&options, "compile options")?.unwrap_or_default();
    let file = options.file_name.as_deref().unwrap_or("rules");
    let format = match options.format.as_deref() {
        None => Format::detect(file, source.as_bytes()),
        Some("vane") => Format::Vane,
        Some("flagd") => Format::Flagd,
        Some(other) => {
            return Err(JsError::new(&format!(
                "unknown format {other:?}: use \"vane\" or \"flagd\""
            )))
        }
    };
    let created_at = options.created_at.unwrap_or_else(js::now_seconds);
    let build_options = BuildOptions {
        tenant: options.tenant,
        version: options.version.unwrap_or(created_at),
        created_at,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let access_file = options.access_file_name.as_deref().unwrap_or("access.yaml");
    let confidence = crate::confidence::Options::default();
    let sources = Sources {
        file,
        bytes: source.as_bytes(),
        format,
        confidence: &confidence,
        access: options.access.as_deref().map(|text| (access_file, text)),
        strict: options.strict,
    };
    let built = build_sources(&sources, &build_options);
    let output = js::object();
    match built {
        Ok(built) => {
            js::set(&output, "ok", &JsValue::TRUE);
            js::set(&output, "diagnostics", &js::to_js(&built.warnings)?);
            js::set(
                &output,
                "bytes",
                &js_sys::Uint8Array::from(built.bytes.as_slice()),
            );
            let snapshot = Snapshot {
                inner: built.snapshot,
            };
            js::set(&output, "snapshot", &JsValue::from(snapshot));
        }
        Err(diagnostics) => {
            js::set(&output, "ok", &JsValue::FALSE);
            js::set(&output, "diagnostics", &js::to_js(&diagnostics)?);
        }
    }
    Ok(output.into())
}

/// A decoded, verified snapshot, ready to evaluate.
#[wasm_bindgen]
pub struct Snapshot {
    inner: Resolved,
}

#[wasm_bindgen]
impl Snapshot {
    /// Decodes and verifies snapshot bytes (a `.cbor` file). Throws an
    /// `Error` naming what is wrong: not a snapshot, unknown format or
    /// version, digest mismatch, malformed body.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, JsError> {
        Resolved::from_bytes(bytes)
            .map(|inner| Snapshot { inner })
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Tenant, version, digest, creation time, builder, bucketing version
    /// and size: what `vane inspect` prints.
    #[wasm_bindgen(getter, unchecked_return_type = "SnapshotInfo")]
    pub fn info(&self) -> Result<JsValue, JsError> {
        js::to_js(&self.inner.info)
    }

    /// The flag keys, sorted.
    #[wasm_bindgen(getter, js_name = flagKeys)]
    pub fn flag_keys(&self) -> Vec<String> {
        self.inner.flags().map(|f| f.key.clone()).collect()
    }

    /// Everything in the snapshot a person would look at: info, every
    /// flag's variants, default, state, kind of targeting and metadata,
    /// the clients (names and key counts, never digests), CORS origins and
    /// flag-set metadata.
    #[wasm_bindgen(unchecked_return_type = "Inspection")]
    pub fn inspect(&self) -> Result<JsValue, JsError> {
        js::to_js(&inspect::Inspection::of(&self.inner))
    }

    /// Evaluates one flag for a context (a plain object; `undefined` is the
    /// empty context) at `now` (Unix seconds; default: the current time).
    /// Returns the OFREP result object. Throws an `Error` for an unusable
    /// context (not an object, nested deeper than 32, non-string
    /// `targetingKey`).
    #[wasm_bindgen(unchecked_return_type = "EvaluationResult")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(js_name = flagKey)] flag_key: &str,
        #[wasm_bindgen(unchecked_param_type = "EvaluationContext | undefined")] context: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let context = js::context(&context, now)?;
        js::to_js(&self.inner.evaluate(flag_key, &context))
    }

    /// Evaluates every flag: the OFREP bulk body `{flags, metadata?}`.
    /// Context, time and errors as for `evaluate`.
    #[wasm_bindgen(js_name = evaluateAll, unchecked_return_type = "BulkEvaluation")]
    pub fn evaluate_all(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EvaluationContext | undefined")] context: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let context = js::context(&context, now)?;
        js::to_js(&self.inner.evaluate_bulk(&context))
    }

    /// Evaluates one flag and explains the result: which rule served and
    /// why each other did not, the split's unit, hash, bucket and cut
    /// points, the snapshot. Context, time and errors as for `evaluate`.
    #[wasm_bindgen(unchecked_return_type = "Explanation")]
    pub fn explain(
        &self,
        #[wasm_bindgen(js_name = flagKey)] flag_key: &str,
        #[wasm_bindgen(unchecked_param_type = "EvaluationContext | undefined")] context: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let context = js::context(&context, now)?;
        js::to_js(&self.inner.explain(flag_key, &context))
    }
}
