//! How oa-hook plays Chat over HTTP: one [`Sender`], which over plain HTTP keeps one HTTP/1.1
//! connection open as Chat does, and over HTTPS uses reqwest's kept-alive pool; both ways read
//! answers bounded and explain transport errors the same way, here and nowhere else.

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

/// How to reach a target, in plain terms (the command line's `--timeout`, `--insecure`,
/// `--cacert`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// How long to wait for a connection, and then for an answer.
    pub(crate) timeout: Duration,
    /// Accept any certificate.
    pub(crate) insecure: bool,
    /// Trust the certificates in this PEM file instead of the system's.
    pub(crate) cacert: Option<std::path::PathBuf>,
}

/// What came back for one request.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
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
    pub(crate) fn closes_connection(&self) -> bool {
        self.headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("close"))
    }

    pub(crate) fn reply(&self) -> crate::protocol::Reply<'_> {
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
pub(crate) enum TransportError {
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
    /// Whether the target could not be reached at all, so that there is nothing to judge: the
    /// one error that may stop a run rather than fail a request.
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. })
    }

    /// Why no answer came, in words.
    pub(crate) fn message(&self) -> String {
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
    pub(crate) fn into_error(self) -> Error {
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

/// The one way oa-hook sends a callback: `send`, each worker of load mode and `check` each
/// have one.
pub(crate) struct Sender {
    route: Route,
}

/// How a [`Sender`] reaches its target.
#[expect(
    clippy::large_enum_variant,
    reason = "a sender is made once per worker and stays put, so its size costs nothing"
)]
enum Route {
    /// Plain HTTP: one connection held open across requests, as Chat keeps them. reqwest's
    /// pool, URL handling and the like were ~15% of load mode's CPU, which a single connection
    /// does not need.
    Kept(Kept),
    /// HTTPS (and URLs with credentials, whose Basic auth only reqwest sends): the pool.
    Pooled(Pool),
}

impl Sender {
    /// A sender to `url`'s target, with a pool of up to `pool_size` idle connections over
    /// HTTPS. The TLS settings are read whatever the scheme, so that a wrong --cacert is
    /// refused the same way for every target.
    pub(crate) fn new(target: &Target, url: &Url, pool_size: usize) -> Result<Self> {
        let route = match Endpoint::http(url) {
            Some(endpoint) => {
                // No pool to build (it would load the system's CA store for nothing); the
                // --cacert file is still read.
                if let Some(path) = &target.cacert {
                    tls::read_certificates(path)?;
                }
                Route::Kept(Kept::new(endpoint, target.timeout, None, true))
            }
            None => Route::Pooled(Pool::new(target, pool_size)?),
        };
        Ok(Sender { route })
    }

    /// A sender to the same target with no connection yet (over HTTPS, the same pool): one per
    /// load worker, so that each keeps a connection of its own.
    pub(crate) fn another(&self) -> Self {
        let route = match &self.route {
            Route::Kept(kept) => Route::Kept(Kept::new(
                kept.endpoint.clone(),
                kept.timeout,
                None,
                kept.reconnect,
            )),
            Route::Pooled(pool) => Route::Pooled(pool.clone()),
        };
        Sender { route }
    }

    /// Over plain HTTP, a sender on one connection, opened now and never replaced: whatever it
    /// sends goes on that connection or fails, so that its answers prove the backend kept the
    /// connection open. `None` over HTTPS, whose pool cannot prove that.
    pub(crate) async fn on_one_connection(&self) -> Option<Result<Self, TransportError>> {
        let Route::Kept(kept) = &self.route else {
            return None;
        };
        let opened = Connection::open(&kept.endpoint, kept.timeout).await;
        Some(opened.map(|connection| Sender {
            route: Route::Kept(Kept::new(
                kept.endpoint.clone(),
                kept.timeout,
                Some(connection),
                false,
            )),
        }))
    }

