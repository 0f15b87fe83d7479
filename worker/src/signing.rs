//! Which publishers a tenant trusts: the `TRUSTED_PUBLISHER_KEYS` variable
//! (or secret), and the check every decoded snapshot passes before it is
//! published or served (`docs/signing.md`).
//!
//! The value is a JSON object from a tenant name, or `"*"` for every tenant,
//! to a list of Ed25519 public keys (64 lowercase hex digits, as `vane
//! keygen` prints them):
//!
//! ```json
//! {"*": ["<key>"], "shop": ["<old key>", "<new key>"]}
//! ```
//!
//! A tenant requires signed snapshots when the object names it or has `"*"`;
//! its trusted keys are then the union of both lists, and a snapshot is
//! admitted only when it carries a valid signature (checked by
//! `Snapshot::from_bytes`) by one of them. Absent or empty, no tenant
//! requires signatures. Several keys at once allow rotation without a gap.

use std::collections::BTreeMap;

use vane_resolver::limits::TenantName;
use vane_resolver::signature::PUBLIC_KEY_BYTES;
use vane_resolver::snapshot::SnapshotInfo;

use crate::store::SnapshotSource;

/// The name of the variable or secret holding the trusted keys.
pub const TRUSTED_PUBLISHER_KEYS: &str = "TRUSTED_PUBLISHER_KEYS";
/// The key of the list that applies to every tenant.
pub const EVERY_TENANT: &str = "*";

/// Trusted publisher keys by tenant (`"*"`: every tenant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    by_tenant: BTreeMap<String, Vec<String>>,
}

/// Admits a decoded snapshot read from (or about to be written to)
/// `source` under the trust configuration `source` carries. Every place that
/// decodes a snapshot to publish, roll back to or serve calls this.
///
/// Errors: the refusal; [`SignatureRefusal::Misconfigured`] when the
/// configuration does not parse (then nothing is admitted, whatever the
/// tenant: a typo must not switch signatures off).
pub fn admit<S: SnapshotSource>(source: &S, info: &SnapshotInfo) -> Result<(), SignatureRefusal> {
    TrustedKeys::parse(source.trusted_publisher_keys())
        .map_err(|why| SignatureRefusal::Misconfigured { why })?
        .admit(info)
}

/// Why a snapshot was refused for its tenant's signature policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// `TRUSTED_PUBLISHER_KEYS` does not parse; carries the parse error.
    Misconfigured {
        /// What is wrong with it, located.
        why: String,
    },
    /// The tenant requires signatures and the snapshot carries none.
    Unsigned {
        /// The tenant.
        tenant: String,
    },
    /// The snapshot is validly signed, by a key the tenant does not trust.
    Untrusted {
        /// The tenant.
        tenant: String,
        /// The signer's public key, hex.
        signer: String,
    },
}

impl std::fmt::Display for SignatureRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureRefusal::Misconfigured { why } => {
                write!(f, "{why} (no snapshot is admitted until it is fixed)")
            }
            SignatureRefusal::Unsigned { tenant } => write!(
                f,
                "tenant {tenant:?} requires signed snapshots and this one is unsigned \
                 (vane build --sign KEY)"
            ),
            SignatureRefusal::Untrusted { tenant, signer } => write!(
                f,
                "the snapshot is signed by {signer}, which is not a trusted publisher key \
                 of tenant {tenant:?} ({TRUSTED_PUBLISHER_KEYS})"
            ),
        }
    }
}

