//! Reading rule sources and snapshots from disk, and the clock.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use vane_resolver::Snapshot;
use vane_snapshot_builder::{build_sources, BuildOptions, Built, Diagnostic, Format, Sources};

/// Dialect choice on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Vane YAML.
    Vane,
    /// flagd JSON.
    Flagd,
}

/// Reads a rule file and picks its dialect (`--format` wins over detection).
pub fn read_rules(
    path: &Path,
    format: Option<FormatArg>,
) -> anyhow::Result<(String, String, Format)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.display().to_string();
    let format = match format {
        Some(FormatArg::Vane) => Format::Vane,
        Some(FormatArg::Flagd) => Format::Flagd,
        None => Format::detect(&name, &text),
    };
    Ok((name, text, format))
}

/// Prints diagnostics to stderr, one per line.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

/// Now in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The build time: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
pub fn build_time() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds")),
        Err(_) => Ok(now()),
    }
}

/// Builds rules read by [`read_rules`] with the library's one build
/// ([`build_sources`]), reading the access file when one is given
/// (`--access`); with `strict` (`--strict`) every warning is an error; the
/// version defaults to the build time. Read errors are `Err`; rule problems
/// are the inner `Err`.
pub fn build_rules(
    name: &str,
    text: &str,
    format: Format,
    access: Option<&Path>,
    strict: bool,
    tenant: Option<String>,
    version: Option<u64>,
) -> anyhow::Result<Result<Built, Vec<Diagnostic>>> {
    let access = match access {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some((path.display().to_string(), text))
        }
    };
    let created_at = build_time()?;
    let options = BuildOptions {
        tenant,
        version: version.unwrap_or(created_at),
        created_at,
    };
    let sources = Sources {
        file: name,
        text,
        format,
        access: access
            .as_ref()
            .map(|(file, text)| (file.as_str(), text.as_str())),
        strict,
    };
    Ok(build_sources(&sources, &options))
}

/// Loads a snapshot file, verifying it.
pub fn read_snapshot(path: &Path) -> anyhow::Result<Snapshot> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    decode_snapshot(path, &bytes)
}

/// Decodes and verifies snapshot bytes read from `path`. Bytes that do not
/// start like a snapshot (rule text, an empty file) get a message that says
/// so and what to do, rather than the CBOR decoder's.
pub fn decode_snapshot(path: &Path, bytes: &[u8]) -> anyhow::Result<Snapshot> {
    if !looks_like_snapshot(bytes) {
        let found = match bytes.first() {
            None => "the file is empty".to_owned(),
            Some(b) if b.is_ascii_graphic() || b.is_ascii_whitespace() => {
                "this looks like text".to_owned()
            }
            Some(b) => format!("this starts with byte {b:#04x}"),
        };
        bail!(
            "{} is not a Vane snapshot (a snapshot starts with a CBOR map; {found}): \
             check rules with `vane check`, compile them with `vane build`",
            path.display()
        );
    }
    Snapshot::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// True when the file looks like a CBOR snapshot rather than rule text.
pub fn is_snapshot_file(path: &Path) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(looks_like_snapshot(&bytes))
}

/// A snapshot starts with a CBOR map header (major type 5: `0xa0`-`0xbf`);
/// no UTF-8 text starts with such a byte (they are continuation bytes).
fn looks_like_snapshot(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| (0xa0..=0xbf).contains(b))
}
