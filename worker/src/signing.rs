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

/// The name of the variable or secret holding the trusted keys.
pub const TRUSTED_PUBLISHER_KEYS: &str = "TRUSTED_PUBLISHER_KEYS";
/// The key of the list that applies to every tenant.
pub const EVERY_TENANT: &str = "*";

/// Trusted publisher keys by tenant (`"*"`: every tenant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    by_tenant: BTreeMap<String, Vec<String>>,
}

/// Why a snapshot was refused for its tenant's signature policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureRefusal {
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
}
