//! The evaluation context: the JSON object a caller sends with each request.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::expr::number_to_js_string;
use crate::short_eq::same_bytes;

/// Deepest nesting of objects and arrays accepted in a context (the root
/// object is depth 1). Deeper contexts are refused with `INVALID_CONTEXT`.
pub const MAX_CONTEXT_DEPTH: usize = 32;

/// Why a context was refused; maps to OpenFeature `INVALID_CONTEXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// The text is not valid JSON; carries serde_json's message with line and column.
    Json(String),
    /// The top-level value is not a JSON object; carries the JSON type found.
    NotAnObject(&'static str),
    /// Objects and arrays nest deeper than [`MAX_CONTEXT_DEPTH`].
    TooDeep,
    /// `targetingKey` (or `targeting_key`) is present but not a string.
    TargetingKeyNotString,
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::Json(m) => write!(f, "context is not valid JSON: {m}"),
            ContextError::NotAnObject(t) => write!(f, "context must be a JSON object, found {t}"),
            ContextError::TooDeep => write!(
                f,
                "context nests deeper than {MAX_CONTEXT_DEPTH} levels of objects and arrays"
            ),
            ContextError::TargetingKeyNotString => write!(f, "targetingKey must be a string"),
        }
    }
}

impl std::error::Error for ContextError {}

/// Why a context has no bucketing unit for a split or bucket-range test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitError {
    /// No targeting key, or the unit attribute is missing or `null`.
    Missing,
    /// The unit attribute is present but neither a string nor a number.
    Unusable,
}

/// A validated evaluation context plus the evaluation time.
///
/// The top-level members live in the context's own table, sorted by name
/// length and then name bytes, one member per name: finding an attribute
/// is a binary search over lengths and a comparison with the few names of
/// that length (a `serde_json::Map` compares the name with every key that
/// sorts before it). Nested values stay `serde_json` values.
///
/// The targeting key is `targetingKey`; `targeting_key` is accepted as an alias
/// and copied to `targetingKey` so rules see one name.
#[derive(Debug, Clone)]
pub struct Context {
    members: Vec<(Box<str>, Value)>,
    now: i64,
    /// A copy of the targeting key, read once: splits ask for it per flag.
    targeting_key: Option<String>,
    /// The whole context as one JSON object, built on first use (the
    /// JsonLogic `var ""`, explanations' whole-data reads, the bulk ETag).
    object: OnceLock<Value>,
}

impl PartialEq for Context {
    fn eq(&self, other: &Context) -> bool {
        self.members == other.members
            && self.now == other.now
            && self.targeting_key == other.targeting_key
    }
}

