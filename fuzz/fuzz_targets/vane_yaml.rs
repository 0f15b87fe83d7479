//! Vane YAML front end: any text gives a compiled body or located
//! diagnostics, never a panic. Whatever compiles also encodes, decodes and
//! evaluates (the builder never writes a snapshot the resolver refuses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_fuzz::{check_compiled, text};
use vane_snapshot_builder::{compile, vane, Format};

fuzz_target!(|data: &[u8]| {
    let Some(source) = text(data) else { return };
    // The same text read as an access file, too: its own parser entry.
    let _ = vane::access("fuzz.access.yaml", source);
    if let Ok(compiled) = compile("fuzz.yaml", source, Format::Vane) {
        check_compiled(compiled);
    }
});
