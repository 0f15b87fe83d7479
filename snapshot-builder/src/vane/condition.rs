//! Conditions: YAML to a located condition tree ([`Cond`]).
//!
//! A condition is a mapping. Its keys are either the combinators `all`,
//! `any`, `not`, `segment`, or attribute paths; several keys in one mapping
//! must all hold. An attribute's value is a mapping of operators to operands
//! (all must hold), a scalar (shorthand for `equals`) or a list (shorthand
//! for `in`). Operands are checked here (regexes compiled, versions and
//! timestamps parsed, sets sorted); segment references are resolved later
//! by [`super::segments`].

use serde_json::Value;
use vane_resolver::expr::typed::{Cmp, Instant, Pattern, SemVer, Set, Test};
use vane_resolver::expr::Path;

use super::reader::{describe, join, scalar, suggest, Cx};
use super::timestamp;
use super::yaml::{to_json, Kind, Node, Pos, Typed};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A typed test of the attribute at a path.
    Test(Path, Test),
    /// The inner condition does not hold.
    Not(Box<Cond>),
    /// Every condition holds (at least one).
    All(Vec<Cond>),
    /// At least one condition holds (at least one).
    Any(Vec<Cond>),
    /// A reference to a named segment, with where it is written.
    Segment(SegmentRef),
}

/// A `segment: name` reference and its location.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRef {
    /// The segment's name.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    /// Document path of the reference.
    pub path: String,
}

/// Words that are combinators at the top of a condition mapping, never
/// attribute names.
pub const COMBINATORS: [&str; 4] = ["all", "any", "not", "segment"];

/// Operators of an attribute test.
pub const OPERATORS: [&str; 19] = [
    "equals",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "semver_eq",
    "semver_lt",
    "semver_lte",
    "semver_gt",
    "semver_gte",
    "starts_with",
    "ends_with",
    "contains",
    "regex",
    "before",
    "after",
    "exists",
];

/// Parses a condition at `path`. `None` when it has errors (all reported).
pub fn parse(cx: &mut Cx, node: &Node, path: &str) -> Option<Cond> {
    let entries = cx.entries(node, path, "condition keys")?;
    if entries.is_empty() {
        cx.error(
            node.pos,
            path,
            "empty condition: write at least one attribute test, `all`, `any`, `not` or `segment`",
        );
        return None;
    }
    let mut parts = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (key, key_node, value) in entries {
        let here = join(path, key);
        let part = match key {
            "all" | "any" => list(cx, value, &here, key).map(|conds| {
                if key == "all" {
                    Cond::All(conds)
                } else {
                    Cond::Any(conds)
                }
            }),
            "not" => parse(cx, value, &here).map(|c| Cond::Not(Box::new(c))),
            "segment" => cx.text(value, &here, "a segment name").map(|name| {
                Cond::Segment(SegmentRef {
                    name: name.to_owned(),
                    pos: value.pos,
                    path: here.clone(),
                })
            }),
            attribute => attribute_tests(cx, attribute, value, &here, key_node.pos),
        };
        match part {
            Some(c) => parts.push(c),
            None => ok = false,
        }
    }
    ok.then(|| all_of(parts))
}

/// One condition, or `all` of several.
fn all_of(mut parts: Vec<Cond>) -> Cond {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Cond::All(parts)
    }
}

/// The non-empty list of conditions of `all` / `any`.
fn list(cx: &mut Cx, node: &Node, path: &str, which: &str) -> Option<Vec<Cond>> {
    let items = cx.seq(node, path, "conditions")?;
    if items.is_empty() {
        cx.error(
            node.pos,
            path,
            format!("`{which}` needs at least one condition"),
        );
        return None;
    }
    let conds: Vec<Option<Cond>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse(cx, item, &format!("{path}[{i}]")))
        .collect();
    conds.into_iter().collect()
}

/// Splits and checks an attribute path: dot-separated, no empty segment.
pub fn attribute_path(cx: &mut Cx, attribute: &str, path: &str, pos: Pos) -> Option<Path> {
    let segments: Path = attribute.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        cx.error(
            pos,
            path,
            format!("'{attribute}' is not an attribute path: use names separated by single dots, like user.plan"),
        );
        return None;
    }
    Some(segments)
}

