//! One flagd flag: validation and compilation to a [`Flag`].

use serde_json::{Map, Value};
use vane_resolver::context::json_type;
use vane_resolver::{Flag, Targeting, Variant};

use super::lint;
use super::lower;
use super::metadata;
use super::path::JsonPath;
use super::report::Report;
use crate::jsonlogic::{self, PathStep};
use crate::size::NodeBudget;
use vane_resolver::limits::{flag_key_too_long, MAX_FLAG_KEY_BYTES};

/// Compiles the flag `key` (the JSON `value` at `flags.<key>`).
///
/// `evaluators` are the file's `$evaluators`; `set_metadata` the flag-set
/// metadata, merged under the flag's own (the flag's keys win, as in flagd);
/// `budget` the nodes the file's targeting rules may still compile to.
/// Problems go to `report`; the flag is returned whenever its shape allows,
/// so later checks still run (the report decides whether the file compiles).
pub fn compile(
    report: &mut Report<'_>,
    key: &str,
    value: &Value,
    evaluators: &Map<String, Value>,
    set_metadata: &Map<String, Value>,
    budget: &mut NodeBudget,
) -> Option<Flag> {
    let path = JsonPath::root().key("flags").key(key);
    if key.is_empty() {
        report.error(&path, "a flag key must not be empty");
    }
    if key.len() > MAX_FLAG_KEY_BYTES {
        report.warning(
            &path,
            format!(
                "{} on their own (longer ones get 400), so this flag appears only in bulk answers",
                flag_key_too_long(key.len())
            ),
        );
    }
    let Value::Object(fields) = value else {
        report.error(
            &path,
            format!("a flag must be an object, found {}", json_type(value)),
        );
        return None;
    };
    let disabled = state(report, &path, fields.get("state"));
    let variants = variants(report, &path.key("variants"), fields.get("variants"));
    let default_variant = default_variant(
        report,
        &path.key("defaultVariant"),
        fields.get("defaultVariant"),
        &variants,
    );
    let targeting = targeting(
        report,
        &path.key("targeting"),
        fields.get("targeting"),
        evaluators,
        &variants,
        budget,
    );
    let mut merged = set_metadata.clone();
    merged.extend(metadata::read(
        report,
        &path.key("metadata"),
        fields.get("metadata"),
    ));
    Some(Flag {
        key: key.to_owned(),
        variants,
        default_variant,
        disabled,
        targeting,
        metadata: merged,
    })
}

/// `state`: `"ENABLED"` or `"DISABLED"` (flagd schema). Returns `disabled`.
/// flagd disables a flag only for `"DISABLED"` and serves it otherwise, so a
/// missing or other string is a warning and the flag is enabled; a value
/// that is not a string makes flagd refuse the file, and is an error.
fn state(report: &mut Report<'_>, flag: &JsonPath, state: Option<&Value>) -> bool {
    match state {
        Some(Value::String(s)) if s == "ENABLED" => false,
        Some(Value::String(s)) if s == "DISABLED" => true,
        Some(Value::String(s)) => {
            report.warning(
                &flag.key("state"),
                format!(
                    "state should be \"ENABLED\" or \"DISABLED\", found \"{s}\"; \
                     flagd serves the flag as enabled"
                ),
            );
            false
        }
        Some(other) => {
            report.error(
                &flag.key("state"),
                format!("state must be \"ENABLED\" or \"DISABLED\", found {other}"),
            );
            false
        }
        None => {
            report.warning(
                flag,
                "state is missing: add \"state\": \"ENABLED\" or \"DISABLED\"; \
                 flagd serves the flag as enabled",
            );
            false
        }
    }
}

/// `variants`: an object of non-empty names to values of one JSON type
/// (boolean, string, number or object). Optional: absent means none.
/// Returned in source order.
fn variants(report: &mut Report<'_>, path: &JsonPath, variants: Option<&Value>) -> Vec<Variant> {
    let map = match variants {
        None => return Vec::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            report.error(
                path,
                format!(
                    "variants must be an object of variant names to values, found {}",
                    json_type(other)
                ),
            );
            return Vec::new();
        }
    };
    // serde_json's map is sorted by key; the source map knows the text order.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(name, _)| report.map().get(&path.key(name)));
    let mut first: Option<(&str, &'static str)> = None;
    let mut out = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        let at = path.key(name);
        if name.is_empty() {
            report.warning(&at, "a variant name should not be empty");
        }
        let ty = json_type(value);
        if matches!(value, Value::Null | Value::Array(_)) {
            report.error(
                &at,
                format!(
                    "variant '{name}' is {}: a variant value must be a boolean, string, number or object",
                    article(ty)
                ),
            );
        } else {
            match first {
                None => first = Some((name, ty)),
                Some((first_name, first_ty)) if first_ty != ty => report.warning(
                    &at,
                    format!(
                        "variant '{name}' is {} but variant '{first_name}' is {}: \
                         all variants of a flag should have the same type (flagd loads the \
                         flag; a typed evaluation of the odd variant fails with TYPE_MISMATCH)",
                        article(ty),
                        article(first_ty)
                    ),
                ),
                Some(_) => {}
            }
        }
        out.push(Variant {
            name: name.clone(),
            value: value.clone(),
        });
    }
    out
}

