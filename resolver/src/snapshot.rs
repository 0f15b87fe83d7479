//! The snapshot envelope: how a [`Body`] travels and how its identity (the
//! sha256 digest of the body bytes) is checked. Normative description:
//! `docs/snapshot-format.md`.
//!
//! Envelope (a CBOR map with text keys, so any CBOR tool can read it):
//! `format` ("vane-snapshot"), `format_version` (1, 2, 3 or 4), `tenant`, `version`
//! (u64, strictly increasing per tenant), `created_at` (Unix seconds),
//! `builder` (builder name and version), `bucketing` (see
//! [`crate::bucket::BUCKETING_VERSION`]), `digest` (32 bytes), `body` (bytes:
//! the CBOR encoding of [`Body`]), and, when signed, `signer` (an Ed25519
//! public key) and `signature` (see [`crate::signature`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use serde_json::{Map, Value};

use crate::bucket::BUCKETING_VERSION;
use crate::bulk_body::LazyBulkPieces;
use crate::context::Context;
use crate::flag_store::FlagStore;
use crate::format2::Layout;
use crate::key_index::KeyIndex;
use crate::limits::TenantName;
use crate::model::{check_unique_spaces, Body, Client, ExposureLog, Flag};
use crate::signature::Signed;
use crate::space::BucketSpace;

/// The `format` string every snapshot carries.
pub const FORMAT: &str = "vane-snapshot";
/// The body format version written by default: 4 (format 2's encoding,
/// [`crate::format2`], with a flag table and text sets that share their
/// members' common suffixes).
pub const FORMAT_VERSION: u32 = 4;
/// The body format versions this resolver reads: the current one and every
/// one before (docs/snapshot-format.md, "Compatibility").
pub const READ_FORMAT_VERSIONS: [u32; 4] = [1, 2, 3, 4];

#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) format: String,
    pub(crate) format_version: u32,
    pub(crate) tenant: String,
    pub(crate) version: u64,
    pub(crate) created_at: u64,
    pub(crate) builder: String,
    pub(crate) bucketing: u32,
    #[serde(with = "serde_bytes")]
    pub(crate) digest: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub(crate) body: Vec<u8>,
    /// Ed25519 public key of the publisher who signed; absent when unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes")]
    pub(crate) signer: Option<Vec<u8>>,
    /// Ed25519 signature over [`Envelope::signed`]'s message.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes")]
    pub(crate) signature: Option<Vec<u8>>,
}

/// Decodes the envelope alone (no check beyond its CBOR shape).
pub(crate) fn decode_envelope(bytes: &[u8]) -> Result<Envelope, SnapshotError> {
    decode_exact(bytes).map_err(SnapshotError::Envelope)
}

impl Envelope {
    /// The envelope's CBOR encoding (fields in declaration order).
    /// Errors: [`SnapshotError::Encode`].
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, SnapshotError> {
        cbor(self)
    }

    /// The fields a signature by `signer` covers.
    fn signed<'a>(&'a self, signer: &'a [u8]) -> Signed<'a> {
        Signed {
            format: &self.format,
            format_version: self.format_version,
            tenant: &self.tenant,
            version: self.version,
            created_at: self.created_at,
            builder: &self.builder,
            bucketing: self.bucketing,
            digest: &self.digest,
            signer,
        }
    }

    /// Checks the signature, if any: both `signer` and `signature` or
    /// neither, and a valid signature by `signer`.
    fn verify_signature(&self) -> Result<(), SnapshotError> {
        match (&self.signer, &self.signature) {
            (None, None) => Ok(()),
            (Some(signer), Some(signature)) => self
                .signed(signer)
                .verify(signature)
                .map_err(SnapshotError::Signature),
            _ => Err(SnapshotError::Signature(
                "the envelope has one of signer and signature without the other".to_owned(),
            )),
        }
    }
}

