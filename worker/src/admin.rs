//! The admin API's logic: publish, rollback and status of one tenant,
//! against an [`AdminStore`]. Every check runs before the first write, and
//! the writes follow the order of [`crate::store`] (snapshot, key claims,
//! authoritative pointer, edge copy), so a refused or failed request leaves
//! either the old state or the new one, and says which.
//!
//! These functions assume they are the only writer for the tenant while
//! they run; the Durable Object in `runtime` guarantees that by running one
//! admin request per tenant at a time (KV has no compare-and-swap).
//!
//! Successes are JSON replies; refusals and failures are [`ApiError`]s
//! (codes listed in `docs/http-api.md`).

use serde_json::json;
use vane_resolver::limits::MAX_SNAPSHOT_BYTES;
use vane_resolver::model::Client;
use vane_resolver::snapshot::hex;
use vane_resolver::Snapshot;

use crate::error::ApiError;
use crate::limits::HISTORY_LEN;
use crate::reply::Reply;
use crate::signing;
use crate::store::{AdminStore, Claim, Entry, Pointer, StoreError, Via};

/// `PUT /admin/v1/tenants/{tenant}/snapshot`: verifies `bytes` fully
/// (envelope, format, digest, body; tenant equals the path; version newer
/// than the current one and not reused; no client key owned by another
/// tenant), then stores the snapshot, indexes its keys and makes it current.
/// `now` is the time in Unix seconds.
///
/// Answers: 201 `{tenant, version, digest, flags, previous}`; errors
/// `INVALID_SNAPSHOT` / `TENANT_MISMATCH` (400), `ALREADY_CURRENT` /
/// `VERSION_NOT_NEWER` / `VERSION_REUSED` / `KEY_CONFLICT` (409),
/// `PAYLOAD_TOO_LARGE` (413), `STORE_UNAVAILABLE` (503).
pub async fn publish<S: AdminStore>(
    store: &S,
    tenant: &str,
    bytes: &[u8],
    now: u64,
) -> Result<Reply, ApiError> {
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_SNAPSHOT_BYTES,
        });
    }
    let snapshot = Snapshot::from_bytes(bytes)
        .map_err(|e| ApiError::InvalidSnapshot { why: e.to_string() })?;
    snapshot
        .expect_tenant(tenant)
        .map_err(|e| ApiError::TenantMismatch { why: e.to_string() })?;
    signing::admit(store, &snapshot.info)
        .map_err(|e| ApiError::UntrustedSnapshot { why: e.to_string() })?;
    let info = &snapshot.info;
    let pointer = store.current(tenant).await.map_err(unavailable)?;
    if let Some(p) = &pointer {
        let current = &p.current;
        if current.digest == info.digest {
            return Err(ApiError::AlreadyCurrent {
                tenant: tenant.to_owned(),
                digest: info.digest.clone(),
                version: current.version,
            });
        }
        if info.version <= current.version {
            return Err(ApiError::VersionNotNewer {
                tenant: tenant.to_owned(),
                version: info.version,
                current: current.version,
            });
        }
        if let Some(old) = p
            .history
            .iter()
            .find(|e| e.version == info.version && e.digest != info.digest)
        {
            return Err(ApiError::VersionReused {
                tenant: tenant.to_owned(),
                version: info.version,
                digest: old.digest.clone(),
            });
        }
    }
    store
        .put_snapshot(tenant, &info.digest, bytes)
        .await
        .map_err(unavailable)?;
    let entry = Entry {
        digest: info.digest.clone(),
        version: info.version,
        activated_at: now,
        via: Via::Publish,
    };
    let previous = pointer.as_ref().map(|p| p.current.clone());
    let next = advance(tenant, pointer, entry);
    make_current(store, &next, snapshot.clients()).await?;
    Ok(Reply::json(
        201,
        &json!({
            "tenant": tenant,
            "version": info.version,
            "digest": info.digest,
            "flags": snapshot.flag_count(),
            "previous": previous,
        }),
    ))
}

