//! flagd JSON front end (flag definitions, `$evaluators`, JsonLogic): any
//! text compiles or gives diagnostics, never a panic; whatever compiles
//! encodes, decodes and evaluates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_fuzz::{check_compiled, text};
use vane_snapshot_builder::{compile, Format};

fuzz_target!(|data: &[u8]| {
    let Some(source) = text(data) else { return };
    if let Ok(compiled) = compile("fuzz.flagd.json", source, Format::Flagd) {
        check_compiled(compiled);
    }
});
