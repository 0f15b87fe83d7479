//! Converting attribute criteria: the targeting model of Spotify Confidence
//! (its `AttributeCriterion` rules), general enough for any front end whose
//! rules carry typed operands and convert the context value to the operand's
//! type before comparing.
//!
//! A [`Criterion`] looks at one context attribute. The attribute becomes a
//! list of items first: a JSON array gives one item per element, a missing or
//! `null` attribute gives no items to the list rules ([`Rule::Any`],
//! [`Rule::All`]) and one `null` item to the others, and any other value is
//! one item. Each item is converted to the criterion's [`Kind`] (the type of
//! its operands):
//!
//! | kind | accepted items |
//! |---|---|
//! | string | strings (numbers and booleans are not strings) |
//! | number | numbers, and strings that parse as a decimal number |
//! | boolean | booleans, and the strings `true`/`false` (`TRUE` is true) |
//! | timestamp | RFC 3339 strings (a missing offset means UTC, a date alone means midnight), and numbers of Unix seconds |
//! | version | strings holding a semantic version ([`crate::semver`]) |
//! | null | `null` only (an equality test with an empty operand: "is null") |
//!
//! An item that does not convert matches nothing. Then the rule: equality,
//! set membership, a range and the string tests hold when *any* item holds;
//! `any` and `all` apply their inner rule to each item (`all` of no items is
//! true, `any` of no items false). A range without bounds, an empty set and
//! a rule the source left empty match nothing.
//!
//! These are the semantics of Confidence's reference resolver (the Java one),
//! as its shared specification (`conformance/confidence/resolver-spec.json`)
//! checks them; `docs/rules.md` ("Confidence targeting") lists where
//! Confidence's Rust resolver differs.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::typed::{parse_rfc3339, SemVer};
use crate::semver::Version;

/// One criterion: a rule over the converted items of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// The type items are converted to before the rule looks at them.
    pub kind: Kind,
    /// The rule.
    pub rule: Rule,
}

/// The type of a criterion's operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Only `null` items (the operand is empty).
    #[serde(rename = "0")]
    Null,
    /// Booleans.
    #[serde(rename = "b")]
    Bool,
    /// Numbers (64-bit floats).
    #[serde(rename = "n")]
    Number,
    /// Strings.
    #[serde(rename = "s")]
    String,
    /// Instants.
    #[serde(rename = "t")]
    Timestamp,
    /// Semantic versions.
    #[serde(rename = "v")]
    Version,
}

/// A typed operand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    /// The empty operand: equal to a `null` item only.
    #[serde(rename = "0")]
    Null,
    /// A boolean.
    #[serde(rename = "b")]
    Bool(bool),
    /// A number.
    #[serde(rename = "n")]
    Number(serde_json::Number),
    /// A string.
    #[serde(rename = "s")]
    String(String),
    /// An instant: Unix seconds and nanoseconds.
    #[serde(rename = "t")]
    Timestamp(i64, u32),
    /// A semantic version.
    #[serde(rename = "v")]
    Version(SemVer),
}

impl Operand {
    /// The kind of this operand.
    pub fn kind(&self) -> Kind {
        match self {
            Operand::Null => Kind::Null,
            Operand::Bool(_) => Kind::Bool,
            Operand::Number(_) => Kind::Number,
            Operand::String(_) => Kind::String,
            Operand::Timestamp(..) => Kind::Timestamp,
            Operand::Version(_) => Kind::Version,
        }
    }
}

/// One bound of a [`Rule::Range`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The bound value.
    pub value: Operand,
    /// Whether an item equal to the bound is inside.
    pub inclusive: bool,
}

/// What a criterion tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    /// Some item equals the operand.
    #[serde(rename = "eq")]
    Eq(Operand),
    /// Some item equals one of the operands (none: never).
    #[serde(rename = "in")]
    Set(Vec<Operand>),
    /// Some item lies between the bounds (at least one bound).
    #[serde(rename = "r")]
    Range(Option<Bound>, Option<Bound>),
    /// Some item is a string starting with the operand.
    #[serde(rename = "sw")]
    StartsWith(String),
    /// Some item is a string ending with the operand.
    #[serde(rename = "ew")]
    EndsWith(String),
    /// Some item is a string containing the operand.
    #[serde(rename = "c")]
    Contains(String),
    /// Some item satisfies the inner rule.
    #[serde(rename = "any")]
    Any(Box<Rule>),
    /// Every item satisfies the inner rule (true for no items).
    #[serde(rename = "all")]
    All(Box<Rule>),
    /// A rule the source left empty: never matches.
    #[serde(rename = "x")]
    Never,
}

