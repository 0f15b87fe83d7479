//! The Confidence pipeline (`docs/confidence.md`): preflight, body size by
//! `Content-Length`, body (read only up to its limit), then the resolve or
//! the apply of [`crate::confidence::serve`], CORS on every answer (the
//! tenant's origins once the client secret named it). New sticky
//! assignments and exposure events become [`Effect`]s.

use crate::confidence::serve::{serve_apply, serve_resolve, ConfidenceEdge, Served};
use crate::confidence::sticky::{read_units, replace_units, Materializations, StickyStore};
use crate::confidence::{telemetry_upload, wire};
use crate::cors::RequestCors;
use crate::error::ApiError;
use crate::limits::MAX_CONFIDENCE_REQUEST_BYTES;
use crate::pipeline::{BodyStream, Effect, Outcome, RequestHead, RequestLog};
use crate::reply::Reply;
use crate::request::read_body;
use crate::route::{AdminRoute, ConfidenceRoute};
use crate::store::SnapshotSource;

/// Answers a Confidence request that arrived at `now_ms` (Unix ms);
/// `random` is 40 random bytes (a resolve's token nonce and resolve id).
///
/// Statuses: 204 preflight; 200 telemetry; those of
/// [`serve_resolve`] and [`serve_apply`]; 413 `RESOURCE_EXHAUSTED`
/// (declared or read) and 400 `INVALID_ARGUMENT` (unreadable body), as
/// `google.rpc.Status` bodies ([`wire::body_error`]).
#[allow(clippy::too_many_arguments)] // the pipeline's inputs, each once
pub async fn serve_confidence<S: SnapshotSource, T: StickyStore, B: BodyStream>(
    edge: &ConfidenceEdge<'_, S>,
    sticky: &T,
    route: ConfidenceRoute,
    head: &RequestHead,
    body: &mut B,
    now_ms: u64,
    random: &[u8; 40],
    request_id: &str,
) -> Outcome {
    let mut cors = RequestCors::new(&head.path, head.header("origin").map(str::to_owned));
    let mut log = RequestLog {
        route: route.name(),
        ..RequestLog::default()
    };
    let served = match route {
        ConfidenceRoute::Preflight => {
            return Outcome::new(cors.preflight(), log, request_id);
        }
        ConfidenceRoute::TelemetryUpload => Served::replying(telemetry_upload()),
        ConfidenceRoute::Resolve | ConfidenceRoute::Apply => {
            match read_body(head, body, MAX_CONFIDENCE_REQUEST_BYTES, |m| {
                log.warnings.push(format!("request body unreadable: {m}"))
            })
            .await
            {
                Err(e) => {
                    log.error_code = Some(e.code().as_str().to_owned());
                    Served::replying(wire::body_error(&e))
                }
                Ok(bytes) if route == ConfidenceRoute::Apply => {
                    serve_apply(edge, &bytes, now_ms).await
                }
                Ok(bytes) => serve_resolve(edge, sticky, &bytes, now_ms, random).await,
            }
        }
    };
    if let Some(origins) = &served.cors_origins {
        cors.tenant_known(origins);
    }
    log.tenant = served.tenant.clone();
    if let Some(info) = &served.snapshot {
        log.answered_by(info);
    }
    log.warnings.extend(served.warnings);
    let reply = cors.finish(served.reply);
    let mut outcome = Outcome::new(reply, log, request_id);
    if let Some(tenant) = served.tenant {
        if !served.writes.is_empty() {
            outcome.effects.push(Effect::StickyWrites {
                tenant: tenant.clone(),
                writes: served.writes,
            });
        }
        if !served.events.is_empty() {
            let messages = crate::exposure::batch::messages(&tenant, served.events);
            outcome
                .effects
                .push(Effect::SendExposures { tenant, messages });
        }
    }
    outcome
}

