//! The engine behind `oa-hook serve`: a mock backend that validates every callback with the
//! protocol module, answers by policy, and reports each one. Connections and their limits are in
//! `listen`, one request in `handler`, the policy in `policy`, rehearsed faults in `fault`,
//! event and record lines in `event`, their writers in `writers`, and the live page of
//! `--inspect` in `inspect`.

mod event;
pub(crate) mod fault;
mod handler;
mod head;
mod inspect;
pub(crate) mod listen;
mod policy;
mod query;
mod tap;
pub(crate) mod writers;

pub(crate) use inspect::Settings as InspectSettings;
pub(crate) use policy::Policy;
pub(crate) use tap::Tap;

use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::interrupt::Interrupts;
use crate::output;
use crate::output::OutputFormat;
use crate::protocol::Receiver;
use handler::{Server, handle};
use head::Head;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// After the server stops, how long stdout gets to take the event lines still queued.
const GRACE: Duration = Duration::from_secs(1);

/// Everything `serve` is told, in plain terms.
pub(crate) struct Settings {
    pub listen: SocketAddr,
    pub receiver: Receiver,
    pub policy: Policy,
    pub output: OutputFormat,
    /// No `send` example after the `listening on` line.
    pub quiet: bool,
    /// The token came from `--token`: the `send` example reads it from `OA_HOOK_TOKEN`.
    pub token_on_command_line: bool,
    /// `--record`: the path (for messages, and to reopen on `SIGHUP`) and where it goes.
    pub record: Option<(PathBuf, writers::Destination)>,
    /// `--record-sign`: keep each request's `Sign` in the record.
    pub record_sign: bool,
    pub max_connections: usize,
    pub head_timeout: Duration,
    /// After the first Ctrl-C or SIGTERM, how long requests in flight get to finish.
    pub drain_timeout: Duration,
    /// `--forward-to`: a tap in front of this backend instead of a mock.
    pub tap: Option<Tap>,
    /// `--fault`: what goes wrong with some answers, on purpose.
    pub faults: Option<fault::Faults>,
    /// `--inspect`: the live page, on a port of its own.
    pub inspect: Option<InspectSettings>,
}

