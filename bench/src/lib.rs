//! # vane-bench
//!
//! Benchmarks of Vane against peer flag engines (`docs/benchmarks.md` is the
//! report). This crate is its own workspace: the peers it measures never
//! enter the product's crates.
//!
//! - [`tenant`]: the seeded tenant generator (Vane YAML, flagd JSON,
//!   Unleash features, realistic contexts);
//! - [`confidence`], [`spotify`]: generated Confidence states and
//!   Spotify's resolver beside Vane (differential test, benchmark);
//! - `benches/`: criterion benchmarks, native;
//! - `src/bin/`: the command-line tools `scripts/bench.sh` drives (tenant
//!   files, size table, wasm and HTTP harness inputs).

pub mod confidence;
pub mod rng;
pub mod spotify;
pub mod tenant;
