//! The OFREP bulk body (`POST /ofrep/v1/evaluate/flags`, OFREP
//! `bulkEvaluationSuccess`) written straight to bytes.
//!
//! Everything in the body that does not depend on the context is encoded
//! once per decoded snapshot, on its first bulk answer: per variant of a
//! flag, the object up to its reason (`{"key":"…","value":…,`, the key
//! escaped) and from its variant name on (`,"variant":"…","metadata":{…}}`);
//! per flag the same without a variant (`{"key":"…",` and
//! `,"metadata":{…}}`); and the flag-set metadata. An answer then evaluates
//! every flag and copies three pieces per flag, the middle one its
//! reason's (a constant), writing only the error code and details of a
//! failure. A result whose metadata is not the flag's own (a holdout's,
//! which adds `holdout`) is written whole with serde_json. The bytes
//! are exactly `serde_json::to_vec(&snapshot.evaluate_bulk(context))` (the
//! tests compare them).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::model::Flag;
use crate::resolve::resolve;
use crate::result::Reason;
use crate::space::BucketCache;

/// A range of [`BulkPieces::bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u32,
    end: u32,
}

/// The pieces of one flag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FlagPieces {
    /// `{"key":"…",`
    head: Piece,
    /// `,"metadata":{…}}`
    tail: Piece,
    /// Per variant: `{"key":"…","value":…,` and
    /// `,"variant":"…","metadata":{…}}`.
    variants: Vec<(Piece, Piece)>,
}

/// `"reason":"…"` of a reason.
fn reason_member(reason: Reason) -> &'static [u8] {
    match reason {
        Reason::Static => br#""reason":"STATIC""#,
        Reason::TargetingMatch => br#""reason":"TARGETING_MATCH""#,
        Reason::Split => br#""reason":"SPLIT""#,
        Reason::Default => br#""reason":"DEFAULT""#,
        Reason::Disabled => br#""reason":"DISABLED""#,
        Reason::Error => br#""reason":"ERROR""#,
    }
}

/// The context-free pieces of a snapshot's bulk body, in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BulkPieces {
    bytes: Vec<u8>,
    flags: Vec<FlagPieces>,
    /// `]}` or `],"metadata":{…}}`.
    end: Piece,
}

/// Appends `value` as JSON. Values of the IR are maps with text keys,
/// texts, numbers, booleans and null, which always serialise; were one not
/// to, it is written as `null` rather than cut short.
fn json(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    let at = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(at);
        out.extend_from_slice(b"null");
    }
}

impl BulkPieces {
    /// Encodes the pieces of a snapshot's `flags` and flag-set `metadata`.
    pub(crate) fn new<'f>(
        flags: impl Iterator<Item = &'f Flag>,
        metadata: &Map<String, Value>,
    ) -> BulkPieces {
        let mut bytes = Vec::new();
        let piece = |bytes: &mut Vec<u8>, write: &mut dyn FnMut(&mut Vec<u8>)| {
            let start = bytes.len() as u32;
            write(bytes);
            Piece {
                start,
                end: bytes.len() as u32,
            }
        };
        let flags = flags
            .map(|flag| {
                let head = |b: &mut Vec<u8>| {
                    b.extend_from_slice(b"{\"key\":");
                    json(b, &flag.key);
                    b.push(b',');
                };
                let tail = |b: &mut Vec<u8>| {
                    b.extend_from_slice(b",\"metadata\":");
                    json(b, &flag.metadata);
                    b.push(b'}');
                };
                FlagPieces {
                    head: piece(&mut bytes, &mut |b| head(b)),
                    tail: piece(&mut bytes, &mut |b| tail(b)),
                    variants: flag
                        .variants
                        .iter()
                        .map(|v| {
                            let open = piece(&mut bytes, &mut |b| {
                                head(b);
                                b.extend_from_slice(b"\"value\":");
                                json(b, &v.value);
                                b.push(b',');
                            });
                            let close = piece(&mut bytes, &mut |b| {
                                b.extend_from_slice(b",\"variant\":");
                                json(b, &v.name);
                                tail(b);
                            });
                            (open, close)
                        })
                        .collect(),
                }
            })
            .collect();
        let end = piece(&mut bytes, &mut |b| {
            b.push(b']');
            if !metadata.is_empty() {
                b.extend_from_slice(b",\"metadata\":");
                json(b, metadata);
            }
            b.push(b'}');
        });
        BulkPieces { bytes, flags, end }
    }

    /// Bytes of all pieces together (about the size of an answer).
    pub(crate) fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    fn get(&self, p: Piece) -> &[u8] {
        // Pieces are ranges `new` recorded while writing `bytes`.
        self.bytes
            .get(p.start as usize..p.end as usize)
            .unwrap_or_default()
    }

    /// Evaluates every flag of `flags` (the flags these pieces were made
    /// from) for one request (`buckets`) and appends the bulk body to `out`.
    pub(crate) fn write<'f>(
        &self,
        flags: impl Iterator<Item = &'f Flag>,
        buckets: &BucketCache<'_>,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"{\"flags\":[");
        for (i, (flag, pieces)) in flags.zip(&self.flags).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write_flag(flag, pieces, buckets, out);
        }
        out.extend_from_slice(self.get(self.end));
    }

    fn write_flag(
        &self,
        flag: &Flag,
        pieces: &FlagPieces,
        buckets: &BucketCache<'_>,
        out: &mut Vec<u8>,
    ) {
        let r = resolve(flag, buckets, &mut ());
        // A holdout's answer carries its own metadata (the flag's plus
        // `holdout`), which no piece holds: write the whole result.
        if r.metadata.is_some_and(|m| !std::ptr::eq(m, &flag.metadata)) {
            json(out, &r);
            return;
        }
        if let Some(code) = r.error_code {
            out.extend_from_slice(self.get(pieces.head));
            out.extend_from_slice(b"\"errorCode\":\"");
            out.extend_from_slice(code.as_str().as_bytes());
            out.extend_from_slice(b"\",\"errorDetails\":");
            json(out, &r.error_details.as_deref().unwrap_or(""));
            out.extend_from_slice(self.get(pieces.tail));
            return;
        }
        // The result borrows the served variant's value: find which.
        let served = r.value.and_then(|value| {
            flag.variants
                .iter()
                .position(|v| std::ptr::eq(&v.value, value))
        });
        let (open, close) = match served.and_then(|i| pieces.variants.get(i)) {
            Some(&(open, close)) => (open, close),
            None => (pieces.head, pieces.tail),
        };
        out.extend_from_slice(self.get(open));
        out.extend_from_slice(reason_member(r.reason));
        out.extend_from_slice(self.get(close));
    }
}

