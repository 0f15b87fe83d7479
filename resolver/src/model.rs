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
use crate::space::BucketSpace;

/// The body of a snapshot: one tenant's flags and access settings.
///
/// Encoded as an array of 4 items, or 5 when [`Body::spaces`] is not empty
/// (so snapshots without bucket spaces keep their bytes).
#[derive(Debug, Clone, PartialEq)]
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
    /// Bucket spaces that bucket-range tests ([`crate::space`]) refer to by
    /// index; unique by (scheme, salt, unit).
    pub spaces: Vec<BucketSpace>,
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(if self.spaces.is_empty() { 4 } else { 5 })?;
        t.serialize_element(&self.flags)?;
        t.serialize_element(&self.clients)?;
        t.serialize_element(&self.cors_origins)?;
        t.serialize_element(&self.metadata)?;
        if !self.spaces.is_empty() {
            t.serialize_element(&self.spaces)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> serde::de::Visitor<'de> for BodyVisitor {
            type Value = Body;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snapshot body: an array of 4 or 5 items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
                use serde::de::Error;
                let missing = |i| A::Error::invalid_length(i, &self);
                let body = Body {
                    flags: seq.next_element()?.ok_or_else(|| missing(0))?,
                    clients: seq.next_element()?.ok_or_else(|| missing(1))?,
                    cors_origins: seq.next_element()?.ok_or_else(|| missing(2))?,
                    metadata: seq.next_element()?.ok_or_else(|| missing(3))?,
                    spaces: seq.next_element()?.unwrap_or_default(),
                };
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(6, &self));
                }
                body.check_spaces().map_err(A::Error::custom)?;
                Ok(body)
            }
        }
        d.deserialize_seq(BodyVisitor)
    }
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

impl Flag {
    /// Calls `f` on every expression node of the flag's targeting and rule
    /// conditions.
    pub fn visit_exprs<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        match &self.targeting {
            Targeting::JsonLogic(e) => e.visit(f),
            Targeting::Rules(rules) => rules
                .iter()
                .filter_map(|r| r.when.as_ref())
                .for_each(|e| e.visit(f)),
            Targeting::Static | Targeting::Invalid(_) => {}
        }
    }
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
    /// Checks what decoding a test alone cannot: spaces are unique by
    /// (scheme, salt, unit), and every bucket-range test names an existing
    /// space with a count its scheme allows. The error names the flag.
    pub fn check_spaces(&self) -> Result<(), String> {
        for (i, a) in self.spaces.iter().enumerate() {
            if let Some(b) = self.spaces[..i]
                .iter()
                .find(|b| (b.scheme, &b.salt, &b.unit) == (a.scheme, &a.salt, &a.unit))
            {
                return Err(format!(
                    "bucket spaces '{}' and '{}' share scheme, salt and unit",
                    b.name, a.name
                ));
            }
        }
        for flag in &self.flags {
            let mut error = None;
            flag.visit_exprs(&mut |e| {
                if let (None, Expr::InBuckets(t)) = (&error, e) {
                    error = match self.spaces.get(t.space as usize) {
                        None => Some(format!(
                            "a bucket-range test refers to space {} of {}",
                            t.space,
                            self.spaces.len()
                        )),
                        Some(s) if t.count > s.scheme.max_count() => Some(format!(
                            "a bucket-range test over {} buckets exceeds {}'s {}",
                            t.count,
                            s.scheme.name(),
                            s.scheme.max_count()
                        )),
                        Some(_) => None,
                    };
                }
            });
            if let Some(e) = error {
                return Err(format!("flag '{}': {e}", flag.key));
            }
        }
        Ok(())
    }

    /// Finds a flag by key (binary search; flags are sorted).
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.flags[i])
    }
}
