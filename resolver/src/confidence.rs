//! The Confidence resolve API over a snapshot: the `flags:resolve` request
//! and response bodies of Spotify Confidence
//! (`confidence.flags.resolver.v1`, proto3 JSON) and the library call the
//! worker and `vane resolve` share, so both print the same body.
//!
//! ```text
//! ResolveRequest ─► Snapshot::resolve_confidence(client, &request, sticky, now)
//!                ─► Resolution { flags, writes } ─► Resolution::body(id, token)
//! ```
//!
//! Only flags with assignment rules ([`Targeting::Assigned`], what the
//! Confidence front end builds) are resolvable here; a flag is listed when
//! it is active, the client may resolve it and the request names it (or
//! names none).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::assign::{resolve_assigned, sticky_reads, AssignResult, Materializations, StickyWrite};
use crate::context::{Context, ContextError};
use crate::expr::Env;
use crate::model::{Assigned, Flag, Targeting};
use crate::snapshot::{sha256, Snapshot};
use crate::space::BucketCache;

/// A `POST /v1/flags:resolve` body (`ResolveFlagsRequest`, proto3 JSON;
/// fields also under their proto names, `client_secret`,
/// `evaluation_context`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResolveRequest {
    /// Flag names (`flags/{id}`) to resolve; empty = every flag the client may resolve.
    pub flags: Vec<String>,
    /// The evaluation context (a JSON object; `null` = `{}`).
    #[serde(alias = "evaluation_context")]
    pub evaluation_context: Value,
    /// The client secret (looked up by its sha256 like a client key).
    #[serde(alias = "client_secret")]
    pub client_secret: String,
    /// Whether the resolve counts as applied (exposures emitted now).
    pub apply: bool,
    /// The SDK's self-description, passed through to exposures.
    pub sdk: Option<Value>,
}

/// One resolved flag.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedFlag<'a> {
    /// The flag.
    pub flag: &'a Flag,
    /// How it resolved.
    pub result: AssignResult<'a>,
}

/// A resolve's outcome: the flags in snapshot order and the sticky
/// assignments to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'a> {
    /// Resolved flags.
    pub flags: Vec<ResolvedFlag<'a>>,
    /// New sticky assignments, to be written off the response path.
    pub writes: Vec<StickyWrite>,
}

impl Snapshot {
    /// The client name a Confidence client secret belongs to (the secret's
    /// sha256 among the clients' key digests).
    pub fn client_for_secret(&self, secret: &str) -> Option<&str> {
        let digest = sha256(secret.as_bytes());
        self.body
            .clients
            .iter()
            .find(|c| c.key_digests.iter().any(|d| d.0 == digest))
            .map(|c| c.name.as_str())
    }

    /// The flags `client` may resolve for `request`, in snapshot order.
    fn confidence_flags(&self, client: &str, request: &ResolveRequest) -> Vec<(&Flag, &Assigned)> {
        self.body
            .flags
            .iter()
            .filter_map(|flag| {
                let Targeting::Assigned(assigned) = &flag.targeting else {
                    return None;
                };
                let listed = request.flags.is_empty() || request.flags.contains(&flag.key);
                let allowed = assigned
                    .clients
                    .binary_search_by(|c| c.as_str().cmp(client))
                    .is_ok();
                (!flag.disabled && listed && allowed).then_some((flag, &**assigned))
            })
            .collect()
    }

    /// Resolves a Confidence request for `client` (see
    /// [`Snapshot::client_for_secret`]) at time `now` (Unix seconds), with
    /// the sticky store's content for the request (`None` = an empty store).
    ///
    /// Errors: the evaluation context is not an object (or `null`) or nests
    /// too deeply.
    pub fn resolve_confidence<'a>(
        &'a self,
        client: &str,
        request: &'a ResolveRequest,
        sticky: Option<&Materializations>,
        now: i64,
    ) -> Result<Resolution<'a>, ContextError> {
        let context = confidence_context(&request.evaluation_context, now)?;
        let buckets = BucketCache::new(&context, &self.body.spaces);
        let mut writes = Vec::new();
        let flags = self
            .confidence_flags(client, request)
            .into_iter()
            .map(|(flag, assigned)| {
                let env = Env::new(&buckets, &flag.key).with_sticky(sticky);
                let result =
                    resolve_assigned(assigned, &flag.variants, Some(client), &env, &mut writes);
                ResolvedFlag { flag, result }
            })
            .collect();
        Ok(Resolution { flags, writes })
    }

    /// The (unit, materialization) pairs resolving `request` may read from
    /// the sticky store: read them, then pass them to
    /// [`Snapshot::resolve_confidence`].
    pub fn confidence_sticky_reads(
        &self,
        client: &str,
        request: &ResolveRequest,
    ) -> Vec<(String, String)> {
        let Ok(context) = confidence_context(&request.evaluation_context, 0) else {
            return Vec::new();
        };
        let mut reads: Vec<_> = self
            .confidence_flags(client, request)
            .into_iter()
            .flat_map(|(_, assigned)| sticky_reads(assigned, &context))
            .collect();
        reads.sort();
        reads.dedup();
        reads
    }
}

/// The evaluation context of a Confidence request: an object (`null` = `{}`)
/// within the depth limit. Confidence reads the unit through each rule's
/// selector, so `targeting_key` may be of any type here.
fn confidence_context(value: &Value, now: i64) -> Result<Context, ContextError> {
    match value {
        Value::Null => Ok(Context::empty(now)),
        other => Context::from_attributes(other.clone(), now),
    }
}

impl ResolvedFlag<'_> {
    /// The variant's name, if a variant was assigned.
    pub fn variant_name(&self) -> Option<&str> {
        self.result
            .variant
            .and_then(|i| self.flag.variants.get(i as usize))
            .map(|v| v.name.as_str())
    }

    /// The `ResolvedFlag` of the response body (proto3 JSON):
    /// `{flag, variant, value?, flagSchema?, reason, shouldApply,
    /// assignmentOrigin?}`. A match carries the variant's value (`{}` for the
    /// client's default) and the flag's schema; no match carries neither.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("flag".into(), json!(self.flag.key));
        out.insert("variant".into(), json!(self.variant_name().unwrap_or("")));
        if let Some(by) = &self.result.assigned_by {
            let value = self
                .result
                .variant
                .and_then(|i| self.flag.variants.get(i as usize))
                .map_or_else(|| json!({}), |v| v.value.clone());
            out.insert("value".into(), value);
            let schema = match &self.flag.targeting {
                Targeting::Assigned(a) if !a.schema.is_null() => a.schema.clone(),
                _ => json!({"schema": {}}),
            };
            out.insert("flagSchema".into(), schema);
            out.insert("reason".into(), json!(self.result.reason.as_str()));
            out.insert("shouldApply".into(), json!(self.result.should_apply()));
            out.insert("assignmentOrigin".into(), json!(by.rule.name));
        } else {
            out.insert("reason".into(), json!(self.result.reason.as_str()));
            out.insert("shouldApply".into(), json!(self.result.should_apply()));
        }
        Value::Object(out)
    }
}

impl Resolution<'_> {
    /// The `flags:resolve` response body: `{resolvedFlags, resolveToken,
    /// resolveId}` (the token as the caller encoded it, base64 in proto3 JSON).
    pub fn body(&self, resolve_id: &str, resolve_token: &str) -> Value {
        json!({
            "resolvedFlags": self.flags.iter().map(ResolvedFlag::to_json).collect::<Vec<_>>(),
            "resolveToken": resolve_token,
            "resolveId": resolve_id,
        })
    }
}
