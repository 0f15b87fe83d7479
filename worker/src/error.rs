//! Every error the worker answers with outside the OFREP evaluation results:
//! one enum, [`ApiError`], whose variant decides the HTTP status, the
//! `errorCode` and the `errorDetails` message, all in this file. The codes
//! are listed in `docs/http-api.md` (a test checks that each one is).
//!
//! Bodies are `{"errorCode", "errorDetails"}`: OFREP's
//! `bulkEvaluationFailure` shape, which also satisfies its
//! `generalErrorResponse`, so OFREP clients can read every Vane error. The
//! one exception is [`ApiError::FlagKeyTooLong`], an OFREP
//! `evaluationFailure` that also names the key.
//!
//! To add an error: a variant here, its [`Code`] (a new code goes into the
//! `codes!` list and into `docs/http-api.md`), its status and message in
//! [`ApiError::code`] and [`ApiError::details`].

use serde_json::json;
use vane_resolver::limits::{flag_key_too_long, InvalidTenantName};

use crate::reply::Reply;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// An `errorCode` value of a Vane error body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as it appears in `errorCode`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }
        }
    };
}

codes! {
    /// A path segment is not UTF-8 after percent-decoding.
    InvalidPath = "INVALID_PATH",
    /// A tenant name in the path breaks the tenant syntax.
    InvalidTenant = "INVALID_TENANT",
    /// A rollback `to` is not 8–64 lowercase hex digits.
    InvalidDigest = "INVALID_DIGEST",
    /// OFREP's general error code: a flag key over the length limit.
    General = "GENERAL",
    /// No route has this path.
    NotFound = "NOT_FOUND",
    /// The path exists with other methods.
    MethodNotAllowed = "METHOD_NOT_ALLOWED",
    /// No, unknown or foreign client key; missing or wrong admin token.
    Unauthorized = "UNAUTHORIZED",
    /// A request body over its route's limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// The request body could not be read from the connection.
    UnreadableBody = "UNREADABLE_BODY",
    /// A failure of the runtime; the details are logged, not answered.
    Internal = "INTERNAL",
    /// The key's tenant has no snapshot to serve.
    SnapshotUnavailable = "SNAPSHOT_UNAVAILABLE",
    /// Storage could not be read or written.
    StoreUnavailable = "STORE_UNAVAILABLE",
    /// The admin API is off: no usable `ADMIN_TOKEN`.
    AdminDisabled = "ADMIN_DISABLED",
    /// Published bytes are not a valid snapshot.
    InvalidSnapshot = "INVALID_SNAPSHOT",
    /// The snapshot names another tenant than the path.
    TenantMismatch = "TENANT_MISMATCH",
    /// The snapshot (digest) is already current.
    AlreadyCurrent = "ALREADY_CURRENT",
    /// The version is not above the current one.
    VersionNotNewer = "VERSION_NOT_NEWER",
    /// Another snapshot of the tenant had this version.
    VersionReused = "VERSION_REUSED",
    /// A client key digest belongs to another tenant.
    KeyConflict = "KEY_CONFLICT",
    /// A rollback `to` prefix matches several history entries.
    AmbiguousDigest = "AMBIGUOUS_DIGEST",
    /// The tenant never published.
    NoSnapshot = "NO_SNAPSHOT",
    /// A rollback `to` is not in the history.
    UnknownDigest = "UNKNOWN_DIGEST",
    /// No earlier version to roll back to.
    NothingToRollBack = "NOTHING_TO_ROLL_BACK",
    /// The stored snapshot to roll back to is missing or corrupt.
    SnapshotUnusable = "SNAPSHOT_UNUSABLE",
    /// The tenant requires signed snapshots and this one is unsigned or
    /// signed by a key it does not trust (or the trust configuration is
    /// unusable).
    UntrustedSnapshot = "UNTRUSTED_SNAPSHOT",
    /// A query parameter of the exposure summary or fault switch is unusable.
    InvalidQuery = "INVALID_QUERY",
    /// An exposure object in R2 is not gzipped schema-1 NDJSON.
    ExposureObjectUnreadable = "EXPOSURE_OBJECT_UNREADABLE",
    /// A sticky-store read names no `unit`.
    MissingUnit = "MISSING_UNIT",
    /// A sticky-store seed body is not `{unit: {materialization: record}}`.
    InvalidMaterializations = "INVALID_MATERIALIZATIONS",
}

