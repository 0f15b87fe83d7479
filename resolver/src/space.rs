//! Salted bucket spaces and bucket-range tests: the one primitive behind
//! layers, holdouts, Confidence segment allocations and Confidence variant
//! assignments.
//!
//! A [`BucketSpace`] says how a unit is hashed: a [`HashScheme`], a salt and
//! the unit (the targeting key or an attribute path). The hashed string is
//! `"{salt}|{unit}"`. A [`BucketRanges`] test names a space, a bucket count
//! (the resolution: 2^32, 1,000,000, 10,000, …) and sorted, disjoint,
//! half-open ranges `[start, end)`; it holds when the unit's bucket falls in
//! one of them.
//!
//! - a layer is one space and one test per experiment (disjoint ranges);
//! - a holdout is a space of its own and one test;
//! - a Confidence allocation bitset is ranges over 1,000,000 buckets in the
//!   space with salt `"MegaSalt-{account}"` (scheme x64_128);
//! - a Confidence variant assignment is ranges over its `bucketCount` in the
//!   space whose salt is the segment id.
//!
//! Within one request the hash of a space (so of a scheme, salt and unit:
//! spaces are unique by the three) is computed once, at first use, and kept
//! in the request's [`BucketCache`] for every flag and rule sharing it.
//!
//! A test that covers every bucket holds without a unit, and an empty test
//! fails without one: a full rollout serves anonymous callers too.

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::bucket::HashScheme;
use crate::context::{Context, UnitError};
use crate::expr::Path;
#[cfg(test)]
use serde_json::Value;

/// How units are hashed into buckets: one entry of the snapshot's space
/// table ([`crate::model::Body::spaces`]).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct BucketSpace {
    /// The layer, holdout or allocation the space belongs to (for
    /// explanations and diffs; not hashed).
    pub name: String,
    /// Hash function and bucket arithmetic.
    pub scheme: HashScheme,
    /// Hashed before the unit: `"{salt}|{unit}"`.
    pub salt: String,
    /// Attribute whose value is the unit; `None` = the targeting key.
    pub unit: Option<Path>,
}

/// A half-open range of buckets `[start, end)`, encoded `[start, end]`.
pub type Range = (u64, u64);

/// A bucket-range test: holds when the unit's bucket in space `space`,
/// over `count` buckets, falls in one of `ranges`.
///
/// Decoding checks what the test alone can: `count >= 1`, every range
/// non-empty and ending at most at `count`, ranges sorted and disjoint. The
/// body checks that `space` exists and `count` fits its scheme.
#[derive(Debug, Clone, PartialEq, Serialize_tuple)]
pub struct BucketRanges {
    /// Index into the snapshot's space table.
    pub space: u32,
    /// Number of buckets (resolution), at least 1.
    pub count: u64,
    /// Sorted, disjoint, non-empty `[start, end)` ranges within `0..count`.
    pub ranges: Vec<Range>,
}

#[derive(Deserialize_tuple)]
struct RawRanges {
    space: u32,
    count: u64,
    ranges: Vec<Range>,
}

impl<'de> Deserialize<'de> for BucketRanges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let RawRanges {
            space,
            count,
            ranges,
        } = RawRanges::deserialize(d)?;
        BucketRanges::new(space, count, ranges).map_err(D::Error::custom)
    }
}

impl BucketRanges {
    /// A test, checked: `count >= 1`; ranges non-empty, within `0..count`,
    /// sorted and disjoint. The error says which range is wrong.
    pub fn new(space: u32, count: u64, ranges: Vec<Range>) -> Result<BucketRanges, String> {
        if count == 0 {
            return Err("a bucket-range test needs at least one bucket".to_owned());
        }
        let mut previous_end = 0;
        for (i, &(start, end)) in ranges.iter().enumerate() {
            if start >= end || end > count {
                return Err(format!(
                    "bucket range {i} [{start}, {end}) is empty or not within 0..{count}"
                ));
            }
            if i > 0 && start < previous_end {
                return Err(format!(
                    "bucket range {i} [{start}, {end}) overlaps or precedes the range before it"
                ));
            }
            previous_end = end;
        }
        Ok(BucketRanges {
            space,
            count,
            ranges,
        })
    }

    /// True when the ranges cover every bucket: the test holds for any unit,
    /// and without one.
    pub fn covers_all(&self) -> bool {
        self.ranges == [(0, self.count)]
    }

    /// Number of buckets in the ranges.
    pub fn size(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }

    /// True when `bucket` is in one of the ranges (binary search).
    pub fn contains(&self, bucket: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, end)| end <= bucket);
        self.ranges
            .get(i)
            .is_some_and(|&(start, _)| start <= bucket)
    }

    /// Checks the test for this request's unit. A test covering everything
    /// holds and an empty one fails without looking for a unit.
    pub fn check(&self, cache: &BucketCache<'_>) -> RangeCheck {
        if self.covers_all() {
            return RangeCheck::All;
        }
        if self.ranges.is_empty() {
            return RangeCheck::Nothing;
        }
        match cache.bucket(self.space, self.count) {
            Ok(bucket) if self.contains(bucket) => RangeCheck::In(bucket),
            Ok(bucket) => RangeCheck::Out(bucket),
            Err(e) => RangeCheck::NoUnit(e),
        }
    }

    /// True when the test holds: [`BucketRanges::check`] is `All` or `In`.
    /// A missing or unusable unit fails the test (the rule falls through).
    pub fn holds(&self, cache: &BucketCache<'_>) -> bool {
        matches!(self.check(cache), RangeCheck::All | RangeCheck::In(_))
    }
}

/// A bucket-set test stored as a bitmap: holds when bit `b` of `bits` is set
/// for the unit's bucket `b` in space `space` over `count` buckets (bit `b`
/// is bit `b % 8`, least significant first, of byte `b / 8`). The same test
/// as [`BucketRanges`] in the encoding that is smaller for scattered sets: a
/// random half of 1,000,000 buckets is ~190,000 ranges but 125,000 bytes
/// here (a Confidence allocation bitset, as its backend ships it). Without
/// a unit it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple)]
pub struct BucketBitmap {
    /// Index into the snapshot's space table.
    pub space: u32,
    /// Number of buckets, at least 1.
    pub count: u64,
    /// `ceil(count / 8)` bytes.
    #[serde(with = "serde_bytes")]
    pub bits: Vec<u8>,
}

#[derive(Deserialize_tuple)]
struct RawBitmap {
    space: u32,
    count: u64,
    #[serde(with = "serde_bytes")]
    bits: Vec<u8>,
}

impl<'de> Deserialize<'de> for BucketBitmap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let RawBitmap { space, count, bits } = RawBitmap::deserialize(d)?;
        BucketBitmap::new(space, count, bits).map_err(D::Error::custom)
    }
}

impl BucketBitmap {
    /// A bitmap test, checked: `count >= 1` and `bits` holds exactly
    /// `ceil(count / 8)` bytes.
    pub fn new(space: u32, count: u64, bits: Vec<u8>) -> Result<BucketBitmap, String> {
        if count == 0 || bits.len() as u64 != count.div_ceil(8) {
            return Err(format!(
                "a bucket bitmap over {count} buckets needs {} bytes, has {}",
                count.div_ceil(8),
                bits.len()
            ));
        }
        Ok(BucketBitmap { space, count, bits })
    }

    /// True when `bucket`'s bit is set.
    pub fn contains(&self, bucket: u64) -> bool {
        self.bits
            .get((bucket / 8) as usize)
            .is_some_and(|b| b & (1 << (bucket % 8)) != 0)
    }

    /// True when the unit's bucket is set; a missing or unusable unit fails.
    pub fn holds(&self, cache: &BucketCache<'_>) -> bool {
        cache
            .bucket(self.space, self.count)
            .is_ok_and(|b| self.contains(b))
    }
}

/// The outcome of a bucket-range test for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeCheck {
    /// The ranges cover every bucket: holds, no unit needed.
    All,
    /// The test has no range: fails, no unit needed.
    Nothing,
    /// The unit's bucket (carried) is in a range.
    In(u64),
    /// The unit's bucket (carried) is in no range.
    Out(u64),
    /// The unit is missing or not a string or number.
    NoUnit(UnitError),
}

/// What a space's hash is for this request, once computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitHash {
    NotYet,
    Failed(UnitError),
    Hash(u64),
}

/// One request's context with the hash of every space used so far: each
/// space's `"{salt}|{unit}"` is hashed at most once per request, whatever
/// number of flags and rules test it.
#[derive(Debug)]
pub struct BucketCache<'a> {
    context: &'a Context,
    spaces: &'a [BucketSpace],
    hashes: Vec<Cell<UnitHash>>,
}