/// An item after conversion; `None` when it did not convert.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(&'a str),
    Timestamp(i64, u32),
    Version(Version<'a>),
}

impl Criterion {
    /// Evaluates the criterion on the attribute (`None` when the context
    /// lacks it). Total: any value gives `true` or `false`.
    pub fn matches(&self, attribute: Option<&Value>) -> bool {
        let attribute = attribute.unwrap_or(&Value::Null);
        let items: &[Value] = match attribute {
            Value::Array(items) => items,
            Value::Null if matches!(self.rule, Rule::Any(_) | Rule::All(_)) => &[],
            one => std::slice::from_ref(one),
        };
        let kind = self.kind;
        let holds = |rule: &Rule, v: &Value| convert(v, kind).is_some_and(|i| rule.holds(i));
        match &self.rule {
            Rule::Any(inner) => items.iter().any(|v| holds(inner, v)),
            Rule::All(inner) => items.iter().all(|v| holds(inner, v)),
            rule => items.iter().any(|v| holds(rule, v)),
        }
    }
}

impl Rule {
    /// Whether one converted item satisfies the rule.
    fn holds(&self, item: Item<'_>) -> bool {
        match self {
            Rule::Eq(operand) => compare(item, operand) == Some(Ordering::Equal),
            Rule::Set(operands) => operands
                .iter()
                .any(|o| compare(item, o) == Some(Ordering::Equal)),
            Rule::Range(None, None) | Rule::Never => false,
            Rule::Range(start, end) => {
                let above = start.as_ref().is_none_or(|b| {
                    compare(item, &b.value).is_some_and(|o| o.is_gt() || (b.inclusive && o.is_eq()))
                });
                let below = end.as_ref().is_none_or(|b| {
                    compare(item, &b.value).is_some_and(|o| o.is_lt() || (b.inclusive && o.is_eq()))
                });
                above && below
            }
            Rule::StartsWith(p) => matches!(item, Item::String(s) if s.starts_with(p.as_str())),
            Rule::EndsWith(p) => matches!(item, Item::String(s) if s.ends_with(p.as_str())),
            Rule::Contains(p) => matches!(item, Item::String(s) if s.contains(p.as_str())),
            // A list rule inside a list rule is not part of the model: the
            // builder never writes one.
            Rule::Any(_) | Rule::All(_) => false,
        }
    }
}

/// Orders an item against an operand of the same type; `None` across types.
fn compare(item: Item<'_>, operand: &Operand) -> Option<Ordering> {
    match (item, operand) {
        (Item::Null, Operand::Null) => Some(Ordering::Equal),
        (Item::Bool(a), Operand::Bool(b)) => Some(a.cmp(b)),
        (Item::Number(a), Operand::Number(b)) => a.partial_cmp(&b.as_f64()?),
        (Item::String(a), Operand::String(b)) => Some(a.cmp(b.as_str())),
        (Item::Timestamp(s, n), Operand::Timestamp(bs, bn)) => Some((s, n).cmp(&(*bs, *bn))),
        (Item::Version(a), Operand::Version(b)) => Some(a.cmp(&b.version())),
        _ => None,
    }
}

/// Converts one JSON value to `kind` (see the module table).
fn convert(value: &Value, kind: Kind) -> Option<Item<'_>> {
    match (value, kind) {
        (Value::Null, _) => Some(Item::Null),
        (Value::Bool(b), Kind::Bool) => Some(Item::Bool(*b)),
        (Value::String(s), Kind::Bool) => Some(Item::Bool(match s.as_str() {
            "true" => true,
            "false" => false,
            other => other == "TRUE",
        })),
        (Value::Number(n), Kind::Number) => n.as_f64().map(Item::Number),
        (Value::String(s), Kind::Number) => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Item::Number),
        (Value::String(s), Kind::String) => Some(Item::String(s)),
        (Value::String(s), Kind::Timestamp) => parse_time(s).map(|(s, n)| Item::Timestamp(s, n)),
        (Value::Number(n), Kind::Timestamp) => n.as_f64().and_then(seconds_to_instant),
        (Value::String(s), Kind::Version) => Version::parse(s).ok().map(Item::Version),
        _ => None,
    }
}

/// A number of Unix seconds (with a fraction) as an instant.
fn seconds_to_instant(f: f64) -> Option<Item<'static>> {
    if !f.is_finite() || f.abs() > 1e15 {
        return None;
    }
    let secs = f.floor();
    let nanos = ((f - secs) * 1e9).round().min(999_999_999.0) as u32;
    Some(Item::Timestamp(secs as i64, nanos))
}