/// `POST /admin/v1/tenants/{tenant}/rollback`: makes an earlier snapshot
/// current again. `to` is a digest or a unique digest prefix from the
/// history; `None` picks the most recent history entry with a lower version
/// than the current one. The stored snapshot is verified again before the
/// pointer moves.
///
/// Answers: 200 `{tenant, version, digest, rolled_back_from}`; errors
/// `AMBIGUOUS_DIGEST` (400), `NO_SNAPSHOT` / `UNKNOWN_DIGEST` (404),
/// `ALREADY_CURRENT` / `NOTHING_TO_ROLL_BACK` / `SNAPSHOT_UNUSABLE` /
/// `KEY_CONFLICT` (409), `STORE_UNAVAILABLE` (503).
pub async fn rollback<S: AdminStore>(
    store: &S,
    tenant: &str,
    to: Option<&str>,
    now: u64,
) -> Result<Reply, ApiError> {
    let pointer = store
        .current(tenant)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_snapshot(tenant))?;
    let target = rollback_target(&pointer, tenant, to)?.clone();
    let digest = &target.digest;
    let unusable = |why: String| ApiError::SnapshotUnusable {
        tenant: tenant.to_owned(),
        digest: digest.clone(),
        why,
    };
    let bytes = store
        .snapshot(tenant, digest)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| unusable("it is missing from KV".into()))?;
    let snapshot = Snapshot::from_bytes(&bytes).map_err(|e| unusable(e.to_string()))?;
    snapshot
        .expect_tenant(tenant)
        .map_err(|e| unusable(e.to_string()))?;
    if &snapshot.info.digest != digest {
        return Err(unusable(format!(
            "the stored bytes have digest {}",
            snapshot.info.digest
        )));
    }
    signing::admit(store, &snapshot.info).map_err(|e| unusable(e.to_string()))?;
    let from = pointer.current.clone();
    let entry = Entry {
        digest: digest.clone(),
        version: snapshot.info.version,
        activated_at: now,
        via: Via::Rollback,
    };
    let next = advance(tenant, Some(pointer), entry);
    make_current(store, &next, snapshot.clients()).await?;
    Ok(Reply::json(
        200,
        &json!({
            "tenant": tenant,
            "version": snapshot.info.version,
            "digest": digest,
            "rolled_back_from": from,
        }),
    ))
}

/// The history entry a rollback moves to (see [`rollback`]).
fn rollback_target<'p>(
    pointer: &'p Pointer,
    tenant: &str,
    to: Option<&str>,
) -> Result<&'p Entry, ApiError> {
    let Some(prefix) = to else {
        return pointer
            .history
            .iter()
            .find(|e| e.version < pointer.current.version)
            .ok_or_else(|| ApiError::NothingToRollBack {
                tenant: tenant.to_owned(),
                version: pointer.current.version,
            });
    };
    let matches: Vec<&Entry> = pointer
        .history
        .iter()
        .filter(|e| e.digest.starts_with(prefix))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] if pointer.current.digest.starts_with(prefix) => Err(ApiError::AlreadyCurrent {
            tenant: tenant.to_owned(),
            digest: pointer.current.digest.clone(),
            version: pointer.current.version,
        }),
        [] => Err(ApiError::UnknownDigest {
            tenant: tenant.to_owned(),
            prefix: prefix.to_owned(),
        }),
        _ => Err(ApiError::AmbiguousDigest {
            tenant: tenant.to_owned(),
            prefix: prefix.to_owned(),
            matches: matches.len(),
        }),
    }
}

/// `GET /admin/v1/tenants/{tenant}`: 200 with the tenant's [`Pointer`]
/// (`{tenant, current, history}`); errors `NO_SNAPSHOT` (404),
/// `STORE_UNAVAILABLE` (503).
pub async fn status<S: AdminStore>(store: &S, tenant: &str) -> Result<Reply, ApiError> {
    match store.current(tenant).await {
        Ok(Some(pointer)) => Ok(Reply::json(200, &pointer)),
        Ok(None) => Err(no_snapshot(tenant)),
        Err(e) => Err(unavailable(e)),
    }
}

