//! `vane eval SNAPSHOT_OR_RULES --context JSON [--flag KEY]`: OFREP JSON on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use vane_resolver::Context;

use super::source::{load_snapshot, now, ConfidenceArgs, FormatArg};

/// Arguments of `vane eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A snapshot (.cbor) or a rule file (compiled on the fly).
    input: PathBuf,
    /// Evaluation context as a JSON object, or `@file.json` to read it from a file.
    #[arg(long, default_value = "{}")]
    context: String,
    /// Evaluate only this flag and print the OFREP single-flag body.
    #[arg(long)]
    flag: Option<String>,
    /// With --flag: print why (rules, reads, layers with the unit's bucket,
    /// split placement) as text instead of the OFREP body.
    #[arg(long, requires = "flag")]
    explain: bool,
    /// Evaluation time in Unix seconds (default: now); for rule time windows
    /// and `$flagd.timestamp`.
    #[arg(long)]
    now: Option<i64>,
    /// Force the dialect of a rule file.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    confidence: ConfidenceArgs,
}

/// Runs `vane eval`. Flag-level failures are data (exit 0); an unreadable
/// input or an invalid context exits 2 with a message.
pub fn run(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(snapshot) = load_snapshot(&a.input, a.format, &a.confidence)? else {
        return Ok(ExitCode::from(1));
    };
    let text = match a.context.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read context file {file}"))?,
        None => a.context.clone(),
    };
    let now = a.now.unwrap_or(now() as i64);
    let context = match Context::from_json(&text, now) {
        Ok(c) => c,
        Err(e) => bail!("invalid --context: {e}"),
    };
    let out = match &a.flag {
        Some(key) if a.explain => super::explain::text(&snapshot.explain(key, &context)),
        Some(key) => serde_json::to_string(&snapshot.evaluate(key, &context))?,
        None => serde_json::to_string(&snapshot.evaluate_bulk(&context))?,
    };
    super::print_out(&format!("{out}\n"))?;
    Ok(ExitCode::SUCCESS)
}
