//! Typed attribute tests: what Vane YAML conditions compile to.
//!
//! A [`Test`] looks at one context attribute (found by the path of
//! [`Expr::Test`](super::Expr::Test)) and answers `true` or `false`. Unlike
//! JsonLogic, tests are strict: an attribute that is missing, `null` or of
//! the wrong JSON type makes every test `false` (only [`Test::Exists`] looks
//! at presence itself). There is no type coercion: the string `"5"` is not
//! the number `5`. Negation is a separate `!` node around the test, so
//! `not: {country: {in: [DE]}}` is `true` for a missing country while
//! `country: {not_in: [DE]}` is `false`. `docs/rules.md` is the user-facing
//! description of every test.
//!
//! Numbers compare exactly when both sides are integers and as 64-bit
//! floats otherwise, so `1` equals `1.0`.
//!
//! Operands are checked and normalised by the builder (sets sorted and
//! deduplicated, regular expressions and versions validated); the resolver
//! re-validates what it decodes, so a hand-made snapshot with a bad regex or
//! version is refused at decode time instead of failing per request.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

use super::{number_to_js_string, StrSet};
use crate::semver::{SemVerError, SemVerOp, Version};
use crate::short_eq::same_bytes;

mod rfc3339;

pub use rfc3339::parse as parse_rfc3339;

/// A typed test applied to one context attribute. See [`Test::matches`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Test {
    /// The attribute equals the value: same JSON type, numbers compared by
    /// value, arrays and objects compared element by element.
    #[serde(rename = "eq")]
    Equals(Value),
    /// The attribute is a member of the set (and of the set's type).
    #[serde(rename = "in")]
    In(Set),
    /// The attribute is of the set's type and not a member. A missing
    /// attribute is *not* "not in" the set: the test is `false`.
    #[serde(rename = "ni")]
    NotIn(Set),
    /// The attribute is a number and `attribute <cmp> operand` holds.
    #[serde(rename = "n")]
    Number(Cmp, Number),
    /// The attribute is a string holding a semantic version and
    /// `attribute <cmp> operand` holds in semver precedence.
    #[serde(rename = "sv")]
    SemVer(Cmp, SemVer),
    /// The attribute is a string that starts with the operand (case-sensitive).
    #[serde(rename = "sw")]
    StartsWith(String),
    /// The attribute is a string that ends with the operand (case-sensitive).
    #[serde(rename = "ew")]
    EndsWith(String),
    /// The attribute is a string containing the operand (a string) as a
    /// substring, or an array with an element equal to the operand.
    #[serde(rename = "c")]
    Contains(Value),
    /// The attribute is a string in which the pattern finds a match
    /// (unanchored; `regex-lite` syntax).
    #[serde(rename = "re")]
    Regex(Pattern),
    /// The attribute is a time strictly before the instant.
    #[serde(rename = "b")]
    Before(Instant),
    /// The attribute is a time strictly after the instant.
    #[serde(rename = "a")]
    After(Instant),
    /// The attribute is present and not `null`.
    #[serde(rename = "ex")]
    Exists,
    /// flagd's `sem_ver` of the attribute against a literal version, as the
    /// builder lowers it (flagd core): the attribute is a string, or a
    /// number read as JavaScript writes it (`2` → `"2"`), holding a
    /// semantic version, and `attribute <op> operand` holds. Unlike
    /// [`Test::SemVer`] it accepts numbers and flagd's `!=`, `^` and `~`.
    #[serde(rename = "fsv")]
    FlagdSemVer(SemVerOp, SemVer),
}

/// A comparison operator of [`Test::Number`] and [`Test::SemVer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==` (semantic versions only; numbers use [`Test::Equals`]).
    #[serde(rename = "==")]
    Eq,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Cmp {
    /// Whether `ordering` (attribute compared with operand) satisfies the operator.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Cmp::Lt => ordering.is_lt(),
            Cmp::Le => ordering.is_le(),
            Cmp::Eq => ordering.is_eq(),
            Cmp::Gt => ordering.is_gt(),
            Cmp::Ge => ordering.is_ge(),
        }
    }
}

/// A literal set of [`Test::In`] / [`Test::NotIn`]: sorted and free of
/// duplicates (the builder guarantees it; [`Set::strings`] and
/// [`Set::numbers`] establish it; a [`StrSet`] also on decode), looked up
/// by binary search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Set {
    /// Strings in byte order.
    #[serde(rename = "s")]
    Strings(StrSet),
    /// Numbers in numeric order ([`compare_numbers`]).
    #[serde(rename = "n")]
    Numbers(Vec<Number>),
}

impl Set {
    /// A string set: sorts and deduplicates `items`.
    pub fn strings(items: Vec<String>) -> Set {
        Set::Strings(StrSet::new(items))
    }

