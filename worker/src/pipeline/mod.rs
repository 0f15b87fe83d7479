//! The request pipelines: plain async functions from a [`RequestHead`], a
//! body stream and the stores to an [`Outcome`] — the reply, the log record
//! and the side effects to run after the response is sent. They decide the
//! order of checks, every status and every message; [`crate::runtime`] only
//! converts between the Workers types and these, and runs the effects in
//! `waitUntil`.
//!
//! - [`ofrep`]: the OFREP endpoints (client key → tenant → snapshot →
//!   evaluation), with CORS.
//! - [`admin`]: the admin token gate (fetch handler) and the admin
//!   endpoints (inside the tenant's Durable Object).
//! - [`confidence`]: the Confidence API (client secret → tenant →
//!   snapshot → resolve or apply), with CORS.
//!
//! A new family of endpoints is a new module here with its own `serve_…`
//! function, returning an [`Outcome`]; a new kind of after-response work is
//! a new [`Effect`] variant that the runtime runs.

use std::collections::BTreeMap;

use crate::cors::RequestCors;
use crate::error::ApiError;
use crate::exposure::batch::Outgoing;
use crate::metrics::TenantCounters;
use crate::reply::Reply;

pub mod admin;
pub mod confidence;
pub mod ofrep;

pub use crate::request::{BodyStream, RequestHead};

/// A clock in milliseconds (any origin; only differences are used). Under
/// workerd it advances only across I/O, so durations of pure computation
/// read as 0 there (Cloudflare's timing-attack mitigation).
pub trait Clock {
    /// Now, milliseconds.
    fn now_ms(&self) -> f64;
}

/// Where the time of an OFREP request went, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Key index and snapshot lookup (isolate cache, else KV + decode).
    pub load_ms: f64,
    /// Context parsing and evaluation.
    pub eval_ms: f64,
    /// Writing the JSON answer (and its ETag).
    pub serialise_ms: f64,
}

impl Timings {
    /// The `Server-Timing` header value (W3C Server Timing):
    /// `load;dur=…, eval;dur=…, ser;dur=…`.
    pub fn server_timing(&self) -> String {
        format!(
            "load;dur={:.3}, eval;dur={:.3}, ser;dur={:.3}",
            self.load_ms, self.eval_ms, self.serialise_ms
        )
    }
}

/// What the log line of a request says (never a key or a context value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestLog {
    /// Route name (`ofrep.flag`, `admin.publish`, …; `unrouted` before
    /// routing succeeded).
    pub route: &'static str,
    /// The tenant, once known.
    pub tenant: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// `errorCode` of the answer, if it is an error.
    pub error_code: Option<String>,
    /// Version of the snapshot that answered.
    pub snapshot_version: Option<u64>,
    /// Its `X-Vane-Snapshot` value (`{version}/{digest prefix}`).
    pub snapshot_tag: Option<String>,
    /// Durations.
    pub timings: Timings,
    /// Problems worth an operator's eye (KV failures, stale snapshots).
    pub warnings: Vec<String>,
    /// Answered by the synchronous entry from the isolate's cache
    /// ([`ofrep::serve_ofrep_cached`]) rather than the asynchronous one.
    pub fast_path: bool,
}

impl RequestLog {
    /// Records the snapshot that answered: its version and its
    /// `X-Vane-Snapshot` tag.
    pub fn answered_by(&mut self, info: &vane_resolver::SnapshotInfo) {
        self.snapshot_version = Some(info.version);
        self.snapshot_tag = Some(crate::ofrep::snapshot_header(info));
    }

