//! Input limits of the worker alone. Each is enforced before the input is
//! used, and each violation is a JSON error (see `docs/http-api.md`). The
//! limits the builder and the decoder share with the worker (flag key,
//! snapshot size, tenant name) live in `vane_resolver::limits`.

/// Largest OFREP request body, in bytes (64 KiB); larger → 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Largest Confidence request body (`flags:resolve`, `flags:apply`), in
/// bytes (1 MiB); larger → 413. An apply carries the resolve token, which
/// records every flag the resolve returned (about 390 bytes a flag, base64,
/// for the real state's flags), so a web client that resolved all of a
/// large tenant's flags sends far more than an OFREP body: 1 MiB holds the
/// apply of about 2,300 flags (measured: 156,456 token bytes for 400 flags,
/// plus about 60 bytes a flag in the apply's `flags`).
pub const MAX_CONFIDENCE_REQUEST_BYTES: usize = 1024 * 1024;

/// Shortest `ADMIN_TOKEN` the admin API accepts, bytes.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 32;

/// Fewest distinct characters an `ADMIN_TOKEN` must have.
pub const MIN_ADMIN_TOKEN_DISTINCT: usize = 8;

/// Budget of the isolate's snapshot cache, in decoded bytes (48 MiB, of
/// the isolate's 128 MB); least recently used tenants are evicted beyond it.
pub const SNAPSHOT_CACHE_BYTES: usize = 48 * 1024 * 1024;

/// Decoded memory per encoded snapshot byte, the estimate the cache budget
/// counts with. Measured natively (x86_64, resident memory of 50 decoded
/// copies): 10.8 for a generated 1,000-flag tenant (86 KB encoded, 0.93 MB
/// decoded), 15.8 for the small `examples/shop.yaml` (1.6 KB, 26 KB); wasm32's
/// 4-byte pointers make the worker's smaller, so 12 errs on the safe side for
/// large tenants, which are the ones that matter. The cache opens snapshots
/// (`Snapshot::open`), which keeps the encoded body beside the flags decoded
/// so far: once every flag is decoded that is one more byte per byte, hence 13.
pub const DECODED_BYTES_PER_ENCODED_BYTE: usize = 13;

/// Most client-key answers (known and unknown keys) an isolate caches.
pub const MAX_KEY_ENTRIES: usize = 10_000;

/// How many earlier snapshots a tenant's pointer remembers for rollback.
pub const HISTORY_LEN: usize = 10;

/// Default time, in seconds, a decoded snapshot is served from isolate memory
/// before it is re-checked against the tenant's pointer in KV
/// (`SNAPSHOT_TTL_SECONDS` overrides it).
pub const DEFAULT_SNAPSHOT_TTL_SECONDS: u64 = 30;

/// Default interval, in seconds, at which an isolate hands its per-tenant
/// counters to the tenants' Durable Objects (`METRICS_FLUSH_SECONDS`
/// overrides it; 0 hands them over after every request).
pub const DEFAULT_METRICS_FLUSH_SECONDS: u64 = 10;

/// A variable of seconds that is not a whole number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSeconds {
    /// What is wrong, for the log.
    pub message: String,
    /// The default to use instead, milliseconds.
    pub default_ms: u64,
}

/// The snapshot TTL in milliseconds from the `SNAPSHOT_TTL_SECONDS` variable
/// (0 re-checks the pointer on every request).
///
/// Errors: see [`seconds_ms`].
pub fn snapshot_ttl_ms(var: Option<&str>) -> Result<u64, BadSeconds> {
    seconds_ms("SNAPSHOT_TTL_SECONDS", var, DEFAULT_SNAPSHOT_TTL_SECONDS)
}

/// The metrics flush interval in milliseconds from `METRICS_FLUSH_SECONDS`.
///
/// Errors: see [`seconds_ms`].
pub fn metrics_flush_ms(var: Option<&str>) -> Result<u64, BadSeconds> {
    seconds_ms("METRICS_FLUSH_SECONDS", var, DEFAULT_METRICS_FLUSH_SECONDS)
}

/// A variable `name` holding a whole number of seconds, in milliseconds;
/// `default_s` when unset or empty.
///
/// Errors: [`BadSeconds`] when the variable is set but is not a whole
/// number.
fn seconds_ms(name: &str, var: Option<&str>, default_s: u64) -> Result<u64, BadSeconds> {
    match var.map(str::trim) {
        None | Some("") => Ok(default_s * 1000),
        Some(v) => v
            .parse::<u64>()
            .map(|s| s.saturating_mul(1000))
            .map_err(|_| BadSeconds {
                message: format!(
                    "{name}={v:?} is not a whole number of seconds; using {default_s}"
                ),
                default_ms: default_s * 1000,
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
            Err(BadSeconds {
                message: "SNAPSHOT_TTL_SECONDS=\"5s\" is not a whole number of seconds; using 30"
                    .into(),
                default_ms: 30_000
            })
        );
        assert_eq!(metrics_flush_ms(None), Ok(10_000));
        assert_eq!(metrics_flush_ms(Some("0")), Ok(0));
    }
}
