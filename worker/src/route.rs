//! Routing: from a method, a URL path and a query string to a [`Route`]
//! (an [`OfrepRoute`] or an [`AdminRoute`]), or to the [`ApiError`] that
//! answers the request (404 unknown path, 405 wrong method, 400 unusable path
//! parameter). A new family of routes is a new variant of [`Route`] with its
//! own enum and its own `…_route` function here.

use vane_resolver::limits::{TenantName, MAX_FLAG_KEY_BYTES};

use crate::error::ApiError;
use crate::exposure::summary::Filter;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An OFREP endpoint (client keys, CORS).
    Ofrep(OfrepRoute),
    /// An admin endpoint (bearer `ADMIN_TOKEN`, served by the tenant's
    /// Durable Object).
    Admin(AdminRoute),
    /// The Confidence API (`/v1/...`, client secrets in the body, CORS).
    Confidence(ConfidenceRoute),
}

/// The endpoints of the Confidence API (`docs/confidence.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfidenceRoute {
    /// `POST /v1/flags:resolve`.
    Resolve,
    /// `POST /v1/flags:apply`.
    Apply,
    /// `POST /v1/telemetry:upload`.
    TelemetryUpload,
    /// `OPTIONS` on any of them: a CORS preflight.
    Preflight,
}

impl ConfidenceRoute {
    /// The route's name in logs.
    pub fn name(&self) -> &'static str {
        match self {
            ConfidenceRoute::Resolve => "confidence.resolve",
            ConfidenceRoute::Apply => "confidence.apply",
            ConfidenceRoute::TelemetryUpload => "confidence.telemetry",
            ConfidenceRoute::Preflight => "confidence.preflight",
        }
    }
}

/// The OFREP endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfrepRoute {
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
}

/// The admin endpoints, each about one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `PUT /admin/v1/tenants/{tenant}/snapshot`: publish a snapshot.
    Publish {
        /// Tenant named by the path.
        tenant: String,
    },
    /// `GET /admin/v1/tenants/{tenant}/snapshot`: the current snapshot's
    /// bytes (what `vane publish` diffs against).
    Snapshot {
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
    /// `GET /admin/v1/tenants/{tenant}/metrics`: the tenant's counters.
    Metrics {
        /// Tenant named by the path.
        tenant: String,
    },
    /// `GET /admin/v1/tenants/{tenant}/exposures[?flag=&from=&to=]`: the
    /// exposure summary (`docs/exposures.md`). Served by the fetch handler,
    /// not the tenant's Durable Object.
    Exposures {
        /// Tenant named by the path.
        tenant: String,
        /// Which exposures.
        filter: Filter,
    },
    /// `PUT /admin/v1/tenants/{tenant}/exposures/test-fault?refuse_r2=B`:
    /// the exposure log's test fault switch (only with `VANE_TEST_FAULTS=1`).
    ExposureFault {
        /// Tenant named by the path.
        tenant: String,
        /// Refuse the tenant's R2 writes from now on (or stop refusing).
        refuse_r2: bool,
    },
    /// `PUT /admin/v1/tenants/{tenant}/test-trap`: traps the worker's wasm
    /// instance, as a panic would (only with `VANE_TEST_FAULTS` set): the
    /// e2e checks the next requests are answered by a reinitialised one.
    TestTrap {
        /// Tenant named by the path.
        tenant: String,
    },
    /// `PUT /admin/v1/tenants/{tenant}/materializations`: replace the sticky
    /// assignments of the units the body names. Served by the sticky
    /// store's objects, not the tenant's.
    Materializations {
        /// Tenant named by the path.
        tenant: String,
    },
    /// `GET /admin/v1/tenants/{tenant}/materializations?unit=U`.
    MaterializationsOf {
        /// Tenant named by the path.
        tenant: String,
        /// The unit (percent-decoded).
        unit: String,
    },
}

impl OfrepRoute {
    /// True when a client key owned by `key_tenant` may use this route: any
    /// tenant on the plain paths, only the named one under `/tenants/{t}`.
    pub fn scope_admits(&self, key_tenant: &str) -> bool {
        match self {
            OfrepRoute::EvaluateFlag { scope, .. } | OfrepRoute::EvaluateAll { scope } => {
                scope.as_deref().is_none_or(|s| s == key_tenant)
            }
            OfrepRoute::Preflight => false,
        }
    }

