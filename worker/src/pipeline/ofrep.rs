//! The OFREP pipeline: preflight, body size by `Content-Length`, client
//! key, key index, scope, snapshot, key admitted by the snapshot, body
//! (read only up to its limit), evaluation, CORS on every answer.
//!
//! [`serve_ofrep`] is the one pipeline. [`serve_ofrep_cached`] runs that
//! same function synchronously for the runtime's fast entry: with a body
//! already read and a store that never answers, so a request is answered
//! only when everything it needs is in the isolate's cache and fresh, and
//! otherwise left (untouched) to the asynchronous entry.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use crate::auth;
use crate::cache::Cache;
use crate::cors::RequestCors;
use crate::error::ApiError;
use crate::exposure::ofrep::RequestFacts;
use crate::limits::MAX_REQUEST_BYTES;
use crate::metrics::Metrics;
use crate::ofrep::{evaluate_all, evaluate_one, Evaluated};
use crate::pipeline::{BodyStream, Clock, Effect, Outcome, RequestHead, RequestLog};
use crate::request::read_body;
use crate::route::OfrepRoute;
use crate::store::{Pointer, SnapshotSource, StoreError};

/// What the OFREP pipeline reads from: the KV read copy, the isolate's
/// cache and counters, the clock and the configuration.
pub struct Edge<'a, S> {
    /// The KV namespace (read copy of the key index, pointers, snapshots).
    pub store: &'a S,
    /// The isolate's snapshot and key cache.
    pub cache: &'a Cache,
    /// The isolate's pending per-tenant counters.
    pub metrics: &'a Metrics,
    /// The clock (`Date.now()` under workerd).
    pub clock: &'a dyn Clock,
    /// `SNAPSHOT_TTL_SECONDS` in milliseconds.
    pub ttl_ms: u64,
    /// `METRICS_FLUSH_SECONDS` in milliseconds.
    pub metrics_flush_ms: u64,
}

/// Answers an OFREP request. `now_s` is the evaluation time, Unix seconds.
/// Every answer carries the request's CORS headers and `x-request-id`;
/// answers from a snapshot carry `x-vane-snapshot` and `server-timing`.
///
/// Statuses: 204 preflight; 200 / 304 / 400 / 404 from
/// [`crate::ofrep`]; 401 `UNAUTHORIZED` (no key, unknown key, key not
/// admitted by its tenant's snapshot, or another tenant's under
/// `/tenants/{t}`); 413 `PAYLOAD_TOO_LARGE` (declared or read);
/// 400 `UNREADABLE_BODY`; 503 `STORE_UNAVAILABLE` (key index unreadable,
/// nothing cached) and `SNAPSHOT_UNAVAILABLE` (no snapshot to serve).
pub async fn serve_ofrep<S: SnapshotSource, B: BodyStream>(
    edge: &Edge<'_, S>,
    route: &OfrepRoute,
    head: &RequestHead,
    body: &mut B,
    now_s: i64,
    request_id: &str,
) -> Outcome {
    let mut cors = RequestCors::new(&head.path, head.header("origin").map(str::to_owned));
    let mut log = RequestLog {
        route: route.name(),
        ..RequestLog::default()
    };
    let mut eval_us = None;
    let mut exposures = Vec::new();
    let evaluated = evaluate(
        edge, route, head, body, now_s, request_id, &mut cors, &mut log,
    );
    let mut reply = match evaluated.await {
        Ok(Some(answer)) => {
            log.error_code = answer.error_code.map(str::to_owned);
            exposures = answer.exposures;
            eval_us = Some((log.timings.eval_ms * 1000.0).round() as u64);
            cors.finish(answer.reply)
        }
        Ok(None) => cors.preflight(),
        Err(e) => {
            log.error_code = Some(e.code().as_str().to_owned());
            cors.finish(e.reply())
        }
    };
    if let Some(tag) = &log.snapshot_tag {
        reply.set_header("x-vane-snapshot", tag.clone());
        reply.set_header("server-timing", log.timings.server_timing());
    }
    let mut outcome = Outcome::new(reply, log, request_id);
    if let Some(tenant) = &outcome.log.tenant {
        edge.metrics
            .record(tenant, outcome.log.error_code.as_deref(), eval_us);
        if !exposures.is_empty() {
            outcome.effects.push(Effect::SendExposures {
                tenant: tenant.clone(),
                messages: exposures,
            });
        }
    }
    if let Some(due) = edge
        .metrics
        .take_due(edge.clock.now_ms(), edge.metrics_flush_ms)
    {
        outcome.effects.push(Effect::FlushMetrics(due));
    }
    outcome
}

