//! The accept loop: HTTP/1.1 connections kept alive as Chat keeps them, within limits that keep
//! hostile clients from locking genuine callbacks out (slow or idle sockets, too many of them),
//! and the caller's side of each connection watched, so that a caller that hangs up before its
//! answer is said and recorded rather than lost.

mod direct;

pub(crate) use direct::Arrived;

use super::head::Head;
use crate::runtime::Cores;
use bytes::Bytes;
use futures_util::FutureExt as _;
use hyper::body::{Body, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

/// How hostile clients are bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections open at once; past it, the connection idle the longest is closed to admit a
    /// new one, or, when every one is busy, new ones wait in the kernel's queue until one closes.
    pub max_connections: usize,
    /// How long a request's head may take to arrive, and how long a kept-alive connection may
    /// sit idle between requests (one timer in hyper for both).
    pub head_timeout: Duration,
    /// Whether plain requests are read and answered on the bare socket ([`direct`]); off,
    /// every request is hyper's (to compare the two).
    pub direct: bool,
}

/// File descriptors kept free for everything else (the record, stdout, the listener, accept).
const SPARE_FILES: u64 = 64;

/// Connections the kernel queues before serve accepts them (capped by the kernel's
/// `net.core.somaxconn`).
const BACKLOG: u32 = 4096;

/// At the cap with every connection busy, how often the one idle the longest is looked for
/// again.
const EVICT_AGAIN: Duration = Duration::from_millis(50);

/// Once the drain is over, how long the requests still in flight get to say they were cut.
const CUT_GRACE: Duration = Duration::from_secs(1);

/// Raises the soft limit on open files as far as the OS allows and returns the most
/// connections that fit under it (at least 1), so that the cap is what limits, not `EMFILE`.
pub(crate) fn connections_the_os_allows(wanted: usize) -> usize {
    let wanted_files = (wanted as u64).saturating_add(SPARE_FILES);
    let limit = rlimit::increase_nofile_limit(wanted_files).unwrap_or(wanted_files);
    usize::try_from(limit.saturating_sub(SPARE_FILES))
        .unwrap_or(usize::MAX)
        .clamp(1, wanted.max(1))
}

/// A listener on `address` with a long accept queue, so that a burst of callbacks waits in
/// the kernel rather than being refused.
pub(crate) fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// The caller's end of one connection, as a request handler sees it.
#[derive(Clone)]
pub(crate) struct Caller(Arc<TcpStream>);

impl Caller {
    /// Resolves when the caller has closed its side of the connection (it hung up, or it
    /// half-closed and still waits for the answer: the two look alike until the answer is
    /// written). Call it once the request is read whole: data the caller sent after the
    /// request (a pipelined one) hides a close behind it, and then this never resolves.
    pub(crate) async fn closed(&self) {
        let mut byte = [0u8; 1];
        let peeked = std::future::poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut byte);
            self.0.poll_peek(cx, &mut buf)
        })
        .await;
        if !matches!(peeked, Ok(0)) {
            std::future::pending::<()>().await;
        }
    }

    /// Makes the connection end in a reset (RST) rather than a close, once it is dropped: a
    /// rehearsed fault (`serve --fault reset`).
    pub(crate) fn reset(&self) {
        let _ = self.0.set_zero_linger();
    }
}

/// A connection's socket, shared by hyper (which reads and writes it) and the handlers (which
/// watch for the caller closing it, see [`Caller::closed`]); reads give first the bytes read
/// before hyper took the connection over ([`direct`]).
struct Shared {
    stream: Arc<TcpStream>,
    /// Read before hyper took the connection.
    read: Bytes,
}

impl AsyncRead for Shared {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if crate::socket::give_read_first(&mut self.read, buf) {
            return Poll::Ready(Ok(()));
        }
        let stream = &self.stream;
        loop {
            ready!(stream.poll_read_ready(cx))?;
            match crate::socket::read_now(stream, buf.remaining(), |read| buf.put_slice(read)) {
                // Nothing came and readiness was cleared: the next poll waits for the socket.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Bytes, or the end of the stream (nothing read, no error).
                read => return Poll::Ready(read),
            }
        }
    }
}

