//! One kept HTTP/1.1 connection to a plain-HTTP target, on hyper alone: where it goes, how it
//! opens, and how an answer is read on it, bounded.

use super::error::describe;
use super::error::explain_unreachable;
use super::{Exchange, TransportError};
use crate::protocol::MAX_BODY_BYTES;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use reqwest::header::{HeaderMap, HeaderValue};
use std::time::{Duration, Instant};
use url::{Position, Url};

/// The answer's body as read so far: at most [`MAX_BODY_BYTES`], the rest left unread.
pub(super) struct BoundedBody {
    bytes: Vec<u8>,
    truncated: bool,
}

impl BoundedBody {
    /// Sized for the announced length, so that a typical answer is one allocation.
    pub(super) fn expecting(length: Option<u64>) -> Self {
        let expected = usize::try_from(length.unwrap_or(0)).unwrap_or(MAX_BODY_BYTES);
        BoundedBody {
            bytes: Vec::with_capacity(expected.min(MAX_BODY_BYTES)),
            truncated: false,
        }
    }

    /// Takes the next chunk; `false` once the answer is too long to read further.
    pub(super) fn push(&mut self, chunk: &[u8]) -> bool {
        if self.bytes.len() + chunk.len() > MAX_BODY_BYTES {
            self.truncated = true;
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    pub(super) fn into_exchange(self, status: u16, headers: HeaderMap, start: Instant) -> Exchange {
        Exchange {
            status,
            headers,
            body: self.bytes,
            truncated: self.truncated,
            latency: start.elapsed(),
        }
    }
}

/// Where [`Connection`]s to a plain-HTTP target go, worked out once so that (re)connecting
/// parses and formats nothing.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// The host to connect to; an IPv6 address without its brackets.
    pub(super) host: String,
    pub(super) port: u16,
    /// Host, and port unless it is the default, as the `Host` header carries them.
    pub(super) host_header: HeaderValue,
    /// host:port, as transport errors name the target.
    pub(super) name: String,
}

impl Endpoint {
    /// The endpoint of a plain `http://` URL; `None` for HTTPS, and for a URL with
    /// credentials, whose Basic auth only [`Pool`] sends.
    pub(super) fn http(url: &Url) -> Option<Endpoint> {
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let host = match url.host()? {
            url::Host::Ipv6(ip) => ip.to_string(),
            other => other.to_string(),
        };
        Some(Endpoint {
            host,
            port: url.port_or_known_default()?,
            host_header: HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort])
                .ok()?,
            name: describe(url),
        })
    }
}

/// `url` as an HTTP/1.1 request line carries it to the origin server: path and query.
pub(super) fn request_target(url: &Url) -> Result<Uri, TransportError> {
    Uri::try_from(&url[Position::BeforePath..Position::AfterQuery]).map_err(|e| {
        TransportError::Unreachable {
            message: format!("the URL cannot go on an HTTP request line: {e}"),
            hint: "check the path and query of --url".to_owned(),
        }
    })
}

/// One HTTP/1.1 connection held open across requests, as Chat keeps them: hyper's
/// connection-level client with no pool, so that nothing reconnects behind the sender's back
/// (`check` catches a backend that closes connections) and a request costs no more than the
/// exchange itself.
pub(super) struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connects to `endpoint` within `timeout`.
    pub(super) async fn open(
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let fail = |e: &(dyn std::error::Error + 'static)| explain_unreachable(e, &endpoint.name);
        let connect = async {
            let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
                .await
                .map_err(|e| fail(&e))?;
            // One small request, then a wait for its answer: Nagle would only delay it. A
            // socket that refuses the option still works, so that failure is not one.
            let _ = stream.set_nodelay(true);
            let (sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| fail(&e))?;
            // The connection runs until the backend closes it or `sender` is dropped; its
            // errors reach the next request through `sender`.
            tokio::spawn(connection);
            Ok(sender)
        };
        let sender = tokio::time::timeout(timeout, connect).await.map_err(|_| {
            TransportError::Unreachable {
                message: format!(
                    "cannot connect to {} within {}",
                    endpoint.name,
                    humantime::format_duration(timeout)
                ),
                hint: "check --url and that the backend is reachable".to_owned(),
            }
        })??;
        Ok(Connection { sender })
    }

    /// Whether the connection may take another request: `false` once the backend has closed
    /// it. A close still on its way is only noticed by the next request.
    pub(super) fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// POSTs `body` as JSON to `target` (see [`request_target`]) on `endpoint`, with `headers`
    /// ([`callback_headers`](super::callback_headers) for `body`), and reads the answer as
    /// [`Connection::send`] does.
    pub(super) async fn post(
        &mut self,
        endpoint: &Endpoint,
        target: Uri,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Exchange, TransportError> {
        let request = request(hyper::Method::POST, target, headers, body);
        self.send(request, &endpoint.name, timeout).await
    }

    /// Sends `request` to the target called `name` and reads the answer, at most
    /// [`MAX_BODY_BYTES`] of it, within `timeout`. After an error the connection is in an
    /// unknown state (hyper closes it when a request is abandoned); an `Unreachable` error
    /// says the request was not sent.
    pub(super) async fn send(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
        name: &str,
        timeout: Duration,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|_| TransportError::closed_before_sending(name))?;
            let response = self.sender.send_request(request).await.map_err(|e| {
                if e.is_canceled() {
                    TransportError::closed_before_sending(name)
                } else {
                    TransportError::broken(&e)
                }
            })?;
            let (parts, mut incoming) = response.into_parts();
            let mut body = BoundedBody::expecting(incoming.size_hint().exact());
            while let Some(frame) = incoming.frame().await {
                // Trailers, the only other kind of frame, are no part of the body.
                let chunk = frame
                    .map_err(|e| TransportError::broken(&e))?
                    .into_data()
                    .unwrap_or_default();
                if !body.push(&chunk) {
                    break;
                }
            }
            Ok(body.into_exchange(parts.status.as_u16(), parts.headers, start))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(timeout))?
    }
}

/// A request with these parts, its headers exactly `headers` (hyper adds none to a request
/// that has `Host` and `Content-Length`).
pub(super) fn request(
    method: hyper::Method,
    target: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::new(Full::new(body));
    *request.method_mut() = method;
    *request.uri_mut() = target;
    *request.headers_mut() = headers;
    request
}
