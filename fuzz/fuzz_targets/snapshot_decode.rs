//! Snapshot decode: any bytes either decode to a verified snapshot or give a
//! `SnapshotError`, never a panic. A snapshot that decodes re-encodes to bytes
//! that decode to the same snapshot, and every flag evaluates against an empty
//! context.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_resolver::{Context, Snapshot};

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = Snapshot::from_bytes(data) else {
        return;
    };
    let info = &snapshot.info;
    let again = Snapshot::encode(
        &info.tenant,
        info.version,
        info.created_at,
        &info.builder,
        &snapshot.to_body(),
    )
    .expect("the IR encodes");
    let decoded = Snapshot::from_bytes(&again).expect("a re-encoded snapshot decodes");
    assert_eq!(decoded.to_body(), snapshot.to_body(), "re-encoding changed the body");
    let context = Context::empty(1_700_000_000);
    for flag in snapshot.flags() {
        let _ = snapshot.evaluate(&flag.key, &context).to_json();
    }
});
