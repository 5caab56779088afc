//! A request and its answer on a kept connection's bare socket, for what hyper would read the
//! same way at a fraction of the cost: the request as hyper writes it, in one `send`; an answer
//! that is plain (HTTP/1.1, a status from 200 to 599 but 204 and 304, one `Content-Length` and
//! no `Transfer-Encoding`, its head and body and nothing after them) read into the thread's
//! buffer ([`crate::socket`]) and parsed with httparse, as hyper parses it. Anything else (and
//! every error) is handed to hyper with the bytes read so far, on a socket that gives hyper
//! those first and swallows the request hyper writes again, so that hyper reads the rest, and
//! says what is wrong, exactly as if it had done the whole exchange. hyper's connection task,
//! its channels and its buffers were a third of load mode's work a request and a fifth of the
//! tap's (callgrind: 17.6k -> 11.8k and 66k -> 52k instructions).

use super::connection::Outgoing;
use super::headers::Headers;
use super::{Exchange, says_close};
use crate::protocol::MAX_BODY_BYTES;
use crate::socket::READ_AT_ONCE;
use bytes::Bytes;
use reqwest::header::{self, HeaderName, HeaderValue};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The longest request written directly; a longer one (the tap passes on bodies of any length)
/// goes through hyper, which writes its body without copying it.
const MAX_REQUEST: usize = 64 * 1024;

/// The longest answer read directly, head and body; a longer one is hyper's to read.
const MAX_ANSWER: usize = 64 * 1024;

/// The most header lines of an answer read directly (hyper takes up to 100).
const MAX_HEADERS: usize = 32;

/// A connection's socket while every exchange on it was plain.
pub(super) struct Direct {
    stream: TcpStream,
    /// The request being written, its room kept for the next.
    out: Vec<u8>,
    /// Whether the connection takes no further request: the answer said `Connection: close`.
    /// (An exchange abandoned halfway drops the socket: hyper closes such a connection too.)
    done: bool,
}

impl Direct {
    pub(super) fn new(stream: TcpStream) -> Self {
        Direct {
            stream,
            out: Vec::new(),
            done: false,
        }
    }

    #[cfg(test)]
    pub(super) fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Whether the connection may take another request: `false` once the backend closed it
    /// (or sent bytes nobody asked for, which hyper takes for a broken connection too). Costs
    /// no system call while the socket has not become readable.
    pub(super) fn is_open(&self) -> bool {
        let mut peeked = [0u8; 1];
        let mut peeked = ReadBuf::new(&mut peeked);
        let mut cx = Context::from_waker(Waker::noop());
        // Pending: nothing came (hyper's connection task would have slept too).
        !self.done && self.stream.poll_peek(&mut cx, &mut peeked).is_pending()
    }

    /// Sends `request` and reads its answer when both are plain; else hands the socket over
    /// to hyper, with what was written and read of the exchange so far. Dropped halfway (a
    /// timeout), it closes the connection.
    pub(super) async fn exchange(
        mut self,
        request: &Outgoing,
        start: Instant,
    ) -> Result<(Self, Exchange), Handed> {
        self.out.clear();
        if !encode(request, &mut self.out) {
            return Err(Handed::new(self.stream, Vec::new()));
        }
        let mut written = 0;
        while written < self.out.len() {
            let tried = match self.stream.writable().await {
                Ok(()) => self.stream.try_write(&self.out[written..]),
                Err(e) => Err(e),
            };
            match tried {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    let mut handed = Handed::new(self.stream, self.out);
                    handed.request.truncate(written);
                    handed.write_error = Some(e);
                    return Err(handed);
                }
            }
        }
        let mut gathered = Vec::new();
        loop {
            if let Err(e) = self.stream.readable().await {
                return Err(self.hand_over(gathered, Some(e)));
            }
            let step = crate::socket::read_now(&self.stream, READ_AT_ONCE, |read| {
                if read.is_empty() {
                    // The end of the stream before a whole answer: hyper says so.
                    return Step::HandOver;
                }
                let first = gathered.is_empty();
                if !first {
                    gathered.extend_from_slice(read);
                }
                let bytes = if first { read } else { &gathered[..] };
                match plain(bytes, start) {
                    Read::Plain(exchange) => Step::Answered(exchange),
                    read_so_far => {
                        if first {
                            gathered.extend_from_slice(read);
                        }
                        match read_so_far {
                            Read::Partial if gathered.len() <= MAX_ANSWER => Step::Again,
                            _ => Step::HandOver,
                        }
                    }
                }
            });
            let step = match step {
                Ok(step) => step,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Again,
                Err(e) => Step::Failed(e),
            };
            match step {
                Step::Again => {}
                Step::Answered(exchange) => {
                    // hyper closes a connection whose answer said so.
                    self.done = exchange.closes_connection();
                    return Ok((self, exchange));
                }
                Step::Failed(e) => return Err(self.hand_over(gathered, Some(e))),
                Step::HandOver => return Err(self.hand_over(gathered, None)),
            }
        }
    }

    fn hand_over(self, read: Vec<u8>, read_error: Option<io::Error>) -> Handed {
        let mut handed = Handed::new(self.stream, self.out);
        handed.read = Bytes::from(read);
        handed.read_error = read_error;
        handed
    }
}

enum Step {
    Again,
    Answered(Exchange),
    Failed(io::Error),
    HandOver,
}

