//! The admin pipeline, in two halves: [`admin_gate`] runs in the fetch
//! handler (token, then the body read up to its limit), before the request
//! is forwarded to the tenant's Durable Object; [`serve_admin`] runs inside
//! that object, one request of the tenant at a time.

use vane_resolver::limits::MAX_SNAPSHOT_BYTES;

use crate::admin::{current_snapshot, publish, rollback, status, sync_edge};
use crate::auth;
use crate::error::ApiError;
use crate::limits::{MIN_ADMIN_TOKEN_BYTES, MIN_ADMIN_TOKEN_DISTINCT};
use crate::metrics::TenantCounters;
use crate::pipeline::{BodyStream, Outcome, RequestHead, RequestLog};
use crate::reply::Reply;
use crate::request::read_body;
use crate::route::AdminRoute;
use crate::store::AdminStore;

/// Why `ADMIN_TOKEN` cannot be used, if it cannot: unset, shorter than
/// [`MIN_ADMIN_TOKEN_BYTES`], or with fewer than
/// [`MIN_ADMIN_TOKEN_DISTINCT`] distinct characters (`aaaa…`, `abab…`).
/// The worker checks it on every admin request, so a weak secret disables
/// the admin API rather than protecting it badly.
pub fn admin_token_problem(token: Option<&str>) -> Option<String> {
    let fix = "`wrangler secret put ADMIN_TOKEN` (locally: .dev.vars) with at least 32 random characters, e.g. `openssl rand -hex 24`";
    let token = match token.map(str::trim) {
        None | Some("") => return Some(format!("ADMIN_TOKEN is not configured: {fix}")),
        Some(t) => t,
    };
    let mut distinct: Vec<u8> = token.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if token.len() < MIN_ADMIN_TOKEN_BYTES || distinct.len() < MIN_ADMIN_TOKEN_DISTINCT {
        return Some(format!(
            "ADMIN_TOKEN is too weak ({} bytes, {} distinct; at least {MIN_ADMIN_TOKEN_BYTES} and {MIN_ADMIN_TOKEN_DISTINCT} needed): {fix}",
            token.len(),
            distinct.len()
        ));
    }
    None
}

/// Admits an admin request: a usable `ADMIN_TOKEN` (`token`), the same
/// token as bearer, and for a publish or a sticky-store seed a body within
/// [`MAX_SNAPSHOT_BYTES`], which it returns (other routes read no body:
/// empty).
///
/// Errors: 503 `ADMIN_DISABLED`, 401 `UNAUTHORIZED`, 413
/// `PAYLOAD_TOO_LARGE`, 400 `UNREADABLE_BODY` (the stream's message goes to
/// `log`'s warnings).
pub async fn admin_gate<B: BodyStream>(
    token: Option<&str>,
    head: &RequestHead,
    route: &AdminRoute,
    body: &mut B,
    log: &mut RequestLog,
) -> Result<Vec<u8>, ApiError> {
    if let Some(reason) = admin_token_problem(token) {
        return Err(ApiError::AdminDisabled { reason });
    }
    if !auth::admin_authorized(
        head.header("authorization"),
        token.unwrap_or_default().trim(),
    ) {
        return Err(ApiError::AdminUnauthorized);
    }
    match route {
        AdminRoute::Publish { .. } | AdminRoute::Materializations { .. } => {
            read_body(head, body, MAX_SNAPSHOT_BYTES, |m| {
                log.warnings.push(format!("request body unreadable: {m}"))
            })
            .await
        }
        _ => Ok(Vec::new()),
    }
}

