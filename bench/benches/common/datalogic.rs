//! `datalogic-rs` 5.4.0 (features `flagd`, `ext-string`) as a flag engine:
//! each flag's flagd targeting compiled once, `$ref`s inlined as flagd
//! does, the context parsed once into the engine's arena
//! ([`ParsedData`]).
//!
//! flagd injects `$flagd.flagKey` into the data per flag; a `fractional`
//! without a bucketing expression reads it. To keep one parsed context for
//! all flags, the harness writes that default out at compile time
//! (`{"cat": ["<flag key>", {"var": "targetingKey"}]}`), which hashes the
//! same string flagd would.

use std::collections::HashMap;

use datalogic_rs::bumpalo::Bump;
use datalogic_rs::{DataValue, Engine, Logic, ParsedData};
use serde_json::{json, Map, Value};

/// One flag, compiled.
pub struct DlFlag {
    /// Flag key.
    pub key: String,
    /// `(name, value)`.
    pub variants: Vec<(String, Value)>,
    /// Default variant index.
    pub default: Option<usize>,
    /// `state: DISABLED`.
    pub disabled: bool,
    /// Compiled targeting; `None` for static flags.
    pub logic: Option<Logic>,
}

/// A flagd file loaded into datalogic-rs, flags sorted by key.
pub struct DlTenant {
    /// The engine (its `flagd` operators registered by the feature).
    pub engine: Engine,
    /// Flags, sorted by key.
    pub flags: Vec<DlFlag>,
    /// Flag positions by key (std `HashMap`, as a flag service keeps them).
    pub index: HashMap<String, usize>,
}

/// A resolved flag: value, variant name and whether targeting matched.
pub struct DlResult<'a> {
    /// Flag key.
    pub key: &'a str,
    /// Value, `None` for disabled flags.
    pub value: Option<&'a Value>,
    /// Variant name.
    pub variant: Option<&'a str>,
    /// `true` when targeting named the variant.
    pub matched: bool,
}

fn inline(v: &Value, evaluators: &Map<String, Value>) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$ref") => {
            let name = m["$ref"].as_str().unwrap();
            inline(&evaluators[name], evaluators)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), inline(v, evaluators)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| inline(v, evaluators)).collect()),
        other => other.clone(),
    }
}

/// Writes out `fractional`'s default bucketing string for `key`.
fn explicit_bucketing(v: Value, key: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = explicit_bucketing(v, key);
                    match (k.as_str(), v) {
                        ("fractional", Value::Array(mut args))
                            if args.first().is_some_and(Value::is_array) =>
                        {
                            args.insert(0, json!({"cat": [key, {"var": "targetingKey"}]}));
                            (k, Value::Array(args))
                        }
                        (_, v) => (k, v),
                    }
                })
                .collect(),
        ),
        Value::Array(a) => {
            Value::Array(a.into_iter().map(|v| explicit_bucketing(v, key)).collect())
        }
        other => other,
    }
}

impl DlTenant {
    /// Parses and compiles a flagd file. Panics on a rule datalogic-rs
    /// refuses (the generated rules are all valid).
    pub fn from_flagd(text: &str) -> DlTenant {
        let file: Value = serde_json::from_str(text).unwrap();
        Self::from_value(&file)
    }

    /// Compiles an already parsed flagd file.
    pub fn from_value(file: &Value) -> DlTenant {
        let engine = Engine::new();
        let empty = Map::new();
        let evaluators = file
            .get("$evaluators")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut flags: Vec<DlFlag> = file["flags"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, f)| {
                let variants: Vec<(String, Value)> = f["variants"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let default = f["defaultVariant"]
                    .as_str()
                    .and_then(|d| variants.iter().position(|(n, _)| n == d));
                let logic = f.get("targeting").map(|t| {
                    let rule = explicit_bucketing(inline(t, evaluators), key);
                    engine
                        .compile(&rule)
                        .unwrap_or_else(|e| panic!("datalogic refuses {key}: {e}"))
                });
                DlFlag {
                    key: key.clone(),
                    variants,
                    default,
                    disabled: f["state"] == "DISABLED",
                    logic,
                }
            })
            .collect();
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        let index = flags
            .iter()
            .enumerate()
            .map(|(i, f)| (f.key.clone(), i))
            .collect();
        DlTenant {
            engine,
            flags,
            index,
        }
    }

    /// Parses a context once into datalogic's data type.
    pub fn context(v: &Value) -> ParsedData {
        ParsedData::from_json(&v.to_string()).unwrap()
    }

    /// Finds a flag by key.
    pub fn flag(&self, key: &str) -> &DlFlag {
        &self.flags[self.index[key]]
    }

    /// Resolves one flag as flagd would: targeting result names the
    /// variant, `null` (or an error) means the default.
    pub fn evaluate<'a>(
        &'a self,
        flag: &'a DlFlag,
        data: &'a DataValue<'a>,
        arena: &'a Bump,
    ) -> DlResult<'a> {
        let pick = |i: Option<usize>, matched: bool| {
            let v = i.and_then(|i| flag.variants.get(i));
            DlResult {
                key: &flag.key,
                value: v.map(|(_, v)| v),
                variant: v.map(|(n, _)| n.as_str()),
                matched,
            }
        };
        if flag.disabled {
            return pick(None, false);
        }
        let Some(logic) = &flag.logic else {
            return pick(flag.default, false);
        };
        let name = match self.engine.evaluate(logic, data, arena) {
            Ok(r) => match (r.as_str(), r.as_bool()) {
                (Some(s), _) => Some(s),
                (None, Some(true)) => Some("true"),
                (None, Some(false)) => Some("false"),
                _ => None,
            },
            Err(_) => None,
        };
        match name.and_then(|n| flag.variants.iter().position(|(v, _)| v == n)) {
            Some(i) => pick(Some(i), true),
            None => pick(flag.default, false),
        }
    }
}
