//! The accept loop: HTTP/1.1 connections kept alive as Chat keeps them, within limits that keep
//! hostile clients from locking genuine callbacks out (slow or idle sockets, too many of them).

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How hostile clients are bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections open at once; past it, new ones wait in the kernel's queue until one closes.
    pub max_connections: usize,
    /// How long a request's head may take to arrive, and how long a kept-alive connection may
    /// sit idle between requests (one timer in hyper for both).
    pub head_timeout: Duration,
}

/// The default cap on connections, when the file limit allows it.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// File descriptors kept free for everything else (the record, stdout, the listener, accept).
const SPARE_FILES: u64 = 64;

/// Raises the soft limit on open files as far as the OS allows and returns the most
/// connections that fit under it (at least 1), so that the cap is what limits, not `EMFILE`.
pub(crate) fn connections_the_os_allows(wanted: usize) -> usize {
    let wanted_files = (wanted as u64).saturating_add(SPARE_FILES);
    let limit = rlimit::increase_nofile_limit(wanted_files).unwrap_or(wanted_files);
    usize::try_from(limit.saturating_sub(SPARE_FILES))
        .unwrap_or(usize::MAX)
        .clamp(1, wanted.max(1))
}

/// Serves `handle` on `listener` until `stop` resolves, then lets open connections finish
/// their requests until `drained` resolves (it starts when `stop` has) and cuts the rest. When this returns, no
/// handler runs any more. `at_cap` is called once, the first time the cap is reached.
pub(crate) async fn serve<H, F>(
    listener: TcpListener,
    limits: Limits,
    handle: H,
    stop: impl Future<Output = ()>,
    drained: impl Future<Output = ()>,
    at_cap: impl FnOnce(),
) where
    H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = hyper::Response<http_body_util::Full<bytes::Bytes>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut at_cap = Some(at_cap);
    tokio::pin!(stop);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(say) = at_cap.take() {
                    say();
                }
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut stop => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors or a connection reset before it was accepted: the
                // listener is fine, so wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Small answers on kept-alive connections: without NODELAY, Nagle's algorithm and
        // delayed ACKs can hold an answer back for tens of milliseconds.
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let handle = handle.clone();
        let mut closed = closed.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let answer = handle(request);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { let _ = closed.wait_for(|closing| *closing).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // A client that never finishes its request must not keep Ctrl-C from working.
    tokio::select! {
        () = async { while connections.join_next().await.is_some() {} } => {}
        () = drained => {}
    }
    connections.shutdown().await;
}
