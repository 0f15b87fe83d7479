//! Reading a Confidence resolver state in any of its forms into one
//! [`State`]:
//!
//! - binary protobuf `ResolverState`, as Confidence's state CDN serves it,
//!   optionally AES-256-GCM encrypted with the customer's key (Tink's
//!   no-prefix layout: 12-byte nonce, ciphertext, 16-byte tag; no
//!   associated data);
//! - its proto3-JSON form (`flags` as a list, `segmentsNoBitsets`,
//!   `bitsets` as `{segment, gzippedBitset | fullBitset}`, `clients`,
//!   `clientCredentials`);
//! - the test form of Confidence's resolver specification (`state.json`:
//!   `account`, flags and segments keyed by name, bitsets as `"ALL"` or the
//!   indices of the set bits, `bloomFilters` keyed by materialized segment,
//!   `clients` keyed by secret).

use std::collections::BTreeMap;
use std::io::Read as _;

use serde::Deserialize;
use serde_json::Value;

use super::proto::{self, ResolverState};
use crate::diagnostic::Diagnostic;

/// A segment's allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bits {
    /// Every bucket.
    All,
    /// The set bits, ascending (bucket numbers).
    Set(Vec<u32>),
}

/// A state in one shape, whatever form it was read from.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The account id (`accounts/{id}` → `{id}`), when the state names it.
    pub account: Option<String>,
    /// Flags, in the state's order (test form: by name).
    pub flags: Vec<proto::Flag>,
    /// Segments by name.
    pub segments: BTreeMap<String, proto::Segment>,
    /// Allocations by segment name.
    pub bitsets: BTreeMap<String, Bits>,
    /// Bloom filters by materialized segment.
    pub blooms: BTreeMap<String, proto::BloomFilter>,
    /// Clients.
    pub clients: Vec<proto::Client>,
    /// Credentials.
    pub credentials: Vec<proto::ClientCredential>,
}

/// Largest decompressed bitset accepted: 1,000,000 bits is 125,000 bytes;
/// allow eight times that before calling the input hostile.
const MAX_BITSET_BYTES: u64 = 1_000_000;

/// Reads a state. `key` is the AES-256 key of an encrypted state.
/// Errors: one located diagnostic.
pub fn read(file: &str, bytes: &[u8], key: Option<&[u8; 32]>) -> Result<State, Diagnostic> {
    let plain;
    let bytes = match key {
        Some(key) => {
            plain = decrypt(file, bytes, key)?;
            &plain[..]
        }
        None => bytes,
    };
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| bytes[i]);
    if text_start == Some(b'{') {
        return read_json(file, bytes);
    }
    let state = <ResolverState as prost::Message>::decode(bytes).map_err(|e| {
        Diagnostic::error(
            file,
            "",
            format!(
                "not a Confidence resolver state: neither JSON nor a protobuf ResolverState ({e}){}",
                if key.is_none() {
                    "; an encrypted state needs --state-key"
                } else {
                    ""
                }
            ),
        )
    })?;
    from_proto(file, state)
}

fn decrypt(file: &str, bytes: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, Diagnostic> {
    use aes_gcm::aead::{Aead, KeyInit};
    if bytes.len() < 12 + 16 {
        return Err(Diagnostic::error(
            file,
            "",
            format!(
                "an encrypted state is at least 28 bytes (12-byte nonce, 16-byte tag); this is {}",
                bytes.len()
            ),
        ));
    }
    let (nonce, sealed) = bytes.split_at(12);
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    cipher
        .decrypt(aes_gcm::Nonce::from_slice(nonce), sealed)
        .map_err(|_| {
            Diagnostic::error(
                file,
                "",
                "the state does not decrypt with --state-key (AES-256-GCM: wrong key, or not an encrypted state)",
            )
        })
}

/// The proto3-JSON form or the specification's test form.
fn read_json(file: &str, bytes: &[u8]) -> Result<State, Diagnostic> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Diagnostic::error(file, "", format!("not valid JSON: {e}"))
            .at(e.line() as u32, e.column() as u32)
    })?;
    let test_form = value.get("flags").is_some_and(Value::is_object)
        || value.get("segments").is_some_and(Value::is_object);
    if test_form {
        let state: TestState = typed(file, value)?;
        from_test_form(file, state)
    } else {
        let state: ResolverState = typed(file, value)?;
        from_proto(file, state)
    }
}

/// Deserialises with the JSON path of the first mismatch.
fn typed<T: for<'de> Deserialize<'de>>(file: &str, value: Value) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Diagnostic::error(file, path, e.into_inner().to_string())
    })
}