impl TrustedKeys {
    /// Parses the variable's value; `None` or blank: no tenant requires
    /// signatures.
    ///
    /// Errors (prefixed with the variable's name and the JSON path): not a
    /// JSON object of lists of strings, a name that is neither `"*"` nor a
    /// tenant name, an empty list, or a key that is not 64 lowercase hex
    /// digits.
    pub fn parse(value: Option<&str>) -> Result<TrustedKeys, String> {
        let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(TrustedKeys::default());
        };
        let err = |path: &str, what: &str| format!("{TRUSTED_PUBLISHER_KEYS}{path}: {what}");
        let parsed: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err("", &format!("not JSON ({e})")))?;
        let Some(object) = parsed.as_object() else {
            return Err(err(
                "",
                "expected an object of tenant name (or \"*\") to a list of public keys",
            ));
        };
        let mut by_tenant = BTreeMap::new();
        for (tenant, keys) in object {
            let path = format!("[{tenant:?}]");
            if tenant != EVERY_TENANT && TenantName::parse(tenant).is_err() {
                return Err(err(&path, "not a tenant name or \"*\""));
            }
            let Some(list) = keys.as_array().filter(|l| !l.is_empty()) else {
                return Err(err(&path, "expected a non-empty list of public keys"));
            };
            let mut hexes = Vec::with_capacity(list.len());
            for (i, key) in list.iter().enumerate() {
                match key.as_str() {
                    Some(k) if is_public_key_hex(k) => hexes.push(k.to_owned()),
                    _ => return Err(err(
                        &format!("{path}[{i}]"),
                        "an Ed25519 public key is 64 lowercase hex digits (vane keygen prints it)",
                    )),
                }
            }
            by_tenant.insert(tenant.clone(), hexes);
        }
        Ok(TrustedKeys { by_tenant })
    }

    /// True when `tenant` accepts only snapshots signed by a trusted key.
    pub fn requires_signature(&self, tenant: &str) -> bool {
        self.by_tenant.contains_key(tenant) || self.by_tenant.contains_key(EVERY_TENANT)
    }

    /// Admits a decoded snapshot under its tenant's policy: always when the
    /// tenant requires no signature, otherwise only when its (already
    /// verified) signer is one of the tenant's or the global keys.
    pub fn admit(&self, info: &SnapshotInfo) -> Result<(), SignatureRefusal> {
        if !self.requires_signature(&info.tenant) {
            return Ok(());
        }
        let Some(signer) = &info.signer else {
            return Err(SignatureRefusal::Unsigned {
                tenant: info.tenant.clone(),
            });
        };
        let trusted = [info.tenant.as_str(), EVERY_TENANT]
            .iter()
            .filter_map(|t| self.by_tenant.get(*t))
            .flatten()
            .any(|k| k == signer);
        if trusted {
            Ok(())
        } else {
            Err(SignatureRefusal::Untrusted {
                tenant: info.tenant.clone(),
                signer: signer.clone(),
            })
        }
    }
}

