//! Snapshot body decode without the envelope: the first byte picks the body
//! format (2, 3 or 4), the rest is the body. Mutations of a whole snapshot
//! rarely keep its sha256 equal to the digest, so `snapshot_decode` seldom
//! reaches deep into the body; this target feeds the body decoder (string
//! table, flag table, every flag, format-4 text sets) directly. Any bytes
//! either decode or give an error, never a panic; a body that decodes and
//! whose re-encoded snapshot passes every check decodes to the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_resolver::{format2, Snapshot};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let version = 2 + u32::from(pick % 3);
    let Ok(decoded) = format2::body_from_slice(body, version) else {
        return;
    };
    let again = Snapshot::encode_format(version, "t", 1, 0, "fuzz", &decoded)
        .expect("a decoded body encodes");
    if let Ok(snapshot) = Snapshot::from_bytes(&again) {
        assert_eq!(snapshot.to_body(), decoded, "re-encoding changed the body");
    }
});
