//! `POST /v1/flags:apply`: the client says which resolved flags it used,
//! and when. Body (proto3 JSON, `ApplyFlagsRequest`):
//!
//! ```json
//! {"flags": [{"flag": "flags/x", "applyTime": "2026-12-01T09:30:00.120Z"}],
//!  "clientSecret": "…", "resolveToken": "…", "sendTime": "2026-12-01T09:30:00.250Z",
//!  "sdk": {"id": "SDK_ID_JS_WEB_PROVIDER", "version": "0.0.3"}}
//! ```
//!
//! The answer is `{}`. An empty or missing token is a 200 no-op (an SDK
//! applies whatever it holds, also after a failed resolve). A token that
//! does not open ([`TokenError`]: forged, expired, another tenant's) is a
//! 400 saying why, and nothing is applied. Otherwise each flag of the batch
//! is applied on its own: one the token does not name, one resolved without
//! a variant (no match, or a fall-through or client default at the end: no
//! exposure, issue 10)
//! and a repeat within the batch are skipped and counted — never a failure
//! of the batch (the peer failure this avoids: Confidence #498).
//!
//! Apply times are on the client's clock; `sendTime` is on the same clock,
//! so the exposure time on the edge's clock is the arrival time minus how
//! long before sending the flag was applied ([`skew_corrected`]). A missing
//! or unreadable `applyTime` counts as the send time; a missing `sendTime`
//! as the arrival.

use std::collections::HashSet;

use serde_json::{Map, Value};
use vane_resolver::expr::typed::parse_rfc3339;

use super::token::{Claims, TokenAssignment, TokenKey};
use super::wire::{self, invalid};
use crate::exposure::event::{skew_corrected, Event, RequestMeta, Served, Source, Weight};
use crate::reply::Reply;

/// A parsed apply request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRequest {
    /// The client secret (looked up like an OFREP client key).
    pub client_secret: String,
    /// The resolve token, as sent; empty when none.
    pub resolve_token: String,
    /// The flags, in order: name and apply time (Unix ms, client clock) if
    /// readable.
    pub flags: Vec<(String, Option<u64>)>,
    /// `sendTime`, Unix ms on the client's clock, if readable.
    pub send_ms: Option<u64>,
    /// The SDK, `id@version`.
    pub sdk: Option<String>,
}

/// What an apply did, for the exposure log and the answer's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The opened token.
    pub claims: Claims,
    /// Each applied assignment with its exposure time (edge clock, Unix ms).
    pub applied: Vec<(TokenAssignment, u64)>,
    /// Flags the token does not name.
    pub unknown: usize,
    /// Flags resolved without a variant.
    pub unassigned: usize,
    /// Flags named again within the batch.
    pub repeated: usize,
}

impl ApplyOutcome {
    /// The `X-Vane-Apply` header: `applied=N unknown=N unassigned=N repeated=N`.
    pub fn header(&self) -> String {
        format!(
            "applied={} unknown={} unassigned={} repeated={}",
            self.applied.len(),
            self.unknown,
            self.unassigned,
            self.repeated
        )
    }
}

/// Reads an apply body.
///
/// Errors: a 400 for a body that is not a JSON object, fields of the wrong
/// type, or a `flags` entry without a `flag` name.
pub fn parse(body: &[u8]) -> Result<ApplyRequest, Reply> {
    let mut map = wire::object(body, "apply request")?;
    let client_secret = wire::string(&mut map, "clientSecret", "client_secret")
        .map_err(invalid)?
        .unwrap_or_default();
    let resolve_token = wire::string(&mut map, "resolveToken", "resolve_token")
        .map_err(invalid)?
        .unwrap_or_default();
    let send_ms = wire::string(&mut map, "sendTime", "send_time")
        .map_err(invalid)?
        .as_deref()
        .and_then(unix_ms);
    let flags = match wire::take(&mut map, "flags", "flags") {
        None => vec![],
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| applied_flag(i, item))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(format!(
                "flags must be an array, found {}",
                vane_resolver::context::json_type(&other)
            )))
        }
    };
    Ok(ApplyRequest {
        client_secret,
        resolve_token,
        flags,
        send_ms,
        sdk: wire::sdk(&mut map),
    })
}

fn applied_flag(i: usize, item: Value) -> Result<(String, Option<u64>), Reply> {
    let Value::Object(mut entry) = item else {
        return Err(invalid(format!(
            "flags[{i}] must be an object {{\"flag\", \"applyTime\"}}"
        )));
    };
    let located = |message: String| invalid(format!("flags[{i}].{message}"));
    let flag = wire::string(&mut entry, "flag", "flag")
        .map_err(located)?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| invalid(format!("flags[{i}].flag is missing")))?;
    let apply = wire::string(&mut entry, "applyTime", "apply_time")
        .map_err(located)?
        .as_deref()
        .and_then(unix_ms);
    Ok((flag, apply))
}