/// `request` as hyper's HTTP/1.1 client writes it (method, request target, `HTTP/1.1`, each
/// header as `name: value` in the map's order, the body after a blank line), into `out`;
/// `false` for a request hyper would write otherwise or whose answer it reads otherwise.
fn encode(request: &Outgoing, out: &mut Vec<u8>) -> bool {
    let uri = &request.target;
    let (Some(target), None, None) = (uri.path_and_query(), uri.scheme(), uri.authority()) else {
        return false;
    };
    let headers = &request.headers;
    let body = &request.body;
    let mut lengths = headers.get_all(&header::CONTENT_LENGTH);
    let length = lengths
        .next()
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    let plain = !matches!(request.method, hyper::Method::HEAD | hyper::Method::CONNECT)
        && headers.get_all(&header::TRANSFER_ENCODING).next().is_none()
        && lengths.next().is_none()
        && length == Some(body.len())
        && body.len() <= MAX_REQUEST;
    if !plain {
        return false;
    }
    out.reserve(64 + headers.len() * 32 + body.len());
    out.extend_from_slice(request.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_str().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    true
}

enum Read {
    Plain(Exchange),
    /// Not all of it yet.
    Partial,
    /// Not a plain answer, or not one at all: hyper's to read.
    Other,
}

/// `bytes`, all that came of an answer, read as hyper reads it when it is a plain answer and
/// exactly that.
fn plain(bytes: &[u8], start: Instant) -> Read {
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut lines);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Read::Partial,
        Err(_) => return Read::Other,
    };
    let (Some(1), Some(status)) = (response.version, response.code) else {
        return Read::Other;
    };
    if !(200..=599).contains(&status) || status == 204 || status == 304 {
        return Read::Other;
    }
    let mut headers = Headers::with_capacity(response.headers.len());
    let mut length = None;
    let mut closes = false;
    for line in response.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(line.name.as_bytes()),
            HeaderValue::from_bytes(line.value),
        ) else {
            return Read::Other;
        };
        if name == header::TRANSFER_ENCODING {
            return Read::Other;
        }
        closes |= name == header::CONNECTION && says_close(&value);
        if name == header::CONTENT_LENGTH {
            let digits = line.value;
            if length.is_some() || digits.is_empty() || digits.len() > 18 {
                return Read::Other;
            }
            if !digits.iter().all(u8::is_ascii_digit) {
                return Read::Other;
            }
            length = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok());
        }
        headers.append(name, value);
    }
    let Some(length) = length.filter(|&length: &usize| length <= MAX_BODY_BYTES) else {
        return Read::Other;
    };
    match bytes.len().cmp(&(head + length)) {
        std::cmp::Ordering::Less => Read::Partial,
        // Bytes after the answer: hyper takes the connection for broken once it is answered.
        std::cmp::Ordering::Greater => Read::Other,
        std::cmp::Ordering::Equal => Read::Plain(Exchange {
            status,
            headers,
            body: bytes[head..].to_vec(),
            truncated: false,
            latency: start.elapsed(),
            closes,
        }),
    }
}

/// A socket handed to hyper halfway through an exchange: reads give first what was read of
/// the answer (and then the error the reading met), once hyper has written the request, whose
/// bytes, sent already, go nowhere; then it is the socket itself.
pub(super) struct Handed {
    stream: TcpStream,
    /// What went out of the request, which hyper writes again.
    request: Vec<u8>,
    swallowed: usize,
    /// The error writing met after `request`, for hyper's next write.
    write_error: Option<io::Error>,
    read: Bytes,
    read_error: Option<io::Error>,
    /// hyper's read waiting for the request to be written.
    reader: Option<Waker>,
}

impl Handed {
    pub(super) fn new(stream: TcpStream, request: Vec<u8>) -> Self {
        Handed {
            stream,
            request,
            swallowed: 0,
            write_error: None,
            read: Bytes::new(),
            read_error: None,
            reader: None,
        }
    }

    fn writing_again(&self) -> bool {
        self.swallowed < self.request.len()
    }

    /// Takes `buf`'s bytes written already; `None` once there are none left to take.
    fn swallow(&mut self, buf: &[u8]) -> Option<usize> {
        if !self.writing_again() {
            return None;
        }
        let n = buf.len().min(self.request.len() - self.swallowed);
        debug_assert_eq!(
            buf[..n],
            self.request[self.swallowed..self.swallowed + n],
            "hyper writes the request as it was written"
        );
        self.swallowed += n;
        if !self.writing_again() {
            self.wake_reader();
        }
        Some(n)
    }

    /// The error the request met being written, once hyper has written as far.
    fn write_error(&mut self) -> Option<io::Error> {
        let e = self.write_error.take()?;
        self.wake_reader();
        Some(e)
    }

    fn wake_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }
}

impl AsyncRead for Handed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.writing_again() || this.write_error.is_some() {
            // hyper reads an idle connection for a close: the answer is not for it yet.
            this.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if crate::socket::give_read_first(&mut this.read, buf) {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = this.read_error.take() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Handed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(n) = this.swallow(buf) {
            return Poll::Ready(Ok(n));
        }
        if let Some(e) = this.write_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.writing_again() {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return Poll::Ready(Ok(this.swallow(first).unwrap_or(0)));
        }
        if let Some(e) = this.write_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