    /// Over plain HTTP, on a connection of its own: sends the head of a POST of `body` to
    /// `url` and the first half of `body`, waits `wait` (or until the backend answers or closes
    /// the connection first), and drops the connection, as Chat drops one it gave up on: the
    /// backend is left with a request half done. `None` over HTTPS, whose bytes oa-hook does
    /// not write itself.
    pub(crate) async fn abandon(
        &self,
        url: &Url,
        body: &[u8],
        wait: Duration,
    ) -> Option<Result<Abandoned, TransportError>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Route::Kept(kept) = &self.route else {
            return None;
        };
        let endpoint = &kept.endpoint;
        let abandoned = async {
            let target = request_target(url)?;
            let connect = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port));
            let mut stream = tokio::time::timeout(kept.timeout, connect)
                .await
                .map_err(|_| TransportError::Unreachable {
                    message: format!("cannot connect to {} in time", endpoint.name),
                    hint: "check --url and that the backend is reachable".to_owned(),
                })?
                .map_err(|e| explain_unreachable(&e, &endpoint.name))?;
            let mut head = format!("POST {target} HTTP/1.1\r\n");
            for (name, value) in &callback_headers(endpoint.host_header.clone(), body.len()) {
                head.push_str(&format!(
                    "{name}: {}\r\n",
                    value.to_str().unwrap_or_default()
                ));
            }
            head.push_str("\r\n");
            let mut sent = head.into_bytes();
            sent.extend_from_slice(&body[..body.len() / 2]);
            let broken = |e: std::io::Error| TransportError::broken(&e);
            stream.write_all(&sent).await.map_err(broken)?;
            let mut first = [0u8; 64];
            let started = Instant::now();
            Ok(
                match tokio::time::timeout(wait, stream.read(&mut first)).await {
                    Err(_) => Abandoned::Waiting,
                    Ok(Ok(0) | Err(_)) => Abandoned::Closed(started.elapsed()),
                    Ok(Ok(n)) => {
                        let text = String::from_utf8_lossy(&first[..n]);
                        let line = text.lines().next().unwrap_or_default().to_owned();
                        Abandoned::Answered(line, started.elapsed())
                    }
                },
            )
        };
        Some(abandoned.await)
    }

    /// POSTs `body` as JSON to `url`, which must be on the sender's target, and reads the
    /// answer, at most [`MAX_BODY_BYTES`] of it. `body` is shared `Bytes`, so that load mode
    /// hands out one body without copying it.
    pub(crate) async fn post(
        &mut self,
        url: &Url,
        body: Bytes,
    ) -> Result<Exchange, TransportError> {
        match &mut self.route {
            Route::Kept(kept) => kept.post(url, body).await,
            Route::Pooled(pool) => pool.post(url.clone(), body).await,
        }
    }
}

/// What a backend did with a request sent in half and then abandoned ([`Sender::abandon`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Abandoned {
    /// Nothing: it was still waiting for the rest when the connection was dropped.
    Waiting,
    /// It answered this (the status line) after this long, without the whole body.
    Answered(String, Duration),
    /// It closed the connection after this long.
    Closed(Duration),
}

/// A plain-HTTP target and the connection kept to it.
struct Kept {
    endpoint: Endpoint,
    timeout: Duration,
    /// `None` until the first request, and after one left it unusable.
    connection: Option<Connection>,
    /// Whether to connect again once the backend has closed the connection, as Chat would.
    reconnect: bool,
    /// The last URL sent to and its request target: load mode sends to one URL a second, so
    /// a comparison saves parsing the URL again for every request.
    last_target: Option<(Url, Uri)>,
}

impl Kept {
    fn new(
        endpoint: Endpoint,
        timeout: Duration,
        connection: Option<Connection>,
        reconnect: bool,
    ) -> Self {
        Kept {
            endpoint,
            timeout,
            connection,
            reconnect,
            last_target: None,
        }
    }

    async fn post(&mut self, url: &Url, body: Bytes) -> Result<Exchange, TransportError> {
        let target = match &self.last_target {
            Some((last, target)) if last == url => target.clone(),
            _ => {
                let target = request_target(url)?;
                self.last_target = Some((url.clone(), target.clone()));
                target
            }
        };
        let (connection, connecting_since) = match &mut self.connection {
            Some(connection) if connection.is_open() || !self.reconnect => (connection, None),
            // The first request, or the backend closed the last connection (the request that
            // saw it close was answered or failed as it came out): connect again.
            slot => {
                let since = Instant::now();
                let opened = Connection::open(&self.endpoint, self.timeout).await?;
                (slot.insert(opened), Some(since))
            }
        };
        let posted = connection
            .post(&self.endpoint, target, body, self.timeout)
            .await;
        // After an error the connection is in an unknown state; after `Connection: close`, or
        // with the unread rest of a long answer on it, another request on it would fail.
        let unusable = posted.as_ref().map_or(true, |exchange| {
            exchange.closes_connection() || exchange.truncated
        });
        if unusable && self.reconnect {
            self.connection = None;
        }
        let mut exchange = posted?;
        // As with the pool, a request that had to connect first waited for that too.
        if let Some(since) = connecting_since {
            exchange.latency = since.elapsed();
        }
        Ok(exchange)
    }
}

/// reqwest's kept-alive pool, for what sends many requests at once to one target (the tap's
/// forwarding, replay) and for HTTPS.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: reqwest::Client,
    timeout: Duration,
    /// `--cacert`, to say when the certificate presented is not one of its.
    cacert: Option<std::path::PathBuf>,
}

impl Pool {
    pub(crate) fn new(target: &Target, pool_size: usize) -> Result<Self> {
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
        Ok(Pool {
            inner,
            timeout: target.timeout,
            cacert: target.cacert.clone().filter(|_| !target.insecure),
        })
    }