/// An RFC 3339 timestamp (proto3 JSON `Timestamp`) as Unix milliseconds;
/// `None` when unreadable or before 1970.
fn unix_ms(text: &str) -> Option<u64> {
    let (secs, nanos) = parse_rfc3339(text)?;
    let ms = secs.checked_mul(1000)? + i64::from(nanos / 1_000_000);
    u64::try_from(ms).ok()
}

/// Applies `request` for `tenant` (the owner of its client secret), which
/// arrived at `received_ms`.
///
/// Errors: the 400 of a token that does not open.
pub fn apply(
    key: &TokenKey,
    tenant: &str,
    request: &ApplyRequest,
    received_ms: u64,
) -> Result<ApplyOutcome, Reply> {
    let claims = key
        .open(&request.resolve_token, tenant, (received_ms / 1000) as i64)
        .map_err(|e| invalid(e.to_string()))?;
    let send_ms = request.send_ms.unwrap_or(received_ms);
    let mut outcome = ApplyOutcome {
        claims,
        applied: vec![],
        unknown: 0,
        unassigned: 0,
        repeated: 0,
    };
    // The token's flags by the names the answer gave them, sorted once: an
    // apply may name thousands of flags.
    let mut named: Vec<_> = outcome
        .claims
        .assignments
        .iter()
        .map(|a| (a.name(), a))
        .collect();
    named.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    let mut seen = HashSet::new();
    for (flag, apply_ms) in &request.flags {
        if !seen.insert(flag.as_str()) {
            outcome.repeated += 1;
            continue;
        }
        let found = named.binary_search_by(|(name, _)| name.as_ref().cmp(flag.as_str()));
        match found.ok().and_then(|i| named.get(i)).map(|(_, a)| *a) {
            None => outcome.unknown += 1,
            Some(a) if a.variant.is_none() => outcome.unassigned += 1,
            Some(a) => {
                let at = skew_corrected(received_ms, send_ms, apply_ms.unwrap_or(send_ms));
                // Never before the flags were resolved.
                let at = at.max(outcome.claims.resolved_at_ms.max(0) as u64);
                outcome.applied.push((a.clone(), at));
            }
        }
    }
    Ok(outcome)
}

/// The exposure events of assignments a client used (an apply, or a
/// resolve with `apply: true`), through the exposure log's seam
/// ([`crate::exposure::event::events`]). `sdk` is the request's SDK (an
/// apply's own, else the resolve's); each item is an assignment with its
/// exposure time (Unix ms). The event's `assignment` is
/// `{rule}:{assignment id}` (a Vane rule's `rules[{index}]`, as on OFREP). A flag assigned after falling through rules
/// yields one more event per fall-through (`fallthrough: true`, that rule's
/// assignment and unit, the variant finally served); a flag without a
/// variant yields none.
pub fn events<'a>(
    claims: &Claims,
    source: Source,
    sdk: Option<String>,
    used: impl IntoIterator<Item = (&'a TokenAssignment, u64)>,
) -> Vec<Event> {
    let meta = RequestMeta {
        tenant: claims.tenant.clone(),
        source,
        resolve_id: claims.resolve_id.clone(),
        snapshot_version: claims.snapshot_version,
        snapshot_digest: claims.snapshot_digest.clone(),
        client: Some(claims.client.clone()),
        sdk: sdk.or_else(|| claims.sdk.clone()),
        evaluated_at_ms: claims.resolved_at_ms.max(0) as u64,
    };
    let served = used.into_iter().flat_map(|(a, exposed_at_ms)| {
        let Some(variant) = a.variant.clone() else {
            return Vec::new();
        };
        let assigned = Served {
            flag: a.flag.clone(),
            variant: variant.clone(),
            reason: a.reason.clone(),
            assignment: match &a.assignment_id {
                Some(id) => format!("{}:{id}", a.rule.as_deref().unwrap_or_default()),
                None => a.rule.clone().unwrap_or_default(),
            },
            unit: a.unit.clone().unwrap_or_default(),
            unit_source: a
                .unit_source
                .clone()
                .unwrap_or_else(|| "targeting_key".into()),
            weights: a
                .weights
                .iter()
                .map(|(variant, weight)| Weight {
                    variant: variant.clone(),
                    weight: *weight,
                })
                .collect(),
            exposed_at_ms,
            attributes: a.attributes.clone(),
            holdout: a.holdout.clone(),
            fallthrough: false,
        };
        // Each rule fallen through on the way is an exposure of its own
        // experiment: the unit, in that rule's fall-through assignment,
        // used the variant the later rule gave.
        let fallen = a.fallthroughs.iter().map(|t| Served {
            assignment: format!("{}:{}", t.rule, t.assignment_id),
            unit: t.unit.clone(),
            unit_source: t.unit_source.clone(),
            weights: vec![Weight {
                variant: variant.clone(),
                weight: t.buckets,
            }],
            fallthrough: true,
            ..assigned.clone()
        });
        let mut out: Vec<Served> = fallen.collect();
        out.insert(0, assigned);
        out
    });
    crate::exposure::event::events(&meta, served)
}