/// `GET /admin/v1/tenants/{tenant}/snapshot`: 200 with the current
/// snapshot's bytes as stored (`application/cbor`); errors `NO_SNAPSHOT`
/// (404), `STORE_UNAVAILABLE` (503, also when the pointer names bytes that
/// are not in KV).
pub async fn current_snapshot<S: AdminStore>(store: &S, tenant: &str) -> Result<Reply, ApiError> {
    let pointer = store
        .current(tenant)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_snapshot(tenant))?;
    let digest = pointer.current.digest;
    match store.snapshot(tenant, &digest).await.map_err(unavailable)? {
        Some(bytes) => Ok(Reply::cbor(200, bytes)),
        None => Err(ApiError::StoreUnavailable {
            what: format!("the current snapshot {digest} of tenant {tenant:?} is missing from KV"),
            state: "nothing changed; publishing a new version stores a snapshot again",
        }),
    }
}

/// The pointer after `entry` becomes current: the old current goes to the
/// front of the history, `entry`'s digest leaves it, and the history keeps
/// at most [`HISTORY_LEN`] entries.
fn advance(tenant: &str, pointer: Option<Pointer>, entry: Entry) -> Pointer {
    let history = match pointer {
        None => Vec::new(),
        Some(p) => std::iter::once(p.current)
            .chain(p.history)
            .filter(|e| e.digest != entry.digest)
            .take(HISTORY_LEN)
            .collect(),
    };
    Pointer {
        tenant: tenant.to_owned(),
        current: entry,
        history,
    }
}

/// The client key digests of a body, hex.
fn key_digests(clients: &[Client]) -> Vec<String> {
    clients
        .iter()
        .flat_map(|c| &c.key_digests)
        .map(|d| hex(&d.0))
        .collect()
}

/// Makes `next` (whose current snapshot has `clients` and is already
/// stored) the tenant's pointer: claims the clients' keys, writes the authority, then
/// the edge copy (the order of [`crate::store`]). Each failure says what it
/// left behind.
///
/// Errors: `KEY_CONFLICT` (nothing changed), `STORE_UNAVAILABLE`.
async fn make_current<S: AdminStore>(
    store: &S,
    next: &Pointer,
    clients: &[Client],
) -> Result<(), ApiError> {
    let digests = key_digests(clients);
    let claim = store
        .claim_keys(&next.tenant, &digests)
        .await
        .map_err(|e| ApiError::StoreUnavailable {
            what: e.to_string(),
            state: NOT_CURRENT,
        })?;
    if let Claim::Conflict { digest, owner } = claim {
        let client = clients
            .iter()
            .find(|c| c.key_digests.iter().any(|d| hex(&d.0) == digest))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        return Err(ApiError::KeyConflict {
            client,
            digest,
            owner,
        });
    }
    store
        .put_pointer(next)
        .await
        .map_err(|e| ApiError::StoreUnavailable {
            what: e.to_string(),
            state: NOT_CURRENT_KEYS_RESERVED,
        })?;
    store
        .put_edge_copy(next, &digests)
        .await
        .map_err(|e| ApiError::StoreUnavailable {
            what: e.to_string(),
            state: EDGE_BEHIND,
        })
}

/// Brings the edge copy of `tenant` up to its authoritative pointer when
/// they differ (an earlier request failed after its commit point): writes
/// the current snapshot's key entries and the pointer to KV. Every admin
/// request runs it first, so any of them completes an interrupted one.
///
/// Errors: the store's message, for the log (the request goes on).
pub async fn sync_edge<S: AdminStore>(store: &S, tenant: &str) -> Result<(), String> {
    let Some(current) = store.current(tenant).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    if store.pointer(tenant).await.ok().flatten().as_ref() == Some(&current) {
        return Ok(());
    }
    let digest = &current.current.digest;
    let bytes = store
        .snapshot(tenant, digest)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("snapshot {digest} of tenant {tenant:?} is missing from KV"))?;
    let snapshot = Snapshot::from_bytes(&bytes).map_err(|e| e.to_string())?;
    store
        .put_edge_copy(&current, &key_digests(snapshot.clients()))
        .await
        .map_err(|e| format!("the edge copy of tenant {tenant:?} is behind: {e}"))
}

