//! The Confidence resolve API over a snapshot: the `flags:resolve` request
//! and response bodies of Spotify Confidence
//! (`confidence.flags.resolver.v1`, proto3 JSON) and the library call the
//! worker and `vane resolve` share, so both print the same body.
//!
//! ```text
//! ResolveRequest ─► Snapshot::resolve_confidence(client, &request, sticky, now)
//!                ─► Resolution { flags, writes } ─► Resolution::body_text(id, token)
//! ```
//!
//! Numbers in the body are spelled as proto3 JSON writes a double
//! ([`proto3_json_text`]).
//!
//! Only flags with assignment rules ([`Targeting::Assigned`], what the
//! Confidence front end builds) are resolvable here; a flag is listed when
//! it is active, the client may resolve it and the request names it (or
//! names none).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::assign::{resolve_assigned, sticky_reads, AssignResult, Materializations, StickyWrite};
use crate::context::{Context, ContextError};
use crate::expr::{number_to_js_string, Env};
use crate::model::{Assigned, Flag, Targeting};
use crate::snapshot::{sha256, Snapshot};
use crate::space::BucketCache;

/// A `POST /v1/flags:resolve` body (`ResolveFlagsRequest`, proto3 JSON;
/// fields also under their proto names, `client_secret`,
/// `evaluation_context`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResolveRequest {
    /// Flag names (`flags/{id}`) to resolve; empty = every flag the client may resolve.
    pub flags: Vec<String>,
    /// The evaluation context (a JSON object; `null` = `{}`).
    #[serde(alias = "evaluation_context")]
    pub evaluation_context: Value,
    /// The client secret (looked up by its sha256 like a client key).
    #[serde(alias = "client_secret")]
    pub client_secret: String,
    /// Whether the resolve counts as applied (exposures emitted now).
    pub apply: bool,
    /// The SDK's self-description, passed through to exposures.
    pub sdk: Option<Value>,
}

/// One resolved flag.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedFlag<'a> {
    /// The flag.
    pub flag: &'a Flag,
    /// How it resolved.
    pub result: AssignResult<'a>,
}

/// A resolve's outcome: the flags in snapshot order and the sticky
/// assignments to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'a> {
    /// Resolved flags.
    pub flags: Vec<ResolvedFlag<'a>>,
    /// New sticky assignments, to be written off the response path.
    pub writes: Vec<StickyWrite>,
}

impl Snapshot {
    /// The client name a Confidence client secret belongs to (the secret's
    /// sha256 among the clients' key digests).
    pub fn client_for_secret(&self, secret: &str) -> Option<&str> {
        let digest = sha256(secret.as_bytes());
        self.clients()
            .iter()
            .find(|c| c.key_digests.iter().any(|d| d.0 == digest))
            .map(|c| c.name.as_str())
    }

    /// The flags `client` may resolve for `request`, in snapshot order.
    fn confidence_flags(&self, client: &str, request: &ResolveRequest) -> Vec<(&Flag, &Assigned)> {
        self.flags()
            .filter_map(|flag| {
                let Targeting::Assigned(assigned) = &flag.targeting else {
                    return None;
                };
                let listed = request.flags.is_empty() || request.flags.contains(&flag.key);
                let allowed = assigned
                    .clients
                    .binary_search_by(|c| c.as_str().cmp(client))
                    .is_ok();
                (!flag.disabled && listed && allowed).then_some((flag, &**assigned))
            })
            .collect()
    }

    /// Resolves a Confidence request for `client` (see
    /// [`Snapshot::client_for_secret`]) at time `now` (Unix seconds), with
    /// the sticky store's content for the request (`None` = an empty store).
    ///
    /// Errors: the evaluation context is not an object (or `null`) or nests
    /// too deeply.
    pub fn resolve_confidence<'a>(
        &'a self,
        client: &str,
        request: &'a ResolveRequest,
        sticky: Option<&Materializations>,
        now: i64,
    ) -> Result<Resolution<'a>, ContextError> {
        let context = confidence_context(&request.evaluation_context, now)?;
        let buckets = BucketCache::new(&context, self.spaces());
        let mut writes = Vec::new();
        let flags = self
            .confidence_flags(client, request)
            .into_iter()
            .map(|(flag, assigned)| {
                let env = Env::new(&buckets, &flag.key).with_sticky(sticky);
                let result =
                    resolve_assigned(assigned, &flag.variants, Some(client), &env, &mut writes);
                ResolvedFlag { flag, result }
            })
            .collect();
        Ok(Resolution { flags, writes })
    }

    /// The (unit, materialization) pairs resolving `request` may read from
    /// the sticky store: read them, then pass them to
    /// [`Snapshot::resolve_confidence`].
    pub fn confidence_sticky_reads(
        &self,
        client: &str,
        request: &ResolveRequest,
    ) -> Vec<(String, String)> {
        let Ok(context) = confidence_context(&request.evaluation_context, 0) else {
            return Vec::new();
        };
        let mut reads: Vec<_> = self
            .confidence_flags(client, request)
            .into_iter()
            .flat_map(|(_, assigned)| sticky_reads(assigned, &context))
            .collect();
        reads.sort();
        reads.dedup();
        reads
    }
}

/// The evaluation context of a Confidence request: an object (`null` = `{}`)
/// within the depth limit. Confidence reads the unit through each rule's
/// selector, so `targeting_key` may be of any type here.
fn confidence_context(value: &Value, now: i64) -> Result<Context, ContextError> {
    match value {
        Value::Null => Ok(Context::empty(now)),
        other => Context::from_attributes(other.clone(), now),
    }
}