/// The answer to an apply: `{}` with the counters in `X-Vane-Apply`.
pub fn answer(outcome: Option<&ApplyOutcome>) -> Reply {
    let reply = Reply::json(200, &Map::new());
    match outcome {
        Some(o) => reply.with_header("x-vane-apply", o.header()),
        None => reply.with_header(
            "x-vane-apply",
            "applied=0 unknown=0 unassigned=0 repeated=0",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confidence::token::{TokenAssignment, NONCE_BYTES, TOKEN_TTL_SECONDS};
    use serde_json::json;

    const RESOLVED_MS: u64 = 1_796_117_400_000; // 2026-12-01T09:30:00Z

    fn key() -> TokenKey {
        TokenKey::from_secret("dev-resolve-token-key-not-secret").unwrap()
    }

    fn assignment(flag: &str, variant: Option<&str>) -> TokenAssignment {
        TokenAssignment {
            flag: flag.into(),
            reason: if variant.is_some() {
                "RESOLVE_REASON_MATCH"
            } else {
                "RESOLVE_REASON_NO_SEGMENT_MATCH"
            }
            .into(),
            variant: variant.map(Into::into),
            rule: variant.map(|_| format!("{flag}/rules/r1")),
            assignment_id: variant.map(|_| "a1".into()),
            unit: Some("user-1".into()),
            unit_source: Some("targeting_key".into()),
            weights: vec![],
            fallthroughs: vec![],
            evaluated: false,
            holdout: None,
            attributes: Default::default(),
        }
    }

    fn token(tenant: &str) -> String {
        let claims = Claims {
            tenant: tenant.into(),
            snapshot_digest: "cd".repeat(32),
            snapshot_version: 3,
            resolve_id: "r-1".into(),
            client: "clients/web".into(),
            sdk: None,
            resolved_at_ms: RESOLVED_MS as i64,
            expires_at: (RESOLVED_MS / 1000) as i64 + TOKEN_TTL_SECONDS,
            assignments: vec![
                assignment("flags/a", Some("flags/a/variants/on")),
                assignment("flags/b", Some("flags/b/variants/off")),
                assignment("flags/none", None),
                // A Vane flag: named `flags/new-search` in the answer.
                TokenAssignment {
                    evaluated: true,
                    ..assignment("new-search", Some("on"))
                },
            ],
        };
        key().seal(&claims, &[7; NONCE_BYTES])
    }

    fn body(token: &str, flags: &[(&str, &str)], send: &str) -> Vec<u8> {
        let flags: Vec<Value> = flags
            .iter()
            .map(|(f, t)| json!({"flag": f, "applyTime": t}))
            .collect();
        serde_json::to_vec(
            &json!({"clientSecret": "s", "resolve_token": token, "flags": flags, "sendTime": send}),
        )
        .unwrap()
    }

    #[test]
    fn the_web_sdk_body_parses() {
        let r = parse(&body(
            "tok",
            &[("flags/a", "2026-12-01T09:30:01.500Z")],
            "2026-12-01T09:30:02Z",
        ))
        .unwrap();
        assert_eq!(
            r,
            ApplyRequest {
                client_secret: "s".into(),
                resolve_token: "tok".into(),
                flags: vec![("flags/a".into(), Some(RESOLVED_MS + 1_500))],
                send_ms: Some(RESOLVED_MS + 2_000),
                sdk: None,
            }
        );
        let e = parse(br#"{"flags":[{"applyTime":"x"}]}"#).unwrap_err();
        assert_eq!(e.body_json()["message"], "flags[0].flag is missing");
        let e = parse(br#"{"flags":[{"flag":1}]}"#).unwrap_err();
        assert_eq!(
            e.body_json()["message"],
            "flags[0].flag must be a string, found number"
        );
        let e = parse(br#"{"flags":{}}"#).unwrap_err();
        assert_eq!(
            e.body_json()["message"],
            "flags must be an array, found object"
        );
    }

    #[test]
    fn apply_times_are_corrected_for_the_clients_clock() {
        // The client's clock is 1 h behind; it applied 750 ms before sending.
        let send = "2026-12-01T08:30:05.000Z";
        let apply_at = "2026-12-01T08:30:04.250Z";
        let received = RESOLVED_MS + 5_100;
        let request = parse(&body(&token("demo"), &[("flags/a", apply_at)], send)).unwrap();
        let o = apply(&key(), "demo", &request, received).unwrap();
        assert_eq!(o.applied.len(), 1);
        assert_eq!(o.applied[0].1, received - 750);
        assert_eq!(skew_corrected(10_000, 9_500, 9_000), 9_500);
        // Applied "after" it was sent: the send time.
        assert_eq!(skew_corrected(10_000, 9_000, 9_900 + 500), 10_000);
        // Never before the resolve, whatever the client says.
        let early = parse(&body(
            &token("demo"),
            &[("flags/a", "2026-12-01T07:00:00Z")],
            send,
        ))
        .unwrap();
        let o = apply(&key(), "demo", &early, received).unwrap();
        assert_eq!(o.applied[0].1, RESOLVED_MS);
    }

    #[test]
    fn unknown_unassigned_and_repeated_flags_are_skipped_and_counted() {
        let t = "2026-12-01T09:30:01Z";
        let request = parse(&body(
            &token("demo"),
            &[
                ("flags/a", t),
                ("flags/nope", t),
                ("flags/none", t),
                ("flags/a", t),
                ("flags/b", t),
                ("new-search", t),
                ("flags/new-search", t),
            ],
            t,
        ))
        .unwrap();
        let o = apply(&key(), "demo", &request, RESOLVED_MS + 1_000).unwrap();
        let flags: Vec<_> = o.applied.iter().map(|(a, _)| a.flag.as_str()).collect();
        assert_eq!(flags, ["flags/a", "flags/b", "new-search"]);
        assert_eq!((o.unknown, o.unassigned, o.repeated), (2, 1, 1));
        let answer = answer(Some(&o));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body_json(), json!({}));
        assert_eq!(
            answer.header("x-vane-apply"),
            Some("applied=3 unknown=2 unassigned=1 repeated=1")
        );
    }

    #[test]
    fn applied_assignments_become_exposure_events() {
        let t = "2026-12-01T09:30:01Z";
        let request = parse(&body(
            &token("demo"),
            &[("flags/a", t), ("flags/none", t)],
            t,
        ))
        .unwrap();
        let o = apply(&key(), "demo", &request, RESOLVED_MS + 1_000).unwrap();
        let used = o.applied.iter().map(|(a, at)| (a, *at));
        let events = events(
            &o.claims,
            Source::ConfidenceApply,
            Some("web@1".into()),
            used,
        );
        assert_eq!(events.len(), 1);
        let e = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(e["tenant"], "demo");
        assert_eq!(e["source"], "confidence-apply");
        assert_eq!(e["flag"], "flags/a");
        assert_eq!(e["variant"], "flags/a/variants/on");
        assert_eq!(e["assignment"], "flags/a/rules/r1:a1");
        assert_eq!(e["unit"], "user-1");
        assert_eq!(e["unit_source"], "targeting_key");
        assert_eq!(e["resolve_id"], "r-1");
        assert_eq!(e["snapshot_version"], 3);
        assert_eq!(e["client"], "clients/web");
        assert_eq!(e["sdk"], "web@1");
        assert_eq!(e["evaluated_at"], "2026-12-01T09:30:00.000Z");
        assert_eq!(e["exposed_at"], "2026-12-01T09:30:01.000Z");
    }

    #[test]
    fn tokens_that_do_not_open_are_400s_that_say_why() {
        let t = "2026-12-01T09:30:01Z";
        let for_shop = parse(&body(&token("shop"), &[("flags/a", t)], t)).unwrap();
        let e = apply(&key(), "demo", &for_shop, RESOLVED_MS).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.body_json()["message"],
            "resolve token was issued for another tenant than the client secret's"
        );
        let late = RESOLVED_MS + (TOKEN_TTL_SECONDS as u64 + 1) * 1000;
        let request = parse(&body(&token("demo"), &[("flags/a", t)], t)).unwrap();
        let e = apply(&key(), "demo", &request, late).unwrap_err();
        assert!(e.body_json()["message"]
            .as_str()
            .unwrap()
            .starts_with("resolve token expired at"));
        let mut forged = token("demo").into_bytes();
        forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
        let request = parse(&body(
            std::str::from_utf8(&forged).unwrap(),
            &[("flags/a", t)],
            t,
        ))
        .unwrap();
        let e = apply(&key(), "demo", &request, RESOLVED_MS).unwrap_err();
        assert_eq!(
            e.body_json()["message"],
            "resolve token does not authenticate: it was altered or not issued by this worker"
        );
    }
}
