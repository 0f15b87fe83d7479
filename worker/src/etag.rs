//! ETags for the OFREP bulk endpoint and `If-None-Match` matching.
//!
//! The tag is `"{digest prefix}-{hash}"`: the first 12 hex digits of the
//! snapshot digest, then 32 hex digits of
//! `sha256(digest ‖ 0x00 ‖ canonical context ‖ 0x00 ‖ response body)`.
//! The canonical context has object keys in byte order and no whitespace, so
//! the caller's key order and formatting do not change the tag, while another
//! snapshot or another context always does. The response body is hashed too
//! because evaluation also depends on the time (rule windows,
//! `$flagd.timestamp`): a 304 is only ever sent when the caller already holds
//! exactly the body it would get now.

use serde_json::Value;
use vane_resolver::snapshot::{hex, sha256};

/// Writes `value` as canonical JSON: object keys sorted by their UTF-8 bytes,
/// no whitespace, strings and numbers as serde_json writes them.
pub fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The ETag of a bulk answer (quoted, strong): see the module docs.
/// `digest` is the snapshot digest in lowercase hex, `context` the normalised
/// evaluation context, `body` the exact response body.
pub fn bulk_etag(digest: &str, context: &Value, body: &[u8]) -> String {
    let mut canonical = String::new();
    canonical_json(context, &mut canonical);
    let mut input = Vec::with_capacity(digest.len() + canonical.len() + body.len() + 2);
    input.extend_from_slice(digest.as_bytes());
    input.push(0);
    input.extend_from_slice(canonical.as_bytes());
    input.push(0);
    input.extend_from_slice(body);
    let hash = sha256(&input);
    let prefix = digest.get(..12).unwrap_or(digest);
    format!("\"{prefix}-{}\"", hex(&hash[..16]))
}

/// True when an `If-None-Match` header value lists `etag` (RFC 9110
/// section 13.1.2): any listed entity tag equal to it under the weak
/// comparison (a `W/` prefix is ignored). `*` matches nothing here: it
/// asks "does any representation exist", which RFC 9110 answers for a
/// POST with 412, not 304; OFREP's bulk POST uses `If-None-Match` only to
/// revalidate a body the caller holds, so `*` gets the full 200 answer
/// (`docs/http-api.md`).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let strip = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_owned()
    };
    let etag = strip(etag);
    header.split(',').any(|t| strip(t) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v: Value = serde_json::from_str(
            r#"{ "b": [ {"y": 1, "x": "é"} ], "a": null, "c": {"z":true,"a":1.5} }"#,
        )
        .unwrap();
        let mut s = String::new();
        canonical_json(&v, &mut s);
        assert_eq!(
            s,
            r#"{"a":null,"b":[{"x":"é","y":1}],"c":{"a":1.5,"z":true}}"#
        );
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_tag() {
        let a: Value = serde_json::from_str(r#"{"targetingKey":"u1","plan":"pro"}"#).unwrap();
        let b: Value =
            serde_json::from_str("{ \"plan\" : \"pro\",\n \"targetingKey\":\"u1\" }").unwrap();
        assert_eq!(bulk_etag(DIGEST, &a, b"{}"), bulk_etag(DIGEST, &b, b"{}"));
    }

    #[test]
    fn snapshot_context_and_body_each_change_the_tag() {
        let ctx = json!({"targetingKey": "u1"});
        let base = bulk_etag(DIGEST, &ctx, b"{}");
        assert!(base.starts_with("\"8f434346648f-"));
        assert_eq!(base.len(), 1 + 12 + 1 + 32 + 1);
        let other_digest = DIGEST.replace('8', "9");
        assert_ne!(base, bulk_etag(&other_digest, &ctx, b"{}"));
        assert_ne!(
            base,
            bulk_etag(DIGEST, &json!({"targetingKey": "u2"}), b"{}")
        );
        assert_ne!(base, bulk_etag(DIGEST, &ctx, b"{\"flags\":[]}"));
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(if_none_match("\"a-1\"", "\"a-1\""));
        assert!(if_none_match("\"x\", W/\"a-1\"", "\"a-1\""));
        assert!(
            !if_none_match("*", "\"a-1\""),
            "* is no revalidation (412 per RFC 9110, here 200)"
        );
        assert!(!if_none_match(" * ", "\"a-1\""));
        assert!(!if_none_match("\"a-2\"", "\"a-1\""));
        assert!(!if_none_match("", "\"a-1\""));
    }
}