/// A context's top-level JSON value as read, before [`Context::from_raw`]
/// checks it: an object's members in the order sent (duplicates
/// included), or the JSON type of any other value. Deserialize it where a
/// context sits inside a larger document (OFREP's `{"context": {...}}`), so
/// the members go straight into the context's table without a
/// `serde_json::Map` built first.
#[derive(Debug, Clone, PartialEq)]
pub struct RawContext(Result<Vec<(Box<str>, Value)>, &'static str>);

impl<'de> Deserialize<'de> for RawContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawContext, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawContext;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawContext, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(name) = map.next_key::<Box<str>>()? {
            members.push((name, map.next_value::<Value>()?));
        }
        Ok(RawContext(Ok(members)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawContext, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawContext(Err("array")))
    }

    fn visit_unit<E>(self) -> Result<RawContext, E> {
        Ok(RawContext(Err("null")))
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawContext, E> {
        Ok(RawContext(Err("boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<RawContext, E> {
        Ok(RawContext(Err("number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<RawContext, E> {
        Ok(RawContext(Err("number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<RawContext, E> {
        Ok(RawContext(Err("number")))
    }

    fn visit_str<E>(self, _: &str) -> Result<RawContext, E> {
        Ok(RawContext(Err("string")))
    }
}

impl RawContext {
    /// The members of an already parsed JSON value (a `serde_json::Map`
    /// holds one member per name already).
    fn of_value(value: Value) -> RawContext {
        RawContext(match value {
            Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k.into(), v)).collect()),
            other => Err(json_type(&other)),
        })
    }
}

impl Context {
    /// Parses a context from JSON text. `now` is the evaluation time in Unix
    /// seconds (used by `$flagd.timestamp`, time conditions and rule windows).
    /// A name sent twice keeps its last value, as `serde_json` does.
    ///
    /// Errors: [`ContextError`] when the text is not JSON, not an object, too
    /// deep, or has a non-string targeting key.
    pub fn from_json(text: &str, now: i64) -> Result<Context, ContextError> {
        let raw = serde_json::from_str(text).map_err(|e| ContextError::Json(e.to_string()))?;
        Context::from_raw(raw, now)
    }

    /// Parses a context from JSON bytes (a request body, no `&str` made
    /// first); the same rules and errors as [`Context::from_json`], with
    /// invalid UTF-8 a [`ContextError::Json`].
    pub fn from_slice(bytes: &[u8], now: i64) -> Result<Context, ContextError> {
        let raw = serde_json::from_slice(bytes).map_err(|e| ContextError::Json(e.to_string()))?;
        Context::from_raw(raw, now)
    }

    /// Builds a context from an already parsed JSON value; same checks as
    /// [`Context::from_json`].
    pub fn from_value(value: Value, now: i64) -> Result<Context, ContextError> {
        Context::from_raw(RawContext::of_value(value), now)
    }

    /// Builds a context from its deserialized top-level value; same checks
    /// as [`Context::from_json`] (a name sent twice keeps its last value).
    pub fn from_raw(raw: RawContext, now: i64) -> Result<Context, ContextError> {
        let mut context = Context::checked(raw, now)?;
        // A null targeting key means "none", as an absent one does.
        context
            .members
            .retain(|(k, v)| !(v.is_null() && matches!(&**k, "targetingKey" | "targeting_key")));
        let key = match (
            context.member("targetingKey"),
            context.member("targeting_key"),
        ) {
            (Some(Value::String(k)), _) => Some((k.clone(), false)),
            (None, Some(Value::String(k))) => Some((k.clone(), true)),
            (Some(_), _) | (None, Some(_)) => return Err(ContextError::TargetingKeyNotString),
            (None, None) => None,
        };
        if let Some((key, from_alias)) = key {
            if from_alias {
                // Absent (the match above), so its place is found.
                let members = &mut context.members;
                if let Err(i) = members.binary_search_by(|(k, _)| by_table_order(k, "targetingKey"))
                {
                    members.insert(i, ("targetingKey".into(), Value::String(key.clone())));
                }
            }
            context.targeting_key = Some(key);
        }
        Ok(context)
    }

    /// A Confidence evaluation context: an object within the depth limit,
    /// whose targeting key is the `targeting_key` attribute when that is a
    /// string or a whole number (spelled without a fraction). Any other
    /// `targeting_key` is kept as an attribute, not refused: Confidence
    /// reports it per flag, and only for rules that need a unit.
    ///
    /// Errors: not an object, or too deep.
    pub fn from_attributes(value: Value, now: i64) -> Result<Context, ContextError> {
        let mut context = Context::checked(RawContext::of_value(value), now)?;
        context.targeting_key =
            crate::assign::unit_of(&context, Some(&[crate::assign::TARGETING_KEY.to_owned()])).ok();
        Ok(context)
    }

    /// The context of an object's members, in the table's order with the
    /// last of each name kept, after the object and depth checks; no
    /// targeting key yet.
    fn checked(raw: RawContext, now: i64) -> Result<Context, ContextError> {
        let mut members = raw.0.map_err(ContextError::NotAnObject)?;
        // Stable, so the members of one name stay in the order sent; each
        // run then collapses onto its first slot holding the last value.
        members.sort_by(|(a, _), (b, _)| by_table_order(a, b));
        members.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        // After the duplicates are gone: a value a later one replaced is
        // not part of the context, so its depth is not either.
        if depth_exceeds(members.iter().map(|(_, v)| v)) {
            return Err(ContextError::TooDeep);
        }
        Ok(Context {
            members,
            now,
            targeting_key: None,
            object: OnceLock::new(),
        })
    }

    /// An empty context (`{}`) at time `now` (Unix seconds).
    pub fn empty(now: i64) -> Context {
        Context {
            members: Vec::new(),
            now,
            targeting_key: None,
            object: OnceLock::new(),
        }
    }

    /// The top-level member `name`, when the context has one.
    ///
    /// The first [`SCANNED_NAMES`] names of `name`'s length are compared in
    /// turn (a context rarely has more); past them the table, in byte order
    /// within a length, is searched by halves, so a context of thousands of
    /// names of one length costs a logarithmic search, not a scan.
    #[inline]
    pub fn member(&self, name: &str) -> Option<&Value> {
        let len = name.len();
        let first = self.members.partition_point(|(k, _)| k.len() < len);
        let run = self.members.get(first..).unwrap_or_default();
        for (k, v) in run.iter().take(SCANNED_NAMES) {
            if k.len() != len {
                return None;
            }
            if same_bytes(k.as_bytes(), name.as_bytes()) {
                return Some(v);
            }
        }
        let rest = run.get(SCANNED_NAMES..)?;
        let i = rest
            .binary_search_by(|(k, _)| by_table_order(k, name))
            .ok()?;
        rest.get(i).map(|(_, v)| v)
    }

    /// The top-level members, shortest name first (names of one length in
    /// byte order).
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members.iter().map(|(k, v)| (&**k, v))
    }

    /// The whole context as a JSON object, built on the first call and kept:
    /// for readers of the whole data (`var ""`, a bulk ETag), not for
    /// finding attributes ([`Context::member`], [`Context::lookup`]).
    pub fn object(&self) -> &Value {
        self.object.get_or_init(|| {
            Value::Object(
                self.members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        })
    }

    /// The targeting key, when the context has one.
    pub fn targeting_key(&self) -> Option<&str> {
        self.targeting_key.as_deref()
    }

    /// The evaluation time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The bucketing unit: the targeting key when `by` is `None`, else the
    /// attribute at `by` — a string as it is, a number spelled as JavaScript
    /// prints it (so `1`, `1.0` and `-0` are one unit whichever language
    /// sent them).
    ///
    /// Errors: [`UnitError::Missing`] when absent, `null` or the empty
    /// string (every caller without a key would share one bucket, and its
    /// exposures one unit), [`UnitError::Unusable`] for any other JSON type.
    pub fn unit(&self, by: Option<&[String]>) -> Result<Cow<'_, str>, UnitError> {
        match by {
            None => self
                .targeting_key()
                .filter(|k| !k.is_empty())
                .map(Cow::Borrowed)
                .ok_or(UnitError::Missing),
            Some(path) => match self.lookup(path) {
                Some(Value::String(s)) if s.is_empty() => Err(UnitError::Missing),
                Some(Value::String(s)) => Ok(Cow::Borrowed(s)),
                Some(Value::Number(n)) => Ok(Cow::Owned(number_to_js_string(n))),
                None | Some(Value::Null) => Err(UnitError::Missing),
                Some(_) => Err(UnitError::Unusable),
            },
        }
    }

    /// Looks up a value by path segments (`["user", "plan"]`); array elements
    /// are addressed by decimal index segments. The empty path is the whole
    /// context ([`Context::object`]).
    #[inline]
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        match path.split_first() {
            None => Some(self.object()),
            Some((name, rest)) => lookup(self.member(name.as_ref())?, rest),
        }
    }
}

/// The member table's order: shorter names first, names of one length by
/// their bytes.
/// How many names of one length [`Context::member`] compares in turn
/// before it searches the rest of them by halves.
const SCANNED_NAMES: usize = 8;

fn by_table_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Looks up `path` inside `value`: object members by name, array elements by
/// decimal index. `None` when any segment is missing.
pub fn lookup<'v, S: AsRef<str>>(value: &'v Value, path: &[S]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, seg| match v {
        Value::Object(m) => m.get(seg.as_ref()),
        Value::Array(a) => seg.as_ref().parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// JSON type name of a value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// True when the objects/arrays of a context's members (the context is
/// depth 1) nest deeper than the limit.
/// Iterative, so it cannot overflow the stack whatever the input.
fn depth_exceeds<'v>(members: impl Iterator<Item = &'v Value>) -> bool {
    let mut stack: Vec<(&Value, usize)> = members.map(|v| (v, 2)).collect();
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > MAX_CONTEXT_DEPTH {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        let mut s = String::new();
        for _ in 0..levels {
            s.push_str("{\"a\":");
        }
        s.push('1');
        for _ in 0..levels {
            s.push('}');
        }
        s
    }

    #[test]
    fn depth_limit_is_inclusive_at_32() {
        assert!(Context::from_json(&nested(32), 0).is_ok());
        assert_eq!(
            Context::from_json(&nested(33), 0),
            Err(ContextError::TooDeep)
        );
    }

    #[test]
    fn only_the_kept_value_of_a_name_counts_for_the_depth_limit() {
        let deep = format!(r#"{{"a":{},"a":1}}"#, nested(32));
        let c = Context::from_json(&deep, 0).unwrap();
        assert_eq!(c.member("a"), Some(&Value::from(1)));
        let kept_deep = format!(r#"{{"a":1,"a":{}}}"#, nested(32));
        assert_eq!(
            Context::from_json(&kept_deep, 0),
            Err(ContextError::TooDeep)
        );
    }

    #[test]
    fn thousands_of_names_of_one_length_are_all_found() {
        let names: Vec<String> = (0..5_000).map(|i| format!("n{i:07}")).collect();
        let object: serde_json::Map<String, Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), Value::from(i)))
            .collect();
        let c = Context::from_value(Value::Object(object), 0).unwrap();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(c.member(n), Some(&Value::from(i)), "{n}");
        }
        for missing in ["n9999999", "m0000000", "n000000", "n00000000", ""] {
            assert_eq!(c.member(missing), None, "{missing}");
        }
    }

    #[test]
    fn non_objects_are_refused_with_their_type() {
        assert_eq!(
            Context::from_json("[1]", 0),
            Err(ContextError::NotAnObject("array"))
        );
        assert_eq!(
            Context::from_json("null", 0),
            Err(ContextError::NotAnObject("null"))
        );
    }

    #[test]
    fn targeting_key_alias_is_normalised() {
        let c = Context::from_json(r#"{"targeting_key":"u1"}"#, 0).unwrap();
        assert_eq!(c.targeting_key(), Some("u1"));
        assert_eq!(c.lookup(&["targetingKey"]), Some(&Value::from("u1")));
        assert_eq!(
            Context::from_json(r#"{"targetingKey":5}"#, 0),
            Err(ContextError::TargetingKeyNotString)
        );
    }

    #[test]
    fn a_null_targeting_key_is_no_targeting_key() {
        let c = Context::from_json(r#"{"targetingKey":null,"plan":"pro"}"#, 0).unwrap();
        assert_eq!(c.targeting_key(), None);
        let c = Context::from_json(r#"{"targetingKey":null,"targeting_key":"u2"}"#, 0).unwrap();
        assert_eq!(c.targeting_key(), Some("u2"));
    }

    #[test]
    fn an_empty_unit_is_a_missing_unit() {
        let c = Context::from_json(r#"{"targetingKey":"","team":"","n":0}"#, 0).unwrap();
        assert_eq!(c.unit(None), Err(UnitError::Missing));
        assert_eq!(c.unit(Some(&["team".to_owned()])), Err(UnitError::Missing));
        assert_eq!(c.unit(Some(&["n".to_owned()])).as_deref(), Ok("0"));
    }

    #[test]
    fn members_are_found_by_name_and_sorted_by_length_then_bytes() {
        let c = Context::from_json(
            r#"{"region":"eu","age":34,"email":"a@b.example","plan":"pro","bb":1,"ba":2,"":0}"#,
            0,
        )
        .unwrap();
        let names: Vec<&str> = c.members().map(|(k, _)| k).collect();
        assert_eq!(names, ["", "ba", "bb", "age", "plan", "email", "region"]);
        assert_eq!(c.member("email"), Some(&Value::from("a@b.example")));
        assert_eq!(c.member("age"), Some(&Value::from(34)));
        assert_eq!(c.member("ba"), Some(&Value::from(2)));
        assert_eq!(c.member(""), Some(&Value::from(0)));
        for missing in ["emaik", "emails", "b", "Plan", "regions", "x"] {
            assert_eq!(c.member(missing), None, "{missing}");
        }
        assert_eq!(Context::empty(0).member("email"), None);
    }

    #[test]
    fn a_name_sent_twice_keeps_its_last_value_as_serde_json_does() {
        let text = r#"{"plan":"free","a":1,"plan":"pro","a":{"b":2},"targetingKey":"u1","targetingKey":"u2"}"#;
        let c = Context::from_json(text, 0).unwrap();
        assert_eq!(c.member("plan"), Some(&Value::from("pro")));
        assert_eq!(c.lookup(&["a", "b"]), Some(&Value::from(2)));
        assert_eq!(c.targeting_key(), Some("u2"));
        assert_eq!(c.members().count(), 3);
        let via_value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(c.object(), &via_value);
        assert_eq!(Context::from_value(via_value, 0).unwrap(), c);
        // A later null targeting key is no targeting key; a later string
        // after a null is the key.
        let c = Context::from_json(r#"{"targetingKey":"u1","targetingKey":null}"#, 0).unwrap();
        assert_eq!((c.targeting_key(), c.member("targetingKey")), (None, None));
        let c = Context::from_json(r#"{"targetingKey":null,"targetingKey":"u3"}"#, 0).unwrap();
        assert_eq!(c.targeting_key(), Some("u3"));
    }

    #[test]
    fn bytes_parse_as_text_does_and_invalid_utf8_is_a_json_error() {
        let text = r#"{"user":{"tags":["a","b"]},"targeting_key":"u1","n":1.5}"#;
        assert_eq!(
            Context::from_slice(text.as_bytes(), 9),
            Context::from_json(text, 9)
        );
        assert!(matches!(
            Context::from_slice(b"{\"a\":\"\xff\"}", 0),
            Err(ContextError::Json(_))
        ));
        for (text, found) in [
            (&b"\"text\""[..], "string"),
            (b"[[1],{}]", "array"),
            (b"true", "boolean"),
            (b"-1.5", "number"),
            (b" null ", "null"),
        ] {
            assert_eq!(
                Context::from_slice(text, 0),
                Err(ContextError::NotAnObject(found))
            );
        }
        assert!(matches!(
            Context::from_slice(b"{\"a\":1} x", 0),
            Err(ContextError::Json(_))
        ));
    }

    #[test]
    fn a_raw_context_deserializes_inside_a_larger_body() {
        #[derive(serde::Deserialize)]
        struct Body {
            context: RawContext,
        }
        let body: Body =
            serde_json::from_slice(br#"{"context":{"targeting_key":"u1","plan":"pro"}}"#).unwrap();
        let c = Context::from_raw(body.context, 3).unwrap();
        assert_eq!((c.targeting_key(), c.now()), (Some("u1"), 3));
        assert_eq!(
            c.object(),
            &serde_json::json!({"targeting_key":"u1","targetingKey":"u1","plan":"pro"})
        );
    }

    #[test]
    fn the_table_answers_as_the_serde_json_object_did() {
        // Random objects (names from a small alphabet, so lengths and
        // prefixes collide, duplicates included): every member and path
        // is found as `lookup` in the parsed `Value` finds it.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let mut text = String::from("{");
            let mut names = Vec::new();
            for i in 0..next(12) {
                let name: String = (0..next(4))
                    .map(|_| ["a", "b", "é"][next(3) as usize])
                    .collect();
                let value = match next(4) {
                    0 => format!("{}", next(100)),
                    1 => format!("{{\"{name}\":[{},\"x\"]}}", next(9)),
                    2 => "null".to_owned(),
                    _ => format!("\"v{i}\""),
                };
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&format!("\"{name}\":{value}"));
                names.push(name);
            }
            text.push('}');
            let value: Value = serde_json::from_str(&text).unwrap();
            let c = Context::from_attributes(value.clone(), 0).unwrap();
            assert_eq!(c.object(), &value, "{text}");
            names.extend(["ab".to_owned(), "bbbb".to_owned()]);
            for name in &names {
                assert_eq!(c.member(name), value.get(name), "{name} in {text}");
                let path = [name.as_str(), name.as_str(), "0"];
                assert_eq!(c.lookup(&path), lookup(&value, &path), "{path:?} in {text}");
            }
        }
    }

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let c = Context::from_json(r#"{"user":{"tags":["a","b"]}}"#, 0).unwrap();
        assert_eq!(c.lookup(&["user", "tags", "1"]), Some(&Value::from("b")));
        assert_eq!(c.lookup(&["user", "tags", "2"]), None);
        assert_eq!(c.lookup(&["user", "nope"]), None);
        assert_eq!(c.lookup(&["nope"]), None);
        let empty: [&str; 0] = [];
        assert_eq!(
            c.lookup(&empty),
            Some(&serde_json::json!({"user":{"tags":["a","b"]}}))
        );
    }
}
