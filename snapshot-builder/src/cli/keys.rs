//! `vane keygen FILE`: a new Ed25519 publisher key (docs/signing.md), and
//! reading one for `vane build --sign FILE`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use vane_resolver::snapshot::hex;

/// Arguments of `vane keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600); never
    /// overwritten.
    file: PathBuf,
}

/// Runs `vane keygen`: writes a new private key to FILE, readable by its
/// owner only, and prints its public key (64 lowercase hex digits) on
/// stdout: the value to list in the worker's `TRUSTED_PUBLISHER_KEYS`.
pub fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let mut seed = [0u8; ed25519_dalek::SECRET_KEY_LENGTH];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&a.file)
        .and_then(|mut f| f.write_all(pem.as_bytes()).and_then(|()| f.sync_all()))
        .with_context(|| format!("cannot write {}", a.file.display()))?;
    super::print_out(&format!("{}\n", public_key(&key)))?;
    eprintln!(
        "wrote the private key to {}; its public key is above",
        a.file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The public key of `key`, lowercase hex.
pub fn public_key(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

/// Reads a PKCS#8 PEM Ed25519 private key (as `vane keygen` or
/// `openssl genpkey -algorithm ed25519` write it). Warns on stderr when the
/// file is readable by others than its owner.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signing key {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "vane: warning: the signing key {} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a PKCS#8 PEM Ed25519 private key: {e}",
            path.display()
        )
    })
}
