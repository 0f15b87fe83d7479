//! The builder's entry points: detect the dialect, run its front end, finish
//! the IR the same way for every dialect, and encode the snapshot.

use vane_resolver::limits::{snapshot_too_large, TenantName, MAX_SNAPSHOT_BYTES};
use vane_resolver::{Snapshot, SnapshotError};

use crate::compiled::Compiled;
use crate::diagnostic::Diagnostic;
use crate::{confidence, flagd, vane};

/// Builder name and version recorded in every snapshot.
pub const BUILDER: &str = concat!("vane-snapshot-builder ", env!("CARGO_PKG_VERSION"));

/// A rule dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Vane YAML (`docs/rules.md`).
    Vane,
    /// OpenFeature flagd flag-definition JSON.
    Flagd,
    /// A Spotify Confidence resolver state ([`crate::confidence`]).
    Confidence,
}

impl Format {
    /// Detects the dialect: `.pb` files, bytes that are not UTF-8 and JSON
    /// that looks like a Confidence state
    /// ([`crate::confidence::looks_like_state`]) are Confidence;
    /// `.yaml`/`.yml` files are Vane, other `.json` files are flagd;
    /// otherwise text that starts with `{` (after a byte order mark and
    /// whitespace) is flagd.
    pub fn detect(file_name: &str, bytes: &[u8]) -> Format {
        let lower = file_name.to_ascii_lowercase();
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Format::Confidence;
        };
        let start = text.trim_start_matches('\u{FEFF}').trim_start();
        if lower.ends_with(".pb") || (start.starts_with('{') && confidence::looks_like_state(text))
        {
            Format::Confidence
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Vane
        } else if lower.ends_with(".json") || start.starts_with('{') {
            Format::Flagd
        } else {
            Format::Vane
        }
    }
}

/// Compiles a rule source to the IR. A Confidence state compiles with
/// default [`confidence::Options`] (it must name its account); use
/// [`build_sources`] to pass an account or a state key.
///
/// `file` names the source in diagnostics. Errors: every problem found, each
/// located (file, line and column where the dialect has them, flag, path),
/// warnings included.
pub fn compile(file: &str, text: &str, format: Format) -> Result<Compiled, Vec<Diagnostic>> {
    compile_bytes(
        file,
        text.as_bytes(),
        format,
        &confidence::Options::default(),
    )
}

/// [`compile`] of raw bytes: a Confidence state may be binary.
fn compile_bytes(
    file: &str,
    bytes: &[u8],
    format: Format,
    options: &confidence::Options,
) -> Result<Compiled, Vec<Diagnostic>> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|e| {
            vec![Diagnostic::error(
                file,
                "",
                format!("not UTF-8 text (at byte {})", e.valid_up_to()),
            )]
        })
    };
    let mut compiled = match format {
        Format::Vane => vane::compile(file, text()?)?,
        Format::Flagd => flagd::compile(file, text()?)?,
        Format::Confidence => confidence::compile(file, bytes, options)?,
    };
    compiled.body.flags.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(compiled)
}

/// Options of [`build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Tenant (required for flagd sources; must equal `tenant:` of a Vane file
    /// that names one).
    pub tenant: Option<String>,
    /// Snapshot version, strictly increasing per tenant.
    pub version: u64,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Body format to write ([`vane_resolver::snapshot::FORMAT_VERSION`], 3,
    /// unless a worker that reads only formats 1 and 2, or only 1, must
    /// read it).
    pub format_version: u32,
}

/// A built snapshot.
#[derive(Debug, Clone)]
pub struct Built {
    /// The encoded snapshot.
    pub bytes: Vec<u8>,
    /// The same snapshot decoded and verified, as the resolver will see it.
    pub snapshot: Snapshot,
    /// Warnings from compilation.
    pub warnings: Vec<Diagnostic>,
}

/// What one build reads: a rule source and, for a source whose format has
/// no place for client keys (flagd), the access file that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources<'a> {
    /// Names the rule source in diagnostics.
    pub file: &'a str,
    /// The rule source (text, or a binary Confidence state).
    pub bytes: &'a [u8],
    /// Its dialect.
    pub format: Format,
    /// What a Confidence state may need besides itself (account, key).
    pub confidence: &'a confidence::Options,
    /// The access file's name and text (`vane build --access FILE`), if any.
    pub access: Option<(&'a str, &'a str)>,
    /// Every warning is an error (`--strict`, [`Compiled::strict`]).
    pub strict: bool,
}

/// Compiles and encodes a snapshot: the one build that `vane build`,
/// `vane check`, `vane eval` on rules and the JS `compile` all run, so they
/// report the same diagnostics. Compiles the rules, adds the access file's
/// clients and CORS origins, warns when no client key could read the flags
/// at the edge, refuses any warning when `strict`, and encodes (see
/// [`encode`]). Deterministic: the same
/// sources, tenant, version and creation time give byte-identical output.
///
/// Errors: every problem found, each located, warnings included.
pub fn build_sources(sources: &Sources, options: &BuildOptions) -> Result<Built, Vec<Diagnostic>> {
    let mut compiled = compile_bytes(
        sources.file,
        sources.bytes,
        sources.format,
        sources.confidence,
    )?;
    // A Confidence state's account is the default tenant, not a claim.
    if sources.format == Format::Confidence && options.tenant.is_some() {
        compiled.tenant = None;
    }
    if let Some((file, text)) = sources.access {
        compiled = compiled.with_access(vane::access(file, text)?)?;
    }
    if compiled.body.clients.is_empty() {
        compiled
            .warnings
            .push(no_clients(sources.file, sources.format));
    }
    if sources.strict {
        compiled = compiled.strict()?;
    }
    encode(sources.file, compiled, options)
}