    /// A number set: sorts and deduplicates `items` by numeric value.
    pub fn numbers(mut items: Vec<Number>) -> Set {
        items.sort_by(compare_numbers);
        items.dedup_by(|a, b| compare_numbers(a, b).is_eq());
        Set::Numbers(items)
    }

    /// `Some(membership)` when `value` has the set's type, `None` otherwise.
    fn member(&self, value: &Value) -> Option<bool> {
        match (self, value) {
            (Set::Strings(items), Value::String(s)) => Some(items.contains(s)),
            (Set::Numbers(items), Value::Number(n)) => {
                Some(items.binary_search_by(|i| compare_numbers(i, n)).is_ok())
            }
            _ => None,
        }
    }
}

/// A point in time a timestamp attribute is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Instant {
    /// A fixed time, Unix seconds.
    #[serde(rename = "t")]
    At(i64),
    /// The evaluation time.
    #[serde(rename = "now")]
    Now,
}

/// Largest compiled pattern accepted, in bytes of `regex-lite`'s own
/// measure. With [`MAX_REGEX_INPUT`] it bounds the time of one regex test:
/// `regex-lite` searches in O(pattern × input), so an unbounded pattern
/// against a 64 KiB attribute could take seconds per request.
pub const MAX_REGEX_SIZE: usize = 16 * 1024;

/// Longest string, in bytes, a regex test looks at. Clients control
/// attribute lengths, so this keeps one test in the millisecond range
/// whatever they send. A longer attribute leaves the test undecided
/// ([`Test::undecided`]): the evaluation fails rather than calling it a
/// non-match, which a `not` around the test would turn into a match.
pub const MAX_REGEX_INPUT: usize = 1024;

/// Deepest group nesting accepted in a pattern.
const MAX_REGEX_NESTING: u32 = 64;

/// A compiled regular expression that travels as its pattern text: it
/// serialises to the pattern string and is compiled again when decoded.
#[derive(Clone)]
pub struct Pattern(regex_lite::Regex);

impl Pattern {
    /// Compiles a `regex-lite` pattern within [`MAX_REGEX_SIZE`] and a
    /// nesting depth of 64. Errors: the library's message, which names the
    /// problem and its position in the pattern, or the limit exceeded.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        regex_lite::RegexBuilder::new(pattern)
            .size_limit(MAX_REGEX_SIZE)
            .nest_limit(MAX_REGEX_NESTING)
            .build()
            .map(Pattern)
            .map_err(|e| e.to_string())
    }

    /// True when the pattern matches somewhere in `text`; false for text
    /// longer than [`MAX_REGEX_INPUT`] bytes, which evaluation reports as
    /// undecided ([`Test::undecided`]) instead.
    pub fn is_match(&self, text: &str) -> bool {
        text.len() <= MAX_REGEX_INPUT && self.0.is_match(text)
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text).map_err(|e| D::Error::custom(format!("bad regex {text:?}: {e}")))
    }
}

impl Test {
    /// `Some(length)` when the test cannot be decided for `value`: a regex
    /// test of a string longer than [`MAX_REGEX_INPUT`] bytes. Evaluation
    /// then fails with `INVALID_CONTEXT` (`docs/rules.md`, "regex").
    #[inline]
    pub fn undecided(&self, value: Option<&Value>) -> Option<usize> {
        match (self, value) {
            (Test::Regex(_), Some(Value::String(s))) if s.len() > MAX_REGEX_INPUT => Some(s.len()),
            _ => None,
        }
    }

    /// Evaluates the test. `value` is the attribute at the test's path
    /// (`None` when the context lacks it); `now` is the evaluation time in
    /// Unix seconds (used by [`Instant::Now`]). Total: never panics.
    pub fn matches(&self, value: Option<&Value>, now: i64) -> bool {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return false;
        };
        match self {
            Test::Exists => true,
            Test::Equals(expected) => json_equal(value, expected),
            Test::In(set) => set.member(value) == Some(true),
            Test::NotIn(set) => set.member(value) == Some(false),
            Test::Number(cmp, operand) => match value {
                Value::Number(n) => cmp.holds(compare_numbers(n, operand)),
                _ => false,
            },
            Test::SemVer(cmp, operand) => match value {
                Value::String(s) => {
                    Version::parse(s).is_ok_and(|v| cmp.holds(v.cmp(&operand.version())))
                }
                _ => false,
            },
            Test::FlagdSemVer(op, operand) => version_text(value).is_some_and(|text| {
                Version::parse(&text).is_ok_and(|v| op.holds(&v, &operand.version()))
            }),
            Test::StartsWith(prefix) => value.as_str().is_some_and(|s| {
                let prefix = prefix.as_bytes();
                s.as_bytes()
                    .get(..prefix.len())
                    .is_some_and(|head| same_bytes(head, prefix))
            }),
            Test::EndsWith(suffix) => value.as_str().is_some_and(|s| {
                let suffix = suffix.as_bytes();
                s.len().checked_sub(suffix.len()).is_some_and(|start| {
                    s.as_bytes()
                        .get(start..)
                        .is_some_and(|tail| same_bytes(tail, suffix))
                })
            }),
            Test::Contains(needle) => match (value, needle) {
                (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
                (Value::Array(items), _) => items.iter().any(|i| json_equal(i, needle)),
                _ => false,
            },
            Test::Regex(pattern) => value.as_str().is_some_and(|s| pattern.is_match(s)),
            Test::Before(instant) => {
                time_of(value).is_some_and(|t| t < instant_seconds(*instant, now))
            }
            Test::After(instant) => {
                time_of(value).is_some_and(|t| t > instant_seconds(*instant, now))
            }
        }
    }
}

