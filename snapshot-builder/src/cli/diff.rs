//! `vane diff OLD NEW`: per-flag changes and the share of units whose
//! variant changes; exit 1 on a reshuffle unless `--allow-reshuffle`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use vane_resolver::Context;
use vane_snapshot_builder::diff::{diff, FlagDiff, Share};

use super::source::{load_snapshot, now, ConfidenceArgs, FormatArg};

/// Arguments of `vane diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The snapshot (.cbor) or rule file now published.
    old: PathBuf,
    /// The snapshot or rule file to publish.
    new: PathBuf,
    /// Sample size for estimated shares: contexts `{"targetingKey": "unit-0"}` …
    #[arg(long, default_value_t = DEFAULT_UNITS)]
    units: usize,
    /// Estimate over these contexts instead (a JSON array of context objects).
    #[arg(long)]
    contexts: Option<PathBuf>,
    /// Exit 0 even when a change reshuffles units of a running experiment.
    #[arg(long)]
    allow_reshuffle: bool,
    /// Evaluation time in Unix seconds (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// Force the dialect of rule files.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    confidence: ConfidenceArgs,
}

/// Default sample size for estimated shares (`vane diff --units`, and what
/// `vane publish` uses).
pub(super) const DEFAULT_UNITS: usize = 100_000;

/// Runs `vane diff`: prints one block per changed flag; exit 1 when a change
/// reshuffles (and `--allow-reshuffle` is not given) or a rule file has
/// errors, 2 on unusable input.
pub fn run(a: DiffArgs) -> anyhow::Result<ExitCode> {
    let (Some(old), Some(new)) = (
        load_snapshot(&a.old, a.format, &a.confidence)?,
        load_snapshot(&a.new, a.format, &a.confidence)?,
    ) else {
        return Ok(ExitCode::from(1));
    };
    let at = a.now.unwrap_or(now() as i64);
    let sample = match &a.contexts {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let list: Vec<Value> = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON array", path.display()))?;
            let mut out = Vec::with_capacity(list.len());
            for (i, v) in list.into_iter().enumerate() {
                match Context::from_value(v, at) {
                    Ok(c) => out.push(c),
                    Err(e) => bail!("{}: context {i}: {e}", path.display()),
                }
            }
            out
        }
        None => unit_sample(a.units, at),
    };
    let diffs = diff(&old, &new, &sample);
    super::print_out(&report(&diffs))?;
    Ok(if reshuffles(&diffs) && !a.allow_reshuffle {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The default sample: `units` contexts `{"targetingKey": "unit-{i}"}`
/// evaluated at `at` (Unix seconds).
pub(super) fn unit_sample(units: usize, at: i64) -> Vec<Context> {
    (0..units)
        .map(|i| {
            Context::from_value(json!({ "targetingKey": format!("unit-{i}") }), at)
                .expect("an object")
        })
        .collect()
}

/// True when a change of `diffs` reshuffles units of a running experiment.
pub(super) fn reshuffles(diffs: &[FlagDiff]) -> bool {
    diffs.iter().any(|d| !d.reshuffles.is_empty())
}

/// The text `vane diff` (and `vane publish`) prints.
pub fn report(diffs: &[FlagDiff]) -> String {
    let mut out = String::new();
    if diffs.is_empty() {
        out.push_str("no flag changes\n");
    }
    for d in diffs {
        out.push_str(&format!("flag {}:\n", d.key));
        for c in &d.changes {
            out.push_str(&format!("  {c}\n"));
        }
        out.push_str(&match d.switching {
            Share::Exact(s) => format!(
                "  units switching variant: {:.3} % (exact, from cut points)\n",
                s * 100.0
            ),
            Share::Estimated(s, n) => format!(
                "  units switching variant: {:.3} % (estimated over {n} contexts)\n",
                s * 100.0
            ),
        });
        for r in &d.reshuffles {
            out.push_str(&format!("  RESHUFFLE: {r}\n"));
        }
    }
    out
}
