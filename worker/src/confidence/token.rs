//! The resolve token of the Confidence API: what a `flags:resolve` answer
//! hands the client, and what `flags:apply` gets back to learn which
//! assignments the client used.
//!
//! The worker keeps no per-resolve state: the token itself carries
//! everything an apply needs ([`Claims`]: tenant, snapshot digest and
//! version, resolve id, client, times, and each flag's assignment with its
//! unit), sealed with XChaCha20-Poly1305 (an AEAD: RFC 8439's
//! ChaCha20-Poly1305 with the 192-bit nonce of draft-irtf-cfrg-xchacha, so
//! random nonces never collide in practice) under a key derived from the
//! worker secret `RESOLVE_TOKEN_KEY`. The client cannot read the
//! assignments of other flags, nor change a single bit of a token without
//! the apply being refused.
//!
//! Wire form: `base64(version ‖ nonce ‖ ciphertext ‖ tag)` with the standard
//! alphabet and padding, as proto3 JSON writes a `bytes` field
//! (`resolveToken` is `bytes` in Confidence's API); both base64 alphabets
//! are read back, as proto3 JSON parsers do. Version byte [`VERSION`], a
//! 24-byte nonce, a 16-byte Poly1305 tag; the plaintext is the claims as
//! JSON, the version byte is the associated data.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vane_resolver::confidence::FLAG_PREFIX;
use vane_resolver::snapshot::sha256;

/// Token format version (the first byte of every token).
pub const VERSION: u8 = 1;
/// Bytes of the random nonce each token carries.
pub const NONCE_BYTES: usize = 24;
/// Shortest accepted `RESOLVE_TOKEN_KEY`, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// How long a resolve token can be applied, in seconds: one day, long
/// enough for a page left open to apply flags it reads late.
pub const TOKEN_TTL_SECONDS: i64 = 24 * 60 * 60;

const TAG_BYTES: usize = 16;
/// Domain separation of the key derivation.
const KEY_CONTEXT: &[u8] = b"vane resolve token v1\0";

/// What a resolve token says. Field names are one or two letters on the
/// wire (the token travels back with every apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The tenant whose snapshot resolved the flags.
    #[serde(rename = "t")]
    pub tenant: String,
    /// Digest of that snapshot (lowercase hex).
    #[serde(rename = "d")]
    pub snapshot_digest: String,
    /// Version of that snapshot.
    #[serde(rename = "v")]
    pub snapshot_version: u64,
    /// The resolve id the answer carried.
    #[serde(rename = "r")]
    pub resolve_id: String,
    /// Name of the client whose secret resolved (e.g. `clients/web`).
    #[serde(rename = "c")]
    pub client: String,
    /// The SDK of the resolve request, `id@version` (see
    /// [`super::wire::sdk`]).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// When the flags were resolved, Unix milliseconds.
    #[serde(rename = "i")]
    pub resolved_at_ms: i64,
    /// After this instant (Unix seconds) the token is refused.
    #[serde(rename = "x")]
    pub expires_at: i64,
    /// One entry per resolved flag, in the answer's order.
    #[serde(rename = "a")]
    pub assignments: Vec<TokenAssignment>,
}

