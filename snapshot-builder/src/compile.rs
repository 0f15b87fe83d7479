//! The builder's entry points: detect the dialect, run its front end, finish
//! the IR the same way for every dialect, and encode the snapshot.

use vane_resolver::model::Client;
use vane_resolver::snapshot::valid_tenant;
use vane_resolver::{Body, Snapshot};

use crate::diagnostic::Diagnostic;
use crate::{flagd, vane};

/// Builder name and version recorded in every snapshot.
pub const BUILDER: &str = concat!("vane-snapshot-builder ", env!("CARGO_PKG_VERSION"));

/// Longest flag key, in bytes, that the edge worker evaluates on its own:
/// it answers `POST /ofrep/v1/evaluate/flags/{key}` with a longer key with
/// 400 (`docs/http-api.md`, "Limits"), so such a flag would appear only in
/// bulk answers.
pub(crate) const MAX_FLAG_KEY_BYTES: usize = 256;

/// Largest snapshot, in bytes, the edge worker accepts on publish: 25 MiB,
/// the Workers KV value limit (`docs/http-api.md`, "Limits").
pub(crate) const MAX_SNAPSHOT_BYTES: usize = 25 * 1024 * 1024;

/// A rule dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Vane YAML (`docs/rules.md`).
    Vane,
    /// OpenFeature flagd flag-definition JSON.
    Flagd,
}

impl Format {
    /// Detects the dialect: `.yaml`/`.yml` files are Vane, `.json` files are
    /// flagd; otherwise text that starts with `{` (after a byte order mark
    /// and whitespace) is flagd.
    pub fn detect(file_name: &str, text: &str) -> Format {
        let lower = file_name.to_ascii_lowercase();
        let start = text.trim_start_matches('\u{FEFF}').trim_start();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Vane
        } else if lower.ends_with(".json") || start.starts_with('{') {
            Format::Flagd
        } else {
            Format::Vane
        }
    }
}

/// A compiled rule source, before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// Tenant named by the source (Vane YAML `tenant:`); flagd files name none.
    pub tenant: Option<String>,
    /// The IR, flags sorted by key.
    pub body: Body,
    /// Warnings (never errors).
    pub warnings: Vec<Diagnostic>,
}

/// Compiles a rule source to the IR.
///
/// `file` names the source in diagnostics. Errors: every problem found, each
/// located (file, line and column where the dialect has them, flag, path),
/// warnings included.
pub fn compile(file: &str, text: &str, format: Format) -> Result<Compiled, Vec<Diagnostic>> {
    let mut compiled = match format {
        Format::Vane => vane::compile(file, text)?,
        Format::Flagd => flagd::compile(file, text)?,
    };
    compiled.body.flags.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(compiled)
}

/// Who may read a tenant's flags, given apart from the rules: read by
/// [`crate::vane::access`] (`vane build --access FILE`) for flagd sources,
/// whose format has no place for client keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// The access file's name, for diagnostics.
    pub file: String,
    /// Tenant the access file is for, if it names one.
    pub tenant: Option<String>,
    /// Clients and the sha256 digests of their keys.
    pub clients: Vec<Client>,
    /// Allowed CORS origins (empty = any).
    pub cors_origins: Vec<String>,
}

impl Compiled {
    /// The gate of `vane check --strict` / `vane build --strict`: with any
    /// warning, every warning becomes an error (same place, same message) and
    /// the rules are refused.
    pub fn strict(self) -> Result<Compiled, Vec<Diagnostic>> {
        if self.warnings.is_empty() {
            return Ok(self);
        }
        Err(self
            .warnings
            .into_iter()
            .map(|mut d| {
                d.severity = crate::diagnostic::Severity::Error;
                d
            })
            .collect())
    }

    /// Adds the clients and CORS origins of an access file. Errors when the
    /// rules already name clients or origins (they belong in one place) or
    /// when the two files name different tenants.
    pub fn with_access(mut self, access: Access) -> Result<Compiled, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        if !self.body.clients.is_empty() || !self.body.cors_origins.is_empty() {
            errors.push(Diagnostic::error(
                &access.file,
                "",
                "the rules already name clients or CORS origins; keep them in one place",
            ));
        }
        match (&self.tenant, &access.tenant) {
            (Some(a), Some(b)) if a != b => errors.push(Diagnostic::error(
                &access.file,
                "tenant",
                format!("the access file is for tenant '{b}' but the rules are for '{a}'"),
            )),
            (None, Some(b)) => self.tenant = Some(b.clone()),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.body.clients = access.clients;
        self.body.cors_origins = access.cors_origins;
        Ok(self)
    }
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

/// Compiles and encodes a snapshot. Deterministic: the same source, tenant,
/// version and creation time give byte-identical output.
pub fn build(
    file: &str,
    text: &str,
    format: Format,
    options: &BuildOptions,
) -> Result<Built, Vec<Diagnostic>> {
    encode(file, compile(file, text, format)?, options)
}

/// Encodes compiled rules (see [`build`]); `file` names the source in
/// diagnostics. Errors: no tenant, a tenant that differs from the one the
/// rules name, an invalid tenant name, or a snapshot larger than 25 MiB,
/// which no worker would accept.
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
    if !valid_tenant(&tenant) {
        return Err(vec![Diagnostic::error(
            file,
            "tenant",
            format!("tenant '{tenant}' is not valid: use 1-64 of a-z, 0-9, '-' and '_'"),
        )]);
    }
    let bytes = Snapshot::encode(
        &tenant,
        options.version,
        options.created_at,
        BUILDER,
        &compiled.body,
    );
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(vec![Diagnostic::error(
            file,
            "",
            format!(
                "the snapshot would be {} bytes; the edge accepts at most {MAX_SNAPSHOT_BYTES} \
                 (25 MiB, the Workers KV value limit): split the tenant's flags or shrink \
                 large variants and rules",
                bytes.len()
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

    #[test]
    fn a_snapshot_the_edge_would_refuse_is_an_error() {
        let huge = "x".repeat(MAX_SNAPSHOT_BYTES);
        let text = format!(
            r#"{{"flags": {{"big": {{"state": "ENABLED", "variants": {{"a": "{huge}"}}, "defaultVariant": "a"}}}}}}"#
        );
        let options = BuildOptions {
            tenant: Some("t".to_owned()),
            version: 1,
            created_at: 0,
        };
        let errors = build("big.json", &text, Format::Flagd, &options).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = &errors[0].message;
        let size: usize = message
            .strip_prefix("the snapshot would be ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{message}"));
        assert!(size > MAX_SNAPSHOT_BYTES, "{message}");
        assert!(
            message.contains("bytes; the edge accepts at most 26214400 (25 MiB"),
            "{message}"
        );
    }
}
