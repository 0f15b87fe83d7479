//! The Confidence pipeline: from a routed request and its body to the
//! answer and the work left for after it (sticky writes, exposure events).
//! Plain async code over the store interfaces, tested natively; the
//! runtime runs what [`Served`] leaves in `waitUntil`.
//!
//! Order of checks, each answered as Confidence's gateway would (a
//! `google.rpc.Status` body, [`super::wire::error`]): the body is JSON;
//! apply with an empty token is a no-op; the client secret names a tenant
//! whose snapshot admits it (401 otherwise; 503 when the key index or the
//! snapshot cannot be had); the resolve token opens for that tenant (400
//! otherwise); then the resolve or the apply.

use std::rc::Rc;

use vane_resolver::{Snapshot, SnapshotInfo};

use super::apply;
use super::token::TokenKey;
use super::wire::{self, code};
use crate::auth;
use crate::cache::Cache;
use crate::exposure::event::{opted_attributes, Event, Source};
use crate::reply::Reply;
use crate::store::SnapshotSource;

use super::sticky::{read_units, StickyStore, Write};
use super::token::{Claims, TokenAssignment, TokenFallthrough, NONCE_BYTES, TOKEN_TTL_SECONDS};
use vane_resolver::assign::AssignedBy;
use vane_resolver::confidence::{Answer, ResolveRequest, ResolvedFlag};
use vane_resolver::model::{ExposureLog, Outcome};

/// What the pipeline reads from.
pub struct ConfidenceEdge<'a, S> {
    /// The KV namespace (key index, pointers, snapshots).
    pub store: &'a S,
    /// The isolate's snapshot and key cache.
    pub cache: &'a Cache,
    /// The resolve token key, or why there is none (`RESOLVE_TOKEN_KEY`
    /// unset or too short).
    pub token_key: &'a Result<TokenKey, String>,
    /// `SNAPSHOT_TTL_SECONDS` in milliseconds.
    pub ttl_ms: u64,
}

/// What a Confidence request produced.
#[derive(Debug)]
pub struct Served {
    /// The answer (CORS headers still to add).
    pub reply: Reply,
    /// The snapshot that answered.
    pub snapshot: Option<SnapshotInfo>,
    /// The tenant, once the client secret named it.
    pub tenant: Option<String>,
    /// The tenant's CORS origins, once known.
    pub cors_origins: Option<Vec<String>>,
    /// Exposure events for the exposure log.
    pub events: Vec<Event>,
    /// New sticky assignments to store.
    pub writes: Vec<Write>,
    /// Problems for the log (store failures, skipped applies).
    pub warnings: Vec<String>,
}