/// A refused or failed request: what went wrong, with what the message
/// needs. [`ApiError::reply`] turns it into the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a path segment (`what`: "flag key", "tenant", "to") is not UTF-8
    /// after percent-decoding.
    InvalidPath {
        /// Which segment.
        what: &'static str,
    },
    /// 400: a tenant name in the path that no snapshot can have.
    InvalidTenant {
        /// The decoded name.
        invalid: InvalidTenantName,
    },
    /// 400: a rollback `to` that is not a digest.
    InvalidDigest {
        /// The decoded value.
        to: String,
    },
    /// 400 (OFREP `evaluationFailure`, `GENERAL`): a flag key longer than
    /// [`vane_resolver::limits::MAX_FLAG_KEY_BYTES`].
    FlagKeyTooLong {
        /// The decoded key.
        key: String,
    },
    /// 404: no route.
    NotFound {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// 405, with an `Allow` header.
    MethodNotAllowed {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
        /// The methods the path allows.
        allow: &'static str,
    },
    /// 401: the request carries no client key.
    NoClientKey,
    /// 401: the client key is unknown, revoked or another tenant's.
    InvalidClientKey,
    /// 401: missing or wrong admin token.
    AdminUnauthorized,
    /// 503: the admin API is off; `reason` says why (no token, a weak one).
    AdminDisabled {
        /// What is wrong with `ADMIN_TOKEN`.
        reason: String,
    },
    /// 413: the body is larger than `limit` bytes.
    PayloadTooLarge {
        /// The route's limit, bytes.
        limit: usize,
    },
    /// 400: the body stream failed before it ended.
    UnreadableBody,
    /// 500: a runtime failure. The cause goes to the log with the request
    /// id; the answer only gives the id.
    Internal,
    /// 503: the key's tenant has nothing to serve. The tenant is not named:
    /// the key was not admitted by any snapshot.
    SnapshotUnavailable,
    /// 503: storage failed. `what` says what failed, `state` what the failure
    /// left behind (both true, see [`crate::admin`]).
    StoreUnavailable {
        /// The store's error.
        what: String,
        /// What is and is not changed, and what to do.
        state: &'static str,
    },
    /// 400: published bytes that do not decode or verify.
    InvalidSnapshot {
        /// The decoder's message.
        why: String,
    },
    /// 400: the snapshot belongs to another tenant.
    TenantMismatch {
        /// The decoder's message.
        why: String,
    },
    /// 409: the snapshot is already current.
    AlreadyCurrent {
        /// Tenant.
        tenant: String,
        /// Current digest.
        digest: String,
        /// Current version.
        version: u64,
    },
    /// 409: the version is not newer than the current one.
    VersionNotNewer {
        /// Tenant.
        tenant: String,
        /// Version offered.
        version: u64,
        /// Current version.
        current: u64,
    },
    /// 409: a different snapshot of the tenant already had this version.
    VersionReused {
        /// Tenant.
        tenant: String,
        /// Version offered.
        version: u64,
        /// The digest published with that version.
        digest: String,
    },
    /// 409: a client key digest is owned by another tenant.
    KeyConflict {
        /// The client (snapshot's `clients[].name`) with the key.
        client: String,
        /// Key digest, hex.
        digest: String,
        /// The owning tenant.
        owner: String,
    },
    /// 400: a rollback prefix matching several entries.
    AmbiguousDigest {
        /// Tenant.
        tenant: String,
        /// The prefix.
        prefix: String,
        /// How many entries match.
        matches: usize,
    },
    /// 404: the tenant never published.
    NoSnapshot {
        /// Tenant.
        tenant: String,
    },
    /// 404: a rollback prefix not in the history.
    UnknownDigest {
        /// Tenant.
        tenant: String,
        /// The prefix.
        prefix: String,
    },
    /// 409: no earlier version in the history.
    NothingToRollBack {
        /// Tenant.
        tenant: String,
        /// Current version.
        version: u64,
    },
    /// 409: the snapshot to roll back to is missing or does not verify.
    SnapshotUnusable {
        /// Tenant.
        tenant: String,
        /// The target digest.
        digest: String,
        /// What is wrong.
        why: String,
    },
    /// 403: the snapshot is valid but its tenant's signature policy
    /// ([`crate::signing`]) refuses it.
    UntrustedSnapshot {
        /// The refusal, naming tenant and signer.
        why: String,
    },
    /// 400: an unusable query parameter (`why` names it).
    InvalidQuery {
        /// What is wrong.
        why: String,
    },
    /// 500: an exposure object that cannot be read (`why` names the object
    /// and the line).
    ExposureObjectUnreadable {
        /// What is wrong.
        why: String,
    },
    /// 400: `GET …/materializations` without `?unit=`.
    MissingUnit,
    /// 400: a seed body of the sticky store that does not parse.
    InvalidMaterializations {
        /// The parser's message.
        why: String,
    },
}

