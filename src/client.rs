//! How oa-hook plays Chat over HTTP: a reqwest client with a kept-alive pool for any target,
//! and single kept-alive HTTP/1.1 connections for plain-HTTP targets; both read answers
//! bounded and explain transport errors the same way.

use crate::cli::TargetArgs;
use crate::error::{Error, Result};
use crate::protocol::MAX_BODY_BYTES;
use crate::request::CONTENT_TYPE;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::time::{Duration, Instant};
use url::{Position, Url};

mod tls;

/// Both ways of sending say who is calling, so a backend sees one oa-hook either way.
const USER_AGENT: &str = concat!("oa-hook/", env!("CARGO_PKG_VERSION"));

/// What came back for one request.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    /// As received, so that an answer costs no copying of its headers; reports format them.
    pub headers: HeaderMap,
    /// At most [`MAX_BODY_BYTES`]; see `truncated`.
    pub body: Vec<u8>,
    pub truncated: bool,
    /// From sending the request to the last byte of the answer.
    pub latency: Duration,
}

impl Exchange {
    /// Whether the answer said `Connection: close`: the backend takes no further request on
    /// that connection.
    pub fn closes_connection(&self) -> bool {
        self.headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("close"))
    }

    pub fn reply(&self) -> crate::protocol::Reply<'_> {
        crate::protocol::Reply {
            status: self.status,
            body: &self.body,
            truncated: self.truncated,
            latency: Some(self.latency),
        }
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing answered by the timeout: the target is up but too slow (a contract failure).
    Timeout(Duration),
    /// The target could not be reached (refused, DNS, TLS, no connection by the timeout):
    /// nothing to judge.
    Unreachable { message: String, hint: String },
    /// The target was reached, but what came back is not an HTTP answer: not HTTP at all, a
    /// head too large to read, a body cut short, the connection closed instead of an answer.
    /// A contract failure, as a wrong answer is; the sentence says what broke.
    Broken(String),
}

impl TransportError {
    /// Why no answer came, in words.
    pub fn message(&self) -> String {
        match self {
            TransportError::Timeout(after) => format!(
                "no answer within {} (Chat gives up after 2 s)",
                humantime::format_duration(*after)
            ),
            TransportError::Unreachable { message, .. } | TransportError::Broken(message) => {
                message.clone()
            }
        }
    }

    /// The error that stops a command whose target could not be reached. A timeout or a
    /// broken answer is judged as an answer instead; as an error it is still said as it is.
    pub fn into_error(self) -> Error {
        match self {
            TransportError::Timeout(after) => Error::unreachable(format!(
                "no answer within {}",
                humantime::format_duration(after)
            )),
            TransportError::Unreachable { message, hint } => Error::unreachable(message).hint(hint),
            TransportError::Broken(message) => Error::unreachable(message),
        }
    }

