//! How the tap passes a request on to its backend: over plain HTTP on kept-alive HTTP/1.1
//! connections of its own (hyper alone, as the one sender), over HTTPS (and URLs with
//! credentials) through reqwest's pool. Either way with the same bounds: `--timeout` from the
//! start of the request to the last byte of the answer, at most [`MAX_BODY_BYTES`] of it read,
//! no redirect followed.
//!
//! [`MAX_BODY_BYTES`]: crate::protocol::MAX_BODY_BYTES

use super::connection::{Connection, Endpoint, Outgoing};
use super::headers::Headers;
use super::{Exchange, Pool, Target, TransportError, USER_AGENT, tls};
use crate::error::Result;
use crate::memo::Shared;
use bytes::Bytes;
use reqwest::header::{self, HeaderValue};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::{Position, Url};

/// The tap's way to its backend at `url`.
pub(crate) struct Forwarder {
    url: Url,
    route: Route,
}

enum Route {
    /// Plain HTTP: kept connections, idle ones waiting for the next request. reqwest's pool,
    /// its URL handling and its redirect and retry layers were half the tap's own work.
    Kept(Box<Kept>),
    /// HTTPS, and URLs with credentials (whose Basic auth only reqwest sends).
    Pooled(Pool),
}

/// Connections to a plain-HTTP backend, each taken by one request at a time.
struct Kept {
    endpoint: Endpoint,
    timeout: Duration,
    /// Connections that answered in full and may take another request, the latest last: one
    /// list per core ([`crate::runtime::core`]), as a connection is driven by the core that
    /// opened it, and a request sent on another core's would wake two threads.
    idle: Box<[Mutex<Vec<Connection>>]>,
    /// The most connections each list keeps idle; more are closed once answered. The pool's
    /// whole size for each: connections go to cores in turn, not by how busy they are, so one
    /// core may carry every request in flight. There are never more idle than there were
    /// requests in flight at once.
    max_idle: usize,
    /// The URL's path, and its query when it has one of its own (not even an empty one).
    path: String,
    own_query: Option<String>,
    /// The latest query received and its request target: Chat sends the same query (its
    /// signature) with every callback of one second.
    targets: Shared<Option<String>, Option<hyper::Uri>>,
}

impl Forwarder {
    /// A forwarder to `url`, keeping up to `pool_size` idle connections (over plain HTTP, on
    /// each core: see [`Kept::max_idle`]). The TLS settings are read whatever the scheme, so
    /// that a wrong --cacert is refused the same way for every backend.
    pub(crate) fn new(target: &Target, url: Url, pool_size: usize) -> Result<Self> {
        let route = match Endpoint::http(&url) {
            Some(endpoint) => {
                if let Some(path) = &target.cacert {
                    tls::read_certificates(path)?;
                }
                Route::Kept(Box::new(Kept {
                    endpoint,
                    timeout: target.timeout,
                    idle: (0..crate::runtime::cores())
                        .map(|_| Mutex::new(Vec::new()))
                        .collect(),
                    max_idle: pool_size,
                    path: url[Position::BeforePath..Position::AfterPath].to_owned(),
                    own_query: url.query().map(str::to_owned),
                    targets: Shared::default(),
                }))
            }
            None => Route::Pooled(Pool::new(target, pool_size)?),
        };
        Ok(Forwarder { url, route })
    }

    /// The backend's URL.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The URL a request with the query `received` goes to: the received query, as it came,
    /// after the URL's own.
    pub(crate) fn target(&self, received: Option<&str>) -> Url {
        let mut url = self.url.clone();
        match (self.url.query().filter(|q| !q.is_empty()), received) {
            (_, None | Some("")) => {}
            (Some(own), Some(received)) => url.set_query(Some(&format!("{own}&{received}"))),
            (None, Some(received)) => url.set_query(Some(received)),
        }
        url
    }

    /// Passes on a request as it was received: `method`, `headers` (those the tap passes on)
    /// and `body`, byte for byte, to the URL with the query `received`; reads the answer, at
    /// most [`MAX_BODY_BYTES`] of it.
    ///
    /// [`MAX_BODY_BYTES`]: crate::protocol::MAX_BODY_BYTES
    pub(crate) async fn forward(
        &self,
        method: hyper::Method,
        received: Option<&str>,
        headers: Headers,
        body: Bytes,
    ) -> Result<Exchange, TransportError> {
        match &self.route {
            Route::Kept(kept) => {
                let target = kept.targets.get(
                    |kept| kept.as_deref() == received,
                    || received.map(str::to_owned),
                    || kept.request_target(received),
                );
                let target = match target {
                    Some(target) => target,
                    None => super::request_target(&self.target(received))?,
                };
                kept.forward(method, target, headers, body).await
            }
            // Boxed: reqwest's exchange is the larger future by far, and unboxed it sized this
            // one, which the tap boxes for every request, kept connections or not (5.8 KiB
            // each, 2.9 KiB so).
            Route::Pooled(pool) => {
                let headers = headers.to_map();
                Box::pin(pool.forward(method, self.target(received), headers, body)).await
            }
        }
    }
}

