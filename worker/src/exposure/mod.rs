//! Exposure log: the assignments apps use, recorded at the edge and carried
//! by a Cloudflare Queue to R2 as gzipped NDJSON (`docs/exposures.md`).
//!
//! ```text
//! request ─► ofrep::served / Confidence apply ─► event::events (Served + RequestMeta)
//!         ─► batch::messages (queue bodies) ─► outbox (one sendBatch per 100 ms, in waitUntil)
//! queue   ─► batch::plan (dedup by event_id, one object per tenant/date/hour)
//!         ─► R2 exposures/v1/tenant=T/date=D/hour=H/{batch}.ndjson.gz ─► ack
//! admin   ─► summary (distinct events, units, expected shares, srm)
//! ```
//!
//! Everything here is plain Rust, tested natively; `runtime` moves the
//! bytes between it and the Queue, R2 and the counters.

pub mod batch;
pub mod event;
pub mod ofrep;
pub mod outbox;
pub mod pending;
#[cfg(target_arch = "wasm32")]
pub(crate) mod runtime;
pub mod srm;
pub mod summary;
pub mod time;
