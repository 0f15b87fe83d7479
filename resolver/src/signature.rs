//! Publisher signatures: an Ed25519 signature (RFC 8032) over a snapshot's
//! digest and envelope fields, carried in the envelope as `signer` (the
//! public key) and `signature`. Normative description:
//! `docs/snapshot-format.md`, "Signature"; how trust is configured:
//! `docs/signing.md`.
//!
//! The resolver checks that a present signature is valid for the key it
//! names; whether that key is trusted is the caller's decision (the worker's
//! `TRUSTED_PUBLISHER_KEYS`).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_bytes::Bytes;

/// Length of an Ed25519 public key, in bytes.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Length of an Ed25519 signature, in bytes.
pub const SIGNATURE_BYTES: usize = 64;
/// First item of the signed message: separates it from any other use of the
/// same key.
pub const SIGNATURE_CONTEXT: &str = "vane-snapshot-signature/1";

/// The envelope fields a signature covers, everything but `body` (covered
/// through `digest`) and `signature` itself.
pub(crate) struct Signed<'a> {
    pub format: &'a str,
    pub format_version: u32,
    pub tenant: &'a str,
    pub version: u64,
    pub created_at: u64,
    pub builder: &'a str,
    pub bucketing: u32,
    pub digest: &'a [u8],
    pub signer: &'a [u8],
}