/// Answers an admitted admin request inside the tenant's Durable Object.
/// `body` is what [`admin_gate`] read; `now_s` the time, Unix seconds;
/// `counters` the tenant's stored totals (for [`AdminRoute::Metrics`]).
///
/// Statuses: those of [`publish`], [`current_snapshot`], [`rollback`] and
/// [`status`]; 200 with
/// [`TenantCounters::report`] for metrics.
pub async fn serve_admin<S: AdminStore>(
    store: &S,
    route: &AdminRoute,
    body: &[u8],
    counters: &TenantCounters,
    now_s: u64,
    request_id: &str,
) -> Outcome {
    let mut log = RequestLog {
        route: route.name(),
        tenant: Some(route.tenant().to_owned()),
        ..RequestLog::default()
    };
    if let Err(why) = sync_edge(store, route.tenant()).await {
        log.warnings.push(why);
    }
    let answer: Result<Reply, ApiError> = match route {
        AdminRoute::Publish { tenant } => publish(store, tenant, body, now_s).await,
        AdminRoute::Snapshot { tenant } => current_snapshot(store, tenant).await,
        AdminRoute::Rollback { tenant, to } => rollback(store, tenant, to.as_deref(), now_s).await,
        AdminRoute::Status { tenant } => status(store, tenant).await,
        AdminRoute::Metrics { tenant } => Ok(Reply::json(200, &counters.report(tenant))),
        // Answered by the fetch handler (crate::exposure, the test trap),
        // never forwarded.
        AdminRoute::Exposures { .. }
        | AdminRoute::ExposureFault { .. }
        | AdminRoute::TestTrap { .. } => Err(ApiError::NotFound {
            method: "any".into(),
            path: format!("the {} route inside the tenant's object", route.name()),
        }),
        // The sticky store's objects serve these (the fetch handler sends
        // them there, never here).
        AdminRoute::Materializations { .. } | AdminRoute::MaterializationsOf { .. } => {
            Err(ApiError::NotFound {
                method: "admin".into(),
                path: route.name().into(),
            })
        }
    };
    match answer {
        Ok(reply) => Outcome::new(reply, log, request_id),
        Err(e) => Outcome::error(&e, log, request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{block_on, snapshot_bytes, Chunks, MemoryStore, MEDIA, SHOP};

    /// Status and logged error code.
    type Answer = (u16, Option<String>);

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn head(authorization: Option<&str>, content_length: Option<&str>) -> RequestHead {
        let mut headers = Vec::new();
        if let Some(a) = authorization {
            headers.push(("authorization".to_owned(), a.to_owned()));
        }
        if let Some(n) = content_length {
            headers.push(("content-length".to_owned(), n.to_owned()));
        }
        RequestHead {
            method: "PUT".into(),
            headers,
            ..RequestHead::default()
        }
    }

    #[test]
    fn the_gate_needs_a_strong_token_the_bearer_and_a_declared_size_in_bounds() {
        let bearer = format!("Bearer {TOKEN}");
        let publish = AdminRoute::Publish {
            tenant: SHOP.into(),
        };
        let gate = |token: Option<&str>, h: RequestHead, mut body: Chunks| {
            let mut log = RequestLog::default();
            block_on(admin_gate(token, &h, &publish, &mut body, &mut log))
                .map(|b| b.len())
                .map_err(|e| (e.status(), e.code().as_str()))
        };
        let code = |token: Option<&str>, h: RequestHead| gate(token, h, Chunks::sized(&[10]));
        assert_eq!(code(Some(TOKEN), head(Some(&bearer), Some("10"))), Ok(10));
        let limit = MAX_SNAPSHOT_BYTES;
        let ok = head(Some(&bearer), None);
        assert_eq!(
            gate(Some(TOKEN), ok.clone(), Chunks::sized(&[limit])),
            Ok(limit)
        );
        assert_eq!(
            gate(Some(TOKEN), ok.clone(), Chunks::sized(&[limit, 1])),
            Err((413, "PAYLOAD_TOO_LARGE"))
        );
        assert_eq!(
            gate(
                Some(TOKEN),
                ok.clone(),
                Chunks::failing_after(&[1], "reset")
            ),
            Err((400, "UNREADABLE_BODY"))
        );
        // Other routes read no body.
        let mut log = RequestLog::default();
        let status = AdminRoute::Status {
            tenant: SHOP.into(),
        };
        let mut body = Chunks::sized(&[5]);
        let read = block_on(admin_gate(Some(TOKEN), &ok, &status, &mut body, &mut log));
        assert_eq!((read, body.chunks_read()), (Ok(vec![]), 0));
        for weak in [
            None,
            Some(""),
            Some("short-token"),
            Some(&"ab".repeat(20)[..]),
        ] {
            assert_eq!(
                code(weak, head(Some(&bearer), None)),
                Err((503, "ADMIN_DISABLED")),
                "{weak:?}"
            );
        }
        let weak = admin_token_problem(Some("abababababababababababababababab")).unwrap();
        assert!(weak.contains("32 bytes, 2 distinct"), "{weak}");
        assert_eq!(
            code(Some(TOKEN), head(Some("Bearer wrong"), None)),
            Err((401, "UNAUTHORIZED"))
        );
        assert_eq!(
            code(Some(TOKEN), head(None, None)),
            Err((401, "UNAUTHORIZED"))
        );
        let over = (MAX_SNAPSHOT_BYTES + 1).to_string();
        assert_eq!(
            code(Some(TOKEN), head(Some(&bearer), Some(&over))),
            Err((413, "PAYLOAD_TOO_LARGE"))
        );
    }

    fn serve(store: &MemoryStore, route: AdminRoute, body: Vec<u8>) -> Answer {
        let o = block_on(serve_admin(
            store,
            &route,
            &body,
            &TenantCounters::default(),
            100,
            "req-9",
        ));
        assert_eq!(o.reply.header("x-request-id"), Some("req-9"));
        assert_eq!(o.log.status, o.reply.status);
        (o.reply.status, o.log.error_code)
    }

    #[test]
    fn every_status_of_the_admin_pipeline() {
        let store = MemoryStore::default();
        let shop = || SHOP.to_owned();
        let publish = || AdminRoute::Publish { tenant: shop() };
        let v = |version: u64, banner: &str| snapshot_bytes(SHOP, version, banner);
        let err = |status: u16, code: &str| (status, Some(code.to_owned()));
        let rollback = |to: Option<&str>| AdminRoute::Rollback {
            tenant: shop(),
            to: to.map(str::to_owned),
        };
        let status = AdminRoute::Status { tenant: shop() };
        let snapshot = || AdminRoute::Snapshot { tenant: shop() };
        let none = Vec::new;
        let cases: Vec<(&str, AdminRoute, Vec<u8>, Answer)> = vec![
            (
                "status before any publish",
                status.clone(),
                none(),
                err(404, "NO_SNAPSHOT"),
            ),
            (
                "snapshot before any publish",
                snapshot(),
                none(),
                err(404, "NO_SNAPSHOT"),
            ),
            (
                "rollback before any publish",
                rollback(None),
                none(),
                err(404, "NO_SNAPSHOT"),
            ),
            ("publish v1", publish(), v(1, "a"), (201, None)),
            (
                "same again",
                publish(),
                v(2, "a"),
                err(409, "ALREADY_CURRENT"),
            ),
            ("older", publish(), v(1, "b"), err(409, "VERSION_NOT_NEWER")),
            (
                "not a snapshot",
                publish(),
                b"hello".to_vec(),
                err(400, "INVALID_SNAPSHOT"),
            ),
            (
                "another tenant's",
                publish(),
                snapshot_bytes(MEDIA, 5, "a"),
                err(400, "TENANT_MISMATCH"),
            ),
            (
                "nothing earlier",
                rollback(None),
                none(),
                err(409, "NOTHING_TO_ROLL_BACK"),
            ),
            ("publish v2", publish(), v(2, "b"), (201, None)),
            ("publish v3", publish(), v(3, "c"), (201, None)),
            (
                "unknown digest",
                rollback(Some("00000000")),
                none(),
                err(404, "UNKNOWN_DIGEST"),
            ),
            ("rollback", rollback(None), none(), (200, None)),
            // (The route allows 8+ digits; the empty prefix matches v3 and v1.)
            (
                "ambiguous",
                rollback(Some("")),
                none(),
                err(400, "AMBIGUOUS_DIGEST"),
            ),
            (
                "reuse of version 3",
                publish(),
                v(3, "d"),
                err(409, "VERSION_REUSED"),
            ),
            ("status", status, none(), (200, None)),
            (
                "metrics",
                AdminRoute::Metrics { tenant: shop() },
                none(),
                (200, None),
            ),
        ];
        for (what, route, body, expected) in cases {
            assert_eq!(serve(&store, route, body), expected, "{what}");
        }
        // The current snapshot's bytes, as published (v3 after the rollback
        // to v2 and the refused reuse: v2).
        let o = block_on(serve_admin(
            &store,
            &snapshot(),
            &[],
            &TenantCounters::default(),
            100,
            "req-10",
        ));
        assert_eq!(
            (o.reply.status, o.reply.header("content-type")),
            (200, Some("application/cbor"))
        );
        assert_eq!(o.reply.body, Some(v(2, "b")));
        store.fail_reads(true);
        assert_eq!(
            serve(&store, AdminRoute::Status { tenant: shop() }, none()),
            err(503, "STORE_UNAVAILABLE")
        );
    }
}