/// The assignment of one resolved flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAssignment {
    /// Flag name, `flags/{id}`; a Vane or flagd flag's bare key (see
    /// `evaluated`).
    #[serde(rename = "f")]
    pub flag: String,
    /// `true` for a Vane-YAML or flagd flag: `flag` and `variant` are its
    /// key and variant name as OFREP and the exposure log name them (the
    /// answer named them `flags/{key}` and `flags/{key}/variants/{name}`).
    #[serde(rename = "y", default, skip_serializing_if = "std::ops::Not::not")]
    pub evaluated: bool,
    /// Confidence reason, e.g. `RESOLVE_REASON_MATCH`.
    #[serde(rename = "s")]
    pub reason: String,
    /// Variant name (`flags/{id}/variants/{v}`); `None` when there is no
    /// exposure to log: none was assigned (no match, a fallthrough, the
    /// client default), or a Vane or flagd flag's answer was no exposure
    /// (not a split or a holdout).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The rule that assigned, `flags/{id}/rules/{r}`; a Vane rule's
    /// `rules[{index}]`.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The assignment id within the rule.
    #[serde(rename = "j", default, skip_serializing_if = "Option::is_none")]
    pub assignment_id: Option<String>,
    /// The unit the flag was assigned to (the targeting key or the rule's
    /// `targetingKeySelector` value).
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Where the unit came from: `targeting_key` or the selector's path.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub unit_source: Option<String>,
    /// The rule's allocation as served: each variant it assigns with its
    /// number of buckets (fallthrough and client-default buckets left
    /// out, since no exposure comes from them).
    #[serde(rename = "w", default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<(String, u64)>,
    /// The rules the flag fell through on the way to this assignment, in
    /// order (Confidence fall-through assignments; each is an exposure too,
    /// `docs/exposures.md` "Confidence fall-throughs").
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub fallthroughs: Vec<TokenFallthrough>,
    /// The holdout that kept the unit out of an experiment (a Vane flag).
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<String>,
    /// The context attributes the flag opts into its exposures (a Vane
    /// flag's `exposures: {attributes}`), as the resolve saw them.
    #[serde(rename = "m", default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

impl TokenAssignment {
    /// The flag's name as the answer gave it and an apply names it.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        if self.evaluated {
            format!("{FLAG_PREFIX}{}", self.flag).into()
        } else {
            self.flag.as_str().into()
        }
    }
}

/// A fall-through on the way to a flag's assignment: the rule, its
/// fall-through assignment, the unit it bucketed and how many buckets the
/// assignment holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFallthrough {
    /// The rule, `flags/{id}/rules/{r}`.
    #[serde(rename = "o")]
    pub rule: String,
    /// The fall-through assignment's id within the rule.
    #[serde(rename = "j")]
    pub assignment_id: String,
    /// The unit the rule bucketed.
    #[serde(rename = "u")]
    pub unit: String,
    /// Where the unit came from: `targeting_key` or the selector's path.
    #[serde(rename = "p")]
    pub unit_source: String,
    /// Buckets of the rule the assignment holds.
    #[serde(rename = "b")]
    pub buckets: u64,
}

/// Why a resolve token is refused. Each is a 400 on `flags:apply`, and its
/// [`std::fmt::Display`] is the message the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not base64, too short, or an unknown format version.
    Malformed(String),
    /// The tag does not verify: the token was altered, made up, or sealed
    /// under another key.
    Forged,
    /// The token's lifetime is over.
    Expired {
        /// When it expired, Unix seconds.
        expires_at: i64,
    },
    /// The token was issued to another tenant than the client secret's.
    OtherTenant,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed(why) => write!(f, "resolve token is malformed: {why}"),
            TokenError::Forged => f.write_str(
                "resolve token does not authenticate: it was altered or not issued by this worker",
            ),
            TokenError::Expired { expires_at } => write!(
                f,
                "resolve token expired at {expires_at} (Unix seconds); resolve again"
            ),
            TokenError::OtherTenant => {
                f.write_str("resolve token was issued for another tenant than the client secret's")
            }
        }
    }
}

/// The sealing key, derived from the worker secret.
pub struct TokenKey(XChaCha20Poly1305);

