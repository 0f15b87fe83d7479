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
//! Two kinds of flag are resolved here (`docs/confidence.md`):
//!
//! - flags with assignment rules ([`Targeting::Assigned`], what the
//!   Confidence front end builds), by Confidence's rules; listed when
//!   active, the client may resolve them and the request names them (or
//!   names none);
//! - every other flag (Vane YAML or flagd), evaluated exactly as OFREP
//!   evaluates it and mapped onto Confidence's answer: named
//!   `flags/{key}`, variants `flags/{key}/variants/{name}`, a value that is
//!   not an object wrapped as `{"value": v}`, a served value (a rule, a
//!   split, a layer's experiment, a holdout or the default variant)
//!   `RESOLVE_REASON_MATCH`, no value `RESOLVE_REASON_NO_SEGMENT_MATCH`, a
//!   missing or non-string targeting key `RESOLVE_REASON_TARGETING_KEY_ERROR`
//!   and any other error `RESOLVE_REASON_ERROR`; `shouldApply` only for an
//!   exposure (a split or a holdout bucketed the unit). Listed when active
//!   and named by the request (or none named), for any client of the
//!   tenant, as on OFREP.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::assign::{
    resolve_assigned, sticky_reads, AssignReason, AssignResult, Materializations, StickyWrite,
};
use crate::context::{Context, ContextError};
use crate::exposure::Exposure;
use crate::expr::{number_to_js_string, Env};
use crate::model::{Assigned, Flag, Targeting};
use crate::resolve::resolve;
use crate::result::{ErrorCode, EvaluationResult};
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
    pub answer: Answer<'a>,
}

/// How a listed flag resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// A Confidence flag: its assignment.
    Assigned(AssignResult<'a>),
    /// A Vane-YAML or flagd flag: the OFREP evaluation and the exposure it
    /// is, recorded in the same pass ([`crate::exposure`]).
    Evaluated(EvaluationResult<'a>, Option<Exposure<'a>>),
}