    /// What broke in an answer the backend sent (hyper's error, found among `e`'s causes).
    fn broken(e: &(dyn std::error::Error + 'static)) -> Self {
        let hyper = causes(e).find_map(|cause| cause.downcast_ref::<hyper::Error>());
        let what = match hyper {
            Some(h) if h.is_parse_too_large() => "its status line and headers are too large",
            Some(h) if h.is_parse() => "it is not an HTTP/1.1 answer",
            Some(h) if h.is_incomplete_message() => {
                "the connection closed before a complete answer came"
            }
            _ if io_error_kind(e) == Some(std::io::ErrorKind::UnexpectedEof) => {
                "the body ended before all of it came"
            }
            _ => "the answer broke off",
        };
        let detail = match hyper {
            Some(h) => chain(h),
            None => chain(e),
        };
        TransportError::Broken(format!(
            "the backend answered with broken HTTP: {what} ({detail})"
        ))
    }

    /// A kept connection the backend closed before the request went out on it.
    fn closed_before_sending(target: &str) -> Self {
        TransportError::Unreachable {
            message: format!("the connection to {target} closed before the request was sent"),
            hint: "the backend closed a kept-alive connection; Chat keeps connections open"
                .to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(target: &TargetArgs, pool_size: usize) -> Result<Self> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(pool_size)
            .http1_only()
            .tcp_nodelay(true)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // Chat does not retry a callback behind the backend's back, so neither does
            // oa-hook; without a retry budget reqwest also stops cloning every request.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            // The connection's own timeout comes first, so that a target that never took the
            // connection is told apart (unreachable) from one that took it and did not answer.
            .connect_timeout(target.timeout)
            .timeout(target.timeout.saturating_add(Duration::from_millis(1)))
            .tls_danger_accept_invalid_certs(target.insecure);
        // Read whatever the scheme, so that a wrong file is found before it matters.
        let trusted = target
            .cacert
            .as_deref()
            .map(tls::read_certificates)
            .transpose()?;
        if let Some(certificates) = trusted
            && !target.insecure
        {
            builder = builder.tls_backend_preconfigured(tls::client_config(certificates)?);
        }
        let inner = builder
            .build()
            .map_err(|e| Error::usage(format!("cannot set up the HTTP client: {}", chain(&e))))?;
        Ok(Client {
            inner,
            timeout: target.timeout,
        })
    }

    /// POSTs `body` as JSON to `url` and reads the answer, at most [`MAX_BODY_BYTES`] of it.
    /// `body` may be shared `Bytes`, so load mode hands out one body without copying it.
    pub async fn post(
        &self,
        url: Url,
        body: impl Into<reqwest::Body>,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let body = body.into();
        let length = body.as_bytes().map_or(0, <[u8]>::len);
        let response = self
            .inner
            .post(url.clone())
            .headers(sent_headers(&url, length))
            .body(body)
            .send()
            .await
            .map_err(|e| self.explain(e, None))?;
        self.read(response, start).await
    }

    /// Sends a request as it was received (the tap): `method`, the `content_type` header when
    /// there was one, and `body`, byte for byte, to `url`; reads the answer as [`Client::post`]
    /// does.
    pub async fn forward(
        &self,
        method: reqwest::Method,
        url: Url,
        content_type: Option<HeaderValue>,
        body: impl Into<reqwest::Body>,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let mut request = self.inner.request(method, url).body(body);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.map_err(|e| self.explain(e, None))?;
        self.read(response, start).await
    }

    /// Reads an answer, at most [`MAX_BODY_BYTES`] of it.
    async fn read(
        &self,
        mut response: reqwest::Response,
        start: Instant,
    ) -> Result<Exchange, TransportError> {
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BoundedBody::expecting(response.content_length());
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.explain(e, Some(response.url())))?
        {
            if !body.push(&chunk) {
                break;
            }
        }
        Ok(body.into_exchange(status, headers, start))
    }

    /// Says why `e` happened, naming the target (from the error, or `url`, so that the hot
    /// path does not format it for every request).
    fn explain(&self, e: reqwest::Error, url: Option<&Url>) -> TransportError {
        if e.is_connect() || e.is_builder() {
            let target = e
                .url()
                .or(url)
                .map_or_else(|| "the target".to_owned(), describe);
            // reqwest's own message repeats the URL, password and all.
            explain_unreachable(&e.without_url(), &target)
        } else if e.is_timeout() {
            TransportError::Timeout(self.timeout)
        } else {
            TransportError::broken(&e.without_url())
        }
    }
}

/// Why `e` kept a request from reaching `target` (host:port), and what to do about it.
fn explain_unreachable(e: &(dyn std::error::Error + 'static), target: &str) -> TransportError {
    // The outermost error only names the step (reqwest's "error sending request"); the causes
    // say what went wrong.
    let detail = e.source().map_or_else(|| e.to_string(), chain);
    let lower = detail.to_lowercase();
    let (message, hint) = if io_error_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
        (
            format!("connection refused at {target}"),
            "is the backend running and listening on that port?",
        )
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        // Told apart before DNS errors: rustls calls a certificate's names `DnsName(...)`.
        (
            format!("TLS handshake with {target} failed: {detail}"),
            "for a self-signed backend pass --cacert FILE, or --insecure",
        )
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        (
            format!("cannot resolve the host of {target}: {detail}"),
            "check the host name in --url",
        )
    } else {
        (
            format!("cannot connect to {target}: {detail}"),
            "check --url and that the backend is reachable",
        )
    };
    TransportError::Unreachable {
        message,
        hint: hint.to_owned(),
    }
}

/// The answer's body as read so far: at most [`MAX_BODY_BYTES`], the rest left unread.
struct BoundedBody {
    bytes: Vec<u8>,
    truncated: bool,
}

impl BoundedBody {
    /// Sized for the announced length, so that a typical answer is one allocation.
    fn expecting(length: Option<u64>) -> Self {
        let expected = usize::try_from(length.unwrap_or(0)).unwrap_or(MAX_BODY_BYTES);
        BoundedBody {
            bytes: Vec::with_capacity(expected.min(MAX_BODY_BYTES)),
            truncated: false,
        }
    }

