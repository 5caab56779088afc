//! Ctrl-C and SIGTERM for the commands that run for a while (`check`, `replay`, load mode,
//! `serve`): the first stops the run gracefully, so that what ran is still reported and the
//! exit code says it was interrupted (130 or 143, never a pass); a second quits at once.

use crate::error::exit;
use std::io;
use tokio::sync::watch;

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: a CI runner's or a service manager's stop.
    Terminate,
}

impl Signal {
    /// 128 plus the signal's number, as shells report a process the signal killed.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => exit::INTERRUPTED,
            Signal::Terminate => exit::TERMINATED,
        }
    }

    /// The signal's name, for messages and reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The two signals, listened for from [`Interrupts::listen`] on: the first is kept and
/// announced to every clone; a second ends the process at once with the first one's exit code,
/// or, for a server that must first close its record, is announced as well
/// ([`Interrupts::listen_twice`]).
#[derive(Clone)]
pub(crate) struct Interrupts {
    first: watch::Receiver<Option<Signal>>,
    second: watch::Receiver<bool>,
}

impl Interrupts {
    /// Must be called inside a tokio runtime.
    pub(crate) fn listen() -> io::Result<Self> {
        Interrupts::start(true)
    }

    /// [`Interrupts::listen`], where a second signal is announced by [`Interrupts::again`]
    /// instead of ending the process: the caller quits at once but closes what must be closed.
    pub(crate) fn listen_twice() -> io::Result<Self> {
        Interrupts::start(false)
    }

    fn start(exit_on_second: bool) -> io::Result<Self> {
        let (tell, first) = watch::channel(None);
        let (tell_again, second) = watch::channel(false);
        let mut signals = Signals::new()?;
        tokio::spawn(async move {
            let signal = signals.next().await;
            tell.send_replace(Some(signal));
            signals.next().await;
            if exit_on_second {
                std::process::exit(i32::from(signal.exit_code()));
            }
            tell_again.send_replace(true);
        });
        Ok(Interrupts { first, second })
    }

    /// Whether a second signal has come (with [`Interrupts::listen_twice`]).
    pub(crate) fn came_twice(&self) -> bool {
        *self.second.borrow()
    }

    /// Waits for a second signal (with [`Interrupts::listen_twice`]).
    pub(crate) async fn again(&self) {
        let mut second = self.second.clone();
        if second.wait_for(|again| *again).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The first signal, if one has come.
    pub(crate) fn received(&self) -> Option<Signal> {
        *self.first.borrow()
    }

    /// Waits for the first signal (at once if it has come already).
    pub(crate) async fn wait(&self) -> Signal {
        let mut first = self.first.clone();
        let signal = first.wait_for(Option::is_some).await.map(|signal| *signal);
        match signal {
            Ok(signal) => signal.unwrap_or(Signal::Interrupt),
            // The listener is gone only with the runtime: no signal will come.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> io::Result<Self> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}