/// The [`BulkPieces`] of a snapshot, made on first use. Derived from the
/// body alone, so two snapshots compare equal whether or not either has
/// made them yet.
#[derive(Debug, Clone, Default)]
pub(crate) struct LazyBulkPieces(OnceLock<BulkPieces>);

impl LazyBulkPieces {
    /// The pieces of `flags` and `metadata` (which must be those of the
    /// snapshot this belongs to), encoding them the first time.
    pub(crate) fn get<'f>(
        &self,
        flags: impl Iterator<Item = &'f Flag>,
        metadata: &Map<String, Value>,
    ) -> &BulkPieces {
        self.0.get_or_init(|| BulkPieces::new(flags, metadata))
    }
}

impl PartialEq for LazyBulkPieces {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use crate::expr::Expr;
    use crate::model::{Body, Flag, Holdout, Rule, Serve, Split, Targeting, Variant};
    use crate::{Context, Snapshot};

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn flag(key: &str, targeting: Targeting, default_variant: Option<u32>) -> Flag {
        Flag {
            key: key.to_owned(),
            variants: vec![
                Variant {
                    name: "on \"quoted\" ✓".into(),
                    value: json!({"a": [1, 2.5, null], "b": "\u{1}\n"}),
                },
                Variant {
                    name: "off".into(),
                    value: json!(false),
                },
            ],
            default_variant,
            disabled: false,
            targeting,
            metadata: Map::new(),
        }
    }

    fn snapshot(set_metadata: Map<String, Value>) -> Snapshot {
        let split = Targeting::Rules(vec![Rule {
            when: None,
            serve: Serve::Split(Split {
                bucket_by: None,
                salt: "s".into(),
                weights: vec![(0, 1), (1, 1)],
            }),
            active_from: None,
            active_until: None,
        }]);
        let held_out = Targeting::Rules(vec![Rule {
            when: None,
            serve: Serve::Holdout(Holdout {
                name: "h".into(),
                variant: None,
                metadata: map(json!({"holdout": "h", "team": "web"})),
            }),
            active_from: None,
            active_until: None,
        }]);
        let mut flags = vec![
            flag("a\"b\\c\n", Targeting::Static, Some(0)),
            flag("disabled", Targeting::Static, Some(1)),
            flag(
                "invalid",
                Targeting::Invalid("bad \"$ref\"\t".into()),
                Some(1),
            ),
            flag(
                "json",
                Targeting::JsonLogic(Expr::Var(vec!["pick".into()])),
                Some(1),
            ),
            flag("no-default", Targeting::Static, None),
            flag("split", split, Some(1)),
            flag("held-out", held_out, Some(0)),
        ];
        flags[1].disabled = true;
        flags[4].metadata = map(json!({"team": "web", "n": 3, "ok": true}));
        let body = Body {
            flags,
            clients: Vec::new(),
            cors_origins: Vec::new(),
            metadata: set_metadata,
            spaces: Vec::new(),
            exposure_log: Default::default(),
        };
        Snapshot::from_bytes(&Snapshot::encode("t", 1, 0, "test", &body).unwrap()).unwrap()
    }

    #[test]
    fn the_bulk_body_is_byte_for_byte_what_serde_json_writes() {
        for set_metadata in [Map::new(), map(json!({"flagSetId": "x", "version": 2}))] {
            let s = snapshot(set_metadata);
            for ctx in [
                r#"{}"#,
                r#"{"targetingKey":"u1","pick":"off"}"#,
                r#"{"targetingKey":"u2","pick":"nope"}"#,
                r#"{"targetingKey":"u3","pick":"on \"quoted\" ✓"}"#,
                r#"{"pick":[1]}"#,
            ] {
                let context = Context::from_json(ctx, 0).unwrap();
                let expected = serde_json::to_vec(&s.evaluate_bulk(&context)).unwrap();
                assert_eq!(
                    String::from_utf8(s.bulk_json(&context)).unwrap(),
                    String::from_utf8(expected).unwrap(),
                    "{ctx}"
                );
            }
        }
    }
}
