//! OFREP evaluation over HTTP, per the OFREP OpenAPI 0.3.0
//! (`conformance/ofrep/openapi.yaml`): request bodies become a
//! [`Context`], resolver results become replies with the statuses the spec
//! gives them.
//!
//! | outcome | single flag | bulk |
//! |---|---|---|
//! | evaluated | 200 `evaluationSuccess` | 200 `{"flags": [...], "metadata"?}` + `ETag` |
//! | flag-level failure | 400 `evaluationFailure` (404 `flagNotFound`) | inside `flags` |
//! | bad request body | 400 `evaluationFailure` | 400 `bulkEvaluationFailure` |
//! | `If-None-Match` lists the tag (`*` does not count) | — | 304, no body |
//!
//! The result objects are the resolver's own serialisation, so the worker
//! answers exactly what `vane eval` prints for the same snapshot and context.

use serde_json::{json, Value};
use vane_resolver::{Context, ContextError, ErrorCode, Snapshot, SnapshotInfo, MAX_CONTEXT_DEPTH};

use crate::etag::{bulk_etag, if_none_match};
use crate::exposure::batch::Outgoing;
use crate::exposure::ofrep::{single_flag_exposures, RequestFacts};
use crate::pipeline::{Clock, Timings};
use crate::reply::Reply;

/// Why a request body gives no context: an OpenFeature error code
/// (`PARSE_ERROR` or `INVALID_CONTEXT`) and a message for `errorDetails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// `PARSE_ERROR` when the body is not JSON, else `INVALID_CONTEXT`.
    pub code: ErrorCode,
    /// What is wrong, for `errorDetails`.
    pub details: String,
}

