//! Bucketing: MurmurHash3 x86 32-bit (Austin Appleby's public-domain
//! algorithm, seed 0) over a UTF-8 bucketing string, mapped onto cumulative
//! weights as flagd's `fractional` v2 does:
//! `bucket = (hash as u64 * total_weight) >> 32`, and the first variant whose
//! cumulative weight exceeds the bucket wins.
//!
//! Vane splits hash `"{salt}|{unit}"` with the same arithmetic. Because the
//! cut points are cumulative, moving weight from one variant to its neighbour
//! moves only the units in the moved range.

/// The bucketing scheme version recorded in every snapshot. Bump it (and keep
/// the old scheme) if the hash or the arithmetic ever changes.
pub const BUCKETING_VERSION: u32 = 1;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3 x86 32-bit of the concatenation of `parts`, seed 0.
///
/// Hashing parts avoids building the concatenated string per evaluation.
pub fn murmur3_32(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0;
    let mut len: usize = 0;
    let mut tail = [0u8; 4];
    let mut tail_len = 0usize;
    for part in parts {
        len += part.len();
        let mut bytes = *part;
        if tail_len > 0 {
            let take = (4 - tail_len).min(bytes.len());
            tail[tail_len..tail_len + take].copy_from_slice(&bytes[..take]);
            tail_len += take;
            bytes = &bytes[take..];
            if tail_len < 4 {
                continue;
            }
            h = mix_block(h, u32::from_le_bytes(tail));
        }
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            h = mix_block(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        tail_len = rest.len();
    }
    if tail_len > 0 {
        let mut k: u32 = 0;
        for (i, b) in tail[..tail_len].iter().enumerate() {
            k |= (*b as u32) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    // Length is taken mod 2^32, as in the reference implementation.
    h ^= len as u32;
    fmix32(h)
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
        let whole = b"flag-key|user-12345";
        for split in 0..=whole.len() {
            for split2 in split..=whole.len() {
                let (a, rest) = whole.split_at(split);
                let (b, c) = rest.split_at(split2 - split);
                assert_eq!(murmur3_32(&[a, b, c]), murmur3_32(&[whole]));
            }
        }
    }

    #[test]
    fn zero_total_picks_nothing() {
        assert_eq!(place(123, [0u64, 0].into_iter()), None);
        let slot = place(u32::MAX, [0u64, 1].into_iter()).unwrap();
        assert_eq!((slot.bucket, slot.total, slot.index), (0, 1, 1));
    }
}