/// Serves until Ctrl-C or SIGTERM, then says what was answered and recorded on stderr.
pub(crate) async fn run(settings: Settings, clock: Clock) -> Result<Outcome> {
    let Settings {
        listen: listen_on,
        receiver,
        policy,
        output,
        quiet,
        token_on_command_line,
        record,
        record_sign,
        max_connections: wanted_connections,
        head_timeout,
        drain_timeout,
        tap,
        faults,
        inspect,
    } = settings;
    let listener = listen::bind(listen_on).map_err(|e| bind_error(listen_on, &e))?;
    let address = listener
        .local_addr()
        .map_err(|e| bind_error(listen_on, &e))?;
    let inspect = inspect
        .map(|settings| inspect::bind(settings, address))
        .transpose()?;
    // Listened for before the banner is printed, so that a signal sent as soon as the URL
    // appears stops the server gracefully instead of killing it.
    let interrupts = Interrupts::listen_twice()
        .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
    let max_connections = listen::connections_the_os_allows(wanted_connections);
    // Every core's event loop runs before the URL is printed: serve is then ready to take
    // connections on all of them.
    let cores = crate::runtime::Cores::start("oa-hook serve", crate::runtime::cores());
    print_banner(&receiver, output, address, quiet, token_on_command_line);
    if let Some(tap) = &tap {
        let forwarding = format!("passing every request on to {}", output::masked(&tap.url));
        let _ = writeln!(output.notes(), "{forwarding}");
    }
    // The seed is always said, so that a run can be drawn again; `-q` keeps it off stdout.
    if let Some(faults) = &faults {
        let mut notes = if quiet {
            Box::new(output::stderr())
        } else {
            output.notes()
        };
        let _ = writeln!(notes, "{}", faults.banner());
    }
    if let Some(inspect) = &inspect {
        inspect.say(output);
    }
    if max_connections < wanted_connections && !quiet {
        writeln!(
            output::stderr(),
            "note: the open-file limit allows {max_connections} connections at once, not --max-connections {wanted_connections}"
        )?;
    }

    let cannot_start = |e: io::Error| Error::internal(format!("cannot start a writer thread: {e}"));
    let record_path = record.as_ref().map(|(path, _)| path.clone());
    let record = match record {
        Some((path, destination)) => {
            let record = writers::Record::start(destination, path.clone()).map_err(cannot_start)?;
            reopen_on_hangup(record.reopener(&path))
                .map_err(|e| Error::internal(format!("cannot listen for SIGHUP: {e}")))?;
            Some(record)
        }
        None => None,
    };
    let inspector = inspect
        .map(|inspect| {
            inspect.start(inspect::Serving {
                backend: tap.as_ref().map(|tap| tap.url.clone()),
                sdkappid: receiver.sdk_appid,
                clock,
            })
        })
        .transpose()?;
    let server = Arc::new(Server {
        inspector: inspector.as_ref().map(|running| running.inspector.clone()),
        receiver,
        policy,
        clock,
        format: output,
        palette: output::Palette::for_stdout(),
        events: writers::Events::start().map_err(cannot_start)?,
        record: record.as_ref().map(writers::Record::queue),
        record_sign,
        body_timeout: head_timeout,
        answered: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        tap,
        faults,
        cut: watch::Sender::new(false),
        kept: Default::default(),
    });
    let limits = listen::Limits {
        max_connections,
        head_timeout,
        direct: true,
    };
    let in_flight = Arc::new(AtomicUsize::new(0));
    let handler = {
        let server = Arc::clone(&server);
        let in_flight = Arc::clone(&in_flight);
        move |head: Head, body: listen::Arrived, caller: listen::Caller| {
            let counted = InFlight::enter(&in_flight);
            let server = Arc::clone(&server);
            // `handle` is called inside the block, not before it: a future made outside and
            // awaited inside is kept twice in the block's state (as captured, and as awaited),
            // and hyper keeps that state for every connection: 10.6 KiB so, 3.3 KiB now (with
            // `listen::serve`), 0.5 to 0.8 MiB less peak RSS under 64 connections.
            async move {
                let answer = handle(server, head, body, caller.clone()).await;
                drop(counted);
                fault::deliver(answer, &caller).await
            }
        }
    };
    let drain = {
        let interrupts = interrupts.clone();
        async move {
            tokio::select! {
                () = tokio::time::sleep(drain_timeout) => {}
                () = interrupts.again() => {}
            }
        }
    };
    let stop = {
        let interrupts = interrupts.clone();
        async move {
            let signal = interrupts.wait().await;
            let _ = writeln!(
                output::stderr(),
                "oa-hook: {} received: no new connections; waiting up to {} (--drain-timeout) for {} in flight; send it again to quit now",
                signal.name(),
                humantime::format_duration(drain_timeout),
                output::count(in_flight.load(Ordering::Relaxed), "request")
            );
        }
    };
    let at_cap = move || {
        let _ = writeln!(
            io::stderr(),
            "oa-hook: {max_connections} connections are open, the most serve holds at once: from now on the one idle the longest is closed to admit a new one, and when all are busy new ones wait until one finishes (--max-connections sets the cap)"
        );
    };
    let cut = {
        let server = Arc::clone(&server);
        move || {
            server.cut.send_replace(true);
        }
    };
    let refused = {
        let server = Arc::clone(&server);
        move |error: &hyper::Error| handler::refused_by_http(&server, error)
    };
    listen::serve(
        listener, cores, limits, handler, stop, drain, cut, at_cap, refused,
    )
    .await;
    if let Some(inspector) = inspector {
        inspector.stop().await;
    }

    // No handler runs any more: every answer given has its record line queued.
    let Ok(server) = Arc::try_unwrap(server) else {
        return Err(Error::internal("a request handler outlived the server"));
    };
    let Server {
        events,
        record: queue,
        answered,
        rejected,
        tap,
        ..
    } = server;
    drop(queue);
    // A record that takes nothing for as long as the drain may take is given up: Ctrl-C works.
    let recorded = match record {
        Some(record) => Some(record.finish(drain_timeout.max(GRACE)).await),
        None => None,
    };
    let dropped = events.finish(GRACE).await;
    let mut summary = if let Some(tap) = tap {
        let mut summary = format!(
            "stopped: {} request(s) passed on, {} of them not callbacks Chat could have sent",
            tap.passed.into_inner(),
            tap.invalid.into_inner()
        );
        let accepted = tap.forgeries_accepted.into_inner();
        if accepted > 0 {
            summary += &format!(", {accepted} forged one(s) ACCEPTED by the backend");
        }
        // Requests the tap refused itself: not POST, unreadable, or back from a loop.
        let answered = answered.into_inner();
        if answered > 0 {
            summary += &format!("; {answered} answered by the tap itself, not passed on");
        }
        summary
    } else {
        format!(
            "stopped: {} callback(s) answered, {} of them rejected as invalid",
            answered.into_inner(),
            rejected.into_inner()
        )
    };
    if let Some(recorded) = &recorded {
        summary += &format!("; {} recorded", recorded.lines);
        if recorded.lost > 0 {
            summary += &format!(", {} NOT recorded", recorded.lost);
        }
    }
    if dropped > 0 {
        summary += &format!("; {dropped} event line(s) not printed (stdout did not take them)");
    }
    writeln!(output::stderr(), "{summary}")?;
    match (recorded.and_then(|r| r.error), &record_path) {
        (Some(e), Some(path)) => Err(Error::usage(format!(
            "cannot write to --record {}: {e}",
            path.display()
        ))
        .hint(
            "check the disk has room, and that whatever reads a FIFO or pipe keeps reading; the callbacks counted as NOT recorded were answered all the same",
        )),
        // A second signal cut the drain short: requests in flight went unanswered.
        _ => Ok(match interrupts.received() {
            Some(signal) if interrupts.came_twice() => Outcome::Interrupted(signal),
            _ => Outcome::Pass,
        }),
    }
}

