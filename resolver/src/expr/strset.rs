//! A literal set of strings, built for membership tests at request time
//! and for cheap decoding.
//!
//! The members are kept sorted (byte order) and unique, concatenated in
//! one buffer with their end offsets, plus each member's first eight bytes
//! as a big-endian integer. Because the members are sorted, so are those
//! prefixes: a lookup is a branch-free binary search over integers, and
//! only a member whose prefix equals the needle's is compared byte by
//! byte (a run of members sharing it is binary-searched by whole bytes, so
//! a lookup stays logarithmic whatever the members look like). Decoding a set allocates three buffers, whatever its size,
//! instead of one string per member.
//!
//! On the wire a set is a plain array of texts (`docs/snapshot-format.md`).
//! Decoding sorts and deduplicates what it reads, so a hand-made snapshot
//! with an unsorted set still answers correctly.

use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Sorted, unique strings with fast membership. See the [module docs](self).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StrSet {
    /// The members, concatenated in order.
    bytes: String,
    /// End offset of each member in `bytes`.
    ends: Vec<u32>,
    /// The first eight bytes of each member, big-endian, zero-padded.
    prefixes: Vec<u64>,
}

fn prefix(s: &[u8]) -> u64 {
    if let Some(first) = s.first_chunk::<8>() {
        return u64::from_be_bytes(*first);
    }
    let mut buf = [0u8; 8];
    for (b, c) in buf.iter_mut().zip(s) {
        *b = *c;
    }
    u64::from_be_bytes(buf)
}

impl StrSet {
    /// Builds a set: sorts `items` in byte order and drops duplicates.
    pub fn new<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> StrSet {
        let mut items: Vec<S> = items.into_iter().collect();
        items.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        items.dedup_by(|a, b| a.as_ref() == b.as_ref());
        let mut set = StrSet::default();
        for item in &items {
            set.push(item.as_ref());
        }
        set
    }

    fn push(&mut self, item: &str) {
        self.bytes.push_str(item);
        self.ends.push(self.bytes.len() as u32);
        self.prefixes.push(prefix(item.as_bytes()));
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// `true` when the set has no members.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th member in byte order; `None` past the end.
    fn get(&self, i: usize) -> Option<&str> {
        let start = match i.checked_sub(1) {
            None => 0,
            Some(before) => *self.ends.get(before)? as usize,
        };
        self.bytes.get(start..*self.ends.get(i)? as usize)
    }

    /// The members in byte order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        // Every position below `len()` has a member (`push` keeps `ends`
        // within `bytes`, on char boundaries).
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }

    /// Whether `needle` is a member.
    #[inline]
    pub fn contains(&self, needle: &str) -> bool {
        self.search(needle, || {})
    }

    /// [`StrSet::contains`], calling `compared` once per member compared
    /// byte by byte (the tests count them).
    #[inline(always)]
    fn search(&self, needle: &str, mut compared: impl FnMut()) -> bool {
        let p = prefix(needle.as_bytes());
        let prefixes = self.prefixes.as_slice();
        // The first position whose prefix is >= p; the halving step is a
        // conditional move rather than a branch.
        let mut base = 0usize;
        let mut size = prefixes.len();
        while size > 1 {
            let half = size / 2;
            if prefixes.get(base + half - 1).is_some_and(|&q| q < p) {
                base += half;
            }
            size -= half;
        }
        if size == 1 && prefixes.get(base).is_some_and(|&q| q < p) {
            base += 1;
        }
        if prefixes.get(base) != Some(&p) {
            return false;
        }
        // Usually one member has the needle's prefix: compare it.
        if prefixes.get(base + 1) != Some(&p) {
            compared();
            return self.get(base) == Some(needle);
        }
        // A run shares it (`tenant-a-user-00001`, ...): the run is sorted by
        // the whole bytes, so binary-search it too.
        let end = base
            + prefixes
                .get(base..)
                .map_or(0, |run| run.partition_point(|&q| q == p));
        let (mut lo, mut hi) = (base, end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            compared();
            match self.get(mid).unwrap_or_default().cmp(needle) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Restores order and uniqueness after reading members as they came.
    fn normalise(self) -> StrSet {
        let sorted = self.iter().zip(self.iter().skip(1)).all(|(a, b)| a < b);
        if sorted {
            self
        } else {
            StrSet::new(self.iter())
        }
    }
}

impl fmt::Debug for StrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for StrSet {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> StrSet {
        StrSet::new(items)
    }
}

/// A sequence of the members, in byte order. Wrapped in a newtype struct
/// that snapshot format 2 front-codes ([`crate::format2`]); CBOR and JSON
/// write the plain sequence.
impl Serialize for StrSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(crate::format2::TEXT_SET_NAME, &Members(self))
    }
}

