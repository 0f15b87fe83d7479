//! What the playground shows of a loaded snapshot: the `Inspection` object.

use serde::Serialize;
use serde_json::{Map, Value};

use vane_resolver::explain::TargetingKind;
use vane_resolver::{Flag, Snapshot, SnapshotInfo, Targeting};

/// A snapshot for people: info, flags, clients (names and key counts, never
/// the digests), CORS origins and flag-set metadata. camelCase JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection<'a> {
    info: &'a SnapshotInfo,
    flags: Vec<FlagSummary<'a>>,
    clients: Vec<ClientSummary<'a>>,
    cors_origins: &'a [String],
    metadata: &'a Map<String, Value>,
}

/// One flag: variants by name, default, state, kind of targeting, rule count.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FlagSummary<'a> {
    key: &'a str,
    variants: Vec<VariantView<'a>>,
    default_variant: Option<&'a str>,
    disabled: bool,
    targeting: TargetingKind,
    /// Number of Vane rules (0 for other targeting).
    rules: usize,
    metadata: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct VariantView<'a> {
    name: &'a str,
    value: &'a Value,
}

#[derive(Serialize)]
struct ClientSummary<'a> {
    name: &'a str,
    keys: usize,
}

impl<'a> Inspection<'a> {
    /// Inspects a snapshot.
    pub fn of(snapshot: &'a Snapshot) -> Inspection<'a> {
        Inspection {
            info: &snapshot.info,
            flags: snapshot.flags().map(FlagSummary::of).collect(),
            clients: snapshot
                .clients()
                .iter()
                .map(|c| ClientSummary {
                    name: &c.name,
                    keys: c.key_digests.len(),
                })
                .collect(),
            cors_origins: snapshot.cors_origins(),
            metadata: snapshot.metadata(),
        }
    }
}

impl<'a> FlagSummary<'a> {
    fn of(flag: &'a Flag) -> FlagSummary<'a> {
        FlagSummary {
            key: &flag.key,
            variants: flag
                .variants
                .iter()
                .map(|v| VariantView {
                    name: &v.name,
                    value: &v.value,
                })
                .collect(),
            default_variant: flag
                .default_variant
                .and_then(|i| flag.variants.get(i as usize))
                .map(|v| v.name.as_str()),
            disabled: flag.disabled,
            targeting: TargetingKind::of(&flag.targeting),
            rules: match &flag.targeting {
                Targeting::Rules(rules) => rules.len(),
                _ => 0,
            },
            metadata: &flag.metadata,
        }
    }
}
