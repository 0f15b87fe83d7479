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
#[cfg(target_arch = "wasm32")]
pub(crate) mod runtime;
pub mod serve;
pub mod sticky;
pub mod token;
pub mod wire;

use crate::reply::Reply;

/// True for the paths of the Confidence API (`/v1/...`), which browsers
/// call cross-origin and which get CORS headers on every answer.
pub fn is_confidence_path(path: &str) -> bool {
    path.starts_with("/v1/")
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
    fn telemetry_is_accepted() {
        let r = telemetry_upload();
        assert_eq!((r.status, r.body_json()), (200, serde_json::json!({})));
    }
}
