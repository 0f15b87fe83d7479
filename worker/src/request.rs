//! The request as the pipelines see it, independent of the Workers runtime:
//! method, path, query and headers ([`RequestHead`]), and the body as a
//! stream of chunks ([`BodyStream`]) that is read only up to a limit
//! ([`read_body`]), so no body, chunked or not, is ever held whole in memory
//! beyond its route's limit + 1 chunk.

use crate::error::ApiError;

/// Method, path, query and headers of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// HTTP method, upper case.
    pub method: String,
    /// URL path as received (percent-encoded).
    pub path: String,
    /// Raw query string without `?`, if any.
    pub query: Option<String>,
    /// Header names (lowercase) and values, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first value of a header (`name` in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The declared `Content-Length`, when present and a number.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }
}

/// A request body arriving in chunks.
#[allow(async_fn_in_trait)] // one thread per isolate: futures need not be Send
pub trait BodyStream {
    /// The next chunk; `None` at the end. Errors: the runtime's message
    /// when the stream fails (the caller logs it).
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, String>;
}

/// Reads a whole body of at most `limit` bytes. A declared
/// `Content-Length` over the limit is refused before anything is read;
/// otherwise chunks are read until the end or until more than `limit` bytes
/// arrived, when reading stops.
///
/// Errors: [`ApiError::PayloadTooLarge`] (413) over the limit;
/// [`ApiError::UnreadableBody`] (400) when the stream fails, its message
/// going to the log through `on_stream_error`.
pub async fn read_body<B: BodyStream>(
    head: &RequestHead,
    body: &mut B,
    limit: usize,
    on_stream_error: impl FnOnce(String),
) -> Result<Vec<u8>, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = head.content_length().unwrap_or(0);
    if declared > limit as u64 {
        return Err(too_large);
    }
    let mut out = Vec::with_capacity(declared as usize);
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) => {
                if chunk.len() > limit - out.len() {
                    return Err(too_large);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(message) => {
                on_stream_error(message);
                return Err(ApiError::UnreadableBody);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{block_on, Chunks};

    fn head(content_length: Option<&str>) -> RequestHead {
        RequestHead {
            method: "POST".into(),
            path: "/".into(),
            query: None,
            headers: content_length
                .map(|v| vec![("content-length".into(), v.into())])
                .unwrap_or_default(),
        }
    }

    #[test]
    fn reads_up_to_the_limit_and_stops_after_it() {
        let read = |declared, chunks: &[usize]| {
            let mut body = Chunks::sized(chunks);
            let got = block_on(read_body(&head(declared), &mut body, 10, |_| {}));
            (got.map(|b| b.len()), body.chunks_read())
        };
        assert_eq!(read(None, &[]), (Ok(0), 1));
        assert_eq!(read(None, &[4, 6]), (Ok(10), 3));
        let too_large = Err(ApiError::PayloadTooLarge { limit: 10 });
        // limit + 1 in any chunking is refused, and nothing after the chunk
        // that crossed the limit is read.
        assert_eq!(read(None, &[11]), (too_large.clone(), 1));
        assert_eq!(read(None, &[10, 1, 1000, 1000]), (too_large.clone(), 2));
        // A declared length over the limit is refused before reading.
        assert_eq!(read(Some("11"), &[1]), (too_large.clone(), 0));
        // A lying Content-Length does not help.
        assert_eq!(read(Some("3"), &[5, 6]), (too_large, 2));
    }

    #[test]
    fn a_failing_stream_is_unreadable_and_logged() {
        let mut body = Chunks::failing_after(&[3], "connection reset");
        let mut logged = None;
        let got = block_on(read_body(&head(None), &mut body, 10, |m| logged = Some(m)));
        assert_eq!(got, Err(ApiError::UnreadableBody));
        assert_eq!(logged.as_deref(), Some("connection reset"));
    }
}