impl<'a> BucketCache<'a> {
    /// A cache for one request against a snapshot's spaces. Allocates one
    /// slot per space (nothing when there are none).
    pub fn new(context: &'a Context, spaces: &'a [BucketSpace]) -> BucketCache<'a> {
        BucketCache {
            context,
            spaces,
            hashes: spaces.iter().map(|_| Cell::new(UnitHash::NotYet)).collect(),
        }
    }

    /// The request's context.
    pub fn context(&self) -> &'a Context {
        self.context
    }

    /// The space table the cache serves.
    pub fn spaces(&self) -> &'a [BucketSpace] {
        self.spaces
    }

    /// The unit's bucket among `count` in space `space` (hashed at the
    /// first call for the space in this request). Errors: the unit is
    /// missing or unusable; a space index the table lacks reads as a missing
    /// unit (decoding refuses such snapshots).
    pub fn bucket(&self, space: u32, count: u64) -> Result<u64, UnitError> {
        let (Some(slot), Some(def)) = (
            self.hashes.get(space as usize),
            self.spaces.get(space as usize),
        ) else {
            return Err(UnitError::Missing);
        };
        let hash = match slot.get() {
            UnitHash::Hash(h) => h,
            UnitHash::Failed(e) => return Err(e),
            UnitHash::NotYet => match self.unit(def) {
                Ok(unit) => {
                    let h = def
                        .scheme
                        .hash(&[def.salt.as_bytes(), b"|", unit.as_bytes()]);
                    slot.set(UnitHash::Hash(h));
                    h
                }
                Err(e) => {
                    slot.set(UnitHash::Failed(e));
                    return Err(e);
                }
            },
        };
        Ok(def.scheme.bucket(hash, count))
    }

    /// The unit of a space in this request's context.
    pub fn unit(&self, space: &BucketSpace) -> Result<Cow<'a, str>, UnitError> {
        self.context.unit(space.unit.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::model::{Body, Flag, Rule, Serve, Targeting, Variant};
    use crate::{Reason, Snapshot, SnapshotError};

    /// A flag serving `on` to units in `ranges` of space 0 (else `off`).
    fn in_ranges_flag(key: &str, ranges: Value) -> Flag {
        Flag {
            key: key.into(),
            variants: vec![
                Variant {
                    name: "off".into(),
                    value: json!(false),
                },
                Variant {
                    name: "on".into(),
                    value: json!(true),
                },
            ],
            default_variant: Some(0),
            disabled: false,
            targeting: Targeting::Rules(vec![Rule {
                when: Some(serde_json::from_value(json!({ "b": [0, 100, ranges] })).unwrap()),
                serve: Serve::Variant(1),
                active_from: None,
                active_until: None,
            }]),
            metadata: Map::new(),
        }
    }

    fn body(flags: Vec<Flag>, spaces: Vec<BucketSpace>) -> Body {
        Body {
            flags,
            clients: vec![],
            cors_origins: vec![],
            metadata: Map::new(),
            spaces,
            exposure_log: Default::default(),
        }
    }

    fn decode(body: &Body) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_bytes(&Snapshot::encode("t", 1, 0, "test", body).unwrap())
    }

    fn space(scheme: HashScheme, salt: &str, unit: Option<&str>) -> BucketSpace {
        BucketSpace {
            name: salt.to_owned(),
            scheme,
            salt: salt.to_owned(),
            unit: unit.map(|u| u.split('.').map(str::to_owned).collect()),
        }
    }

    #[test]
    fn ranges_are_checked() {
        assert!(BucketRanges::new(0, 10, vec![(0, 3), (3, 10)]).is_ok());
        assert!(BucketRanges::new(0, 10, vec![]).is_ok());
        let err = |ranges| BucketRanges::new(0, 10, ranges).unwrap_err();
        assert_eq!(
            err(vec![(0, 3), (2, 5)]),
            "bucket range 1 [2, 5) overlaps or precedes the range before it"
        );
        assert_eq!(
            err(vec![(4, 4)]),
            "bucket range 0 [4, 4) is empty or not within 0..10"
        );
        assert_eq!(
            err(vec![(4, 11)]),
            "bucket range 0 [4, 11) is empty or not within 0..10"
        );
        assert!(BucketRanges::new(0, 0, vec![]).is_err());
    }

    #[test]
    fn contains_finds_the_range() {
        let t = BucketRanges::new(0, 100, vec![(10, 20), (30, 31), (90, 100)]).unwrap();
        let inside: Vec<u64> = (0..100).filter(|&b| t.contains(b)).collect();
        let expect: Vec<u64> = (10..20).chain([30]).chain(90..100).collect();
        assert_eq!(inside, expect);
        assert_eq!(t.size(), 21);
        assert!(!t.covers_all());
        assert!(BucketRanges::new(0, 100, vec![(0, 100)])
            .unwrap()
            .covers_all());
    }

    #[test]
    fn confidence_vectors_through_a_space() {
        // conformance/README.md: allocation and variant check vectors.
        let spaces = [
            space(HashScheme::Murmur3X64_128, "MegaSalt-confidence-test", None),
            space(HashScheme::Murmur3X64_128, "country-se", Some("user.id")),
        ];
        let ctx =
            Context::from_json(r#"{"targetingKey":"roug","user":{"id":"user1"}}"#, 0).unwrap();
        let cache = BucketCache::new(&ctx, &spaces);
        assert_eq!(cache.bucket(0, 1_000_000), Ok(567_493));
        assert_eq!(cache.bucket(1, 1_000), Ok(719));
        let t = BucketRanges::new(1, 1_000, vec![(700, 720)]).unwrap();
        assert_eq!(t.check(&cache), RangeCheck::In(719));
        let t = BucketRanges::new(1, 1_000, vec![(0, 719), (720, 1000)]).unwrap();
        assert_eq!(t.check(&cache), RangeCheck::Out(719));
    }

    #[test]
    fn x86_space_is_the_split_hash() {
        let spaces = [space(HashScheme::Murmur3X86_32, "layer-a", None)];
        let ctx = Context::from_json(r#"{"targetingKey":"user-7"}"#, 0).unwrap();
        let cache = BucketCache::new(&ctx, &spaces);
        let h = crate::bucket::murmur3_32(&[b"layer-a|user-7"]) as u64;
        assert_eq!(cache.bucket(0, 1 << 32), Ok(h));
        assert_eq!(cache.bucket(0, 1_000_000), Ok((h * 1_000_000) >> 32));
    }

    #[test]
    fn full_and_empty_tests_need_no_unit() {
        let spaces = [space(HashScheme::Murmur3X86_32, "s", None)];
        let anonymous = Context::empty(0);
        let cache = BucketCache::new(&anonymous, &spaces);
        let all = BucketRanges::new(0, 1_000_000, vec![(0, 1_000_000)]).unwrap();
        let none = BucketRanges::new(0, 1_000_000, vec![]).unwrap();
        let some = BucketRanges::new(0, 1_000_000, vec![(0, 999_999)]).unwrap();
        assert_eq!(all.check(&cache), RangeCheck::All);
        assert_eq!(none.check(&cache), RangeCheck::Nothing);
        assert_eq!(some.check(&cache), RangeCheck::NoUnit(UnitError::Missing));
        assert!(all.holds(&cache) && !none.holds(&cache) && !some.holds(&cache));
    }

    #[test]
    fn units_are_strings_or_numbers() {
        let spaces = [space(HashScheme::Murmur3X86_32, "s", Some("company.id"))];
        let by_number = Context::from_json(r#"{"company":{"id":1.0}}"#, 0).unwrap();
        let by_text = Context::from_json(r#"{"company":{"id":"1"}}"#, 0).unwrap();
        let by_object = Context::from_json(r#"{"company":{"id":{}}}"#, 0).unwrap();
        let b = |ctx| BucketCache::new(ctx, &spaces).bucket(0, 1 << 32);
        assert_eq!(b(&by_number), b(&by_text));
        assert_eq!(b(&by_object), Err(UnitError::Unusable));
    }

    #[test]
    fn a_space_is_hashed_once_per_request() {
        let spaces = [space(HashScheme::Murmur3X86_32, "s", None)];
        let ctx = Context::from_json(r#"{"targetingKey":"u"}"#, 0).unwrap();
        let cache = BucketCache::new(&ctx, &spaces);
        assert_eq!(cache.hashes[0].get(), UnitHash::NotYet);
        let first = cache.bucket(0, 100).unwrap();
        let UnitHash::Hash(h) = cache.hashes[0].get() else {
            panic!("not cached")
        };
        // Another resolution over the same cached hash.
        assert_eq!(cache.bucket(0, 1 << 32), Ok(h));
        assert_eq!(cache.bucket(0, 100), Ok(first));
        assert_eq!(cache.bucket(7, 100), Err(UnitError::Missing));
    }

    #[test]
    fn layer_through_a_snapshot() {
        // Two experiments of one layer: [0, 30) and [30, 60) of 100 buckets.
        let spaces = vec![space(HashScheme::Murmur3X86_32, "checkout-layer", None)];
        let snap = decode(&body(
            vec![
                in_ranges_flag("exp-a", json!([[0, 30]])),
                in_ranges_flag("exp-b", json!([[30, 60]])),
            ],
            spaces.clone(),
        ))
        .unwrap();
        assert_eq!(snap.spaces(), spaces);
        let mut counts = [0u32; 3];
        for i in 0..10_000 {
            let ctx = Context::from_value(json!({ "targetingKey": format!("u{i}") }), 0).unwrap();
            let on = |key| snap.evaluate(key, &ctx).variant == Some("on");
            let (a, b) = (on("exp-a"), on("exp-b"));
            assert!(!(a && b), "u{i} is in both experiments");
            let bucket = BucketCache::new(&ctx, &spaces).bucket(0, 100).unwrap();
            assert_eq!((a, b), (bucket < 30, (30..60).contains(&bucket)), "u{i}");
            counts[usize::from(a) + 2 * usize::from(b)] += 1;
        }
        // 40 %, 30 %, 30 % of 10,000 within 5 standard deviations (~230).
        for (got, want) in counts.iter().zip([4000, 3000, 3000]) {
            assert!(got.abs_diff(want) < 250, "{counts:?}");
        }
        let anonymous = Context::empty(0);
        let r = snap.evaluate("exp-a", &anonymous);
        assert_eq!((r.variant, r.reason), (Some("off"), Reason::Default));
    }

    #[test]
    fn bodies_without_spaces_keep_four_items() {
        let mut bytes = Vec::new();
        ciborium::into_writer(&body(vec![], vec![]), &mut bytes).unwrap();
        assert_eq!(bytes, [0x84, 0x80, 0x80, 0x80, 0xa0]);
        let spaces = vec![space(HashScheme::Murmur3X64_128, "s", Some("a.b"))];
        let mut bytes = Vec::new();
        ciborium::into_writer(&body(vec![], spaces), &mut bytes).unwrap();
        // array(5), ..., [[ "s", 2, "s", ["a", "b"] ]]
        assert_eq!(bytes[..5], [0x85, 0x80, 0x80, 0x80, 0xa0]);
        assert_eq!(
            bytes[5..],
            [0x81, 0x84, 0x61, b's', 0x02, 0x61, b's', 0x82, 0x61, b'a', 0x61, b'b']
        );
    }

    #[test]
    fn decoding_refuses_bad_tests_and_spaces() {
        let one = || vec![space(HashScheme::Murmur3X86_32, "l", None)];
        let body_err = |b: &Body| match decode(b) {
            Err(SnapshotError::Body(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = body_err(&body(vec![in_ranges_flag("f", json!([[0, 30]]))], vec![]));
        assert!(
            m.starts_with("flag 'f': a bucket-range test refers to space 0 of 0"),
            "{m}"
        );
        let mut twice = one();
        twice.push(BucketSpace {
            name: "other".into(),
            ..twice[0].clone()
        });
        let m = body_err(&body(vec![], twice));
        assert!(
            m.starts_with("bucket spaces 'l' and 'other' share scheme, salt and unit"),
            "{m}"
        );
        // Ranges are checked as they decode, whoever wrote them.
        let mut flag = in_ranges_flag("f", json!([[0, 30]]));
        if let Targeting::Rules(rules) = &mut flag.targeting {
            rules[0].when = Some(crate::expr::Expr::InBuckets(BucketRanges {
                space: 0,
                count: 100,
                ranges: vec![(50, 60), (10, 20)],
            }));
        }
        let m = body_err(&body(vec![flag], one()));
        assert!(
            m.contains("bucket range 1 [10, 20) overlaps or precedes"),
            "{m}"
        );
        let mut flag = in_ranges_flag("f", json!([[0, 30]]));
        if let Targeting::Rules(rules) = &mut flag.targeting {
            rules[0].when = Some(crate::expr::Expr::InBuckets(BucketRanges {
                space: 0,
                count: (1 << 32) + 1,
                ranges: vec![],
            }));
        }
        let m = body_err(&body(vec![flag], one()));
        assert!(
            m.contains("over 4294967297 buckets exceeds murmur3_x86_32's 4294967296"),
            "{m}"
        );
        let bad_scheme: Result<HashScheme, _> = serde_json::from_value(json!(9));
        assert!(bad_scheme
            .unwrap_err()
            .to_string()
            .contains("hash scheme 9 is not known"));
    }
}