/// A resolve's outcome: the flags in snapshot order and the sticky
/// assignments to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'a> {
    /// Resolved flags.
    pub flags: Vec<ResolvedFlag<'a>>,
    /// New sticky assignments, to be written off the response path.
    pub writes: Vec<StickyWrite>,
    /// The evaluation context as OFREP reads it, in which the Vane-YAML
    /// and flagd flags were evaluated (their exposures' opted attributes
    /// are read from it); `None` when no such flag was listed or the
    /// context was refused.
    pub context: Option<Context>,
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

    /// The flags `client` may resolve for `request`, in snapshot order, each
    /// with its assignment rules when it is a Confidence flag.
    fn confidence_flags(
        &self,
        client: &str,
        request: &ResolveRequest,
    ) -> Vec<(&Flag, Option<&Assigned>)> {
        // The names asked for, sorted once: a request may name thousands,
        // and each flag is looked up among them. A Vane or flagd flag is
        // named `flags/{key}`.
        let mut named: Vec<&str> = request.flags.iter().map(String::as_str).collect();
        named.sort_unstable();
        // Still sorted: these names share the prefix.
        let keys: Vec<&str> = named
            .iter()
            .filter_map(|n| n.strip_prefix(FLAG_PREFIX))
            .collect();
        let listed = |names: &[&str], key: &str| {
            request.flags.is_empty() || names.binary_search(&key).is_ok()
        };
        self.flags()
            .filter(|flag| !flag.disabled)
            .filter_map(|flag| match &flag.targeting {
                Targeting::Assigned(assigned) => {
                    let allowed = assigned
                        .clients
                        .binary_search_by(|c| c.as_str().cmp(client))
                        .is_ok();
                    (listed(&named, &flag.key) && allowed).then_some((flag, Some(&**assigned)))
                }
                _ => listed(&keys, &flag.key).then_some((flag, None)),
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
        let listed = self.confidence_flags(client, request);
        // Vane and flagd flags read the context as OFREP does.
        let evaluated = listed
            .iter()
            .any(|(_, assigned)| assigned.is_none())
            .then(|| ofrep_context(&request.evaluation_context, now));
        let ofrep_buckets = match &evaluated {
            Some(Ok(context)) => Some(self.buckets(context)),
            _ => None,
        };
        let mut writes = Vec::new();
        let flags = listed
            .into_iter()
            .map(|(flag, assigned)| {
                let answer = match (assigned, &evaluated, &ofrep_buckets) {
                    (Some(assigned), _, _) => {
                        let env = Env::new(&buckets, &flag.key).with_sticky(sticky);
                        Answer::Assigned(resolve_assigned(
                            assigned,
                            &flag.variants,
                            Some(client),
                            &env,
                            &mut writes,
                        ))
                    }
                    (None, Some(Ok(_)), Some(buckets)) => {
                        let mut exposure = None;
                        let result = resolve(flag, buckets, &mut exposure);
                        Answer::Evaluated(result, exposure)
                    }
                    // The context [`confidence_context`] accepted and
                    // OFREP refuses: its targeting key is not a string.
                    (None, evaluated, _) => {
                        let details = match evaluated {
                            Some(Err(e)) => e.to_string(),
                            _ => "no evaluation context".to_owned(),
                        };
                        Answer::Evaluated(
                            EvaluationResult::error(
                                flag.key.as_str().into(),
                                ErrorCode::TargetingKeyMissing,
                                details,
                                None,
                            ),
                            None,
                        )
                    }
                };
                ResolvedFlag { flag, answer }
            })
            .collect();
        Ok(Resolution {
            flags,
            writes,
            context: evaluated.and_then(Result::ok),
        })
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
            .filter_map(|(_, assigned)| assigned)
            .flat_map(|assigned| sticky_reads(assigned, &context))
            .collect();
        reads.sort();
        reads.dedup();
        reads
    }
}

/// Where a Vane-YAML or flagd flag's Confidence name starts: `flags/{key}`.
pub const FLAG_PREFIX: &str = "flags/";

/// The evaluation context of a Confidence request as OFREP reads it, for
/// Vane-YAML and flagd flags: `targeting_key` is the targeting key (OFREP's
/// `targetingKey`, which it overrides; a `targetingKey` alone is read too).
///
/// Errors: the targeting key is not a string (and what
/// [`confidence_context`] refuses).
fn ofrep_context(value: &Value, now: i64) -> Result<Context, ContextError> {
    match value {
        Value::Null => Ok(Context::empty(now)),
        Value::Object(map) => {
            let mut map = map.clone();
            if let Some(key) = map.get("targeting_key").filter(|k| !k.is_null()) {
                let key = key.clone();
                map.insert("targetingKey".to_owned(), key);
            }
            Context::from_value(Value::Object(map), now)
        }
        other => Context::from_value(other.clone(), now),
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
    /// The flag's name in the answer: a Confidence flag's own,
    /// `flags/{key}` for the others.
    pub fn name(&self) -> String {
        match self.answer {
            Answer::Assigned(_) => self.flag.key.clone(),
            Answer::Evaluated(..) => format!("{FLAG_PREFIX}{}", self.flag.key),
        }
    }

    /// The variant's name as the flag names it (a Confidence flag's full
    /// `flags/{id}/variants/{v}`, a Vane variant's bare name), if a variant
    /// was assigned.
    pub fn variant_name(&self) -> Option<&str> {
        match &self.answer {
            Answer::Assigned(a) => a
                .variant
                .and_then(|i| self.flag.variants.get(i as usize))
                .map(|v| v.name.as_str()),
            Answer::Evaluated(r, _) => r.value.and(r.variant),
        }
    }

    /// The variant's name in the answer: a Confidence flag's own,
    /// `flags/{key}/variants/{name}` for the others; empty when none.
    pub fn variant_wire_name(&self) -> String {
        match (&self.answer, self.variant_name()) {
            (_, None) => String::new(),
            (Answer::Assigned(_), Some(v)) => v.to_owned(),
            (Answer::Evaluated(..), Some(v)) => {
                format!("{FLAG_PREFIX}{}/variants/{v}", self.flag.key)
            }
        }
    }

    /// The Confidence reason (see the module docs for the mapping of a Vane
    /// or flagd evaluation).
    pub fn reason(&self) -> AssignReason {
        match &self.answer {
            Answer::Assigned(a) => a.reason,
            Answer::Evaluated(r, _) => match r.error_code {
                Some(ErrorCode::TargetingKeyMissing) => AssignReason::TargetingKeyError,
                // INVALID_CONTEXT here is a regex test of an attribute too
                // long to test: no fault of the targeting key.
                Some(_) => AssignReason::Error,
                None if r.value.is_some() => AssignReason::Match,
                None => AssignReason::NoSegmentMatch,
            },
        }
    }

    /// Whether the client should apply the flag when it uses it
    /// (Confidence `shouldApply`): a Confidence flag's match or fall-through;
    /// a Vane or flagd flag's exposure.
    pub fn should_apply(&self) -> bool {
        match &self.answer {
            Answer::Assigned(a) => a.should_apply(),
            Answer::Evaluated(_, exposure) => exposure.is_some(),
        }
    }

    /// The `ResolvedFlag` of the response body (proto3 JSON):
    /// `{flag, variant, value?, flagSchema?, reason, shouldApply,
    /// assignmentOrigin?}`. A match carries the variant's value (`{}` for the
    /// client's default) and the flag's schema; no match carries neither.
    /// A Vane or flagd flag's value and schema are [`struct_value`] and
    /// [`struct_schema`]; it has no `assignmentOrigin`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("flag".into(), json!(self.name()));
        out.insert("variant".into(), json!(self.variant_wire_name()));
        let reason = json!(self.reason().as_str());
        let should_apply = json!(self.should_apply());
        match &self.answer {
            Answer::Assigned(a) => {
                if let Some(by) = &a.assigned_by {
                    let value = a
                        .variant
                        .and_then(|i| self.flag.variants.get(i as usize))
                        .map_or_else(|| json!({}), |v| v.value.clone());
                    out.insert("value".into(), value);
                    let schema = match &self.flag.targeting {
                        Targeting::Assigned(a) if !a.schema.is_null() => a.schema.clone(),
                        _ => json!({"schema": {}}),
                    };
                    out.insert("flagSchema".into(), schema);
                    out.insert("reason".into(), reason);
                    out.insert("shouldApply".into(), should_apply);
                    out.insert("assignmentOrigin".into(), json!(by.rule.name));
                } else {
                    out.insert("reason".into(), reason);
                    out.insert("shouldApply".into(), should_apply);
                }
            }
            Answer::Evaluated(r, _) => {
                if let (Some(value), None) = (r.value, r.error_code) {
                    out.insert("value".into(), struct_value(self.flag, value));
                    out.insert("flagSchema".into(), struct_schema(self.flag));
                }
                out.insert("reason".into(), reason);
                out.insert("shouldApply".into(), should_apply);
            }
        }
        Value::Object(out)
    }
}

/// A Vane or flagd flag's value as a Confidence value (a struct): the value
/// itself when every variant of the flag is an object, else `{"value": v}`
/// (read as `flag.value` by a Confidence client).
pub fn struct_value(flag: &Flag, value: &Value) -> Value {
    if flag.variants.iter().all(|v| v.value.is_object()) {
        value.clone()
    } else {
        json!({ "value": value })
    }
}

/// The `flagSchema` of a Vane or flagd flag (proto3 JSON
/// `FlagSchema.StructFlagSchema`, `{"schema": {field: FieldSchema}}`), the
/// schema of every variant's [`struct_value`] merged: a field whose
/// variants disagree on its type is left out, whatever the other variants
/// say (a whole number and a fraction make `doubleSchema`), as is a field
/// that is `null` in every variant; a list's element schema is its
/// elements' merged (a list whose elements disagree, or hold a `null`, is
/// a conflict).
pub fn struct_schema(flag: &Flag) -> Value {
    let fields = flag
        .variants
        .iter()
        .map(|v| struct_value(flag, &v.value))
        .filter_map(|v| match v {
            Value::Object(map) => Some(object_schema(&map)),
            _ => None,
        })
        .reduce(|a, b| merge_fields(&a, &b))
        .unwrap_or_default();
    json!({ "schema": without_conflicts(fields) })
}

/// Each non-null field of `map` with its [`field_schema`].
fn object_schema(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter_map(|(k, v)| field_schema(v).map(|s| (k.clone(), s)))
        .collect()
}

/// A value's `FieldSchema` (`{"boolSchema": {}}`, `{"structSchema":
/// {"schema": …}}`, `{"listSchema": {"elementSchema": …}}`, …); `None` for
/// `null`; `null`, the mark of a conflict, for a list whose elements
/// disagree or hold a `null`.
fn field_schema(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => json!({"boolSchema": {}}),
        Value::Number(n) if n.is_f64() => json!({"doubleSchema": {}}),
        Value::Number(_) => json!({"intSchema": {}}),
        Value::String(_) => json!({"stringSchema": {}}),
        Value::Object(map) => json!({"structSchema": {"schema": object_schema(map)}}),
        Value::Array(items) => list_schema(items.iter().fold(json!({}), |element, item| {
            merge_element(&element, &field_schema(item).unwrap_or(Value::Null))
        })),
    })
}