impl Kept {
    /// The request target for the query `received`, as [`Forwarder::target`] would write it;
    /// `None` when `received` has a byte the URL parser would escape (then the URL is made).
    fn request_target(&self, received: Option<&str>) -> Option<hyper::Uri> {
        let target = match (self.own_query.as_deref(), received) {
            (own, None | Some("")) => match own {
                Some(own) => format!("{}?{own}", self.path),
                None => self.path.clone(),
            },
            (_, Some(received)) if !received.bytes().all(kept_in_a_query) => return None,
            (Some(own), Some(received)) if !own.is_empty() => {
                format!("{}?{own}&{received}", self.path)
            }
            (_, Some(received)) => format!("{}?{received}", self.path),
        };
        hyper::Uri::try_from(target).ok()
    }

    async fn forward(
        &self,
        method: hyper::Method,
        target: hyper::Uri,
        mut headers: Headers,
        body: Bytes,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        // The headers reqwest's pool sent, in its order: the request's, then its own.
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        headers.insert(header::HOST, self.endpoint.host_header.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let request = Outgoing {
            method,
            target,
            headers,
            body,
        };
        let mut answered = self.send(request, start).await;
        if let Ok(exchange) = &mut answered {
            exchange.latency = start.elapsed();
        }
        answered
    }

    /// Sends `request` on an idle connection, or on a new one; a kept connection the backend
    /// closed before the request went out on it is let go, and the request sent on a new one,
    /// as reqwest's pool did.
    async fn send(&self, request: Outgoing, start: Instant) -> Result<Exchange, TransportError> {
        let name = self.endpoint.name.as_str();
        let left = || self.timeout.saturating_sub(start.elapsed());
        if let Some(mut connection) = self.take() {
            match connection.send(&request, name, left()).await {
                // Not sent: the backend closed the connection first.
                Err(TransportError::Unreachable { .. }) => {}
                answered => return self.put_back(connection, answered),
            }
        }
        self.send_on_new(request, start).await
    }

    async fn send_on_new(
        &self,
        request: Outgoing,
        start: Instant,
    ) -> Result<Exchange, TransportError> {
        let left = || self.timeout.saturating_sub(start.elapsed());
        // The tap passes on bodies of any length: they go out as they are, uncopied.
        let mut connection = Connection::open(&self.endpoint, left(), false).await?;
        let left = left();
        let answered = connection.send(&request, &self.endpoint.name, left).await;
        self.put_back(connection, answered)
    }

    /// This core's idle connections.
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle[crate::runtime::core() % self.idle.len()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection still open, the latest first.
    fn take(&self) -> Option<Connection> {
        let mut idle = self.idle();
        while let Some(connection) = idle.pop() {
            if connection.is_open() {
                return Some(connection);
            }
        }
        None
    }

    /// Keeps `connection` for the next request when it answered in full and stays open;
    /// passes on what it answered, a timeout said with the whole `--timeout`.
    fn put_back(
        &self,
        connection: Connection,
        answered: Result<Exchange, TransportError>,
    ) -> Result<Exchange, TransportError> {
        match &answered {
            Ok(exchange) if !exchange.closes_connection() && !exchange.truncated => {
                let mut idle = self.idle();
                if idle.len() < self.max_idle {
                    idle.push(connection);
                }
            }
            Err(TransportError::Timeout(_)) => return Err(TransportError::Timeout(self.timeout)),
            _ => {}
        }
        answered
    }
}

/// Whether the URL parser leaves `byte` of a query as it is (its query escape set for http:
/// controls, space, `"`, `#`, `'`, `<`, `>`, and every byte past ASCII).
fn kept_in_a_query(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7e) && !matches!(byte, b'"' | b'#' | b'\'' | b'<' | b'>')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarder(url: &str) -> Forwarder {
        let target = Target {
            timeout: Duration::from_secs(1),
            insecure: false,
            cacert: None,
        };
        Forwarder::new(&target, Url::parse(url).unwrap(), 1).unwrap()
    }

    #[test]
    fn the_query_received_goes_after_the_forward_urls_own() {
        let query = "SdkAppid=1&Sign=ab&RequestTime=5&x=%20y";
        assert_eq!(
            forwarder("http://h:1/im").target(Some(query)).as_str(),
            format!("http://h:1/im?{query}")
        );
        assert_eq!(
            forwarder("http://h:1/im?tenant=a")
                .target(Some(query))
                .as_str(),
            format!("http://h:1/im?tenant=a&{query}")
        );
        assert_eq!(
            forwarder("http://h:1/im?tenant=a").target(None).as_str(),
            "http://h:1/im?tenant=a"
        );
    }

    /// The request target written directly is the one the URL would give, for every shape of
    /// forward URL and received query.
    #[test]
    fn the_kept_request_target_is_the_urls() {
        let urls = [
            "http://h:1",
            "http://h:1/im",
            "http://h:1/im?",
            "http://h:1/im?tenant=a",
            "http://h:1/a%20b/?t=%22",
        ];
        let queries = [
            None,
            Some(""),
            Some("SdkAppid=1&Sign=ab&RequestTime=5"),
            Some("x=%20y&z={}|^`\\"),
            Some("a=\"b\"&c='d'&e=<f>"),
            Some("a=é"),
        ];
        for url in urls {
            let forwarder = forwarder(url);
            let Route::Kept(kept) = &forwarder.route else {
                panic!("{url} is plain HTTP");
            };
            for query in queries {
                let by_url = super::super::request_target(&forwarder.target(query)).unwrap();
                match kept.request_target(query) {
                    Some(direct) => assert_eq!(direct, by_url, "{url} {query:?}"),
                    None => assert!(
                        query.is_some_and(|q| !q.bytes().all(kept_in_a_query)),
                        "{url} {query:?}"
                    ),
                }
            }
        }
    }

    /// A backend that answers every request (a head and the body `{}`) on a connection it
    /// keeps open; counts the connections it accepted.
    async fn keep_alive_backend() -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/im", listener.local_addr().unwrap())).unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        while !request.ends_with(b"\r\n\r\n{}") {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&chunk[..n]),
                            }
                        }
                        request.clear();
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// Each core sends on the connections it opened, and keeps them for its next requests:
    /// never one another core drives. A core keeps as many as the pool's whole size, as
    /// connections reach cores in turn and one may carry every request in flight.
    #[tokio::test]
    async fn each_core_sends_on_connections_of_its_own() {
        use std::sync::Arc;
        use std::sync::atomic::Ordering;
        if crate::runtime::cores() < 2 {
            // One list of idle connections: nothing to tell apart.
            return;
        }
        let (url, accepted) = keep_alive_backend().await;
        let target = Target {
            timeout: Duration::from_secs(10),
            insecure: false,
            cacert: None,
        };
        let forwarder = Arc::new(Forwarder::new(&target, url, 2).unwrap());
        let send = |forwarder: Arc<Forwarder>| async move {
            let headers = Headers::from(&header::HeaderMap::new());
            let body = Bytes::from_static(b"{}");
            let exchange = forwarder
                .forward(hyper::Method::POST, Some("a=b"), headers, body)
                .await
                .unwrap();
            assert_eq!(exchange.status, 200);
        };
        let idle = |forwarder: &Forwarder| {
            let Route::Kept(kept) = &forwarder.route else {
                unreachable!("plain HTTP")
            };
            let idle = kept.idle.iter().take(2);
            idle.map(|list| list.lock().unwrap().len())
                .collect::<Vec<_>>()
        };
        let mut cores = crate::runtime::Cores::start("oa-hook test", 2);
        assert!(cores.next().is_none(), "core 0 is the caller's");
        let Some(other) = cores.next().cloned() else {
            // The second core could not start: nothing to tell apart.
            return;
        };
        // Two at once on core 0: two connections, both kept.
        tokio::join!(send(Arc::clone(&forwarder)), send(Arc::clone(&forwarder)));
        assert_eq!(idle(&forwarder), [2, 0]);
        for round in 1..=3 {
            send(Arc::clone(&forwarder)).await;
            other.spawn(send(Arc::clone(&forwarder))).await.unwrap();
            assert_eq!(idle(&forwarder), [2, 1], "round {round}");
            assert_eq!(accepted.load(Ordering::Relaxed), 3, "round {round}");
        }
        cores.stop().await;
    }
}