    pub(crate) async fn post(&self, url: Url, body: Bytes) -> Result<Exchange, TransportError> {
        self.post_with(url, body, HeaderMap::new()).await
    }

    /// [`Pool::post`] with `extra` headers besides a callback's own (the inspector marks its
    /// replays so).
    pub(crate) async fn post_with(
        &self,
        url: Url,
        body: Bytes,
        extra: HeaderMap,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let mut headers = sent_headers(&url, body.len());
        headers.extend(extra);
        let response = self
            .inner
            .post(url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| self.explain(e, None))?;
        self.read(response, start).await
    }

    /// Sends a request as it was received (the tap): `method`, `headers` (those of the request
    /// the tap passes on) and `body`, byte for byte, to `url`; reads the answer as
    /// [`Client::post`] does.
    pub(crate) async fn forward(
        &self,
        method: reqwest::Method,
        url: Url,
        headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let request = self.inner.request(method, url).headers(headers).body(body);
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
            let url = e.url().or(url).cloned();
            let target = url
                .as_ref()
                .map_or_else(|| "the target".to_owned(), describe);
            // reqwest's own message repeats the URL, password and all.
            let e = e.without_url();
            match tls::rustls_error(&e) {
                Some(tls) => tls::explain(tls, &target, url.as_ref(), self.cacert.as_deref()),
                None => explain_unreachable(&e, &target),
            }
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
struct Endpoint {
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
    /// credentials, whose Basic auth only [`Pool`] sends.
    fn http(url: &Url) -> Option<Endpoint> {
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
pub(crate) fn sent_headers(url: &Url, body_length: usize) -> HeaderMap {
    let host = HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort])
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    callback_headers(host, body_length)
}

/// `url` as an HTTP/1.1 request line carries it to the origin server: path and query.
fn request_target(url: &Url) -> Result<Uri, TransportError> {
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
struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connects to `endpoint` within `timeout`.
    async fn open(endpoint: &Endpoint, timeout: Duration) -> Result<Self, TransportError> {
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
    fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// POSTs `body` as JSON to `target` (see [`request_target`]) on `endpoint` and reads the
    /// answer, at most [`MAX_BODY_BYTES`] of it, within `timeout`. After an error the
    /// connection is in an unknown state (hyper closes it when a request is abandoned).
    async fn post(
        &mut self,
        endpoint: &Endpoint,
        target: Uri,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Exchange, TransportError> {
        let length = body.len();
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = target;
        *request.headers_mut() = callback_headers(endpoint.host_header.clone(), length);
        let name = &endpoint.name;
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// A backend on loopback that answers one request per connection, then closes it without
    /// saying so; counts the connections it took.
    async fn answers_once_per_connection() -> (Url, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/im", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                let mut request = Vec::new();
                let mut buffer = [0; 4096];
                // The requests here carry a body of `{}`, which ends them.
                while !request.ends_with(b"{}") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            }
        });
        (url, accepted)
    }

    /// Waits until the sender's connection is known to be closed, so that the next request
    /// does not race the close.
    async fn until_closed(sender: &Sender) {
        let Route::Kept(kept) = &sender.route else {
            panic!("not a plain-HTTP sender");
        };
        let closed = async {
            while kept.connection.as_ref().is_some_and(Connection::is_open) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), closed)
            .await
            .expect("the backend's close was never noticed");
    }

    fn settings() -> Target {
        Target {
            timeout: Duration::from_secs(2),
            insecure: false,
            cacert: None,
        }
    }

    #[tokio::test]
    async fn a_sender_connects_again_once_the_backend_closed_its_connection() {
        let (url, accepted) = answers_once_per_connection().await;
        let mut sender = Sender::new(&settings(), &url, 1).unwrap();
        for _ in 0..2 {
            let exchange = sender.post(&url, Bytes::from_static(b"{}")).await.unwrap();
            assert_eq!(exchange.status, 200);
            until_closed(&sender).await;
        }
        assert_eq!(accepted.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_sender_on_one_connection_never_opens_another() {
        let (url, accepted) = answers_once_per_connection().await;
        let sender = Sender::new(&settings(), &url, 1).unwrap();
        let mut one = sender.on_one_connection().await.unwrap().unwrap();
        let exchange = one.post(&url, Bytes::from_static(b"{}")).await.unwrap();
        assert_eq!(exchange.status, 200);
        until_closed(&one).await;
        let error = one.post(&url, Bytes::from_static(b"{}")).await.unwrap_err();
        assert_eq!(
            error.message(),
            format!(
                "the connection to {} closed before the request was sent",
                describe(&url)
            )
        );
        assert_eq!(accepted.load(Ordering::Relaxed), 1);
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