fn account_id(name: &str) -> Option<String> {
    let id = name.strip_prefix("accounts/").unwrap_or(name);
    (!id.is_empty()).then(|| id.to_owned())
}

fn from_proto(file: &str, state: ResolverState) -> Result<State, Diagnostic> {
    let mut bitsets = BTreeMap::new();
    for (i, packed) in state.bitsets.into_iter().enumerate() {
        let path = format!("bitsets[{i}]");
        let bits = match (packed.gzipped_bitset, packed.full_bitset) {
            (Some(gz), _) => Bits::Set(gunzip_bits(file, &path, &gz)?),
            (None, Some(true)) => Bits::All,
            _ => {
                return Err(Diagnostic::error(
                    file,
                    path,
                    format!(
                        "segment '{}': a bitset needs gzippedBitset or fullBitset: true",
                        packed.segment
                    ),
                ))
            }
        };
        bitsets.insert(packed.segment, bits);
    }
    Ok(State {
        account: None,
        flags: state.flags,
        segments: state
            .segments_no_bitsets
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        bitsets,
        blooms: state
            .bloom_filters
            .into_iter()
            .map(|b| (b.materialized_segment.clone(), b))
            .collect(),
        clients: state.clients,
        credentials: state.client_credentials,
    })
}

/// The set bits of a gzipped bitset: bit `i` is bit `i % 8` (least
/// significant first) of byte `i / 8`.
fn gunzip_bits(file: &str, path: &str, gz: &[u8]) -> Result<Vec<u32>, Diagnostic> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(MAX_BITSET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Diagnostic::error(file, path, format!("gzippedBitset does not gunzip: {e}"))
        })?;
    if bytes.len() as u64 > MAX_BITSET_BYTES {
        return Err(Diagnostic::error(
            file,
            path,
            format!("gzippedBitset unpacks to more than {MAX_BITSET_BYTES} bytes"),
        ));
    }
    let mut set = Vec::new();
    for (i, byte) in bytes.iter().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                set.push((i * 8 + bit) as u32);
            }
        }
    }
    Ok(set)
}

/// The specification's `state.json`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestState {
    #[serde(default)]
    account: Option<TestAccount>,
    #[serde(default)]
    flags: BTreeMap<String, proto::Flag>,
    #[serde(default)]
    segments: BTreeMap<String, proto::Segment>,
    #[serde(default)]
    bitsets: BTreeMap<String, Value>,
    #[serde(default)]
    bloom_filters: BTreeMap<String, proto::BloomFilter>,
    #[serde(default)]
    clients: BTreeMap<String, TestClient>,
}

#[derive(Deserialize)]
struct TestAccount {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestClient {
    client: proto::Client,
    client_credential: proto::ClientCredential,
}

fn from_test_form(file: &str, state: TestState) -> Result<State, Diagnostic> {
    let mut bitsets = BTreeMap::new();
    for (segment, bits) in state.bitsets {
        let path = format!("bitsets.{segment}");
        let bits = match bits {
            Value::String(s) if s == "ALL" => Bits::All,
            Value::Array(items) => {
                let mut set = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item.as_u64().and_then(|n| u32::try_from(n).ok()) {
                        Some(n) => set.push(n),
                        None => {
                            return Err(Diagnostic::error(
                                file,
                                format!("{path}[{i}]"),
                                format!("a set bit is a bucket number, found {item}"),
                            ))
                        }
                    }
                }
                set.sort_unstable();
                set.dedup();
                Bits::Set(set)
            }
            other => {
                return Err(Diagnostic::error(
                    file,
                    path,
                    format!("a bitset is \"ALL\" or a list of set bits, found {other}"),
                ))
            }
        };
        bitsets.insert(segment, bits);
    }
    let mut clients = Vec::new();
    let mut credentials = Vec::new();
    for (secret, entry) in state.clients {
        let mut credential = entry.client_credential;
        if credential.client_secret.is_none() {
            credential.client_secret = Some(proto::ClientSecret { secret });
        }
        if !clients
            .iter()
            .any(|c: &proto::Client| c.name == entry.client.name)
        {
            clients.push(entry.client);
        }
        credentials.push(credential);
    }
    Ok(State {
        account: state.account.and_then(|a| account_id(&a.name)),
        flags: state.flags.into_values().collect(),
        segments: state.segments,
        bitsets,
        blooms: state
            .bloom_filters
            .into_iter()
            .map(|(name, mut b)| {
                b.materialized_segment = name.clone();
                (name, b)
            })
            .collect(),
        clients,
        credentials,
    })
}
