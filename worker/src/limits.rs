//! Input limits. Each is enforced before the input is used, and each
//! violation is a JSON error (see `docs/http-api.md`).

/// Largest OFREP request body, in bytes (64 KiB); larger → 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Longest flag key accepted in a URL path, in bytes (after percent-decoding);
/// longer → 400.
pub const MAX_FLAG_KEY_BYTES: usize = 256;

/// Largest snapshot the admin API accepts, in bytes: the Workers KV value
/// limit of 25 MiB (Cloudflare, "Workers KV limits"); larger → 413.
pub const MAX_SNAPSHOT_BYTES: usize = 25 * 1024 * 1024;

/// How many earlier snapshots a tenant's pointer remembers for rollback.
pub const HISTORY_LEN: usize = 10;

/// Default time, in seconds, a decoded snapshot is served from isolate memory
/// before it is re-checked against the tenant's pointer in KV
/// (`SNAPSHOT_TTL_SECONDS` overrides it).
pub const DEFAULT_SNAPSHOT_TTL_SECONDS: u64 = 30;

/// The snapshot TTL in milliseconds from the `SNAPSHOT_TTL_SECONDS` variable:
/// a whole number of seconds (0 re-checks the pointer on every request).
///
/// Errors: the message for the log when the variable is set but is not a
/// whole number; the default applies then.
pub fn snapshot_ttl_ms(var: Option<&str>) -> Result<u64, String> {
    match var.map(str::trim) {
        None | Some("") => Ok(DEFAULT_SNAPSHOT_TTL_SECONDS * 1000),
        Some(v) => v.parse::<u64>().map(|s| s.saturating_mul(1000)).map_err(|_| {
            format!(
                "SNAPSHOT_TTL_SECONDS={v:?} is not a whole number of seconds; using {DEFAULT_SNAPSHOT_TTL_SECONDS}"
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_variable() {
        assert_eq!(snapshot_ttl_ms(None), Ok(30_000));
        assert_eq!(snapshot_ttl_ms(Some("0")), Ok(0));
        assert_eq!(snapshot_ttl_ms(Some(" 5 ")), Ok(5_000));
        assert_eq!(
            snapshot_ttl_ms(Some("5s")),
            Err("SNAPSHOT_TTL_SECONDS=\"5s\" is not a whole number of seconds; using 30".into())
        );
    }
}
