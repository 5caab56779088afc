//! One kept HTTP/1.1 connection to a plain-HTTP target, on hyper alone: where it goes, how it
//! opens, and how an answer is read on it, bounded.

use super::direct::{Direct, Handed};
use super::error::describe;
use super::error::explain_unreachable;
use super::headers::Headers;
use super::{Exchange, TransportError};
use crate::protocol::MAX_BODY_BYTES;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use reqwest::header::{HeaderMap, HeaderValue};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::time::Sleep;
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

    pub(super) fn into_exchange(
        self,
        status: u16,
        headers: &HeaderMap,
        start: Instant,
    ) -> Exchange {
        Exchange::new(status, headers, self.bytes, self.truncated, start.elapsed())
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
    wire: Wire,
    /// Whether hyper, once it has the connection, writes a request from one buffer.
    small_bodies: bool,
    /// The timer of every request sent on the connection: see [`within`].
    timer: Pin<Box<Sleep>>,
}

/// Who reads and writes the connection.
enum Wire {
    /// oa-hook itself, while every answer on it was plain: see [`Direct`].
    Direct(Direct),
    /// hyper, from the first answer that was not.
    Hyper(SendRequest<Full<Bytes>>),
    /// Neither: an exchange was abandoned halfway, or the connection had closed.
    Gone,
}

/// Bodies up to this long go out copied after the head, the request in one buffer and one
/// `send`, on a connection opened for one ([`Connection::open`]); longer ones as a buffer of
/// their own in a `writev`. hyper's write buffer has room for 8 KiB from the start, so the copy
/// grows nothing; load mode's request is ~470 instructions cheaper so (callgrind, 19,665 ->
/// 19,195), the same bytes in the same one segment.
pub(super) const SMALL_BODY: usize = 4096;