/// Why snapshot bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The bytes are not a CBOR snapshot envelope; carries the decoder's message.
    Envelope(String),
    /// `format` is not `vane-snapshot`; carries what was found.
    Format(String),
    /// `format_version` is one this resolver cannot read.
    FormatVersion(u32),
    /// The bucketing scheme is one this resolver does not implement.
    Bucketing(u32),
    /// The body's sha256 differs from the recorded digest (both lowercase hex).
    Digest {
        /// Digest recorded in the envelope.
        recorded: String,
        /// Digest of the body actually received.
        actual: String,
    },
    /// The signature is malformed or does not verify with the key the
    /// envelope names; carries what is wrong.
    Signature(String),
    /// The body does not decode as the snapshot IR; carries the decoder's message.
    Body(String),
    /// The snapshot could not be written (encoding); carries the
    /// encoder's message. The IR and the envelope always encode, so this
    /// names a bug rather than bad input.
    Encode(String),
    /// The snapshot belongs to another tenant.
    Tenant {
        /// Tenant the caller expected.
        expected: String,
        /// Tenant recorded in the snapshot.
        found: String,
    },
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Envelope(m) => write!(f, "not a Vane snapshot envelope: {m}"),
            SnapshotError::Format(found) => {
                write!(f, "unknown snapshot format {found:?}, expected {FORMAT:?}")
            }
            SnapshotError::FormatVersion(v) => write!(
                f,
                "snapshot format version {v} is not supported (this resolver reads 1, 2 and 3)"
            ),
            SnapshotError::Bucketing(v) => write!(
                f,
                "bucketing version {v} is not supported (this resolver implements {BUCKETING_VERSION})"
            ),
            SnapshotError::Digest { recorded, actual } => write!(
                f,
                "snapshot digest mismatch: recorded sha256 {recorded}, body hashes to {actual}"
            ),
            SnapshotError::Signature(m) => write!(f, "snapshot signature is invalid: {m}"),
            SnapshotError::Body(m) => write!(f, "snapshot body is malformed: {m}"),
            SnapshotError::Encode(m) => write!(f, "snapshot could not be encoded: {m}"),
            SnapshotError::Tenant { expected, found } => write!(
                f,
                "snapshot belongs to tenant {found:?}, expected tenant {expected:?}"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Everything about a snapshot except its flags: what `vane inspect` prints
/// and what the worker reports in `X-Vane-Snapshot`. Serialises with
/// camelCase names (`createdAt`, `bucketingVersion`, `byteSize`), as every
/// object of the JS API and of explanations does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    /// Tenant the snapshot belongs to.
    pub tenant: String,
    /// Snapshot version (strictly increasing per tenant).
    pub version: u64,
    /// sha256 of the body, lowercase hex (64 chars): the snapshot's identity.
    pub digest: String,
    /// Build time, Unix seconds.
    pub created_at: u64,
    /// Builder that wrote it, e.g. `vane-snapshot-builder 0.1.0`.
    pub builder: String,
    /// Bucketing scheme version.
    pub bucketing_version: u32,
    /// Size of the whole encoded snapshot in bytes.
    pub byte_size: usize,
    /// Ed25519 public key (lowercase hex, 64 chars) of the publisher whose
    /// valid signature the snapshot carries; `None` when unsigned. Whether
    /// the key is trusted is for the reader to decide.
    pub signer: Option<String>,
}

/// A verified snapshot: its envelope facts, access settings and flags
/// (decoded up front by [`Snapshot::from_bytes`], on first use after
/// [`Snapshot::open`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Envelope facts.
    pub info: SnapshotInfo,
    flags: FlagStore,
    clients: Vec<Client>,
    cors_origins: Vec<String>,
    metadata: Map<String, Value>,
    spaces: Vec<BucketSpace>,
    exposure_log: ExposureLog,
    /// Flag positions by key, for [`Snapshot::flag`].
    index: KeyIndex,
    /// The context-free parts of the OFREP bulk body, for [`Snapshot::bulk_json`].
    bulk: LazyBulkPieces,
}

/// Two snapshots are equal when their envelope facts and bodies are,
/// whichever of their flags have been decoded.
impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.info == other.info
            && self.clients == other.clients
            && self.cors_origins == other.cors_origins
            && self.metadata == other.metadata
            && self.spaces == other.spaces
            && self.exposure_log == other.exposure_log
            && self.flags().eq(other.flags())
    }
}

/// Describes a CBOR decoding failure at byte `at` without the decoder's
/// debug output.
fn describe(e: cbor4ii::serde::DecodeError<std::convert::Infallible>, at: usize) -> String {
    use cbor4ii::core::error::DecodeError as Core;
    use cbor4ii::serde::DecodeError;
    match e {
        DecodeError::Custom(msg) => format!("{msg} (at byte {at})"),
        DecodeError::Core(Core::Eof { .. }) => "the data ends early".to_owned(),
        DecodeError::Core(Core::DepthOverflow { .. }) => "nested too deeply".to_owned(),
        DecodeError::Core(Core::Mismatch { name, found } | Core::Unsupported { name, found }) => {
            format!("expected {name}, found CBOR initial byte 0x{found:02x} (at byte {at})")
        }
        DecodeError::Core(_) => format!("invalid CBOR at byte {at}"),
    }
}