/// The `listSchema` of lists whose elements have the schema `element`
/// (`{}` when no element is known); `null` when that is a conflict.
fn list_schema(element: Value) -> Value {
    if element.is_null() {
        Value::Null
    } else {
        json!({"listSchema": {"elementSchema": element}})
    }
}

/// Two structs' field schemas merged: a field in one only is kept, a field
/// in both is [`merge_field`]ed (marked `null` on a conflict, so that no
/// later variant brings it back).
fn merge_fields(a: &Map<String, Value>, b: &Map<String, Value>) -> Map<String, Value> {
    let mut out = a.clone();
    for (k, vb) in b {
        let merged = match a.get(k) {
            None => vb.clone(),
            Some(va) => merge_field(va, vb),
        };
        out.insert(k.clone(), merged);
    }
    out
}

/// Two `FieldSchema`s of one field merged; `null` when they conflict (or
/// either is already marked `null`).
fn merge_field(a: &Value, b: &Value) -> Value {
    if a == b {
        return a.clone();
    }
    let kind = |v: &Value| v.as_object().and_then(|m| m.keys().next().cloned());
    match (kind(a).as_deref(), kind(b).as_deref()) {
        (Some("intSchema" | "doubleSchema"), Some("intSchema" | "doubleSchema")) => {
            json!({"doubleSchema": {}})
        }
        (Some("structSchema"), Some("structSchema")) => {
            let inner = |v: &Value| {
                v.pointer("/structSchema/schema")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            json!({"structSchema": {"schema": merge_fields(&inner(a), &inner(b))}})
        }
        (Some("listSchema"), Some("listSchema")) => {
            let element = |v: &Value| {
                v.pointer("/listSchema/elementSchema")
                    .cloned()
                    .unwrap_or_else(|| json!({}))
            };
            list_schema(merge_element(&element(a), &element(b)))
        }
        _ => Value::Null,
    }
}

/// Two list element schemas merged, `{}` (an empty list's: no element
/// known) giving way to the other.
fn merge_element(a: &Value, b: &Value) -> Value {
    let unknown = |v: &Value| v.as_object().is_some_and(Map::is_empty);
    match (unknown(a), unknown(b)) {
        (true, _) => b.clone(),
        (_, true) => a.clone(),
        _ => merge_field(a, b),
    }
}

/// `fields` without the fields marked `null`, at every depth (in structs
/// and in list elements).
fn without_conflicts(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter(|(_, schema)| !schema.is_null())
        .map(|(k, mut schema)| {
            drop_conflicts_within(&mut schema);
            (k, schema)
        })
        .collect()
}

/// [`without_conflicts`] inside one `FieldSchema`: a struct's fields, a
/// list's element.
fn drop_conflicts_within(schema: &mut Value) {
    if let Some(element) = schema.pointer_mut("/listSchema/elementSchema") {
        drop_conflicts_within(element);
    } else if let Some(Value::Object(inner)) = schema.pointer_mut("/structSchema/schema") {
        *inner = without_conflicts(std::mem::take(inner));
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
    use crate::model::Variant;

    fn flag(values: &[Value]) -> Flag {
        Flag {
            key: "f".into(),
            variants: values
                .iter()
                .enumerate()
                .map(|(i, v)| Variant {
                    name: format!("v{i}"),
                    value: v.clone(),
                })
                .collect(),
            default_variant: Some(0),
            disabled: false,
            targeting: Targeting::Static,
            metadata: Map::new(),
        }
    }

    #[test]
    fn a_conflict_stays_out_whatever_the_later_variants_say() {
        // Int against string is a conflict; a third variant's bool must not
        // bring the field back (the served 1 would read as a bool).
        let f = flag(&[json!({"x": 1}), json!({"x": "s"}), json!({"x": true})]);
        assert_eq!(struct_schema(&f), json!({"schema": {}}));
        let f = flag(&[
            json!({"n": {"x": 1, "y": 1}}),
            json!({"n": {"x": "s", "y": 2}}),
            json!({"n": {"x": "t", "y": 3}}),
        ]);
        assert_eq!(
            struct_schema(&f),
            json!({"schema": {"n": {"structSchema": {"schema": {"y": {"intSchema": {}}}}}}})
        );
    }

    #[test]
    fn a_list_conflict_stays_out_too() {
        // A list against an int, then another int; a list whose elements
        // disagree, then a list of ints: neither field comes back.
        let f = flag(&[
            json!({"k": 1, "l": [1, "x"]}),
            json!({"k": [1], "l": [1]}),
            json!({"k": 2, "l": [2]}),
        ]);
        assert_eq!(struct_schema(&f), json!({"schema": {}}));
        // Conflicts inside a list's struct elements, at any depth.
        let f = flag(&[
            json!({"l": [[{"a": 1, "b": 1}]]}),
            json!({"l": [[{"a": "s"}]]}),
            json!({"l": [[{"a": true}], []]}),
        ]);
        let element = json!({"structSchema": {"schema": {"b": {"intSchema": {}}}}});
        assert_eq!(
            struct_schema(&f),
            json!({"schema": {"l": {"listSchema": {"elementSchema":
                {"listSchema": {"elementSchema": element}}}}}})
        );
    }

    #[test]
    fn schemas_merge_the_variants_and_leave_out_conflicts() {
        let f = flag(&[
            json!({"a": 1, "b": "x", "c": [], "d": null, "n": {"x": 1}}),
            json!({"a": 2.5, "b": true, "c": ["s"], "d": null, "e": {"f": 1}, "n": {"x": "y", "z": false}}),
        ]);
        assert_eq!(
            struct_schema(&f),
            json!({"schema": {
                "a": {"doubleSchema": {}},
                "c": {"listSchema": {"elementSchema": {"stringSchema": {}}}},
                "e": {"structSchema": {"schema": {"f": {"intSchema": {}}}}},
                "n": {"structSchema": {"schema": {"z": {"boolSchema": {}}}}}
            }})
        );
        // A list whose elements disagree has no schema; objects are served
        // as they are.
        let f = flag(&[json!({"l": [1, "x"]})]);
        assert_eq!(struct_schema(&f), json!({"schema": {}}));
        assert_eq!(struct_value(&f, &json!({"l": 1})), json!({"l": 1}));
        // A flag mixing objects and scalars is wrapped; its `value` field
        // is a struct in one variant and an int in the other: no schema.
        let f = flag(&[json!({"a": 1}), json!(3)]);
        assert_eq!(struct_value(&f, &json!(3)), json!({"value": 3}));
        assert_eq!(
            struct_value(&f, &json!({"a": 1})),
            json!({"value": {"a": 1}})
        );
        assert_eq!(struct_schema(&f), json!({"schema": {}}));
    }

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
