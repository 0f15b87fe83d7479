//! Routing: from a method, a URL path and a query string to a [`Route`], or
//! to the JSON error reply that answers the request (404 unknown path, 405
//! wrong method, 400 unusable path parameter).

use serde_json::json;

use vane_resolver::snapshot::{valid_tenant, MAX_TENANT_BYTES};

use crate::limits::MAX_FLAG_KEY_BYTES;
use crate::reply::Reply;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /ofrep/v1/evaluate/flags/{key}`: one flag. `key` is
    /// percent-decoded; a key containing `/` may also arrive unencoded.
    EvaluateFlag {
        /// The flag key.
        key: String,
        /// The tenant named by a `/tenants/{tenant}` prefix, if any.
        scope: Option<String>,
    },
    /// `POST /ofrep/v1/evaluate/flags`: every flag of the caller's tenant.
    EvaluateAll {
        /// The tenant named by a `/tenants/{tenant}` prefix, if any.
        scope: Option<String>,
    },
    /// `OPTIONS` on an OFREP path: a CORS preflight.
    Preflight,
    /// `PUT /admin/v1/tenants/{tenant}/snapshot`: publish a snapshot.
    Publish {
        /// Tenant named by the path.
        tenant: String,
    },
    /// `POST /admin/v1/tenants/{tenant}/rollback[?to=<digest>]`.
    Rollback {
        /// Tenant named by the path.
        tenant: String,
        /// Target digest or digest prefix (lowercase hex, 8–64 chars); `None`
        /// rolls back to the previous snapshot.
        to: Option<String>,
    },
    /// `GET /admin/v1/tenants/{tenant}`: current snapshot and history.
    Status {
        /// Tenant named by the path.
        tenant: String,
    },
}

impl Route {
    /// For OFREP routes: false when the path names a tenant
    /// (`/tenants/{tenant}/ofrep/...`) other than `key_tenant`, the owner of
    /// the caller's client key. Non-OFREP routes admit no client key.
    pub fn scope_admits(&self, key_tenant: &str) -> bool {
        match self {
            Route::EvaluateFlag { scope, .. } | Route::EvaluateAll { scope } => {
                scope.as_deref().is_none_or(|s| s == key_tenant)
            }
            _ => false,
        }
    }

    /// True for the admin API routes (bearer `ADMIN_TOKEN`).
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Route::Publish { .. } | Route::Rollback { .. } | Route::Status { .. }
        )
    }
}

/// Routes a request. `path` is the URL path as received (percent-encoded),
/// `query` the raw query string without `?`.
///
/// The OFREP paths also exist under a tenant prefix,
/// `/tenants/{tenant}/ofrep/v1/...`: a base URL that names the tenant, which
/// OFREP providers use unchanged (they append `/ofrep/v1/...` to it). The
/// client key must then belong to that tenant.
///
/// Errors (as replies): 404 `NOT_FOUND` for an unknown path, 405
/// `METHOD_NOT_ALLOWED` with an `Allow` header, 400 for a flag key longer
/// than [`MAX_FLAG_KEY_BYTES`] (an OFREP `evaluationFailure` body with
/// `GENERAL`), for a path segment that is not UTF-8 after decoding, for a bad
/// tenant name or a bad `to` digest.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, Reply> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["tenants", tenant, ofrep @ ..] if ofrep.first() == Some(&"ofrep") => {
            let scope = tenant_name(tenant)?;
            ofrep_route(method, path, ofrep, Some(scope))
        }
        ["ofrep", ..] => ofrep_route(method, path, &segments, None),
        ["admin", "v1", "tenants", tenant] => {
            let tenant = tenant_name(tenant)?;
            match method {
                "GET" => Ok(Route::Status { tenant }),
                _ => Err(wrong_method(method, path, "GET")),
            }
        }
        ["admin", "v1", "tenants", tenant, "snapshot"] => {
            let tenant = tenant_name(tenant)?;
            match method {
                "PUT" => Ok(Route::Publish { tenant }),
                _ => Err(wrong_method(method, path, "PUT")),
            }
        }
        ["admin", "v1", "tenants", tenant, "rollback"] => {
            let tenant = tenant_name(tenant)?;
            match method {
                "POST" => Ok(Route::Rollback {
                    tenant,
                    to: rollback_target(query)?,
                }),
                _ => Err(wrong_method(method, path, "POST")),
            }
        }
        _ => Err(not_found(method, path)),
    }
}

/// Routes the OFREP part of a path (`segments` start at `ofrep`).
fn ofrep_route(
    method: &str,
    path: &str,
    segments: &[&str],
    scope: Option<String>,
) -> Result<Route, Reply> {
    match segments {
        ["ofrep", "v1", "evaluate", "flags"] => match method {
            "POST" => Ok(Route::EvaluateAll { scope }),
            "OPTIONS" => Ok(Route::Preflight),
            _ => Err(wrong_method(method, path, "POST, OPTIONS")),
        },
        ["ofrep", "v1", "evaluate", "flags", rest @ ..] if rest.iter().any(|s| !s.is_empty()) => {
            let key = decode(&rest.join("/"), "flag key")?;
            if key.len() > MAX_FLAG_KEY_BYTES {
                return Err(Reply::json(
                    400,
                    &json!({
                        "key": key,
                        "errorCode": "GENERAL",
                        "errorDetails": format!(
                            "flag key is {} bytes long; the limit is {MAX_FLAG_KEY_BYTES}",
                            key.len()
                        ),
                    }),
                ));
            }
            match method {
                "POST" => Ok(Route::EvaluateFlag { key, scope }),
                "OPTIONS" => Ok(Route::Preflight),
                _ => Err(wrong_method(method, path, "POST, OPTIONS")),
            }
        }
        _ => Err(not_found(method, path)),
    }
}

/// The query string of a request URL (between `?` and any `#`), if any.
/// Enough for the one query parameter the worker reads, without a full
/// URL parser (whose IDNA tables would add ~100 KB to the wasm).
pub fn query_of(url: &str) -> Option<&str> {
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    without_fragment.split_once('?').map(|(_, q)| q)
}

