//! `vane build RULES -o OUT.cbor [--tenant T] [--version N] [--format vane|flagd|confidence]
//! [--account ID] [--state-key FILE] [--sign KEY]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use vane_resolver::Snapshot;

use super::counted;
use super::keys::{public_key, read_signing_key};
use super::source::{build_rules, print_diagnostics, read_rules, ConfidenceArgs, FormatArg};

/// Arguments of `vane build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Rule file: Vane YAML (.yaml/.yml), flagd JSON (.json), or a Confidence
    /// resolver state (with `--format confidence`).
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
    #[command(flatten)]
    confidence: ConfidenceArgs,
    /// Treat every warning as an error: nothing is written when there is any.
    #[arg(long)]
    strict: bool,
    /// Body format to write: 4 (the default), or 3, 2 or 1 for workers
    /// that read only those (docs/snapshot-format.md, "Compatibility").
    #[arg(long, default_value_t = vane_resolver::snapshot::FORMAT_VERSION,
          value_parser = clap::value_parser!(u32).range(1..=4))]
    format_version: u32,
    /// Sign the snapshot with this Ed25519 private key (PKCS#8 PEM, as
    /// `vane keygen` writes it).
    #[arg(long, value_name = "KEY_FILE")]
    sign: Option<PathBuf>,
}

/// Runs `vane build`; prints a one-line summary to stderr.
pub fn run(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let source = read_rules(&a.rules, a.format, &a.confidence)?;
    // Read the key first: a bad key file fails before anything is built.
    let key = a.sign.as_deref().map(read_signing_key).transpose()?;
    let built = match build_rules(
        &source,
        a.access.as_deref(),
        a.strict,
        a.tenant,
        a.version,
        a.format_version,
    )? {
        Ok(built) => built,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return Ok(ExitCode::from(1));
        }
    };
    print_diagnostics(&built.warnings);
    let bytes = match &key {
        Some(key) => Snapshot::sign(&built.bytes, key)?,
        None => built.bytes,
    };
    write_atomically(&a.output, &bytes)?;
    let info = &built.snapshot.info;
    let signed = match &key {
        Some(key) => format!(", signed by {}", public_key(key)),
        None => String::new(),
    };
    eprintln!(
        "built {}: tenant {}, version {}, {}, {} bytes, sha256 {}{signed}",
        a.output.display(),
        info.tenant,
        info.version,
        counted(built.snapshot.flag_count(), "flag"),
        bytes.len(),
        info.digest
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one: a temporary file beside it (named for this process, so
/// concurrent builds and the user's own files are never touched), then a
/// rename. The temporary file is removed when either step fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let Some(name) = path.file_name() else {
        anyhow::bail!("cannot write {}: not a file name", path.display());
    };
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