    /// The route's name in logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            OfrepRoute::EvaluateFlag { .. } => "ofrep.flag",
            OfrepRoute::EvaluateAll { .. } => "ofrep.bulk",
            OfrepRoute::Preflight => "ofrep.preflight",
        }
    }
}

impl AdminRoute {
    /// The tenant the request is about (it picks the Durable Object).
    pub fn tenant(&self) -> &str {
        match self {
            AdminRoute::Publish { tenant }
            | AdminRoute::Snapshot { tenant }
            | AdminRoute::Rollback { tenant, .. }
            | AdminRoute::Status { tenant }
            | AdminRoute::Metrics { tenant }
            | AdminRoute::Exposures { tenant, .. }
            | AdminRoute::ExposureFault { tenant, .. }
            | AdminRoute::TestTrap { tenant } => tenant,
            AdminRoute::Materializations { tenant }
            | AdminRoute::MaterializationsOf { tenant, .. } => tenant,
        }
    }

    /// The route's name in logs.
    pub fn name(&self) -> &'static str {
        match self {
            AdminRoute::Publish { .. } => "admin.publish",
            AdminRoute::Snapshot { .. } => "admin.snapshot",
            AdminRoute::Rollback { .. } => "admin.rollback",
            AdminRoute::Status { .. } => "admin.status",
            AdminRoute::Metrics { .. } => "admin.metrics",
            AdminRoute::Exposures { .. } => "admin.exposures",
            AdminRoute::ExposureFault { .. } => "admin.exposures.fault",
            AdminRoute::TestTrap { .. } => "admin.test_trap",
            AdminRoute::Materializations { .. } => "admin.materializations",
            AdminRoute::MaterializationsOf { .. } => "admin.materializations.read",
        }
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
/// Errors: [`ApiError::NotFound`], [`ApiError::MethodNotAllowed`],
/// [`ApiError::FlagKeyTooLong`] (over [`MAX_FLAG_KEY_BYTES`]),
/// [`ApiError::InvalidPath`], [`ApiError::InvalidTenant`],
/// [`ApiError::InvalidDigest`].
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    match segments.as_slice() {
        ["tenants", tenant, ofrep @ ..] if ofrep.first() == Some(&"ofrep") => {
            ofrep_route(method, path, ofrep, || tenant_name(tenant).map(Some)).map(Route::Ofrep)
        }
        ["ofrep", ..] => ofrep_route(method, path, &segments, || Ok(None)).map(Route::Ofrep),
        ["v1", ..] => confidence_route(method, path).map(Route::Confidence),
        ["admin", "v1", "tenants", tenant, rest @ ..] => {
            let tenant = tenant_name(tenant)?;
            admin_route(method, path, rest, tenant, query).map(Route::Admin)
        }
        _ => Err(not_found(method, path)),
    }
}

/// Routes the part of an admin path after `/admin/v1/tenants/{tenant}`.
fn admin_route(
    method: &str,
    path: &str,
    rest: &[&str],
    tenant: String,
    query: Option<&str>,
) -> Result<AdminRoute, ApiError> {
    let (allow, route) = match rest {
        [] => ("GET", AdminRoute::Status { tenant }),
        ["metrics"] => ("GET", AdminRoute::Metrics { tenant }),
        ["exposures"] => (
            "GET",
            AdminRoute::Exposures {
                tenant,
                filter: exposure_filter(query)?,
            },
        ),
        ["test-trap"] => ("PUT", AdminRoute::TestTrap { tenant }),
        ["exposures", "test-fault"] => (
            "PUT",
            AdminRoute::ExposureFault {
                tenant,
                refuse_r2: match query_param(query, "refuse_r2")?.as_deref() {
                    Some("true") => true,
                    Some("false") => false,
                    _ => {
                        return Err(ApiError::InvalidQuery {
                            why: "the fault switch needs ?refuse_r2=true or ?refuse_r2=false"
                                .into(),
                        })
                    }
                },
            },
        ),
        ["materializations"] if method == "GET" => {
            let unit = query
                .unwrap_or("")
                .split('&')
                .find_map(|pair| pair.strip_prefix("unit="))
                .ok_or(ApiError::MissingUnit)?;
            let unit = decode(unit, "unit")?;
            ("GET, PUT", AdminRoute::MaterializationsOf { tenant, unit })
        }
        ["materializations"] => ("GET, PUT", AdminRoute::Materializations { tenant }),
        ["snapshot"] if method == "GET" => ("GET, PUT", AdminRoute::Snapshot { tenant }),
        ["snapshot"] => ("GET, PUT", AdminRoute::Publish { tenant }),
        ["rollback"] => (
            "POST",
            AdminRoute::Rollback {
                tenant,
                to: rollback_target(query)?,
            },
        ),
        _ => return Err(not_found(method, path)),
    };
    if allow.split(", ").any(|m| m == method) {
        Ok(route)
    } else {
        Err(wrong_method(method, path, allow))
    }
}

