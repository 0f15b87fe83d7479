//! The snapshot body: the intermediate representation every rule dialect
//! compiles to and the only thing the resolver executes.
//!
//! Structs encode as CBOR arrays (field order is the wire order, see
//! `docs/snapshot-format.md`), so no field name is repeated per flag. Variant
//! names are resolved to indices into [`Flag::variants`] at build time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::expr::{Expr, Path};
use crate::space::BucketSpace;

/// The body of a snapshot: one tenant's flags and access settings.
///
/// Encoded as an array of 4 items, 5 when [`Body::spaces`] is not empty, 6
/// when [`Body::exposure_log`] is not the default (spaces then written even
/// when empty), so snapshots that use neither keep their bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// Flags sorted by key (byte order), keys unique. Lookup is a binary search.
    pub flags: Vec<Flag>,
    /// Clients allowed to read this tenant's flags.
    pub clients: Vec<Client>,
    /// Origins allowed by CORS; empty means any origin (`*`).
    pub cors_origins: Vec<String>,
    /// Flag-set metadata (flagd `metadata` at the top of a file), reported in
    /// OFREP bulk answers.
    pub metadata: Map<String, Value>,
    /// Bucket spaces that bucket-range tests ([`crate::space`]) refer to by
    /// index; unique by (scheme, salt, unit).
    pub spaces: Vec<BucketSpace>,
    /// The tenant's exposure-log settings (`docs/exposures.md`): whether
    /// the worker logs exposures, and which context attributes each flag's
    /// events carry.
    pub exposure_log: ExposureLog,
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let log = !self.exposure_log.is_default();
        let len = match (log, self.spaces.is_empty()) {
            (true, _) => 6,
            (false, false) => 5,
            (false, true) => 4,
        };
        let mut t = s.serialize_tuple(len)?;
        t.serialize_element(&FlagItems(&self.flags))?;
        t.serialize_element(&self.clients)?;
        t.serialize_element(&self.cors_origins)?;
        t.serialize_element(&self.metadata)?;
        if len > 4 {
            t.serialize_element(&self.spaces)?;
        }
        if log {
            t.serialize_element(&self.exposure_log)?;
        }
        t.end()
    }
}

/// The flags of a body, each serialised as a newtype struct named
/// [`crate::format2::FLAG_ITEM_NAME`]: transparent for CBOR (format 1),
/// where the format-2 encoder notes each flag's length for the flag table
/// of format 3.
struct FlagItems<'a>(&'a [Flag]);

impl Serialize for FlagItems<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for flag in self.0 {
            seq.serialize_element(&FlagItem(flag))?;
        }
        seq.end()
    }
}

struct FlagItem<'a>(&'a Flag);

impl Serialize for FlagItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(crate::format2::FLAG_ITEM_NAME, self.0)
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> serde::de::Visitor<'de> for BodyVisitor {
            type Value = Body;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snapshot body: an array of 4 to 6 items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
                use serde::de::Error;
                let missing = |i| A::Error::invalid_length(i, &self);
                let body = Body {
                    flags: seq.next_element()?.ok_or_else(|| missing(0))?,
                    clients: seq.next_element()?.ok_or_else(|| missing(1))?,
                    cors_origins: seq.next_element()?.ok_or_else(|| missing(2))?,
                    metadata: seq.next_element()?.ok_or_else(|| missing(3))?,
                    spaces: seq.next_element()?.unwrap_or_default(),
                    exposure_log: seq.next_element()?.unwrap_or_default(),
                };
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(7, &self));
                }
                body.check().map_err(A::Error::custom)?;
                Ok(body)
            }
        }
        d.deserialize_seq(BodyVisitor)
    }
}

/// A tenant's exposure-log settings (`docs/exposures.md`, "What a tenant
/// controls"). The default — logging on, no attributes — is what flagd and
/// Confidence sources get, and is not written to the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ExposureLog {
    /// `false` when the tenant turned exposure logging off: the worker makes
    /// no exposure event for it (Vane YAML `exposures: {enabled: false}`).
    pub enabled: bool,
    /// The flags whose events carry context attributes, sorted by flag key
    /// (byte order), unique, each naming a flag of the body.
    pub attributes: Vec<FlagAttributes>,
}

