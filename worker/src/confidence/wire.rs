//! Request bodies and error answers of the Confidence API, in proto3 JSON
//! (the JSON mapping of Confidence's `confidence.flags.resolver.v1`
//! messages, field names as the public SDKs send them).
//!
//! proto3 JSON readers accept a field under its lowerCamelCase JSON name
//! and under its original snake_case name; so do these (`clientSecret` or
//! `client_secret`, `resolveToken` or `resolve_token` — the web SDK sends
//! the latter). Unknown fields are ignored, as proto3 JSON parsers do by
//! default in the SDK-facing gateway. Bodies are read whatever their
//! `Content-Type`: the web SDK 0.0.x sends a string body, which a browser
//! labels `text/plain`.

use serde_json::{json, Map, Value};
use vane_resolver::MAX_CONTEXT_DEPTH;

use crate::error::ApiError;
use crate::reply::Reply;

/// gRPC status codes used in error answers (google.rpc.Code).
pub mod code {
    /// `INVALID_ARGUMENT`: HTTP 400.
    pub const INVALID_ARGUMENT: u16 = 3;
    /// `UNAUTHENTICATED`: HTTP 401.
    pub const UNAUTHENTICATED: u16 = 16;
    /// `UNAVAILABLE`: HTTP 503.
    pub const UNAVAILABLE: u16 = 14;
    /// `NOT_FOUND`: HTTP 404.
    pub const NOT_FOUND: u16 = 5;
    /// `UNIMPLEMENTED`: HTTP 405 (a method the path does not serve).
    pub const UNIMPLEMENTED: u16 = 12;
    /// `RESOURCE_EXHAUSTED`: sent with HTTP 413 for a body over the limit
    /// (gRPC's code for a message larger than the server accepts).
    pub const RESOURCE_EXHAUSTED: u16 = 8;
}

/// An error answer as Confidence's HTTP gateway writes one (a
/// `google.rpc.Status` in proto3 JSON): `{"code", "message", "details"}`,
/// `code` the gRPC code that matches `status`.
pub fn error(status: u16, code: u16, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        &json!({"code": code, "message": message.into(), "details": []}),
    )
}

/// A 400 `INVALID_ARGUMENT` answer.
pub fn invalid(message: impl Into<String>) -> Reply {
    error(400, code::INVALID_ARGUMENT, message)
}

/// A request body the Confidence routes could not read (the errors of
/// [`crate::request::read_body`]) as a `google.rpc.Status`: 413
/// `RESOURCE_EXHAUSTED` over the limit, 400 `INVALID_ARGUMENT` for a body
/// that could not be read to its end (as any other error, for want of a
/// better code).
pub fn body_error(e: &ApiError) -> Reply {
    match e {
        ApiError::PayloadTooLarge { .. } => error(413, code::RESOURCE_EXHAUSTED, e.details()),
        _ => error(e.status(), code::INVALID_ARGUMENT, e.details()),
    }
}

/// A routing refusal of a path under `/v1/` as Confidence's gateway
/// answers it: 404 `NOT_FOUND`, 405 `UNIMPLEMENTED` (with `Allow`); `None`
/// for any other error, which keeps its Vane body.
pub fn routing_error(e: &ApiError) -> Option<Reply> {
    match e {
        ApiError::NotFound { .. } => Some(error(404, code::NOT_FOUND, e.details())),
        ApiError::MethodNotAllowed { allow, .. } => {
            Some(error(405, code::UNIMPLEMENTED, e.details()).with_header("allow", *allow))
        }
        _ => None,
    }
}

/// The 401 for a client secret no tenant has.
pub fn unknown_secret() -> Reply {
    error(401, code::UNAUTHENTICATED, "the client secret is not valid")
}

/// The body as a JSON object (an empty body is the empty object).
///
/// Errors: a 400 naming what is wrong: not JSON, not an object, nested
/// deeper than the evaluation context limit.
pub fn object(body: &[u8], what: &str) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    // The context sits one level below the body; refuse deeper nesting
    // before parsing, as the OFREP endpoints do.
    if crate::ofrep::nesting_depth(body) > MAX_CONTEXT_DEPTH + 1 {
        return Err(invalid(format!(
            "{what} nests deeper than {MAX_CONTEXT_DEPTH} levels in evaluationContext"
        )));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(invalid(format!(
            "{what} must be a JSON object, found {}",
            vane_resolver::context::json_type(&other)
        ))),
        Err(e) => Err(invalid(format!("{what} is not valid JSON: {e}"))),
    }
}