/// Routes a path of the Confidence API (`/v1/...`).
fn confidence_route(method: &str, path: &str) -> Result<ConfidenceRoute, ApiError> {
    let route = match path {
        "/v1/flags:resolve" => ConfidenceRoute::Resolve,
        "/v1/flags:apply" => ConfidenceRoute::Apply,
        "/v1/telemetry:upload" => ConfidenceRoute::TelemetryUpload,
        _ => return Err(not_found(method, path)),
    };
    match method {
        "POST" => Ok(route),
        "OPTIONS" => Ok(ConfidenceRoute::Preflight),
        _ => Err(wrong_method(method, path, "POST, OPTIONS")),
    }
}

/// Routes the OFREP part of a path (`segments` start at `ofrep`); `scope`
/// reads the tenant of a `/tenants/{tenant}` prefix.
///
/// A preflight of an evaluation path is answered before the tenant and the
/// flag key are checked: the browser then sends the actual request, whose
/// error (with its CORS headers) the page can read, instead of failing the
/// preflight and hiding why.
fn ofrep_route(
    method: &str,
    path: &str,
    segments: &[&str],
    scope: impl FnOnce() -> Result<Option<String>, ApiError>,
) -> Result<OfrepRoute, ApiError> {
    let evaluates = match segments {
        ["ofrep", "v1", "evaluate", "flags"] => true,
        ["ofrep", "v1", "evaluate", "flags", rest @ ..] => rest.iter().any(|s| !s.is_empty()),
        _ => false,
    };
    if method == "OPTIONS" && evaluates {
        return Ok(OfrepRoute::Preflight);
    }
    let scope = scope()?;
    match segments {
        ["ofrep", "v1", "evaluate", "flags"] => match method {
            "POST" => Ok(OfrepRoute::EvaluateAll { scope }),
            _ => Err(wrong_method(method, path, "POST, OPTIONS")),
        },
        ["ofrep", "v1", "evaluate", "flags", rest @ ..] if rest.iter().any(|s| !s.is_empty()) => {
            let key = decode(&rest.join("/"), "flag key")?;
            if key.len() > MAX_FLAG_KEY_BYTES {
                return Err(ApiError::FlagKeyTooLong { key });
            }
            match method {
                "POST" => Ok(OfrepRoute::EvaluateFlag { key, scope }),
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

/// The path of a request URL as received (percent-encoded): from the first
/// `/` after the authority up to any `?` or `#`; `/` when there is none.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url
        .find("://")
        .map_or(url, |i| url.get(i + 3..).unwrap_or(""));
    match after_scheme.find('/').and_then(|i| after_scheme.get(i..)) {
        Some(path) => path.split(['?', '#']).next().unwrap_or(path),
        None => "/",
    }
}

fn not_found(method: &str, path: &str) -> ApiError {
    ApiError::NotFound {
        method: method.to_owned(),
        path: path.to_owned(),
    }
}

fn wrong_method(method: &str, path: &str, allow: &'static str) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_owned(),
        path: path.to_owned(),
        allow,
    }
}

/// A tenant name from the path: the snapshot format's tenant syntax
/// (`docs/snapshot-format.md`, "Envelope"; [`TenantName`]). Anything else names no
/// tenant that could ever have a snapshot, and would only make KV keys and
/// Durable Objects for it.
fn tenant_name(segment: &str) -> Result<String, ApiError> {
    let tenant = decode(segment, "tenant")?;
    match TenantName::parse(&tenant) {
        Ok(name) => Ok(name.into_string()),
        Err(invalid) => Err(ApiError::InvalidTenant { invalid }),
    }
}

/// The `to` query parameter: lowercase hex, 8 to 64 characters.
fn rollback_target(query: Option<&str>) -> Result<Option<String>, ApiError> {
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
        return Err(ApiError::InvalidDigest { to });
    }
    Ok(Some(to))
}

/// A query parameter, percent-decoded (`+` is a space).
fn query_param(query: Option<&str>, name: &'static str) -> Result<Option<String>, ApiError> {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .map(|raw| decode(&raw.replace('+', " "), name))
        .transpose()
}

/// The exposure summary's `flag`, `from` and `to` query parameters.
fn exposure_filter(query: Option<&str>) -> Result<Filter, ApiError> {
    let (from, to) = (query_param(query, "from")?, query_param(query, "to")?);
    Filter::parse(query_param(query, "flag")?, from.as_deref(), to.as_deref())
        .map_err(|why| ApiError::InvalidQuery { why })
}

/// Percent-decodes a URL component (RFC 3986 section 2.1) into UTF-8.
/// Errors: [`ApiError::InvalidPath`] naming `what` when the result is not
/// UTF-8. A `%` not followed by two hex digits is kept literally, as WHATWG
/// URL parsing does.
fn decode(s: &str, what: &'static str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, after)) = rest.split_first() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (b, hex(after.first()), hex(after.get(1))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                rest = after.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = after;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::InvalidPath { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_leading_slash_is_part_of_a_path() {
        assert!(route("POST", "/ofrep/v1/evaluate/flags", None).is_ok());
        for path in [
            "//ofrep/v1/evaluate/flags",
            "///tenants/shop/ofrep/v1/evaluate/flags",
            "//admin/v1/tenants/shop/snapshot",
        ] {
            let e = route("POST", path, None).unwrap_err();
            assert_eq!(
                (e.status(), e.code().as_str()),
                (404, "NOT_FOUND"),
                "{path}"
            );
        }
    }

    #[test]
    fn exposure_routes_parse_their_query() {
        let Ok(Route::Admin(AdminRoute::Exposures { tenant, filter })) = route(
            "GET",
            "/admin/v1/tenants/shop/exposures",
            Some("flag=team%2Fcheckout&from=2026-12-01&to=2026-12-02"),
        ) else {
            panic!("not the exposures route");
        };
        assert_eq!(tenant, "shop");
        assert_eq!(filter.flag.as_deref(), Some("team/checkout"));
        assert_eq!(filter.from_ms, Some(1_796_083_200_000));
        assert_eq!(filter.to_ms, Some(1_796_169_600_000));
        let bad = route("GET", "/admin/v1/tenants/shop/exposures", Some("from=soon")).unwrap_err();
        assert_eq!((bad.status(), bad.code().as_str()), (400, "INVALID_QUERY"));
        assert_eq!(
            route(
                "PUT",
                "/admin/v1/tenants/shop/exposures/test-fault",
                Some("refuse_r2=true")
            ),
            Ok(Route::Admin(AdminRoute::ExposureFault {
                tenant: "shop".into(),
                refuse_r2: true
            }))
        );
        let bad = route("PUT", "/admin/v1/tenants/shop/exposures/test-fault", None).unwrap_err();
        assert_eq!(bad.code().as_str(), "INVALID_QUERY");
        let wrong = route("POST", "/admin/v1/tenants/shop/exposures", None).unwrap_err();
        assert_eq!(wrong.status(), 405);
    }

    #[test]
    fn confidence_routes_and_their_preflights() {
        for (path, r) in [
            ("/v1/flags:resolve", ConfidenceRoute::Resolve),
            ("/v1/flags:apply", ConfidenceRoute::Apply),
            ("/v1/telemetry:upload", ConfidenceRoute::TelemetryUpload),
        ] {
            assert_eq!(
                route("POST", path, None),
                Ok(Route::Confidence(r)),
                "{path}"
            );
            assert_eq!(
                route("OPTIONS", path, None),
                Ok(Route::Confidence(ConfidenceRoute::Preflight))
            );
            let wrong = route("GET", path, None).unwrap_err();
            assert_eq!(wrong.code(), crate::error::Code::MethodNotAllowed);
        }
        let unknown = route("POST", "/v1/flags:evaluate", None).unwrap_err();
        assert_eq!(unknown.code(), crate::error::Code::NotFound);
    }

    #[test]
    fn sticky_store_admin_routes() {
        let p = "/admin/v1/tenants/demo/materializations";
        assert_eq!(
            route("PUT", p, None),
            Ok(Route::Admin(AdminRoute::Materializations {
                tenant: "demo".into()
            }))
        );
        assert_eq!(
            route("GET", p, Some("x=1&unit=user%201")),
            Ok(Route::Admin(AdminRoute::MaterializationsOf {
                tenant: "demo".into(),
                unit: "user 1".into()
            }))
        );
        assert_eq!(route("GET", p, None), Err(ApiError::MissingUnit));
        assert_eq!(
            route("POST", p, None).unwrap_err().code(),
            crate::error::Code::MethodNotAllowed
        );
    }

    fn ofrep(route: OfrepRoute) -> Result<Route, ApiError> {
        Ok(Route::Ofrep(route))
    }

    fn admin(route: AdminRoute) -> Result<Route, ApiError> {
        Ok(Route::Admin(route))
    }

    #[test]
    fn ofrep_routes() {
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags", None),
            ofrep(OfrepRoute::EvaluateAll { scope: None })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/new-checkout", None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "new-checkout".into(),
                scope: None
            })
        );
        assert_eq!(
            route("OPTIONS", "/ofrep/v1/evaluate/flags/x", None),
            ofrep(OfrepRoute::Preflight)
        );
        assert_eq!(
            route("OPTIONS", "/ofrep/v1/evaluate/flags", None),
            ofrep(OfrepRoute::Preflight)
        );
    }

    #[test]
    fn preflights_are_answered_where_the_actual_request_is_refused() {
        let long = format!(
            "/ofrep/v1/evaluate/flags/{}",
            "k".repeat(MAX_FLAG_KEY_BYTES + 1)
        );
        for path in [
            long.as_str(),
            "/ofrep/v1/evaluate/flags/%ff",
            "/tenants/BAD/ofrep/v1/evaluate/flags",
            "/tenants/BAD/ofrep/v1/evaluate/flags/x",
        ] {
            assert_eq!(
                route("OPTIONS", path, None),
                ofrep(OfrepRoute::Preflight),
                "{path}"
            );
            assert!(route("POST", path, None).is_err(), "{path}");
        }
        // Paths that are no evaluation path stay unknown.
        for path in [
            "/ofrep/v1/evaluate/flags/",
            "/ofrep/v1/other",
            "/tenants/shop/ofrep/v2/x",
        ] {
            assert_eq!(
                route("OPTIONS", path, None),
                Err(not_found("OPTIONS", path)),
                "{path}"
            );
        }
    }

    #[test]
    fn tenant_scoped_ofrep_routes() {
        assert_eq!(
            route("POST", "/tenants/shop/ofrep/v1/evaluate/flags", None),
            ofrep(OfrepRoute::EvaluateAll {
                scope: Some("shop".into())
            })
        );
        assert_eq!(
            route(
                "POST",
                "/tenants/media/ofrep/v1/evaluate/flags/player-v2",
                None
            ),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "player-v2".into(),
                scope: Some("media".into())
            })
        );
        assert_eq!(
            route("OPTIONS", "/tenants/media/ofrep/v1/evaluate/flags", None),
            ofrep(OfrepRoute::Preflight)
        );
        let Ok(Route::Ofrep(scoped)) =
            route("POST", "/tenants/media/ofrep/v1/evaluate/flags", None)
        else {
            panic!("not an OFREP route")
        };
        assert!(scoped.scope_admits("media"));
        assert!(!scoped.scope_admits("shop"));
        assert!(OfrepRoute::EvaluateAll { scope: None }.scope_admits("shop"));
        assert!(!OfrepRoute::Preflight.scope_admits("shop"));
        let r = route("POST", "/tenants/media/other", None)
            .unwrap_err()
            .reply();
        assert_eq!(r.status, 404);
        let r = route("GET", "/tenants/media/ofrep/v1/evaluate/flags", None)
            .unwrap_err()
            .reply();
        assert_eq!(r.status, 405);
    }

    #[test]
    fn flag_keys_are_percent_decoded_and_may_contain_slashes() {
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/caf%C3%A9%20menu", None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "café menu".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/team%2Fa", None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "team/a".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/team/a", None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "team/a".into(),
                scope: None
            })
        );
        assert_eq!(
            route("POST", "/ofrep/v1/evaluate/flags/100%", None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: "100%".into(),
                scope: None
            })
        );
        let bad = route("POST", "/ofrep/v1/evaluate/flags/%FF", None)
            .unwrap_err()
            .reply();
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body_json()["errorCode"], "INVALID_PATH");
    }

    #[test]
    fn flag_key_limit_is_256_bytes() {
        let ok = "k".repeat(256);
        assert_eq!(
            route("POST", &format!("/ofrep/v1/evaluate/flags/{ok}"), None),
            ofrep(OfrepRoute::EvaluateFlag {
                key: ok,
                scope: None
            })
        );
        let long = "k".repeat(257);
        let r = route("POST", &format!("/ofrep/v1/evaluate/flags/{long}"), None)
            .unwrap_err()
            .reply();
        assert_eq!(r.status, 400);
        let body = r.body_json();
        assert_eq!(body["key"], long.as_str());
        assert_eq!(body["errorCode"], "GENERAL");
        assert_eq!(
            body["errorDetails"],
            "flag key is 257 bytes long; the edge evaluates keys of at most 256 bytes"
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
    fn paths_of_urls() {
        for (url, path) in [
            ("http://127.0.0.1:8787/", "/"),
            ("http://h", "/"),
            (
                "https://h/ofrep/v1/evaluate/flags/a%2Fb?x=/y",
                "/ofrep/v1/evaluate/flags/a%2Fb",
            ),
            ("https://h/p#/f?x", "/p"),
            ("https://h:8080/a/b/", "/a/b/"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn wrong_methods_are_405_with_allow() {
        let r = route("GET", "/ofrep/v1/evaluate/flags", None)
            .unwrap_err()
            .reply();
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
        assert_eq!(r.body_json()["errorCode"], "METHOD_NOT_ALLOWED");
        let r = route("DELETE", "/admin/v1/tenants/shop/snapshot", None)
            .unwrap_err()
            .reply();
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, PUT")));
        let r = route("PUT", "/admin/v1/tenants/shop", None)
            .unwrap_err()
            .reply();
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
            let r = route("POST", path, None).unwrap_err().reply();
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(r.body_json()["errorCode"], "NOT_FOUND");
        }
    }

    #[test]
    fn tenant_names_follow_the_snapshot_format() {
        for ok in ["shop", "a", "9lives", "eu-west_2"] {
            assert_eq!(
                route("GET", &format!("/admin/v1/tenants/{ok}"), None),
                admin(AdminRoute::Status { tenant: ok.into() }),
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
                let r = route(method, &path, None).unwrap_err().reply();
                assert_eq!(
                    (r.status, r.body_json()["errorCode"].as_str()),
                    (400, Some("INVALID_TENANT")),
                    "{method} {path}"
                );
            }
        }
        let r = route("GET", "/admin/v1/tenants/Shop", None)
            .unwrap_err()
            .reply();
        assert_eq!(
            r.body_json()["errorDetails"],
            "\"Shop\" is not a tenant name: use 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit"
        );
    }

    #[test]
    fn admin_routes() {
        assert_eq!(
            route("GET", "/admin/v1/tenants/shop/metrics", None),
            admin(AdminRoute::Metrics {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("GET", "/admin/v1/tenants/shop/other", None)
                .unwrap_err()
                .code(),
            crate::error::Code::NotFound
        );
        assert_eq!(
            route("PUT", "/admin/v1/tenants/shop/snapshot", None),
            admin(AdminRoute::Publish {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("GET", "/admin/v1/tenants/shop/snapshot", None),
            admin(AdminRoute::Snapshot {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("GET", "/admin/v1/tenants/shop", None),
            admin(AdminRoute::Status {
                tenant: "shop".into()
            })
        );
        assert_eq!(
            route("POST", "/admin/v1/tenants/shop/rollback", None),
            admin(AdminRoute::Rollback {
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
            admin(AdminRoute::Rollback {
                tenant: "shop".into(),
                to: Some("0123abcd".into())
            })
        );
        let r = route("POST", "/admin/v1/tenants/shop/rollback", Some("to=XYZ"))
            .unwrap_err()
            .reply();
        assert_eq!(
            (r.status, r.body_json()["errorCode"].clone()),
            (400, "INVALID_DIGEST".into())
        );
        let long = "t".repeat(65);
        let r = route("GET", &format!("/admin/v1/tenants/{long}"), None)
            .unwrap_err()
            .reply();
        assert_eq!(r.status, 400);
        let longest = "t".repeat(64);
        assert_eq!(
            route("GET", &format!("/admin/v1/tenants/{longest}"), None),
            admin(AdminRoute::Status { tenant: longest })
        );
    }
}
