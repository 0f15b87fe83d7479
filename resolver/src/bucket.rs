//! Bucketing: MurmurHash3 x86 32-bit (Austin Appleby's public-domain
//! algorithm, seed 0) over a UTF-8 bucketing string, mapped onto cumulative
//! weights as flagd's `fractional` v2 does:
//! `bucket = (hash as u64 * total_weight) >> 32`, and the first variant whose
//! cumulative weight exceeds the bucket wins.
//!
//! Vane splits hash `"{salt}|{unit}"` with the same arithmetic. Because the
//! cut points are cumulative, moving weight from one variant to its neighbour
//! moves only the units in the moved range.
//!
//! Bucket-range tests (layers, holdouts, Confidence allocations and variant
//! assignments; see [`crate::space`]) name their [`HashScheme`]: the x86
//! 32-bit hash with the split arithmetic above, or MurmurHash3 x64 128-bit
//! (seed 0) whose low 64 bits `h1` give `bucket = (h1 >> 4) mod count`, as
//! Confidence buckets.

use serde::{Deserialize, Serialize};

/// The bucketing scheme version recorded in every snapshot. Bump it (and keep
/// the old scheme) if the hash or the arithmetic ever changes.
pub const BUCKETING_VERSION: u32 = 1;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// Feeds the concatenation of `parts` to `block` in whole `N`-byte blocks,
/// without copying it; returns the last partial block (zero-padded), its
/// length and the total length.
#[inline(always)]
fn blocks<const N: usize>(
    parts: &[&[u8]],
    mut block: impl FnMut(&[u8; N]),
) -> ([u8; N], usize, usize) {
    let mut len: usize = 0;
    let mut tail = [0u8; N];
    let mut tail_len = 0usize;
    for part in parts {
        len += part.len();
        let mut bytes = *part;
        if tail_len > 0 {
            let take = (N - tail_len).min(bytes.len());
            for (t, b) in tail.iter_mut().skip(tail_len).zip(bytes) {
                *t = *b;
            }
            tail_len += take;
            bytes = bytes.get(take..).unwrap_or_default();
            if tail_len < N {
                continue;
            }
            block(&tail);
        }
        let (whole, rest) = bytes.as_chunks::<N>();
        for c in whole {
            block(c);
        }
        tail = [0u8; N];
        for (t, b) in tail.iter_mut().zip(rest) {
            *t = *b;
        }
        tail_len = rest.len();
    }
    (tail, tail_len, len)
}

/// MurmurHash3 x86 32-bit of the concatenation of `parts`, seed 0.
///
/// Hashing parts avoids building the concatenated string per evaluation.
/// A block that straddles two parts is assembled in a register (the bytes
/// of the first part not yet hashed, shifted in from the next), so the
/// parts cost what one slice costs: 8.5 against 21 ns for a 15-byte flag
/// key and a 9-byte targeting key with a byte-array tail carried over
/// (the [`murmur3_x64_128`] way).
pub fn murmur3_32(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0;
    // Bytes read but not hashed yet (fewer than four), little-endian.
    let mut pending = 0u32;
    let mut pending_len = 0u32;
    let mut len = 0usize;
    for part in parts {
        len += part.len();
        let mut bytes = *part;
        if pending_len > 0 {
            let take = ((4 - pending_len) as usize).min(bytes.len());
            let (head, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            pending |= le_word(head) << (8 * pending_len);
            pending_len += take as u32;
            bytes = rest;
            if pending_len < 4 {
                continue;
            }
            h = mix_block(h, pending);
        }
        let (whole, rest) = bytes.as_chunks::<4>();
        for c in whole {
            h = mix_block(h, u32::from_le_bytes(*c));
        }
        pending = le_word(rest);
        pending_len = rest.len() as u32;
    }
    if pending_len > 0 {
        h ^= pending.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    // Length is taken mod 2^32, as in the reference implementation.
    h ^= len as u32;
    fmix32(h)
}

/// Up to four bytes as a little-endian word.
fn le_word(bytes: &[u8]) -> u32 {
    bytes.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b))
}