/// Decodes exactly one CBOR item from `bytes`: trailing bytes are an error.
fn decode_exact<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, String> {
    use cbor4ii::core::dec::{Read, Reference};
    let mut de = cbor4ii::serde::Deserializer::new(cbor4ii::core::utils::SliceReader::new(bytes));
    let value = T::deserialize(&mut de);
    // The reader's unread bytes tell where decoding stopped.
    let rest = match de.into_inner().fill(usize::MAX) {
        Ok(Reference::Long(rest) | Reference::Short(rest)) => rest.len(),
        Err(never) => match never {},
    };
    let at = bytes.len() - rest;
    let value = value.map_err(|e| describe(e, at))?;
    if rest == 0 {
        Ok(value)
    } else {
        Err(format!(
            "{rest} unexpected bytes after the end (at byte {at})"
        ))
    }
}

/// `value` as CBOR. Errors: [`SnapshotError::Encode`].
fn cbor(value: &impl Serialize) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| SnapshotError::Encode(e.to_string()))?;
    Ok(out)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            // A nibble is below 16, so it always has a digit.
            s.extend(char::from_digit(u32::from(nibble), 16));
        }
    }
    s
}

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Snapshot bytes whose envelope has been read and checked (steps 1–4 of
/// the verification order: one envelope, format, tenant name, format
/// version, bucketing), the body not yet hashed. [`Snapshot::open`] is
/// `read`, the sha256 of [`SnapshotBytes::body`], then
/// [`SnapshotBytes::open`]; a caller with a faster SHA-256 than this
/// crate's (the worker in wasm has the host's WebCrypto, native code)
/// hashes the body itself and hands the digest over.
pub struct SnapshotBytes {
    env: Envelope,
    byte_size: usize,
}

impl SnapshotBytes {
    /// Reads the envelope of `bytes` and checks it as far as it can without
    /// the body's digest.
    ///
    /// Errors: [`SnapshotError::Envelope`], [`SnapshotError::Format`],
    /// [`SnapshotError::FormatVersion`], [`SnapshotError::Bucketing`].
    pub fn read(bytes: &[u8]) -> Result<SnapshotBytes, SnapshotError> {
        let env = decode_envelope(bytes)?;
        if env.format != FORMAT {
            return Err(SnapshotError::Format(env.format));
        }
        TenantName::parse(&env.tenant).map_err(|e| SnapshotError::Envelope(e.to_string()))?;
        if !READ_FORMAT_VERSIONS.contains(&env.format_version) {
            return Err(SnapshotError::FormatVersion(env.format_version));
        }
        if env.bucketing != BUCKETING_VERSION {
            return Err(SnapshotError::Bucketing(env.bucketing));
        }
        Ok(SnapshotBytes {
            env,
            byte_size: bytes.len(),
        })
    }

    /// The envelope's `format_version`: the body encoding (1, 2, 3 or 4).
    pub fn format_version(&self) -> u32 {
        self.env.format_version
    }

    /// The body bytes, whose sha256 [`SnapshotBytes::open`] needs.
    pub fn body(&self) -> &[u8] {
        &self.env.body
    }

    /// Finishes [`Snapshot::open`] given `body_sha256`, the sha256 of
    /// [`SnapshotBytes::body`] as the caller computed it: checks it against
    /// the recorded digest, then the signature, then opens the body.
    ///
    /// Errors: [`SnapshotError::Digest`], [`SnapshotError::Signature`],
    /// [`SnapshotError::Body`].
    pub fn open(self, body_sha256: [u8; 32]) -> Result<Snapshot, SnapshotError> {
        let env = self.env;
        if env.digest.as_slice() != body_sha256.as_slice() {
            return Err(SnapshotError::Digest {
                recorded: hex(&env.digest),
                actual: hex(&body_sha256),
            });
        }
        env.verify_signature()?;
        let info = SnapshotInfo {
            tenant: env.tenant,
            version: env.version,
            digest: hex(&body_sha256),
            created_at: env.created_at,
            builder: env.builder,
            bucketing_version: env.bucketing,
            byte_size: self.byte_size,
            signer: env.signer.as_deref().map(hex),
        };
        let (flags, rest) = match env.format_version {
            1 => {
                let mut body: Body = decode_exact(&env.body).map_err(SnapshotError::Body)?;
                let flags = FlagStore::decoded(std::mem::take(&mut body.flags));
                (flags, body)
            }
            v => {
                let layout = Layout::of(v).ok_or(SnapshotError::FormatVersion(v))?;
                let (table, at, rest) = crate::format2::open_body(&env.body, layout)
                    .map_err(|e| SnapshotError::Body(e.to_string()))?;
                (FlagStore::lazy(env.body, table, at, layout), rest)
            }
        };
        let index = KeyIndex::new((0..flags.len()).map(|i| flags.key(i)));
        if env.format_version != 1 {
            // What `Body::check` checks beyond each flag (format 1 was
            // checked whole as it was decoded).
            check_unique_spaces(&rest.spaces).map_err(SnapshotError::Body)?;
            rest.exposure_log
                .check(|key| index.find(key, |i| flags.key(i)).is_some())
                .map_err(SnapshotError::Body)?;
        }
        let Body {
            clients,
            cors_origins,
            metadata,
            spaces,
            exposure_log,
            ..
        } = rest;
        Ok(Snapshot {
            info,
            flags,
            clients,
            cors_origins,
            metadata,
            spaces,
            exposure_log,
            index,
            bulk: LazyBulkPieces::default(),
        })
    }
}

impl Snapshot {
    /// Decodes and verifies snapshot bytes: envelope, format name and version,
    /// bucketing version, sha256 digest of the body, the signature when there
    /// is one, then the body itself, every flag included.
    ///
    /// Errors: the first [`SnapshotError`] found, in that order. Never panics,
    /// whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let mut snapshot = Snapshot::open(bytes)?;
        snapshot
            .flags
            .decode_all(&snapshot.spaces)
            .map_err(SnapshotError::Body)?;
        Ok(snapshot)
    }

    /// Verifies snapshot bytes as [`Snapshot::from_bytes`] does but, for
    /// formats 2 and 3, leaves each flag to be decoded (and checked) the
    /// first time it is used: what a cold isolate needs before its first
    /// single-flag answer is the envelope, the digest, the string table
    /// and where each flag lies (format 3's flag table; a walk past the
    /// flags in format 2), not every flag's IR. A flag that then
    /// does not decode evaluates to `PARSE_ERROR` (`crate::flag_store`).
    /// Format 1 is decoded whole.
    ///
    /// Errors: as [`Snapshot::from_bytes`], except a flag's own content.
    pub fn open(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let read = SnapshotBytes::read(bytes)?;
        let digest = sha256(read.body());
        read.open(digest)
    }

    /// Finds a flag by key in constant time (a hash index built at decode),
    /// decoding it the first time.
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        let i = self.index.find(key, |i| self.flags.key(i))?;
        self.flags.get(i, &self.spaces)
    }

    /// Every flag, sorted by key (byte order), each decoded the first time.
    pub fn flags(&self) -> impl ExactSizeIterator<Item = &Flag> + '_ {
        self.flags.iter(&self.spaces)
    }

    /// Number of flags (none is decoded to count them).
    pub fn flag_count(&self) -> usize {
        self.flags.len()
    }

    /// Clients allowed to read this tenant's flags.
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// Origins allowed by CORS; empty means any origin (`*`).
    pub fn cors_origins(&self) -> &[String] {
        &self.cors_origins
    }

    /// Flag-set metadata, reported in OFREP bulk answers.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// Bucket spaces that bucket-range tests refer to by index.
    pub fn spaces(&self) -> &[BucketSpace] {
        &self.spaces
    }

    /// The tenant's exposure-log settings (`docs/exposures.md`).
    pub fn exposure_log(&self) -> &ExposureLog {
        &self.exposure_log
    }

    /// The whole body, every flag decoded (a copy: for comparing and
    /// re-encoding snapshots, not for serving).
    pub fn to_body(&self) -> Body {
        Body {
            flags: self.flags().cloned().collect(),
            clients: self.clients.clone(),
            cors_origins: self.cors_origins.clone(),
            metadata: self.metadata.clone(),
            spaces: self.spaces.clone(),
            exposure_log: self.exposure_log.clone(),
        }
    }

    /// The OFREP bulk body for `context`: every flag evaluated, as JSON
    /// bytes, exactly `serde_json::to_vec(&self.evaluate_bulk(context))`.
    /// Keys, variant names, values and metadata are encoded once per
    /// snapshot (on the first call), so an answer writes little more than
    /// the reasons (`crate::bulk_body`).
    pub fn bulk_json(&self, context: &Context) -> Vec<u8> {
        let pieces = self.bulk.get(self.flags(), &self.metadata);
        let mut out = Vec::with_capacity(pieces.bytes_len() + 24 * self.flag_count());
        pieces.write(self.flags(), &self.buckets(context), &mut out);
        out
    }

    /// Refuses a snapshot of another tenant.
    pub fn expect_tenant(&self, tenant: &str) -> Result<(), SnapshotError> {
        if self.info.tenant == tenant {
            Ok(())
        } else {
            Err(SnapshotError::Tenant {
                expected: tenant.to_owned(),
                found: self.info.tenant.clone(),
            })
        }
    }

    /// Encodes a body into snapshot bytes of the current format
    /// ([`FORMAT_VERSION`]). Deterministic: the same inputs give the same
    /// bytes, so the digest names the content.
    ///
    /// Errors: [`SnapshotError::Encode`].
    pub fn encode(
        tenant: &str,
        version: u64,
        created_at: u64,
        builder: &str,
        body: &Body,
    ) -> Result<Vec<u8>, SnapshotError> {
        Snapshot::encode_format(FORMAT_VERSION, tenant, version, created_at, builder, body)
    }

    /// Encodes a body into snapshot bytes with body format `format_version`
    /// (1: CBOR; 2: [`crate::format2`]; 3: format 2 with a flag table; 4:
    /// format 3 with suffix-sharing text sets).
    ///
    /// Errors: [`SnapshotError::FormatVersion`] for another version,
    /// [`SnapshotError::Encode`].
    pub fn encode_format(
        format_version: u32,
        tenant: &str,
        version: u64,
        created_at: u64,
        builder: &str,
        body: &Body,
    ) -> Result<Vec<u8>, SnapshotError> {
        let body_bytes = match format_version {
            1 => cbor(body)?,
            v => {
                let layout = Layout::of(v).ok_or(SnapshotError::FormatVersion(v))?;
                crate::format2::body_to_vec(body, layout)
                    .map_err(|e| SnapshotError::Encode(e.to_string()))?
            }
        };
        let env = Envelope {
            format: FORMAT.to_owned(),
            format_version,
            tenant: tenant.to_owned(),
            version,
            created_at,
            builder: builder.to_owned(),
            bucketing: BUCKETING_VERSION,
            digest: sha256(&body_bytes).to_vec(),
            body: body_bytes,
            signer: None,
            signature: None,
        };
        env.to_bytes()
    }

    /// Signs snapshot bytes with a publisher's Ed25519 key: the same
    /// snapshot (body and digest unchanged) with `signer` and `signature`
    /// set, replacing any earlier signature.
    ///
    /// Errors: the bytes are not a valid snapshot ([`Snapshot::from_bytes`]).
    pub fn sign(bytes: &[u8], key: &ed25519_dalek::SigningKey) -> Result<Vec<u8>, SnapshotError> {
        Snapshot::from_bytes(bytes)?;
        let mut env = decode_envelope(bytes)?;
        let signer = key.verifying_key().to_bytes();
        let signature = env
            .signed(&signer)
            .sign(key)
            .map_err(SnapshotError::Encode)?;
        env.signer = Some(signer.to_vec());
        env.signature = Some(signature.to_vec());
        env.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::expr::typed::Set;
    use crate::expr::{Expr, Test};
    use crate::model::{Rule, Serve, Split, Targeting, Variant};
    use crate::result::ErrorCode;

    /// A flag whose one rule splits 50/50 over `served` (variant indices).
    fn flag(key: &str, served: [u32; 2]) -> Flag {
        Flag {
            key: key.into(),
            variants: ["a", "b"]
                .iter()
                .map(|n| Variant {
                    name: (*n).into(),
                    value: json!(n),
                })
                .collect(),
            default_variant: Some(0),
            disabled: false,
            targeting: Targeting::Rules(vec![Rule {
                when: None,
                serve: Serve::Split(Split {
                    bucket_by: None,
                    salt: key.into(),
                    weights: vec![(served[0], 50), (served[1], 50)],
                }),
                active_from: None,
                active_until: None,
            }]),
            metadata: Map::new(),
        }
    }

    fn bytes(flags: Vec<Flag>) -> Vec<u8> {
        let body = Body {
            flags,
            clients: vec![],
            cors_origins: vec!["https://shop.example".into()],
            metadata: Map::new(),
            spaces: vec![],
            exposure_log: Default::default(),
        };
        Snapshot::encode("t", 1, 0, "test", &body).unwrap()
    }

    fn decoded(s: &Snapshot) -> usize {
        s.flags.cells_decoded()
    }

    #[test]
    fn open_decodes_only_the_flags_asked_for_and_answers_as_from_bytes() {
        let bytes = bytes(vec![
            flag("a", [0, 1]),
            flag("b", [1, 0]),
            flag("c", [0, 1]),
        ]);
        let whole = Snapshot::from_bytes(&bytes).unwrap();
        let opened = Snapshot::open(&bytes).unwrap();
        assert_eq!((decoded(&whole), decoded(&opened)), (3, 0));
        assert_eq!(opened.flag_count(), 3);
        assert_eq!(opened.cors_origins(), ["https://shop.example"]);
        let ctx = Context::from_value(json!({"targetingKey": "u1"}), 0).unwrap();
        assert_eq!(
            opened.evaluate("b", &ctx).to_json(),
            whole.evaluate("b", &ctx).to_json()
        );
        assert_eq!(decoded(&opened), 1);
        assert_eq!(opened.flag("b").map(|f| f.key.as_str()), Some("b"));
        assert_eq!(opened.flag("zz"), None);
        assert_eq!(decoded(&opened), 1);
        assert_eq!(opened.bulk_json(&ctx), whole.bulk_json(&ctx));
        assert_eq!(decoded(&opened), 3);
        assert_eq!(opened, whole);
    }

    #[test]
    fn a_flag_that_does_not_check_is_refused_whole_and_a_parse_error_when_opened() {
        let bytes = bytes(vec![flag("a", [0, 1]), flag("b", [0, 7])]);
        let err = Snapshot::from_bytes(&bytes).unwrap_err().to_string();
        assert_eq!(
            err,
            "snapshot body is malformed: flag 'b': rule 0's split serves variant 7, \
             but the flag has 2 variants"
        );
        let opened = Snapshot::open(&bytes).unwrap();
        let ctx = Context::from_value(json!({"targetingKey": "u1"}), 0).unwrap();
        let b = opened.evaluate("b", &ctx);
        assert_eq!(b.error_code, Some(ErrorCode::ParseError));
        assert_eq!(
            b.error_details.as_deref(),
            Some(
                "the snapshot body is malformed: flag 'b': rule 0's split serves variant 7, \
                 but the flag has 2 variants"
            )
        );
        assert_eq!(opened.evaluate("a", &ctx).error_code, None);
    }

    #[test]
    fn a_digest_computed_by_the_caller_is_checked_like_the_own() {
        let bytes = bytes(vec![flag("a", [0, 1])]);
        let read = SnapshotBytes::read(&bytes).unwrap();
        let digest = sha256(read.body());
        assert_eq!(read.open(digest).unwrap(), Snapshot::open(&bytes).unwrap());
        let mut wrong = digest;
        wrong[0] ^= 1;
        let err = SnapshotBytes::read(&bytes)
            .unwrap()
            .open(wrong)
            .unwrap_err();
        assert_eq!(
            err,
            SnapshotError::Digest {
                recorded: hex(&digest),
                actual: hex(&wrong)
            }
        );
        assert_eq!(
            SnapshotBytes::read(&bytes[..bytes.len() - 1]).err(),
            Snapshot::open(&bytes[..bytes.len() - 1]).err()
        );
    }

    /// `bytes` with its body changed by `edit`, digest recomputed.
    fn with_body(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut env = decode_envelope(bytes).unwrap();
        edit(&mut env.body);
        env.digest = sha256(&env.body).to_vec();
        env.to_bytes().unwrap()
    }

    /// `bytes` with its flag table (format 3 or 4) changed by `edit` (the
    /// table's bytes: count, then each flag's length), digest recomputed.
    fn with_flag_table(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let format_version = decode_envelope(bytes).unwrap().format_version;
        assert!(Layout::of(format_version).is_some_and(|l| l.flag_table));
        with_body(bytes, |body| {
            let (_, at) = crate::format2::StrTable::read(body).unwrap();
            let flags = usize::from(body[at]);
            let mut table = body[at..at + 1 + flags].to_vec();
            edit(&mut table);
            body.splice(at..at + 1 + flags, table);
        })
    }

    /// A format-4 set whose members come out of order is refused by the
    /// full decode with the flag and the byte, and opened it makes that
    /// flag a `PARSE_ERROR` while the others serve.
    /// A flag whose rule tests `email` against `x@`, `y@` and
    /// `z@mail.example`.
    fn flag_with_emails(key: &str) -> Flag {
        let mut f = flag(key, [0, 1]);
        let set = Set::strings(
            ["x", "y", "z"]
                .map(|m| format!("{m}@mail.example"))
                .to_vec(),
        );
        if let Targeting::Rules(rules) = &mut f.targeting {
            rules[0].when = Some(Expr::Test(vec!["email".into()], Test::In(set)));
        }
        f
    }

    #[test]
    fn a_malformed_format_4_set_is_a_located_body_error() {
        let good = bytes(vec![flag_with_emails("a"), flag("b", [1, 0])]);
        assert!(Snapshot::from_bytes(&good).is_ok());
        let mut at = 0;
        let bad = with_body(&good, |body| {
            // The last member: shares 0, suffix 1 ("@mail.example"), "z".
            at = body.windows(4).position(|w| w == [0, 1, 1, b'z']).unwrap();
            body[at + 3] = b'a';
        });
        let err = Snapshot::from_bytes(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "snapshot body is malformed: flag 'a': a text set member does not come after \
                 the one before it in byte order (at byte {at})"
            )
        );
        only_a_is_a_parse_error(&bad, &format!("(at byte {at})"));
    }

    /// Opening `bad` succeeds; its flag `a` evaluates to `PARSE_ERROR`
    /// with details ending in `tail`, its flag `b` as usual.
    fn only_a_is_a_parse_error(bad: &[u8], tail: &str) {
        let opened = Snapshot::open(bad).unwrap();
        let ctx = Context::from_value(json!({"targetingKey": "u1"}), 0).unwrap();
        let answer = opened.evaluate("a", &ctx);
        assert_eq!(answer.error_code, Some(ErrorCode::ParseError));
        let details = answer.error_details.unwrap();
        assert!(details.ends_with(tail), "{details}");
        assert_eq!(opened.evaluate("b", &ctx).error_code, None);
    }

    /// A set whose members would grow as the square of its bytes (each
    /// shares all of the one before and adds a byte) is refused whole, at
    /// publish as on open, before it is built.
    #[test]
    fn a_text_set_bomb_is_a_body_error() {
        let body = Snapshot::from_bytes(&bytes(vec![flag_with_emails("a")]))
            .unwrap()
            .to_body();
        let good = Snapshot::encode_format(2, "t", 1, 0, "test", &body).unwrap();
        let bad = with_body(&good, |body| {
            let head = [0x0e, 0x03, 0x00, 0x0e, b'x'];
            let at = body.windows(5).position(|w| w == head).unwrap();
            let mut bomb = vec![0x0e, 0x98, 0x17, 0x00, 0x81, 0x01]; // 3,000 members
            bomb.extend_from_slice(&[b'a'; 129]);
            for shared in 129u32..129 + 2999 {
                bomb.extend_from_slice(&[0x80 | (shared & 0x7f) as u8, (shared >> 7) as u8]);
                bomb.extend_from_slice(&[0x01, b'a']);
            }
            body.splice(at..at + 2 + 3 * 16, bomb);
        });
        for err in [
            Snapshot::from_bytes(&bad).unwrap_err(),
            Snapshot::open(&bad).unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(err.starts_with("snapshot body is malformed: "), "{err}");
            assert!(
                err.ends_with("at most 32 bytes per encoded byte are accepted"),
                "{err}"
            );
        }
    }

    /// Flag `key` whose metadata names `long` under keys `l00`.. (`n` of
    /// them) and the text `short` under keys `s00`.. (`m` of them).
    fn flag_naming(key: &str, long: &str, n: usize, m: usize) -> Flag {
        let mut f = flag(key, [0, 1]);
        for i in 0..n {
            f.metadata.insert(format!("l{i:02}"), json!(long));
        }
        for i in 0..m {
            f.metadata.insert(format!("s{i:02}"), json!("short"));
        }
        f
    }

    /// `bytes` with every metadata entry `s..` naming `short` made to name
    /// `long` instead (`06 key 06 short` becomes `06 key 06 long`), as a
    /// breaker would: the body grows by nothing. Returns it and how many
    /// entries changed.
    fn naming_long(bytes: &[u8], long: &str) -> (Vec<u8>, usize) {
        let mut changed = 0;
        let bomb = with_body(bytes, |body| {
            let (table, _) = crate::format2::StrTable::read(body).unwrap();
            let texts: Vec<&str> = (0..).map_while(|i| table.get(i)).collect();
            let index = |t: &str| texts.iter().position(|&x| x == t).unwrap() as u8;
            let (l, short) = (index(long), index("short"));
            assert!(texts.len() < 128, "one-byte text indexes");
            let keys: Vec<u8> = (0..texts.len())
                .filter(|&i| texts[i].len() == 3 && texts[i].starts_with('s'))
                .map(|i| i as u8)
                .collect();
            let mut patched = body.clone();
            for k in keys {
                for (at, w) in body.windows(4).enumerate() {
                    if w == [0x06, k, 0x06, short] {
                        patched[at + 3] = l;
                        changed += 1;
                    }
                }
            }
            *body = patched;
        });
        (bomb, changed)
    }

    /// One 200,000-byte text named 20 times by a flag decodes (4 MB, within
    /// `MAX_FLAG_TEXT_BYTES`); named 41 times by the same bytes it would be
    /// 8.2 MB: refused by `from_bytes` at the text over the budget, and on
    /// `open` that flag alone is `PARSE_ERROR`.
    #[test]
    fn a_text_named_too_often_in_a_flag_is_a_body_error() {
        let long = "x".repeat(200_000);
        let good = bytes(vec![flag_naming("a", &long, 20, 21), flag("b", [1, 0])]);
        let whole = Snapshot::from_bytes(&good).unwrap();
        assert_eq!(whole.flag("a").unwrap().metadata.len(), 41);
        let (bad, changed) = naming_long(&good, &long);
        assert_eq!((changed, bad.len()), (21, good.len()));
        let err = Snapshot::from_bytes(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("snapshot body is malformed: flag 'a': text items decode to 4200"),
            "{err}"
        );
        assert!(
            err.ends_with("; at most 4194304 per flag are accepted"),
            "{err}"
        );
        only_a_is_a_parse_error(&bad, "at most 4194304 per flag are accepted");
    }

    /// 16 flags naming one 4,000,000-byte text decode whole (64 MB, within
    /// `MAX_SNAPSHOT_TEXT_BYTES`); a 17th naming it too is refused by
    /// `from_bytes` at that flag, while each flag alone is within its own
    /// budget, so `open` answers it; the builder refuses to write the 17.
    #[test]
    fn texts_named_too_often_across_flags_are_a_body_error() {
        let long = "x".repeat(4_000_000);
        let mut flags: Vec<Flag> = (0..16)
            .map(|i| flag_naming(&format!("f{i:02}"), &long, 1, 0))
            .collect();
        flags.push(flag_naming("f16", &long, 0, 1));
        let good = bytes(flags.clone());
        assert_eq!(Snapshot::from_bytes(&good).unwrap().flag_count(), 17);
        let (bad, changed) = naming_long(&good, &long);
        assert_eq!(changed, 1);
        let err = Snapshot::from_bytes(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "snapshot body is malformed: flag 'f16': the flags up to this one would decode to \
             68000221 bytes of text copied from the string table; snapshots carry at most \
             67108864 (64 MiB) per snapshot"
        );
        let opened = Snapshot::open(&bad).unwrap();
        let ctx = Context::from_value(json!({"targetingKey": "u1"}), 0).unwrap();
        assert_eq!(opened.evaluate("f16", &ctx).error_code, None);
        flags[16] = flag_naming("f16", &long, 1, 0);
        let body = Snapshot::from_bytes(&good).unwrap().to_body();
        let body = Body { flags, ..body };
        let err = Snapshot::encode("t", 1, 0, "test", &body)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("(64 MiB) per snapshot"), "{err}");
    }

    #[test]
    fn every_format_opens_to_the_same_flags_and_the_flag_table_finds_them() {
        let flags = vec![flag("a", [0, 1]), flag("bb", [1, 0]), flag("c", [0, 1])];
        let body = Snapshot::from_bytes(&bytes(flags)).unwrap().to_body();
        let ctx = Context::from_value(json!({"targetingKey": "u1"}), 0).unwrap();
        let answers = |bytes: &[u8]| {
            let s = Snapshot::open(bytes).unwrap();
            ["a", "bb", "c", "zz"].map(|k| s.evaluate(k, &ctx).to_json())
        };
        let current = Snapshot::encode("t", 1, 0, "test", &body).unwrap();
        assert_eq!(decode_envelope(&current).unwrap().format_version, 4);
        for v in [1, 2, 3] {
            let old = Snapshot::encode_format(v, "t", 1, 0, "test", &body).unwrap();
            assert_eq!(answers(&old), answers(&current), "format {v}");
            assert_eq!(
                Snapshot::from_bytes(&old).unwrap().to_body(),
                Snapshot::from_bytes(&current).unwrap().to_body()
            );
        }
        // Opening decodes no flag; the table sends `bb` to its own bytes.
        let opened = Snapshot::open(&current).unwrap();
        assert_eq!(decoded(&opened), 0);
        assert_eq!(opened.flag("bb").map(|f| f.key.as_str()), Some("bb"));
        assert_eq!(decoded(&opened), 1);
    }

    #[test]
    fn a_flag_table_that_does_not_fit_the_body_is_refused() {
        let good = bytes(vec![flag("a", [0, 1]), flag("b", [1, 0])]);
        let err = |bytes: &[u8]| Snapshot::open(bytes).unwrap_err().to_string();
        // One flag fewer than the body has.
        let short = with_flag_table(&good, |t| {
            t[0] = 1;
            t.pop();
        });
        assert_eq!(
            err(&short),
            "snapshot body is malformed: the flag table lists 1 flags, the body has 2"
        );
        // The first flag a byte longer, the second one shorter: the second
        // flag's head is then not where the table puts it.
        let shifted = with_flag_table(&good, |t| {
            t[1] += 1;
            t[2] -= 1;
        });
        assert!(
            err(&shifted).starts_with("snapshot body is malformed: expected a sequence"),
            "{}",
            err(&shifted)
        );
        // The last flag running over the items after it.
        let long = with_flag_table(&good, |t| t[2] += 3);
        assert!(
            err(&long).starts_with("snapshot body is malformed: "),
            "{}",
            err(&long)
        );
    }

    #[test]
    fn open_refuses_a_body_whose_framing_is_broken() {
        let good = bytes(vec![flag("a", [0, 1])]);
        let mut env = decode_envelope(&good).unwrap();
        // Drop the last byte of the body (the empty metadata map's length).
        env.body.pop();
        env.digest = sha256(&env.body).to_vec();
        let err = Snapshot::open(&env.to_bytes().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("snapshot body is malformed: the data ends early"),
            "{err}"
        );
    }
}