fn not_found(method: &str, path: &str) -> Reply {
    Reply::error(
        404,
        "NOT_FOUND",
        format!("no route for {method} {path}; see docs/http-api.md"),
    )
}

fn wrong_method(method: &str, path: &str, allow: &str) -> Reply {
    Reply::error(
        405,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {path}; use {allow}"),
    )
    .with_header("allow", allow)
}

/// A tenant name from the path: the snapshot format's tenant syntax
/// (`docs/snapshot-format.md`, "Envelope"): 1 to [`MAX_TENANT_BYTES`] of
/// `a-z 0-9 - _`, starting with a letter or digit. Anything else names no
/// tenant that could ever have a snapshot, and would only make KV keys and
/// Durable Objects for it.
fn tenant_name(segment: &str) -> Result<String, Reply> {
    let tenant = decode(segment, "tenant")?;
    if !valid_tenant(&tenant) {
        return Err(Reply::error(
            400,
            "INVALID_TENANT",
            format!(
                "{tenant:?} is not a tenant name: use 1-{MAX_TENANT_BYTES} of a-z, 0-9, '-' and '_', \
                 starting with a letter or digit"
            ),
        ));
    }
    Ok(tenant)
}

/// The `to` query parameter: lowercase hex, 8 to 64 characters.
fn rollback_target(query: Option<&str>) -> Result<Option<String>, Reply> {
    let Some(raw) = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("to="))
    else {
        return Ok(None);
    };
    let to = decode(raw, "to")?;
    let hex = to
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !(8..=64).contains(&to.len()) || !hex {
        return Err(Reply::error(
            400,
            "INVALID_DIGEST",
            format!("to={to:?} is not a snapshot digest: use 8 to 64 lowercase hex characters"),
        ));
    }
    Ok(Some(to))
}

