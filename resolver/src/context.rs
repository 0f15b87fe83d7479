//! The evaluation context: the JSON object a caller sends with each request.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::expr::number_to_js_string;

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
/// The targeting key is `targetingKey`; `targeting_key` is accepted as an alias
/// and copied to `targetingKey` so rules see one name.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    root: Value,
    now: i64,
    /// A copy of the targeting key, read once: splits ask for it per flag,
    /// and `targetingKey` sorts after most attribute names, so finding it
    /// in the object costs a comparison with nearly every key.
    targeting_key: Option<String>,
}

impl Context {
    /// Parses a context from JSON text. `now` is the evaluation time in Unix
    /// seconds (used by `$flagd.timestamp`, time conditions and rule windows).
    ///
    /// Errors: [`ContextError`] when the text is not JSON, not an object, too
    /// deep, or has a non-string targeting key.
    pub fn from_json(text: &str, now: i64) -> Result<Context, ContextError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ContextError::Json(e.to_string()))?;
        Context::from_value(value, now)
    }

    /// Builds a context from an already parsed JSON value; same checks as
    /// [`Context::from_json`].
    pub fn from_value(value: Value, now: i64) -> Result<Context, ContextError> {
        let Value::Object(mut map) = value else {
            return Err(ContextError::NotAnObject(json_type(&value)));
        };
        if depth_exceeds(&map) {
            return Err(ContextError::TooDeep);
        }
        // A null targeting key means "none", as an absent one does.
        for name in ["targetingKey", "targeting_key"] {
            if map.get(name) == Some(&Value::Null) {
                map.remove(name);
            }
        }
        match (map.get("targetingKey"), map.get("targeting_key")) {
            (Some(Value::String(_)), _) => {}
            (Some(_), _) => return Err(ContextError::TargetingKeyNotString),
            (None, Some(Value::String(k))) => {
                let k = k.clone();
                map.insert("targetingKey".to_owned(), Value::String(k));
            }
            (None, Some(_)) => return Err(ContextError::TargetingKeyNotString),
            (None, None) => {}
        }
        let targeting_key = map
            .get("targetingKey")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Context {
            root: Value::Object(map),
            now,
            targeting_key,
        })
    }

    /// A Confidence evaluation context: an object within the depth limit,
    /// whose targeting key is the `targeting_key` attribute when that is a
    /// string or a whole number (spelled without a fraction). Any other
    /// `targeting_key` is kept as an attribute, not refused: Confidence
    /// reports it per flag, and only for rules that need a unit.
    ///
    /// Errors: not an object, or too deep.
    pub fn from_attributes(value: Value, now: i64) -> Result<Context, ContextError> {
        let Value::Object(map) = value else {
            return Err(ContextError::NotAnObject(json_type(&value)));
        };
        if depth_exceeds(&map) {
            return Err(ContextError::TooDeep);
        }
        let mut context = Context {
            root: Value::Object(map),
            now,
            targeting_key: None,
        };
        context.targeting_key =
            crate::assign::unit_of(&context, Some(&[crate::assign::TARGETING_KEY.to_owned()])).ok();
        Ok(context)
    }

    /// An empty context (`{}`) at time `now` (Unix seconds).
    pub fn empty(now: i64) -> Context {
        Context {
            root: Value::Object(Map::new()),
            now,
            targeting_key: None,
        }
    }

    /// The whole context as a JSON object.
    pub fn root(&self) -> &Value {
        &self.root
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
    /// are addressed by decimal index segments.
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        lookup(&self.root, path)
    }
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

/// True when objects/arrays under `root` (depth 1) nest deeper than the limit.
/// Iterative, so it cannot overflow the stack whatever the input.
fn depth_exceeds(root: &Map<String, Value>) -> bool {
    let mut stack: Vec<(&Value, usize)> = root.values().map(|v| (v, 2)).collect();
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
    fn lookup_walks_objects_and_arrays() {
        let c = Context::from_json(r#"{"user":{"tags":["a","b"]}}"#, 0).unwrap();
        assert_eq!(c.lookup(&["user", "tags", "1"]), Some(&Value::from("b")));
        assert_eq!(c.lookup(&["user", "nope"]), None);
    }
}
