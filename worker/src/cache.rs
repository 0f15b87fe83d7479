//! The isolate cache: decoded snapshots and key-index answers kept in the
//! isolate's memory between requests, both bounded.
//!
//! A cached snapshot is served without touching KV until it is older than
//! the TTL (`SNAPSHOT_TTL_SECONDS`, default 30 s); then the tenant's pointer
//! is read again, and only when it names another digest is that snapshot
//! fetched and decoded. One request at a time refreshes a tenant: requests
//! that arrive meanwhile are served the cached snapshot (stale by at most
//! the refresh's own KV reads) instead of waiting. They must not wait for
//! the refreshing request: workerd cancels a request whose only pending
//! wake-up would come from another request's I/O ("the Worker's code had
//! hung", answered 500; `docs/hardening.md`). So a tenant with nothing
//! cached yet (a cold isolate) is loaded by each of its first concurrent
//! requests on its own. Anything
//! that goes wrong on the way — KV unreachable, a pointer or snapshot that
//! does not decode, a snapshot whose digest or tenant is not what the
//! pointer says — leaves the last good snapshot in service and comes back as
//! a warning for the log. A pointer that is definitely not there (the tenant
//! was offboarded) drops the tenant's entry. A tenant with nothing good
//! cached gets no snapshot, which the caller answers with 503.
//!
//! Snapshots are held up to a budget of [`SNAPSHOT_CACHE_BYTES`] of decoded
//! memory, estimated as [`DECODED_BYTES_PER_ENCODED_BYTE`] times each
//! snapshot's encoded size, least recently used evicted first; the
//! snapshot just loaded is always kept. Key answers, unknown keys included
//! (a negative entry, so a stream of made-up keys costs one KV read per key
//! and TTL, not per request), are held up to [`MAX_KEY_ENTRIES`], the
//! oldest evicted first.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use vane_resolver::model::KeyDigest;
use vane_resolver::snapshot::hex;
use vane_resolver::{Snapshot, SnapshotBytes};

use crate::limits::{DECODED_BYTES_PER_ENCODED_BYTE, MAX_KEY_ENTRIES, SNAPSHOT_CACHE_BYTES};
use crate::store::{SnapshotSource, StoreError};
use crate::{body_digest, signing};

/// What [`Cache::snapshot`] found.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The snapshot to serve; `None` when the tenant has no usable one.
    pub snapshot: Option<Rc<Snapshot>>,
    /// Why the snapshot is older than KV's, or why there is none, for the log.
    pub warning: Option<String>,
}

struct TenantEntry {
    snapshot: Rc<Snapshot>,
    checked_at_ms: u64,
    bytes: usize,
    last_used: u64,
}

struct KeyEntry {
    /// `None`: the key index does not know the key.
    tenant: Option<String>,
    checked_at_ms: u64,
}

/// Why a refresh gave no new snapshot.
enum Problem {
    /// The tenant has no pointer: nothing to serve, drop what is cached.
    Gone(String),
    /// Anything else: keep the last good snapshot.
    Failed(String),
}

/// Removes a tenant's refresh mark when the refreshing request ends,
/// finished or cancelled, so the next request after it refreshes again.
struct Refreshing<'c> {
    cache: &'c Cache,
    tenant: String,
}

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.cache.refreshing.borrow_mut().remove(&self.tenant);
    }
}

/// Per-isolate cache of snapshots by tenant and of key digests by owner.
/// Times are milliseconds on any monotonic-enough clock (the Workers `Date`).
pub struct Cache {
    tenants: RefCell<HashMap<String, TenantEntry>>,
    keys: RefCell<HashMap<[u8; 32], KeyEntry>>,
    refreshing: RefCell<HashSet<String>>,
    budget_bytes: usize,
    used_bytes: Cell<usize>,
    uses: Cell<u64>,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::with_budget(SNAPSHOT_CACHE_BYTES)
    }
}

impl Cache {
    /// An empty cache with the default budget.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// An empty cache holding snapshots of at most `budget_bytes` (estimated
    /// decoded sizes) in total, beyond the one most recently loaded.
    pub fn with_budget(budget_bytes: usize) -> Cache {
        Cache {
            tenants: RefCell::default(),
            keys: RefCell::default(),
            refreshing: RefCell::default(),
            budget_bytes,
            used_bytes: Cell::new(0),
            uses: Cell::new(0),
        }
    }

