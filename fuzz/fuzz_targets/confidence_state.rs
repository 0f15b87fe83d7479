//! Confidence front end (binary protobuf `ResolverState`, its proto3 JSON
//! form and the resolver specification's test form, told apart by the
//! bytes): any input compiles or gives diagnostics, never a panic; whatever
//! compiles encodes, decodes and evaluates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_fuzz::check_compiled;
use vane_snapshot_builder::confidence::{compile, Options};

fuzz_target!(|data: &[u8]| {
    let options = Options {
        account: Some("fuzz".to_owned()),
        state_key: None,
    };
    if let Ok(compiled) = compile("fuzz.state", data, &options) {
        check_compiled(compiled);
    }
});
