//! `vane resolve SNAPSHOT_OR_RULES --request JSON|@file [--materializations
//! JSON|@file]`: the Confidence `flags:resolve` body the worker returns for
//! the same request, on stdout (with an empty `resolveId` and
//! `resolveToken`: the worker makes those per request).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use vane_resolver::assign::Materializations;
use vane_resolver::confidence::ResolveRequest;

use super::source::{load_snapshot, now, ConfidenceArgs, FormatArg};

/// Arguments of `vane resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// A snapshot (.cbor) or a rule file or Confidence state (compiled on the fly).
    input: PathBuf,
    /// The `flags:resolve` request body (JSON), or `@file.json`.
    #[arg(long)]
    request: String,
    /// What the sticky-assignment store holds before the request (JSON:
    /// unit → materialization → {isUnitInMaterialization, ruleToVariant}),
    /// or `@file.json`; default: an empty store.
    #[arg(long)]
    materializations: Option<String>,
    /// Evaluation time in Unix seconds (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// Force the dialect of a rule file.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    confidence: ConfidenceArgs,
}

/// Reads an argument that is JSON text or `@file`.
fn json_arg(what: &str, arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix('@') {
        Some(file) => {
            std::fs::read_to_string(file).with_context(|| format!("cannot read {what} file {file}"))
        }
        None => Ok(arg.to_owned()),
    }
}

/// Runs `vane resolve`. An unknown client secret or an unusable request
/// exits 2 with a message, as the worker answers 4xx.
pub fn run(a: ResolveArgs) -> anyhow::Result<ExitCode> {
    let Some(snapshot) = load_snapshot(&a.input, a.format, &a.confidence)? else {
        return Ok(ExitCode::from(1));
    };
    let request: ResolveRequest = serde_json::from_str(&json_arg("request", &a.request)?)
        .context("invalid --request (a flags:resolve body)")?;
    let sticky: Option<Materializations> = match &a.materializations {
        None => None,
        Some(arg) => Some(
            serde_json::from_str(&json_arg("materializations", arg)?)
                .context("invalid --materializations")?,
        ),
    };
    let Some(client) = snapshot.client_for_secret(&request.client_secret) else {
        bail!("client secret not found: no client of the snapshot has this secret");
    };
    let now = a.now.unwrap_or(now() as i64);
    let resolution = match snapshot.resolve_confidence(client, &request, sticky.as_ref(), now) {
        Ok(r) => r,
        Err(e) => bail!("invalid evaluationContext: {e}"),
    };
    super::print_out(&format!("{}\n", resolution.body_text("", "")))?;
    Ok(ExitCode::SUCCESS)
}