impl Signed<'_> {
    /// The signed message: the CBOR array `[SIGNATURE_CONTEXT, format,
    /// format_version, tenant, version, created_at, builder, bucketing,
    /// digest, signer]`, encoded as the snapshot itself is (shortest forms).
    /// Errors: the CBOR encoder's message (a `Vec` writer and these plain
    /// fields leave it nothing to fail on).
    pub(crate) fn message(&self) -> Result<Vec<u8>, String> {
        let fields = (
            SIGNATURE_CONTEXT,
            self.format,
            self.format_version,
            self.tenant,
            self.version,
            self.created_at,
            self.builder,
            self.bucketing,
            Bytes::new(self.digest),
            Bytes::new(self.signer),
        );
        let mut out = Vec::new();
        ciborium::into_writer(&fields, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Signs the message with `key`; `self.signer` must be its public key.
    /// Errors: as [`Signed::message`].
    pub(crate) fn sign(&self, key: &SigningKey) -> Result<[u8; SIGNATURE_BYTES], String> {
        Ok(key.sign(&self.message()?).to_bytes())
    }

    /// Checks `signature` against the message and `self.signer`, strictly
    /// (RFC 8032 verification that also refuses small-order keys and
    /// non-canonical encodings). Errors: a message naming what is wrong.
    pub(crate) fn verify(&self, signature: &[u8]) -> Result<(), String> {
        let key: [u8; PUBLIC_KEY_BYTES] = self.signer.try_into().map_err(|_| {
            format!(
                "signer is {} bytes, an Ed25519 public key is {PUBLIC_KEY_BYTES}",
                self.signer.len()
            )
        })?;
        let signature: [u8; SIGNATURE_BYTES] = signature.try_into().map_err(|_| {
            format!(
                "signature is {} bytes, an Ed25519 signature is {SIGNATURE_BYTES}",
                signature.len()
            )
        })?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| "signer is not a valid Ed25519 public key".to_owned())?;
        key.verify_strict(&self.message()?, &Signature::from_bytes(&signature))
            .map_err(|_| {
                "the signature does not match the snapshot and its signer \
                 (tampered with, or signed by another key)"
                    .to_owned()
            })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use crate::model::Body;
    use crate::snapshot::{hex, Snapshot, SnapshotError};

    /// RFC 8032 section 7.1, test 1: secret key and its public key.
    const RFC8032_SECRET: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn unsigned() -> Vec<u8> {
        let body = Body {
            flags: vec![],
            clients: vec![],
            cors_origins: vec!["https://shop.example".into()],
            metadata: Default::default(),
            spaces: vec![],
            exposure_log: Default::default(),
        };
        Snapshot::encode("shop", 7, 1_700_000_000, "test", &body).unwrap()
    }

    /// Decodes the envelope, lets `edit` change it, encodes it again.
    fn edited(bytes: &[u8], edit: impl FnOnce(&mut crate::snapshot::Envelope)) -> Vec<u8> {
        let mut env = crate::snapshot::decode_envelope(bytes).unwrap();
        edit(&mut env);
        env.to_bytes().unwrap()
    }

    fn signature_error(bytes: &[u8]) -> String {
        match Snapshot::from_bytes(bytes) {
            Err(SnapshotError::Signature(m)) => m,
            other => panic!("expected a signature error, got {other:?}"),
        }
    }

    #[test]
    fn a_signed_snapshot_names_its_signer_and_keeps_its_digest() {
        let plain = Snapshot::from_bytes(&unsigned()).unwrap();
        assert_eq!(plain.info.signer, None);
        let signed = Snapshot::sign(&unsigned(), &SigningKey::from_bytes(&RFC8032_SECRET)).unwrap();
        let s = Snapshot::from_bytes(&signed).unwrap();
        assert_eq!(s.info.signer.as_deref(), Some(RFC8032_PUBLIC));
        assert_eq!(s.info.digest, plain.info.digest);
        assert_eq!(s.to_body(), plain.to_body());
        // 2 more envelope entries: "signer" + bytes(32), "signature" + bytes(64).
        assert_eq!(
            signed.len(),
            unsigned().len() + (7 + 2 + 32) + (10 + 2 + 64)
        );
        // Signing again with another key replaces the signature.
        let resigned = Snapshot::sign(&signed, &key(2)).unwrap();
        let r = Snapshot::from_bytes(&resigned).unwrap();
        assert_eq!(r.info.signer, Some(hex(key(2).verifying_key().as_bytes())));
        assert_eq!(resigned.len(), signed.len());
    }

    #[test]
    fn every_signed_envelope_field_is_covered() {
        let signed = Snapshot::sign(&unsigned(), &key(1)).unwrap();
        type Edit = Box<dyn Fn(&mut crate::snapshot::Envelope)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("tenant", Box::new(|e| e.tenant = "other".into())),
            ("version", Box::new(|e| e.version += 1)),
            ("created_at", Box::new(|e| e.created_at -= 1)),
            ("builder", Box::new(|e| e.builder = "evil 1.0".into())),
            (
                "signer",
                Box::new(|e| e.signer = Some(key(3).verifying_key().to_bytes().to_vec())),
            ),
        ];
        for (field, edit) in edits {
            let m = signature_error(&edited(&signed, edit));
            assert!(m.contains("does not match"), "{field}: {m}");
        }
    }

    #[test]
    fn a_new_body_with_its_digest_but_the_old_signature_is_refused() {
        let signed = Snapshot::sign(&unsigned(), &key(1)).unwrap();
        let other = Snapshot::encode(
            "shop",
            7,
            1_700_000_000,
            "test",
            &Body {
                flags: vec![],
                clients: vec![],
                cors_origins: vec![],
                metadata: Default::default(),
                spaces: vec![],
                exposure_log: Default::default(),
            },
        )
        .unwrap();
        let other = crate::snapshot::decode_envelope(&other).unwrap();
        let forged = edited(&signed, |e| {
            e.body = other.body.clone();
            e.digest = other.digest.clone();
        });
        assert!(signature_error(&forged).contains("does not match"));
        // The body alone changed: the digest check refuses it first.
        let tampered = edited(&signed, |e| e.body = other.body.clone());
        assert!(matches!(
            Snapshot::from_bytes(&tampered),
            Err(SnapshotError::Digest { .. })
        ));
    }

    #[test]
    fn malformed_signatures_are_refused_with_what_is_wrong() {
        let signed = Snapshot::sign(&unsigned(), &key(1)).unwrap();
        let m = signature_error(&edited(&signed, |e| e.signature = None));
        assert!(m.contains("one of signer and signature"), "{m}");
        let m = signature_error(&edited(&signed, |e| e.signer = None));
        assert!(m.contains("one of signer and signature"), "{m}");
        let m = signature_error(&edited(&signed, |e| e.signer = Some(vec![1; 31])));
        assert!(m.contains("signer is 31 bytes"), "{m}");
        let m = signature_error(&edited(&signed, |e| e.signature = Some(vec![1; 65])));
        assert!(m.contains("signature is 65 bytes"), "{m}");
        let m = signature_error(&edited(&signed, |e| {
            let mut s = e.signature.clone().unwrap();
            s[10] ^= 1;
            e.signature = Some(s);
        }));
        assert!(m.contains("does not match"), "{m}");
        let text = Snapshot::from_bytes(&edited(&signed, |e| e.signature = Some(vec![0; 64])))
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("snapshot signature is invalid: "),
            "{text}"
        );
    }
}