/// Reads the evaluation context from an OFREP request body
/// (`{"context": {...}}`). A missing or empty body, or a body without
/// `context`, is the empty context. `now` is the evaluation time in Unix
/// seconds.
///
/// Errors: `PARSE_ERROR` when the body is not JSON; `INVALID_CONTEXT` when it
/// is not an object, when `context` is not an object, nests deeper than
/// [`MAX_CONTEXT_DEPTH`], or has a non-string targeting key.
pub fn parse_context(body: &[u8], now: i64) -> Result<Context, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Context::empty(now));
    }
    let invalid = |details: String| BodyError {
        code: ErrorCode::InvalidContext,
        details,
    };
    // The body object is one level above the context; checked before parsing
    // so that nesting of any depth is refused without recursing into it.
    if nesting_depth(body) > MAX_CONTEXT_DEPTH + 1 {
        return Err(invalid(ContextError::TooDeep.to_string()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| BodyError {
        code: ErrorCode::ParseError,
        details: format!("request body is not valid JSON: {e}"),
    })?;
    let Value::Object(mut request) = value else {
        return Err(invalid(format!(
            "request body must be a JSON object like {{\"context\": {{...}}}}, found {}",
            vane_resolver::context::json_type(&value)
        )));
    };
    match request.remove("context") {
        None => Ok(Context::empty(now)),
        Some(context) => Context::from_value(context, now).map_err(|e| invalid(e.to_string())),
    }
}

/// Deepest nesting of objects and arrays in JSON text (0 for a scalar),
/// counting brackets outside strings. Linear, no recursion.
pub(crate) fn nesting_depth(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The `X-Vane-Snapshot` value: `{version}/{first 12 hex digits of the digest}`.
pub fn snapshot_header(info: &SnapshotInfo) -> String {
    let prefix = info.digest.get(..12).unwrap_or(&info.digest);
    format!("{}/{prefix}", info.version)
}

/// An OFREP answer and the error code it carries, if any (for the log and
/// the counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The answer.
    pub reply: Reply,
    /// Its `errorCode` (OpenFeature's), when it is a failure.
    pub error_code: Option<&'static str>,
    /// The queue messages of the exposures it made (a single flag served by
    /// a split, [`crate::exposure::ofrep`]), to send after the answer.
    pub exposures: Vec<Outgoing>,
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: 200 with the result, 404 for
/// `FLAG_NOT_FOUND`, 400 for any other error code or an unusable body.
/// `timings` gets the evaluation and serialisation times by `clock`;
/// `facts` go into the exposure, if the answer is one.
pub fn evaluate_one(
    snapshot: &Snapshot,
    key: &str,
    body: &[u8],
    now: i64,
    clock: &dyn Clock,
    timings: &mut Timings,
    facts: RequestFacts<'_>,
) -> Evaluated {
    let started = clock.now_ms();
    let mut exposures = Vec::new();
    let (reply, error_code) = match parse_context(body, now) {
        Err(e) => {
            timings.eval_ms = clock.now_ms() - started;
            let body = json!({"key": key, "errorCode": e.code.as_str(), "errorDetails": e.details});
            (Reply::json(400, &body), Some(e.code.as_str()))
        }
        Ok(context) => {
            let (result, exposure) = snapshot.evaluate_with_exposure(key, &context);
            let evaluated = clock.now_ms();
            timings.eval_ms = evaluated - started;
            let status = match result.error_code {
                None => 200,
                Some(ErrorCode::FlagNotFound) => 404,
                Some(_) => 400,
            };
            let reply = Reply::json(status, &result);
            timings.serialise_ms = clock.now_ms() - evaluated;
            exposures =
                single_flag_exposures(snapshot, &result, exposure.as_ref(), &context, facts);
            (reply, result.error_code.map(ErrorCode::as_str))
        }
    };
    Evaluated {
        reply: reply.with_header("x-vane-snapshot", snapshot_header(&snapshot.info)),
        error_code,
        exposures,
    }
}

/// `POST /ofrep/v1/evaluate/flags`: 200 with every flag and an `ETag`
/// ([`crate::etag`]), 304 without a body when `if_none_match_header`
/// matches that tag, 400 `bulkEvaluationFailure` for an unusable body.
/// `timings` gets the evaluation and serialisation (with ETag) times.
pub fn evaluate_all(
    snapshot: &Snapshot,
    body: &[u8],
    if_none_match_header: Option<&str>,
    now: i64,
    clock: &dyn Clock,
    timings: &mut Timings,
) -> Evaluated {
    let started = clock.now_ms();
    let (reply, error_code) = match parse_context(body, now) {
        Err(e) => {
            timings.eval_ms = clock.now_ms() - started;
            (
                Reply::error(400, e.code.as_str(), e.details),
                Some(e.code.as_str()),
            )
        }
        Ok(context) => {
            // Evaluation and writing the body are one pass (Snapshot::bulk_json).
            let body = snapshot.bulk_json(&context);
            let evaluated = clock.now_ms();
            timings.eval_ms = evaluated - started;
            let answer = Reply::json_bytes(200, body);
            let etag = bulk_etag(
                &snapshot.info.digest,
                context.object(),
                answer.body.as_deref().unwrap_or_default(),
            );
            let reply = match if_none_match_header {
                Some(h) if if_none_match(h, &etag) => Reply::empty(304).with_header("etag", etag),
                _ => answer.with_header("etag", etag),
            };
            timings.serialise_ms = clock.now_ms() - evaluated;
            (reply, None)
        }
    };
    Evaluated {
        reply: reply.with_header("x-vane-snapshot", snapshot_header(&snapshot.info)),
        error_code,
        // A bulk fetch is a prefetch: it exposes nothing.
        exposures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{snapshot, snapshot_bytes, StepClock, SHOP};
    use vane_resolver::model::KeyDigest;

    /// Request facts of a caller whose key is no client's.
    fn facts() -> RequestFacts<'static> {
        static DIGEST: KeyDigest = KeyDigest([0; 32]);
        RequestFacts {
            request_id: "r",
            key_digest: &DIGEST,
            user_agent: None,
            now_ms: 0,
        }
    }

    fn one(snapshot: &Snapshot, key: &str, body: &[u8]) -> Reply {
        evaluate_one(
            snapshot,
            key,
            body,
            0,
            &StepClock::default(),
            &mut Timings::default(),
            facts(),
        )
        .reply
    }

    fn all(snapshot: &Snapshot, body: &[u8], if_none_match: Option<&str>) -> Reply {
        let clock = StepClock::default();
        evaluate_all(
            snapshot,
            body,
            if_none_match,
            0,
            &clock,
            &mut Timings::default(),
        )
        .reply
    }

    #[test]
    fn evaluation_and_serialisation_are_timed_apart() {
        let snap = snapshot(SHOP, 3);
        let mut timings = Timings::default();
        let clock = StepClock::default();
        let answer = evaluate_one(&snap, "banner-text", b"", 0, &clock, &mut timings, facts());
        assert!(answer.exposures.is_empty(), "a static flag exposes nothing");
        assert_eq!((timings.eval_ms, timings.serialise_ms), (1.0, 1.0));
        let mut timings = Timings::default();
        let answer = evaluate_all(&snap, b"nope", None, 0, &clock, &mut timings);
        assert_eq!(answer.error_code, Some("PARSE_ERROR"));
        assert_eq!((timings.eval_ms, timings.serialise_ms), (1.0, 0.0));
    }

    #[test]
    fn empty_or_missing_body_is_the_empty_context() {
        for body in [&b""[..], b"  \n", b"{}", b"{\"other\":1}"] {
            let c = parse_context(body, 7).unwrap();
            assert_eq!(c.object(), &json!({}));
            assert_eq!(c.now(), 7);
        }
        let c = parse_context(br#"{"context":{"targeting_key":"u1"}}"#, 0).unwrap();
        assert_eq!(c.targeting_key(), Some("u1"));
    }

    #[test]
    fn body_errors_map_to_parse_error_and_invalid_context() {
        let e = parse_context(b"{\"context\":", 0).unwrap_err();
        assert_eq!(e.code, ErrorCode::ParseError);
        assert!(
            e.details.starts_with("request body is not valid JSON: EOF"),
            "{}",
            e.details
        );
        let e = parse_context(b"[1]", 0).unwrap_err();
        assert_eq!(
            (e.code, e.details.as_str()),
            (
                ErrorCode::InvalidContext,
                "request body must be a JSON object like {\"context\": {...}}, found array"
            )
        );
        let e = parse_context(br#"{"context":"u1"}"#, 0).unwrap_err();
        assert_eq!(
            (e.code, e.details.as_str()),
            (
                ErrorCode::InvalidContext,
                "context must be a JSON object, found string"
            )
        );
        let e = parse_context(br#"{"context":{"targetingKey":1}}"#, 0).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidContext);
    }

    fn nested_body(context_depth: usize) -> String {
        format!(
            "{{\"context\":{}1{}}}",
            "{\"a\":".repeat(context_depth),
            "}".repeat(context_depth)
        )
    }

    #[test]
    fn context_depth_limit_is_32() {
        assert!(parse_context(nested_body(32).as_bytes(), 0).is_ok());
        for depth in [33, 200, 100_000] {
            let e = parse_context(nested_body(depth).as_bytes(), 0).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidContext, "depth {depth}");
            assert_eq!(e.details, ContextError::TooDeep.to_string());
        }
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert_eq!(nesting_depth(br#"{"a":"[[{{\"}}","b":[1,[2]]}"#), 3);
        assert_eq!(nesting_depth(b"1"), 0);
    }

    #[test]
    fn single_flag_statuses() {
        let snap = snapshot(SHOP, 3);
        let ok = one(&snap, "banner-text", b"");
        assert_eq!(ok.status, 200);
        assert_eq!(
            ok.body_json(),
            json!({"key":"banner-text","value":"Welcome","reason":"STATIC","variant":"plain","metadata":{}})
        );
        assert_eq!(
            ok.header("x-vane-snapshot"),
            Some(snapshot_header(&snap.info).as_str())
        );
        assert!(snapshot_header(&snap.info).starts_with("3/"));
        assert_eq!(snapshot_header(&snap.info).len(), 2 + 12);

        let missing = one(&snap, "nope", b"");
        assert_eq!(missing.status, 404);
        assert_eq!(missing.body_json()["errorCode"], "FLAG_NOT_FOUND");

        let bad = one(&snap, "banner-text", b"{\"context\":[]}");
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.body_json(),
            json!({"key":"banner-text","errorCode":"INVALID_CONTEXT",
                   "errorDetails":"context must be a JSON object, found array"})
        );

        let broken = one(&snap, "broken", b"");
        assert_eq!(broken.status, 400);
        assert_eq!(broken.body_json()["errorCode"], "PARSE_ERROR");
    }

    #[test]
    fn bulk_etag_and_304() {
        let snap = snapshot(SHOP, 3);
        let body = br#"{"context":{"targetingKey":"u1","plan":"pro"}}"#;
        let first = all(&snap, body, None);
        assert_eq!(first.status, 200);
        let etag = first.header("etag").unwrap().to_owned();
        let flags = first.body_json()["flags"].clone();
        assert_eq!(flags.as_array().unwrap().len(), snap.flag_count());
        assert_eq!(
            first.body_json(),
            serde_json::to_value(snap.evaluate_bulk(&parse_context(body, 0).unwrap())).unwrap()
        );

        let reordered = b"{ \"context\": { \"plan\": \"pro\", \"targetingKey\": \"u1\" } }";
        let again = all(&snap, reordered, Some(&etag));
        assert_eq!(again.status, 304);
        assert_eq!(again.body, None);
        assert_eq!(again.header("etag"), Some(etag.as_str()));

        // `*` is no revalidation of a held body: the full answer.
        let star = all(&snap, body, Some("*"));
        assert_eq!(
            (star.status, star.header("etag")),
            (200, Some(etag.as_str()))
        );
        assert_eq!(star.body_json(), first.body_json());

        let other = all(&snap, br#"{"context":{"targetingKey":"u2"}}"#, Some(&etag));
        assert_eq!(other.status, 200);
        assert_ne!(other.header("etag"), Some(etag.as_str()));

        let newer = Snapshot::from_bytes(&snapshot_bytes(SHOP, 4, "Hello")).unwrap();
        let moved = all(&newer, body, Some(&etag));
        assert_eq!(moved.status, 200);
        assert_ne!(moved.header("etag"), Some(etag.as_str()));
    }

    #[test]
    fn bulk_body_errors_are_bulk_failures() {
        let snap = snapshot(SHOP, 3);
        let r = all(&snap, b"not json", None);
        assert_eq!(r.status, 400);
        let body = r.body_json();
        assert_eq!(body["errorCode"], "PARSE_ERROR");
        assert!(body.get("key").is_none());
        assert!(r.header("etag").is_none());
    }
}
