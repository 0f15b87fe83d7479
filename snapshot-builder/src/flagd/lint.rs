//! Warnings for targeting that flagd accepts but that cannot do what its
//! author meant. flagd loads such files and the custom operators return
//! `null` at evaluation (flagd core's rule for bad input), so these are
//! warnings, never errors.
//!
//! The checks look at literals in the source JSON only; anything computed at
//! evaluation time is left alone.

use serde_json::Value;
use vane_resolver::Variant;

use super::flag::names;
use super::path::JsonPath;
use super::report::Report;

/// The operators flagd's `sem_ver` accepts (flagd core, `sem_ver` custom
/// operation).
const SEM_VER_OPERATORS: [&str; 8] = ["=", "!=", "<", "<=", ">", ">=", "^", "~"];

/// Lints a flag's targeting: variant names it can return and its operators.
pub fn targeting(report: &mut Report<'_>, path: &JsonPath, rule: &Value, variants: &[Variant]) {
    let mut results = Vec::new();
    result_literals(rule, path.clone(), &mut results);
    for (at, name) in results {
        if !variants.iter().any(|v| v.name == name) {
            report.warning(
                &at,
                format!(
                    "targeting can return '{name}', which is not a variant of this flag ({}); \
                     such an evaluation fails with GENERAL",
                    names(variants)
                ),
            );
        }
    }
    operators(report, path, rule);
}

/// Lints the operators of an `$evaluators` entry.
pub fn evaluator(report: &mut Report<'_>, path: &JsonPath, rule: &Value) {
    operators(report, path, rule);
}

/// The single `(operator, arguments)` of a JsonLogic operation object.
fn operation(rule: &Value) -> Option<(&str, &Value)> {
    match rule {
        Value::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

/// Collects the literal variant names `rule` can return: the rule itself when
/// it is a string or boolean (flagd turns `true` into `"true"`), the result
/// branches of `if`/`?:` (`[cond, then, cond, then, ..., else]`, JsonLogic)
/// and the variant of each `fractional` bucket.
fn result_literals(rule: &Value, path: JsonPath, out: &mut Vec<(JsonPath, String)>) {
    match rule {
        Value::String(s) => out.push((path, s.clone())),
        Value::Bool(b) => out.push((path, b.to_string())),
        _ => match operation(rule) {
            Some((op @ ("if" | "?:"), Value::Array(args))) => {
                let last = args.len().saturating_sub(1);
                for (i, arg) in args.iter().enumerate() {
                    if i % 2 == 1 || (i == last && i % 2 == 0) {
                        result_literals(arg, path.key(op).index(i), out);
                    }
                }
            }
            Some(("fractional", Value::Array(args))) => {
                for (i, arg) in args.iter().enumerate() {
                    if let Value::Array(bucket) = arg {
                        if let Some(variant) = bucket.first() {
                            let at = path.key("fractional").index(i).index(0);
                            result_literals(variant, at, out);
                        }
                    }
                }
            }
            _ => {}
        },
    }
}

/// Walks the whole rule and checks each flagd operator's literal arguments.
fn operators(report: &mut Report<'_>, path: &JsonPath, rule: &Value) {
    match rule {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                operators(report, &path.index(i), item);
            }
        }
        Value::Object(members) => {
            if let Some((op, args)) = operation(rule) {
                operator(report, &path.key(op), op, args);
            }
            for (key, value) in members {
                operators(report, &path.key(key), value);
            }
        }
        _ => {}
    }
}

fn operator(report: &mut Report<'_>, path: &JsonPath, op: &str, args: &Value) {
    let count = match args {
        Value::Array(a) => a.len(),
        _ => 1,
    };
    match op {
        "starts_with" | "ends_with" if count != 2 => report.warning(
            path,
            format!("{op} takes 2 arguments, not {count}; flagd returns null"),
        ),
        "sem_ver" if count != 3 => report.warning(
            path,
            format!("sem_ver takes 3 arguments (version, operator, version), not {count}; flagd returns null"),
        ),
        "sem_ver" => {
            if let Some(Value::String(o)) = args.get(1) {
                if !SEM_VER_OPERATORS.contains(&o.as_str()) {
                    report.warning(
                        &path.index(1),
                        format!(
                            "sem_ver has no operator '{o}' (it has {}); flagd returns null",
                            SEM_VER_OPERATORS.join(" ")
                        ),
                    );
                }
            }
        }
        "fractional" => fractional(report, path, args),
        _ => {}
    }
}

/// Largest total of `fractional` weights flagd distributes (`math.MaxInt32`).
const MAX_FRACTIONAL_TOTAL: f64 = i32::MAX as f64;

/// Literal `fractional` weights (flagd core): a bucket without a weight (or
/// with `null`) weighs 1 and a negative weight counts as 0; a weight that is
/// not a whole number, or weights adding up to more than 2,147,483,647 or
/// to 0, make `fractional` return null. Computed weights are left alone.
fn fractional(report: &mut Report<'_>, path: &JsonPath, args: &Value) {
    const NULL_RESULT: &str = "fractional returns null and the flag serves its default variant";
    let Value::Array(args) = args else { return };
    let mut total = 0.0_f64;
    let mut buckets = 0;
    let mut all_literal = true;
    for (i, arg) in args.iter().enumerate() {
        let Value::Array(bucket) = arg else { continue };
        buckets += 1;
        let at = path.index(i).index(1);
        let weight = match bucket.get(1) {
            None | Some(Value::Null) => 1.0,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(w) if w.fract() != 0.0 => {
                    report.warning(
                        &at,
                        format!("weight {n} is not a whole number: {NULL_RESULT}"),
                    );
                    all_literal = false;
                    continue;
                }
                Some(w) if w < 0.0 => {
                    report.warning(&at, format!("weight {n} is negative; flagd counts it as 0"));
                    0.0
                }
                Some(w) => w,
                None => {
                    all_literal = false;
                    continue;
                }
            },
            Some(Value::Object(_)) => {
                all_literal = false;
                continue;
            }
            Some(other) => {
                report.warning(
                    &at,
                    format!("weight {other} is not a number: {NULL_RESULT}"),
                );
                all_literal = false;
                continue;
            }
        };
        total += weight;
    }
    if total > MAX_FRACTIONAL_TOTAL {
        report.warning(
            path,
            format!("weights add up to {total}, more than 2147483647: {NULL_RESULT}"),
        );
    } else if buckets > 0 && all_literal && total == 0.0 {
        report.warning(path, format!("every weight is 0: {NULL_RESULT}"));
    }
}
