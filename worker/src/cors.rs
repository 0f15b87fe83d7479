//! CORS for browser clients of the OFREP endpoints (Fetch standard, "CORS
//! protocol").
//!
//! A preflight carries no credentials, so it cannot tell which tenant is
//! asking: it is answered for any origin, and the tenant's origin list is
//! enforced on the actual response, which gets `Access-Control-Allow-Origin`
//! only for an origin the tenant's snapshot allows (`*` when it lists none).
//! A browser refuses to hand a response without that header to the page, so
//! the tenant's list decides what a page can read. Keys travel in headers,
//! not cookies, so credentials mode is never needed.

use crate::reply::Reply;

/// Request headers a browser may send (`Access-Control-Allow-Headers`).
pub const ALLOW_HEADERS: &str = "content-type, authorization, x-api-key, if-none-match";
/// Response headers a page may read (`Access-Control-Expose-Headers`).
pub const EXPOSE_HEADERS: &str = "ETag, X-Vane-Snapshot";
/// Methods of the OFREP endpoints (`Access-Control-Allow-Methods`).
pub const ALLOW_METHODS: &str = "POST, OPTIONS";
/// How long a browser may reuse a preflight answer, in seconds.
pub const MAX_AGE_SECONDS: &str = "600";

/// The answer to a preflight: 204 allowing the requesting origin (or `*`
/// without an `Origin` header), the OFREP methods and headers.
pub fn preflight(origin: Option<&str>) -> Reply {
    Reply::empty(204)
        .with_header("access-control-allow-origin", origin.unwrap_or("*"))
        .with_header("access-control-allow-methods", ALLOW_METHODS)
        .with_header("access-control-allow-headers", ALLOW_HEADERS)
        .with_header("access-control-max-age", MAX_AGE_SECONDS)
        .with_header("vary", "Origin")
}

/// Adds CORS headers to an actual OFREP response. `allowed` is the tenant's
/// origin list, or `None` when no tenant is known yet (errors before
/// authentication: `*`, they carry no tenant data). An empty list or one
/// containing `*` allows any origin; otherwise the request's `Origin` must
/// equal an entry (ASCII case-insensitive, as origins' scheme and host are).
pub fn apply(reply: &mut Reply, allowed: Option<&[String]>, origin: Option<&str>) {
    reply.set_header("access-control-expose-headers", EXPOSE_HEADERS);
    let any = allowed.is_none_or(|list| list.is_empty() || list.iter().any(|o| o == "*"));
    if any {
        reply.set_header("access-control-allow-origin", "*");
        return;
    }
    reply.set_header("vary", "Origin");
    let listed = |o: &str| {
        allowed
            .unwrap_or(&[])
            .iter()
            .any(|a| a.eq_ignore_ascii_case(o))
    };
    if let Some(origin) = origin.filter(|o| listed(o)) {
        reply.set_header("access-control-allow-origin", origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_allows_the_ofrep_headers() {
        let r = preflight(Some("https://shop.example"));
        assert_eq!(r.status, 204);
        assert_eq!(r.body, None);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://shop.example")
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type, authorization, x-api-key, if-none-match")
        );
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("POST, OPTIONS")
        );
        assert_eq!(
            preflight(None).header("access-control-allow-origin"),
            Some("*")
        );
    }

    #[test]
    fn tenant_without_origins_allows_any() {
        let mut r = Reply::empty(200);
        apply(&mut r, Some(&[]), Some("https://x.example"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("ETag, X-Vane-Snapshot")
        );
    }

    #[test]
    fn listed_origins_are_echoed_others_get_nothing() {
        let list = vec!["https://shop.example".to_owned()];
        let mut ok = Reply::empty(200);
        apply(&mut ok, Some(&list), Some("https://SHOP.example"));
        assert_eq!(
            ok.header("access-control-allow-origin"),
            Some("https://SHOP.example")
        );
        assert_eq!(ok.header("vary"), Some("Origin"));
        let mut other = Reply::empty(200);
        apply(&mut other, Some(&list), Some("https://evil.example"));
        assert_eq!(other.header("access-control-allow-origin"), None);
        let mut none = Reply::empty(200);
        apply(&mut none, Some(&list), None);
        assert_eq!(none.header("access-control-allow-origin"), None);
    }

    #[test]
    fn unknown_tenant_errors_allow_any() {
        let mut r = Reply::error(401, "UNAUTHORIZED", "no key");
        apply(&mut r, None, Some("https://x.example"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
}