impl ApiError {
    /// The error's `errorCode`.
    pub fn code(&self) -> Code {
        match self {
            ApiError::InvalidPath { .. } => Code::InvalidPath,
            ApiError::InvalidTenant { .. } => Code::InvalidTenant,
            ApiError::InvalidDigest { .. } => Code::InvalidDigest,
            ApiError::FlagKeyTooLong { .. } => Code::General,
            ApiError::NotFound { .. } => Code::NotFound,
            ApiError::MethodNotAllowed { .. } => Code::MethodNotAllowed,
            ApiError::NoClientKey | ApiError::InvalidClientKey | ApiError::AdminUnauthorized => {
                Code::Unauthorized
            }
            ApiError::AdminDisabled { .. } => Code::AdminDisabled,
            ApiError::PayloadTooLarge { .. } => Code::PayloadTooLarge,
            ApiError::UnreadableBody => Code::UnreadableBody,
            ApiError::Internal => Code::Internal,
            ApiError::SnapshotUnavailable => Code::SnapshotUnavailable,
            ApiError::StoreUnavailable { .. } => Code::StoreUnavailable,
            ApiError::InvalidSnapshot { .. } => Code::InvalidSnapshot,
            ApiError::TenantMismatch { .. } => Code::TenantMismatch,
            ApiError::AlreadyCurrent { .. } => Code::AlreadyCurrent,
            ApiError::VersionNotNewer { .. } => Code::VersionNotNewer,
            ApiError::VersionReused { .. } => Code::VersionReused,
            ApiError::KeyConflict { .. } => Code::KeyConflict,
            ApiError::AmbiguousDigest { .. } => Code::AmbiguousDigest,
            ApiError::NoSnapshot { .. } => Code::NoSnapshot,
            ApiError::UnknownDigest { .. } => Code::UnknownDigest,
            ApiError::NothingToRollBack { .. } => Code::NothingToRollBack,
            ApiError::SnapshotUnusable { .. } => Code::SnapshotUnusable,
            ApiError::UntrustedSnapshot { .. } => Code::UntrustedSnapshot,
            ApiError::InvalidQuery { .. } => Code::InvalidQuery,
            ApiError::ExposureObjectUnreadable { .. } => Code::ExposureObjectUnreadable,
            ApiError::MissingUnit => Code::MissingUnit,
            ApiError::InvalidMaterializations { .. } => Code::InvalidMaterializations,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self.code() {
            Code::InvalidPath
            | Code::InvalidTenant
            | Code::InvalidDigest
            | Code::General
            | Code::UnreadableBody
            | Code::InvalidSnapshot
            | Code::TenantMismatch
            | Code::AmbiguousDigest
            | Code::InvalidQuery
            | Code::MissingUnit
            | Code::InvalidMaterializations => 400,
            Code::Unauthorized => 401,
            Code::UntrustedSnapshot => 403,
            Code::NotFound | Code::NoSnapshot | Code::UnknownDigest => 404,
            Code::MethodNotAllowed => 405,
            Code::AlreadyCurrent
            | Code::VersionNotNewer
            | Code::VersionReused
            | Code::KeyConflict
            | Code::NothingToRollBack
            | Code::SnapshotUnusable => 409,
            Code::PayloadTooLarge => 413,
            Code::Internal | Code::ExposureObjectUnreadable => 500,
            Code::SnapshotUnavailable | Code::StoreUnavailable | Code::AdminDisabled => 503,
        }
    }

    /// The `errorDetails` message.
    pub fn details(&self) -> String {
        match self {
            ApiError::InvalidPath { what } => {
                format!("the {what} in the URL is not UTF-8 after percent-decoding")
            }
            ApiError::InvalidTenant { invalid } => invalid.to_string(),
            ApiError::InvalidDigest { to } => {
                format!("to={to:?} is not a snapshot digest: use 8 to 64 lowercase hex characters")
            }
            ApiError::FlagKeyTooLong { key } => flag_key_too_long(key.len()),
            ApiError::NotFound { method, path } => {
                format!("no route for {method} {path}; see docs/http-api.md")
            }
            ApiError::MethodNotAllowed {
                method,
                path,
                allow,
            } => format!("{method} is not allowed on {path}; use {allow}"),
            ApiError::NoClientKey => {
                "no client key: send Authorization: Bearer <key> or X-API-Key: <key>".into()
            }
            ApiError::InvalidClientKey => "the client key is not valid".into(),
            ApiError::AdminUnauthorized => {
                "the admin token is missing or wrong: send Authorization: Bearer <ADMIN_TOKEN>"
                    .into()
            }
            ApiError::AdminDisabled { reason } => reason.clone(),
            ApiError::PayloadTooLarge { limit } => {
                format!("request body is larger than {limit} bytes")
            }
            ApiError::UnreadableBody => {
                "the request body could not be read to its end; send it again".into()
            }
            ApiError::Internal => {
                "internal error; the worker log has the cause under this request's x-request-id"
                    .into()
            }
            ApiError::SnapshotUnavailable => {
                "the tenant of this client key has no snapshot to serve; retry later".into()
            }
            ApiError::StoreUnavailable { what, state } => format!("{what}; {state}"),
            ApiError::InvalidSnapshot { why } | ApiError::TenantMismatch { why } => why.clone(),
            ApiError::AlreadyCurrent {
                tenant,
                digest,
                version,
            } => format!(
                "snapshot {digest} is already current for tenant {tenant:?} (version {version}); nothing to publish"
            ),
            ApiError::VersionNotNewer {
                tenant,
                version,
                current,
            } => format!(
                "snapshot version {version} is not newer than the current version {current} of tenant {tenant:?}; build with a higher --version"
            ),
            ApiError::VersionReused {
                tenant,
                version,
                digest,
            } => format!(
                "version {version} of tenant {tenant:?} was already published as snapshot {digest}; a different snapshot cannot reuse it"
            ),
            ApiError::KeyConflict {
                client,
                digest,
                owner,
            } => format!(
                "client {client:?} has key digest {digest}, which belongs to tenant {owner:?}; give it a new key"
            ),
            ApiError::AmbiguousDigest {
                tenant,
                prefix,
                matches,
            } => format!(
                "{prefix} matches {matches} snapshots of tenant {tenant:?}; give more digits"
            ),
            ApiError::NoSnapshot { tenant } => {
                format!("tenant {tenant:?} has no published snapshot")
            }
            ApiError::UnknownDigest { tenant, prefix } => format!(
                "no snapshot {prefix}… in the history of tenant {tenant:?}; see GET /admin/v1/tenants/{tenant}"
            ),
            ApiError::NothingToRollBack { tenant, version } => format!(
                "tenant {tenant:?} has no earlier snapshot than version {version} in its history"
            ),
            ApiError::SnapshotUnusable {
                tenant,
                digest,
                why,
            } => format!("cannot roll tenant {tenant:?} back to snapshot {digest}: {why}"),
            ApiError::UntrustedSnapshot { why } => why.clone(),
            ApiError::InvalidQuery { why } => why.clone(),
            ApiError::ExposureObjectUnreadable { why } => {
                format!("an exposure object cannot be read: {why}")
            }
            ApiError::MissingUnit => "name the unit: ?unit=<unit>".to_owned(),
            ApiError::InvalidMaterializations { why } => format!(
                "the body must be {{unit: {{materialization: {{isUnitInMaterialization, \
                 ruleToVariant}}}}}}: {why}"
            ),
        }
    }

    /// The answer: status, JSON body, and `Allow` for a 405.
    pub fn reply(&self) -> Reply {
        let (status, code, details) = (self.status(), self.code().as_str(), self.details());
        match self {
            ApiError::FlagKeyTooLong { key } => Reply::json(
                status,
                &json!({"key": key, "errorCode": code, "errorDetails": details}),
            ),
            ApiError::MethodNotAllowed { allow, .. } => {
                Reply::error(status, code, details).with_header("allow", *allow)
            }
            _ => Reply::error(status, code, details),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_in_http_api_md() {
        let doc = include_str!("../../docs/http-api.md");
        let missing: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !doc.contains(&format!("`{c}`")))
            .collect();
        assert_eq!(missing, Vec::<&str>::new(), "codes not in docs/http-api.md");
    }

    #[test]
    fn codes_are_distinct_upper_snake_case() {
        let mut texts: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert!(texts
            .iter()
            .all(|t| t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')));
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), Code::ALL.len());
    }

    #[test]
    fn replies_carry_status_code_details_and_allow() {
        let e = ApiError::MethodNotAllowed {
            method: "GET".into(),
            path: "/ofrep/v1/evaluate/flags".into(),
            allow: "POST, OPTIONS",
        };
        let r = e.reply();
        assert_eq!((r.status, r.header("allow")), (405, Some("POST, OPTIONS")));
        assert_eq!(
            r.body_json(),
            json!({"errorCode":"METHOD_NOT_ALLOWED",
                   "errorDetails":"GET is not allowed on /ofrep/v1/evaluate/flags; use POST, OPTIONS"})
        );
        let r = ApiError::FlagKeyTooLong {
            key: "k".repeat(257),
        }
        .reply();
        assert_eq!(r.status, 400);
        assert_eq!(r.body_json()["key"], "k".repeat(257));
        assert_eq!(r.body_json()["errorCode"], "GENERAL");
    }

    #[test]
    fn internal_errors_echo_nothing_of_the_cause() {
        let r = ApiError::Internal.reply();
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body_json(),
            json!({"errorCode":"INTERNAL",
                   "errorDetails":"internal error; the worker log has the cause under this request's x-request-id"})
        );
    }
}