/// What a failure before the claims or the pointer left: nothing served
/// changed.
const NOT_CURRENT: &str =
    "nothing was made current: the tenant serves what it served before; retry";

/// What a failure writing the pointer left.
const NOT_CURRENT_KEYS_RESERVED: &str = "nothing was made current: the tenant serves what it served before, and the snapshot's client keys are reserved to it; retry";

/// What a failure writing the edge copy left.
const EDGE_BEHIND: &str = "the snapshot is current in the tenant's Durable Object, but its copy in KV, which the edge reads, was not written: the edge serves the previous snapshot until the next admin request for the tenant (a retry, `vane status`) writes it";

fn no_snapshot(tenant: &str) -> ApiError {
    ApiError::NoSnapshot {
        tenant: tenant.to_owned(),
    }
}

fn unavailable(e: StoreError) -> ApiError {
    ApiError::StoreUnavailable {
        what: e.to_string(),
        state: NOT_CURRENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SnapshotSource;
    use crate::store::{pointer_key, snapshot_key};
    use crate::testutil::{block_on, run_all, snapshot_bytes, MemoryStore, MEDIA, SHOP};
    use vane_resolver::model::Client;

    fn put(store: &MemoryStore, tenant: &str, version: u64, banner: &str) -> Reply {
        answer(publish(
            store,
            tenant,
            &snapshot_bytes(tenant, version, banner),
            100 + version,
        ))
    }

    /// Runs an admin call to its answer, refusals included.
    fn answer(call: impl std::future::Future<Output = Result<Reply, ApiError>>) -> Reply {
        block_on(call).unwrap_or_else(|e| e.reply())
    }

    fn current(store: &MemoryStore, tenant: &str) -> (u64, Vec<u64>) {
        let p = block_on(store.pointer(tenant)).unwrap().unwrap();
        (
            p.current.version,
            p.history.iter().map(|e| e.version).collect(),
        )
    }

    fn code(r: &Reply) -> (u16, String) {
        (
            r.status,
            r.body_json()["errorCode"].as_str().unwrap_or("").to_owned(),
        )
    }

    #[test]
    fn publish_stores_indexes_and_points() {
        let store = MemoryStore::default();
        let r = put(&store, SHOP, 1, "a");
        assert_eq!(r.status, 201);
        let body = r.body_json();
        let digest = Snapshot::from_bytes(&snapshot_bytes(SHOP, 1, "a"))
            .unwrap()
            .info
            .digest;
        assert_eq!(
            body,
            json!({"tenant":"shop","version":1,"digest":digest,"flags":3,"previous":null})
        );
        assert!(store.get(&snapshot_key(SHOP, &digest)).is_some());
        let key = hex(&crate::auth::key_digest("key-shop").0);
        assert_eq!(block_on(store.key_owner(&key)), Ok(Some("shop".into())));
        let r = put(&store, SHOP, 2, "b");
        assert_eq!(r.body_json()["previous"]["version"], 1);
        assert_eq!(current(&store, SHOP), (2, vec![1]));
    }

    #[test]
    fn older_same_or_reused_versions_are_refused_and_nothing_changes() {
        let store = MemoryStore::default();
        put(&store, SHOP, 5, "a");
        let before = store.get(&pointer_key(SHOP));
        assert_eq!(
            code(&put(&store, SHOP, 4, "b")),
            (409, "VERSION_NOT_NEWER".into())
        );
        assert_eq!(
            code(&put(&store, SHOP, 5, "b")),
            (409, "VERSION_NOT_NEWER".into())
        );
        assert_eq!(code(&put(&store, SHOP, 6, "a")).1, "ALREADY_CURRENT");
        assert_eq!(store.get(&pointer_key(SHOP)), before);
        put(&store, SHOP, 6, "b");
        answer(rollback(&store, SHOP, None, 0));
        assert_eq!(current(&store, SHOP), (5, vec![6]));
        let r = put(&store, SHOP, 6, "c");
        assert_eq!(code(&r), (409, "VERSION_REUSED".into()));
        // The very snapshot that was rolled back from may be published again.
        assert_eq!(put(&store, SHOP, 6, "b").status, 201);
        assert_eq!(current(&store, SHOP), (6, vec![5]));
    }

    #[test]
    fn corrupt_or_foreign_snapshots_are_refused_with_a_reason() {
        let store = MemoryStore::default();
        let mut bytes = snapshot_bytes(SHOP, 1, "a");
        let n = bytes.len();
        bytes[n - 2] ^= 0x55;
        let r = answer(publish(&store, SHOP, &bytes, 0));
        assert_eq!(code(&r), (400, "INVALID_SNAPSHOT".into()));
        assert!(r.body_json()["errorDetails"]
            .as_str()
            .unwrap()
            .contains("digest mismatch"));
        let r = answer(publish(&store, SHOP, b"hello", 0));
        assert_eq!(code(&r), (400, "INVALID_SNAPSHOT".into()));
        let r = answer(publish(&store, SHOP, &snapshot_bytes(MEDIA, 1, "a"), 0));
        assert_eq!(code(&r), (400, "TENANT_MISMATCH".into()));
        assert!(store.is_empty());
    }

    #[test]
    fn oversized_snapshots_are_413() {
        let store = MemoryStore::default();
        let big = vec![0u8; MAX_SNAPSHOT_BYTES + 1];
        assert_eq!(
            code(&answer(publish(&store, SHOP, &big, 0))),
            (413, "PAYLOAD_TOO_LARGE".into())
        );
    }

    #[test]
    fn a_key_owned_by_another_tenant_is_refused() {
        let store = MemoryStore::default();
        put(&store, MEDIA, 1, "m");
        let body = vane_resolver::Body {
            flags: vec![],
            clients: vec![Client {
                name: "thief".into(),
                key_digests: vec![crate::auth::key_digest("key-media")],
            }],
            cors_origins: vec![],
            metadata: Default::default(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        };
        let bytes = Snapshot::encode(SHOP, 1, 0, "test", &body).unwrap();
        let r = answer(publish(&store, SHOP, &bytes, 0));
        assert_eq!(code(&r), (409, "KEY_CONFLICT".into()));
        assert!(r.body_json()["errorDetails"]
            .as_str()
            .unwrap()
            .contains("belongs to tenant \"media\""));
        assert_eq!(block_on(store.pointer(SHOP)), Ok(None));
    }

    #[test]
    fn rollback_moves_to_the_previous_version_and_records_history() {
        let store = MemoryStore::default();
        for v in 1..=3 {
            put(&store, SHOP, v, &format!("v{v}"));
        }
        let r = answer(rollback(&store, SHOP, None, 500));
        assert_eq!(r.status, 200);
        assert_eq!(r.body_json()["version"], 2);
        assert_eq!(r.body_json()["rolled_back_from"]["version"], 3);
        let p = block_on(store.pointer(SHOP)).unwrap().unwrap();
        assert_eq!(
            (p.current.version, p.current.via, p.current.activated_at),
            (2, Via::Rollback, 500)
        );
        assert_eq!(current(&store, SHOP), (2, vec![3, 1]));
        answer(rollback(&store, SHOP, None, 501));
        assert_eq!(current(&store, SHOP), (1, vec![2, 3]));
        let r = answer(rollback(&store, SHOP, None, 502));
        assert_eq!(code(&r), (409, "NOTHING_TO_ROLL_BACK".into()));
    }

    #[test]
    fn rollback_to_a_digest_prefix() {
        let store = MemoryStore::default();
        for v in 1..=3 {
            put(&store, SHOP, v, &format!("v{v}"));
        }
        let d1 = Snapshot::from_bytes(&snapshot_bytes(SHOP, 1, "v1"))
            .unwrap()
            .info
            .digest;
        let r = answer(rollback(&store, SHOP, Some(&d1[..10]), 0));
        assert_eq!(
            (r.status, r.body_json()["version"].clone()),
            (200, json!(1))
        );
        let r = answer(rollback(&store, SHOP, Some(&d1[..10]), 0));
        assert_eq!(code(&r), (409, "ALREADY_CURRENT".into()));
        let r = answer(rollback(&store, SHOP, Some("00000000"), 0));
        assert_eq!(code(&r), (404, "UNKNOWN_DIGEST".into()));
        let r = answer(rollback(&store, "ghost", None, 0));
        assert_eq!(code(&r), (404, "NO_SNAPSHOT".into()));
    }

    #[test]
    fn rollback_refuses_a_corrupt_stored_snapshot() {
        let store = MemoryStore::default();
        put(&store, SHOP, 1, "v1");
        put(&store, SHOP, 2, "v2");
        let d1 = Snapshot::from_bytes(&snapshot_bytes(SHOP, 1, "v1"))
            .unwrap()
            .info
            .digest;
        store.set(&snapshot_key(SHOP, &d1), b"garbage");
        let r = answer(rollback(&store, SHOP, None, 0));
        assert_eq!(code(&r), (409, "SNAPSHOT_UNUSABLE".into()));
        assert_eq!(current(&store, SHOP), (2, vec![1]));
    }

    #[test]
    fn history_is_capped() {
        let store = MemoryStore::default();
        for v in 1..=15 {
            put(&store, SHOP, v, &format!("v{v}"));
        }
        let (cur, hist) = current(&store, SHOP);
        assert_eq!(cur, 15);
        assert_eq!(hist, (5..=14).rev().collect::<Vec<_>>());
    }

    #[test]
    fn store_failures_are_503_and_change_nothing() {
        let store = MemoryStore::default();
        put(&store, SHOP, 1, "v1");
        store.fail_writes(true);
        let r = put(&store, SHOP, 2, "v2");
        assert_eq!(code(&r), (503, "STORE_UNAVAILABLE".into()));
        store.fail_writes(false);
        assert_eq!(current(&store, SHOP), (1, vec![]));
        store.fail_reads(true);
        assert_eq!(code(&answer(status(&store, SHOP))).0, 503);
    }

    #[test]
    fn status_shows_current_and_history() {
        let store = MemoryStore::default();
        assert_eq!(
            code(&answer(status(&store, SHOP))),
            (404, "NO_SNAPSHOT".into())
        );
        put(&store, SHOP, 1, "v1");
        put(&store, SHOP, 2, "v2");
        let body = answer(status(&store, SHOP)).body_json();
        assert_eq!(body["tenant"], "shop");
        assert_eq!(body["current"]["version"], 2);
        assert_eq!(body["current"]["via"], "publish");
        assert_eq!(body["history"][0]["version"], 1);
    }

    /// A snapshot of `tenant` whose one client has the key `key`.
    fn with_key(tenant: &str, version: u64, key: &str) -> Vec<u8> {
        let body = vane_resolver::Body {
            flags: vec![],
            clients: vec![Client {
                name: "web".into(),
                key_digests: vec![crate::auth::key_digest(key)],
            }],
            cors_origins: vec![],
            metadata: Default::default(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        };
        Snapshot::encode(tenant, version, 0, "test", &body).unwrap()
    }

    #[test]
    fn two_tenants_racing_for_one_key_exactly_one_wins() {
        // Every store access waits once, so the two publishes (each in its
        // own tenant's object) interleave at every step.
        let store = MemoryStore::default();
        store.yield_on_access(true);
        let (a, b) = (with_key(SHOP, 1, "shared"), with_key(MEDIA, 1, "shared"));
        let answers = run_all(vec![
            Box::pin(publish(&store, SHOP, &a, 0))
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(publish(&store, MEDIA, &b, 0)),
        ]);
        let codes: Vec<_> = answers
            .into_iter()
            .map(|r| r.map(|r| r.status).map_err(|e| e.code().as_str()))
            .collect();
        assert_eq!(codes, vec![Ok(201), Err("KEY_CONFLICT")]);
        let digest = hex(&crate::auth::key_digest("shared").0);
        assert_eq!(block_on(store.key_owner(&digest)), Ok(Some(SHOP.into())));
        assert_eq!(block_on(store.pointer(MEDIA)), Ok(None));
    }

    #[test]
    fn a_publish_failing_at_any_write_leaves_old_or_new_and_a_retry_converges() {
        let v2 = Snapshot::from_bytes(&snapshot_bytes(SHOP, 2, "b")).unwrap();
        let key = hex(&crate::auth::key_digest("key-shop").0);
        // Writes of a publish: snapshot, claim, pointer, key entry, edge pointer.
        for n in 1..=5 {
            let store = MemoryStore::default();
            put(&store, SHOP, 1, "a");
            store.fail_write_number(n);
            let r = put(&store, SHOP, 2, "b");
            let details = r.body_json()["errorDetails"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            assert_eq!(code(&r), (503, "STORE_UNAVAILABLE".into()), "write {n}");
            let authority = store.authority(SHOP).unwrap().current.version;
            let edge = block_on(store.pointer(SHOP))
                .unwrap()
                .unwrap()
                .current
                .version;
            // The edge is never ahead of the authority, each names a stored
            // snapshot, and the message says which state was left.
            assert!(
                edge <= authority,
                "write {n}: edge {edge}, authority {authority}"
            );
            if authority == 1 {
                assert!(
                    details.contains("nothing was made current"),
                    "write {n}: {details}"
                );
            } else {
                assert!(
                    details.contains("the edge serves the previous snapshot"),
                    "write {n}: {details}"
                );
            }
            assert!(
                store
                    .get(&crate::store::snapshot_key(SHOP, &v2.info.digest))
                    .is_some()
                    || authority == 1
            );
            // Retrying (through the admin pipeline, as the Durable Object
            // does) converges: authority and edge on version 2.
            let retry = block_on(crate::pipeline::admin::serve_admin(
                &store,
                &crate::route::AdminRoute::Publish {
                    tenant: SHOP.into(),
                },
                &snapshot_bytes(SHOP, 2, "b"),
                &Default::default(),
                0,
                "retry",
            ));
            let expected = if authority == 2 { 409 } else { 201 };
            assert_eq!(
                retry.reply.status,
                expected,
                "write {n}: {:?}",
                retry.reply.body_json()
            );
            assert_eq!(store.authority(SHOP).unwrap().current.version, 2);
            assert_eq!(
                block_on(store.pointer(SHOP)).unwrap(),
                store.authority(SHOP)
            );
            assert_eq!(block_on(store.key_owner(&key)), Ok(Some(SHOP.into())));
        }
    }

    #[test]
    fn any_admin_request_brings_a_lagging_edge_copy_up() {
        let store = MemoryStore::default();
        put(&store, SHOP, 1, "a");
        store.fail_write_number(5); // the edge pointer of v2
        assert_eq!(put(&store, SHOP, 2, "b").status, 503);
        assert_eq!(
            block_on(store.pointer(SHOP))
                .unwrap()
                .unwrap()
                .current
                .version,
            1
        );
        assert_eq!(block_on(sync_edge(&store, SHOP)), Ok(()));
        assert_eq!(
            block_on(store.pointer(SHOP)).unwrap(),
            store.authority(SHOP)
        );
        let reads = store.reads();
        assert_eq!(block_on(sync_edge(&store, SHOP)), Ok(()));
        assert_eq!(store.reads(), reads + 2, "in step: two reads, no writes");
    }
}