impl Default for ExposureLog {
    fn default() -> Self {
        ExposureLog {
            enabled: true,
            attributes: Vec::new(),
        }
    }
}

impl ExposureLog {
    /// Logging on and no attributes: the settings of a tenant that says
    /// nothing.
    pub fn is_default(&self) -> bool {
        self.enabled && self.attributes.is_empty()
    }

    /// The context attributes `flag`'s events carry (empty: none).
    pub fn attributes_of(&self, flag: &str) -> &[Path] {
        self.attributes
            .binary_search_by(|a| a.flag.as_str().cmp(flag))
            .ok()
            .and_then(|i| self.attributes.get(i))
            .map_or(&[], |a| &a.paths)
    }
}

/// The context attributes one flag's exposure events carry (Vane YAML
/// `exposures: {attributes: [...]}` on the flag): nothing else from the
/// evaluation context ever leaves the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct FlagAttributes {
    /// The flag key.
    pub flag: String,
    /// Attribute paths, in the order written; none is empty, equal to or a
    /// prefix of another.
    pub paths: Vec<Path>,
}

/// A client of the tenant: a name and the sha256 digests of its keys.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Client {
    /// Human name, e.g. `web-storefront`.
    pub name: String,
    /// sha256 of each accepted client key (32 bytes each); never a plain key.
    pub key_digests: Vec<KeyDigest>,
}

/// A sha256 digest of a client key, 32 bytes, encoded as a CBOR byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyDigest(pub [u8; 32]);

impl Serialize for KeyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_bytes::Bytes::new(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(KeyDigest)
            .map_err(|_| serde::de::Error::invalid_length(bytes.len(), &"32 bytes"))
    }
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Flag {
    /// The flag key, unique within the snapshot.
    pub key: String,
    /// Variants in source order; rules refer to them by index.
    pub variants: Vec<Variant>,
    /// Index of the default variant; `None` when the source has none (flagd
    /// `defaultVariant: null` or absent): the caller's code default applies.
    pub default_variant: Option<u32>,
    /// `true` for a disabled flag (flagd `state: DISABLED`, Vane `enabled: false`):
    /// reason `DISABLED`, no value.
    pub disabled: bool,
    /// How the variant is chosen.
    pub targeting: Targeting,
    /// Flag metadata (flag-set metadata merged under it at build time), reported
    /// with every result.
    pub metadata: Map<String, Value>,
}

impl Flag {
    /// Calls `f` on every expression node of the flag's targeting and rule
    /// conditions.
    pub fn visit_exprs<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        match &self.targeting {
            Targeting::JsonLogic(e) => e.visit(f),
            Targeting::Rules(rules) => rules
                .iter()
                .filter_map(|r| r.when.as_ref())
                .for_each(|e| e.visit(f)),
            Targeting::Assigned(a) => a
                .rules
                .iter()
                .flat_map(|r| r.when.iter().chain(&r.allocation))
                .for_each(|e| e.visit(f)),
            Targeting::Static | Targeting::Invalid(_) => {}
        }
    }
}

/// A named variant and its value.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Variant {
    /// Variant name, reported as OFREP `variant`.
    pub name: String,
    /// Variant value (boolean, string, number or object).
    pub value: Value,
}

/// How a flag picks its variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targeting {
    /// No targeting: the default variant, reason `STATIC`.
    #[serde(rename = "s")]
    Static,
    /// flagd JsonLogic: the expression's result names the variant (a string, or
    /// a boolean turned into `"true"`/`"false"`); `null` means the default
    /// variant with reason `DEFAULT`. Semantics of flagd core.
    #[serde(rename = "j")]
    JsonLogic(Expr),
    /// flagd targeting the builder could not compile (for example a `$ref` to a
    /// missing evaluator). flagd accepts the file and fails at evaluation, so
    /// every evaluation of this flag is `PARSE_ERROR` with this message.
    #[serde(rename = "x")]
    Invalid(String),
    /// Vane ordered rules: the first rule that is active and whose condition
    /// holds serves; none → default variant with reason `DEFAULT`.
    #[serde(rename = "r")]
    Rules(Vec<Rule>),
    /// Ordered assignment rules (the Confidence model, see
    /// [`crate::assign`]): the first rule whose clients, unit, condition and
    /// bucket ranges admit the request assigns a variant, the client's
    /// default, or falls through to the next rule.
    #[serde(rename = "a")]
    Assigned(Box<Assigned>),
}

