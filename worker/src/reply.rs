//! The response every handler returns, independent of the Workers runtime:
//! a status, headers and an optional body. [`crate::runtime`] turns it into
//! a `worker::Response`; native tests inspect it directly.
//!
//! Every reply is JSON (`Content-Type: application/json`) but the snapshot
//! bytes of [`Reply::cbor`], and none is cacheable
//! by intermediaries (`Cache-Control: no-store`): answers depend on the
//! caller's key and context, and bulk revalidation goes through the ETag
//! (see [`crate::etag`]), not through HTTP caches.

use serde::Serialize;
use serde_json::json;

/// A response: status, headers (in insertion order, names lowercase) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lowercase, each at most once: [`Reply::set_header`]
    /// replaces, and `worker/entry.mjs` hands them to the `Response` as one
    /// record) and values.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes; `None` for 204 and 304.
    pub body: Option<Vec<u8>>,
}

impl Reply {
    /// A JSON reply with the standard headers. Serialising a `Serialize` value
    /// made of maps, strings and numbers cannot fail; should it, the body is
    /// `null` rather than a panic.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Reply::standard(status, Some(body))
    }

    /// A JSON reply whose body is already written (the OFREP bulk body,
    /// `Snapshot::bulk_json`), with the standard headers.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Reply {
        Reply::standard(status, Some(body))
    }

    /// A CBOR reply (`Content-Type: application/cbor`): snapshot bytes.
    pub fn cbor(status: u16, body: Vec<u8>) -> Reply {
        Reply::standard(status, Some(body)).with_header("content-type", "application/cbor")
    }

    /// A reply without a body (204 preflight, 304 not modified), still with
    /// the standard headers.
    pub fn empty(status: u16) -> Reply {
        Reply::standard(status, None)
    }

    /// An error body: `{"errorCode": code, "errorDetails": details}`, the
    /// shape of OFREP's `bulkEvaluationFailure` (and of its
    /// `generalErrorResponse`). Vane's own errors are built by
    /// [`crate::error::ApiError::reply`]; OFREP's bulk body errors here too.
    pub fn error(status: u16, code: &str, details: impl Into<String>) -> Reply {
        Reply::json(
            status,
            &json!({"errorCode": code, "errorDetails": details.into()}),
        )
    }

    fn standard(status: u16, body: Option<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "no-store".to_owned()),
            ],
            body,
        }
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub fn set_header(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
    }

    /// Builder form of [`Reply::set_header`].
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.set_header(name, value);
        self
    }

    /// The value of a header, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when there is none or it is not JSON).
    #[cfg(test)]
    pub fn body_json(&self) -> serde_json::Value {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_are_json_with_code_and_details() {
        let r = Reply::error(401, "UNAUTHORIZED", "no client key");
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(
            r.body_json(),
            json!({"errorCode": "UNAUTHORIZED", "errorDetails": "no client key"})
        );
    }

    #[test]
    fn set_header_replaces() {
        let r = Reply::empty(304)
            .with_header("etag", "\"a\"")
            .with_header("etag", "\"b\"");
        assert_eq!(r.header("etag"), Some("\"b\""));
        assert_eq!(r.headers.iter().filter(|(n, _)| *n == "etag").count(), 1);
        assert_eq!(r.body, None);
    }
}
