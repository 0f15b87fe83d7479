//! Equality of two byte strings of one length, inline for the short names
//! a lookup compares (context attribute names, flag keys): up to 16 bytes
//! it is two overlapping word loads per side, not a `memcmp` call, which
//! for names this short costs more than the comparison itself.

/// Whether `a` and `b`, which the caller knows to be of one length, hold
/// the same bytes. (Different lengths are never equal.)
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // The first and the last word of each side; they overlap when the
    // length is not twice the word size, which covers every byte.
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) = (
        a.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.first_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        if a.len() <= 16 {
            return (u64::from_ne_bytes(*a0) ^ u64::from_ne_bytes(*b0))
                | (u64::from_ne_bytes(*a1) ^ u64::from_ne_bytes(*b1))
                == 0;
        }
        return a == b;
    }
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) = (
        a.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.first_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        return (u32::from_ne_bytes(*a0) ^ u32::from_ne_bytes(*b0))
            | (u32::from_ne_bytes(*a1) ^ u32::from_ne_bytes(*b1))
            == 0;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_exactly_when_every_byte_is() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..=text.len() {
            let a = &text[..len];
            assert!(same_bytes(a, a), "{len}");
            let copy = a.to_vec();
            assert!(same_bytes(a, &copy), "{len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "{len} differing at {at}");
            }
        }
        assert!(!same_bytes(b"ab", b"abc"));
        assert!(!same_bytes(b"email", b"emai"));
    }
}
