//! How oa-hook plays Chat over HTTP: one [`Sender`], which over plain HTTP keeps one HTTP/1.1
//! connection open as Chat does, and over HTTPS uses reqwest's kept-alive pool; both ways read
//! answers bounded and explain transport errors the same way, here and nowhere else.

use crate::error::Result;
use crate::request::CONTENT_TYPE;
use bytes::Bytes;
use connection::Outgoing;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::time::{Duration, Instant};
use url::{Position, Url};

mod connection;
mod direct;
mod error;
mod forward;
mod headers;
mod pool;
mod tls;

use connection::{Connection, Endpoint, SMALL_BODY, request_target};
pub(crate) use error::TransportError;
use error::explain_unreachable;
pub(crate) use forward::Forwarder;
pub(crate) use headers::Headers;
pub(crate) use pool::Pool;

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
    /// As received, each name's values together as a `HeaderMap` keeps them (either way of
    /// reading an answer gives the same list); reports format them as a map.
    pub headers: Headers,
    /// At most [`MAX_BODY_BYTES`]; see `truncated`.
    pub body: Vec<u8>,
    pub truncated: bool,
    /// From sending the request to the last byte of the answer.
    pub latency: Duration,
    /// Whether `headers` say `Connection: close`, found once (it is asked two or three times
    /// an exchange, and a lookup in the map hashes the name).
    closes: bool,
}

impl Exchange {
    pub(crate) fn new(
        status: u16,
        headers: &HeaderMap,
        body: Vec<u8>,
        truncated: bool,
        latency: Duration,
    ) -> Self {
        let closes = headers.get_all(header::CONNECTION).iter().any(says_close);
        Exchange {
            status,
            headers: Headers::from(headers),
            body,
            truncated,
            latency,
            closes,
        }
    }

    /// Whether the answer said `Connection: close`: the backend takes no further request on
    /// that connection.
    pub(crate) fn closes_connection(&self) -> bool {
        self.closes
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

/// Whether a `Connection` header's value has the token `close`.
fn says_close(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|value| {
        value
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("close"))
    })
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
        let opened = Connection::open(&kept.endpoint, kept.timeout, false).await;
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
            for (name, value) in callback_headers(endpoint.host_header.clone(), body.len()).iter() {
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
    /// The last URL sent to and the request sent to it, kept for the next: load mode sends
    /// one body to one URL a second, so a comparison saves parsing the URL again, and building
    /// the headers (hashing each name into a new map, ~1,900 of load mode's ~21,250
    /// instructions a request when it was measured) or copying them (~350), for every request.
    last: Option<(Url, Outgoing)>,
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
            last: None,
        }
    }

    async fn post(&mut self, url: &Url, body: Bytes) -> Result<Exchange, TransportError> {
        let length = body.len();
        let headers = || callback_headers(self.endpoint.host_header.clone(), length);
        // Changed in place: the request is a few hundred bytes, moved costs memcpys.
        let request = match &mut self.last {
            Some((last, request)) if last == url => {
                if request.body.len() != length {
                    request.headers = headers();
                }
                request.body = body;
                request
            }
            slot => {
                let request = Outgoing {
                    method: hyper::Method::POST,
                    target: request_target(url)?,
                    headers: headers(),
                    body,
                };
                &mut slot.insert((url.clone(), request)).1
            }
        };
        let (connection, connecting_since) = match &mut self.connection {
            Some(connection) if connection.is_open() || !self.reconnect => (connection, None),
            // The first request, or the backend closed the last connection (the request that
            // saw it close was answered or failed as it came out): connect again.
            slot => {
                let since = Instant::now();
                // Load mode sends its one body on every connection.
                let small = length <= SMALL_BODY;
                let opened = Connection::open(&self.endpoint, self.timeout, small).await?;
                (slot.insert(opened), Some(since))
            }
        };
        let posted = connection
            .send(request, &self.endpoint.name, self.timeout)
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

/// The headers of every callback oa-hook sends, in the order they go on the wire, decided in
/// this one place so that `-v` prints exactly what was sent. Both ways of sending set them all,
/// so neither adds one of its own (HTTP/1.1 sends names in lower case).
fn callback_headers(host: HeaderValue, body_length: usize) -> Headers {
    let mut headers = Headers::with_capacity(5);
    for (name, value) in [
        (header::HOST, host),
        (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
        (header::USER_AGENT, HeaderValue::from_static(USER_AGENT)),
        (header::ACCEPT, HeaderValue::from_static("*/*")),
        (header::CONTENT_LENGTH, HeaderValue::from(body_length)),
    ] {
        headers.append(name, value);
    }
    headers
}

/// The headers a callback to `url` with a body of `body_length` bytes goes with.
pub(crate) fn sent_headers(url: &Url, body_length: usize) -> HeaderMap {
    let host = HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort])
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    callback_headers(host, body_length).to_map()
}

#[cfg(test)]
mod tests {
    use super::*;
    use error::describe;
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
        let exchange = |value: &'static str| {
            let headers =
                HeaderMap::from_iter([(header::CONNECTION, HeaderValue::from_static(value))]);
            Exchange::new(200, &headers, Vec::new(), false, Duration::ZERO)
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
        let Err(error) = Connection::open(&e, Duration::from_secs(2), false).await else {
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
