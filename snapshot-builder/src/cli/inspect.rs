//! `vane inspect SNAPSHOT`: the envelope facts as JSON on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use vane_resolver::SnapshotBytes;

use super::source::decode_snapshot;

/// Arguments of `vane inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A snapshot file written by `vane build`.
    snapshot: PathBuf,
}

/// Runs `vane inspect`: prints `{tenant, version, digest, created_at,
/// flag_count, byte_size, format_version, bucketing_version, builder,
/// signer, exposures}` (`format_version`: the body encoding, 1, 2, 3 or 4);
/// `signer` is the Ed25519 public key (hex) of a valid signature, `null`
/// when unsigned; `exposures` is `{enabled, attributes: {flag: [path]}}`,
/// the tenant's exposure-log settings (`docs/exposures.md`).
pub fn run(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&a.snapshot)
        .with_context(|| format!("cannot read {}", a.snapshot.display()))?;
    let s = decode_snapshot(&a.snapshot, &bytes)?;
    // The bytes decoded whole above, so their envelope reads.
    let format_version = SnapshotBytes::read(&bytes)?.format_version();
    let i = &s.info;
    let out = json!({
        "tenant": i.tenant,
        "version": i.version,
        "digest": i.digest,
        "created_at": i.created_at,
        "flag_count": s.flag_count(),
        "byte_size": i.byte_size,
        "format_version": format_version,
        "bucketing_version": i.bucketing_version,
        "builder": i.builder,
        "signer": i.signer,
        "exposures": {
            "enabled": s.exposure_log().enabled,
            "attributes": s.exposure_log().attributes.iter()
                .map(|a| (a.flag.clone(), json!(a.paths.iter().map(|p| p.join(".")).collect::<Vec<_>>())))
                .collect::<serde_json::Map<_, _>>(),
        },
    });
    super::print_out(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    Ok(ExitCode::SUCCESS)
}