    /// Estimated decoded bytes of the snapshots held.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes.get()
    }

    /// The tenant owning a client key digest, from the cache while younger
    /// than `ttl_ms` (unknown keys too), else from the key index. When the
    /// index cannot be read, a cached answer of any age is used.
    ///
    /// Errors: the store's error when the index cannot be read and nothing
    /// is cached for this key.
    pub async fn key_owner<S: SnapshotSource>(
        &self,
        source: &S,
        digest: &KeyDigest,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        let cached = self.keys.borrow().get(&digest.0).map(|e| {
            (
                e.tenant.clone(),
                now_ms.saturating_sub(e.checked_at_ms) < ttl_ms,
            )
        });
        if let Some((tenant, true)) = &cached {
            return Ok(tenant.clone());
        }
        match source.key_owner(&hex(&digest.0)).await {
            Ok(tenant) => {
                let mut keys = self.keys.borrow_mut();
                if keys.len() >= MAX_KEY_ENTRIES && !keys.contains_key(&digest.0) {
                    let oldest = keys
                        .iter()
                        .min_by_key(|(_, e)| e.checked_at_ms)
                        .map(|(k, _)| *k);
                    if let Some(oldest) = oldest {
                        keys.remove(&oldest);
                    }
                }
                let entry = KeyEntry {
                    tenant: tenant.clone(),
                    checked_at_ms: now_ms,
                };
                keys.insert(digest.0, entry);
                Ok(tenant)
            }
            Err(e) => match cached {
                Some((tenant, _)) => Ok(tenant),
                None => Err(e),
            },
        }
    }

    /// The snapshot to serve for `tenant`: the cached one while younger than
    /// `ttl_ms`, else whatever the tenant's pointer names (fetched and
    /// verified only when it changed, by one request at a time), else the
    /// last good one; none when the tenant has no pointer.
    pub async fn snapshot<S: SnapshotSource>(
        &self,
        source: &S,
        tenant: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Lookup {
        let use_count = self.uses.get() + 1;
        self.uses.set(use_count);
        let cached = self.tenants.borrow_mut().get_mut(tenant).map(|e| {
            e.last_used = use_count;
            (
                e.snapshot.clone(),
                now_ms.saturating_sub(e.checked_at_ms) < ttl_ms,
            )
        });
        if let Some((snapshot, true)) = &cached {
            return Lookup {
                snapshot: Some(snapshot.clone()),
                warning: None,
            };
        }
        // A snapshot the trust configuration no longer admits (its signer's
        // key was removed) is not served, not even as the last good one.
        let last_good = cached
            .map(|(s, _)| s)
            .filter(|s| signing::admit(source, &s.info).is_ok());
        if self.refreshing.borrow().contains(tenant) {
            if let Some(stale) = &last_good {
                return Lookup {
                    snapshot: Some(stale.clone()),
                    warning: None,
                };
            }
        }
        let _refreshing = self
            .refreshing
            .borrow_mut()
            .insert(tenant.to_owned())
            .then(|| Refreshing {
                cache: self,
                tenant: tenant.to_owned(),
            });
        let lookup = match self.refresh(source, tenant, last_good.as_ref()).await {
            Ok((fresh, bytes)) => {
                self.keep(tenant, fresh.clone(), bytes, now_ms, use_count);
                Lookup {
                    snapshot: Some(fresh),
                    warning: None,
                }
            }
            Err(Problem::Gone(why)) => {
                if let Some(old) = self.tenants.borrow_mut().remove(tenant) {
                    self.used_bytes.set(self.used_bytes.get() - old.bytes);
                }
                Lookup {
                    snapshot: None,
                    warning: Some(why),
                }
            }
            Err(Problem::Failed(problem)) => {
                // Keep serving what we have; look again after another TTL.
                if let Some(entry) = self.tenants.borrow_mut().get_mut(tenant) {
                    entry.checked_at_ms = now_ms;
                }
                let warning = match &last_good {
                    Some(s) => format!(
                        "{problem}; still serving version {} ({})",
                        s.info.version, s.info.digest
                    ),
                    None => problem,
                };
                Lookup {
                    snapshot: last_good,
                    warning: Some(warning),
                }
            }
        };
        lookup
    }

    /// Holds `snapshot` for `tenant`, then evicts the least recently used
    /// other tenants while the total is over the budget.
    fn keep(&self, tenant: &str, snapshot: Rc<Snapshot>, bytes: usize, now_ms: u64, used: u64) {
        let mut tenants = self.tenants.borrow_mut();
        let entry = TenantEntry {
            snapshot,
            checked_at_ms: now_ms,
            bytes,
            last_used: used,
        };
        let mut total = self.used_bytes.get() + bytes;
        if let Some(old) = tenants.insert(tenant.to_owned(), entry) {
            total -= old.bytes;
        }
        while total > self.budget_bytes {
            let victim = tenants
                .iter()
                .filter(|(t, _)| t.as_str() != tenant)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(t, _)| t.clone());
            let Some(victim) = victim else { break };
            if let Some(old) = tenants.remove(&victim) {
                total -= old.bytes;
            }
        }
        self.used_bytes.set(total);
    }

    /// Reads the pointer and, when it names a snapshot (digest and version)
    /// other than `current`, fetches and verifies that snapshot; returns it
    /// with its estimated decoded size. Errors say what is wrong with which
    /// tenant.
    async fn refresh<S: SnapshotSource>(
        &self,
        source: &S,
        tenant: &str,
        current: Option<&Rc<Snapshot>>,
    ) -> Result<(Rc<Snapshot>, usize), Problem> {
        let failed = Problem::Failed;
        let pointer = source
            .pointer(tenant)
            .await
            .map_err(|e| failed(format!("cannot read the pointer of tenant {tenant:?}: {e}")))?
            .ok_or_else(|| Problem::Gone(format!("tenant {tenant:?} has no published snapshot")))?;
        let digest = &pointer.current.digest;
        // The same rules republished under a new version keep their digest
        // (it covers the body only), so the version must match too.
        if let Some(current) = current
            .filter(|c| &c.info.digest == digest && c.info.version == pointer.current.version)
        {
            let bytes = self.tenants.borrow().get(tenant).map_or(0, |e| e.bytes);
            return Ok((current.clone(), bytes));
        }
        let bytes = source
            .snapshot(tenant, digest)
            .await
            .map_err(|e| {
                failed(format!(
                    "cannot read snapshot {digest} of tenant {tenant:?}: {e}"
                ))
            })?
            .ok_or_else(|| {
                failed(format!(
                    "snapshot {digest} of tenant {tenant:?} is missing from KV"
                ))
            })?;
        // Opened, not decoded: each flag is decoded when a request first
        // needs it (the snapshot was checked whole when it was published).
        // The body is hashed by the host (`body_digest`), not in wasm.
        let unusable = |e: String| {
            failed(format!(
                "snapshot {digest} of tenant {tenant:?} is unusable: {e}"
            ))
        };
        let read = SnapshotBytes::read(&bytes).map_err(|e| unusable(e.to_string()))?;
        let body_sha256 = body_digest::sha256(read.body()).await.map_err(unusable)?;
        let snapshot = read
            .open(body_sha256)
            .map_err(|e| unusable(e.to_string()))?;
        snapshot.expect_tenant(tenant).map_err(|e| {
            failed(format!(
                "snapshot {digest} stored for tenant {tenant:?}: {e}"
            ))
        })?;
        if &snapshot.info.digest != digest {
            return Err(failed(format!(
                "snapshot stored as {digest} for tenant {tenant:?} has digest {}",
                snapshot.info.digest
            )));
        }
        signing::admit(source, &snapshot.info).map_err(|e| {
            failed(format!(
                "snapshot {digest} of tenant {tenant:?} is not admitted: {e}"
            ))
        })?;
        let decoded = bytes.len().saturating_mul(DECODED_BYTES_PER_ENCODED_BYTE);
        Ok((Rc::new(snapshot), decoded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::publish;
    use crate::auth::key_digest;
    use crate::store::{pointer_key, snapshot_key};
    use crate::testutil::{
        block_on, client_key, run_all, snapshot_bytes, MemoryStore, MEDIA, SHOP,
    };

    fn published(versions: &[u64]) -> MemoryStore {
        let store = MemoryStore::default();
        for &v in versions {
            let r = block_on(publish(
                &store,
                SHOP,
                &snapshot_bytes(SHOP, v, &format!("v{v}")),
                0,
            ));
            assert_eq!(r.map(|r| r.status), Ok(201));
        }
        store
    }

    fn version(l: &Lookup) -> Option<u64> {
        l.snapshot.as_ref().map(|s| s.info.version)
    }

    #[test]
    fn serves_from_memory_within_the_ttl_then_follows_the_pointer() {
        let store = published(&[1]);
        let cache = Cache::new();
        let first = block_on(cache.snapshot(&store, SHOP, 1_000, 30_000));
        assert_eq!((version(&first), first.warning), (Some(1), None));
        block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, 2, "v2"), 0)).unwrap();
        let within = block_on(cache.snapshot(&store, SHOP, 30_999, 30_000));
        assert_eq!(version(&within), Some(1));
        let after = block_on(cache.snapshot(&store, SHOP, 31_000, 30_000));
        assert_eq!(version(&after), Some(2));
    }

    #[test]
    fn kv_failure_keeps_the_last_good_snapshot() {
        let store = published(&[1]);
        let cache = Cache::new();
        block_on(cache.snapshot(&store, SHOP, 0, 0));
        store.fail_reads(true);
        let l = block_on(cache.snapshot(&store, SHOP, 10, 0));
        assert_eq!(version(&l), Some(1));
        let w = l.warning.unwrap();
        assert!(
            w.starts_with("cannot read the pointer of tenant \"shop\": KV unreachable"),
            "{w}"
        );
        assert!(w.contains("still serving version 1"), "{w}");
    }

    #[test]
    fn the_same_rules_republished_under_a_new_version_are_reloaded() {
        // A v1, then B v2 and A again as v3 between two looks of this
        // isolate: the pointer names A's digest both times, but the version
        // (and the envelope stored under that digest) changed.
        let store = MemoryStore::default();
        let cache = Cache::new();
        let ok = |v: u64, banner: &str| {
            let r = block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, v, banner), 0));
            assert_eq!(r.map(|r| r.status), Ok(201));
        };
        ok(1, "a");
        assert_eq!(
            version(&block_on(cache.snapshot(&store, SHOP, 0, 0))),
            Some(1)
        );
        ok(2, "b");
        ok(3, "a");
        assert_eq!(
            version(&block_on(cache.snapshot(&store, SHOP, 1, 0))),
            Some(3)
        );
    }

    #[test]
    fn corrupt_pointer_or_snapshot_keeps_the_last_good_snapshot() {
        let store = published(&[1]);
        let cache = Cache::new();
        block_on(cache.snapshot(&store, SHOP, 0, 0));

        store.set(&pointer_key(SHOP), b"{not json");
        let l = block_on(cache.snapshot(&store, SHOP, 1, 0));
        assert_eq!(version(&l), Some(1));
        assert!(l.warning.unwrap().contains("is corrupt"));

        let store = published(&[1, 2]);
        let cache = Cache::new();
        block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, 3, "v3"), 0)).unwrap();
        let v3 = vane_resolver::Snapshot::from_bytes(&snapshot_bytes(SHOP, 3, "v3")).unwrap();
        // Prime the cache with v3, then corrupt a newer snapshot's bytes.
        assert_eq!(
            version(&block_on(cache.snapshot(&store, SHOP, 0, 0))),
            Some(3)
        );
        block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, 4, "v4"), 0)).unwrap();
        let v4 = vane_resolver::Snapshot::from_bytes(&snapshot_bytes(SHOP, 4, "v4")).unwrap();
        let mut bad = snapshot_bytes(SHOP, 4, "v4");
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        store.set(&snapshot_key(SHOP, &v4.info.digest), &bad);
        let l = block_on(cache.snapshot(&store, SHOP, 1, 0));
        assert_eq!(l.snapshot.unwrap().info.digest, v3.info.digest);
        let w = l.warning.unwrap();
        assert!(
            w.contains(&format!(
                "snapshot {} of tenant \"shop\" is unusable",
                v4.info.digest
            )),
            "{w}"
        );
    }

    #[test]
    fn snapshot_of_another_tenant_under_this_tenants_key_is_refused() {
        let store = published(&[1]);
        let cache = Cache::new();
        let digest = block_on(cache.snapshot(&store, SHOP, 0, 0))
            .snapshot
            .unwrap()
            .info
            .digest
            .clone();
        store.set(
            &snapshot_key(SHOP, &digest),
            &snapshot_bytes("media", 1, "v1"),
        );
        let fresh = Cache::new();
        let l = block_on(fresh.snapshot(&store, SHOP, 0, 0));
        assert!(l.snapshot.is_none());
        assert!(l.warning.unwrap().contains("belongs to tenant \"media\""));
    }

    #[test]
    fn no_snapshot_at_all_says_which_tenant() {
        let store = MemoryStore::default();
        let l = block_on(Cache::new().snapshot(&store, "ghost", 0, 30_000));
        assert!(l.snapshot.is_none());
        assert_eq!(
            l.warning.unwrap(),
            "tenant \"ghost\" has no published snapshot"
        );
    }

    #[test]
    fn key_owner_is_cached_and_survives_kv_failure() {
        let store = published(&[1]);
        let cache = Cache::new();
        let d = key_digest(&client_key(SHOP));
        assert_eq!(
            block_on(cache.key_owner(&store, &d, 0, 30_000)),
            Ok(Some(SHOP.into()))
        );
        store.fail_reads(true);
        assert_eq!(
            block_on(cache.key_owner(&store, &d, 10, 30_000)),
            Ok(Some(SHOP.into()))
        );
        assert_eq!(
            block_on(cache.key_owner(&store, &d, 60_000, 30_000)),
            Ok(Some(SHOP.into()))
        );
        let unknown = key_digest("nobody");
        assert!(block_on(cache.key_owner(&store, &unknown, 0, 30_000)).is_err());
        store.fail_reads(false);
        assert_eq!(
            block_on(cache.key_owner(&store, &unknown, 0, 30_000)),
            Ok(None)
        );
    }

    #[test]
    fn a_deleted_pointer_drops_the_cached_snapshot() {
        let store = published(&[1]);
        let cache = Cache::new();
        assert_eq!(
            version(&block_on(cache.snapshot(&store, SHOP, 0, 0))),
            Some(1)
        );
        store.remove(&pointer_key(SHOP));
        let l = block_on(cache.snapshot(&store, SHOP, 1, 0));
        assert_eq!(version(&l), None);
        assert_eq!(
            l.warning.as_deref(),
            Some("tenant \"shop\" has no published snapshot")
        );
        assert_eq!(cache.used_bytes(), 0);
        // A transient failure, by contrast, keeps it (see above).
    }

    #[test]
    fn unknown_keys_are_cached_for_the_ttl() {
        let store = published(&[1]);
        let cache = Cache::new();
        let nobody = key_digest("nobody");
        let before = store.reads();
        for now in [0, 10, 29_999] {
            assert_eq!(
                block_on(cache.key_owner(&store, &nobody, now, 30_000)),
                Ok(None)
            );
        }
        assert_eq!(store.reads(), before + 1);
        assert_eq!(
            block_on(cache.key_owner(&store, &nobody, 30_000, 30_000)),
            Ok(None)
        );
        assert_eq!(store.reads(), before + 2);
    }

    #[test]
    fn key_answers_are_bounded() {
        let store = MemoryStore::default();
        let cache = Cache::new();
        for i in 0..MAX_KEY_ENTRIES + 5 {
            let d = key_digest(&format!("k{i}"));
            block_on(cache.key_owner(&store, &d, i as u64, 1_000_000)).unwrap();
        }
        assert_eq!(cache.keys.borrow().len(), MAX_KEY_ENTRIES);
        // The oldest went first.
        assert!(!cache.keys.borrow().contains_key(&key_digest("k0").0));
        assert!(cache.keys.borrow().contains_key(&key_digest("k5").0));
    }

    #[test]
    fn snapshots_are_held_within_the_budget_least_recently_used_out_first() {
        let store = MemoryStore::default();
        let tenants = ["t-a", "t-b", "t-c"];
        for t in tenants {
            block_on(publish(&store, t, &snapshot_bytes(t, 1, "x"), 0)).unwrap();
        }
        let size = snapshot_bytes("t-a", 1, "x").len() * DECODED_BYTES_PER_ENCODED_BYTE;
        let cache = Cache::with_budget(2 * size);
        let load = |t: &str, now: u64| block_on(cache.snapshot(&store, t, now, 1_000_000));
        load("t-a", 0);
        load("t-b", 0);
        load("t-a", 0); // t-a used after t-b
        let before = store.reads();
        load("t-c", 0); // evicts t-b
        assert_eq!(cache.used_bytes(), 2 * size);
        assert_eq!(store.reads(), before + 2);
        load("t-a", 0);
        assert_eq!(store.reads(), before + 2, "t-a still held");
        assert_eq!(version(&load("t-b", 0)), Some(1));
        assert_eq!(store.reads(), before + 4, "t-b was evicted and read again");
        // A snapshot over the whole budget is still served and held alone.
        let tiny = Cache::with_budget(1);
        assert_eq!(
            version(&block_on(tiny.snapshot(&store, "t-a", 0, 1))),
            Some(1)
        );
        assert_eq!(tiny.used_bytes(), size);
        block_on(tiny.snapshot(&store, "t-b", 0, 1));
        assert_eq!(tiny.used_bytes(), size);
    }

    #[test]
    fn while_one_request_refreshes_the_others_are_served_the_cached_snapshot() {
        let store = published(&[1]);
        block_on(publish(&store, MEDIA, &snapshot_bytes(MEDIA, 1, "m"), 0)).unwrap();
        let cache = Cache::new();
        for tenant in [SHOP, MEDIA] {
            assert_eq!(
                version(&block_on(cache.snapshot(&store, tenant, 0, 30_000))),
                Some(1)
            );
        }
        block_on(publish(&store, SHOP, &snapshot_bytes(SHOP, 2, "s2"), 0)).unwrap();
        block_on(publish(&store, MEDIA, &snapshot_bytes(MEDIA, 2, "m2"), 0)).unwrap();
        store.yield_on_access(true);
        let reads = store.reads();
        let lookups = run_all(
            (0..10)
                .map(|i| {
                    cache.snapshot(
                        &store,
                        if i % 2 == 0 { SHOP } else { MEDIA },
                        60_000,
                        30_000,
                    )
                })
                .collect(),
        );
        let versions: Vec<_> = lookups.iter().map(version).collect();
        // The first request of each tenant refreshes and gets version 2; the
        // other four of each are answered at once from the cache (version 1)
        // instead of waiting on the refreshing request.
        assert_eq!(versions.iter().filter(|v| **v == Some(2)).count(), 2);
        assert_eq!(versions.iter().filter(|v| **v == Some(1)).count(), 8);
        assert!(lookups.iter().all(|l| l.warning.is_none()));
        // One pointer and one snapshot read per tenant, not per request.
        assert_eq!(store.reads() - reads, 4);
        assert!(cache.refreshing.borrow().is_empty());
        assert_eq!(
            version(&block_on(cache.snapshot(&store, SHOP, 60_001, 30_000))),
            Some(2)
        );
    }

    #[test]
    fn concurrent_cold_requests_each_load_without_waiting_on_another() {
        let store = published(&[1]);
        store.yield_on_access(true);
        let cache = Cache::new();
        let reads = store.reads();
        let lookups = run_all(
            (0..3)
                .map(|_| cache.snapshot(&store, SHOP, 0, 30_000))
                .collect(),
        );
        assert!(lookups
            .iter()
            .all(|l| version(l) == Some(1) && l.warning.is_none()));
        // Nothing to serve meanwhile, so each loads on its own: a pointer and
        // a snapshot read each, and no request's answer depends on another's.
        assert_eq!(store.reads() - reads, 6);
        assert!(cache.refreshing.borrow().is_empty());
    }
}