/// The tests of one attribute: `attr: {op: operand, ...}`, `attr: scalar`
/// (equals) or `attr: [..]` (in).
fn attribute_tests(
    cx: &mut Cx,
    attribute: &str,
    value: &Node,
    path: &str,
    key_pos: Pos,
) -> Option<Cond> {
    let attr = attribute_path(cx, attribute, path, key_pos);
    let tests = match &value.kind {
        Kind::Scalar(_) => operator(cx, "equals", value.pos, value, path).map(|t| vec![t]),
        Kind::Seq(_) => operator(cx, "in", value.pos, value, path).map(|t| vec![t]),
        Kind::Map(_) => {
            let entries = cx.entries(value, path, "operators")?;
            if entries.is_empty() {
                cx.error(value.pos, path, "no operator: write e.g. `equals: value`");
                return None;
            }
            let mut tests = Vec::with_capacity(entries.len());
            let mut ok = true;
            for (op, k, operand) in entries {
                let here = join(path, op);
                match operator(cx, op, k.pos, operand, &here) {
                    Some(t) => tests.push(t),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Some(tests)
        }
    }?;
    let attr = attr?;
    let conds = tests
        .into_iter()
        .map(|t| match t {
            Parsed::Test(t) => Cond::Test(attr.clone(), t),
            Parsed::Absent => Cond::Not(Box::new(Cond::Test(attr.clone(), Test::Exists))),
        })
        .collect();
    Some(all_of(conds))
}

/// One parsed operator: a test, or `exists: false`.
enum Parsed {
    Test(Test),
    Absent,
}

/// Checks an operand and builds the test of operator `op` (written at
/// `op_pos`); an unknown operator is reported with a hint.
fn operator(cx: &mut Cx, op: &str, op_pos: Pos, operand: &Node, path: &str) -> Option<Parsed> {
    let test = match op {
        "exists" => {
            return cx.boolean(operand, path, "`exists`").map(|present| {
                if present {
                    Parsed::Test(Test::Exists)
                } else {
                    Parsed::Absent
                }
            })
        }
        "equals" => Test::Equals(equals_operand(cx, operand, path)?),
        "in" => Test::In(set(cx, operand, path)?),
        "not_in" => Test::NotIn(set(cx, operand, path)?),
        "lt" | "lte" | "gt" | "gte" => Test::Number(
            cmp(op),
            cx.number(operand, path, &format!("the operand of `{op}`"))?,
        ),
        "semver_eq" | "semver_lt" | "semver_lte" | "semver_gt" | "semver_gte" => {
            let text = cx.text(operand, path, "a semantic version")?;
            match SemVer::parse(text) {
                Ok(v) => Test::SemVer(cmp(&op["semver_".len()..]), v),
                Err(e) => {
                    cx.error(
                        operand.pos,
                        path,
                        format!("malformed semantic version '{text}': {e}"),
                    );
                    return None;
                }
            }
        }
        "starts_with" => Test::StartsWith(cx.text(operand, path, "a string")?.to_owned()),
        "ends_with" => Test::EndsWith(cx.text(operand, path, "a string")?.to_owned()),
        "contains" => {
            Test::Contains(cx.scalar_value(operand, path, "the operand of `contains`")?)
        }
        "regex" => {
            let text = cx.text(operand, path, "a regular expression")?;
            match Pattern::new(text) {
                Ok(p) => Test::Regex(p),
                Err(e) => {
                    cx.error(operand.pos, path, format!("malformed regex '{text}': {e}"));
                    return None;
                }
            }
        }
        "before" | "after" => {
            let instant = match scalar(operand) {
                Some(s) if s.plain && s.text == "now" => Instant::Now,
                _ => match timestamp::parse(operand) {
                    Ok(t) => Instant::At(t),
                    Err(e) => {
                        cx.error(operand.pos, path, format!("{e} (or `now`)"));
                        return None;
                    }
                },
            };
            if op == "before" {
                Test::Before(instant)
            } else {
                Test::After(instant)
            }
        }
        unknown => {
            let hint = suggest(unknown, &OPERATORS)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            let combinator = if COMBINATORS.contains(&unknown) {
                format!("; `{unknown}` combines conditions and belongs beside attributes, not under one")
            } else {
                String::new()
            };
            cx.error(
                op_pos,
                path,
                format!(
                    "unknown operator '{unknown}'{hint}{combinator}; operators: {}",
                    OPERATORS.join(", ")
                ),
            );
            return None;
        }
    };
    Some(Parsed::Test(test))
}

fn cmp(op: &str) -> Cmp {
    match op {
        "lt" => Cmp::Lt,
        "lte" => Cmp::Le,
        "gt" => Cmp::Gt,
        "gte" => Cmp::Ge,
        _ => Cmp::Eq,
    }
}

/// The operand of `equals`: any YAML value but null.
fn equals_operand(cx: &mut Cx, node: &Node, path: &str) -> Option<Value> {
    match to_json(node) {
        Ok(Value::Null) => {
            cx.error(
                node.pos,
                path,
                "cannot compare with null: use `exists: false` for a missing attribute",
            );
            None
        }
        Ok(v) => Some(v),
        Err((pos, message)) => {
            cx.error(pos, path, message);
            None
        }
    }
}

/// The set of `in` / `not_in`: a non-empty list of strings or of numbers.
fn set(cx: &mut Cx, node: &Node, path: &str) -> Option<Set> {
    let items = cx.seq(node, path, "strings or numbers")?;
    if items.is_empty() {
        cx.error(node.pos, path, "empty set: list at least one value");
        return None;
    }
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    for item in items {
        match scalar(item).map(|s| (s.typed(), s)) {
            Some((Typed::String, s)) => strings.push(s.text.clone()),
            Some((Typed::Number(n), _)) => numbers.push(n),
            _ => {
                cx.error(
                    item.pos,
                    path,
                    format!("a set holds strings or numbers, found {}", describe(item)),
                );
                return None;
            }
        }
    }
    match (strings.is_empty(), numbers.is_empty()) {
        (false, true) => Some(Set::strings(strings)),
        (true, false) => Some(Set::numbers(numbers)),
        _ => {
            cx.error(
                node.pos,
                path,
                "the set mixes strings and numbers; quote the numbers to compare strings",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vane::yaml;

    fn parse_text(text: &str) -> (Option<Cond>, Vec<String>) {
        let node = yaml::parse("c.yaml", text).unwrap();
        let mut cx = Cx::new("c.yaml");
        let cond = parse(&mut cx, &node, "when");
        let messages = cx.diagnostics.iter().map(ToString::to_string).collect();
        (cond, messages)
    }

    fn path(p: &str) -> Path {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn shorthands_and_operators() {
        let (cond, errors) =
            parse_text("plan: pro\ncountry: [DE, AT, DE]\nage: {gte: 18, lt: 65}\n");
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(
            cond.unwrap(),
            Cond::All(vec![
                Cond::Test(path("plan"), Test::Equals("pro".into())),
                Cond::Test(
                    path("country"),
                    Test::In(Set::strings(vec!["AT".into(), "DE".into()]))
                ),
                Cond::All(vec![
                    Cond::Test(path("age"), Test::Number(Cmp::Ge, 18.into())),
                    Cond::Test(path("age"), Test::Number(Cmp::Lt, 65.into())),
                ]),
            ])
        );
    }

    #[test]
    fn exists_false_is_a_negated_test() {
        let (cond, _) = parse_text("user.email: {exists: false}\n");
        assert_eq!(
            cond.unwrap(),
            Cond::Not(Box::new(Cond::Test(path("user.email"), Test::Exists)))
        );
    }

    #[test]
    fn combinator_under_an_attribute_is_explained() {
        let (cond, errors) = parse_text("plan: {not: free}\n");
        assert!(cond.is_none());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("unknown operator 'not'"), "{errors:?}");
        assert!(
            errors[0].contains("belongs beside attributes"),
            "{errors:?}"
        );
    }
}