impl Shared {
    /// Writes with `write` once the socket takes bytes; a write that finds it full after all
    /// waits for it again.
    fn poll_written(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match write(&self.stream) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |socket| socket.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_written(cx, |socket| socket.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The socket is closed, and its FIN sent, when the last handle to it is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The open connections, each with when it last fell idle, so that at the cap the one idle the
/// longest can be closed to admit a new one (an idle kept-alive connection costs a slot but
/// serves nobody; a hostile client holds the cap with them).
#[derive(Default)]
struct Connections {
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
    started: Option<Instant>,
}

struct Connection {
    /// Milliseconds since the server started when the connection last fell idle (accepted,
    /// or answered); [`BUSY`] while a request is being handled.
    idle_since: AtomicU64,
    /// Notified to close the connection if it is still idle.
    evict: Notify,
}

const BUSY: u64 = u64::MAX;

impl Connections {
    fn now(&self) -> u64 {
        self.started.map_or(0, |s| {
            u64::try_from(s.elapsed().as_millis()).unwrap_or(BUSY - 1)
        })
    }

    fn open(&self) -> (u64, Arc<Connection>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            idle_since: AtomicU64::new(self.now()),
            evict: Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&connection));
        }
        (id, connection)
    }

    fn close(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
    }

    /// Asks the connection idle the longest to close; whether there was one.
    fn evict_oldest_idle(&self) -> bool {
        let Ok(open) = self.open.lock() else {
            return false;
        };
        let oldest = open
            .values()
            .filter(|c| c.idle_since.load(Ordering::Relaxed) != BUSY)
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        if let Some(connection) = oldest {
            connection.evict.notify_one();
        }
        oldest.is_some()
    }
}

