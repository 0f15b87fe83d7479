//! # vane-worker
//!
//! The Cloudflare Worker that serves Vane flags at the edge: OFREP evaluation
//! for web frontends and backends, multi-tenant client keys, and the admin API
//! that publishes and rolls back snapshots. HTTP reference: `docs/http-api.md`.
//!
//! ## Architecture (the whole system: `docs/architecture.md`)
//!
//! Everything that decides what a response is lives in plain Rust modules
//! that build and test natively; only `runtime` (compiled for `wasm32`)
//! touches the Workers runtime, and it stays a thin adapter between
//! `worker::Request`/`Response` and [`request::RequestHead`] + a body stream
//! / [`pipeline::Outcome`]:
//!
//! ```text
//! request ─► route ─► pipeline::ofrep: key ─► key index ─► tenant ─► cache (isolate ◄─ KV)
//!                     ─► body (bounded) ─► ofrep (context ─► resolver ─► JSON, ETag, 304) ─► cors
//!         ─► route ─► pipeline::admin: gate (ADMIN_TOKEN, body bounded) ─► Durable Object
//!                     per tenant ─► admin (publish, rollback, status, metrics over the store)
//! Outcome = reply + log line + effects (waitUntil: counters to the tenant's object)
//! ```
//!
//! Two entries reach the OFREP pipeline: `worker/entry.mjs` (the module
//! `wrangler.toml` names) calls `runtime`'s synchronous `ofrepCached` for a
//! request whose body it could read, which runs
//! [`pipeline::ofrep::serve_ofrep_cached`] (the same pipeline, answered only
//! from the isolate's cache); anything else goes to the workers-rs `fetch`.
//!
//! - [`route`]: method + path → an OFREP or admin route, or an [`error::ApiError`].
//! - [`error`]: every Vane error: status, `errorCode` and message in one place.
//! - [`request`]: the runtime-independent request and the bounded body read.
//! - [`pipeline`]: the request pipelines, plain async functions over the
//!   store traits; the order of checks and every status live there.
//! - [`auth`]: client keys and the admin token, compared in constant time.
//! - [`ofrep`]: request bodies → [`vane_resolver::Context`], results → replies,
//!   with [`etag`] for bulk revalidation and [`limits`] on every input.
//! - [`cors`]: preflight and per-tenant allowed origins.
//! - [`store`]: the KV layout (`snap/…`, `tenant/…`, `key/…`) and the tenant
//!   pointer with its history.
//! - [`cache`]: decoded snapshots kept in isolate memory, re-checked against
//!   the pointer after a TTL, the last good snapshot kept when KV fails;
//!   [`body_digest`] hashes their bodies with the host's SHA-256.
//! - [`admin`]: publish and rollback, validated fully before anything is
//!   written; serialised per tenant by the Durable Object in `runtime`.
//! - [`metrics`]: per-tenant counters, counted per isolate, summed in the
//!   tenant's Durable Object.
//! - [`reply`]: the runtime-independent response every module returns.
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

pub mod admin;
pub mod auth;
pub mod body_digest;
pub mod cache;
pub mod confidence;
pub mod cors;
pub mod error;
pub mod etag;
pub mod exposure;
pub mod faults;
pub mod limits;
pub mod metrics;
pub mod ofrep;
pub mod pipeline;
pub mod reply;
pub mod request;
pub mod route;
pub mod signing;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod runtime;

#[cfg(test)]
mod testutil;
