//! # vane-resolver
//!
//! The engine half of Vane: it decodes a tenant's CBOR **snapshot**, checks its
//! digest, and evaluates flags against an **evaluation context**, producing
//! OFREP-shaped results. It does no I/O and compiles to `wasm32-unknown-unknown`.
//!
//! ## Architecture (the whole system: `docs/architecture.md`)
//!
//! The builder (`vane-snapshot-builder`) does the slow, careful work once: it
//! parses rule sources (Vane YAML, flagd JSON), validates them, resolves variant
//! names to indices, inlines segments and `$ref`s and sorts flags by key. What it
//! writes is the IR defined in [`model`] and [`expr`], wrapped in the envelope
//! of [`snapshot`]. This crate only executes that IR:
//!
//! ```text
//! bytes ─► Snapshot::from_bytes (format, version, sha256) ─► Snapshot
//! JSON  ─► Context::from_json (object, depth ≤ 32, targeting key)  ─► Context
//! Snapshot::evaluate(key, &Context) ─► EvaluationResult ─► OFREP JSON
//! Snapshot::explain(key, &Context)  ─► Explanation (same path, traced)
//! ```
//!
//! Evaluation is total: malformed input yields a result with an OpenFeature
//! error code, never a panic.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod assign;
pub mod bucket;
mod bulk_body;
pub mod confidence;
pub mod context;
pub mod explain;
pub mod exposure;
pub mod expr;
mod flag_store;
pub mod format2;
mod key_index;
pub mod limits;
pub mod model;
mod resolve;
pub mod result;
pub mod semver;
mod short_eq;
pub mod signature;
pub mod snapshot;
pub mod space;

pub use context::{Context, ContextError, UnitError, MAX_CONTEXT_DEPTH};
pub use explain::Explanation;
pub use exposure::Exposure;
pub use model::{Body, Flag, Fractional, Rule, Serve, Split, Targeting, Variant};
pub use result::{BulkEvaluation, ErrorCode, EvaluationResult, Reason};
pub use snapshot::{Snapshot, SnapshotBytes, SnapshotError, SnapshotInfo};
pub use space::{BucketCache, BucketRanges, BucketSpace, RangeCheck};