struct Members<'s>(&'s StrSet);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0.iter() {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// Appends one text member to the set being decoded, without allocating
/// a string for it.
struct Member<'s>(&'s mut StrSet);

impl<'de> serde::de::DeserializeSeed<'de> for Member<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Member<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text member of a string set")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if self.0.bytes.len() + v.len() > u32::MAX as usize {
            return Err(E::custom("a string set is larger than 4 GiB"));
        }
        self.0.push(v);
        Ok(())
    }
}

struct SetVisitor;

impl<'de> Visitor<'de> for SetVisitor {
    type Value = StrSet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of texts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrSet, A::Error> {
        let mut set = StrSet::default();
        if let Some(n) = seq.size_hint() {
            // Bounded: a hostile length prefix must not reserve memory.
            set.ends.reserve(n.min(4096));
            set.prefixes.reserve(n.min(4096));
        }
        while seq.next_element_seed(Member(&mut set))?.is_some() {}
        Ok(set.normalise())
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<StrSet, D::Error> {
        d.deserialize_seq(SetVisitor)
    }
}

impl<'de> Deserialize<'de> for StrSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StrSet, D::Error> {
        d.deserialize_newtype_struct(crate::format2::TEXT_SET_NAME, SetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_matches_a_linear_scan() {
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh\u{0}",
            "abcdefgz",
            "user1@x.example",
            "user10@x.example",
            "user2@x.example",
            "zz",
            "é",
            "\u{0}",
        ];
        for n in 0..=words.len() {
            let set = StrSet::new(&words[..n]);
            assert_eq!(set.len(), n);
            let probes = words.iter().copied().chain([
                "abcdefg",
                "abcdefghj",
                "user1",
                "user1@x.exampl",
                "zzz",
                "b",
            ]);
            for p in probes {
                assert_eq!(
                    set.contains(p),
                    words[..n].contains(&p),
                    "{p:?} in {n} words"
                );
            }
        }
    }

    #[test]
    fn sorts_deduplicates_and_round_trips() {
        let set = StrSet::new(["DE", "AT", "DE", "CH"]);
        assert_eq!(set.iter().collect::<Vec<_>>(), ["AT", "CH", "DE"]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["AT","CH","DE"]"#);
        let unsorted: StrSet = serde_json::from_str(r#"["DE","AT","DE"]"#).unwrap();
        assert_eq!(unsorted, StrSet::new(["AT", "DE"]));
        let mut cbor = Vec::new();
        ciborium::into_writer(&set, &mut cbor).unwrap();
        assert_eq!(
            ciborium::from_reader::<StrSet, _>(cbor.as_slice()).unwrap(),
            set
        );
        assert!(serde_json::from_str::<StrSet>(r#"["a", 1]"#).is_err());
    }

    /// Members sharing their first eight bytes (`tenant-a-…`) are searched
    /// by binary search too: a lookup compares at most about log2(n) + 1
    /// of them byte by byte, hit or miss.
    #[test]
    fn a_run_sharing_an_eight_byte_prefix_is_searched_in_log_time() {
        let n = 10_000;
        let members: Vec<String> = (0..n).map(|i| format!("tenant-a-user-{i:05}")).collect();
        let set = StrSet::new(&members);
        let probes = members
            .iter()
            .cloned()
            .chain((0..n).map(|i| format!("tenant-a-user-{i:05}x")))
            .chain(["tenant-a".to_owned(), "tenant-a-zzz".to_owned()]);
        let mut most = 0;
        for probe in probes {
            let mut count = 0;
            let found = set.search(&probe, || count += 1);
            assert_eq!(found, members.binary_search(&probe).is_ok(), "{probe}");
            most = most.max(count);
        }
        assert!(
            most <= 15,
            "{most} members compared for one lookup among {n}"
        );
    }

    #[test]
    fn large_sets() {
        let members: Vec<String> = (0..1000)
            .map(|i| format!("user{}@mail.example", i * 7))
            .collect();
        let set = StrSet::new(&members);
        for (i, m) in members.iter().enumerate() {
            assert!(set.contains(m));
            assert!(!set.contains(&format!("user{}@mail.example", i * 7 + 1)));
        }
    }
}