fn article(ty: &str) -> String {
    match ty {
        "array" | "object" => format!("an {ty}"),
        "null" => "null".to_owned(),
        _ => format!("a {ty}"),
    }
}

/// `defaultVariant`: a variant name, or `null`/absent for none (the caller's
/// code default applies).
fn default_variant(
    report: &mut Report<'_>,
    path: &JsonPath,
    value: Option<&Value>,
    variants: &[Variant],
) -> Option<u32> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => {
            let index = variants.iter().position(|v| &v.name == name);
            if index.is_none() {
                report.error(
                    path,
                    format!(
                        "defaultVariant '{name}' is not a variant of this flag ({})",
                        names(variants)
                    ),
                );
            }
            index.and_then(|i| u32::try_from(i).ok())
        }
        Some(other) => {
            report.error(
                path,
                format!(
                    "defaultVariant must be a variant name or null, found {}",
                    json_type(other)
                ),
            );
            None
        }
    }
}

/// The variant names for messages: `variants: a, b` or `it has no variants`.
pub fn names(variants: &[Variant]) -> String {
    if variants.is_empty() {
        return "it has no variants".to_owned();
    }
    let list: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    format!("variants: {}", list.join(", "))
}

/// `targeting`: absent or `{}` is static; anything else is JsonLogic (flagd
/// keeps the member as raw JSON and applies it; a value that is not an
/// object, which the flagd schema refuses, is a warning: a string names a
/// variant, `null` serves the default).
///
/// Problems flagd only meets at evaluation (an unknown operator, a `$ref`
/// that is missing, not a string or part of a cycle) are warnings, and the
/// flag fails every evaluation with `PARSE_ERROR`, as in flagd; the size
/// limits are errors. Once the file's node budget is spent (reported at the
/// rule that spent it), later rules are only linted: the file is refused
/// anyway.
fn targeting(
    report: &mut Report<'_>,
    path: &JsonPath,
    value: Option<&Value>,
    evaluators: &Map<String, Value>,
    variants: &[Variant],
    budget: &mut NodeBudget,
) -> Targeting {
    let rule = match value {
        None => return Targeting::Static,
        Some(Value::Object(m)) if m.is_empty() => return Targeting::Static,
        Some(rule @ Value::Object(_)) => rule,
        Some(other) => {
            report.warning(
                path,
                format!(
                    "targeting should be a JsonLogic object (or {{}} for none), found {}; \
                     flagd applies it as it is",
                    json_type(other)
                ),
            );
            other
        }
    };
    lint::targeting(report, path, rule, variants);
    if budget.is_spent() {
        return Targeting::Static;
    }
    let errors = match jsonlogic::compile_all_within(rule, evaluators, budget) {
        Ok(expr) => {
            return match lower::rules(&expr, variants) {
                Some(rules) => Targeting::Rules(rules),
                None => Targeting::JsonLogic(expr),
            }
        }
        Err(errors) => errors,
    };
    if errors.iter().all(|e| e.kind().fails_at_evaluation()) {
        for e in &errors {
            report.warning(
                &inside(path, e.path()),
                format!(
                    "{}; flagd loads the file and every evaluation of this flag fails with PARSE_ERROR",
                    e.message()
                ),
            );
        }
        return Targeting::Invalid(errors[0].message().to_owned());
    }
    for e in errors.iter().filter(|e| !e.kind().fails_at_evaluation()) {
        report.error(&inside(path, e.path()), e.message());
    }
    Targeting::Static
}

/// The document path of a place inside the targeting rule at `targeting`.
fn inside(targeting: &JsonPath, steps: &[PathStep]) -> JsonPath {
    steps.iter().fold(targeting.clone(), |p, step| match step {
        PathStep::Key(k) => p.key(k),
        PathStep::Index(i) => p.index(*i),
    })
}