    /// Takes the next chunk; `false` once the answer is too long to read further.
    fn push(&mut self, chunk: &[u8]) -> bool {
        if self.bytes.len() + chunk.len() > MAX_BODY_BYTES {
            self.truncated = true;
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    fn into_exchange(self, status: u16, headers: HeaderMap, start: Instant) -> Exchange {
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
pub struct Endpoint {
    /// The host to connect to; an IPv6 address without its brackets.
    host: String,
    port: u16,
    /// Host, and port unless it is the default, as the `Host` header carries them.
    host_header: HeaderValue,
    /// host:port, as transport errors name the target.
    name: String,
}

impl Endpoint {
    /// The endpoint of a plain `http://` URL; `None` for HTTPS, and for a URL with
    /// credentials, whose Basic auth only [`Client`] sends.
    pub fn http(url: &Url) -> Option<Endpoint> {
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

/// The headers of every callback oa-hook sends, in the order they go on the wire, decided in
/// this one place so that `-v` prints exactly what was sent. Both ways of sending set them all,
/// so neither adds one of its own (HTTP/1.1 sends names in lower case).
fn callback_headers(host: HeaderValue, body_length: usize) -> HeaderMap {
    HeaderMap::from_iter([
        (header::HOST, host),
        (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
        (header::USER_AGENT, HeaderValue::from_static(USER_AGENT)),
        (header::ACCEPT, HeaderValue::from_static("*/*")),
        (header::CONTENT_LENGTH, HeaderValue::from(body_length)),
    ])
}

/// The headers a callback to `url` with a body of `body_length` bytes goes with.
pub fn sent_headers(url: &Url, body_length: usize) -> HeaderMap {
    let host = HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort])
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    callback_headers(host, body_length)
}

/// `url` as an HTTP/1.1 request line carries it to the origin server: path and query.
pub fn request_target(url: &Url) -> Result<Uri, TransportError> {
    Uri::try_from(&url[Position::BeforePath..Position::AfterQuery]).map_err(|e| {
        TransportError::Unreachable {
            message: format!("the URL cannot go on an HTTP request line: {e}"),
            hint: "check the path and query of --url".to_owned(),
        }
    })
}

/// One HTTP/1.1 connection held open across requests, as Chat keeps them: hyper's
/// connection-level client with no pool, so that nothing reconnects behind the caller's back
/// (`check` catches a backend that closes connections; load mode decides when to reconnect)
/// and a request costs no more than the exchange itself.
pub struct Connection<'e> {
    endpoint: &'e Endpoint,
    sender: SendRequest<Full<Bytes>>,
    timeout: Duration,
}

impl<'e> Connection<'e> {
    /// Connects within `timeout`, which then bounds each exchange on the connection.
    pub async fn open(endpoint: &'e Endpoint, timeout: Duration) -> Result<Self, TransportError> {
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
        Ok(Connection {
            endpoint,
            sender,
            timeout,
        })
    }

    /// Whether the connection may take another request: `false` once the backend has closed
    /// it. A close still on its way is only noticed by the next request.
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// POSTs `body` as JSON to `target` (see [`request_target`]) and reads the answer, at
    /// most [`MAX_BODY_BYTES`] of it. After an error the connection is in an unknown state
    /// (hyper closes it when a request is abandoned): open another.
    pub async fn post(&mut self, target: Uri, body: Bytes) -> Result<Exchange, TransportError> {
        let length = body.len();
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = target;
        *request.headers_mut() = callback_headers(self.endpoint.host_header.clone(), length);
        let name = &self.endpoint.name;
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
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(self.timeout))?
    }
}

/// rustls needs one crypto provider per process; oa-hook uses ring.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn describe(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    }
}

fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    causes(e).find_map(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
    })
}

/// `e` and its causes, outermost first.
fn causes<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |err| err.source())
}

/// The error with its causes, innermost last, without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Option<Endpoint> {
        Endpoint::http(&Url::parse(url).unwrap())
    }

    #[test]
    fn only_plain_http_without_credentials_gets_an_endpoint() {
        let e = endpoint("http://127.0.0.1:3000/im").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.name.as_str()),
            ("127.0.0.1", 3000, "127.0.0.1:3000")
        );
        assert_eq!(e.host_header, "127.0.0.1:3000");
        let e = endpoint("http://[::1]/im").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.name.as_str()),
            ("::1", 80, "[::1]:80")
        );
        assert_eq!(e.host_header, "[::1]");
        assert!(endpoint("https://example.com/im").is_none());
        assert!(endpoint("http://user:secret@example.com/im").is_none());
    }

    #[test]
    fn the_request_target_is_the_path_and_query() {
        let url = Url::parse("http://h:1/im/cb?tenant=a%20b&x=1#frag").unwrap();
        assert_eq!(request_target(&url).unwrap(), "/im/cb?tenant=a%20b&x=1");
        let bare = Url::parse("http://h").unwrap();
        assert_eq!(request_target(&bare).unwrap(), "/");
    }

    #[test]
    fn connection_close_is_found_among_the_tokens() {
        let exchange = |value: &'static str| Exchange {
            status: 200,
            headers: HeaderMap::from_iter([(header::CONNECTION, HeaderValue::from_static(value))]),
            body: Vec::new(),
            truncated: false,
            latency: Duration::ZERO,
        };
        assert!(exchange("close").closes_connection());
        assert!(exchange("Upgrade, Close").closes_connection());
        assert!(!exchange("keep-alive").closes_connection());
    }

    #[tokio::test]
    async fn a_refused_connection_is_explained_as_the_client_explains_it() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = endpoint(&format!("http://127.0.0.1:{port}/im")).unwrap();
        let Err(error) = Connection::open(&e, Duration::from_secs(2)).await else {
            panic!("connected to a closed port");
        };
        assert_eq!(
            error,
            TransportError::Unreachable {
                message: format!("connection refused at 127.0.0.1:{port}"),
                hint: "is the backend running and listening on that port?".to_owned(),
            }
        );
    }
}