/// A flag resolved by ordered assignment rules: who may resolve it and its rules.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Assigned {
    /// Names of the clients that may resolve the flag, sorted; a request by
    /// any other client does not see the flag.
    pub clients: Vec<String>,
    /// The rules, in order.
    pub rules: Vec<AssignRule>,
    /// The schema of the variant values, reported with every value
    /// (Confidence `flagSchema`, proto3 JSON); `null` when the source has none.
    pub schema: Value,
}

/// One assignment rule.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct AssignRule {
    /// The rule's name, reported as the assignment's origin.
    pub name: String,
    /// The segment the rule targets (its name), reported with assignments.
    pub segment: String,
    /// Clients the rule applies to, sorted; `None` = every client (a
    /// Confidence environment filter becomes the clients whose credentials
    /// are in one of the rule's environments).
    pub clients: Option<Vec<String>>,
    /// The attribute path of the bucketing unit (Confidence
    /// `targetingKeySelector`, dotted); `None` = the targeting key
    /// (`targeting_key`). A rule with a path is skipped when the attribute
    /// is missing; with the targeting key, a rule that needs no unit (one
    /// assignment over every bucket) still applies.
    pub unit: Option<Path>,
    /// The segment's targeting (referenced segments' allocations inside);
    /// `None` = everyone.
    pub when: Option<Expr>,
    /// The segment's own allocation (Confidence bitset) as a bucket-set
    /// test on the rule's unit ([`Expr::InBuckets`] or [`Expr::InBitmap`]);
    /// `None` = everyone. A sticky assignment applies whatever the allocation.
    pub allocation: Option<Expr>,
    /// The bucket space of the assignments (salt = the segment's id, the
    /// rule's unit).
    pub space: u32,
    /// Number of assignment buckets (Confidence `bucketCount`), at least 1.
    pub bucket_count: u32,
    /// The assignments; their ranges are disjoint.
    pub assignments: Vec<Assignment>,
    /// Sticky assignments read and written by this rule.
    pub sticky: Option<Sticky>,
}

/// A range of buckets and what it assigns.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Assignment {
    /// Opaque identifier reported with the assignment.
    pub id: String,
    /// What the assignment gives.
    pub outcome: Outcome,
    /// Sorted, disjoint, half-open `[start, end)` bucket ranges.
    pub ranges: Vec<(u32, u32)>,
}

/// What an assignment gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A variant (index into the flag's variants).
    #[serde(rename = "v")]
    Variant(u32),
    /// Nothing here: the next rule decides; the unit is recorded as having
    /// fallen through (it counts as an exposure).
    #[serde(rename = "f")]
    Fallthrough,
    /// A match without a value: the client's own default applies.
    #[serde(rename = "d")]
    ClientDefault,
}

/// How a rule uses sticky assignments (Confidence materializations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Sticky {
    /// Materialization read before bucketing; `None` = none.
    pub read: Option<String>,
    /// Materialization a new assignment is written to; `None` = none.
    pub write: Option<String>,
    /// Units without a stored assignment skip the rule (paused intake).
    pub must_match: bool,
    /// A stored assignment applies even when the segment's targeting no
    /// longer matches.
    pub ignore_targeting: bool,
}

/// A Vane rule.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Rule {
    /// Condition; `None` always matches.
    pub when: Option<Expr>,
    /// What the rule serves when it matches.
    pub serve: Serve,
    /// The rule applies from this time on (Unix seconds, inclusive).
    pub active_from: Option<i64>,
    /// The rule applies until this time (Unix seconds, exclusive).
    pub active_until: Option<i64>,
}

