//! Credentials: client keys for OFREP and the admin token for the admin API.
//!
//! A client key is never stored: snapshots carry the sha256 of each key, and
//! the worker hashes what the caller sends before it looks anything up. The
//! key index (`key/{sha256}` → tenant, see [`crate::store`]) only says which
//! tenant to load; the key is then checked against that tenant's own key
//! digests, so a stale or tampered index entry cannot open another tenant.
//! Comparisons of secrets run in time independent of where they differ.

use vane_resolver::model::{Client, KeyDigest};
use vane_resolver::snapshot::sha256;

/// The client key a request carries: `Authorization: Bearer <key>` (scheme
/// case-insensitive, RFC 7235 section 2.1) or else `X-API-Key: <key>`.
/// Surrounding whitespace is ignored; an empty key counts as none.
pub fn client_key<'a>(authorization: Option<&'a str>, api_key: Option<&'a str>) -> Option<&'a str> {
    authorization
        .and_then(bearer)
        .or_else(|| api_key.map(str::trim).filter(|k| !k.is_empty()))
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// sha256 of a client key, as snapshots record it.
pub fn key_digest(key: &str) -> KeyDigest {
    KeyDigest(sha256(key.as_bytes()))
}

/// Compares two 32-byte digests in time independent of their contents.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// True when `digest` is one of the tenant's client key digests. Every
/// digest of every client is compared, whatever matches, so the time taken
/// depends only on how many keys the tenant has.
pub fn tenant_admits(clients: &[Client], digest: &KeyDigest) -> bool {
    clients
        .iter()
        .flat_map(|c| c.key_digests.iter())
        .fold(false, |found, d| digests_equal(&d.0, &digest.0) | found)
}

/// True when the `Authorization` header carries the admin token. Both sides
/// are hashed first, so the comparison takes the same time whatever the
/// lengths; an empty configured token admits nobody.
pub fn admin_authorized(authorization: Option<&str>, admin_token: &str) -> bool {
    let Some(given) = authorization.and_then(bearer) else {
        return false;
    };
    !admin_token.is_empty()
        && digests_equal(&sha256(given.as_bytes()), &sha256(admin_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients_with_keys(keys: &[&str]) -> Vec<Client> {
        vec![Client {
            name: "web".into(),
            key_digests: keys.iter().map(|k| key_digest(k)).collect(),
        }]
    }

    #[test]
    fn bearer_then_api_key() {
        assert_eq!(client_key(Some("Bearer abc"), Some("xyz")), Some("abc"));
        assert_eq!(client_key(Some("bearer  abc "), None), Some("abc"));
        assert_eq!(client_key(Some("Basic abc"), Some(" xyz ")), Some("xyz"));
        assert_eq!(client_key(None, Some("xyz")), Some("xyz"));
        assert_eq!(client_key(Some("Bearer "), Some("")), None);
        assert_eq!(client_key(None, None), None);
    }

    #[test]
    fn key_digest_is_sha256_of_the_key() {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            vane_resolver::snapshot::hex(&key_digest("abc").0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tenant_admits_only_its_keys() {
        let clients = clients_with_keys(&["k-shop-web", "k-shop-ios"]);
        assert!(tenant_admits(&clients, &key_digest("k-shop-ios")));
        assert!(tenant_admits(&clients, &key_digest("k-shop-web")));
        assert!(!tenant_admits(&clients, &key_digest("k-media-web")));
        assert!(!tenant_admits(&clients_with_keys(&[]), &key_digest("k")));
    }

    #[test]
    fn admin_token_must_match_exactly() {
        assert!(admin_authorized(Some("Bearer s3cret"), "s3cret"));
        assert!(!admin_authorized(Some("Bearer s3cre"), "s3cret"));
        assert!(!admin_authorized(Some("Bearer s3cret"), ""));
        assert!(!admin_authorized(None, "s3cret"));
        assert!(!admin_authorized(Some("s3cret"), "s3cret"));
    }

    #[test]
    fn digest_comparison() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(digests_equal(&a, &b));
        b[31] ^= 1;
        assert!(!digests_equal(&a, &b));
    }
}
