//! The Confidence-compatible edge: the HTTP API of Spotify Confidence's
//! flag resolver, served unchanged, so its SDKs switch to Vane by changing
//! their base URL (`docs/confidence.md`).
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/flags:resolve` | resolved flags, a sealed [`token`], a resolve id |
//! | `POST /v1/flags:apply` | `{}`; the flags the client used become exposures ([`apply`]) |
//! | `POST /v1/telemetry:upload` | `{}` (SDK telemetry is accepted and not kept) |
//! | `OPTIONS` on each | the CORS preflight |
//!
//! The client secret in the body is a client key: hashed and looked up in
//! the same key index, for the same tenants, as OFREP keys. Sticky
//! assignments (Confidence's materializations) live in [`sticky`]'s store.
//! Errors are `google.rpc.Status` bodies ([`wire::error`]).

pub mod apply;
pub mod sticky;
pub mod token;
pub mod wire;

use crate::reply::Reply;

/// A route of the Confidence API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfidenceRoute {
    /// `POST /v1/flags:resolve`.
    Resolve,
    /// `POST /v1/flags:apply`.
    Apply,
    /// `POST /v1/telemetry:upload`.
    TelemetryUpload,
    /// `OPTIONS` on any of them.
    Preflight,
}

/// True for the paths of the Confidence API (`/v1/...`), which browsers
/// call cross-origin and which get CORS headers on every answer.
pub fn is_confidence_path(path: &str) -> bool {
    path.starts_with("/v1/")
}

/// Routes a request on a Confidence path; `None` for any other path.
///
/// Errors (as replies): 404 for an unknown `/v1/` path, 405 with `Allow`
/// for a method other than `POST` and `OPTIONS`.
pub fn route(method: &str, path: &str) -> Option<Result<ConfidenceRoute, Reply>> {
    if !is_confidence_path(path) {
        return None;
    }
    let route = match path {
        "/v1/flags:resolve" => ConfidenceRoute::Resolve,
        "/v1/flags:apply" => ConfidenceRoute::Apply,
        "/v1/telemetry:upload" => ConfidenceRoute::TelemetryUpload,
        _ => {
            return Some(Err(wire::error(
                404,
                5, // NOT_FOUND
                format!(
                    "no route for {method} {path}: the Confidence API has /v1/flags:resolve, \
                     /v1/flags:apply and /v1/telemetry:upload"
                ),
            )));
        }
    };
    Some(match method {
        "POST" => Ok(route),
        "OPTIONS" => Ok(ConfidenceRoute::Preflight),
        _ => Err(wire::error(
            405,
            12, // UNIMPLEMENTED
            format!("{method} is not allowed on {path}; use POST"),
        )
        .with_header("allow", "POST, OPTIONS")),
    })
}

/// `POST /v1/telemetry:upload`: SDK telemetry (library traces) is accepted
/// and dropped; the answer is `{}` so that SDKs that send it see success.
pub fn telemetry_upload() -> Reply {
    Reply::json(200, &serde_json::Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_routes_and_their_preflights() {
        for (path, r) in [
            ("/v1/flags:resolve", ConfidenceRoute::Resolve),
            ("/v1/flags:apply", ConfidenceRoute::Apply),
            ("/v1/telemetry:upload", ConfidenceRoute::TelemetryUpload),
        ] {
            assert_eq!(route("POST", path), Some(Ok(r)), "{path}");
            assert_eq!(route("OPTIONS", path), Some(Ok(ConfidenceRoute::Preflight)));
            let wrong = route("GET", path).unwrap().unwrap_err();
            assert_eq!(
                (wrong.status, wrong.header("allow")),
                (405, Some("POST, OPTIONS"))
            );
        }
        assert_eq!(route("POST", "/ofrep/v1/evaluate/flags"), None);
        let unknown = route("POST", "/v1/flags:evaluate").unwrap().unwrap_err();
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.body_json()["code"], 5);
    }

    #[test]
    fn telemetry_is_accepted() {
        let r = telemetry_upload();
        assert_eq!((r.status, r.body_json()), (200, serde_json::json!({})));
    }
}
