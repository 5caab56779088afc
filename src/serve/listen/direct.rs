//! A callback read and answered on the connection's bare socket, for a request hyper would read
//! the same way at a fraction of the cost: one that is *plain* (a `POST` in HTTP/1.1, one
//! digits-only `Content-Length`, no `Transfer-Encoding`, `Expect` or `Upgrade`, no `Connection`
//! but `keep-alive`, an origin-form target, its body whole with the end of its head and nothing
//! after it) is parsed with httparse as hyper parses it, handled, and answered with the head
//! hyper writes (status line, the answer's headers in order, `connection: close` when serve is
//! stopping, `content-length`, `date`). Anything else is handed to hyper's server with the bytes
//! read so far, and the connection stays hyper's from then on: hyper refuses what it refuses,
//! reads bodies in pieces, and says what is wrong exactly as before. hyper's side of a callback
//! (its parse into its own buffers, its dispatcher, its answer encoding) cost 3.9k of the 11.9k
//! instructions serve adds to a bare handler's (callgrind, `bench/instructions.sh`).

use super::{Caller, Connection, evicted};
use crate::serve::head::Head;
use crate::socket::READ_AT_ONCE;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http_body_util::BodyExt as _;
use hyper::StatusCode;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderName};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The most header lines of a request, as hyper's server takes them: with more, hyper refuses
/// the request at once (431).
const MAX_HEADERS: usize = 100;

/// The longest head gathered from pieces: hyper's read buffer's limit, past which it refuses
/// the request at once (431). A partial head shorter than this is never handed over, so the
/// head timeout bounds it whole (hyper would start a timeout of its own).
const MAX_HEAD: usize = 8192 + 4096 * 100;

/// A request's body as its handler reads it: hyper's, or whole already (read directly).
pub(crate) enum Arrived {
    Hyper(Incoming),
    Whole(Option<Bytes>),
}

impl Body for Arrived {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Arrived::Hyper(incoming) => Pin::new(incoming).poll_frame(cx),
            Arrived::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Arrived::Hyper(incoming) => incoming.is_end_stream(),
            Arrived::Whole(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Arrived::Hyper(incoming) => incoming.size_hint(),
            Arrived::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

/// How the direct part of a connection ended.
pub(super) enum Served {
    /// The connection is over: the caller closed it or went quiet, serve is stopping, or an
    /// answer could not be written.
    Closed,
    /// A request that is not plain began with these bytes: hyper's from here on.
    HandedOver(Bytes),
}

/// Reads and answers plain requests on `stream` with `handle` (which marks the connection
/// busy while it runs) until the connection ends or a request is not plain (see [`next`]). A
/// request being handled is answered whatever happens meanwhile; when serve began to stop, the
/// answer says `connection: close` and the connection ends, as hyper's graceful shutdown does.
pub(super) async fn serve<H, F, B, E>(
    stream: &Arc<TcpStream>,
    handle: &H,
    head_timeout: Duration,
    closing: &mut watch::Receiver<bool>,
    connection: &Connection,
) -> Served
where
    H: Fn(Head, Arrived, Caller) -> F,
    F: Future<Output = Result<hyper::Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    let mut watcher = closing.clone();
    let mut idle = Idle {
        head_timeout,
        answered: false,
        timer: pin!(tokio::time::sleep(head_timeout)),
        stopping: pin!(async move {
            let _ = watcher.wait_for(|closing| *closing).await;
        }),
        evicted: pin!(evicted(connection)),
    };
    let mut out = Vec::new();
    let mut gathered = Vec::new();
    loop {
        let Some(request) = next(stream, &mut idle, &mut gathered).await else {
            return Served::Closed;
        };
        let (head, body) = match request {
            Ok(request) => request,
            Err(read) => return Served::HandedOver(read),
        };
        let answered = handle(head, body, Caller(Arc::clone(stream))).await;
        // A handler that gives an error drops the connection unanswered, as hyper does.
        let Ok(response) = answered else {
            return Served::Closed;
        };
        let last = *closing.borrow();
        if write(stream, response, last, &mut out).await.is_err() || last {
            return Served::Closed;
        }
        idle.answered = true;
        out.clear();
    }
}

/// What a connection waits for between requests besides its caller, kept from one request to
/// the next: a timer and two waiters registered anew for every request cost 1.2k instructions
/// a callback (of serve's 29k). The timer is reset only when it goes off before the request's
/// deadline (once a `head_timeout` at most, under load), not for every request.
struct Idle<'a, S, E> {
    head_timeout: Duration,
    /// Whether the connection has answered a request: until it has, serve stopping does not
    /// close it, and its first request is still read and answered (with `connection: close`),
    /// as hyper does.
    answered: bool,
    timer: Pin<&'a mut tokio::time::Sleep>,
    /// Resolves once serve stops; polled no more after.
    stopping: Pin<&'a mut S>,
    /// Resolves once the connection is evicted; polled no more after.
    evicted: Pin<&'a mut E>,
}

