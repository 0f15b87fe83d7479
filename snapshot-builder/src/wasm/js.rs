//! Crossing the JS boundary: plain objects as JSON text, contexts, time.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsError, JsValue};

use vane_resolver::Context;

/// A Rust value as a plain JS object: serialised by `serde_json` and read
/// back with `JSON.parse`, so it is exactly the JSON the CLI and the worker
/// print (integers beyond 2^53 lose precision, as in any JS JSON).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("JSON.parse refused the result"))
}

/// A JS value as JSON text (`JSON.stringify`); `what` names it in errors.
fn stringify(value: &JsValue, what: &str) -> Result<String, JsError> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| JsError::new(&format!("{what} cannot be written as JSON")))
}

/// A JS object read into `T` through its JSON text; `undefined` and `null`
/// give `None`. Errors name `what` and say which field is wrong.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<Option<T>, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let text = stringify(value, what)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// An evaluation context from a JS value (`undefined`: the empty context)
/// at `now` (Unix seconds, fractions dropped; `None`: the current time).
/// Errors: the resolver's context errors, or a `now` that is not finite.
pub fn context(value: &JsValue, now: Option<f64>) -> Result<Context, JsError> {
    let now = match now {
        None => now_seconds() as i64,
        Some(t) if t.is_finite() => t.floor() as i64,
        Some(t) => return Err(JsError::new(&format!("now must be Unix seconds, got {t}"))),
    };
    if value.is_undefined() {
        return Ok(Context::empty(now));
    }
    let text = stringify(value, "the context")?;
    Context::from_json(&text, now).map_err(|e| JsError::new(&e.to_string()))
}

/// The current time in whole Unix seconds (`Date.now()`).
pub fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0).floor() as u64
}

/// A new empty JS object.
pub fn object() -> js_sys::Object {
    js_sys::Object::new()
}

/// `target[key] = value` on an object this module created (cannot fail).
pub fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    // Reflect.set only throws for proxies and frozen objects.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}