impl TokenKey {
    /// The key for a `RESOLVE_TOKEN_KEY` secret: sha256 of a context string
    /// and the secret (any text of at least [`MIN_SECRET_BYTES`] bytes, e.g.
    /// `openssl rand -hex 32`).
    ///
    /// Errors: the message for the log and the 503 when the secret is
    /// missing or too short.
    pub fn from_secret(secret: &str) -> Result<TokenKey, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "RESOLVE_TOKEN_KEY is {}: set a secret of at least {MIN_SECRET_BYTES} bytes \
                 (`wrangler secret put RESOLVE_TOKEN_KEY`; locally .dev.vars)",
                if secret.is_empty() {
                    "not set"
                } else {
                    "too short"
                }
            ));
        }
        let key = sha256(&[KEY_CONTEXT, secret.as_bytes()].concat());
        Ok(TokenKey(XChaCha20Poly1305::new(Key::from_slice(&key))))
    }

    /// Seals `claims` with `nonce` (random, from the runtime) into the wire
    /// form.
    pub fn seal(&self, claims: &Claims, nonce: &[u8; NONCE_BYTES]) -> String {
        let plain = serde_json::to_vec(claims).unwrap_or_default();
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &plain,
                    aad: &[VERSION],
                },
            )
            // Encryption fails only for messages past 2^38 bytes.
            .unwrap_or_default();
        let mut token = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
        token.push(VERSION);
        token.extend_from_slice(nonce);
        token.extend_from_slice(&sealed);
        STANDARD.encode(token)
    }

    /// Opens a token for `tenant` at `now` (Unix seconds): authenticates,
    /// decrypts, and checks the tenant and the expiry.
    ///
    /// Errors: [`TokenError`], in that order of checks.
    pub fn open(&self, token: &str, tenant: &str, now: i64) -> Result<Claims, TokenError> {
        let bytes = STANDARD
            .decode(token.trim())
            .or_else(|_| URL_SAFE.decode(token.trim()))
            .or_else(|_| {
                let unpadded = token.trim().trim_end_matches('=');
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded)
            })
            .map_err(|e| TokenError::Malformed(format!("not base64 ({e})")))?;
        if bytes.len() < 1 + NONCE_BYTES + TAG_BYTES {
            return Err(TokenError::Malformed(format!(
                "{} bytes is shorter than any token",
                bytes.len()
            )));
        }
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(TokenError::Malformed("empty".into()));
        };
        if version != VERSION {
            return Err(TokenError::Malformed(format!(
                "format version {version} is not {VERSION}"
            )));
        }
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &[version],
                },
            )
            .map_err(|_| TokenError::Forged)?;
        // Authenticated, so written by this worker: unreadable claims mean
        // an older layout of the same version, which is a bug, not a forgery.
        let claims: Claims = serde_json::from_slice(&plain)
            .map_err(|e| TokenError::Malformed(format!("claims unreadable ({e})")))?;
        if claims.tenant != tenant {
            return Err(TokenError::OtherTenant);
        }
        if now > claims.expires_at {
            return Err(TokenError::Expired {
                expires_at: claims.expires_at,
            });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(tenant: &str) -> Claims {
        Claims {
            tenant: tenant.into(),
            snapshot_digest: "ab".repeat(32),
            snapshot_version: 7,
            resolve_id: "0123456789abcdef0123456789abcdef".into(),
            client: "clients/web".into(),
            sdk: Some("SDK_ID_JS_WEB_PROVIDER@0.0.3".into()),
            resolved_at_ms: 1_700_000_000_250,
            expires_at: 1_700_000_000 + TOKEN_TTL_SECONDS,
            assignments: vec![
                TokenAssignment {
                    flag: "flags/tutorial-feature".into(),
                    reason: "RESOLVE_REASON_MATCH".into(),
                    variant: Some("flags/tutorial-feature/variants/exciting-welcome".into()),
                    rule: Some("flags/tutorial-feature/rules/r1".into()),
                    assignment_id: Some("a1".into()),
                    unit: Some("tutorial_visitor".into()),
                    unit_source: Some("visitor_id".into()),
                    weights: vec![
                        (
                            "flags/tutorial-feature/variants/exciting-welcome".into(),
                            9_000,
                        ),
                        ("flags/tutorial-feature/variants/warm-welcome".into(), 1_000),
                    ],
                    fallthroughs: vec![],
                    evaluated: false,
                    holdout: None,
                    attributes: Default::default(),
                },
                TokenAssignment {
                    flag: "flags/other".into(),
                    reason: "RESOLVE_REASON_NO_SEGMENT_MATCH".into(),
                    variant: None,
                    rule: None,
                    assignment_id: None,
                    unit: None,
                    unit_source: None,
                    weights: vec![],
                    fallthroughs: vec![],
                    evaluated: false,
                    holdout: None,
                    attributes: Default::default(),
                },
            ],
        }
    }

    fn key() -> TokenKey {
        TokenKey::from_secret("dev-resolve-token-key-not-secret").unwrap()
    }

    const NOW: i64 = 1_700_000_100;

    #[test]
    fn a_sealed_token_opens_to_its_claims() {
        let token = key().seal(&claims("demo"), &[9; NONCE_BYTES]);
        assert_eq!(key().open(&token, "demo", NOW), Ok(claims("demo")));
        // proto3 JSON readers accept both alphabets; so do we.
        let url_safe = URL_SAFE.encode(STANDARD.decode(&token).unwrap());
        assert_eq!(key().open(&url_safe, "demo", NOW), Ok(claims("demo")));
        // The claims are not readable in the token.
        let raw = STANDARD.decode(&token).unwrap();
        assert!(!raw.windows(8).any(|w| w == b"tutorial"));
        assert_eq!(raw[0], VERSION);
        assert_eq!(&raw[1..1 + NONCE_BYTES], &[9; NONCE_BYTES]);
    }

    #[test]
    fn every_altered_bit_is_refused_as_forged() {
        let token = STANDARD
            .decode(key().seal(&claims("demo"), &[1; NONCE_BYTES]))
            .unwrap();
        // Every byte past the version (nonce, ciphertext, tag), one bit each.
        for i in 1..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 0x10;
            assert_eq!(
                key().open(&STANDARD.encode(&bad), "demo", NOW),
                Err(TokenError::Forged),
                "byte {i}"
            );
        }
    }

    #[test]
    fn a_token_of_another_key_is_forged() {
        let other = TokenKey::from_secret("another-worker-secret-0000").unwrap();
        let token = other.seal(&claims("demo"), &[2; NONCE_BYTES]);
        assert_eq!(key().open(&token, "demo", NOW), Err(TokenError::Forged));
        assert_eq!(
            TokenError::Forged.to_string(),
            "resolve token does not authenticate: it was altered or not issued by this worker"
        );
    }

    #[test]
    fn expired_tokens_are_refused_after_their_last_second() {
        let c = claims("demo");
        let token = key().seal(&c, &[3; NONCE_BYTES]);
        assert!(key().open(&token, "demo", c.expires_at).is_ok());
        let e = key().open(&token, "demo", c.expires_at + 1).unwrap_err();
        assert_eq!(
            e,
            TokenError::Expired {
                expires_at: c.expires_at
            }
        );
        assert_eq!(
            e.to_string(),
            "resolve token expired at 1700086400 (Unix seconds); resolve again"
        );
    }

    #[test]
    fn another_tenants_token_is_refused() {
        let token = key().seal(&claims("shop"), &[4; NONCE_BYTES]);
        assert_eq!(
            key().open(&token, "demo", NOW),
            Err(TokenError::OtherTenant)
        );
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        let cases = [
            ("not base64 !!", "resolve token is malformed: not base64"),
            (
                "AAAA",
                "resolve token is malformed: 3 bytes is shorter than any token",
            ),
        ];
        for (token, start) in cases {
            let e = key().open(token, "demo", NOW).unwrap_err().to_string();
            assert!(e.starts_with(start), "{token}: {e}");
        }
        let mut v2 = STANDARD
            .decode(key().seal(&claims("demo"), &[5; NONCE_BYTES]))
            .unwrap();
        v2[0] = 2;
        assert_eq!(
            key().open(&STANDARD.encode(&v2), "demo", NOW),
            Err(TokenError::Malformed("format version 2 is not 1".into()))
        );
    }

    #[test]
    fn the_secret_must_be_set_and_long_enough() {
        assert!(TokenKey::from_secret("")
            .err()
            .unwrap()
            .starts_with("RESOLVE_TOKEN_KEY is not set"));
        assert!(TokenKey::from_secret("short")
            .err()
            .unwrap()
            .starts_with("RESOLVE_TOKEN_KEY is too short"));
        assert!(TokenKey::from_secret(&"k".repeat(MIN_SECRET_BYTES)).is_ok());
    }
}
