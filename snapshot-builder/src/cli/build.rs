//! `vane build RULES -o OUT.cbor [--tenant T] [--version N] [--format vane|flagd]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::source::{build_rules, read_rules, FormatArg};

/// Arguments of `vane build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Rule file: Vane YAML (.yaml/.yml) or flagd JSON (.json).
    rules: PathBuf,
    /// Where to write the snapshot (written atomically: temp file + rename).
    #[arg(short, long)]
    output: PathBuf,
    /// Tenant (required for flagd files; must match `tenant:` of a Vane file).
    #[arg(long)]
    tenant: Option<String>,
    /// Snapshot version (default: the build time in Unix seconds).
    #[arg(long)]
    version: Option<u64>,
    /// Vane YAML file with `clients:` and `cors_origins:` for a flagd source
    /// (whose format has no place for client keys).
    #[arg(long)]
    access: Option<PathBuf>,
    /// Force the dialect instead of detecting it from the file.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

/// Runs `vane build`; prints a one-line summary to stderr.
pub fn run(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let (name, text, format) = read_rules(&a.rules, a.format)?;
    let Some(built) = build_rules(
        &name,
        &text,
        format,
        a.access.as_deref(),
        a.tenant,
        a.version,
    )?
    else {
        return Ok(ExitCode::from(1));
    };
    let tmp = a.output.with_extension("cbor.tmp");
    std::fs::write(&tmp, &built.bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &a.output)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    let info = &built.snapshot.info;
    eprintln!(
        "built {}: tenant {}, version {}, {} flags, {} bytes, sha256 {}",
        a.output.display(),
        info.tenant,
        info.version,
        built.snapshot.body.flags.len(),
        info.byte_size,
        info.digest
    );
    Ok(ExitCode::SUCCESS)
}