fn mix_block(h: u32, k: u32) -> u32 {
    let k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// MurmurHash3 x64 128-bit of the concatenation of `parts`, seed 0: the low
/// 64 bits (`h1`, the first eight bytes of the digest read little-endian).
pub fn murmur3_x64_128_low(parts: &[&[u8]]) -> u64 {
    murmur3_x64_128(parts).0
}

/// MurmurHash3 x64 128-bit of the concatenation of `parts`, seed 0, as its
/// two halves `(h1, h2)` (the digest's first and last eight bytes read
/// little-endian). Guava's bloom filters probe with both.
pub fn murmur3_x64_128(parts: &[&[u8]]) -> (u64, u64) {
    let (mut h1, mut h2) = (0u64, 0u64);
    let (tail, tail_len, len) = blocks::<16>(parts, |b| (h1, h2) = mix_block_128(h1, h2, b));
    if tail_len > 0 {
        let (k1, k2) = halves(&tail);
        if tail_len > 8 {
            h2 ^= k2.wrapping_mul(C2_64).rotate_left(33).wrapping_mul(C1_64);
        }
        h1 ^= k1.wrapping_mul(C1_64).rotate_left(31).wrapping_mul(C2_64);
    }
    h1 ^= len as u64;
    h2 ^= len as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    let h1 = h1.wrapping_add(h2);
    (h1, h2.wrapping_add(h1))
}

/// A 16-byte block as two little-endian `u64`s.
fn halves(block: &[u8; 16]) -> (u64, u64) {
    let both = u128::from_le_bytes(*block);
    (both as u64, (both >> 64) as u64)
}

const C1_64: u64 = 0x87c3_7b91_1142_53d5;
const C2_64: u64 = 0x4cf5_ad43_2745_937f;

fn mix_block_128(h1: u64, h2: u64, block: &[u8; 16]) -> (u64, u64) {
    let (k1, k2) = halves(block);
    let h1 = h1 ^ k1.wrapping_mul(C1_64).rotate_left(31).wrapping_mul(C2_64);
    let h1 = h1
        .rotate_left(27)
        .wrapping_add(h2)
        .wrapping_mul(5)
        .wrapping_add(0x52dc_e729);
    let h2 = h2 ^ k2.wrapping_mul(C2_64).rotate_left(33).wrapping_mul(C1_64);
    let h2 = h2
        .rotate_left(31)
        .wrapping_add(h1)
        .wrapping_mul(5)
        .wrapping_add(0x3849_5ab5);
    (h1, h2)
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// How a bucket-range test hashes `"{salt}|{unit}"` and maps the hash onto
/// `count` buckets. Encoded as an unsigned integer (the number below), so a
/// new scheme is a new number and old snapshots keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashScheme {
    /// `1`: MurmurHash3 x86 32-bit, seed 0; `bucket = (hash * count) >> 32`
    /// (the split and flagd `fractional` arithmetic). `count` is at most 2^32;
    /// with `count = 2^32` the bucket is the hash itself.
    Murmur3X86_32,
    /// `2`: MurmurHash3 x64 128-bit, seed 0, low 64 bits `h1`;
    /// `bucket = (h1 >> 4) mod count` (Confidence's bucketing).
    Murmur3X64_128,
}

impl HashScheme {
    /// The scheme's number in the snapshot.
    pub fn code(self) -> u8 {
        match self {
            HashScheme::Murmur3X86_32 => 1,
            HashScheme::Murmur3X64_128 => 2,
        }
    }

    /// The scheme of a number; `None` for one this resolver does not know.
    pub fn from_code(code: u8) -> Option<HashScheme> {
        match code {
            1 => Some(HashScheme::Murmur3X86_32),
            2 => Some(HashScheme::Murmur3X64_128),
            _ => None,
        }
    }

    /// The scheme's name: `murmur3_x86_32` or `murmur3_x64_128`.
    pub fn name(self) -> &'static str {
        match self {
            HashScheme::Murmur3X86_32 => "murmur3_x86_32",
            HashScheme::Murmur3X64_128 => "murmur3_x64_128",
        }
    }

    /// The largest bucket count the scheme's arithmetic allows: 2^32 for
    /// x86_32, 2^60 for x64_128 (`h1 >> 4` has 60 bits).
    pub fn max_count(self) -> u64 {
        match self {
            HashScheme::Murmur3X86_32 => 1 << 32,
            HashScheme::Murmur3X64_128 => 1 << 60,
        }
    }

    /// The hash of the concatenated `parts` (x86_32 widened to `u64`).
    pub fn hash(self, parts: &[&[u8]]) -> u64 {
        match self {
            HashScheme::Murmur3X86_32 => murmur3_32(parts) as u64,
            HashScheme::Murmur3X64_128 => murmur3_x64_128_low(parts),
        }
    }

    /// The bucket in `[0, count)` of a hash from [`HashScheme::hash`];
    /// `count` is between 1 and [`HashScheme::max_count`].
    pub fn bucket(self, hash: u64, count: u64) -> u64 {
        match self {
            HashScheme::Murmur3X86_32 => (hash * count) >> 32,
            HashScheme::Murmur3X64_128 => (hash >> 4) % count,
        }
    }
}

