//! `vane check RULES [--access FILE] [--tenant T]`: every diagnostic, exit 1
//! on errors. It runs the whole build (`build_sources`, the one the JS
//! bindings run too), writing nothing, so it reports exactly what
//! `vane build` and the playground would.

use std::path::PathBuf;
use std::process::ExitCode;

use super::counted;
use super::source::{build_rules, print_diagnostics, read_rules, ConfidenceArgs, FormatArg};

/// Arguments of `vane check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Rule file: Vane YAML, flagd JSON, or a Confidence resolver state (with
    /// `--format confidence`).
    rules: PathBuf,
    /// Vane YAML file with `clients:` and `cors_origins:` for a flagd source.
    #[arg(long)]
    access: Option<PathBuf>,
    /// Tenant (needed for a flagd file unless the access file names one;
    /// must match `tenant:` of a Vane file).
    #[arg(long)]
    tenant: Option<String>,
    /// Force the dialect instead of detecting it from the file.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    confidence: ConfidenceArgs,
    /// Treat every warning as an error (exit 1 when there is any).
    #[arg(long)]
    strict: bool,
}

/// Runs `vane check`.
pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let source = read_rules(&a.rules, a.format, &a.confidence)?;
    let name = &source.name;
    match build_rules(
        &source,
        a.access.as_deref(),
        a.strict,
        a.tenant,
        None,
        vane_resolver::snapshot::FORMAT_VERSION,
    )? {
        Ok(built) => {
            print_diagnostics(&built.warnings);
            eprintln!(
                "{name}: ok, {}, {}",
                counted(built.snapshot.flag_count(), "flag"),
                counted(built.warnings.len(), "warning")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "{name}: {}, {}",
                counted(errors, "error"),
                counted(diagnostics.len() - errors, "warning")
            );
            Ok(ExitCode::from(1))
        }
    }
}
