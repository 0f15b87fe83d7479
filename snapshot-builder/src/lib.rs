//! # vane-snapshot-builder
//!
//! The compiler half of Vane: rule sources in, verified CBOR snapshot out
//! (where it sits in the system: `docs/architecture.md`).
//! Pure (no file system, no network) so it also compiles to WebAssembly for
//! the browser playground; the `vane` binary is a thin CLI over it.
//!
//! ```text
//! source text ─► front end (vane YAML | flagd JSON | Confidence state) ─► validate (all problems, located)
//!             ─► IR (vane_resolver::Body) ─► Snapshot::encode ─► bytes + sha256
//! ```
//!
//! With the `wasm` feature, the `wasm` module exposes the builder and the resolver to
//! JavaScript (the browser package and the playground).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod compile;
mod compiled;
pub mod confidence;
pub mod diagnostic;
pub mod diff;
pub mod flagd;
pub mod jsonlogic;
mod size;
pub mod vane;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use compile::{
    build, build_sources, compile, encode, BuildOptions, Built, Format, Sources, BUILDER,
};
pub use compiled::{Access, Compiled};
pub use diagnostic::{Diagnostic, Severity};