/// Percent-decodes a URL component (RFC 3986 section 2.1) into UTF-8.
/// Errors: a 400 reply naming `what` when the result is not UTF-8. A `%` not
/// followed by two hex digits is kept literally, as WHATWG URL parsing does.
fn decode(s: &str, what: &str) -> Result<String, Reply> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        Reply::error(
            400,
            "INVALID_PATH",
            format!("the {what} in the URL is not UTF-8 after percent-decoding"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofrep_routes() {
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags", None),
            Ok(Route::EvaluateAll { scope: None })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/new-checkout", None),
            Ok(Route::EvaluateFlag {
                key: "new-checkout".into(),
                scope: None
            })
        );
        assert_eq!(
            route("OPTIONS", "/ofrep/v1/evaluate/flags/x", None),
            Ok(Route::Preflight)
        );
        assert_eq!(
            route("OPTIONS", "/ofrep/v1/evaluate/flags", None),
            Ok(Route::Preflight)
        );
    }

    #[test]
    fn tenant_scoped_ofrep_routes() {
        assert_eq!(
            route("POST", "/tenants/shop/ofrep/v1/evaluate/flags", None),
            Ok(Route::EvaluateAll {
                scope: Some("shop".into())
            })
        );
        assert_eq!(
            route(
                "POST",
                "/tenants/media/ofrep/v1/evaluate/flags/player-v2",
                None
            ),
            Ok(Route::EvaluateFlag {
                key: "player-v2".into(),
                scope: Some("media".into())
            })
        );
        assert_eq!(
            route("OPTIONS", "/tenants/media/ofrep/v1/evaluate/flags", None),
            Ok(Route::Preflight)
        );
        let scoped = route("POST", "/tenants/media/ofrep/v1/evaluate/flags", None).unwrap();
        assert!(scoped.scope_admits("media"));
        assert!(!scoped.scope_admits("shop"));
        assert!(Route::EvaluateAll { scope: None }.scope_admits("shop"));
        assert!(!Route::Preflight.scope_admits("shop"));
        let r = route("POST", "/tenants/media/other", None).unwrap_err();
        assert_eq!(r.status, 404);
        let r = route("GET", "/tenants/media/ofrep/v1/evaluate/flags", None).unwrap_err();
        assert_eq!(r.status, 405);
    }

    #[test]
    fn flag_keys_are_percent_decoded_and_may_contain_slashes() {
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/caf%C3%A9%20menu", None),
            Ok(Route::EvaluateFlag {
                key: "café menu".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/team%2Fa", None),
            Ok(Route::EvaluateFlag {
                key: "team/a".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/team/a", None),
            Ok(Route::EvaluateFlag {
                key: "team/a".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/100%", None),
            Ok(Route::EvaluateFlag {
                key: "100%".into(),
                scope: None
            })
        );
        let bad = route("POST", "/ofrep/v1/evaluate/flags/%FF", None).unwrap_err();
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body_json()["errorCode"], "INVALID_PATH");
    }

    #[test]
    fn flag_key_limit_is_256_bytes() {
        let ok = "k".repeat(256);
        assert_eq!(
            route("POST", &format!("/ofrep/v1/evaluate/flags/{ok}"), None),
            Ok(Route::EvaluateFlag {
                key: ok,
                scope: None
            })
        );
        let long = "k".repeat(257);
        let r = route("POST", &format!("/ofrep/v1/evaluate/flags/{long}"), None).unwrap_err();
        assert_eq!(r.status, 400);
        let body = r.body_json();
        assert_eq!(body["key"], long.as_str());
        assert_eq!(body["errorCode"], "GENERAL");
        assert_eq!(
            body["errorDetails"],
            "flag key is 257 bytes long; the limit is 256"
        );
    }

    #[test]
    fn query_strings() {
        assert_eq!(query_of("http://h/p?to=ab12#x"), Some("to=ab12"));
        assert_eq!(query_of("http://h/p?"), Some(""));
        assert_eq!(query_of("http://h/p#a?b"), None);
        assert_eq!(query_of("http://h/p"), None);
    }

    #[test]
    fn wrong_methods_are_405_with_allow() {
        let r = route("GET", "/ofrep/v1/evaluate/flags", None).unwrap_err();
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
        assert_eq!(r.body_json()["errorCode"], "METHOD_NOT_ALLOWED");
        let r = route("DELETE", "/admin/v1/tenants/shop/snapshot", None).unwrap_err();
        assert_eq!((r.status, r.header("allow")), (405, Some("PUT")));
        let r = route("PUT", "/admin/v1/tenants/shop", None).unwrap_err();
        assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    }

    #[test]
    fn unknown_paths_are_404_json() {
        for path in [
            "/",
            "/ofrep/v1",
            "/ofrep/v1/evaluate/flags/",
            "/admin/v1/tenants",
        ] {
            let r = route("POST", path, None).unwrap_err();
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(r.body_json()["errorCode"], "NOT_FOUND");
        }
    }

    #[test]
    fn tenant_names_follow_the_snapshot_format() {
        for ok in ["shop", "a", "9lives", "eu-west_2"] {
            assert_eq!(
                route("GET", &format!("/admin/v1/tenants/{ok}"), None),
                Ok(Route::Status { tenant: ok.into() }),
                "{ok}"
            );
        }
        for bad in [
            "Shop",
            "shop%20",
            "a%2Fb",
            "a%3Fb",
            "-x",
            "_x",
            "%E2%80%AE",
            "caf%C3%A9",
            "a.b",
            "%00",
        ] {
            for (method, path) in [
                ("GET", format!("/admin/v1/tenants/{bad}")),
                ("PUT", format!("/admin/v1/tenants/{bad}/snapshot")),
                ("POST", format!("/admin/v1/tenants/{bad}/rollback")),
                ("POST", format!("/tenants/{bad}/ofrep/v1/evaluate/flags")),
            ] {
                let r = route(method, &path, None).unwrap_err();
                assert_eq!(
                    (r.status, r.body_json()["errorCode"].as_str()),
                    (400, Some("INVALID_TENANT")),
                    "{method} {path}"
                );
            }
        }
        let r = route("GET", "/admin/v1/tenants/Shop", None).unwrap_err();
        assert_eq!(
            r.body_json()["errorDetails"],
            "\"Shop\" is not a tenant name: use 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit"
        );
    }

    #[test]
    fn admin_routes() {
        assert_eq!(
            route("PUT", "/admin/v1/tenants/shop/snapshot", None),
            Ok(Route::Publish {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("GET", "/admin/v1/tenants/shop", None),
            Ok(Route::Status {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("POST", "/admin/v1/tenants/shop/rollback", None),
            Ok(Route::Rollback {
                tenant: "shop".into(),
                to: None
            })
        );
        assert_eq!(
            route(
                "POST",
                "/admin/v1/tenants/shop/rollback",
                Some("x=1&to=0123abcd")
            ),
            Ok(Route::Rollback {
                tenant: "shop".into(),
                to: Some("0123abcd".into())
            })
        );
        let r = route("POST", "/admin/v1/tenants/shop/rollback", Some("to=XYZ")).unwrap_err();
        assert_eq!(
            (r.status, r.body_json()["errorCode"].clone()),
            (400, "INVALID_DIGEST".into())
        );
        let long = "t".repeat(65);
        let r = route("GET", &format!("/admin/v1/tenants/{long}"), None).unwrap_err();
        assert_eq!(r.status, 400);
        let longest = "t".repeat(64);
        assert_eq!(
            route("GET", &format!("/admin/v1/tenants/{longest}"), None),
            Ok(Route::Status { tenant: longest })
        );
        assert!(Route::Status { tenant: "a".into() }.is_admin());
        assert!(!Route::EvaluateAll { scope: None }.is_admin());
    }
}
