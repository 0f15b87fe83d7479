//! The flags of a snapshot, each decoded on first use.
//!
//! A format-2, -3 or -4 snapshot opened with [`crate::Snapshot::open`] keeps its
//! verified body and, per flag, where its item lies and its key (in the
//! string table, read and UTF-8 checked once). A request that needs one
//! flag decodes that flag only, the first time, and keeps it; the bulk
//! endpoints decode the rest as they meet them. A flag that does not decode
//! (a snapshot written by a newer builder with an IR node this resolver
//! does not know, served by a worker that was rolled back) becomes a flag
//! whose every evaluation is `PARSE_ERROR` with the decoder's message, as
//! flagd treats a flag it cannot parse; the other flags keep serving.
//! [`crate::Snapshot::from_bytes`] decodes and checks every flag up front
//! instead (what publishing and the builder use), so a snapshot it accepts
//! has no such flag.

use std::sync::OnceLock;

use serde_json::Map;

use crate::format2::{add_copied_text, decode_flag, FlagAt, Layout, StrTable};
use crate::model::{Flag, Targeting};
use crate::space::BucketSpace;

/// Flags by position (key order), decoded on first use.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlagStore {
    cells: Box<[OnceLock<Flag>]>,
    /// Where undecoded flags come from; `None` once every flag is decoded.
    source: Option<Source>,
}

/// A verified format-2, -3 or -4 body and where its flags lie.
#[derive(Debug, Clone)]
struct Source {
    body: Box<[u8]>,
    table: StrTable,
    at: Box<[FlagAt]>,
    layout: Layout,
}

impl FlagStore {
    /// Flags already decoded (format 1).
    pub(crate) fn decoded(flags: Vec<Flag>) -> FlagStore {
        FlagStore {
            cells: flags.into_iter().map(OnceLock::from).collect(),
            source: None,
        }
    }

    /// The flags of an opened body of `layout` (format 2, 3 or 4), none
    /// decoded yet.
    pub(crate) fn lazy(
        body: Vec<u8>,
        table: StrTable,
        at: Vec<FlagAt>,
        layout: Layout,
    ) -> FlagStore {
        FlagStore {
            cells: at.iter().map(|_| OnceLock::new()).collect(),
            source: Some(Source {
                body: body.into(),
                table,
                at: at.into(),
                layout,
            }),
        }
    }

    /// Number of flags decoded so far.
    #[cfg(test)]
    pub(crate) fn cells_decoded(&self) -> usize {
        self.cells.iter().filter(|c| c.get().is_some()).count()
    }

    /// Number of flags.
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// The key of flag `i`, without decoding the flag.
    pub(crate) fn key(&self, i: usize) -> &str {
        match &self.source {
            Some(s) => {
                s.at.get(i)
                    .and_then(|at| s.table.get(at.key.into()))
                    .unwrap_or_default()
            }
            None => self
                .cells
                .get(i)
                .and_then(OnceLock::get)
                .map_or("", |f| f.key.as_str()),
        }
    }

    /// Flag `i`, decoded (and checked against `spaces`) the first time.
    pub(crate) fn get(&self, i: usize, spaces: &[BucketSpace]) -> Option<&Flag> {
        let cell = self.cells.get(i)?;
        Some(cell.get_or_init(|| {
            self.decode(i, spaces)
                .map_or_else(|e| self.broken(i, e), |(flag, _)| flag)
        }))
    }

    /// Every flag, in key order, each decoded the first time.
    pub(crate) fn iter<'s>(
        &'s self,
        spaces: &'s [BucketSpace],
    ) -> impl ExactSizeIterator<Item = &'s Flag> + 's {
        self.cells.iter().enumerate().map(move |(i, cell)| {
            cell.get_or_init(|| {
                self.decode(i, spaces)
                    .map_or_else(|e| self.broken(i, e), |(flag, _)| flag)
            })
        })
    }

    /// Decodes and checks every flag not decoded yet, then lets the body
    /// go. Errors: the first flag that does not decode or check.
    pub(crate) fn decode_all(&mut self, spaces: &[BucketSpace]) -> Result<(), String> {
        let mut copied = 0;
        for (i, cell) in self.cells.iter().enumerate() {
            if cell.get().is_none() {
                let (flag, n) = self.decode(i, spaces)?;
                add_copied_text(&mut copied, n)
                    .map_err(|e| format!("flag '{}': {e}", self.key(i)))?;
                // Unset a moment ago, and nothing else holds the store.
                let _ = cell.set(flag);
            }
        }
        self.source = None;
        Ok(())
    }

    /// Decodes and checks flag `i` from the source; returns it and the
    /// bytes of text it copied out of the string table.
    fn decode(&self, i: usize, spaces: &[BucketSpace]) -> Result<(Flag, usize), String> {
        let s = self.source.as_ref().ok_or("the flag is not in the body")?;
        let at = *s.at.get(i).ok_or("the flag is not in the body")?;
        let (flag, copied) = decode_flag(&s.body, &s.table, at, s.layout)
            .map_err(|e| format!("flag '{}': {e}", self.key(i)))?;
        flag.check(spaces)?;
        Ok((flag, copied))
    }

    /// The stand-in for flag `i` when it does not decode: every evaluation
    /// is `PARSE_ERROR` with the reason.
    fn broken(&self, i: usize, error: String) -> Flag {
        Flag {
            key: self.key(i).to_owned(),
            variants: Vec::new(),
            default_variant: None,
            disabled: false,
            targeting: Targeting::Invalid(format!("the snapshot body is malformed: {error}")),
            metadata: Map::new(),
        }
    }
}