impl<S: Future<Output = ()>, E: Future<Output = ()>> Idle<'_, S, E> {
    /// Resolves when `stream` can be read (`true`), or when the connection is to close: it
    /// failed, serve stops (once it has answered a request), it was evicted, or `deadline`
    /// passed.
    fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
        stream: &TcpStream,
        deadline: tokio::time::Instant,
    ) -> Poll<bool> {
        if let Poll::Ready(ready) = stream.poll_read_ready(cx) {
            return Poll::Ready(ready.is_ok());
        }
        let stopped = self.answered && self.stopping.as_mut().poll(cx).is_ready();
        if stopped || self.evicted.as_mut().poll(cx).is_ready() {
            return Poll::Ready(false);
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return Poll::Ready(false);
            }
            self.timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

/// The next request on `stream` when it is plain, `Err` with the bytes read of it when it is
/// not (or the caller closed its side halfway through its head: hyper says that), `None` when
/// the connection is over: nothing came within the head timeout (hyper's header read timeout,
/// a head in pieces included), the caller closed it, serve stops, or it was evicted.
async fn next<S: Future<Output = ()>, E: Future<Output = ()>>(
    stream: &TcpStream,
    idle: &mut Idle<'_, S, E>,
    gathered: &mut Vec<u8>,
) -> Option<Result<(Head, Arrived), Bytes>> {
    let deadline = tokio::time::Instant::now() + idle.head_timeout;
    gathered.clear();
    loop {
        if !std::future::poll_fn(|cx| idle.poll_wait(cx, stream, deadline)).await {
            return None;
        }
        let read = crate::socket::read_now(stream, READ_AT_ONCE, |read| {
            // The first read is parsed where it landed; pieces of a head are gathered.
            let first = gathered.is_empty();
            if !first {
                gathered.extend_from_slice(read);
            }
            let bytes = if first { read } else { &gathered[..] };
            if read.is_empty() {
                return (!first).then(|| Err(Bytes::copy_from_slice(bytes)));
            }
            match plain(bytes) {
                Read::Plain(request) => Some(Ok(request)),
                Read::PartialHead if bytes.len() < MAX_HEAD => {
                    if first {
                        gathered.extend_from_slice(read);
                    }
                    None
                }
                _ => Some(Err(Bytes::copy_from_slice(bytes))),
            }
        });
        match read {
            Ok(Some(request)) => return Some(request),
            // The caller closed its side before a request began.
            Ok(None) if gathered.is_empty() => return None,
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
}

// Returned once, never kept: a box would cost an allocation a request for nothing.
#[allow(clippy::large_enum_variant)]
enum Read {
    Plain((Head, Arrived)),
    /// Not all of the head yet.
    PartialHead,
    /// Not a plain request, or not all of its body: hyper's to read.
    Other,
}

/// `bytes`, all that came of a request, read as hyper's server reads it when it is a plain
/// request and exactly that.
fn plain(bytes: &[u8]) -> Read {
    // Left uninitialised until parsed, as hyper leaves them: 3.2 KiB to zero for every read.
    let mut lines = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    match parsed.parse_with_uninit_headers(bytes, &mut lines) {
        Ok(httparse::Status::Complete(head)) => {
            whole(&parsed, head, bytes).map_or(Read::Other, Read::Plain)
        }
        Ok(httparse::Status::Partial) => Read::PartialHead,
        Err(_) => Read::Other,
    }
}

/// The request `parsed` from `bytes`, its head `head` bytes long, when it is plain and its body
/// is all of the rest.
fn whole(parsed: &httparse::Request<'_, '_>, head: usize, bytes: &[u8]) -> Option<(Head, Arrived)> {
    if parsed.method != Some("POST") || parsed.version != Some(1) {
        return None;
    }
    let target = parsed.path?;
    let mut length = None;
    for line in parsed.headers.iter() {
        let name = line.name.as_bytes();
        let is = |known: &HeaderName| name.eq_ignore_ascii_case(known.as_str().as_bytes());
        if is(&header::TRANSFER_ENCODING) || is(&header::EXPECT) || is(&header::UPGRADE) {
            return None;
        }
        // `keep-alive` is what HTTP/1.1 does anyway (hyper answers it the same).
        if is(&header::CONNECTION) && !line.value.eq_ignore_ascii_case(b"keep-alive") {
            return None;
        }
        if is(&header::CONTENT_LENGTH) {
            let digits = line.value;
            let plain_digits =
                !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit);
            if length.is_some() || !plain_digits {
                return None;
            }
            length = std::str::from_utf8(digits).ok()?.parse::<usize>().ok();
        }
    }
    let length = length?;
    if bytes.len() != head.checked_add(length)? {
        return None;
    }
    // One copy of the request, which the head and the body share (hyper shares its read
    // buffer so): a copy of each part cost an allocation.
    let fields = parsed.headers.iter().map(|line| (line.name, line.value));
    let (read, shared) = Head::read(bytes, target, fields, || Bytes::copy_from_slice(bytes))?;
    Some((read, Arrived::Whole(Some(shared.slice(head..)))))
}

/// Writes `response` as hyper's server writes the answer to a `POST` in HTTP/1.1: its head
/// (see [`head`]) and its body, each piece as it comes (a trickling body trickles), sized by
/// `content-length` when its size is known and chunked when not.
async fn write<B>(
    stream: &TcpStream,
    response: hyper::Response<B>,
    last: bool,
    out: &mut Vec<u8>,
) -> io::Result<()>
where
    B: Body<Data = Bytes>,
{
    let (parts, body) = response.into_parts();
    let length = body.size_hint().exact();
    let with_body = head(&parts, length, last, out);
    let chunked = length.is_none();
    let mut left = length.unwrap_or(0);
    let mut body = std::pin::pin!(body);
    while with_body && !body.is_end_stream() {
        let frame = match body.frame().now_or_never() {
            Some(frame) => frame,
            // Not ready (a trickling body): what is written so far goes now, the head
            // included, as hyper flushes it.
            None => {
                write_all(stream, out).await?;
                out.clear();
                body.frame().await
            }
        };
        let Some(frame) = frame else {
            break;
        };
        let Ok(data) = frame.map_err(|_| io::ErrorKind::Other)?.into_data() else {
            continue;
        };
        if chunked {
            if !data.is_empty() {
                out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
            }
        } else {
            // More than it said: hyper aborts the answer and the connection.
            left = left
                .checked_sub(data.len() as u64)
                .ok_or(io::ErrorKind::InvalidData)?;
            out.extend_from_slice(&data);
        }
        if !body.is_end_stream() {
            write_all(stream, out).await?;
            out.clear();
        }
    }
    if with_body && chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    write_all(stream, out).await?;
    if with_body && left > 0 {
        // Less than it said: the caller waits for the rest, so hyper closes the connection.
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// The head hyper writes for an answer with `parts` and a body of `length` (`None`: not
/// known), into `out`; whether the body is written (not for 204 and 304). serve's answers set
/// no `Content-Length`, `Transfer-Encoding`, `Connection`, `Date` or `Trailer` of their own,
/// which hyper would treat apart.
fn head(
    parts: &hyper::http::response::Parts,
    length: Option<u64>,
    last: bool,
    out: &mut Vec<u8>,
) -> bool {
    let status = parts.status;
    let reason = parts.extensions.get::<hyper::ext::ReasonPhrase>();
    if status == StatusCode::OK && reason.is_none() {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        match reason {
            Some(reason) => out.extend_from_slice(reason.as_bytes()),
            None => out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
    let mut dated = false;
    for (name, value) in &parts.headers {
        debug_assert!(
            !matches!(
                *name,
                header::CONTENT_LENGTH
                    | header::TRANSFER_ENCODING
                    | header::CONNECTION
                    | header::TRAILER
            ),
            "hyper writes {name} apart"
        );
        dated |= name == header::DATE;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if last {
        out.extend_from_slice(b"connection: close\r\n");
    }
    let with_body = !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    if with_body {
        match length {
            Some(length) => {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
    }
    if !dated {
        out.extend_from_slice(b"date: ");
        date(out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    with_body
}

thread_local! {
    /// The `Date` of this second, formatted once a second and thread, as hyper does.
    static DATE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

fn date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = httpdate::fmt_http_date(now).into_bytes();
        }
        out.extend_from_slice(text);
    });
}

async fn write_all(stream: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        stream.writable().await?;
        match stream.try_write(&bytes[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, serve as listen};
    use super::*;
    use http_body_util::Either;
    use hyper::header::HeaderValue;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::{Notify, oneshot};

    /// An answer body in pieces of no known size (hyper sends it chunked).
    struct Pieces(VecDeque<Bytes>);

    impl Body for Pieces {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    /// An answer body whose one piece is ready only once `gate` is (a trickling body's first).
    struct Held {
        gate: Pin<Box<dyn Future<Output = ()> + Send + Sync>>,
        data: Option<Bytes>,
        length: u64,
    }

    impl Body for Held {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            std::task::ready!(self.gate.as_mut().poll(cx));
            Poll::Ready(self.data.take().map(|b| Ok(Frame::data(b))))
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(self.length)
        }
    }

    type Answer = Either<http_body_util::Full<Bytes>, Either<Pieces, Held>>;

    #[derive(Debug)]
    struct Refused;

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("refused")
        }
    }

    impl std::error::Error for Refused {}

    /// Answers with all the handler saw of the request (method, target, path, headers as the
    /// handler reads them, body), as the query asks: `status=N`, `reason=R`, `pieces`, `fail`, `wait` (says
    /// it `started`, then waits for `release`), `hold` (the body waits for `release`).
    async fn echo(
        head: Head,
        body: Arrived,
        (started, release, read_directly): Notes,
    ) -> Result<hyper::Response<Answer>, Refused> {
        if matches!(body, Arrived::Whole(_)) {
            read_directly.fetch_add(1, Ordering::Relaxed);
        }
        let body = body.collect().await.map_err(|_| Refused)?.to_bytes();
        let mut seen = format!("{} {} {}\n", head.method(), head.target(), head.path());
        for (name, value) in head.fields() {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let _ = writeln!(seen, "{name}: {:?}", String::from_utf8_lossy(value));
        }
        let _ = write!(seen, "\n{body:?}");
        let query = head.query().unwrap_or_default();
        let mut response = hyper::Response::new(Answer::Left(seen.clone().into()));
        for pair in query.split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("status", code) => {
                    *response.status_mut() = StatusCode::from_bytes(code.as_bytes()).unwrap()
                }
                ("reason", reason) => {
                    let reason = hyper::ext::ReasonPhrase::try_from(reason.as_bytes()).unwrap();
                    response.extensions_mut().insert(reason);
                }
                ("pieces", _) => {
                    let pieces = seen.as_bytes().chunks(7).map(Bytes::copy_from_slice);
                    *response.body_mut() = Answer::Right(Either::Left(Pieces(pieces.collect())));
                }
                ("hold", _) => {
                    let release = Arc::clone(&release);
                    *response.body_mut() = Answer::Right(Either::Right(Held {
                        gate: Box::pin(async move { release.notified().await }),
                        length: seen.len() as u64,
                        data: Some(seen.clone().into()),
                    }));
                }
                ("fail", _) => return Err(Refused),
                ("wait", _) => {
                    started.notify_one();
                    release.notified().await;
                }
                _ => {}
            }
        }
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.append("x-seen", HeaderValue::from_static("a"));
        headers.append("x-seen", HeaderValue::from_static("b"));
        Ok(response)
    }

    /// What `echo` says and is told: it `started`, its `release`, how many requests it had
    /// read directly.
    type Notes = (Arc<Notify>, Arc<Notify>, Arc<AtomicUsize>);

    struct Server {
        address: std::net::SocketAddr,
        started: Arc<Notify>,
        release: Arc<Notify>,
        read_directly: Arc<AtomicUsize>,
        stop: Option<oneshot::Sender<()>>,
    }

    /// serve's listener with `echo`, requests read directly or (`direct` off) by hyper alone.
    async fn server(direct: bool) -> Server {
        let listener = super::super::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = listener.local_addr().unwrap();
        let started = Arc::new(Notify::new());
        let release = Arc::new(Notify::new());
        let read_directly = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel();
        let limits = Limits {
            max_connections: 16,
            head_timeout: Duration::from_secs(30),
            direct,
        };
        let handle = {
            let notes = (
                Arc::clone(&started),
                Arc::clone(&release),
                Arc::clone(&read_directly),
            );
            move |head, body, _caller| echo(head, body, notes.clone())
        };
        let stop_on = async move {
            let _ = stopped.await;
        };
        tokio::spawn(listen(
            listener,
            crate::runtime::Cores::start("oa-hook test", crate::runtime::cores()),
            limits,
            handle,
            stop_on,
            std::future::pending(),
            || {},
            || {},
            |_: &hyper::Error| {},
        ));
        Server {
            address,
            started,
            release,
            read_directly,
            stop: Some(stop),
        }
    }

    /// All that comes back on a connection to `address` sent `parts` one after another (the
    /// caller's side closed after the last): answers with their `date` lines taken out.
    async fn exchange(address: std::net::SocketAddr, parts: &[&[u8]]) -> String {
        let mut socket = TcpStream::connect(address).await.unwrap();
        socket.set_nodelay(true).unwrap();
        for (n, part) in parts.iter().enumerate() {
            if n > 0 {
                // Not waiting for anything: the pieces apart, as a slow caller sends them.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            socket.write_all(part).await.unwrap();
        }
        socket.shutdown().await.unwrap();
        let mut answers = Vec::new();
        let _ = socket.read_to_end(&mut answers).await;
        undated(&answers)
    }

    fn undated(answers: &[u8]) -> String {
        let text = String::from_utf8_lossy(answers);
        let mut kept = String::new();
        for line in text.split_inclusive("\r\n") {
            if !line.starts_with("date: ") {
                kept.push_str(line);
            }
        }
        kept
    }

    const PLAIN: &[u8] =
        b"POST /im?SdkAppid=1&x=%20y HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 7\r\n\r\n{\"a\":1}";

    fn post(target: &str, extra: &str, body: &str) -> Vec<u8> {
        format!(
            "POST {target} HTTP/1.1\r\nHost: h\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Every kind of request and answer, read and answered directly and by hyper alone: the
    /// same bytes back, but for the `date`.
    #[tokio::test]
    async fn a_request_is_answered_the_same_directly_as_by_hyper() {
        let lines = |n: usize| {
            (0..n)
                .map(|n| format!("X-{n}: {n}\r\n"))
                .collect::<String>()
        };
        let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
            ("plain", vec![PLAIN.to_vec()]),
            ("two on one connection", vec![PLAIN.to_vec(), PLAIN.to_vec()]),
            ("pipelined", vec![[PLAIN, PLAIN].concat()]),
            ("head, then body", vec![PLAIN[..PLAIN.len() - 7].to_vec(), b"{\"a\":1}".to_vec()]),
            ("half a head", vec![PLAIN[..20].to_vec(), PLAIN[20..].to_vec()]),
            (
                "a head in three pieces",
                vec![PLAIN[..5].to_vec(), PLAIN[5..50].to_vec(), PLAIN[50..].to_vec()],
            ),
            ("half a head, then the end", vec![PLAIN[..20].to_vec()]),
            ("a head, then the end", vec![PLAIN[..PLAIN.len() - 7].to_vec()]),
            ("keep-alive", vec![post("/?x", "Connection: Keep-Alive\r\n", "{}"), PLAIN.to_vec()]),
            ("after a hand-over", vec![post("/?x", "Expect: 100-continue\r\n", "{}"), PLAIN.to_vec()]),
            ("connection: keep-alive, close", vec![post("/", "Connection: keep-alive, close\r\n", "{}"), PLAIN.to_vec()]),
            ("empty body", vec![post("/", "", "")]),
            ("no length", vec![b"POST / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()]),
            ("GET", vec![b"GET /?a HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()]),
            ("HEAD", vec![b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()]),
            ("HTTP/1.0", vec![b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}".to_vec()]),
            ("connection close", vec![post("/", "Connection: close\r\n", "{}")]),
            ("expect", vec![post("/", "Expect: 100-continue\r\n", "{}")]),
            ("upgrade", vec![post("/", "Upgrade: h2c\r\n", "{}")]),
            (
                "chunked",
                vec![b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".to_vec()],
            ),
            ("length +2", vec![b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}".to_vec()]),
            ("length 2, 2", vec![b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}".to_vec()]),
            ("two lengths", vec![b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}".to_vec()]),
            ("longer than its length", vec![post("/", "", "{}").into_iter().chain(*b"xx").collect()]),
            ("not HTTP", vec![b"hello there\r\n\r\n".to_vec()]),
            ("absolute target", vec![post("http://h/im?a=1", "", "{}")]),
            ("asterisk", vec![post("*", "", "{}")]),
            ("bad target", vec![post("/a\x7fb", "", "{}")]),
            ("obs-text value", vec![post("/", "X-Name: caf\u{e9}\r\n", "{}")]),
            ("a name's lines apart", vec![post("/", "VIA: 1\r\nX-B: b\r\nvia: 2\r\nVia: 3\r\n", "{}")]),
            ("braces", vec![post("/{a}?b={c}", "", "{}")]),
            ("braces and a quote in the path", vec![post("/{\"a\"}?b=1", "", "{}")]),
            ("a quote in the query", vec![post("/?a=\"b\"", "", "{}")]),
            ("a fragment", vec![post("/a?b=1#c", "", "{}")]),
            ("a backtick", vec![post("/`?`", "", "{}")]),
            ("angle brackets", vec![post("/?a=<b>", "", "{}")]),
            ("UTF-8 in the target", vec![post("/caf\u{e9}?\u{e9}=1", "", "{}")]),
            ("not UTF-8 in the target", vec![[&b"POST /\xff HTTP/1.1\r\nContent-Length: 2\r\n\r\n"[..], b"{}"].concat()]),
            ("an empty query", vec![post("/im?", "", "{}")]),
            ("a second ?", vec![post("/im?a=1?b=2", "", "{}")]),
            ("98 headers", vec![post("/", &lines(98), "{}")]),
            ("99 headers", vec![post("/", &lines(99), "{}")]),
            ("101 headers", vec![post("/", &lines(101), "{}")]),
            (
                "a long head in pieces",
                vec![post(&format!("/?{}", "a".repeat(70_000)), "", "{}"), PLAIN.to_vec()],
            ),
            ("status 401", vec![post("/?status=401", "", "{}")]),
            ("status 405", vec![post("/?status=405", "", "{}")]),
            ("status 204", vec![post("/?status=204", "", "{}"), PLAIN.to_vec()]),
            ("status 304", vec![post("/?status=304", "", "{}")]),
            ("status 299", vec![post("/?status=299", "", "{}")]),
            ("status 599", vec![post("/?status=599", "", "{}")]),
            ("reason", vec![post("/?reason=Fine", "", "{}")]),
            ("200 with a reason", vec![post("/?status=200&reason=Fine", "", "{}")]),
            ("pieces", vec![post("/?pieces", "", "{\"a\":[1,2,3]}"), PLAIN.to_vec()]),
            ("pieces, 204", vec![post("/?pieces&status=204", "", "{}")]),
            ("handler error", vec![post("/?fail", "", "{}"), PLAIN.to_vec()]),
        ];
        let direct = server(true).await;
        let hyper = server(false).await;
        for (name, parts) in &cases {
            let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let directly = exchange(direct.address, &parts).await;
            let by_hyper = exchange(hyper.address, &parts).await;
            assert_eq!(directly, by_hyper, "{name}");
        }
        // A plain request was read directly (not handed to hyper, so that the comparison compares
        // two ways of reading), and none with direct reading off.
        let before = direct.read_directly.load(Ordering::Relaxed);
        let plain = exchange(direct.address, &[PLAIN]).await;
        assert_eq!(direct.read_directly.load(Ordering::Relaxed), before + 1);
        assert_eq!(hyper.read_directly.load(Ordering::Relaxed), 0);
        // The answers are what the test says they are (so that two broken servers cannot agree).
        assert!(plain.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-seen: a\r\nx-seen: b\r\ncontent-length: "), "{plain}");
        assert!(plain.contains("POST /im?SdkAppid=1&x=%20y /im\nhost: \"h\"\ncontent-type: \"application/json\"\nx-a: \"1\"\nx-a: \"2\"\ncontent-length: \"7\"\n\nb\"{\\\"a\\\":1}\""), "{plain}");
        let two = exchange(direct.address, &[PLAIN, PLAIN]).await;
        assert_eq!(two.matches("HTTP/1.1 200 OK").count(), 2, "{two}");
        let pieces = exchange(direct.address, &[&post("/?pieces", "", "{}")]).await;
        assert!(
            pieces.contains("transfer-encoding: chunked\r\n\r\n7\r\nPOST /?\r\n"),
            "{pieces}"
        );
        let failed = exchange(direct.address, &[&post("/?fail", "", "{}"), PLAIN]).await;
        assert_eq!(failed, "");
    }

    fn read_directly(bytes: &[u8]) -> Option<(Head, Arrived)> {
        match plain(bytes) {
            Read::Plain(request) => Some(request),
            _ => None,
        }
    }

    /// What is read directly and what is hyper's: the cases above that the comparison covers
    /// both ways.
    #[test]
    fn only_a_plain_request_is_read_directly() {
        let (head, body) = read_directly(PLAIN).expect("plain");
        assert_eq!(head.target(), "/im?SdkAppid=1&x=%20y");
        assert_eq!(head.values("x-a").count(), 2);
        assert_eq!(body.size_hint().exact(), Some(7));
        assert!(read_directly(&post("/", "", "")).is_some());
        assert!(read_directly(&post("/", "Connection: keep-alive\r\n", "")).is_some());
        assert!(read_directly(&post("/?status=204", "X-Name: caf\u{e9}\r\n", "{}")).is_some());
        let others: [&[u8]; 14] = [
            &[PLAIN, PLAIN].concat(),
            &PLAIN[..PLAIN.len() - 1],
            &PLAIN[..20],
            b"POST / HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
            &post("/", "Connection: close\r\n", "{}"),
            &post("/", "Expect: 100-continue\r\n", "{}"),
            &post("/", "Upgrade: h2c\r\n", "{}"),
            &post("/", "Transfer-Encoding: chunked\r\n", "{}"),
            b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            &post("http://h/", "", "{}"),
            &post(
                "/",
                &(0..101)
                    .map(|n| format!("X-{n}: {n}\r\n"))
                    .collect::<String>(),
                "{}",
            ),
        ];
        for (n, other) in others.iter().enumerate() {
            assert!(read_directly(other).is_none(), "case {n}");
        }
    }

    /// An answer given once serve began to stop says `connection: close`, and the connection
    /// ends, as with hyper's graceful shutdown.
    #[tokio::test]
    async fn an_answer_given_while_stopping_closes_the_connection_as_hyper_does() {
        let mut answers = Vec::new();
        for direct in [true, false] {
            let mut server = server(direct).await;
            let mut socket = TcpStream::connect(server.address).await.unwrap();
            socket.write_all(&post("/?wait", "", "{}")).await.unwrap();
            server.started.notified().await;
            stop(&mut server).await;
            server.release.notify_one();
            answers.push(rest(&mut socket).await);
        }
        let close = "\r\nconnection: close\r\ncontent-length: ";
        assert!(answers[0].contains(close), "{}", answers[0]);
        assert_eq!(answers[0], answers[1]);
    }

    /// Tells `server` to stop and waits until it no longer listens: its connections know then.
    async fn stop(server: &mut Server) {
        let _ = server.stop.take().unwrap().send(());
        while TcpStream::connect(server.address).await.is_ok() {
            tokio::task::yield_now().await;
        }
    }

    /// All that is left to read on `socket`, the `date` taken out.
    async fn rest(socket: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        socket.read_to_end(&mut answer).await.unwrap();
        undated(&answer)
    }

    /// A first request still arriving when serve begins to stop is read and answered, with
    /// `connection: close`, as hyper does (a connection that has answered nothing is not idle).
    #[tokio::test]
    async fn a_first_request_arriving_as_serve_stops_is_answered_as_hyper_does() {
        let mut answers = Vec::new();
        for direct in [true, false] {
            let mut server = server(direct).await;
            let mut socket = TcpStream::connect(server.address).await.unwrap();
            socket.write_all(&PLAIN[..20]).await.unwrap();
            // Connections are accepted in turn: once a later one is being answered, this one
            // is serve's (not one in the kernel's queue, which stopping refuses).
            let mut later = TcpStream::connect(server.address).await.unwrap();
            later.write_all(&post("/?wait", "", "{}")).await.unwrap();
            server.started.notified().await;
            stop(&mut server).await;
            server.release.notify_one();
            socket.write_all(&PLAIN[20..]).await.unwrap();
            answers.push(rest(&mut socket).await);
        }
        let answered = answers[0].starts_with("HTTP/1.1 200 OK\r\n");
        assert!(
            answered && answers[0].contains("\r\nconnection: close\r\n"),
            "{}",
            answers[0]
        );
        assert_eq!(answers[0], answers[1]);
    }

    /// The head of an answer whose body is not ready goes at once, as hyper sends it: a
    /// trickling body (`--fault slow-body`) does not hold the status back.
    #[tokio::test]
    async fn the_head_goes_before_a_body_that_is_not_ready() {
        for direct in [true, false] {
            let server = server(direct).await;
            let mut socket = TcpStream::connect(server.address).await.unwrap();
            socket.write_all(&post("/?hold", "", "{}")).await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            let read_head = async {
                while !head.ends_with(b"\r\n\r\n") {
                    assert_eq!(socket.read(&mut byte).await.unwrap(), 1, "{head:?}");
                    head.push(byte[0]);
                }
            };
            // Not a timing: a guard, so that a head held back fails rather than hangs.
            let came = tokio::time::timeout(Duration::from_secs(20), read_head).await;
            assert!(came.is_ok(), "direct {direct}: no head before the body");
            assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{head:?}");
            server.release.notify_one();
            let mut body = vec![0u8; 16];
            socket.read_exact(&mut body).await.unwrap();
            assert_eq!(&body, b"POST /?hold /\nho");
        }
    }
}
