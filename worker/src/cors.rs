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
pub const EXPOSE_HEADERS: &str = "ETag, X-Vane-Snapshot, X-Vane-Apply, X-Vane-Sticky-Writes";
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

/// The CORS headers of every answer to one request, whatever its status:
/// successes, refusals and internal failures (500) alike, so a browser can
/// read why a request failed. Only the OFREP paths (`/ofrep/...` and
/// `/tenants/{tenant}/ofrep/...`, and anything else under those prefixes)
/// and the Confidence API (`/v1/...`) serve browsers; other paths (the admin API, unknown routes) get no CORS
/// headers. Until the client key has named a tenant, answers allow any
/// origin (they hold no tenant data); once it has, the tenant's origin list
/// decides, as in [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCors {
    browser: bool,
    origin: Option<String>,
    tenant_origins: Option<Vec<String>>,
}

impl RequestCors {
    /// The CORS context of a request for URL path `path` (as received) with
    /// the given `Origin` header.
    pub fn new(path: &str, origin: Option<String>) -> RequestCors {
        RequestCors {
            browser: path.starts_with("/ofrep/")
                || path.starts_with("/tenants/")
                || crate::confidence::is_confidence_path(path),
            origin,
            tenant_origins: None,
        }
    }

    /// Records the origin list of the tenant whose snapshot answers the
    /// request (empty: any origin); every later answer follows it.
    pub fn tenant_known(&mut self, origins: &[String]) {
        self.tenant_origins = Some(origins.to_vec());
    }

    /// The answer to a preflight on this request's path, for its `Origin`.
    pub fn preflight(&self) -> Reply {
        preflight(self.origin.as_deref())
    }

    /// `reply` with this request's CORS headers (none off the OFREP paths).
    pub fn finish(&self, mut reply: Reply) -> Reply {
        if self.browser {
            apply(
                &mut reply,
                self.tenant_origins.as_deref(),
                self.origin.as_deref(),
            );
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

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
            Some("ETag, X-Vane-Snapshot, X-Vane-Apply, X-Vane-Sticky-Writes")
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

    /// The CORS headers of a reply, in order.
    fn cors_headers(r: &Reply) -> Vec<(&'static str, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-") || *n == "vary")
            .cloned()
            .collect()
    }

    #[test]
    fn internal_errors_carry_the_same_cors_headers_as_other_answers() {
        let shop = "https://shop.example".to_owned();
        for path in [
            "/ofrep/v1/evaluate/flags",
            "/tenants/shop/ofrep/v1/evaluate/flags/banner",
        ] {
            // Before the key names a tenant: any origin, like a 401.
            let cors = RequestCors::new(path, Some(shop.clone()));
            let unauthorized = cors.finish(Reply::error(401, "UNAUTHORIZED", "no key"));
            let internal = cors.finish(ApiError::Internal.reply());
            assert_eq!(internal.status, 500);
            assert_eq!(
                cors_headers(&internal),
                vec![
                    ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
                    ("access-control-allow-origin", "*".to_owned()),
                ],
                "{path}"
            );
            assert_eq!(cors_headers(&internal), cors_headers(&unauthorized));

            // After: the tenant's list, for a listed origin and another one.
            let mut listed = RequestCors::new(path, Some(shop.clone()));
            listed.tenant_known(std::slice::from_ref(&shop));
            let ok = listed.finish(Reply::empty(200));
            let internal = listed.finish(ApiError::Internal.reply());
            assert_eq!(
                cors_headers(&internal),
                vec![
                    ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
                    ("vary", "Origin".to_owned()),
                    ("access-control-allow-origin", shop.clone()),
                ],
                "{path}"
            );
            assert_eq!(cors_headers(&internal), cors_headers(&ok));

            let mut other = RequestCors::new(path, Some("https://evil.example".into()));
            other.tenant_known(std::slice::from_ref(&shop));
            let internal = other.finish(ApiError::Internal.reply());
            assert_eq!(internal.header("access-control-allow-origin"), None);
            assert_eq!(
                cors_headers(&internal),
                cors_headers(&other.finish(Reply::empty(200)))
            );
        }
    }

    #[test]
    fn answers_off_the_ofrep_paths_get_no_cors_headers() {
        for path in ["/admin/v1/tenants/shop/snapshot", "/", "/ofrepx"] {
            let cors = RequestCors::new(path, Some("https://shop.example".into()));
            let internal = cors.finish(ApiError::Internal.reply());
            assert_eq!(internal.status, 500);
            assert_eq!(cors_headers(&internal), vec![], "{path}");
        }
    }

    #[test]
    fn request_preflight_echoes_its_origin() {
        let cors = RequestCors::new("/ofrep/v1/evaluate/flags", Some("https://a.example".into()));
        assert_eq!(cors.preflight(), preflight(Some("https://a.example")));
    }
}