/// Parses a timestamp as Confidence reads them: RFC 3339, or a date-time
/// without an offset (UTC; `T` or a space between date and time), or a
/// date alone (midnight UTC).
pub fn parse_time(text: &str) -> Option<(i64, u32)> {
    if let Some(t) = parse_rfc3339(text) {
        return Some(t);
    }
    match text.len() {
        10 => parse_rfc3339(&format!("{text}T00:00:00Z")),
        n if n >= 19 && matches!(text.as_bytes().get(10), Some(b' ' | b'T')) => {
            let (date, time) = text.split_at_checked(10)?;
            let zoned = format!("{date}T{}Z", time.get(1..)?);
            parse_rfc3339(&zoned)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn criterion(rule: Rule) -> Criterion {
        let kind = match &rule {
            Rule::Eq(o) => o.kind(),
            Rule::Range(Some(b), _) | Rule::Range(None, Some(b)) => b.value.kind(),
            Rule::Any(inner) | Rule::All(inner) => criterion((**inner).clone()).kind,
            _ => Kind::String,
        };
        Criterion { kind, rule }
    }

    fn range(lo: i64, hi: i64) -> Rule {
        Rule::Range(
            Some(Bound {
                value: Operand::Number(lo.into()),
                inclusive: true,
            }),
            Some(Bound {
                value: Operand::Number(hi.into()),
                inclusive: false,
            }),
        )
    }

    #[test]
    fn lists_and_missing_values() {
        let all = criterion(Rule::All(Box::new(range(0, 100))));
        assert!(all.matches(None));
        assert!(all.matches(Some(&json!(null))));
        assert!(all.matches(Some(&json!([]))));
        assert!(all.matches(Some(&json!([1, "2"]))));
        assert!(!all.matches(Some(&json!([1, "x"]))));
        let any = criterion(Rule::Any(Box::new(Rule::Eq(Operand::String("a".into())))));
        assert!(!any.matches(None));
        assert!(any.matches(Some(&json!(["b", "a"]))));
        assert!(!any.matches(Some(&json!([["a"]]))));
        let is_null = criterion(Rule::Eq(Operand::Null));
        assert!(is_null.matches(None));
        assert!(is_null.matches(Some(&json!(null))));
        assert!(!is_null.matches(Some(&json!("x"))));
        assert!(criterion(range(18, 65)).matches(Some(&json!([5, 25]))));
        assert!(!criterion(Rule::Range(None, None)).matches(Some(&json!(1))));
    }

    #[test]
    fn conversions() {
        let contains = criterion(Rule::Contains("2".into()));
        assert!(contains.matches(Some(&json!("123"))));
        assert!(!contains.matches(Some(&json!(123))));
        let num = criterion(Rule::Eq(Operand::Number(5.into())));
        assert!(num.matches(Some(&json!("5"))));
        assert!(num.matches(Some(&json!(5.0))));
        assert!(!num.matches(Some(&json!("five"))));
        let yes = criterion(Rule::Eq(Operand::Bool(true)));
        assert!(yes.matches(Some(&json!("TRUE"))));
        assert!(!yes.matches(Some(&json!("yes"))));
        let t = parse_time("2022-11-17T15:16:17.118Z").unwrap();
        let after = criterion(Rule::Range(
            Some(Bound {
                value: Operand::Timestamp(t.0, t.1),
                inclusive: true,
            }),
            None,
        ));
        assert!(after.matches(Some(&json!("2022-11-17T15:16:17.200Z"))));
        assert!(!after.matches(Some(&json!("2022-11-17T15:16:17Z"))));
        assert!(after.matches(Some(&json!("2022-11-18"))));
        assert!(after.matches(Some(&json!("2022-11-17 15:16:18"))));
        assert!(after.matches(Some(&json!(1_668_698_177.2))));
        assert!(!after.matches(Some(&json!(1_668_698_177))));
        assert!(!after.matches(Some(&json!(""))));
        let v = criterion(Rule::Range(
            Some(Bound {
                value: Operand::Version(SemVer::parse("2.0.0").unwrap()),
                inclusive: true,
            }),
            None,
        ));
        assert!(v.matches(Some(&json!("10.0.0"))));
        assert!(!v.matches(Some(&json!("1.9.9"))));
        assert!(!v.matches(Some(&json!("ten"))));
    }
}