fn is_public_key_hex(k: &str) -> bool {
    k.len() == 2 * PUBLIC_KEY_BYTES
        && k.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const B: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    const C: &str = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";

    fn info(tenant: &str, signer: Option<&str>) -> SnapshotInfo {
        SnapshotInfo {
            tenant: tenant.into(),
            version: 1,
            digest: "0".repeat(64),
            created_at: 0,
            builder: "test".into(),
            bucketing_version: 1,
            byte_size: 0,
            signer: signer.map(str::to_owned),
        }
    }

    #[test]
    fn without_configuration_nothing_requires_a_signature() {
        for value in [None, Some(""), Some("  \n")] {
            let keys = TrustedKeys::parse(value).unwrap();
            assert!(!keys.requires_signature("shop"));
            assert_eq!(keys.admit(&info("shop", None)), Ok(()));
            assert_eq!(keys.admit(&info("shop", Some(C))), Ok(()));
        }
    }

    #[test]
    fn a_named_tenant_admits_only_its_keys_and_the_global_ones() {
        let keys = TrustedKeys::parse(Some(&format!(r#"{{"shop": ["{A}", "{B}"]}}"#))).unwrap();
        assert!(keys.requires_signature("shop"));
        assert!(!keys.requires_signature("media"));
        assert_eq!(keys.admit(&info("shop", Some(A))), Ok(()));
        assert_eq!(keys.admit(&info("shop", Some(B))), Ok(()));
        assert_eq!(
            keys.admit(&info("shop", None)),
            Err(SignatureRefusal::Unsigned {
                tenant: "shop".into()
            })
        );
        let refused = keys.admit(&info("shop", Some(C))).unwrap_err();
        assert_eq!(
            refused,
            SignatureRefusal::Untrusted {
                tenant: "shop".into(),
                signer: C.into()
            }
        );
        assert!(refused.to_string().contains(C), "{refused}");
        // Tenants the configuration does not name are unaffected.
        assert_eq!(keys.admit(&info("media", None)), Ok(()));

        let keys =
            TrustedKeys::parse(Some(&format!(r#"{{"*": ["{C}"], "shop": ["{A}"]}}"#))).unwrap();
        assert!(keys.requires_signature("media"));
        assert_eq!(keys.admit(&info("media", Some(C))), Ok(()));
        assert!(
            keys.admit(&info("media", Some(A))).is_err(),
            "shop's key is not media's"
        );
        assert_eq!(keys.admit(&info("shop", Some(C))), Ok(()));
        assert_eq!(keys.admit(&info("shop", Some(A))), Ok(()));
    }

    #[test]
    fn bad_configuration_is_an_error_that_names_the_place() {
        let cases = [
            ("[1]", "TRUSTED_PUBLISHER_KEYS: expected an object"),
            ("{", "TRUSTED_PUBLISHER_KEYS: not JSON"),
            (
                r#"{"Shop!": ["x"]}"#,
                r#"TRUSTED_PUBLISHER_KEYS["Shop!"]: not a tenant name"#,
            ),
            (
                r#"{"shop": []}"#,
                r#"TRUSTED_PUBLISHER_KEYS["shop"]: expected a non-empty list"#,
            ),
            (
                r#"{"shop": "k"}"#,
                r#"TRUSTED_PUBLISHER_KEYS["shop"]: expected a non-empty list"#,
            ),
            (
                &format!(r#"{{"shop": ["{A}", "{}"]}}"#, B.to_uppercase()),
                r#"TRUSTED_PUBLISHER_KEYS["shop"][1]: an Ed25519 public key is 64 lowercase hex"#,
            ),
            (
                r#"{"*": [7]}"#,
                r#"TRUSTED_PUBLISHER_KEYS["*"][0]: an Ed25519"#,
            ),
        ];
        for (value, expected) in cases {
            let e = TrustedKeys::parse(Some(value)).unwrap_err();
            assert!(e.starts_with(expected), "{value}: {e}");
        }
    }

    mod with_stores {
        use ed25519_dalek::SigningKey;
        use vane_resolver::snapshot::hex;
        use vane_resolver::Snapshot;

        use crate::admin::{publish, rollback};
        use crate::cache::Cache;
        use crate::store::{pointer_key, snapshot_key, Entry, Pointer, Via};
        use crate::testutil::{block_on, snapshot_bytes, MemoryStore, MEDIA, SHOP};

        fn key(seed: u8) -> SigningKey {
            SigningKey::from_bytes(&[seed; 32])
        }

        fn public(seed: u8) -> String {
            hex(key(seed).verifying_key().as_bytes())
        }

        fn signed(tenant: &str, version: u64, seed: u8) -> Vec<u8> {
            Snapshot::sign(
                &snapshot_bytes(tenant, version, &format!("v{version}")),
                &key(seed),
            )
            .unwrap()
        }

        /// Status and error code of a publish or rollback.
        fn answer(r: Result<crate::reply::Reply, crate::error::ApiError>) -> (u16, String) {
            match r {
                Ok(reply) => (reply.status, String::new()),
                Err(e) => (e.status(), e.code().as_str().to_owned()),
            }
        }

        fn put(store: &MemoryStore, tenant: &str, bytes: &[u8]) -> (u16, String) {
            answer(block_on(publish(store, tenant, bytes, 0)))
        }

        fn shop_trusting(seeds: &[u8]) -> MemoryStore {
            let keys: Vec<String> = seeds.iter().map(|s| format!("{:?}", public(*s))).collect();
            MemoryStore::default().trusting(&format!(r#"{{"shop": [{}]}}"#, keys.join(",")))
        }

        const REFUSED: (u16, &str) = (403, "UNTRUSTED_SNAPSHOT");

        fn refused(a: (u16, String)) -> bool {
            (a.0, a.1.as_str()) == REFUSED
        }

        #[test]
        fn publish_refuses_unsigned_and_wrongly_signed_snapshots_of_a_signing_tenant() {
            let store = shop_trusting(&[1]);
            assert!(refused(put(&store, SHOP, &snapshot_bytes(SHOP, 1, "v1"))));
            assert!(refused(put(&store, SHOP, &signed(SHOP, 1, 2))));
            // Tampered after signing: the signature no longer verifies.
            let mut tampered = signed(SHOP, 1, 1);
            let at = tampered.len() - 70; // inside the signature
            tampered[at] ^= 1;
            assert_eq!(
                put(&store, SHOP, &tampered),
                (400, "INVALID_SNAPSHOT".into())
            );
            assert_eq!(put(&store, SHOP, &signed(SHOP, 1, 1)).0, 201);
            // Another tenant does not require signatures.
            assert_eq!(put(&store, MEDIA, &snapshot_bytes(MEDIA, 1, "m")).0, 201);
        }

        #[test]
        fn replaying_an_old_signed_snapshot_is_a_refused_publish() {
            let store = shop_trusting(&[1]);
            let v1 = signed(SHOP, 1, 1);
            assert_eq!(put(&store, SHOP, &v1).0, 201);
            assert_eq!(put(&store, SHOP, &signed(SHOP, 2, 1)).0, 201);
            assert_eq!(put(&store, SHOP, &v1), (409, "VERSION_NOT_NEWER".into()));
        }

        #[test]
        fn a_rotation_serves_the_old_signer_then_the_new_one() {
            let store = shop_trusting(&[1, 2]);
            let cache = Cache::new();
            assert_eq!(put(&store, SHOP, &signed(SHOP, 1, 1)).0, 201);
            let first = block_on(cache.snapshot(&store, SHOP, 0, 0));
            assert_eq!(first.snapshot.unwrap().info.signer, Some(public(1)));
            assert_eq!(put(&store, SHOP, &signed(SHOP, 2, 2)).0, 201);
            let second = block_on(cache.snapshot(&store, SHOP, 1, 0));
            assert_eq!(second.warning, None);
            assert_eq!(second.snapshot.unwrap().info.signer, Some(public(2)));
        }

        /// Writes bytes and a pointer to them straight into the store, as a
        /// KV write that bypasses the admin API would.
        fn bypass(store: &MemoryStore, tenant: &str, bytes: &[u8]) {
            let s = Snapshot::from_bytes(bytes).unwrap();
            store.set(&snapshot_key(tenant, &s.info.digest), bytes);
            let pointer = Pointer {
                tenant: tenant.into(),
                current: Entry {
                    digest: s.info.digest.clone(),
                    version: s.info.version,
                    activated_at: 0,
                    via: Via::Publish,
                },
                history: vec![],
            };
            store.set(&pointer_key(tenant), &pointer.to_json());
        }

        #[test]
        fn a_kv_write_that_bypasses_the_admin_api_is_not_served() {
            for bytes in [snapshot_bytes(SHOP, 5, "evil"), signed(SHOP, 5, 9)] {
                // Cold isolate: nothing to serve.
                let store = shop_trusting(&[1]);
                bypass(&store, SHOP, &bytes);
                let cold = block_on(Cache::new().snapshot(&store, SHOP, 0, 0));
                assert!(cold.snapshot.is_none());
                let warning = cold.warning.unwrap();
                assert!(warning.contains("is not admitted"), "{warning}");
                // Warm isolate: the trusted snapshot it had stays in service.
                let store = shop_trusting(&[1]);
                assert_eq!(put(&store, SHOP, &signed(SHOP, 1, 1)).0, 201);
                let cache = Cache::new();
                assert!(block_on(cache.snapshot(&store, SHOP, 0, 0))
                    .snapshot
                    .is_some());
                bypass(&store, SHOP, &bytes);
                let warm = block_on(cache.snapshot(&store, SHOP, 1, 0));
                assert_eq!(warm.snapshot.unwrap().info.version, 1);
                assert!(warm.warning.unwrap().contains("still serving version 1"));
            }
        }

        #[test]
        fn rollback_to_a_snapshot_the_policy_refuses_is_refused() {
            // Published while shop did not require signatures...
            let open = MemoryStore::default();
            assert_eq!(put(&open, SHOP, &snapshot_bytes(SHOP, 1, "v1")).0, 201);
            assert_eq!(put(&open, SHOP, &signed(SHOP, 2, 1)).0, 201);
            // ...then the same data under a policy that does.
            let strict = open.trusting(&format!(r#"{{"shop": ["{}"]}}"#, public(1)));
            let r = answer(block_on(rollback(&strict, SHOP, None, 0)));
            assert_eq!(r, (409, "SNAPSHOT_UNUSABLE".into()));
        }

        #[test]
        fn an_unusable_configuration_admits_nothing() {
            let store = MemoryStore::default().trusting(r#"{"shop": ["not-a-key"]}"#);
            assert!(refused(put(&store, SHOP, &signed(SHOP, 1, 1))));
            assert!(refused(put(&store, MEDIA, &snapshot_bytes(MEDIA, 1, "m"))));
        }
    }
}