    /// The structured log line: one JSON object, its members in
    /// alphabetical order.
    pub fn to_json(&self, request_id: &str) -> String {
        /// The line's shape, written directly (no `Value` map per request).
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            error_code: &'a Option<String>,
            eval_ms: f64,
            fast_path: bool,
            load_ms: f64,
            request_id: &'a str,
            route: &'a str,
            serialise_ms: f64,
            snapshot: &'a Option<String>,
            snapshot_version: Option<u64>,
            status: u16,
            tenant: &'a Option<String>,
            warnings: &'a [String],
        }
        let line = Line {
            error_code: &self.error_code,
            eval_ms: self.timings.eval_ms,
            fast_path: self.fast_path,
            load_ms: self.timings.load_ms,
            request_id,
            route: self.route,
            serialise_ms: self.timings.serialise_ms,
            snapshot: &self.snapshot_tag,
            snapshot_version: self.snapshot_version,
            status: self.status,
            tenant: &self.tenant,
            warnings: &self.warnings,
        };
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// Work a request leaves for after its response (`waitUntil`).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand these per-tenant counts to each tenant's Durable Object.
    FlushMetrics(BTreeMap<String, TenantCounters>),
    /// Send the exposure log's queue messages of `tenant`
    /// (`docs/exposures.md`); a failure is counted and logged, never answered.
    SendExposures {
        /// Tenant of every event.
        tenant: String,
        /// The messages.
        messages: Vec<Outgoing>,
    },
    /// Store these new sticky assignments of a tenant
    /// ([`crate::confidence::sticky`]).
    StickyWrites {
        /// The tenant.
        tenant: String,
        /// The assignments.
        writes: Vec<crate::confidence::sticky::Write>,
    },
}

/// What a pipeline produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The answer, with `x-request-id` set.
    pub reply: Reply,
    /// The request's log record.
    pub log: RequestLog,
    /// After-response work.
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// An outcome of `reply` for `route`, its status and error code logged.
    pub fn new(reply: Reply, mut log: RequestLog, request_id: &str) -> Outcome {
        log.status = reply.status;
        Outcome {
            reply: reply.with_header("x-request-id", request_id),
            log,
            effects: Vec::new(),
        }
    }

    /// The outcome of an error (its code logged).
    pub fn error(e: &ApiError, mut log: RequestLog, request_id: &str) -> Outcome {
        log.error_code = Some(e.code().as_str().to_owned());
        Outcome::new(e.reply(), log, request_id)
    }
}

/// The answer to a request refused before its pipeline ran (routing, the
/// admin gate) or failed in the runtime ([`ApiError::Internal`]), with the
/// request's CORS headers.
pub fn refused(head: &RequestHead, e: &ApiError, route: &'static str, request_id: &str) -> Outcome {
    let cors = RequestCors::new(&head.path, head.header("origin").map(str::to_owned));
    let mut outcome = Outcome::error(
        e,
        RequestLog {
            route,
            ..RequestLog::default()
        },
        request_id,
    );
    if head.path.starts_with("/v1/") {
        if let Some(reply) = crate::confidence::wire::routing_error(e) {
            outcome.reply = reply;
        }
    }
    outcome.reply = cors.finish(outcome.reply);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_is_one_json_object_with_every_member() {
        let log = RequestLog {
            route: "ofrep.flag",
            tenant: Some("shop".into()),
            status: 200,
            error_code: None,
            snapshot_version: Some(3),
            snapshot_tag: Some("3/8f434346648f".into()),
            timings: Timings {
                load_ms: 1.5,
                eval_ms: 0.0,
                serialise_ms: 2.0,
            },
            warnings: vec!["a \"quoted\" warning".into()],
            fast_path: true,
        };
        // The members of docs/http-api.md, "Tracing", as serde_json writes
        // a map of them (sorted by name).
        let expected = serde_json::json!({
            "requestId": "5f0c2a9e1b7d4c33",
            "route": "ofrep.flag",
            "tenant": "shop",
            "status": 200,
            "errorCode": null,
            "snapshotVersion": 3,
            "snapshot": "3/8f434346648f",
            "loadMs": 1.5,
            "evalMs": 0.0,
            "serialiseMs": 2.0,
            "warnings": ["a \"quoted\" warning"],
            "fastPath": true,
        });
        assert_eq!(log.to_json("5f0c2a9e1b7d4c33"), expected.to_string());
        let empty = RequestLog::default().to_json("r");
        assert_eq!(
            empty,
            r#"{"errorCode":null,"evalMs":0.0,"fastPath":false,"loadMs":0.0,"requestId":"r","route":"","serialiseMs":0.0,"snapshot":null,"snapshotVersion":null,"status":0,"tenant":null,"warnings":[]}"#
        );
    }
}