/// [`build_sources`] of a rule source without an access file, not strict.
pub fn build(
    file: &str,
    text: &str,
    format: Format,
    options: &BuildOptions,
) -> Result<Built, Vec<Diagnostic>> {
    build_sources(
        &Sources {
            file,
            bytes: text.as_bytes(),
            format,
            confidence: &confidence::Options::default(),
            access: None,
            strict: false,
        },
        options,
    )
}

/// The warning for rules no client key can read: the snapshot would publish
/// but the edge would answer 401 to everyone.
fn no_clients(file: &str, format: Format) -> Diagnostic {
    let hint = match format {
        Format::Flagd => {
            "flagd files name none: pass --access FILE (docs/rules.md, \"Access files for flagd sources\")"
        }
        Format::Vane => {
            "add `clients:` with the sha256 of each client key (docs/rules.md, \"Clients\")"
        }
        Format::Confidence => "the state has no client credential with a secret",
    };
    Diagnostic::warning(
        file,
        "",
        format!("no clients: no client key can read these flags at the edge; {hint}"),
    )
}

/// Encodes compiled rules (see [`build`]); `file` names the source in
/// diagnostics. Errors: no tenant, a tenant that differs from the one the
/// rules name, an invalid tenant name, a body format this builder does not
/// write, or a snapshot larger than 25 MiB, which no worker would accept.
pub fn encode(
    file: &str,
    compiled: Compiled,
    options: &BuildOptions,
) -> Result<Built, Vec<Diagnostic>> {
    let tenant = match (&options.tenant, &compiled.tenant) {
        (Some(given), Some(named)) if given != named => {
            return Err(vec![Diagnostic::error(
                file,
                "tenant",
                format!("the file is for tenant '{named}' but --tenant says '{given}'"),
            )])
        }
        (Some(t), _) | (None, Some(t)) => t.clone(),
        (None, None) => {
            return Err(vec![Diagnostic::error(
                file,
                "",
                "no tenant: pass --tenant (flagd files do not name one)",
            )])
        }
    };
    let tenant = TenantName::parse(&tenant)
        .map_err(|e| vec![Diagnostic::error(file, "tenant", e.to_string())])?;
    let bytes = Snapshot::encode_format(
        options.format_version,
        tenant.as_str(),
        options.version,
        options.created_at,
        BUILDER,
        &compiled.body,
    );
    let bytes = bytes.map_err(|e| {
        let message = match e {
            SnapshotError::FormatVersion(v) => {
                format!("snapshot format version {v} is not one this builder writes (1 or 2)")
            }
            other => other.to_string(),
        };
        vec![Diagnostic::error(file, "", message)]
    })?;
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(vec![Diagnostic::error(
            file,
            "",
            format!(
                "{}: split the tenant's flags or shrink large variants and rules",
                snapshot_too_large(bytes.len())
            ),
        )]);
    }
    let snapshot = Snapshot::from_bytes(&bytes).map_err(|e| {
        vec![Diagnostic::error(
            file,
            "",
            format!("internal error: the encoded snapshot does not decode: {e}"),
        )]
    })?;
    Ok(Built {
        bytes,
        snapshot,
        warnings: compiled.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds flagd `text` for tenant `t` in the current format.
    fn build_flagd(file: &str, text: &str) -> Result<Built, Vec<Diagnostic>> {
        let options = BuildOptions {
            tenant: Some("t".to_owned()),
            version: 1,
            created_at: 0,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        };
        build(file, text, Format::Flagd, &options)
    }

    #[test]
    fn a_snapshot_the_edge_would_refuse_is_an_error() {
        // 26 flags of 1 MiB each: within the text each flag may copy
        // (`MAX_FLAG_TEXT_BYTES`), over the snapshot size.
        let huge = "x".repeat(1 << 20);
        let flags: Vec<String> = (0..26)
            .map(|i| {
                format!(
                    r#""big{i}": {{"state": "ENABLED", "variants": {{"a": "{i}{huge}"}}, "defaultVariant": "a"}}"#
                )
            })
            .collect();
        let text = format!(r#"{{"flags": {{{}}}}}"#, flags.join(","));
        let errors = build_flagd("big.json", &text).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = &errors[0].message;
        let size: usize = message
            .strip_prefix("the snapshot is ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{message}"));
        assert!(size > MAX_SNAPSHOT_BYTES, "{message}");
        assert!(
            message.contains("bytes; the edge accepts at most 26214400 (25 MiB"),
            "{message}"
        );
    }

    #[test]
    fn a_flag_over_the_text_budget_is_named_by_its_key() {
        // Five variants with one 1 MiB value: one text in the string
        // table, copied five times by the decoder, over the 4 MiB a flag
        // may copy (`MAX_FLAG_TEXT_BYTES`).
        let huge = "x".repeat(1 << 20);
        let variants: Vec<String> = (0..5).map(|i| format!(r#""v{i}": "{huge}""#)).collect();
        let text = format!(
            r#"{{"flags": {{"small": {{"state": "ENABLED", "variants": {{"a": 1}}, "defaultVariant": "a"}},
               "heavy": {{"state": "ENABLED", "variants": {{{}}}, "defaultVariant": "v0"}}}}}}"#,
            variants.join(",")
        );
        let errors = build_flagd("heavy.json", &text).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains(
                "flag 'heavy' would decode to 5242895 bytes of text copied from the string table"
            ),
            "{}",
            errors[0].message
        );
    }
}
