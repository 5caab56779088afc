//! The engine behind `oa-hook serve`: a mock backend that validates every callback with the
//! protocol module, answers by policy, and reports each one. Connections and their limits are in
//! `listen`, one request in `handler`, the policy in `policy`, event and record lines in
//! `event`, and their writers in `writers`.

mod event;
mod handler;
pub(crate) mod listen;
mod policy;
mod tap;
pub(crate) mod writers;

pub(crate) use policy::Policy;
pub(crate) use tap::Tap;

use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::output::OutputFormat;
use crate::protocol::Receiver;
use event::Look;
use handler::{Server, handle};
use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::net::TcpListener;

/// After Ctrl-C, how long in-flight requests get to finish on top of `--delay`.
const GRACE: Duration = Duration::from_secs(1);

/// The largest refused body kept in a record line.
const REFUSED_BODY_KEPT: usize = 64 << 10;

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
    /// `--record`: the path (for messages) and the file, opened to append.
    pub record: Option<(PathBuf, File)>,
    pub max_connections: usize,
    pub head_timeout: Duration,
    /// `--forward-to`: a tap in front of this backend instead of a mock.
    pub tap: Option<Tap>,
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
        max_connections: wanted_connections,
        head_timeout,
        tap,
    } = settings;
    let listener = TcpListener::bind(listen_on)
        .await
        .map_err(|e| bind_error(listen_on, &e))?;
    let address = listener
        .local_addr()
        .map_err(|e| bind_error(listen_on, &e))?;
    let stop =
        stop_signals().map_err(|e| Error::usage(format!("cannot listen for Ctrl-C: {e}")))?;
    let max_connections = listen::connections_the_os_allows(wanted_connections);
    print_banner(&receiver, output, address, quiet, token_on_command_line);
    if let Some(tap) = &tap {
        let forwarding = format!(
            "passing every request on to {}",
            crate::report::masked(&tap.url)
        );
        let _ = match output {
            OutputFormat::Human => writeln!(output::stdout(), "{forwarding}"),
            OutputFormat::Json => writeln!(output::stderr(), "{forwarding}"),
        };
    }
    let tapping = tap.is_some();
    if max_connections < wanted_connections && !quiet {
        writeln!(
            output::stderr(),
            "note: the open-file limit allows {max_connections} connections at once, not --max-connections {wanted_connections}"
        )?;
    }

    let cannot_start = |e: io::Error| Error::internal(format!("cannot start a writer thread: {e}"));
    let record_path = record.as_ref().map(|(path, _)| path.clone());
    let record = match record {
        Some((path, file)) => Some(writers::Record::start(file, path).map_err(cannot_start)?),
        None => None,
    };
    let deadline = policy.delay.unwrap_or_default().saturating_add(GRACE);
    let server = Arc::new(Server {
        receiver,
        policy,
        clock,
        format: output,
        look: Look::for_stdout(),
        events: writers::Events::start().map_err(cannot_start)?,
        record: record.as_ref().map(writers::Record::queue),
        body_timeout: head_timeout,
        answered: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        tap,
    });
    let limits = listen::Limits {
        max_connections,
        head_timeout,
    };
    let handler = {
        let server = Arc::clone(&server);
        move |request: hyper::Request<hyper::body::Incoming>| handle(Arc::clone(&server), request)
    };
    let at_cap = move || {
        let _ = writeln!(
            io::stderr(),
            "oa-hook: {max_connections} connections are open, the most serve holds at once: new ones wait until one closes (idle ones close after {}; --max-connections sets the cap)",
            humantime::format_duration(head_timeout)
        );
    };
    listen::serve(listener, limits, handler, stop, deadline, at_cap).await;

    // No handler runs any more: every answer given has its record line queued.
    let Ok(server) = Arc::try_unwrap(server) else {
        return Err(Error::internal("a request handler outlived the server"));
    };
    let Server {
        events,
        record: queue,
        answered,
        rejected,
        ..
    } = server;
    drop(queue);
    let recorded = record.map(writers::Record::finish);
    let dropped = events.finish(GRACE);
    let mut summary = if tapping {
        format!(
            "stopped: {} request(s) passed on, {} of them not callbacks Chat could have sent",
            answered.into_inner(),
            rejected.into_inner()
        )
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
            "check the disk has room; callbacks after this error were answered but not recorded",
        )),
        _ => Ok(Outcome::Pass),
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

/// Registered before the banner is printed, so that a signal sent as soon as the URL appears
/// stops the server gracefully instead of killing it.
#[cfg(unix)]
fn stop_signals() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signals() -> io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
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
    let _ = match output {
        OutputFormat::Human => writeln!(output::stdout(), "{example}"),
        OutputFormat::Json => writeln!(output::stderr(), "{example}"),
    };
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