/// Serves `handle` on `listener`, each connection on one of `cores` in turn (stopped at the
/// end), until `stop` resolves, then lets open connections finish
/// their requests until `drained` resolves (it starts when `stop` has); then `cut` tells the
/// requests still in flight to stop waiting (they answer at once, and say so), and what is
/// left after a moment is dropped. When this returns, no handler runs any more. `at_cap` is
/// called once, the first time the cap is reached; `refused` for each request the HTTP
/// library refused before any handler saw it (a head it could not parse, or too large). A
/// handler that gives an error instead of an answer drops the connection unanswered.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve<H, F, B, E>(
    listener: TcpListener,
    mut cores: Cores,
    limits: Limits,
    handle: H,
    stop: impl Future<Output = ()>,
    drained: impl Future<Output = ()>,
    cut: impl FnOnce(),
    at_cap: impl FnOnce(),
    refused: impl Fn(&hyper::Error) + Clone + Send + 'static,
) where
    H: Fn(Head, Arrived, Caller) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<B>, E>> + Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Connections {
        started: Some(Instant::now()),
        ..Connections::default()
    });
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut at_cap = Some(at_cap);
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            stream = accept(&listener) => stream,
            () = &mut stop => break,
        };
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(say) = at_cap.take() {
                    say();
                }
                // Room for the new one, made by closing the connection idle the longest; when
                // every one is busy, it waits for one to finish or to fall idle.
                let slot = loop {
                    registry.evict_oldest_idle();
                    tokio::select! {
                        slot = Arc::clone(&slots).acquire_owned() => break slot.ok(),
                        () = tokio::time::sleep(EVICT_AGAIN) => {}
                        () = &mut stop => break None,
                    }
                };
                match slot {
                    Some(slot) => slot,
                    None => break,
                }
            }
        };
        // Small answers on kept-alive connections: without NODELAY, Nagle's algorithm and
        // delayed ACKs can hold an answer back for tens of milliseconds.
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let handle = handle.clone();
        let refused = refused.clone();
        let mut closed = closed.clone();
        let registry = Arc::clone(&registry);
        // Known before its task first runs, so that the next at the cap can close it.
        let (id, connection) = registry.open();
        let task = move |stream: io::Result<TcpStream>| async move {
            let Ok(stream) = stream else {
                registry.close(id);
                return;
            };
            let stream = Arc::new(stream);
            let handle = {
                let connection = Arc::clone(&connection);
                let registry = Arc::clone(&registry);
                move |head, body, caller| {
                    connection.idle_since.store(BUSY, Ordering::Relaxed);
                    let idle = IdleOnceWritten {
                        connection: Arc::clone(&connection),
                        registry: Arc::clone(&registry),
                    };
                    // Not an async block awaiting the answer: that would keep the handler's
                    // future twice in what hyper keeps for every connection (see `serve::run`).
                    handle(head, body, caller).map(move |answered| {
                        answered
                            .map(|response| response.map(|body| Answering { body, _idle: idle }))
                    })
                }
            };
            let served = if limits.direct {
                let timeout = limits.head_timeout;
                direct::serve(&stream, &handle, timeout, &mut closed, &connection).await
            } else {
                direct::Served::HandedOver(Bytes::new())
            };
            if let direct::Served::HandedOver(read) = served {
                let service = {
                    let caller = Caller(Arc::clone(&stream));
                    service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (parts, body) = request.into_parts();
                        handle(Head::from(parts), Arrived::Hyper(body), caller.clone())
                    })
                };
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.head_timeout)
                    // A caller that closes its side once the request is sent still gets the
                    // answer; one that hung up is found by its handler (`Caller::closed`).
                    .half_close(true)
                    .keep_alive(true);
                let connection_future = builder.serve_connection(
                    TokioIo::new(Shared {
                        stream: Arc::clone(&stream),
                        read,
                    }),
                    service,
                );
                tokio::pin!(connection_future);
                let served = tokio::select! {
                    served = connection_future.as_mut() => served,
                    () = async { let _ = closed.wait_for(|closing| *closing).await; } => {
                        connection_future.as_mut().graceful_shutdown();
                        connection_future.await
                    }
                    // No request is being handled on it: closing it loses nothing.
                    () = evicted(&connection) => Ok(()),
                };
                if let Err(e) = served
                    && (e.is_parse() || e.is_parse_too_large())
                {
                    refused(&e);
                }
            }
            registry.close(id);
            drop(slot);
        };
        match cores.next() {
            // Registered again by the core the connection goes to, which then runs its every
            // request: a core's own sockets wake its own thread.
            Some(core) => {
                let stream = stream.into_std();
                connections.spawn_on(
                    async move { task(stream.and_then(TcpStream::from_std)).await },
                    core,
                )
            }
            None => connections.spawn(task(Ok(stream))),
        };
    }
    drop(listener);
    let _ = closing.send(true);
    tokio::select! {
        () = async { while connections.join_next().await.is_some() {} } => {}
        () = drained => {
            cut();
            let _ = tokio::time::timeout(CUT_GRACE, async {
                while connections.join_next().await.is_some() {}
            })
            .await;
        }
    }
    connections.shutdown().await;
    cores.stop().await;
}

/// The next connection on `listener`. Failing to accept one (out of file descriptors, or a
/// connection reset before it was accepted) leaves the listener fine, so it waits a moment and
/// tries again rather than spin.
pub(crate) async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return stream,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// An answer's body, which marks its connection idle once it is written whole or given up
/// (dropped): until then the connection is busy, and the cap does not close it to admit
/// another (a trickling answer, `--fault slow-body`, was cut so when the connection counted
/// as idle once its handler returned).
struct Answering<B> {
    body: B,
    /// Marks the connection idle when dropped, with the body.
    _idle: IdleOnceWritten,
}

struct IdleOnceWritten {
    connection: Arc<Connection>,
    registry: Arc<Connections>,
}

impl Drop for IdleOnceWritten {
    fn drop(&mut self) {
        let now = self.registry.now();
        self.connection.idle_since.store(now, Ordering::Relaxed);
    }
}

impl<B: Body + Unpin> Body for Answering<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Resolves when the connection is asked to close while it is idle.
async fn evicted(connection: &Connection) {
    loop {
        connection.evict.notified().await;
        if connection.idle_since.load(Ordering::Relaxed) != BUSY {
            return;
        }
    }
}