/// What a matching Vane rule serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Serve {
    /// One variant (index), reason `TARGETING_MATCH`.
    #[serde(rename = "v")]
    Variant(u32),
    /// A weighted split, reason `SPLIT`.
    #[serde(rename = "s")]
    Split(Split),
    /// A holdout's answer to a unit it holds out of an experiment.
    #[serde(rename = "h")]
    Holdout(Holdout),
    /// flagd `fractional` lowered from JsonLogic targeting: reason
    /// `TARGETING_MATCH`, and the default variant with reason `DEFAULT`
    /// when the unit is missing (flagd's `fractional` returns `null`).
    #[serde(rename = "f")]
    Fractional(Fractional),
}

/// What a holdout serves the units it keeps out of an experiment: the
/// flag's default variant (reason `DEFAULT`) or a named variant (reason
/// `TARGETING_MATCH`), with metadata that names the holdout so exposures
/// can mark the unit.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Holdout {
    /// The holdout's name.
    pub name: String,
    /// Variant index; `None` = the flag's default variant.
    pub variant: Option<u32>,
    /// The result's metadata: the flag's metadata plus `"holdout": name`
    /// (built once by the builder, so results borrow it).
    pub metadata: Map<String, Value>,
}

/// flagd `fractional` (flagd core, v2 bucketing) with literal entries and
/// the default bucketing, as the builder lowers it: MurmurHash3 x86_32
/// (seed 0) of the flag key followed directly by the targeting key;
/// `bucket = (hash * total) >> 32`; the first entry whose cumulative weight
/// exceeds the bucket serves.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Fractional {
    /// `(variant index, weight)` in declaration order; weights may be 0, and
    /// their sum is between 1 and 2,147,483,647.
    pub weights: Vec<(u32, u32)>,
}

/// A weighted split over variants, bucketed as described in [`crate::bucket`].
///
/// A split whose weight is all on one variant serves it without a unit (a
/// finished rollout answers anonymous callers too).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Split {
    /// Attribute whose value is the bucketing unit; `None` = the targeting key.
    pub bucket_by: Option<Path>,
    /// Salt prefixed to the unit (`"{salt}|{unit}"`); defaults to the flag key.
    pub salt: String,
    /// `(variant index, weight)` in declaration order; weights are positive and
    /// their sum fits in `u32`.
    pub weights: Vec<(u32, u32)>,
}