/// Removes a field given under its JSON name or its proto field name.
pub fn take(map: &mut Map<String, Value>, json_name: &str, proto_name: &str) -> Option<Value> {
    let value = map.remove(json_name);
    let alias = map.remove(proto_name);
    value.or(alias).filter(|v| !v.is_null())
}

/// A string field (`None` when absent or null).
///
/// Errors: the message for a 400 when it is present but not a string.
pub fn string(
    map: &mut Map<String, Value>,
    json_name: &str,
    proto_name: &str,
) -> Result<Option<String>, String> {
    match take(map, json_name, proto_name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "{json_name} must be a string, found {}",
            vane_resolver::context::json_type(&other)
        )),
    }
}

/// The `sdk` field (`{"id": "SDK_ID_…", "version": "…"}` or with
/// `customId`) as one string for exposures: `id@version`, the id alone
/// without a version; `None` when absent or empty.
pub fn sdk(map: &mut Map<String, Value>) -> Option<String> {
    sdk_of(take(map, "sdk", "sdk").as_ref())
}

/// [`sdk`] of an `sdk` value already taken out of its body.
pub fn sdk_of(sdk: Option<&Value>) -> Option<String> {
    let Some(Value::Object(sdk)) = sdk else {
        return None;
    };
    let text = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| {
                sdk.get(*n)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .map(str::to_owned)
    };
    let id = text(["id", "id"]).or_else(|| text(["customId", "custom_id"]))?;
    Some(match text(["version", "version"]) {
        Some(version) => format!("{id}@{version}"),
        None => id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_refusals_are_google_rpc_statuses() {
        let (not_found, wrong) = (
            crate::route::route("POST", "/v1/flags:nope", None).unwrap_err(),
            crate::route::route("PUT", "/v1/flags:resolve", None).unwrap_err(),
        );
        let r = routing_error(&not_found).unwrap();
        assert_eq!((r.status, r.body_json()["code"].clone()), (404, json!(5)));
        let r = routing_error(&wrong).unwrap();
        assert_eq!((r.status, r.body_json()["code"].clone()), (405, json!(12)));
        assert_eq!(
            r.body_json()["message"],
            "PUT is not allowed on /v1/flags:resolve; use POST, OPTIONS"
        );
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "allow" && v == "POST, OPTIONS"));
        assert!(routing_error(&ApiError::UnreadableBody).is_none());
    }

    #[test]
    fn bodies_are_objects_of_any_content_type() {
        assert_eq!(object(b"", "apply request"), Ok(Map::new()));
        let e = object(b"[1]", "apply request").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.body_json(),
            json!({"code": 3, "message": "apply request must be a JSON object, found array", "details": []})
        );
        let e = object(b"{", "resolve request").unwrap_err();
        assert!(e.body_json()["message"]
            .as_str()
            .unwrap()
            .starts_with("resolve request is not valid JSON: EOF"));
        let deep = format!(
            "{{\"evaluationContext\":{}1{}}}",
            "{\"a\":".repeat(33),
            "}".repeat(33)
        );
        assert_eq!(
            object(deep.as_bytes(), "resolve request")
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn fields_are_read_under_both_proto3_json_names() {
        let mut m = object(br#"{"resolve_token":"t","clientSecret":"s"}"#, "x").unwrap();
        assert_eq!(
            string(&mut m, "resolveToken", "resolve_token"),
            Ok(Some("t".into()))
        );
        assert_eq!(
            string(&mut m, "clientSecret", "client_secret"),
            Ok(Some("s".into()))
        );
        assert_eq!(string(&mut m, "clientSecret", "client_secret"), Ok(None));
        let mut m = object(br#"{"clientSecret":7}"#, "x").unwrap();
        assert_eq!(
            string(&mut m, "clientSecret", "client_secret"),
            Err("clientSecret must be a string, found number".into())
        );
    }

    #[test]
    fn sdk_is_id_and_version() {
        let mut m = object(
            br#"{"sdk":{"id":"SDK_ID_JS_WEB_PROVIDER","version":"0.0.3"}}"#,
            "x",
        )
        .unwrap();
        assert_eq!(sdk(&mut m), Some("SDK_ID_JS_WEB_PROVIDER@0.0.3".into()));
        let mut m = object(br#"{"sdk":{"customId":"my-sdk"}}"#, "x").unwrap();
        assert_eq!(sdk(&mut m), Some("my-sdk".into()));
        let mut m = object(br#"{"sdk":{}}"#, "x").unwrap();
        assert_eq!(sdk(&mut m), None);
    }
}