/// [`serve_ofrep`] for a request whose body is already read (`body`, at
/// most [`MAX_REQUEST_BYTES`] whatever `Content-Length` says), run to
/// completion at once if it can be: `None` when answering would need the
/// store (a key or tenant not cached, or its cache entry due for a check
/// against KV), in which case nothing was recorded and the request must go
/// to [`serve_ofrep`] unchanged. The answer, log and effects are exactly
/// [`serve_ofrep`]'s: it is the same function, polled once with a store
/// whose reads never complete.
pub fn serve_ofrep_cached<S: SnapshotSource>(
    edge: &Edge<'_, S>,
    route: &OfrepRoute,
    head: &RequestHead,
    body: &[u8],
    now_s: i64,
    request_id: &str,
) -> Option<Outcome> {
    let cached = Edge {
        store: &CacheOnly(edge.store),
        cache: edge.cache,
        metrics: edge.metrics,
        clock: edge.clock,
        ttl_ms: edge.ttl_ms,
        metrics_flush_ms: edge.metrics_flush_ms,
    };
    let mut body = ReadBody(Some(body));
    let serving = pin!(serve_ofrep(
        &cached, route, head, &mut body, now_s, request_id
    ));
    match serving.poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(mut outcome) => {
            outcome.log.fast_path = true;
            Some(outcome)
        }
        Poll::Pending => None,
    }
}

/// A store whose reads never complete (so a pipeline that needs one stays
/// pending), with `S`'s trust configuration.
struct CacheOnly<'a, S>(&'a S);

impl<S: SnapshotSource> SnapshotSource for CacheOnly<'_, S> {
    async fn pointer(&self, _: &str) -> Result<Option<Pointer>, StoreError> {
        std::future::pending().await
    }

    async fn snapshot(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        std::future::pending().await
    }

    async fn key_owner(&self, _: &str) -> Result<Option<String>, StoreError> {
        std::future::pending().await
    }

    fn trusted_publisher_keys(&self) -> Option<&str> {
        self.0.trusted_publisher_keys()
    }
}

/// A body read already: one chunk, then the end.
struct ReadBody<'a>(Option<&'a [u8]>);

impl BodyStream for ReadBody<'_> {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.take().filter(|b| !b.is_empty()).map(<[u8]>::to_vec))
    }
}

