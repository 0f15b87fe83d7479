//! The isolate cache: decoded snapshots and key-index answers kept in the
//! isolate's memory between requests.
//!
//! A cached snapshot is served without touching KV until it is older than
//! the TTL (`SNAPSHOT_TTL_SECONDS`, default 30 s); then the tenant's pointer
//! is read again, and only when it names another digest is that snapshot
//! fetched and decoded. Anything that goes wrong on the way — KV unreachable,
//! a pointer or snapshot that does not decode, a snapshot whose digest or
//! tenant is not what the pointer says — leaves the last good snapshot in
//! service and comes back as a warning for the log. A tenant with nothing
//! good cached gets no snapshot, which the caller answers with 503.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use vane_resolver::model::KeyDigest;
use vane_resolver::snapshot::hex;
use vane_resolver::Snapshot;

use crate::store::{SnapshotSource, StoreError};

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
}

struct KeyEntry {
    tenant: String,
    checked_at_ms: u64,
}

/// Per-isolate cache of snapshots by tenant and of key digests by owner.
/// Times are milliseconds on any monotonic-enough clock (the Workers `Date`).
#[derive(Default)]
pub struct Cache {
    tenants: RefCell<HashMap<String, TenantEntry>>,
    keys: RefCell<HashMap<[u8; 32], KeyEntry>>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// The tenant owning a client key digest, from the cache while younger
    /// than `ttl_ms`, else from the key index. Unknown keys are not cached.
    /// When the index cannot be read, a cached answer of any age is used.
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
            return Ok(Some(tenant.clone()));
        }
        match source.key_owner(&hex(&digest.0)).await {
            Ok(Some(tenant)) => {
                self.keys.borrow_mut().insert(
                    digest.0,
                    KeyEntry {
                        tenant: tenant.clone(),
                        checked_at_ms: now_ms,
                    },
                );
                Ok(Some(tenant))
            }
            Ok(None) => {
                self.keys.borrow_mut().remove(&digest.0);
                Ok(None)
            }
            Err(e) => match cached {
                Some((tenant, _)) => Ok(Some(tenant)),
                None => Err(e),
            },
        }
    }

    /// The snapshot to serve for `tenant`: the cached one while younger than
    /// `ttl_ms`, else whatever the tenant's pointer names (fetched and
    /// verified only when it changed), else the last good one.
    pub async fn snapshot<S: SnapshotSource>(
        &self,
        source: &S,
        tenant: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Lookup {
        let cached = self.tenants.borrow().get(tenant).map(|e| {
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
        let last_good = cached.map(|(s, _)| s);
        match self.refresh(source, tenant, last_good.as_ref()).await {
            Ok(fresh) => {
                self.tenants.borrow_mut().insert(
                    tenant.to_owned(),
                    TenantEntry {
                        snapshot: fresh.clone(),
                        checked_at_ms: now_ms,
                    },
                );
                Lookup {
                    snapshot: Some(fresh),
                    warning: None,
                }
            }
            Err(problem) => {
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
        }
    }

    /// Reads the pointer and, when it names a snapshot (digest and version)
    /// other than `current`,
    /// fetches and verifies that snapshot. Errors say what is wrong with
    /// which tenant.
    async fn refresh<S: SnapshotSource>(
        &self,
        source: &S,
        tenant: &str,
        current: Option<&Rc<Snapshot>>,
    ) -> Result<Rc<Snapshot>, String> {
        let pointer = source
            .pointer(tenant)
            .await
            .map_err(|e| format!("cannot read the pointer of tenant {tenant:?}: {e}"))?
            .ok_or_else(|| format!("tenant {tenant:?} has no published snapshot"))?;
        let digest = &pointer.current.digest;
        // The same rules republished under a new version keep their digest
        // (it covers the body only), so the version must match too.
        if let Some(current) = current
            .filter(|c| &c.info.digest == digest && c.info.version == pointer.current.version)
        {
            return Ok(current.clone());
        }
        let bytes = source
            .snapshot(tenant, digest)
            .await
            .map_err(|e| format!("cannot read snapshot {digest} of tenant {tenant:?}: {e}"))?
            .ok_or_else(|| format!("snapshot {digest} of tenant {tenant:?} is missing from KV"))?;
        let snapshot = Snapshot::from_bytes(&bytes)
            .map_err(|e| format!("snapshot {digest} of tenant {tenant:?} is unusable: {e}"))?;
        snapshot
            .expect_tenant(tenant)
            .map_err(|e| format!("snapshot {digest} stored for tenant {tenant:?}: {e}"))?;
        if &snapshot.info.digest != digest {
            return Err(format!(
                "snapshot stored as {digest} for tenant {tenant:?} has digest {}",
                snapshot.info.digest
            ));
        }
        Ok(Rc::new(snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::publish;
    use crate::auth::key_digest;
    use crate::store::{pointer_key, snapshot_key};
    use crate::testutil::{block_on, client_key, snapshot_bytes, MemoryStore, SHOP};

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
}