impl ResolvedFlag<'_> {
    /// The variant's name, if a variant was assigned.
    pub fn variant_name(&self) -> Option<&str> {
        self.result
            .variant
            .and_then(|i| self.flag.variants.get(i as usize))
            .map(|v| v.name.as_str())
    }

    /// The `ResolvedFlag` of the response body (proto3 JSON):
    /// `{flag, variant, value?, flagSchema?, reason, shouldApply,
    /// assignmentOrigin?}`. A match carries the variant's value (`{}` for the
    /// client's default) and the flag's schema; no match carries neither.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("flag".into(), json!(self.flag.key));
        out.insert("variant".into(), json!(self.variant_name().unwrap_or("")));
        if let Some(by) = &self.result.assigned_by {
            let value = self
                .result
                .variant
                .and_then(|i| self.flag.variants.get(i as usize))
                .map_or_else(|| json!({}), |v| v.value.clone());
            out.insert("value".into(), value);
            let schema = match &self.flag.targeting {
                Targeting::Assigned(a) if !a.schema.is_null() => a.schema.clone(),
                _ => json!({"schema": {}}),
            };
            out.insert("flagSchema".into(), schema);
            out.insert("reason".into(), json!(self.result.reason.as_str()));
            out.insert("shouldApply".into(), json!(self.result.should_apply()));
            out.insert("assignmentOrigin".into(), json!(by.rule.name));
        } else {
            out.insert("reason".into(), json!(self.result.reason.as_str()));
            out.insert("shouldApply".into(), json!(self.result.should_apply()));
        }
        Value::Object(out)
    }
}

impl Resolution<'_> {
    /// The `flags:resolve` response body: `{resolvedFlags, resolveToken,
    /// resolveId}` (the token as the caller encoded it, base64 in proto3 JSON).
    pub fn body(&self, resolve_id: &str, resolve_token: &str) -> Value {
        json!({
            "resolvedFlags": self.flags.iter().map(ResolvedFlag::to_json).collect::<Vec<_>>(),
            "resolveToken": resolve_token,
            "resolveId": resolve_id,
        })
    }

    /// [`Resolution::body`] as JSON text, numbers spelled by
    /// [`proto3_json_text`]: what the worker answers and `vane resolve` prints.
    pub fn body_text(&self, resolve_id: &str, resolve_token: &str) -> String {
        proto3_json_text(&self.body(resolve_id, resolve_token))
    }
}

/// `value` as compact JSON text, with every non-integer number (a proto3
/// `double`: Confidence values are `google.protobuf.Value`s) spelled as
/// ECMAScript's `Number::toString` spells it — what proto3 JSON writers
/// that follow JavaScript (protobuf-es, Go's protojson) and browsers'
/// `JSON.stringify` write: positional for 1e-6 ≤ |x| < 1e21
/// (`100000000000000000000`, `0.000001`), exponential with a sign outside
/// (`1e+21`, `1.5e+300`, `1e-7`), `-0` as `0`. serde_json's own writer
/// switches to exponents from 1e16 and below 1e-5 (`1e+20`, `1e-6`).
/// Integers (the front end keeps whole doubles within ±2^53 as integers)
/// are written exactly.
pub fn proto3_json_text(value: &Value) -> String {
    let mut out = Vec::new();
    let mut writer = serde_json::Serializer::with_formatter(&mut out, EcmaScriptNumbers);
    // Writing a `Value` into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut writer);
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's compact formatter with ECMAScript's spelling of doubles.
struct EcmaScriptNumbers;

impl serde_json::ser::Formatter for EcmaScriptNumbers {
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        // A `Value` holds finite numbers only.
        let text = serde_json::Number::from_f64(value)
            .map_or_else(|| "null".to_owned(), |n| number_to_js_string(&n));
        writer.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ECMAScript Number::toString (ECMA-262, Number::toString) of each
    /// double: the vectors of what `JSON.stringify` prints for them.
    #[test]
    fn doubles_are_spelled_as_ecmascript_spells_them() {
        let double = |f: f64| Value::Number(serde_json::Number::from_f64(f).unwrap());
        for (f, text) in [
            (1e21, "1e+21"),
            (-1e21, "-1e+21"),
            (1.5e300, "1.5e+300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            // Whole doubles beyond 2^53: shortest digits, then zeros.
            (9007199254740994.0, "9007199254740994"),
            (1152921504606846976.0, "1152921504606847000"),
            (1e16, "10000000000000000"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (5e-324, "5e-324"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (-0.0, "0"),
            (3.0, "3"),
        ] {
            assert_eq!(proto3_json_text(&double(f)), text, "{f:e}");
        }
    }

    #[test]
    fn integers_and_the_rest_of_json_are_written_exactly() {
        let value = serde_json::json!({"max": u64::MAX, "min": i64::MIN, "two53": 9_007_199_254_740_993_i64,
            "s": "1e21 \"quoted\"", "list": [true, null, {}], "nested": {"x": 1e21}});
        assert_eq!(
            proto3_json_text(&value),
            r#"{"list":[true,null,{}],"max":18446744073709551615,"min":-9223372036854775808,"nested":{"x":1e+21},"s":"1e21 \"quoted\"","two53":9007199254740993}"#
        );
        // What any JSON reader reads back is the same value.
        let back: Value = serde_json::from_str(&proto3_json_text(&value)).unwrap();
        assert_eq!(back, value);
    }
}
