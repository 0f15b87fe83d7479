//! Flag lookup by key in constant time: an open-addressing hash table of
//! flag positions, built once when a snapshot is decoded.
//!
//! A single-flag request looks its flag up by key. Binary search over the
//! sorted flags costs about ten string comparisons at 1,000 flags, each a
//! likely branch miss; this table costs one hash of the key and, almost
//! always, one comparison. Slots hold the flag's position and the high
//! half of its hash, so a probe that meets another key rarely touches that
//! key's bytes. The load factor stays at or below one half.
//!
//! The hash is a word-at-a-time multiply-rotate mix in the style of
//! rustc's FxHash (the constant is the 64-bit golden-ratio multiplier),
//! finished with a multiply so the high bits are well mixed. It is not
//! collision resistant: the keys are the tenant's own, so a tenant who
//! chose colliding keys would only slow its own lookups, and lookups stay
//! correct whatever the keys.

use crate::short_eq::same_bytes;

const EMPTY: u32 = u32::MAX;
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// Positions of flags by key. Built by [`KeyIndex::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyIndex {
    /// `(position, high 32 bits of the hash)`; position `EMPTY` is a free slot.
    slots: Box<[(u32, u32)]>,
}

fn hash(key: &[u8]) -> u64 {
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let n = key.len();
    let mut h = (n as u64).wrapping_mul(K);
    // Whole words, then the last eight bytes (overlapping the previous word
    // when the length is not a multiple of eight), so no partial word is
    // assembled byte by byte; the length mixed in first keeps keys that
    // share those bytes apart.
    if let (Some(last), Some((_, before_last_byte))) = (key.last_chunk::<8>(), key.split_last()) {
        for w in before_last_byte.as_chunks::<8>().0 {
            h = mix(h, u64::from_le_bytes(*w));
        }
        h = mix(h, u64::from_le_bytes(*last));
    } else if let (Some(first), Some(last)) = (key.first_chunk::<4>(), key.last_chunk::<4>()) {
        let (first, last) = (u32::from_le_bytes(*first), u32::from_le_bytes(*last));
        h = mix(h, (u64::from(first) << 32) | u64::from(last));
    } else if let (Some(&first), Some(&middle), Some(&last)) =
        (key.first(), key.get(n / 2), key.last())
    {
        h = mix(
            h,
            (u64::from(first) << 16) | (u64::from(middle) << 8) | u64::from(last),
        );
    }
    // Fold the high bits down so the slot index (low bits) depends on every byte.
    (h ^ (h >> 29)).wrapping_mul(K)
}

impl KeyIndex {
    /// Indexes `keys` by position (the first of equal keys wins). More
    /// than `u32::MAX - 1` keys cannot occur: a snapshot that large would
    /// not fit in memory.
    pub(crate) fn new<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> KeyIndex {
        let capacity = (keys.len() * 2).next_power_of_two().max(8);
        let mask = capacity - 1;
        let mut slots = vec![(EMPTY, 0u32); capacity].into_boxed_slice();
        let all: Vec<&str> = keys.collect();
        for (position, key) in all.iter().enumerate() {
            let h = hash(key.as_bytes());
            let mut i = h as usize & mask;
            // `i` is masked to `capacity - 1`, so the slot always exists.
            while let Some(slot) = slots.get_mut(i) {
                let (p, tag) = *slot;
                if p == EMPTY {
                    *slot = (position as u32, (h >> 32) as u32);
                    break;
                }
                if tag == (h >> 32) as u32 && all.get(p as usize) == Some(key) {
                    break; // a duplicate key: the first one stays
                }
                i = (i + 1) & mask;
            }
        }
        KeyIndex { slots }
    }

    /// The position of `key`, given the key at each position.
    #[inline]
    pub(crate) fn find<'k>(&self, key: &str, key_at: impl Fn(usize) -> &'k str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let h = hash(key.as_bytes());
        let tag = (h >> 32) as u32;
        let mut i = h as usize & mask;
        loop {
            let (p, t) = *self.slots.get(i)?; // `i` is masked: always in range
            if p == EMPTY {
                return None;
            }
            if t == tag && same_bytes(key_at(p as usize).as_bytes(), key.as_bytes()) {
                return Some(p as usize);
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_and_nothing_else() {
        let keys: Vec<String> = (0..1000).map(|i| format!("flag-{i}")).collect();
        let index = KeyIndex::new(keys.iter().map(String::as_str));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.find(k, |p| keys[p].as_str()), Some(i));
        }
        for absent in ["", "flag-1000", "flag-", "FLAG-1", "flag-1 "] {
            assert_eq!(index.find(absent, |p| keys[p].as_str()), None);
        }
    }

    #[test]
    fn empty_and_duplicate_keys() {
        let none: [&str; 0] = [];
        assert_eq!(KeyIndex::new(none.iter().copied()).find("a", |_| ""), None);
        let keys = ["a", "b", "a", ""];
        let index = KeyIndex::new(keys.iter().copied());
        assert_eq!(index.find("a", |p| keys[p]), Some(0));
        assert_eq!(index.find("", |p| keys[p]), Some(3));
    }

    #[test]
    fn every_length_up_to_two_words_hashes_differently() {
        let keys: Vec<String> = (0..=16).map(|n| "x".repeat(n)).collect();
        let mut hashes: Vec<u64> = keys.iter().map(|k| hash(k.as_bytes())).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), keys.len());
    }

    #[test]
    fn every_byte_takes_part() {
        for n in 1..=24 {
            let base = vec![b'a'; n];
            for at in 0..n {
                let mut other = base.clone();
                other[at] = b'b';
                assert_ne!(hash(&base), hash(&other), "length {n}, byte {at}");
            }
        }
    }
}
