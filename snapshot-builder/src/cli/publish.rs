//! `vane publish`, `vane rollback`, `vane status`: the admin API client
//! (HTTP reference: `docs/http-api.md`, "Admin API").
//!
//! Each command sends one request with `Authorization: Bearer <token>` and
//! prints the worker's JSON answer on stdout; `vane publish` first fetches
//! the tenant's current snapshot and prints the `vane diff` report against
//! it on stderr. Exit codes: 0 done; 1 the worker refused (its `errorCode`
//! and `errorDetails` go to stderr) or the diff reports a reshuffle without
//! `--allow-reshuffle`; 2 the request could not be made (unreadable
//! snapshot, no token, worker unreachable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::Value;
use vane_resolver::limits::MAX_SNAPSHOT_BYTES;
use vane_resolver::Snapshot;
use vane_snapshot_builder::diff::diff;

use super::diff::{report, reshuffles, unit_sample, DEFAULT_UNITS};
use super::source::{decode_snapshot, now};

/// Where the worker is and how to authenticate, shared by the admin commands.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// Base URL of the Vane worker, e.g. `http://127.0.0.1:8787`.
    #[arg(long)]
    pub(super) url: String,
    /// The worker's ADMIN_TOKEN (default: the VANE_ADMIN_TOKEN variable).
    #[arg(long)]
    token: Option<String>,
}

/// Arguments of `vane publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Snapshot file written by `vane build`.
    snapshot: PathBuf,
    /// Tenant to publish to (default: the tenant recorded in the snapshot).
    /// With it a file that does not decode is sent as it is, without a
    /// diff, for the worker to refuse.
    #[arg(long)]
    tenant: Option<String>,
    /// Publish even when the diff against the current snapshot reports a
    /// reshuffle (as `vane diff --allow-reshuffle`).
    #[arg(long)]
    allow_reshuffle: bool,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Arguments of `vane rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// Tenant whose snapshot to roll back.
    #[arg(long)]
    tenant: String,
    /// Digest (or a unique prefix of 8+ hex digits) from the tenant's history;
    /// default: the snapshot before the current one.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Arguments of `vane status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Tenant to show.
    #[arg(long)]
    tenant: String,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Runs `vane publish`: `GET /admin/v1/tenants/{tenant}/snapshot` and the
/// diff against it ([`diff_current`]), then
/// `PUT /admin/v1/tenants/{tenant}/snapshot`.
pub fn publish(a: PublishArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&a.snapshot)
        .with_context(|| format!("cannot read {}", a.snapshot.display()))?;
    let decoded = decode_snapshot(&a.snapshot, &bytes);
    let (tenant, new) = match (a.tenant, decoded) {
        (Some(t), Ok(s)) => (t, Some(s)),
        (Some(t), Err(e)) => {
            eprintln!("vane: publish: no diff: {e:#}");
            (t, None)
        }
        (None, decoded) => {
            let s = decoded?;
            (s.info.tenant.clone(), Some(s))
        }
    };
    let url = admin_url(&a.admin.url, &tenant, "/snapshot");
    let bearer = bearer(&a.admin)?;
    if let Some(new) = &new {
        if let Some(stop) = diff_current(&url, &bearer, &tenant, new, a.allow_reshuffle)? {
            return Ok(stop);
        }
    }
    let request = agent()
        .put(&url)
        .header("Authorization", &bearer)
        .header("Content-Type", "application/cbor");
    answer("publish", &url, request.send(&bytes[..]))
}