/// The text of a version operand of flagd's `sem_ver`: a string as it is, a
/// number as JavaScript writes it (`1.0` → `"1"`); `None` for other types.
pub fn version_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(number_to_js_string(n))),
        _ => None,
    }
}

/// A time attribute as Unix seconds with the fraction kept: a JSON number
/// of seconds, or an RFC 3339 string.
fn time_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            parse_rfc3339(s).map(|(secs, nanos)| secs as f64 + f64::from(nanos) / 1e9)
        }
        _ => None,
    }
}

fn instant_seconds(instant: Instant, now: i64) -> f64 {
    match instant {
        Instant::At(t) => t as f64,
        Instant::Now => now as f64,
    }
}

/// Orders two JSON numbers: exactly when both are integers, as `f64`
/// otherwise (JSON numbers in `serde_json` are finite, so this is total).
pub fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    let int = |n: &Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// Strict JSON equality, except that numbers compare by value
/// ([`compare_numbers`]), also inside arrays and objects.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y).is_eq(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A semantic version operand of [`Test::SemVer`], read by
/// [`crate::semver::Version::parse`] (SemVer 2.0.0 with flagd's leniencies).
/// It travels as its text and is parsed again when decoded.
#[derive(Clone)]
pub struct SemVer {
    text: String,
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl SemVer {
    /// Parses a version. Errors: why the text is not a version.
    pub fn parse(text: &str) -> Result<SemVer, SemVerError> {
        let v = Version::parse(text)?;
        Ok(SemVer {
            text: text.to_owned(),
            major: v.major,
            minor: v.minor,
            patch: v.patch,
            pre: v.pre.to_owned(),
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed version.
    pub fn version(&self) -> Version<'_> {
        Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }
}

impl PartialEq for SemVer {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SemVer({:?})", self.text)
    }
}

impl Serialize for SemVer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SemVer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SemVer::parse(&text)
            .map_err(|e| D::Error::custom(format!("bad semantic version {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(test: &Test) -> Result<Test, String> {
        let mut bytes = Vec::new();
        ciborium::into_writer(test, &mut bytes).unwrap();
        ciborium::from_reader(bytes.as_slice()).map_err(|e| e.to_string())
    }

    /// CBOR of `Test::Regex` / `Test::SemVer` with an arbitrary operand text,
    /// as a hand-made snapshot could carry it.
    fn encoded(variant: &str, text: &str) -> Vec<u8> {
        let value = match variant {
            "re" => ciborium::Value::Text(text.to_owned()),
            _ => ciborium::Value::Array(vec![
                ciborium::Value::Text(">=".to_owned()),
                ciborium::Value::Text(text.to_owned()),
            ]),
        };
        let map = ciborium::Value::Map(vec![(ciborium::Value::Text(variant.to_owned()), value)]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&map, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn regex_travels_as_its_pattern_and_is_rebuilt() {
        let test = Test::Regex(Pattern::new("^a+b$").unwrap());
        let decoded = round_trip(&test).unwrap();
        assert_eq!(decoded, test);
        assert!(decoded.matches(Some(&json!("aaab")), 0));
        assert!(!decoded.matches(Some(&json!("aaabc")), 0));
        let bad = ciborium::from_reader::<Test, _>(encoded("re", "(").as_slice());
        let message = bad.unwrap_err().to_string();
        assert!(message.contains("bad regex"), "{message}");
        assert!(ciborium::from_reader::<Test, _>(encoded("re", "a|b").as_slice()).is_ok());
    }

    #[test]
    fn semver_travels_as_its_text_and_is_checked() {
        let test = Test::SemVer(Cmp::Ge, SemVer::parse("v2.1.0-rc.1").unwrap());
        let decoded = round_trip(&test).unwrap();
        assert_eq!(decoded, test);
        assert!(decoded.matches(Some(&json!("2.1.0")), 0));
        assert!(!decoded.matches(Some(&json!("2.1.0-beta")), 0));
        let bad = ciborium::from_reader::<Test, _>(encoded("sv", "2.x").as_slice());
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("bad semantic version"));
    }

    #[test]
    fn flagd_semver_reads_numbers_as_javascript_and_travels_as_text() {
        let test = Test::FlagdSemVer(SemVerOp::Caret, SemVer::parse("2").unwrap());
        let decoded = round_trip(&test).unwrap();
        assert_eq!(decoded, test);
        for (attribute, holds) in [
            (json!("2.9.1"), true),
            (json!(2), true),
            (json!(2.5), true),
            (json!(3), false),
            (json!("v2.0.0-rc.1"), true),
            (json!("2.x"), false),
            (json!(true), false),
            (json!(["2"]), false),
        ] {
            assert_eq!(decoded.matches(Some(&attribute), 0), holds, "{attribute}");
        }
        let ne = Test::FlagdSemVer(SemVerOp::Ne, SemVer::parse("1.0.0").unwrap());
        assert!(ne.matches(Some(&json!("1.0.1")), 0));
        assert!(!ne.matches(Some(&json!("1.0.0+build")), 0));
        assert!(!ne.matches(None, 0), "a missing attribute is no version");
    }

    #[test]
    fn sets_are_sorted_and_deduplicated_by_value() {
        let one_f = Number::from_f64(1.0).unwrap();
        let set = Set::numbers(vec![3.into(), one_f, 1.into(), (-2).into()]);
        let Set::Numbers(items) = &set else { panic!() };
        assert_eq!(items.len(), 3);
        assert_eq!(compare_numbers(&items[0], &(-2).into()), Ordering::Equal);
        assert!(Test::In(set.clone()).matches(Some(&json!(1)), 0));
        assert!(Test::NotIn(set).matches(Some(&json!(2)), 0));
        let strings = Set::strings(vec!["b".into(), "a".into(), "b".into()]);
        assert_eq!(strings, Set::Strings(StrSet::new(["a", "b"])));
    }

    #[test]
    fn missing_and_null_attributes_fail_every_test() {
        let tests = [
            Test::Equals(json!(null)),
            Test::NotIn(Set::strings(vec!["x".into()])),
            Test::Contains(json!("x")),
            Test::Before(Instant::Now),
            Test::Exists,
        ];
        for t in &tests {
            assert!(!t.matches(None, 0), "{t:?}");
            assert!(!t.matches(Some(&Value::Null), 0), "{t:?}");
        }
        assert!(Test::Exists.matches(Some(&json!(false)), 0));
    }

    #[test]
    fn times_compare_with_fractions_and_now() {
        let after = Test::After(Instant::At(100));
        assert!(after.matches(Some(&json!(100.25)), 0));
        assert!(!after.matches(Some(&json!(100)), 0));
        assert!(after.matches(Some(&json!("1970-01-01T00:01:40.001Z")), 0));
        assert!(!after.matches(Some(&json!("1970-01-01T00:01:40Z")), 0));
        assert!(!after.matches(Some(&json!(true)), 0));
        let before_now = Test::Before(Instant::Now);
        assert!(before_now.matches(Some(&json!(99)), 100));
        assert!(!before_now.matches(Some(&json!(100)), 100));
    }

    #[test]
    fn numbers_compare_exactly_as_integers() {
        let big: Number = (u64::MAX).into();
        let less: Number = (u64::MAX - 1).into();
        assert_eq!(compare_numbers(&less, &big), Ordering::Less);
        assert_eq!(compare_numbers(&(-1).into(), &big), Ordering::Less);
        let half = Number::from_f64(0.5).unwrap();
        assert_eq!(compare_numbers(&half, &1.into()), Ordering::Less);
        assert!(json_equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_equal(&json!([1]), &json!([1, 1])));
    }

    #[test]
    fn regex_cost_is_bounded_by_pattern_size_and_input_length() {
        let err = Pattern::new("(a|b|ab){1000}$").unwrap_err();
        assert!(err.contains("size limit"), "{err}");
        assert!(Pattern::new("\\w{1,300}x").is_err());
        let email = Pattern::new("^[a-z0-9._%+-]+@(shop|corp)\\.example$").unwrap();
        assert!(email.is_match("ana@shop.example"));
        let long = format!("{}@shop.example", "a".repeat(MAX_REGEX_INPUT));
        assert!(!email.is_match(&long), "inputs over the limit never match");
        let at_limit = format!("{}@shop.example", "a".repeat(MAX_REGEX_INPUT - 13));
        assert_eq!(at_limit.len(), MAX_REGEX_INPUT);
        assert!(email.is_match(&at_limit));
    }
}
