//! Reading a TCP socket that tokio watches, without the system call tokio's own reads spend
//! to learn that it is drained, into a buffer of the thread's: serve reads its callers so, and
//! a kept connection the answers of its backend.

use bytes::Bytes;
use socket2::SockRef;
use std::cell::RefCell;
use std::io::{self, Read as _};
use tokio::io::{Interest, ReadBuf};
use tokio::net::TcpStream;

/// The most one read takes.
pub(crate) const READ_AT_ONCE: usize = 16 * 1024;

thread_local! {
    /// Where a read lands before its bytes go on: hyper offers its spare buffer uninitialised
    /// on every read, and zeroing it first (all of it, 8 KiB and more) cost more than a
    /// callback's bytes; this is zeroed once a thread, and a kept connection holds no buffer
    /// of its own for answers that come whole.
    static LANDING: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_AT_ONCE]);
}

/// Reads at most `most` bytes (up to [`READ_AT_ONCE`]) of what `stream` has and hands them
/// to `take`: `Ok` with its output (the bytes are empty at the end of the stream), or the
/// error, `WouldBlock` when nothing had come. A read that left room has drained the socket
/// (epoll is edge-triggered): readiness is cleared then, as tokio's own reads do, rather than
/// by one more read that finds nothing (a `recvfrom` a request). Data that arrives meanwhile
/// is a new readiness event, which this does not clear.
pub(crate) fn read_now<T>(
    stream: &TcpStream,
    most: usize,
    take: impl FnOnce(&[u8]) -> T,
) -> io::Result<T> {
    LANDING.with_borrow_mut(|landing| {
        let into = &mut landing[..most.min(READ_AT_ONCE)];
        let mut read = 0;
        let tried = stream.try_io(Interest::READABLE, || {
            read = (&*SockRef::from(stream)).read(into)?;
            if read > 0 && read < into.len() {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(())
            }
        });
        match tried {
            Err(e) if read == 0 => Err(e),
            _ => Ok(take(&into[..read])),
        }
    })
}

/// Gives `buf` what it has room for of `read`, bytes read off a socket before the reader
/// handed over to took it (hyper, on a connection oa-hook began to read itself); whether there
/// were any.
pub(crate) fn give_read_first(read: &mut Bytes, buf: &mut ReadBuf<'_>) -> bool {
    if read.is_empty() {
        return false;
    }
    let n = buf.remaining().min(read.len());
    buf.put_slice(&read.split_to(n));
    true
}