fn bind_error(address: SocketAddr, e: &io::Error) -> Error {
    let error = Error::usage(format!("cannot listen on {address}: {e}"));
    match e.kind() {
        io::ErrorKind::AddrInUse => error.hint(
            "another program listens there: stop it, or pick another port (--listen 127.0.0.1:0 picks a free one)",
        ),
        io::ErrorKind::PermissionDenied => {
            error.hint("ports below 1024 need privileges: pick a higher port with --listen")
        }
        io::ErrorKind::AddrNotAvailable => error.hint(
            "that address is not on this machine: use 127.0.0.1 (this machine) or 0.0.0.0 (all interfaces)",
        ),
        _ => error.hint("check --listen"),
    }
}

/// `SIGHUP` reopens the record by its path, as web servers reopen their logs after logrotate
/// moved them.
#[cfg(unix)]
fn reopen_on_hangup(reopen: impl Fn() + Send + 'static) -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            reopen();
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reopen_on_hangup(_: impl Fn() + Send + 'static) -> io::Result<()> {
    Ok(())
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The URL first, alone on its line, because tools wait for it; then a `send` command for it,
/// to paste into a shell as it is: nothing but words (a `#` comment is an argument in zsh), the
/// token read from `OA_HOOK_TOKEN` by `send` itself (never printed, nor put where `ps` shows
/// it), and said on stderr when it came from `--token`, which that shell does not have. With
/// `--output json` every stdout line is JSON: the URL comes as `{"listening":"http://..."}` and
/// the rest goes to stderr.
fn print_banner(
    receiver: &Receiver,
    output: OutputFormat,
    address: SocketAddr,
    quiet: bool,
    token_on_command_line: bool,
) {
    let url = format!("http://{address}");
    // A closed stdout (`serve | head -1`) is no reason to stop answering callbacks: it is said
    // on stderr once event lines find it closed.
    match output {
        OutputFormat::Human => {
            let _ = writeln!(output::stdout(), "listening on {url}");
        }
        OutputFormat::Json => {
            let _ = writeln!(
                output::stdout(),
                "{}",
                serde_json::json!({ "listening": url })
            );
            let _ = writeln!(output::stderr(), "listening on {url}");
        }
    }
    if quiet {
        return;
    }
    let example = send_command(address, receiver.sdk_appid);
    let _ = writeln!(output.notes(), "{example}");
    if receiver.token.is_some() && token_on_command_line {
        let _ = writeln!(
            output::stderr(),
            "note: that command reads the token from OA_HOOK_TOKEN, and serve's came from --token: run it where OA_HOOK_TOKEN holds the same token (export OA_HOOK_TOKEN=...)"
        );
    }
}

/// `oa-hook send` to a server listening on `address`: on this machine when it listens on every
/// interface, since 0.0.0.0 and :: are not addresses to send to everywhere.
fn send_command(address: SocketAddr, sdk_appid: Option<u64>) -> String {
    let mut to = address;
    if to.ip().is_unspecified() {
        to.set_ip(match to {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let mut command = format!("oa-hook send before-subscribe --url http://{to}/");
    if let Some(id) = sdk_appid {
        command += &format!(" --sdkappid {id}");
    }
    command
}