impl Serialize for HashScheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for HashScheme {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u8::deserialize(d)?;
        HashScheme::from_code(code).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "hash scheme {code} is not known (1 = murmur3_x86_32, 2 = murmur3_x64_128)"
            ))
        })
    }
}

/// Maps a hash onto `[0, total)`: `(hash * total) >> 32`.
pub fn bucket(hash: u32, total: u64) -> u64 {
    ((hash as u64) * total) >> 32
}

/// Where a hash fell among cumulative weights (see [`place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// `(hash * total) >> 32`, in `[0, total)`.
    pub bucket: u64,
    /// Sum of the weights.
    pub total: u64,
    /// Index of the first weight whose cumulative sum exceeds `bucket`.
    pub index: usize,
}

/// Places `hash` among the weights: its bucket and the index of the first
/// weight whose cumulative sum exceeds the bucket. `None` when the weights
/// sum to zero.
pub fn place(hash: u32, weights: impl Iterator<Item = u64> + Clone) -> Option<Slot> {
    let total: u64 = weights.clone().sum();
    if total == 0 {
        return None;
    }
    let b = bucket(hash, total);
    let mut cumulative = 0u64;
    weights.enumerate().find_map(|(index, w)| {
        cumulative += w;
        (b < cumulative).then_some(Slot {
            bucket: b,
            total,
            index,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // Published MurmurHash3_x86_32 test vectors, seed 0.
        assert_eq!(murmur3_32(&[b""]), 0);
        assert_eq!(murmur3_32(&[b"hello"]), 0x248b_fa47);
        assert_eq!(murmur3_32(&[b"Hello, world!"]), 0xc036_3e43);
        assert_eq!(
            murmur3_32(&[b"The quick brown fox jumps over the lazy dog"]),
            0x2e4f_f723
        );
    }

    #[test]
    fn boundary_keys_from_design() {
        // Boundary keys (docs/rules.md, "Splits"; MurmurHash3 x86_32, seed 0): keys whose hash (of the key alone) is 0, 1, 2^31-1, 2^31, 2^32-1.
        let expect = [
            ("ejOoVL", 0u32),
            ("bY9fO-", 1),
            ("SI7p-", (1 << 31) - 1),
            ("6LvT0", 1 << 31),
            ("ceQdGm", u32::MAX),
        ];
        for (key, hash) in expect {
            assert_eq!(murmur3_32(&[key.as_bytes()]), hash, "{key}");
        }
        let sides: Vec<_> = expect
            .iter()
            .map(|(k, _)| {
                place(murmur3_32(&[k.as_bytes()]), [50u64, 50].into_iter())
                    .unwrap()
                    .index
            })
            .collect();
        assert_eq!(sides, [0, 0, 0, 1, 1]);
    }

    #[test]
    fn parts_hash_like_the_concatenation() {
        let whole = b"flag-key|user-12345-and-some";
        for split in 0..=whole.len() {
            for split2 in split..=whole.len() {
                let (a, rest) = whole.split_at(split);
                let (b, c) = rest.split_at(split2 - split);
                assert_eq!(murmur3_32(&[a, b, c]), murmur3_32(&[whole]));
            }
        }
    }

    #[test]
    fn long_parts_hash_like_the_concatenation() {
        // Longer than SHORT together: streamed part by part, not gathered.
        let whole: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 3, 4, 5, 127, 128, 129, 200, 299, 300] {
            let (a, b) = whole.split_at(split);
            for c in [&b""[..], b"|", b"unit-1"] {
                let mut joined = whole.clone();
                joined.extend_from_slice(c);
                assert_eq!(murmur3_32(&[a, b, c]), murmur3_32(&[&joined]));
                assert_eq!(
                    murmur3_x64_128(&[a, b, c]),
                    murmur3_x64_128(&[&joined]),
                    "{split}"
                );
            }
        }
    }

    #[test]
    fn x64_128_reference_vectors() {
        // h1 of MurmurHash3_x64_128, seed 0 (as the Python mmh3 package and
        // the C++ reference give it).
        for (text, h1) in [
            ("", 0u64),
            ("hello", 0xcbd8_a7b3_41bd_9b02),
            ("Hello, world!", 0xf151_2dd1_d2d6_65df),
            (
                "The quick brown fox jumps over the lazy dog",
                0xe34b_bc7b_bc07_1b6c,
            ),
            ("abcdefghijklmnopq", 0x7564_747f_88bd_a657),
        ] {
            assert_eq!(murmur3_x64_128_low(&[text.as_bytes()]), h1, "{text:?}");
        }
    }

    #[test]
    fn x64_128_high_half_vectors() {
        // (h1, h2) of MurmurHash3_x64_128, seed 0, from the Python mmh3
        // package (`mmh3.hash64(text, signed=False)`); Guava's bloom filters
        // probe with both halves.
        for (text, h1, h2) in [
            ("", 0u64, 0u64),
            ("hello", 0xcbd8_a7b3_41bd_9b02, 0x5b1e_906a_48ae_1d19),
            (
                "The quick brown fox jumps over the lazy dog",
                0xe34b_bc7b_bc07_1b6c,
                0x7a43_3ca9_c49a_9347,
            ),
            (
                "country-se|user1",
                0xe024_e08a_070f_55fb,
                0x743a_1c75_47d0_d959,
            ),
        ] {
            assert_eq!(murmur3_x64_128(&[text.as_bytes()]), (h1, h2), "{text:?}");
        }
        // Parts hash like their concatenation.
        assert_eq!(
            murmur3_x64_128(&[b"MegaSalt-confidence-test", b"|", b"roug"]),
            murmur3_x64_128(&[b"MegaSalt-confidence-test|roug"])
        );
    }

    #[test]
    fn x64_128_confidence_check_vectors() {
        // conformance/README.md, "Bucketing in this corpus".
        let scheme = HashScheme::Murmur3X64_128;
        let h = scheme.hash(&[b"MegaSalt-confidence-test", b"|", b"roug"]);
        assert_eq!(scheme.bucket(h, 1_000_000), 567_493);
        let h = scheme.hash(&[b"country-se", b"|", b"user1"]);
        assert_eq!(scheme.bucket(h, 1_000), 719);
    }

    #[test]
    fn x64_128_parts_hash_like_the_concatenation() {
        let whole = b"MegaSalt-accounts/some-account|visitor-0123456789-abcdef";
        for split in 0..=whole.len() {
            for split2 in split..=whole.len() {
                let (a, rest) = whole.split_at(split);
                let (b, c) = rest.split_at(split2 - split);
                assert_eq!(
                    murmur3_x64_128_low(&[a, b, c]),
                    murmur3_x64_128_low(&[whole])
                );
            }
        }
    }

    #[test]
    fn x86_32_scheme_is_the_split_arithmetic() {
        let scheme = HashScheme::Murmur3X86_32;
        for key in ["ejOoVL", "bY9fO-", "SI7p-", "6LvT0", "ceQdGm", "user-1"] {
            let h = murmur3_32(&[key.as_bytes()]);
            assert_eq!(scheme.hash(&[key.as_bytes()]), h as u64);
            assert_eq!(scheme.bucket(h as u64, 1 << 32), h as u64);
            assert_eq!(scheme.bucket(h as u64, 1_000_000), bucket(h, 1_000_000));
        }
        assert_eq!(scheme.bucket(u32::MAX as u64, 1 << 32), u32::MAX as u64);
    }

    #[test]
    fn schemes_encode_as_numbers() {
        for scheme in [HashScheme::Murmur3X86_32, HashScheme::Murmur3X64_128] {
            assert_eq!(HashScheme::from_code(scheme.code()), Some(scheme));
        }
        assert_eq!(HashScheme::from_code(0), None);
        assert_eq!(HashScheme::from_code(3), None);
    }

    #[test]
    fn zero_total_picks_nothing() {
        assert_eq!(place(123, [0u64, 0].into_iter()), None);
        let slot = place(u32::MAX, [0u64, 1].into_iter()).unwrap();
        assert_eq!((slot.bucket, slot.total, slot.index), (0, 1, 1));
    }
}
