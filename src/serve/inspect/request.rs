//! One request as the inspector keeps it: its bytes copied out of the handler's borrowed parts
//! into one allocation made to size, read only when the page asks.

use crate::protocol::param;
use crate::serve::head::Head;
use bytes::Bytes;
use std::num::NonZeroU64;

/// The header the inspector's own replays carry, so that their rows are marked as replays.
pub(super) const REPLAY_HEADER: &str = "x-oa-hook-replay";

/// Headers kept of one request, and the bytes kept of each value: enough to read a callback's,
/// little for a hostile one.
const HEADERS_KEPT: usize = 64;
const HEADER_VALUE_KEPT: usize = 1024;

/// One request as it came, copied out of the handler's borrowed parts.
pub(in crate::serve) struct Request {
    /// When it arrived, in ms since the epoch.
    pub(super) at_ms: i64,
    /// The method, the path and query, the headers as `name: value` lines, then the body: one
    /// allocation, made to size, whose parts end at `ends`. The query leaves out `Sign`, which
    /// nothing shows (the record line and the row leave it out, as the record does).
    pub(super) bytes: Box<[u8]>,
    /// Where the method, the path and query, and the headers end in `bytes`; the body
    /// follows. No method for a request the HTTP library refused before serve read its head.
    ends: [u32; 3],
    /// The size of the body as received (a large refused one is kept cut short).
    pub(super) body_len: usize,
    /// The replay this request is, when the inspector sent it ([`REPLAY_HEADER`]).
    pub(super) marker: Option<NonZeroU64>,
}

impl Request {
    /// The request of `head` with `body`, which arrived at `at_ms`. Its bytes are copied, not
    /// read: this runs for every request kept. Header names are kept in lower case.
    pub(in crate::serve) fn of(head: &Head, at_ms: i64, body: Bytes) -> Self {
        let method = head.method().as_str();
        let path = head.path();
        let pairs = head
            .query()
            .map(|query| query.split('&').filter(|pair| !is_sign(pair)));
        let headers = || {
            head.fields()
                .take(HEADERS_KEPT)
                .map(|(name, value)| (name, &value[..value.len().min(HEADER_VALUE_KEPT)]))
        };
        // `?` and each pair with the `&` before it (or the `?`).
        let query_len = pairs.clone().map_or(0, |pairs| {
            pairs.map(|pair| pair.len() + 1).sum::<usize>().max(1)
        });
        let target_end = method.len() + path.len() + query_len;
        let head_end = target_end
            + headers()
                .map(|(name, value)| name.len() + value.len() + 3)
                .sum::<usize>();
        let ends = [method.len(), target_end, head_end];
        let mut bytes = Vec::with_capacity(ends[2] + body.len());
        bytes.extend_from_slice(method.as_bytes());
        bytes.extend_from_slice(path.as_bytes());
        if let Some(pairs) = pairs {
            bytes.push(b'?');
            for (i, pair) in pairs.enumerate() {
                if i > 0 {
                    bytes.push(b'&');
                }
                bytes.extend_from_slice(pair.as_bytes());
            }
        }
        let mut marker = None;
        for (name, value) in headers() {
            if name.eq_ignore_ascii_case(REPLAY_HEADER.as_bytes()) {
                marker = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            let at = bytes.len();
            bytes.extend_from_slice(name);
            bytes[at..].make_ascii_lowercase();
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&body);
        Request {
            at_ms,
            bytes: bytes.into_boxed_slice(),
            ends: ends.map(offset),
            body_len: body.len(),
            marker,
        }
    }

    /// A request the HTTP library refused before serve read it: nothing of it is known.
    pub(in crate::serve) fn unread(at_ms: i64) -> Self {
        Request {
            at_ms,
            bytes: Box::default(),
            ends: [0; 3],
            body_len: 0,
            marker: None,
        }
    }

    fn slice(&self, start: u32, end: u32) -> &[u8] {
        self.bytes
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// The method as received: empty for a request whose head serve never read.
    pub(super) fn method(&self) -> &str {
        std::str::from_utf8(self.slice(0, self.ends[0])).unwrap_or_default()
    }

    /// The path and query (a URI's: ASCII), without `Sign`.
    pub(super) fn target(&self) -> &str {
        std::str::from_utf8(self.slice(self.ends[0], self.ends[1])).unwrap_or_default()
    }

    /// The headers, as `name: value` lines.
    pub(super) fn head(&self) -> &[u8] {
        self.slice(self.ends[1], self.ends[2])
    }

    pub(super) fn body(&self) -> &[u8] {
        self.bytes.get(self.ends[2] as usize..).unwrap_or_default()
    }

    pub(super) fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    pub(super) fn query(&self) -> &str {
        self.target().split_once('?').map_or("", |(_, query)| query)
    }

    /// `-` for a request whose head serve never read, as its record line says.
    pub(super) fn shown_method(&self) -> &str {
        match self.method() {
            "" => "-",
            method => method,
        }
    }

    pub(super) fn shown_path(&self) -> &str {
        if self.method().is_empty() {
            "-"
        } else {
            self.path()
        }
    }

    /// Cuts the body to its first `len` bytes.
    pub(super) fn cut_body(&mut self, len: usize) {
        let end = self.ends[2] as usize + len;
        if end < self.bytes.len() {
            self.bytes = self.bytes[..end].into();
        }
    }
}

/// Whether a pair of a query is the `Sign`.
fn is_sign(pair: &str) -> bool {
    pair.split_once('=').map_or(pair, |(name, _)| name) == param::SIGN
}

/// An offset into a request kept: its head is within hyper's limits and its body within
/// serve's, far below 4 GiB.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_query_leaves_out_the_sign() {
        let (parts, ()) = axum::http::Request::post("/im?SdkAppid=1&Sign=abc&RequestTime=2")
            .header("content-type", "application/json")
            .body(())
            .expect("a request")
            .into_parts();
        let request = Request::of(&Head::from(parts), 0, Bytes::from_static(b"{}"));
        assert_eq!(request.method(), "POST");
        assert_eq!(request.target(), "/im?SdkAppid=1&RequestTime=2");
        assert_eq!(request.head(), b"content-type: application/json\n");
        assert_eq!(request.body(), b"{}");
        assert_eq!(request.bytes.len(), 4 + 28 + 31 + 2);
    }
}
