//! Reading rule sources and snapshots from disk, and the clock.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use vane_resolver::Snapshot;
use vane_snapshot_builder::{
    build_sources, confidence, BuildOptions, Built, Diagnostic, Format, Sources,
};

/// Dialect choice on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Vane YAML.
    Vane,
    /// flagd JSON.
    Flagd,
    /// A Spotify Confidence resolver state (protobuf, encrypted protobuf,
    /// proto3 JSON, or the resolver specification's test form).
    Confidence,
}

/// What a Confidence state may need besides the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfidenceArgs {
    /// Confidence account id, when the state does not name it (binary and
    /// proto3-JSON states never do); also the default tenant.
    #[arg(long)]
    account: Option<String>,
    /// File holding the hex AES-256 key of an encrypted Confidence state.
    #[arg(long, value_name = "KEY_FILE")]
    state_key: Option<std::path::PathBuf>,
}

impl ConfidenceArgs {
    /// The front end's options: the account and the key read from its file.
    pub fn options(&self) -> anyhow::Result<confidence::Options> {
        let state_key = match &self.state_key {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Some(
                    confidence::parse_key(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                )
            }
        };
        Ok(confidence::Options {
            account: self.account.clone(),
            state_key,
        })
    }
}

/// A rule source read from disk.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name as given.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its dialect.
    pub format: Format,
    /// Options of a Confidence state.
    pub confidence: confidence::Options,
}

/// Reads a rule file and picks its dialect (`--format` wins over detection;
/// `--state-key` means a Confidence state).
pub fn read_rules(
    path: &Path,
    format: Option<FormatArg>,
    confidence: &ConfidenceArgs,
) -> anyhow::Result<Source> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.display().to_string();
    let format = match format {
        Some(FormatArg::Vane) => Format::Vane,
        Some(FormatArg::Flagd) => Format::Flagd,
        Some(FormatArg::Confidence) => Format::Confidence,
        None if confidence.state_key.is_some() => Format::Confidence,
        None => Format::detect(&name, &bytes),
    };
    Ok(Source {
        name,
        bytes,
        format,
        confidence: confidence.options()?,
    })
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

/// Builds rules read by [`read_rules`] in body format `format_version` with
/// the library's one build ([`build_sources`]), reading the access file when one is given
/// (`--access`); with `strict` (`--strict`) every warning is an error; the
/// version defaults to the build time. Read errors are `Err`; rule problems
/// are the inner `Err`.
pub fn build_rules(
    source: &Source,
    access: Option<&Path>,
    strict: bool,
    tenant: Option<String>,
    version: Option<u64>,
    format_version: u32,
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
        format_version,
    };
    let sources = Sources {
        file: &source.name,
        bytes: &source.bytes,
        format: source.format,
        confidence: &source.confidence,
        access: access
            .as_ref()
            .map(|(file, text)| (file.as_str(), text.as_str())),
        strict,
    };
    Ok(build_sources(&sources, &options))
}

/// A snapshot file, or rules compiled on the fly (version 0; flagd files and
/// Confidence states get the placeholder tenant `local`). Rule problems are
/// printed; `None` when there are errors.
pub fn load_snapshot(
    input: &Path,
    format: Option<FormatArg>,
    confidence: &ConfidenceArgs,
) -> anyhow::Result<Option<Snapshot>> {
    // An encrypted state may start with any byte, a snapshot's included.
    if confidence.state_key.is_none() && format.is_none() && is_snapshot_file(input)? {
        return read_snapshot(input).map(Some);
    }
    let source = read_rules(input, format, confidence)?;
    let tenant = (source.format != Format::Vane).then(|| "local".to_owned());
    match build_rules(
        &source,
        None,
        false,
        tenant,
        Some(0),
        vane_resolver::snapshot::FORMAT_VERSION,
    )? {
        Ok(built) => {
            print_diagnostics(&built.warnings);
            Ok(Some(built.snapshot))
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            Ok(None)
        }
    }
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