/// Fetches the tenant's current snapshot (`GET {url}`) and prints the
/// `vane diff` report of `new` against it on stderr (`first publish of
/// tenant …` when the worker answers 404 `NO_SNAPSHOT`; a warning and no
/// diff when it cannot serve a usable one, so that a publish can replace a
/// damaged snapshot). Returns the exit code when the publish must stop: 1
/// when the worker refuses the request itself (401 or 403, 503
/// `ADMIN_DISABLED`, 400 `INVALID_TENANT`, 404 `NOT_FOUND`: the upload would
/// be refused the same way, so it is not sent), and 1 when the
/// diff reports a reshuffle and `allow_reshuffle` is false.
fn diff_current(
    url: &str,
    bearer: &str,
    tenant: &str,
    new: &Snapshot,
    allow_reshuffle: bool,
) -> anyhow::Result<Option<ExitCode>> {
    let mut response = agent()
        .get(url)
        .header("Authorization", bearer)
        .call()
        .with_context(|| format!("publish: cannot reach {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_SNAPSHOT_BYTES as u64)
        .read_to_vec()
        .with_context(|| format!("publish: cannot read the answer of GET {url}"))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let code = json
            .as_ref()
            .and_then(|v| v.get("errorCode"))
            .and_then(Value::as_str);
        if status == 404 && code == Some("NO_SNAPSHOT") {
            eprintln!("first publish of tenant {tenant:?}: no current snapshot to diff against");
            return Ok(None);
        }
        // Refusals of the request itself (the token, the tenant name, the
        // route) that the upload would meet too.
        if matches!(status, 401 | 403)
            || matches!(
                code,
                Some("ADMIN_DISABLED" | "INVALID_TENANT" | "NOT_FOUND")
            )
        {
            eprintln!(
                "vane: publish refused: {}; the snapshot was not uploaded",
                refusal(status, json.as_ref(), &text)
            );
            return Ok(Some(ExitCode::from(1)));
        }
        // A damaged current snapshot must not block the publish that replaces it.
        eprintln!(
            "vane: publish: no diff, the current snapshot is unavailable: {}",
            refusal(status, json.as_ref(), &text)
        );
        return Ok(None);
    }
    let old = match Snapshot::from_bytes(&body) {
        Ok(old) => old,
        Err(e) => {
            eprintln!("vane: publish: no diff, the current snapshot of tenant {tenant:?} does not decode: {e}");
            return Ok(None);
        }
    };
    eprintln!(
        "diff against the current snapshot of tenant {tenant:?} (version {}, digest {}):",
        old.info.version,
        &old.info.digest[..12.min(old.info.digest.len())]
    );
    let diffs = diff(&old, new, &unit_sample(DEFAULT_UNITS, now() as i64));
    eprint!("{}", report(&diffs));
    if reshuffles(&diffs) && !allow_reshuffle {
        eprintln!(
            "vane: publish refused: the change reshuffles units of a running experiment (RESHUFFLE above); nothing was sent; pass --allow-reshuffle to publish anyway"
        );
        return Ok(Some(ExitCode::from(1)));
    }
    Ok(None)
}

/// Runs `vane rollback`: `POST /admin/v1/tenants/{tenant}/rollback[?to=D]`.
pub fn rollback(a: RollbackArgs) -> anyhow::Result<ExitCode> {
    let mut url = admin_url(&a.admin.url, &a.tenant, "/rollback");
    if let Some(to) = &a.to {
        url = format!("{url}?to={}", percent_encode(to));
    }
    let request = agent()
        .post(&url)
        .header("Authorization", bearer(&a.admin)?);
    answer("rollback", &url, request.send_empty())
}

/// Runs `vane status`: `GET /admin/v1/tenants/{tenant}`.
pub fn status(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let url = admin_url(&a.admin.url, &a.tenant, "");
    let request = agent().get(&url).header("Authorization", bearer(&a.admin)?);
    answer("status", &url, request.call())
}

/// An agent that returns 4xx/5xx answers as responses (their JSON bodies
/// carry the reason) and gives up after a minute.
pub(super) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `Bearer <token>` from `--token` or `VANE_ADMIN_TOKEN`.
pub(super) fn bearer(admin: &AdminArgs) -> anyhow::Result<String> {
    let (token, from) = match &admin.token {
        Some(t) => (t.clone(), "--token"),
        None => (
            std::env::var("VANE_ADMIN_TOKEN").unwrap_or_default(),
            "VANE_ADMIN_TOKEN",
        ),
    };
    let token = token.trim();
    if token.is_empty() {
        bail!("no admin token: {from} is empty; pass --token or set VANE_ADMIN_TOKEN");
    }
    if token.chars().any(char::is_control) {
        bail!("the admin token of {from} contains a control character (a line break?): an HTTP header cannot carry it");
    }
    Ok(format!("Bearer {token}"))
}

/// `{base}/admin/v1/tenants/{tenant}{suffix}`, the tenant percent-encoded.
pub(super) fn admin_url(base: &str, tenant: &str, suffix: &str) -> String {
    format!(
        "{}/admin/v1/tenants/{}{suffix}",
        base.trim_end_matches('/'),
        percent_encode(tenant)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(super) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prints a 2xx answer's JSON on stdout (exit 0), or the refusal on stderr
/// (exit 1); a transport failure is an error (exit 2).
pub(super) fn answer(
    what: &str,
    url: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<ExitCode> {
    answer_with(what, url, result, |v| {
        serde_json::to_string_pretty(v).unwrap_or_default()
    })
}

/// As [`answer`], but a 2xx JSON answer is printed as `show` renders it.
pub(super) fn answer_with(
    what: &str,
    url: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    show: impl FnOnce(&Value) -> String,
) -> anyhow::Result<ExitCode> {
    let mut response = result.with_context(|| format!("{what}: cannot reach {url}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{what}: cannot read the answer of {url}"))?;
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if (200..300).contains(&status) {
        match json {
            Some(v) => super::print_out(&format!("{}\n", show(&v)))?,
            None => super::print_out(&format!("{text}\n"))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "vane: {what} refused: {}",
        refusal(status, json.as_ref(), &text)
    );
    Ok(ExitCode::from(1))
}

/// `HTTP 409 VERSION_NOT_NEWER: details`, from a Vane error body when there
/// is one, else the raw text.
fn refusal(status: u16, json: Option<&Value>, text: &str) -> String {
    let field = |name: &str| json.and_then(|v| v.get(name)).and_then(Value::as_str);
    match (field("errorCode"), field("errorDetails")) {
        (Some(code), Some(details)) => format!("HTTP {status} {code}: {details}"),
        (Some(code), None) => format!("HTTP {status} {code}"),
        _ => format!("HTTP {status}: {}", text.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls() {
        assert_eq!(
            admin_url("http://127.0.0.1:8787/", "shop", "/snapshot"),
            "http://127.0.0.1:8787/admin/v1/tenants/shop/snapshot"
        );
        assert_eq!(
            admin_url("https://flags.example", "a b/c", ""),
            "https://flags.example/admin/v1/tenants/a%20b%2Fc"
        );
    }

    #[test]
    fn refusals_name_status_code_and_details() {
        let body =
            json!({"errorCode": "VERSION_NOT_NEWER", "errorDetails": "version 1 is not newer"});
        assert_eq!(
            refusal(409, Some(&body), ""),
            "HTTP 409 VERSION_NOT_NEWER: version 1 is not newer"
        );
        assert_eq!(
            refusal(502, None, " Bad Gateway\n"),
            "HTTP 502: Bad Gateway"
        );
    }
}