impl Split {
    /// The position in [`Split::weights`] of the one variant with weight,
    /// when all the weight is on one: it serves every unit.
    pub fn whole(&self) -> Option<usize> {
        let mut positive = self.weights.iter().enumerate().filter(|(_, (_, w))| *w > 0);
        match (positive.next(), positive.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }
}

impl Body {
    /// Checks what decoding an item alone cannot: [`check_unique_spaces`],
    /// [`Flag::check`] for every flag and [`ExposureLog::check`]. The error
    /// names the flag.
    pub fn check(&self) -> Result<(), String> {
        check_unique_spaces(&self.spaces)?;
        self.flags.iter().try_for_each(|f| f.check(&self.spaces))?;
        self.exposure_log.check(|key| self.flag(key).is_some())
    }
}

impl ExposureLog {
    /// Checks the settings as the builder writes them: flags sorted and
    /// unique, each a flag of the body (`has_flag`), with at least one
    /// attribute path, and no path empty, repeated or a prefix of another
    /// (each becomes one key of the event's `attributes`).
    pub fn check(&self, has_flag: impl Fn(&str) -> bool) -> Result<(), String> {
        let list = &self.attributes;
        if let Some((before, after)) = list
            .iter()
            .zip(list.iter().skip(1))
            .find(|(a, b)| a.flag >= b.flag)
        {
            return Err(format!(
                "exposure attributes: flag '{}' is listed after '{}' (sorted, unique)",
                after.flag, before.flag
            ));
        }
        for a in list {
            if !has_flag(&a.flag) {
                return Err(format!(
                    "exposure attributes name flag '{}', which the snapshot does not have",
                    a.flag
                ));
            }
            if a.paths.is_empty() {
                return Err(format!("flag '{}': exposure attributes are empty", a.flag));
            }
            for (i, p) in a.paths.iter().enumerate() {
                if p.is_empty() || p.iter().any(String::is_empty) {
                    return Err(format!(
                        "flag '{}': exposure attribute {i} has an empty path segment",
                        a.flag
                    ));
                }
                if let Some(q) = a
                    .paths
                    .iter()
                    .take(i)
                    .find(|q| q.starts_with(p) || p.starts_with(q))
                {
                    return Err(format!(
                        "flag '{}': exposure attributes '{}' and '{}' overlap",
                        a.flag,
                        q.join("."),
                        p.join(".")
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks that bucket spaces are unique by (scheme, salt, unit).
pub fn check_unique_spaces(spaces: &[BucketSpace]) -> Result<(), String> {
    for (i, a) in spaces.iter().enumerate() {
        if let Some(b) = spaces
            .iter()
            .take(i)
            .find(|b| (b.scheme, &b.salt, &b.unit) == (a.scheme, &a.salt, &a.unit))
        {
            return Err(format!(
                "bucket spaces '{}' and '{}' share scheme, salt and unit",
                b.name, a.name
            ));
        }
    }
    Ok(())
}

impl Flag {
    /// Checks what decoding the flag alone cannot, against the body's
    /// bucket `spaces`: every bucket-range test names an existing space
    /// with a count its scheme allows, and every split as the builder
    /// writes it (weights adding up to at most `u32::MAX`, which the bucket
    /// arithmetic `hash * total >> 32` relies on, and only variants the
    /// flag has). The error names the flag and the rule.
    pub fn check(&self, spaces: &[BucketSpace]) -> Result<(), String> {
        self.check_spaces(spaces)
            .and_then(|()| self.check_splits())
            .map_err(|e| format!("flag '{}': {e}", self.key))
    }

    fn check_splits(&self) -> Result<(), String> {
        let Targeting::Rules(rules) = &self.targeting else {
            return Ok(());
        };
        for (i, rule) in rules.iter().enumerate() {
            let Serve::Split(split) = &rule.serve else {
                continue;
            };
            let total: u64 = split.weights.iter().map(|&(_, w)| u64::from(w)).sum();
            if total > u64::from(u32::MAX) {
                return Err(format!(
                    "rule {i}'s split weights add up to {total}, more than {}",
                    u32::MAX
                ));
            }
            if let Some(&(v, _)) = split
                .weights
                .iter()
                .find(|&&(v, _)| v as usize >= self.variants.len())
            {
                return Err(format!(
                    "rule {i}'s split serves variant {v}, but the flag has {} variants",
                    self.variants.len()
                ));
            }
        }
        Ok(())
    }

    fn check_spaces(&self, spaces: &[BucketSpace]) -> Result<(), String> {
        let mut error = None;
        self.visit_exprs(&mut |e| {
            let (space, count) = match e {
                Expr::InBuckets(t) => (t.space, t.count),
                Expr::InBitmap(t) => (t.space, t.count),
                _ => return,
            };
            if error.is_none() {
                error = match spaces.get(space as usize) {
                    None => Some(format!(
                        "a bucket-range test refers to space {space} of {}",
                        spaces.len()
                    )),
                    Some(s) if count > s.scheme.max_count() => Some(format!(
                        "a bucket-range test over {count} buckets exceeds {}'s {}",
                        s.scheme.name(),
                        s.scheme.max_count()
                    )),
                    Some(_) => None,
                };
            }
        });
        if let Targeting::Assigned(a) = &self.targeting {
            for rule in &a.rules {
                error = error.or_else(|| check_rule_spaces(rule, spaces).err());
            }
        }
        error.map_or(Ok(()), Err)
    }
}

/// An assignment rule's spaces exist, its counts fit their schemes and
/// its assignments' variants and ranges are within bounds.
fn check_rule_spaces(rule: &AssignRule, spaces: &[BucketSpace]) -> Result<(), String> {
    let fits = |space: u32, count: u64| match spaces.get(space as usize) {
        None => Err(format!(
            "rule '{}' refers to space {space} of {}",
            rule.name,
            spaces.len()
        )),
        Some(s) if count > s.scheme.max_count() || count == 0 => Err(format!(
            "rule '{}' has {count} buckets, outside 1..={} of {}",
            rule.name,
            s.scheme.max_count(),
            s.scheme.name()
        )),
        Some(_) => Ok(()),
    };
    fits(rule.space, u64::from(rule.bucket_count))?;
    for a in &rule.assignments {
        if a.ranges
            .iter()
            .any(|&(lo, hi)| lo >= hi || hi > rule.bucket_count)
        {
            return Err(format!(
                "rule '{}' assignment '{}' has a range outside 0..{}",
                rule.name, a.id, rule.bucket_count
            ));
        }
    }
    Ok(())
}

impl Body {
    /// Finds a flag by key (binary search; flags are sorted).
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
            .and_then(|i| self.flags.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(key: &str) -> Flag {
        Flag {
            key: key.into(),
            variants: vec![Variant {
                name: "on".into(),
                value: Value::Bool(true),
            }],
            default_variant: Some(0),
            disabled: false,
            targeting: Targeting::Static,
            metadata: Map::new(),
        }
    }

    fn body(exposure_log: ExposureLog) -> Body {
        Body {
            flags: vec![flag("a"), flag("b")],
            clients: vec![],
            cors_origins: vec![],
            metadata: Map::new(),
            spaces: vec![],
            exposure_log,
        }
    }

    fn cbor(body: &Body) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(body, &mut out).unwrap();
        out
    }

    fn attributes(flag: &str, paths: &[&str]) -> FlagAttributes {
        FlagAttributes {
            flag: flag.into(),
            paths: paths
                .iter()
                .map(|p| p.split('.').map(str::to_owned).collect())
                .collect(),
        }
    }

    #[test]
    fn default_settings_are_not_written_and_older_bodies_read_as_default() {
        let plain = body(ExposureLog::default());
        // array(4) in CBOR, a 4-item sequence in format 2 (after the table).
        assert_eq!(cbor(&plain)[0], 0x84);
        let v2 = crate::format2::to_vec(&plain).unwrap();
        // The last item is the empty metadata map (`09 00`): no sixth item.
        assert!(v2.ends_with(&[0x09, 0x00]));
        let read: Body = ciborium::from_reader(&cbor(&plain)[..]).unwrap();
        assert_eq!(read.exposure_log, ExposureLog::default());
        let read: Body = crate::format2::from_slice(&v2).unwrap();
        assert_eq!(read.exposure_log, ExposureLog::default());
    }

    #[test]
    fn settings_round_trip_in_both_formats_as_a_sixth_item() {
        let log = ExposureLog {
            enabled: false,
            attributes: vec![attributes("b", &["country", "app.version"])],
        };
        let b = body(log.clone());
        let bytes = cbor(&b);
        assert_eq!(
            bytes[0], 0x86,
            "array(6): spaces written, then the settings"
        );
        let read: Body = ciborium::from_reader(&bytes[..]).unwrap();
        assert_eq!(read, b);
        let read: Body = crate::format2::from_slice(&crate::format2::to_vec(&b).unwrap()).unwrap();
        assert_eq!(read, b);
        assert_eq!(read.exposure_log.attributes_of("b").len(), 2);
        assert!(read.exposure_log.attributes_of("a").is_empty());
        assert!(read.exposure_log.attributes_of("zz").is_empty());
    }

    #[test]
    fn bad_settings_do_not_decode() {
        for (attrs, message) in [
            (
                vec![attributes("b", &["x"]), attributes("a", &["x"])],
                "flag 'a' is listed after 'b'",
            ),
            (
                vec![attributes("c", &["x"])],
                "flag 'c', which the snapshot does not have",
            ),
            (
                vec![attributes("a", &[])],
                "flag 'a': exposure attributes are empty",
            ),
            (vec![attributes("a", &["x..y"])], "empty path segment"),
            (
                vec![attributes("a", &["device.os", "device"])],
                "'device.os' and 'device' overlap",
            ),
            (vec![attributes("a", &["x", "x"])], "'x' and 'x' overlap"),
        ] {
            let b = body(ExposureLog {
                enabled: true,
                attributes: attrs,
            });
            let e = ciborium::from_reader::<Body, _>(&cbor(&b)[..]).unwrap_err();
            assert!(e.to_string().contains(message), "{e} / {message}");
            let e = crate::format2::from_slice::<Body>(&crate::format2::to_vec(&b).unwrap())
                .unwrap_err();
            assert!(e.to_string().contains(message), "{e} / {message}");
        }
    }
}
