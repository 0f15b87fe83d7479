//! Context parsing and evaluation: any text is parsed as an OFREP evaluation
//! context and, when it parses, every flag of the example snapshots
//! (examples/shop.yaml, examples/media.flagd.json) is evaluated, explained
//! and serialised. Evaluation is total: never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vane_fuzz::{example_snapshots, text};
use vane_resolver::{Context, Snapshot};

fuzz_target!(|data: &[u8]| {
    static SNAPSHOTS: OnceLock<Vec<Snapshot>> = OnceLock::new();
    let snapshots = SNAPSHOTS.get_or_init(example_snapshots);
    let Some(source) = text(data) else { return };
    let Ok(context) = Context::from_json(source, 1_700_000_000) else {
        return;
    };
    for snapshot in snapshots {
        let bulk = serde_json::to_string(&snapshot.evaluate_bulk(&context));
        assert!(bulk.is_ok(), "bulk evaluation serialises");
        for flag in snapshot.flags() {
            let _ = snapshot.evaluate(&flag.key, &context).to_json();
            let _ = serde_json::to_string(&snapshot.explain(&flag.key, &context));
        }
        let _ = snapshot.evaluate("no-such-flag", &context).to_json();
    }
});