/// The pipeline up to the answer; `Ok(None)` is a preflight. Fills `log`
/// as it learns the tenant, the snapshot and the timings.
#[allow(clippy::too_many_arguments)]
async fn evaluate<S: SnapshotSource, B: BodyStream>(
    edge: &Edge<'_, S>,
    route: &OfrepRoute,
    head: &RequestHead,
    body: &mut B,
    now_s: i64,
    request_id: &str,
    cors: &mut RequestCors,
    log: &mut RequestLog,
) -> Result<Option<Evaluated>, ApiError> {
    if *route == OfrepRoute::Preflight {
        return Ok(None);
    }
    if head.content_length().unwrap_or(0) > MAX_REQUEST_BYTES as u64 {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_REQUEST_BYTES,
        });
    }
    let key = auth::client_key(head.header("authorization"), head.header("x-api-key"))
        .ok_or(ApiError::NoClientKey)?;
    let digest = auth::key_digest(key);
    let started = edge.clock.now_ms();
    let now_ms = started.max(0.0) as u64;
    let owner = edge
        .cache
        .key_owner(edge.store, &digest, now_ms, edge.ttl_ms)
        .await
        .map_err(|e| {
            log.warnings.push(format!("key index unavailable: {e}"));
            ApiError::StoreUnavailable {
                what: "the key index cannot be read".into(),
                state: "retry later",
            }
        })?;
    let tenant = owner
        .filter(|t| route.scope_admits(t))
        .ok_or(ApiError::InvalidClientKey)?;
    log.tenant = Some(tenant.clone());
    let lookup = edge
        .cache
        .snapshot(edge.store, &tenant, now_ms, edge.ttl_ms)
        .await;
    log.warnings.extend(lookup.warning);
    let snapshot = lookup.snapshot.ok_or(ApiError::SnapshotUnavailable)?;
    if !auth::tenant_admits(snapshot.clients(), &digest) {
        return Err(ApiError::InvalidClientKey);
    }
    log.answered_by(&snapshot.info);
    log.timings.load_ms = edge.clock.now_ms() - started;
    cors.tenant_known(snapshot.cors_origins());
    let bytes = read_body(head, body, MAX_REQUEST_BYTES, |m| {
        log.warnings.push(format!("request body unreadable: {m}"))
    })
    .await?;
    let answer = match route {
        OfrepRoute::EvaluateFlag { key, .. } => {
            let facts = RequestFacts {
                request_id,
                key_digest: &digest,
                user_agent: head.header("user-agent"),
                now_ms,
            };
            evaluate_one(
                &snapshot,
                key,
                &bytes,
                now_s,
                edge.clock,
                &mut log.timings,
                facts,
            )
        }
        _ => evaluate_all(
            &snapshot,
            &bytes,
            head.header("if-none-match"),
            now_s,
            edge.clock,
            &mut log.timings,
        ),
    };
    Ok(Some(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::publish;
    use crate::route::{route, Route};
    use crate::store::pointer_key;
    use crate::testutil::{block_on, client_key, snapshot_bytes, Chunks, MemoryStore, StepClock};
    use crate::testutil::{MEDIA, SHOP};

    /// Status and logged error code.
    type Answer = (u16, Option<String>);

    /// A store with `shop` (v1) and `media` (v1) published.
    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        for tenant in [SHOP, MEDIA] {
            block_on(publish(&store, tenant, &snapshot_bytes(tenant, 1, "hi"), 0)).unwrap();
        }
        store
    }

    struct Call<'a> {
        method: &'a str,
        path: &'a str,
        headers: Vec<(&'a str, String)>,
        body: Chunks,
    }

    fn post(path: &str) -> Call<'_> {
        Call {
            method: "POST",
            path,
            headers: vec![("authorization", format!("Bearer {}", client_key(SHOP)))],
            body: Chunks::sized(&[]),
        }
    }

    impl Call<'_> {
        fn header(mut self, name: &'static str, value: &str) -> Self {
            self.headers.retain(|(n, _)| *n != name);
            self.headers.push((name, value.to_owned()));
            self
        }

        fn body(mut self, body: Chunks) -> Self {
            self.body = body;
            self
        }

        fn run(self, store: &MemoryStore, cache: &Cache, metrics: &Metrics) -> Outcome {
            self.run_counting(store, cache, metrics).0
        }

        /// The head and route of the call.
        fn head(&self) -> (RequestHead, OfrepRoute) {
            let head = RequestHead {
                method: self.method.into(),
                path: self.path.into(),
                query: None,
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), v.clone()))
                    .collect(),
            };
            let Ok(Route::Ofrep(r)) = route(&head.method, &head.path, None) else {
                panic!("not an OFREP route: {}", head.path)
            };
            (head, r)
        }

        /// [`Call::run`], and how many chunks of the body were asked for.
        fn run_counting(
            self,
            store: &MemoryStore,
            cache: &Cache,
            metrics: &Metrics,
        ) -> (Outcome, usize) {
            let clock = StepClock::default();
            let (outcome, body) = self.run_with(store, cache, metrics, &clock);
            (outcome, body.chunks_read())
        }

        /// [`serve_ofrep`] on `clock`; the outcome and the body as left.
        fn run_with(
            self,
            store: &MemoryStore,
            cache: &Cache,
            metrics: &Metrics,
            clock: &dyn Clock,
        ) -> (Outcome, Chunks) {
            let (head, r) = self.head();
            let edge = Edge {
                store,
                cache,
                metrics,
                clock,
                ttl_ms: 30_000,
                metrics_flush_ms: 10_000,
            };
            let mut body = self.body;
            let outcome = block_on(serve_ofrep(&edge, &r, &head, &mut body, 0, "req-1"));
            (outcome, body)
        }

        /// [`serve_ofrep_cached`] at `now` with the body's bytes.
        fn run_cached(
            self,
            store: &MemoryStore,
            cache: &Cache,
            metrics: &Metrics,
            now: f64,
        ) -> Option<Outcome> {
            let (head, r) = self.head();
            let edge = Edge {
                store,
                cache,
                metrics,
                clock: &FixedClock(now),
                ttl_ms: 30_000,
                metrics_flush_ms: 10_000,
            };
            serve_ofrep_cached(&edge, &r, &head, &self.body.bytes(), 0, "req-1")
        }

        fn answer(self, store: &MemoryStore) -> Answer {
            let o = self.run(store, &Cache::new(), &Metrics::default());
            assert_eq!(o.reply.header("x-request-id"), Some("req-1"));
            // CORS on every answer: a preflight's, or the actual response's.
            let cors = if o.reply.status == 204 {
                "access-control-allow-methods"
            } else {
                "access-control-expose-headers"
            };
            assert!(o.reply.header(cors).is_some());
            (o.reply.status, o.log.error_code)
        }
    }

    fn code(c: &str) -> Option<String> {
        Some(c.to_owned())
    }

    #[test]
    fn unauthenticated_requests_are_refused_before_the_body_is_read() {
        let s = store();
        let bulk = "/ofrep/v1/evaluate/flags";
        // 100 chunks of 64 KiB, no Content-Length: a chunked upload.
        let big = || Chunks::sized(&[65_536; 100]);
        let refused = [
            (
                "no key",
                Call {
                    headers: vec![],
                    ..post(bulk)
                },
            ),
            (
                "unknown key",
                post(bulk).header("authorization", "Bearer nobody"),
            ),
            (
                "another tenant's key under /tenants/shop",
                post("/tenants/shop/ofrep/v1/evaluate/flags")
                    .header("authorization", &format!("Bearer {}", client_key(MEDIA))),
            ),
        ];
        for (what, call) in refused {
            let (o, asked) = call
                .body(big())
                .run_counting(&s, &Cache::new(), &Metrics::default());
            assert_eq!((o.reply.status, asked), (401, 0), "{what}");
        }
        // An admitted key reads the body and stops just past the limit.
        let (o, asked) =
            post(bulk)
                .body(big())
                .run_counting(&s, &Cache::new(), &Metrics::default());
        assert_eq!((o.reply.status, asked), (413, 2));
    }

    #[test]
    fn every_status_of_the_ofrep_pipeline() {
        let s = store();
        let flag = "/ofrep/v1/evaluate/flags/banner-text";
        let bulk = "/ofrep/v1/evaluate/flags";
        let ctx = |json: &str| Chunks::whole(json.as_bytes());
        let cases: Vec<(&str, Call, Answer)> = vec![
            ("one flag", post(flag), (200, None)),
            ("bulk", post(bulk), (200, None)),
            (
                "preflight",
                Call {
                    method: "OPTIONS",
                    ..post(bulk)
                },
                (204, None),
            ),
            (
                "flag not found",
                post("/ofrep/v1/evaluate/flags/nope"),
                (404, code("FLAG_NOT_FOUND")),
            ),
            (
                "flag-level failure",
                post("/ofrep/v1/evaluate/flags/broken"),
                (400, code("PARSE_ERROR")),
            ),
            (
                "bad context",
                post(flag).body(ctx(r#"{"context":[]}"#)),
                (400, code("INVALID_CONTEXT")),
            ),
            (
                "bulk body not JSON",
                post(bulk).body(ctx("nope")),
                (400, code("PARSE_ERROR")),
            ),
            (
                "no key",
                Call {
                    headers: vec![],
                    ..post(flag)
                },
                (401, code("UNAUTHORIZED")),
            ),
            (
                "unknown key",
                post(flag).header("authorization", "Bearer nobody"),
                (401, code("UNAUTHORIZED")),
            ),
            (
                "another tenant's key under /tenants/shop",
                post("/tenants/shop/ofrep/v1/evaluate/flags")
                    .header("authorization", &format!("Bearer {}", client_key(MEDIA))),
                (401, code("UNAUTHORIZED")),
            ),
            (
                "declared body over the limit",
                post(flag).header("content-length", "65537"),
                (413, code("PAYLOAD_TOO_LARGE")),
            ),
            (
                "chunked body over the limit",
                post(bulk).body(Chunks::sized(&[65_536, 1])),
                (413, code("PAYLOAD_TOO_LARGE")),
            ),
            (
                "body at the limit is read",
                post(bulk).body(Chunks::sized(&[65_536])),
                (400, code("PARSE_ERROR")),
            ),
            (
                "body stream fails",
                post(bulk).body(Chunks::failing_after(&[10], "reset")),
                (400, code("UNREADABLE_BODY")),
            ),
        ];
        for (what, call, expected) in cases {
            assert_eq!(call.answer(&s), expected, "{what}");
        }
        let preflight = Call {
            method: "OPTIONS",
            ..post(bulk)
        }
        .header("origin", "https://a.example")
        .run(&s, &Cache::new(), &Metrics::default());
        assert_eq!(
            preflight.reply.header("access-control-allow-origin"),
            Some("https://a.example")
        );
        let etag = post(bulk)
            .run(&s, &Cache::new(), &Metrics::default())
            .reply
            .header("etag")
            .map(str::to_owned)
            .unwrap();
        assert_eq!(
            post(bulk).header("if-none-match", &etag).answer(&s),
            (304, None)
        );
    }

    #[test]
    fn store_failures_and_missing_snapshots_are_503() {
        let s = store();
        s.fail_reads(true);
        let flag = "/ofrep/v1/evaluate/flags/banner-text";
        assert_eq!(post(flag).answer(&s), (503, code("STORE_UNAVAILABLE")));
        s.fail_reads(false);
        s.remove(&pointer_key(SHOP));
        let o = post(flag).run(&s, &Cache::new(), &Metrics::default());
        assert_eq!(o.reply.status, 503);
        assert_eq!(o.log.error_code, code("SNAPSHOT_UNAVAILABLE"));
        // The tenant is not named to a caller whose key no snapshot admitted.
        let details = o.reply.body_json()["errorDetails"].to_string();
        assert!(!details.contains(SHOP), "{details}");
        assert_eq!(o.log.tenant.as_deref(), Some(SHOP));
    }

    #[test]
    fn answers_carry_timing_snapshot_and_count_per_tenant() {
        let s = store();
        let metrics = Metrics::default();
        let o = post("/ofrep/v1/evaluate/flags/banner-text").run(&s, &Cache::new(), &metrics);
        assert_eq!(o.reply.status, 200);
        let timing = o.reply.header("server-timing").unwrap();
        assert!(
            timing.starts_with("load;dur=") && timing.contains(", eval;dur=1.000, ser;dur=1.000"),
            "{timing}"
        );
        assert!(o.reply.header("x-vane-snapshot").unwrap().starts_with("1/"));
        assert_eq!(o.log.snapshot_version, Some(1));
        let line: serde_json::Value = serde_json::from_str(&o.log.to_json("req-1")).unwrap();
        assert_eq!(line["tenant"], SHOP);
        assert_eq!(line["route"], "ofrep.flag");
        assert_eq!(line["status"], 200);
        assert!(!o.log.to_json("r").contains(&client_key(SHOP)));
        // The first request of an isolate starts the flush clock; a flush
        // interval of 0 hands counts over at once.
        assert!(o.effects.is_empty());
        let due = metrics.take_due(1e12, 0).unwrap();
        assert_eq!(due[SHOP].requests, 1);
        assert_eq!(due[SHOP].eval_histogram.iter().sum::<u64>(), 1);
    }

    #[test]
    fn a_key_removed_by_a_publish_is_refused_once_the_ttl_passed() {
        let s = store();
        let cache = Cache::new();
        let metrics = Metrics::default();
        let call = |now: f64| {
            let edge = Edge {
                store: &s,
                cache: &cache,
                metrics: &metrics,
                clock: &FixedClock(now),
                ttl_ms: 30_000,
                metrics_flush_ms: 10_000,
            };
            let head = RequestHead {
                method: "POST".into(),
                path: "/ofrep/v1/evaluate/flags".into(),
                headers: vec![(
                    "authorization".into(),
                    format!("Bearer {}", client_key(SHOP)),
                )],
                ..RequestHead::default()
            };
            let route = OfrepRoute::EvaluateAll { scope: None };
            let mut body = Chunks::sized(&[]);
            block_on(serve_ofrep(&edge, &route, &head, &mut body, 0, "r"))
                .reply
                .status
        };
        assert_eq!(call(0.0), 200);
        // Version 2 gives the web client a new key; the old one is gone.
        let body = vane_resolver::model::Body {
            flags: vec![],
            clients: vec![vane_resolver::model::Client {
                name: "web".into(),
                key_digests: vec![auth::key_digest("key-shop-rotated")],
            }],
            cors_origins: vec![],
            metadata: Default::default(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        };
        let v2 = vane_resolver::Snapshot::encode(SHOP, 2, 0, "test", &body).unwrap();
        block_on(publish(&s, SHOP, &v2, 0)).unwrap();
        assert_eq!(call(29_999.0), 200, "within the TTL the isolate serves v1");
        assert_eq!(call(30_000.0), 401);
    }

    #[test]
    fn the_cached_entry_answers_a_fresh_tenant_exactly_as_the_pipeline() {
        let s = store();
        let flag = "/ofrep/v1/evaluate/flags/banner-text";
        let bulk = "/ofrep/v1/evaluate/flags";
        let ctx = |json: &str| Chunks::whole(json.as_bytes());
        let calls = || {
            vec![
                post(flag).body(ctx(r#"{"context":{"targetingKey":"u1"}}"#)),
                post(bulk).body(ctx(r#"{"context":{"targetingKey":"u1"}}"#)),
                post("/ofrep/v1/evaluate/flags/nope"),
                post(flag).body(ctx(r#"{"context":[]}"#)),
                post(bulk).body(ctx("nope")),
                post(flag).header("content-length", "65537"),
                post(flag).header("authorization", "Bearer nobody"),
                Call {
                    headers: vec![],
                    ..post(flag)
                },
                Call {
                    method: "OPTIONS",
                    ..post(bulk)
                }
                .header("origin", "https://a.example"),
                post("/tenants/shop/ofrep/v1/evaluate/flags")
                    .header("authorization", &format!("Bearer {}", client_key(MEDIA))),
            ]
        };
        let cache = Cache::new();
        let metrics = Metrics::default();
        // Nothing cached: only what needs no tenant is answered.
        let cold: Vec<bool> = calls()
            .into_iter()
            .map(|c| c.run_cached(&s, &cache, &metrics, 0.0).is_some())
            .collect();
        assert_eq!(
            cold,
            [false, false, false, false, false, true, false, true, true, false]
        );
        // The asynchronous pipeline fills the cache (both keys, the
        // unknown one too); then every answer is the pipeline's own.
        for call in calls() {
            call.run(&s, &cache, &metrics);
        }
        let media = post(bulk).header("authorization", &format!("Bearer {}", client_key(MEDIA)));
        media.run(&s, &cache, &metrics);
        for (cached, full) in calls().into_iter().zip(calls()) {
            let what = format!("{} {}", full.method, full.path);
            let fast = cached
                .run_cached(&s, &cache, &metrics, 0.0)
                .unwrap_or_else(|| panic!("{what}: not answered from the cache"));
            let slow = full.run_with(&s, &cache, &metrics, &FixedClock(0.0)).0;
            assert!(fast.log.fast_path && !slow.log.fast_path, "{what}");
            assert_eq!(fast.reply, slow.reply, "{what}");
            assert_eq!(fast.effects, slow.effects, "{what}");
            let unflagged = RequestLog {
                fast_path: false,
                ..fast.log
            };
            assert_eq!(unflagged, slow.log, "{what}");
        }
        // Once the TTL passed, the store must be asked: not answered, and
        // nothing left behind that would keep the pipeline from refreshing
        // (after which the cached entry answers again).
        let late = || post(flag).run_cached(&s, &cache, &metrics, 30_000.0);
        assert!(late().is_none());
        let refreshed = post(flag).run_with(&s, &cache, &metrics, &FixedClock(30_000.0));
        assert_eq!(refreshed.0.reply.status, 200);
        assert_eq!(late().map(|o| o.reply.status), Some(200));
    }

    struct FixedClock(f64);

    impl Clock for FixedClock {
        fn now_ms(&self) -> f64 {
            self.0
        }
    }
}
