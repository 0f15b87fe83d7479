//! The snapshot body: the intermediate representation every rule dialect
//! compiles to and the only thing the resolver executes.
//!
//! Structs encode as CBOR arrays (field order is the wire order, see
//! `docs/snapshot-format.md`), so no field name is repeated per flag. Variant
//! names are resolved to indices into [`Flag::variants`] at build time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::expr::{Expr, Path};

/// The body of a snapshot: one tenant's flags and access settings.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Body {
    /// Flags sorted by key (byte order), keys unique. Lookup is a binary search.
    pub flags: Vec<Flag>,
    /// Clients allowed to read this tenant's flags.
    pub clients: Vec<Client>,
    /// Origins allowed by CORS; empty means any origin (`*`).
    pub cors_origins: Vec<String>,
    /// Flag-set metadata (flagd `metadata` at the top of a file), reported in
    /// OFREP bulk answers.
    pub metadata: Map<String, Value>,
}

/// A client of the tenant: a name and the sha256 digests of its keys.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Client {
    /// Human name, e.g. `web-storefront`.
    pub name: String,
    /// sha256 of each accepted client key (32 bytes each); never a plain key.
    pub key_digests: Vec<KeyDigest>,
}

/// A sha256 digest of a client key, 32 bytes, encoded as a CBOR byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyDigest(pub [u8; 32]);

impl Serialize for KeyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_bytes::Bytes::new(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(KeyDigest)
            .map_err(|_| serde::de::Error::invalid_length(bytes.len(), &"32 bytes"))
    }
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Flag {
    /// The flag key, unique within the snapshot.
    pub key: String,
    /// Variants in source order; rules refer to them by index.
    pub variants: Vec<Variant>,
    /// Index of the default variant; `None` when the source has none (flagd
    /// `defaultVariant: null` or absent): the caller's code default applies.
    pub default_variant: Option<u32>,
    /// `true` for a disabled flag (flagd `state: DISABLED`, Vane `enabled: false`):
    /// reason `DISABLED`, no value.
    pub disabled: bool,
    /// How the variant is chosen.
    pub targeting: Targeting,
    /// Flag metadata (flag-set metadata merged under it at build time), reported
    /// with every result.
    pub metadata: Map<String, Value>,
}

/// A named variant and its value.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Variant {
    /// Variant name, reported as OFREP `variant`.
    pub name: String,
    /// Variant value (boolean, string, number or object).
    pub value: Value,
}

/// How a flag picks its variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targeting {
    /// No targeting: the default variant, reason `STATIC`.
    #[serde(rename = "s")]
    Static,
    /// flagd JsonLogic: the expression's result names the variant (a string, or
    /// a boolean turned into `"true"`/`"false"`); `null` means the default
    /// variant with reason `DEFAULT`. Semantics of flagd core.
    #[serde(rename = "j")]
    JsonLogic(Expr),
    /// flagd targeting the builder could not compile (for example a `$ref` to a
    /// missing evaluator). flagd accepts the file and fails at evaluation, so
    /// every evaluation of this flag is `PARSE_ERROR` with this message.
    #[serde(rename = "x")]
    Invalid(String),
    /// Vane ordered rules: the first rule that is active and whose condition
    /// holds serves; none → default variant with reason `DEFAULT`.
    #[serde(rename = "r")]
    Rules(Vec<Rule>),
}

/// A Vane rule.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Rule {
    /// Condition; `None` always matches.
    pub when: Option<Expr>,
    /// What the rule serves when it matches.
    pub serve: Serve,
    /// The rule applies from this time on (Unix seconds, inclusive).
    pub active_from: Option<i64>,
    /// The rule applies until this time (Unix seconds, exclusive).
    pub active_until: Option<i64>,
}

/// What a matching Vane rule serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Serve {
    /// One variant (index), reason `TARGETING_MATCH`.
    #[serde(rename = "v")]
    Variant(u32),
    /// A weighted split, reason `SPLIT`.
    #[serde(rename = "s")]
    Split(Split),
}

/// A weighted split over variants, bucketed as described in [`crate::bucket`].
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Split {
    /// Attribute whose value is the bucketing unit; `None` = the targeting key.
    pub bucket_by: Option<Path>,
    /// Salt prefixed to the unit (`"{salt}|{unit}"`); defaults to the flag key.
    pub salt: String,
    /// `(variant index, weight)` in declaration order; weights are positive and
    /// their sum fits in `u32`.
    pub weights: Vec<(u32, u32)>,
}

impl Body {
    /// Finds a flag by key (binary search; flags are sorted).
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.flags[i])
    }
}