/// Answers an admitted admin request of the sticky store
/// ([`AdminRoute::Materializations`] with the body the gate read, or
/// [`AdminRoute::MaterializationsOf`]).
///
/// Statuses: 200 `{"replaced": n}` / `{unit: records}`; 400
/// `INVALID_MATERIALIZATIONS`; 503 `STORE_UNAVAILABLE`.
pub async fn serve_materializations<T: StickyStore>(
    sticky: &T,
    route: &AdminRoute,
    body: &[u8],
    request_id: &str,
) -> Outcome {
    let log = RequestLog {
        route: route.name(),
        tenant: Some(route.tenant().to_owned()),
        ..RequestLog::default()
    };
    let unavailable = |what: String| ApiError::StoreUnavailable {
        what,
        state: "nothing was changed in the ranges that failed; retry",
    };
    let answer = match route {
        AdminRoute::MaterializationsOf { tenant, unit } => {
            let (found, problems) = read_units(sticky, tenant, [unit.as_str()]).await;
            match problems.into_iter().next() {
                Some(problem) => Err(unavailable(problem)),
                None => Ok(Reply::json(200, &found)),
            }
        }
        AdminRoute::Materializations { tenant } => {
            match serde_json::from_slice::<Materializations>(body) {
                Err(e) => Err(ApiError::InvalidMaterializations { why: e.to_string() }),
                Ok(units) => replace_units(sticky, tenant, &units)
                    .await
                    .map(|n| Reply::json(200, &serde_json::json!({ "replaced": n })))
                    .map_err(unavailable),
            }
        }
        _ => Err(ApiError::NotFound {
            method: "admin".into(),
            path: route.name().into(),
        }),
    };
    match answer {
        Ok(reply) => Outcome::new(reply, log, request_id),
        Err(e) => Outcome::error(&e, log, request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::confidence::sticky::Write;
    use crate::confidence::token::TokenKey;
    use crate::testutil::{block_on, Chunks, MemoryStore};
    use serde_json::json;

    /// A sticky store a refused body never reaches.
    struct Unreached;

    impl StickyStore for Unreached {
        async fn read(&self, _: &str, _: &[String]) -> Result<Materializations, String> {
            Err("a refused body reads no sticky assignment".into())
        }
        async fn write(&self, _: &str, _: &[Write]) -> Result<(), String> {
            Err("a refused body writes no sticky assignment".into())
        }
        async fn replace(&self, _: &str, _: &Materializations) -> Result<(), String> {
            Err("a refused body replaces no sticky assignment".into())
        }
    }

    fn serve(route: ConfidenceRoute, content_length: Option<&str>, mut body: Chunks) -> Outcome {
        let (store, cache) = (MemoryStore::default(), Cache::new());
        let key = TokenKey::from_secret("dev-resolve-token-key-not-secret");
        let edge = ConfidenceEdge {
            store: &store,
            cache: &cache,
            token_key: &key,
            ttl_ms: 0,
        };
        let head = RequestHead {
            method: "POST".into(),
            path: "/v1/flags:resolve".into(),
            headers: content_length
                .map(|n| ("content-length".to_owned(), n.to_owned()))
                .into_iter()
                .collect(),
            ..RequestHead::default()
        };
        block_on(serve_confidence(
            &edge, &Unreached, route, &head, &mut body, 0, &[0; 40], "req",
        ))
    }

    #[test]
    fn bodies_over_the_limit_or_unreadable_are_google_rpc_statuses() {
        let limit = MAX_CONFIDENCE_REQUEST_BYTES;
        let too_large = json!({"code": 8,
            "message": format!("request body is larger than {limit} bytes"), "details": []});
        for route in [ConfidenceRoute::Resolve, ConfidenceRoute::Apply] {
            let cases = [
                // Declared over the limit: refused before a byte is read.
                (Some("1100000"), Chunks::sized(&[]), 413, &too_large),
                // Chunked: refused once the bytes read pass the limit.
                (
                    None,
                    Chunks::sized(&[limit / 2, limit / 2, 1]),
                    413,
                    &too_large,
                ),
                (
                    None,
                    Chunks::failing_after(&[10], "connection reset"),
                    400,
                    &json!({"code": 3, "details": [],
                        "message": "the request body could not be read to its end; send it again"}),
                ),
            ];
            for (declared, body, status, expected) in cases {
                let o = serve(route, declared, body);
                assert_eq!(o.reply.status, status, "{route:?} {declared:?}");
                assert_eq!(&o.reply.body_json(), expected, "{route:?} {declared:?}");
                assert!(o.effects.is_empty());
            }
        }
    }
}
