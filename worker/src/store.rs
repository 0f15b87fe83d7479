//! Where snapshots live: the Workers KV layout, the tenant pointer, and the
//! store interfaces the cache and the admin API work against.
//!
//! KV layout (one namespace, binding `SNAPSHOTS`):
//!
//! | key | value |
//! |---|---|
//! | `snap/{tenant}/{digest}` | snapshot bytes, immutable (the digest names the content) |
//! | `tenant/{tenant}` | [`Pointer`] as JSON: current snapshot and recent history |
//! | `key/{sha256 of a client key, hex}` | the tenant that owns that key, as text |
//!
//! KV is only the edge's read copy. The authorities are strongly consistent
//! Durable Objects: the tenant's own object holds its pointer, and one
//! registry object owns every client key digest (a claim of several digests
//! succeeds or fails whole, so two tenants racing for a key cannot both win).
//!
//! A publish or rollback writes, in this order: the snapshot (immutable,
//! named by its digest; unreferenced until a pointer names it), the key
//! claims (registry), the pointer (tenant's object: the commit point), then
//! the edge copy (`key/…` entries, then `tenant/…`). A failure before the
//! commit point leaves the tenant serving what it served (claimed keys stay
//! reserved to it); a failure after it leaves the edge on the previous
//! snapshot until the next admin request of the tenant, which first brings
//! the edge copy up to the authority ([`crate::admin::sync_edge`]). So a
//! reader that sees a pointer always finds the snapshot it names, the edge
//! is never ahead of the authority, and a retried request converges. Key
//! claims are never released: a key digest stays bound to the tenant that
//! first claimed it, and a rollback to an older snapshot finds its keys
//! still its own.

use std::fmt;

use serde::{Deserialize, Serialize};

/// KV key of a snapshot blob.
pub fn snapshot_key(tenant: &str, digest: &str) -> String {
    format!("snap/{tenant}/{digest}")
}

/// KV key of a tenant's pointer.
pub fn pointer_key(tenant: &str) -> String {
    format!("tenant/{tenant}")
}

/// KV key of a key-index entry; `digest` is the key's sha256 in lowercase hex.
pub fn key_index_key(digest: &str) -> String {
    format!("key/{digest}")
}

/// How a snapshot became current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `PUT /admin/v1/tenants/{t}/snapshot`.
    Publish,
    /// `POST /admin/v1/tenants/{t}/rollback`.
    Rollback,
}

/// One snapshot that is or was a tenant's current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Snapshot digest, lowercase hex (64 chars).
    pub digest: String,
    /// Snapshot version.
    pub version: u64,
    /// When it became current, Unix seconds.
    pub activated_at: u64,
    /// How it became current.
    pub via: Via,
}

/// A tenant's pointer (`tenant/{tenant}`): the snapshot the worker serves
/// and the ones served before it, most recent first, at most
/// [`crate::limits::HISTORY_LEN`], each digest at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// Tenant name.
    pub tenant: String,
    /// The snapshot being served.
    pub current: Entry,
    /// Earlier current snapshots, most recent first.
    pub history: Vec<Entry>,
}

impl Pointer {
    /// Parses a pointer read from storage.
    ///
    /// Errors: [`StoreError`] naming the tenant when the JSON does not have
    /// the pointer's shape.
    pub fn from_json(tenant: &str, bytes: &[u8]) -> Result<Pointer, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError(format!("pointer of tenant {tenant:?} is corrupt: {e}")))
    }

    /// The pointer as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A storage failure (KV or Durable Object storage unreachable, a value that
/// does not decode), with a message saying what failed and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Read access to snapshots: what the OFREP path needs.
#[allow(async_fn_in_trait)] // one thread per isolate: futures need not be Send
pub trait SnapshotSource {
    /// The tenant's pointer; `None` when the tenant has never published.
    async fn pointer(&self, tenant: &str) -> Result<Option<Pointer>, StoreError>;
    /// The bytes of `snap/{tenant}/{digest}`; `None` when absent.
    async fn snapshot(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The tenant owning a client key digest (hex); `None` when unknown.
    async fn key_owner(&self, digest: &str) -> Result<Option<String>, StoreError>;
    /// The raw `TRUSTED_PUBLISHER_KEYS` configuration that snapshots read
    /// from this source must satisfy ([`crate::signing`]); `None` when unset.
    fn trusted_publisher_keys(&self) -> Option<&str>;
}

/// The answer of the key registry to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Every digest is now the tenant's (some may have been already).
    Granted,
    /// This digest belongs to another tenant; nothing was claimed.
    Conflict {
        /// Key digest, hex.
        digest: String,
        /// Its owner.
        owner: String,
    },
}

/// What the admin API needs beyond the edge's reads ([`SnapshotSource`]
/// reads the KV copy), in the order a publish uses it.
#[allow(async_fn_in_trait)]
pub trait AdminStore: SnapshotSource {
    /// The tenant's authoritative pointer (its Durable Object's storage).
    async fn current(&self, tenant: &str) -> Result<Option<Pointer>, StoreError>;
    /// Stores snapshot bytes under `snap/{tenant}/{digest}`.
    async fn put_snapshot(
        &self,
        tenant: &str,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    /// Claims client key digests (hex) for `tenant` in the registry, all or
    /// none.
    async fn claim_keys(&self, tenant: &str, digests: &[String]) -> Result<Claim, StoreError>;
    /// Replaces the tenant's authoritative pointer (the commit point).
    async fn put_pointer(&self, pointer: &Pointer) -> Result<(), StoreError>;
    /// Writes the edge's copy: `key/{digest}` → tenant for each digest,
    /// then `tenant/{tenant}` → the pointer.
    async fn put_edge_copy(&self, pointer: &Pointer, digests: &[String]) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_keys() {
        assert_eq!(snapshot_key("shop", "ab12"), "snap/shop/ab12");
        assert_eq!(pointer_key("shop"), "tenant/shop");
        assert_eq!(key_index_key("ab12"), "key/ab12");
    }

    #[test]
    fn pointer_json_round_trip_and_corruption() {
        let p = Pointer {
            tenant: "shop".into(),
            current: Entry {
                digest: "d2".into(),
                version: 2,
                activated_at: 100,
                via: Via::Rollback,
            },
            history: vec![],
        };
        let bytes = p.to_json();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"tenant":"shop","current":{"digest":"d2","version":2,"activated_at":100,"via":"rollback"},"history":[]}"#
        );
        assert_eq!(Pointer::from_json("shop", &bytes), Ok(p));
        let err = Pointer::from_json("shop", b"{").unwrap_err();
        assert!(
            err.0.starts_with("pointer of tenant \"shop\" is corrupt: "),
            "{err}"
        );
    }
}
