//! Membership of the unit in a named set: a Confidence materialized segment,
//! answered by a bloom filter shipped in the snapshot or, without one, by
//! the request's sticky store ([`crate::assign::Materializations`]).

use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use super::Path;
use crate::assign::{unit_of, Materializations};
use crate::bucket::murmur3_x64_128;
use crate::context::Context;

/// A membership test: `true` when the unit at `unit` is in the set `name`.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Member {
    /// The set's name (Confidence `materializedSegment`).
    pub name: String,
    /// Where the unit is (the rule's unit path; `None` = the targeting key).
    pub unit: Option<Path>,
    /// The set as a bloom filter; `None` = ask the sticky store.
    pub bloom: Option<Bloom>,
}

impl Member {
    /// Whether the unit in `root` is in the set. A missing or unusable
    /// unit is in no set; without a bloom filter or a store, nothing is.
    pub fn holds(&self, context: &Context, store: Option<&Materializations>) -> bool {
        let Ok(unit) = unit_of(context, self.unit.as_deref()) else {
            return false;
        };
        match &self.bloom {
            Some(bloom) => bloom.might_contain(&unit),
            None => store.is_some_and(|s| s.contains(&unit, &self.name)),
        }
    }
}

/// A bloom filter in the layout of Guava's `BloomFilter` with strategy
/// `MURMUR128_MITZ_64` (what Confidence ships): MurmurHash3 x64 128-bit of
/// the UTF-8 key, seed 0, gives `h1` and `h2`; probe `i` (from 0) tests bit
/// `((h1 + i·h2) & i64::MAX) mod bits` (wrapping arithmetic on signed 64-bit
/// integers). Bit `b` is bit `b % 64` (least significant first) of the
/// `b / 64`-th big-endian 64-bit word of `words`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Bloom {
    /// The bit array as Guava serialises it (big-endian 64-bit words).
    #[serde(with = "serde_bytes")]
    pub words: Vec<u8>,
    /// Number of bits in the filter (at least 1, at most `words.len() * 8`).
    pub bits: u64,
    /// Number of probes per key.
    pub hashes: u32,
}

impl Bloom {
    /// Whether `key` may be in the set (no false negatives).
    pub fn might_contain(&self, key: &str) -> bool {
        if self.bits == 0 {
            return false;
        }
        let (h1, h2) = murmur3_x64_128(&[key.as_bytes()]);
        let (h1, h2) = (h1 as i64, h2 as i64);
        let mut combined = h1;
        for _ in 0..self.hashes {
            let bit = ((combined & i64::MAX) as u64) % self.bits;
            let byte = (bit / 64) * 8 + (7 - (bit % 64) / 8);
            let set = self
                .words
                .get(byte as usize)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0);
            if !set {
                return false;
            }
            combined = combined.wrapping_add(h2);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(bloom: &mut Bloom, key: &str) {
        let (h1, h2) = murmur3_x64_128(&[key.as_bytes()]);
        let mut combined = h1 as i64;
        for _ in 0..bloom.hashes {
            let bit = ((combined & i64::MAX) as u64) % bloom.bits;
            let byte = (bit / 64) * 8 + (7 - (bit % 64) / 8);
            bloom.words[byte as usize] |= 1 << (bit % 8);
            combined = combined.wrapping_add(h2 as i64);
        }
    }

    #[test]
    fn members_are_found_and_others_mostly_not() {
        let mut bloom = Bloom {
            words: vec![0; 128],
            bits: 1024,
            hashes: 5,
        };
        for i in 0..50 {
            insert(&mut bloom, &format!("user-{i}"));
        }
        assert!((0..50).all(|i| bloom.might_contain(&format!("user-{i}"))));
        let false_positives = (50..1050)
            .filter(|i| bloom.might_contain(&format!("user-{i}")))
            .count();
        assert!(false_positives < 50, "{false_positives}");
        let empty = Bloom {
            words: vec![],
            bits: 0,
            hashes: 3,
        };
        assert!(!empty.might_contain("x"));
    }
}