impl Connection {
    /// Connects to `endpoint` within `timeout`, for bodies that are all up to [`SMALL_BODY`]
    /// long when `small_bodies` (a longer one is still sent whole, copied).
    pub(super) async fn open(
        endpoint: &Endpoint,
        timeout: Duration,
        small_bodies: bool,
    ) -> Result<Self, TransportError> {
        let fail = |e: &(dyn std::error::Error + 'static)| explain_unreachable(e, &endpoint.name);
        let connect = async {
            let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
                .await
                .map_err(|e| fail(&e))?;
            // One small request, then a wait for its answer: Nagle would only delay it. A
            // socket that refuses the option still works, so that failure is not one.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        };
        let stream = tokio::time::timeout(timeout, connect).await.map_err(|_| {
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
            wire: Wire::Direct(Direct::new(stream)),
            small_bodies,
            // Goes off at its first poll, and is then armed for that request's deadline.
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
        })
    }

    /// Whether the connection may take another request: `false` once the backend has closed
    /// it. A close still on its way is only noticed by the next request.
    pub(super) fn is_open(&self) -> bool {
        match &self.wire {
            Wire::Direct(direct) => direct.is_open(),
            Wire::Hyper(sender) => !sender.is_closed(),
            Wire::Gone => false,
        }
    }

    /// Sends `request` to the target called `name` and reads the answer, at most
    /// [`MAX_BODY_BYTES`] of it, within `timeout`. After an error the connection is in an
    /// unknown state (hyper closes it when a request is abandoned); an `Unreachable` error
    /// says the request was not sent.
    pub(super) async fn send(
        &mut self,
        request: &Outgoing,
        name: &str,
        timeout: Duration,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let exchange = async {
            // Gone until the exchange comes back whole: abandoned, it closes the socket.
            match std::mem::replace(&mut self.wire, Wire::Gone) {
                Wire::Direct(direct) if !direct.is_open() => {
                    return Err(TransportError::closed_before_sending(name));
                }
                Wire::Direct(direct) => match direct.exchange(request, start).await {
                    Ok((direct, exchange)) => {
                        self.wire = Wire::Direct(direct);
                        return Ok(exchange);
                    }
                    Err(handed) => {
                        self.wire = Wire::Hyper(hyper_over(handed, self.small_bodies).await?);
                    }
                },
                other => self.wire = other,
            }
            let Wire::Hyper(sender) = &mut self.wire else {
                return Err(TransportError::closed_before_sending(name));
            };
            sender
                .ready()
                .await
                .map_err(|_| TransportError::closed_before_sending(name))?;
            let response = sender.send_request(request.to_hyper()).await.map_err(|e| {
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
            Ok(body.into_exchange(parts.status.as_u16(), &parts.headers, start))
        };
        let deadline = tokio::time::Instant::from_std(start).checked_add(timeout);
        within(self.timer.as_mut(), deadline, std::pin::pin!(exchange))
            .await
            .ok_or(TransportError::Timeout(timeout))?
    }
}

/// hyper's client on a connection handed over halfway through an exchange ([`Handed`]): it
/// sends the request again (into nothing) and reads the answer from where oa-hook left it.
async fn hyper_over(
    handed: Handed,
    small_bodies: bool,
) -> Result<SendRequest<Full<Bytes>>, TransportError> {
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .writev(!small_bodies)
        .handshake(hyper_util::rt::TokioIo::new(handed))
        .await
        .map_err(|e| TransportError::broken(&e))?;
    // The connection runs until the backend closes it or `sender` is dropped; its errors reach
    // the next request through `sender`.
    tokio::spawn(connection);
    Ok(sender)
}

/// `work`'s output, or `None` once `deadline` has come first, as `tokio::time::timeout` would
/// say, on a connection's one `timer`. The timer is left armed for an earlier request's
/// deadline, and armed again only when it goes off before the deadline of the request now
/// waiting: at most once per timeout, not once per request. A timer per request (put into
/// tokio's timer wheel, taken out again when the answer came first, and a clock reading) was
/// ~350 of load mode's ~20,200 instructions a request (callgrind).
async fn within<T>(
    mut timer: Pin<&mut Sleep>,
    deadline: Option<tokio::time::Instant>,
    mut work: Pin<&mut impl Future<Output = T>>,
) -> Option<T> {
    let Some(deadline) = deadline else {
        // Past what the clock can hold: never.
        return Some(work.await);
    };
    if timer.deadline() > deadline {
        // Armed for a request that started later (the tap takes connections from a pool).
        timer.as_mut().reset(deadline);
    }
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if timer.deadline() >= deadline {
                return Poll::Ready(None);
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    })
    .await
}

/// A request to send on a [`Connection`], its headers exactly `headers` (neither oa-hook nor
/// hyper adds one to a request that has `Host` and `Content-Length`).
pub(super) struct Outgoing {
    pub(super) method: hyper::Method,
    pub(super) target: Uri,
    pub(super) headers: Headers,
    pub(super) body: Bytes,
}

impl Outgoing {
    /// The request for hyper's connection: a copy, as only an answer the direct exchange
    /// hands over takes this path, and the request stays the caller's to send again.
    fn to_hyper(&self) -> hyper::Request<Full<Bytes>> {
        let mut request = hyper::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.target.clone();
        *request.headers_mut() = self.headers.to_map();
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::{Instant, sleep, sleep_until};

    const LONG: Duration = Duration::from_secs(3600);

    type Requests = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

    /// A backend that answers each connection's first request (read to its blank line and
    /// body, and kept) with `answer`, written in parts (split at these offsets), then closes it.
    async fn backend(answer: &'static [u8], splits: &'static [usize]) -> (Endpoint, Requests) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let requests = Requests::default();
        let kept = requests.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !request.ends_with(b"\r\n\r\n{}") {
                        let n = socket.read(&mut chunk).await.unwrap();
                        assert_ne!(n, 0, "the request came whole");
                        request.extend_from_slice(&chunk[..n]);
                    }
                    kept.lock().unwrap().push(request);
                    let mut from = 0;
                    for &to in splits.iter().chain([&answer.len()]) {
                        socket.write_all(&answer[from..to]).await.unwrap();
                        socket.flush().await.unwrap();
                        // Apart, so that they come in reads of their own.
                        sleep(Duration::from_millis(20)).await;
                        from = to;
                    }
                });
            }
        });
        (Endpoint::http(&url).unwrap(), requests)
    }

    fn outgoing(endpoint: &Endpoint) -> Outgoing {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::HOST, endpoint.host_header.clone());
        headers.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(2));
        Outgoing {
            method: hyper::Method::POST,
            target: Uri::from_static("/im?a=b"),
            headers: Headers::from(&headers),
            body: Bytes::from_static(b"{}"),
        }
    }

    type Seen = Result<(u16, Vec<(String, Vec<u8>)>, Vec<u8>, bool), TransportError>;

    /// What `connection` makes of the backend's answer.
    async fn seen(mut connection: Connection, endpoint: &Endpoint) -> Seen {
        let answered = connection
            .send(&outgoing(endpoint), &endpoint.name, Duration::from_secs(5))
            .await;
        let seen = answered.map(|exchange| {
            let headers: Vec<_> = exchange
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect();
            (exchange.status, headers, exchange.body, exchange.truncated)
        });
        // hyper closes a connection whose answer said so; oa-hook takes no request on it.
        if seen.as_ref().is_ok_and(|(_, headers, ..)| {
            headers.contains(&("connection".to_owned(), b"close".to_vec()))
        }) {
            assert!(matches!(connection.wire, Wire::Hyper(_)) || !connection.is_open());
        }
        seen
    }

    /// The exchange as oa-hook reads it directly (handing over to hyper whatever is not plain),
    /// and as hyper alone reads it; the request the same bytes either way.
    async fn both(answer: &'static [u8], splits: &'static [usize]) -> [Seen; 2] {
        let (endpoint, requests) = backend(answer, splits).await;
        let direct = Connection::open(&endpoint, LONG, true).await.unwrap();
        assert!(matches!(direct.wire, Wire::Direct(_)));
        let mut hyper = Connection::open(&endpoint, LONG, true).await.unwrap();
        let Wire::Direct(stream) = std::mem::replace(&mut hyper.wire, Wire::Gone) else {
            unreachable!()
        };
        let handed = Handed::new(stream.into_stream(), Vec::new());
        hyper.wire = Wire::Hyper(hyper_over(handed, true).await.unwrap());
        let seen = [seen(direct, &endpoint).await, seen(hyper, &endpoint).await];
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&requests[0]),
            String::from_utf8_lossy(&requests[1])
        );
        seen
    }

    /// Every kind of answer reads the same directly as through hyper alone: plain ones,
    /// and those handed over at each point where they stop being plain.
    #[tokio::test]
    async fn an_answer_reads_the_same_directly_as_through_hyper() {
        let answers: [(&[u8], &[usize]); 17] = [
            (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
                &[],
            ),
            (
                b"HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 2\r\nx-a: 2\r\n\r\n{}",
                &[],
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello",
                &[20, 40],
            ),
            (b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n", &[]),
            (
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
                &[],
            ),
            (
                b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}",
                &[],
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                &[30],
            ),
            (b"HTTP/1.1 200 OK\r\n\r\nread to the end", &[]),
            (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", &[]),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\n{}",
                &[],
            ),
            (b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\n{}", &[]),
            (b"HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\n{}", &[]),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
                &[],
            ),
            (b"HTTP/1.1 204 No Content\r\ncontent-length: 2\r\n\r\n", &[]),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
                &[25],
            ),
            (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}", &[]),
            (b"HTTX/1.1 200 OK\r\n\r\n", &[]),
        ];
        for (answer, splits) in answers {
            let [direct, hyper] = both(answer, splits).await;
            assert_eq!(direct, hyper, "{}", String::from_utf8_lossy(answer));
        }
    }

    /// An answer longer than one read directly goes to hyper halfway, and reads the same.
    #[tokio::test]
    async fn a_long_answer_reads_the_same_directly_as_through_hyper() {
        static LONG_ANSWER: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
            let body = "x".repeat(200_000);
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        let [direct, hyper] = both(&LONG_ANSWER, &[]).await;
        assert!(matches!(&direct, Ok((200, _, body, false)) if body.len() == 200_000));
        assert_eq!(direct, hyper);
    }

    #[tokio::test]
    async fn a_timer_gone_off_for_an_earlier_deadline_waits_for_this_one() {
        let mut timer = Box::pin(sleep_until(Instant::now()));
        let deadline = Instant::now().checked_add(LONG);
        let work = std::pin::pin!(sleep(Duration::from_millis(20)));
        assert_eq!(within(timer.as_mut(), deadline, work).await, Some(()));
        assert_eq!(timer.deadline(), deadline.unwrap());
    }

    #[tokio::test]
    async fn work_past_its_deadline_comes_to_nothing() {
        let mut timer = Box::pin(sleep_until(Instant::now()));
        let deadline = Instant::now().checked_add(Duration::from_millis(20));
        let work = std::pin::pin!(std::future::pending::<()>());
        assert_eq!(within(timer.as_mut(), deadline, work).await, None);
    }

    #[tokio::test]
    async fn a_timer_armed_for_a_later_deadline_is_armed_again_for_this_one() {
        let mut timer = Box::pin(sleep_until(Instant::now() + LONG));
        let deadline = Instant::now().checked_add(Duration::from_millis(20));
        let work = std::pin::pin!(std::future::pending::<()>());
        assert_eq!(within(timer.as_mut(), deadline, work).await, None);
    }
}