impl Served {
    /// What a request answered by `reply` alone produced.
    pub fn replying(reply: Reply) -> Served {
        Served {
            reply,
            snapshot: None,
            tenant: None,
            cors_origins: None,
            events: Vec::new(),
            writes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn answer(mut self, reply: Reply) -> Served {
        self.reply = reply;
        self
    }
}

/// The tenant and snapshot of a client secret: looked up like an OFREP
/// client key (sha256 → key index → tenant → snapshot → the snapshot's own
/// key digests). Returns the tenant, the snapshot and the name of the
/// client the secret belongs to.
///
/// Errors: 401 for a secret no tenant admits, 503 when the key index or
/// the tenant's snapshot cannot be had (the reason goes to `warnings`).
pub async fn tenant_of_secret<S: SnapshotSource>(
    edge: &ConfidenceEdge<'_, S>,
    secret: &str,
    now_ms: u64,
    warnings: &mut Vec<String>,
) -> Result<(String, Rc<Snapshot>, String), Reply> {
    if secret.is_empty() {
        return Err(wire::error(
            401,
            code::UNAUTHENTICATED,
            "no client secret: send clientSecret in the body",
        ));
    }
    let digest = auth::key_digest(secret);
    let owner = edge
        .cache
        .key_owner(edge.store, &digest, now_ms, edge.ttl_ms)
        .await
        .map_err(|e| {
            warnings.push(format!("key index unavailable: {e}"));
            wire::error(
                503,
                code::UNAVAILABLE,
                "the key index cannot be read; retry later",
            )
        })?;
    let tenant = owner.ok_or_else(wire::unknown_secret)?;
    let lookup = edge
        .cache
        .snapshot(edge.store, &tenant, now_ms, edge.ttl_ms)
        .await;
    warnings.extend(lookup.warning);
    let snapshot = lookup.snapshot.ok_or_else(|| {
        wire::error(
            503,
            code::UNAVAILABLE,
            format!("tenant {tenant:?} has no snapshot to serve"),
        )
    })?;
    let client = snapshot
        .clients()
        .iter()
        .find(|c| {
            c.key_digests
                .iter()
                .any(|d| auth::digests_equal(&d.0, &digest.0))
        })
        .map(|c| c.name.clone());
    match client {
        Some(client) if auth::tenant_admits(snapshot.clients(), &digest) => {
            Ok((tenant, snapshot, client))
        }
        _ => Err(wire::unknown_secret()),
    }
}

/// The token key, or the 503 that says it is not configured.
fn token_key<'k>(edge: &'k ConfidenceEdge<'_, impl SnapshotSource>) -> Result<&'k TokenKey, Reply> {
    edge.token_key
        .as_ref()
        .map_err(|why| wire::error(503, code::UNAVAILABLE, why.clone()))
}

/// `POST /v1/flags:apply` (see [`super::apply`]). `received_ms` is the
/// arrival time, Unix milliseconds.
pub async fn serve_apply<S: SnapshotSource>(
    edge: &ConfidenceEdge<'_, S>,
    body: &[u8],
    received_ms: u64,
) -> Served {
    let mut served = Served::replying(Reply::empty(204));
    let request = match apply::parse(body) {
        Ok(r) => r,
        Err(reply) => return served.answer(reply),
    };
    if request.resolve_token.trim().is_empty() {
        return served.answer(apply::answer(None));
    }
    let key = match token_key(edge) {
        Ok(k) => k,
        Err(reply) => return served.answer(reply),
    };
    let (tenant, snapshot, _client) = match tenant_of_secret(
        edge,
        &request.client_secret,
        received_ms,
        &mut served.warnings,
    )
    .await
    {
        Ok(found) => found,
        Err(reply) => return served.answer(reply),
    };
    served.tenant = Some(tenant.clone());
    served.snapshot = Some(snapshot.info.clone());
    served.cors_origins = Some(snapshot.cors_origins().to_vec());
    match apply::apply(key, &tenant, &request, received_ms) {
        Err(reply) => {
            let why = reply
                .body
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            served.warnings.push(format!("apply refused: {why}"));
            served.answer(reply)
        }
        Ok(outcome) => {
            if outcome.unknown + outcome.unassigned + outcome.repeated > 0 {
                served
                    .warnings
                    .push(format!("apply skipped flags: {}", outcome.header()));
            }
            let used = outcome.applied.iter().map(|(a, at)| (a, *at));
            let used = used.filter(|_| snapshot.exposure_log().enabled);
            served.events = apply::events(
                &outcome.claims,
                Source::ConfidenceApply,
                request.sdk.clone(),
                used,
            );
            served.answer(apply::answer(Some(&outcome)))
        }
    }
}

/// `POST /v1/flags:resolve`: the resolved flags of the secret's client,
/// with sticky assignments read first, a sealed resolve token and a fresh
/// resolve id. `random` is 40 random bytes from the runtime (the token's
/// nonce, then the resolve id). New sticky assignments and, for
/// `apply: true`, exposure events are left in [`Served`].
pub async fn serve_resolve<S: SnapshotSource, T: StickyStore>(
    edge: &ConfidenceEdge<'_, S>,
    sticky: &T,
    body: &[u8],
    now_ms: u64,
    random: &[u8; 40],
) -> Served {
    let mut served = Served::replying(Reply::empty(204));
    let request = match parse_resolve(body) {
        Ok(r) => r,
        Err(reply) => return served.answer(reply),
    };
    let key = match token_key(edge) {
        Ok(k) => k,
        Err(reply) => return served.answer(reply),
    };
    let (tenant, snapshot, client) =
        match tenant_of_secret(edge, &request.client_secret, now_ms, &mut served.warnings).await {
            Ok(found) => found,
            Err(reply) => return served.answer(reply),
        };
    served.tenant = Some(tenant.clone());
    served.snapshot = Some(snapshot.info.clone());
    served.cors_origins = Some(snapshot.cors_origins().to_vec());
    let reads = snapshot.confidence_sticky_reads(&client, &request);
    let materializations = if reads.is_empty() {
        None
    } else {
        let (found, problems) =
            read_units(sticky, &tenant, reads.iter().map(|(unit, _)| unit.as_str())).await;
        served.warnings.extend(problems);
        Some(found)
    };
    let now_s = (now_ms / 1000) as i64;
    let resolution =
        match snapshot.resolve_confidence(&client, &request, materializations.as_ref(), now_s) {
            Ok(r) => r,
            Err(e) => return served.answer(wire::invalid(format!("evaluationContext: {e}"))),
        };
    let (nonce, id) = random.split_at(NONCE_BYTES);
    let resolve_id = vane_resolver::snapshot::hex(id);
    let claims = Claims {
        tenant: tenant.clone(),
        snapshot_digest: snapshot.info.digest.clone(),
        snapshot_version: snapshot.info.version,
        resolve_id: resolve_id.clone(),
        client,
        sdk: wire::sdk_of(request.sdk.as_ref()),
        resolved_at_ms: now_ms as i64,
        expires_at: now_s + TOKEN_TTL_SECONDS,
        assignments: resolution
            .flags
            .iter()
            .map(|f| token_assignment(f, snapshot.exposure_log(), resolution.context.as_ref()))
            .collect(),
    };
    let nonce: &[u8; NONCE_BYTES] = nonce.try_into().unwrap_or(&[0; NONCE_BYTES]);
    let token = key.seal(&claims, nonce);
    let reply = Reply::json_bytes(200, resolution.body_text(&resolve_id, &token).into_bytes())
        .with_header(
            "x-vane-snapshot",
            crate::ofrep::snapshot_header(&snapshot.info),
        )
        .with_header("x-vane-sticky-writes", resolution.writes.len().to_string());
    served.writes = resolution.writes;
    if request.apply && snapshot.exposure_log().enabled && !skips_apply(&request.evaluation_context)
    {
        let used = claims.assignments.iter().map(|a| (a, now_ms));
        served.events = apply::events(&claims, Source::ConfidenceResolve, None, used);
    }
    served.answer(reply)
}

/// Reads a resolve body.
///
/// Errors: a 400 for a body that is not a JSON object or whose fields have
/// the wrong types.
fn parse_resolve(body: &[u8]) -> Result<ResolveRequest, Reply> {
    let mut map = wire::object(body, "resolve request")?;
    // The proto field names, as proto3 JSON readers accept them.
    for (proto, json) in [
        ("client_secret", "clientSecret"),
        ("evaluation_context", "evaluationContext"),
    ] {
        if let Some(v) = map.remove(proto) {
            map.entry(json).or_insert(v);
        }
    }
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| wire::invalid(format!("resolve request: {e}")))
}

/// `_confidence_skip_apply: true` in the context: this call logs no
/// exposure (issue 10; the SDKs set it for prefetches).
fn skips_apply(context: &serde_json::Value) -> bool {
    context.get("_confidence_skip_apply") == Some(&serde_json::Value::Bool(true))
}

/// The token's record of one resolved flag: a Confidence flag's
/// assignment, unit and the assigning rule's allocation; a Vane or flagd
/// flag's exposure as OFREP would log it (none when it is no exposure),
/// with the attributes the flag opts in read from `context`, the context
/// as OFREP read it ([`vane_resolver::confidence::Resolution::context`]).
fn token_assignment(
    f: &ResolvedFlag<'_>,
    log: &ExposureLog,
    context: Option<&vane_resolver::Context>,
) -> TokenAssignment {
    let result = match &f.answer {
        Answer::Assigned(result) => result,
        Answer::Evaluated(_, exposure) => {
            return TokenAssignment {
                flag: f.flag.key.clone(),
                evaluated: true,
                reason: f.reason().as_str().to_owned(),
                variant: exposure.as_ref().map(|e| e.variant.to_owned()),
                rule: exposure.as_ref().map(|e| format!("rules[{}]", e.rule)),
                assignment_id: None,
                weights: exposure.as_ref().map_or_else(Vec::new, |e| {
                    e.weights.iter().map(|&(v, w)| (v.to_owned(), w)).collect()
                }),
                holdout: exposure.as_ref().and_then(|e| e.holdout.map(str::to_owned)),
                attributes: match (&exposure, context) {
                    (Some(_), Some(context)) => {
                        opted_attributes(log.attributes_of(&f.flag.key), context)
                    }
                    _ => serde_json::Map::new(),
                },
                unit_source: exposure.as_ref().map(|e| e.unit_source.clone()),
                unit: exposure.as_ref().map(|e| e.unit.clone()),
                fallthroughs: Vec::new(),
            };
        }
    };
    let by = result.assigned_by.as_ref();
    let weights = by.map_or_else(Vec::new, |by| {
        let mut weights: Vec<(String, u64)> = Vec::new();
        for a in &by.rule.assignments {
            let Outcome::Variant(i) = a.outcome else {
                continue;
            };
            let Some(v) = f.flag.variants.get(i as usize) else {
                continue;
            };
            let buckets: u64 = a.ranges.iter().map(|(s, e)| u64::from(e - s)).sum();
            match weights.iter_mut().find(|(name, _)| *name == v.name) {
                Some((_, w)) => *w += buckets,
                None => weights.push((v.name.clone(), buckets)),
            }
        }
        weights
    });
    TokenAssignment {
        flag: f.flag.key.clone(),
        evaluated: false,
        reason: result.reason.as_str().to_owned(),
        variant: f.variant_name().map(str::to_owned),
        rule: by.map(|b| b.rule.name.clone()),
        assignment_id: by.map(|b| b.assignment_id.to_owned()),
        unit: by.map(|b| b.unit.clone()),
        unit_source: by.map(unit_source),
        weights,
        fallthroughs: result
            .fallthroughs
            .iter()
            .map(|t| TokenFallthrough {
                rule: t.rule.name.clone(),
                assignment_id: t.assignment_id.to_owned(),
                unit: t.unit.clone(),
                unit_source: unit_source(t),
                buckets: t
                    .rule
                    .assignments
                    .iter()
                    .filter(|a| a.id == t.assignment_id)
                    .flat_map(|a| &a.ranges)
                    .map(|(s, e)| u64::from(e - s))
                    .sum(),
            })
            .collect(),
        holdout: None,
        attributes: serde_json::Map::new(),
    }
}

/// Where an assigning rule's unit came from: `targeting_key` or the path
/// of its `targetingKeySelector`, dot-joined.
fn unit_source(by: &AssignedBy<'_>) -> String {
    by.rule
        .unit
        .as_ref()
        .map_or_else(|| "targeting_key".to_owned(), |p| p.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::publish;
    use crate::confidence::token::{Claims, TokenAssignment, NONCE_BYTES, TOKEN_TTL_SECONDS};
    use crate::testutil::{block_on, client_key, snapshot_bytes, MemoryStore, MEDIA, SHOP};
    use serde_json::json;

    const NOW_MS: u64 = 1_796_117_400_000;

    fn edge_key() -> Result<TokenKey, String> {
        TokenKey::from_secret("dev-resolve-token-key-not-secret")
    }

    fn token(tenant: &str) -> String {
        let claims = Claims {
            tenant: tenant.into(),
            snapshot_digest: "cd".repeat(32),
            snapshot_version: 1,
            resolve_id: "r".into(),
            client: "web".into(),
            sdk: None,
            resolved_at_ms: NOW_MS as i64,
            expires_at: (NOW_MS / 1000) as i64 + TOKEN_TTL_SECONDS,
            assignments: vec![TokenAssignment {
                flag: "flags/a".into(),
                reason: "RESOLVE_REASON_MATCH".into(),
                variant: Some("flags/a/variants/on".into()),
                rule: Some("flags/a/rules/r".into()),
                assignment_id: Some("x".into()),
                unit: Some("u".into()),
                unit_source: None,
                weights: vec![],
                fallthroughs: vec![],
                evaluated: false,
                holdout: None,
                attributes: Default::default(),
            }],
        };
        edge_key().unwrap().seal(&claims, &[1; NONCE_BYTES])
    }

    fn apply_body(secret: &str, token: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"clientSecret": secret, "resolve_token": token,
            "flags": [{"flag": "flags/a", "applyTime": "2026-12-01T09:30:00Z"}],
            "sendTime": "2026-12-01T09:30:00Z"}))
        .unwrap()
    }

    fn run(key: &Result<TokenKey, String>, body: &[u8]) -> Served {
        run_logging(key, body, true)
    }

    /// [`run`] with the tenants' exposure logging on or off.
    fn run_logging(key: &Result<TokenKey, String>, body: &[u8], logging: bool) -> Served {
        let store = MemoryStore::default();
        for tenant in [SHOP, MEDIA] {
            let snapshot = Snapshot::from_bytes(&snapshot_bytes(tenant, 1, "hi")).unwrap();
            let mut body = snapshot.to_body();
            body.exposure_log.enabled = logging;
            let bytes = Snapshot::encode(tenant, 1, 0, "test", &body).unwrap();
            let r = block_on(publish(&store, tenant, &bytes, 0));
            assert_eq!(r.map(|r| r.status), Ok(201));
        }
        let cache = Cache::new();
        let edge = ConfidenceEdge {
            store: &store,
            cache: &cache,
            token_key: key,
            ttl_ms: 0,
        };
        block_on(serve_apply(&edge, body, NOW_MS))
    }

    #[test]
    fn an_apply_with_the_tenants_secret_yields_its_exposures() {
        let s = run(&edge_key(), &apply_body(&client_key(SHOP), &token(SHOP)));
        let reply = s.reply;
        assert_eq!((reply.status, reply.body_json()), (200, json!({})));
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].flag, "flags/a");
        assert_eq!(s.tenant.as_deref(), Some(SHOP));
    }

    #[test]
    fn a_tenant_with_logging_off_applies_without_exposures() {
        let body = apply_body(&client_key(SHOP), &token(SHOP));
        let s = run_logging(&edge_key(), &body, false);
        assert_eq!((s.reply.status, s.reply.body_json()), (200, json!({})));
        assert_eq!(
            s.reply.header("x-vane-apply"),
            Some("applied=1 unknown=0 unassigned=0 repeated=0")
        );
        assert!(s.events.is_empty());
    }

    #[test]
    fn an_empty_token_is_a_no_op_before_anything_is_looked_up() {
        let s = run(
            &Err("RESOLVE_TOKEN_KEY is not set".into()),
            &apply_body("nobody", ""),
        );
        assert_eq!(s.reply.status, 200);
        assert!(s.events.is_empty() && s.tenant.is_none());
    }

    #[test]
    fn refusals_log_no_exposure() {
        // Another tenant's token, under a valid secret.
        let s = run(&edge_key(), &apply_body(&client_key(MEDIA), &token(SHOP)));
        let reply = s.reply;
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.body_json()["message"],
            "resolve token was issued for another tenant than the client secret's"
        );
        assert!(s.events.is_empty());
        assert!(
            s.warnings.iter().any(|w| w.starts_with("apply refused:")),
            "{:?}",
            s.warnings
        );
        // An unknown secret.
        let s = run(&edge_key(), &apply_body("nobody", &token(SHOP)));
        assert_eq!(s.reply.status, 401);
        assert!(s.events.is_empty());
        // No token key configured.
        let s = run(
            &Err("RESOLVE_TOKEN_KEY is not set".into()),
            &apply_body(&client_key(SHOP), &token(SHOP)),
        );
        let reply = s.reply;
        assert_eq!(
            (reply.status, reply.body_json()["code"].clone()),
            (503, json!(14))
        );
    }

    // ---------------------------------------------------------- resolve

    use crate::confidence::sticky::{Materializations, StickyStore, Write};
    use std::cell::RefCell;

    /// The resolver spec's state as tenant `test-account` (client secret
    /// `test-secret`), plus the shop tenant.
    fn spec_store() -> MemoryStore {
        let state = include_str!("../../../conformance/confidence/state.json");
        let built = vane_snapshot_builder::build(
            "state.json",
            state,
            vane_snapshot_builder::Format::Confidence,
            &vane_snapshot_builder::BuildOptions {
                tenant: None,
                version: 1,
                created_at: 0,
                format_version: vane_resolver::snapshot::FORMAT_VERSION,
            },
        )
        .unwrap();
        let store = MemoryStore::default();
        let r = block_on(publish(&store, "test-account", &built.bytes, 0));
        assert_eq!(r.map(|r| r.status), Ok(201));
        let r = block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, 1, "hi"), 0));
        assert_eq!(r.map(|r| r.status), Ok(201));
        store
    }

    /// A sticky store in memory that can be made to fail.
    #[derive(Default)]
    struct MemorySticky {
        records: RefCell<Materializations>,
        failing: bool,
        reads: RefCell<usize>,
    }

    impl StickyStore for MemorySticky {
        async fn read(&self, _object: &str, units: &[String]) -> Result<Materializations, String> {
            *self.reads.borrow_mut() += 1;
            if self.failing {
                return Err("Durable Object unreachable".into());
            }
            let all = self.records.borrow();
            Ok(Materializations(
                units
                    .iter()
                    .filter_map(|u| all.0.get(u).map(|r| (u.clone(), r.clone())))
                    .collect(),
            ))
        }
        async fn write(&self, _object: &str, _writes: &[Write]) -> Result<(), String> {
            Err("not used by the pipeline".into())
        }
        async fn replace(&self, _object: &str, _units: &Materializations) -> Result<(), String> {
            Err("not used by the pipeline".into())
        }
    }

    const RANDOM: [u8; 40] = [7; 40];

    fn resolve(sticky: &MemorySticky, request: serde_json::Value) -> Served {
        resolve_in(&spec_store(), sticky, request)
    }

    fn resolve_in(
        store: &MemoryStore,
        sticky: &MemorySticky,
        request: serde_json::Value,
    ) -> Served {
        let cache = Cache::new();
        let key = edge_key();
        let edge = ConfidenceEdge {
            store,
            cache: &cache,
            token_key: &key,
            ttl_ms: 0,
        };
        let body = serde_json::to_vec(&request).unwrap();
        block_on(serve_resolve(&edge, sticky, &body, NOW_MS, &RANDOM))
    }

    #[test]
    fn a_resolve_answers_the_flags_and_seals_their_assignments() {
        let sticky = MemorySticky::default();
        let s = resolve(
            &sticky,
            json!({"clientSecret": "test-secret", "flags": ["flags/simple-flag"],
            "evaluationContext": {"targeting_key": "user1", "country": "SE"},
            "sdk": {"id": "SDK_ID_JS_WEB_PROVIDER", "version": "0.0.3"}}),
        );
        assert_eq!(s.reply.status, 200);
        let body = s.reply.body_json();
        assert_eq!(
            body["resolvedFlags"],
            json!([{"flag": "flags/simple-flag", "variant": "on", "value": {"enabled": true},
                    "flagSchema": {"schema": {}}, "reason": "RESOLVE_REASON_MATCH", "shouldApply": true,
                    "assignmentOrigin": "flags/simple-flag/rules/rule1"}])
        );
        assert_eq!(body["resolveId"], "07".repeat(16));
        let claims = edge_key()
            .unwrap()
            .open(
                body["resolveToken"].as_str().unwrap(),
                "test-account",
                (NOW_MS / 1000) as i64,
            )
            .unwrap();
        assert_eq!(claims.resolve_id, "07".repeat(16));
        assert_eq!(claims.client, "clients/test-client/credentials/cred1");
        assert_eq!(claims.sdk.as_deref(), Some("SDK_ID_JS_WEB_PROVIDER@0.0.3"));
        assert_eq!(
            claims.assignments,
            vec![TokenAssignment {
                flag: "flags/simple-flag".into(),
                reason: "RESOLVE_REASON_MATCH".into(),
                variant: Some("on".into()),
                rule: Some("flags/simple-flag/rules/rule1".into()),
                assignment_id: Some("a1".into()),
                unit: Some("user1".into()),
                unit_source: Some("targeting_key".into()),
                weights: vec![("on".into(), 1000)],
                fallthroughs: vec![],
                evaluated: false,
                holdout: None,
                attributes: Default::default(),
            }]
        );
        // No flag of this request reads the sticky store: it was not asked.
        assert_eq!(*sticky.reads.borrow(), 0);
        assert!(s.events.is_empty() && s.writes.is_empty());
        assert_eq!(s.reply.header("x-vane-sticky-writes"), Some("0"));
    }

    #[test]
    fn sticky_assignments_are_read_first_and_new_ones_left_to_write() {
        let request = json!({"clientSecret": "test-secret", "flags": ["flags/mat-read-flag"],
            "evaluationContext": {"targeting_key": "user1", "country": "SE"}});
        let stored: Materializations = serde_json::from_value(json!({"user1": {"materializations/mat1":
            {"isUnitInMaterialization": true, "ruleToVariant": {"flags/mat-read-flag/rules/rule1": "treatment"}}}}))
        .unwrap();
        let sticky = MemorySticky {
            records: RefCell::new(stored),
            ..MemorySticky::default()
        };
        let s = resolve(&sticky, request.clone());
        assert_eq!(
            s.reply.body_json()["resolvedFlags"][0]["variant"],
            "treatment"
        );
        assert_eq!(*sticky.reads.borrow(), 1);
        assert!(s.writes.is_empty(), "{:?}", s.writes);
        // An empty store: a fresh assignment, to be written.
        let s = resolve(&MemorySticky::default(), request);
        let variant = s.reply.body_json()["resolvedFlags"][0]["variant"].clone();
        assert_eq!(
            s.writes,
            vec![Write {
                unit: "user1".into(),
                materialization: "materializations/mat1".into(),
                rule: "flags/mat-read-flag/rules/rule1".into(),
                variant: variant.as_str().unwrap().into(),
            }]
        );
        assert_eq!(s.reply.header("x-vane-sticky-writes"), Some("1"));
    }

    #[test]
    fn a_failing_sticky_store_degrades_to_a_resolve_without_stickiness() {
        let sticky = MemorySticky {
            failing: true,
            ..MemorySticky::default()
        };
        let s = resolve(
            &sticky,
            json!({"clientSecret": "test-secret", "flags": ["flags/mat-read-flag"],
            "evaluationContext": {"targeting_key": "user1", "country": "SE"}}),
        );
        assert_eq!(s.reply.status, 200);
        assert_eq!(
            s.reply.body_json()["resolvedFlags"][0]["reason"],
            "RESOLVE_REASON_MATCH"
        );
        assert!(
            s.warnings.iter().any(
                |w| w.contains("unreadable, resolved without them: Durable Object unreachable")
            ),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn apply_true_yields_exposures_unless_the_context_skips_them() {
        let request = |skip: bool| {
            json!({"clientSecret": "test-secret", "flags": ["flags/simple-flag"], "apply": true,
            "evaluationContext": {"targeting_key": "user1", "country": "SE", "_confidence_skip_apply": skip}})
        };
        let s = resolve(&MemorySticky::default(), request(false));
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].source, Source::ConfidenceResolve);
        assert_eq!(s.events[0].assignment, "flags/simple-flag/rules/rule1:a1");
        assert_eq!(s.events[0].tenant, "test-account");
        let s = resolve(&MemorySticky::default(), request(true));
        assert!(s.events.is_empty());
    }

    #[test]
    fn a_fall_through_on_the_way_is_an_exposure_of_its_own() {
        let s = resolve(
            &MemorySticky::default(),
            json!({"clientSecret": "test-secret", "flags": ["flags/fallthrough-flag"], "apply": true,
            "evaluationContext": {"targeting_key": "user1", "country": "SE"}}),
        );
        assert_eq!(s.events.len(), 2, "{:?}", s.events);
        let (assigned, fallen) = (&s.events[0], &s.events[1]);
        assert!(!assigned.fallthrough && fallen.fallthrough);
        assert_eq!(fallen.variant, assigned.variant, "what the unit used");
        assert_ne!(fallen.assignment, assigned.assignment);
        assert!(fallen
            .assignment
            .starts_with("flags/fallthrough-flag/rules/"));
        assert_eq!(
            (fallen.unit.as_str(), fallen.unit_source.as_str()),
            ("user1", "targeting_key")
        );
        assert_eq!(fallen.weights.len(), 1);
        assert!(fallen.weights[0].weight > 0);
        assert_ne!(fallen.event_id, assigned.event_id);
        let json = serde_json::to_value(&s.events).unwrap();
        assert_eq!(json[1]["fallthrough"], true);
        assert!(json[0].get("fallthrough").is_none());
    }

    #[test]
    fn resolve_refusals() {
        let sticky = MemorySticky::default();
        let s = resolve(&sticky, json!({"clientSecret": "nope"}));
        assert_eq!(
            (s.reply.status, s.reply.body_json()["code"].clone()),
            (401, json!(16))
        );
        let s = resolve(
            &sticky,
            json!({"clientSecret": "test-secret", "evaluationContext": [1]}),
        );
        assert_eq!(s.reply.status, 400);
        let s = resolve(
            &sticky,
            json!({"clientSecret": "test-secret", "flags": "flags/x"}),
        );
        assert_eq!(s.reply.status, 400);
        // A Vane tenant's key resolves its flags under Confidence's names:
        // a static value is a match that needs no apply; targeting that
        // failed to compile is an error; the disabled flag is not listed.
        let s = resolve(
            &sticky,
            json!({"clientSecret": client_key(SHOP), "evaluationContext": {"targeting_key": "u"}}),
        );
        assert_eq!(
            (s.reply.status, s.reply.body_json()["resolvedFlags"].clone()),
            (
                200,
                json!([{"flag": "flags/banner-text", "variant": "flags/banner-text/variants/plain",
                        "value": {"value": "hi"}, "flagSchema": {"schema": {"value": {"stringSchema": {}}}},
                        "reason": "RESOLVE_REASON_MATCH", "shouldApply": false},
                       {"flag": "flags/broken", "variant": "", "reason": "RESOLVE_REASON_ERROR",
                        "shouldApply": false}])
            )
        );
    }

    /// A Vane tenant whose split opts `targetingKey` and `plan` into its
    /// exposures; client secret `attrs-secret`.
    fn attrs_store() -> MemoryStore {
        let yaml = "tenant: attrs
clients:
  web:
    key_sha256: [c8d4cb502880d0c345069673f4bbcc46fab5ce0769b4107b949539def9f6d854]
flags:
  pick:
    type: string
    variants: {a: a, b: b}
    default: a
    exposures: {attributes: [targetingKey, plan]}
    rules:
      - split: {a: 50, b: 50}
";
        let options = vane_snapshot_builder::BuildOptions {
            tenant: None,
            version: 1,
            created_at: 0,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        };
        let built = vane_snapshot_builder::build(
            "attrs.yaml",
            yaml,
            vane_snapshot_builder::Format::Vane,
            &options,
        )
        .unwrap();
        let store = MemoryStore::default();
        let r = block_on(publish(&store, "attrs", &built.bytes, 0));
        assert_eq!(r.map(|r| r.status), Ok(201));
        store
    }

    #[test]
    fn a_vane_exposure_reads_the_context_as_ofrep_does() {
        let store = attrs_store();
        let sticky = MemorySticky::default();
        // Confidence's `targeting_key` is the targeting key: OFREP's event
        // for `{"targetingKey": "u", "plan": "pro"}` carries both opted
        // attributes, and so must the apply's.
        let events = |context: serde_json::Value| {
            let s = resolve_in(
                &store,
                &sticky,
                json!({"clientSecret": "attrs-secret", "apply": true,
                       "evaluationContext": context}),
            );
            assert_eq!(s.reply.status, 200);
            s.events
                .iter()
                .map(|e| {
                    (
                        e.unit.clone(),
                        serde_json::Value::Object(e.attributes.clone()),
                    )
                })
                .collect::<Vec<_>>()
        };
        let expected = vec![("u".to_owned(), json!({"targetingKey": "u", "plan": "pro"}))];
        assert_eq!(
            events(json!({"targeting_key": "u", "plan": "pro"})),
            expected
        );
        // An attribute named `targetingKey` does not override it.
        assert_eq!(
            events(json!({"targeting_key": "u", "targetingKey": "v", "plan": "pro"})),
            expected
        );
        assert_eq!(
            events(json!({"targeting_key": "u", "targetingKey": 5, "plan": "pro"})),
            expected
        );
    }
}
