//! `serve`: a mock backend. Whether a request is a valid callback is decided in
//! `protocol::inbound`; this file moves bytes, applies the answer policy and reports.

use crate::cli::{OutputFormat, ServeArgs};
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{
    Answer, CommandWord, Finding, Inbound, Kind, MAX_BODY_BYTES, Received, ReceivedBody,
    ReceivedEvent, ReceivedQuery, Receiver, Rejection, UNMODELLED_NOTE, Valid,
};
use crate::serve::{listen, writers};
use anstyle::{AnsiColor, Style};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::net::TcpListener;

/// How much of an oversized body is read (and thrown away) before answering 413: answering
/// while the client is still sending makes the kernel reset the connection, and the client
/// then sees a broken connection instead of the answer.
const DRAIN_LIMIT: usize = 16 * MAX_BODY_BYTES;

/// After Ctrl-C, how long in-flight requests get to finish on top of `--delay`.
const GRACE: Duration = Duration::from_secs(1);

/// The largest refused body kept in a record line, and the size past which a body is
/// explained only a few at a time.
const REFUSED_BODY_KEPT: usize = 64 << 10;

/// How many large bodies are explained at once.
const EXPLAINING_AT_ONCE: usize = 2;

pub fn run(args: &ServeArgs, clock: &Clock) -> Result<Outcome> {
    let record = args.record.as_deref().map(open_record).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args, *clock, record))
}

fn open_record(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            Error::usage(format!("cannot open --record {}: {e}", path.display()))
                .hint("give a file in a writable directory; events are appended to it")
        })
}

async fn serve(args: &ServeArgs, clock: Clock, record: Option<File>) -> Result<Outcome> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| bind_error(args.listen, &e))?;
    let address = listener
        .local_addr()
        .map_err(|e| bind_error(args.listen, &e))?;
    let stop =
        stop_signals().map_err(|e| Error::usage(format!("cannot listen for Ctrl-C: {e}")))?;
    let max_connections = listen::connections_the_os_allows(args.max_connections);
    print_banner(args, address, args.quiet);
    if max_connections < args.max_connections && !args.quiet {
        writeln!(
            output::stderr(),
            "note: the open-file limit allows {max_connections} connections at once, not --max-connections {}",
            args.max_connections
        )?;
    }

    let cannot_start = |e: io::Error| Error::usage(format!("cannot start a writer thread: {e}"));
    let record = match (record, &args.record) {
        (Some(file), Some(path)) => {
            Some(writers::Record::start(file, path.clone()).map_err(cannot_start)?)
        }
        _ => None,
    };
    let server = Arc::new(Server {
        receiver: Receiver {
            sdk_appid: args.sdkappid,
            token: args.token.token.clone(),
            max_skew: args.max_skew,
        },
        policy: Policy {
            refuse: args.refuse.clone(),
            reject: args.reject,
            fail: args.fail,
            delay: args.delay,
            status: args.status.unwrap_or(200),
        },
        clock,
        format: args.output,
        look: Look::for_stdout(),
        events: writers::Events::start().map_err(cannot_start)?,
        record: record.as_ref().map(writers::Record::queue),
        explaining: tokio::sync::Semaphore::new(EXPLAINING_AT_ONCE),
        body_timeout: args.head_timeout,
        answered: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
    });
    let limits = listen::Limits {
        max_connections,
        head_timeout: args.head_timeout,
    };
    let handler = {
        let server = Arc::clone(&server);
        move |request: hyper::Request<hyper::body::Incoming>| {
            handle(Arc::clone(&server), request.map(Body::new))
        }
    };
    let head_timeout = args.head_timeout;
    let at_cap = move || {
        let _ = writeln!(
            io::stderr(),
            "oa-hook: {max_connections} connections are open, the most serve holds at once: new ones wait until one closes (idle ones close after {}; --max-connections sets the cap)",
            humantime::format_duration(head_timeout)
        );
    };
    let deadline = args.delay.unwrap_or_default().saturating_add(GRACE);
    listen::serve(listener, limits, handler, stop, deadline, at_cap).await;

    // No handler runs any more: every answer given has its record line queued.
    let Ok(server) = Arc::try_unwrap(server) else {
        return Err(Error::usage(
            "internal error: a request handler outlived the server",
        ));
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
    let mut summary = format!(
        "stopped: {} callback(s) answered, {} of them rejected as invalid",
        answered.into_inner(),
        rejected.into_inner()
    );
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
    match (recorded.and_then(|r| r.error), &args.record) {
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

/// The URL first, alone on its line, because tools wait for it; then a `send` command for it.
/// The token is referred to by its variable, never printed. With `--output json` every stdout
/// line is JSON: the URL comes as `{"listening":"http://..."}` and the rest goes to stderr.
fn print_banner(args: &ServeArgs, address: SocketAddr, quiet: bool) {
    let url = format!("http://{address}");
    // A closed stdout (`serve | head -1`) is no reason to stop answering callbacks: it is said
    // on stderr once event lines find it closed.
    match args.output {
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
    let mut example = format!("oa-hook send before-subscribe --url {url}/");
    if let Some(id) = args.sdkappid {
        example += &format!(" --sdkappid {id}");
    }
    if args.token.token.is_some() {
        example += " --token \"$OA_HOOK_TOKEN\"";
    }
    example += "   # in another terminal";
    let _ = match args.output {
        OutputFormat::Human => writeln!(output::stdout(), "{example}"),
        OutputFormat::Json => writeln!(output::stderr(), "{example}"),
    };
}

/// What every request handler shares. Nothing here is locked: counters are atomic and events
/// leave through a channel.
struct Server {
    receiver: Receiver,
    policy: Policy,
    clock: Clock,
    format: OutputFormat,
    look: Look,
    events: writers::Events,
    /// Where record lines go; `None` without `--record`.
    record: Option<tokio::sync::mpsc::Sender<String>>,
    explaining: tokio::sync::Semaphore,
    /// How long a body may take to arrive once its head has (`--head-timeout`).
    body_timeout: Duration,
    answered: AtomicU64,
    rejected: AtomicU64,
}

/// How valid callbacks are answered.
struct Policy {
    refuse: Vec<String>,
    reject: bool,
    fail: bool,
    delay: Option<Duration>,
    status: u16,
}

impl Policy {
    /// The status and answer for a valid callback, after `--delay`. `--refuse` and `--reject`
    /// only mean something to a before callback; `--fail` fails both. A command serve does not
    /// model is answered as a well-behaved backend answers it, whatever the policy: the policy
    /// is about the callbacks serve stands in for.
    async fn answer(&self, valid: &Valid) -> (u16, Answer) {
        let (callback, event) = match valid {
            Valid::Event {
                callback, event, ..
            } => (callback, event),
            Valid::Unmodelled { .. } => return (200, Answer::ok(Vec::new())),
        };
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let answer = if self.fail {
            Answer::fail("oa-hook serve --fail: failing on purpose")
        } else {
            match callback.kind {
                Kind::After => Answer::ok(Vec::new()),
                Kind::Before if self.reject => {
                    Answer::reject("oa-hook serve --reject: rejecting on purpose")
                }
                Kind::Before => Answer::ok(
                    event
                        .subscribers()
                        .iter()
                        .filter(|user| self.refuse.contains(user))
                        .cloned()
                        .collect(),
                ),
            }
        };
        (self.status, answer)
    }
}

async fn handle(server: Arc<Server>, request: Request) -> Response {
    let started = Instant::now();
    let now_ms = server.clock.now_ms();
    let (parts, body) = request.into_parts();
    let query = ReceivedQuery::parse(parts.uri.query().unwrap_or_default());
    let read = tokio::time::timeout(server.body_timeout, read_body(body)).await;
    // Explaining a large body that is not exactly a callback builds a JSON tree many times its
    // size: a few at a time, so that memory stays bounded whatever many clients send.
    let _explaining = match &read {
        Ok(Ok(bytes)) if bytes.len() > REFUSED_BODY_KEPT => server.explaining.acquire().await.ok(),
        _ => None,
    };
    let (bytes, received) = match read {
        Ok(Ok(bytes)) => {
            let inbound = Inbound {
                method: parts.method.as_str(),
                query: &query,
                body: &bytes,
            };
            let received = server.receiver.receive(inbound, server.clock.now_secs());
            (bytes, received)
        }
        Ok(Err(e)) => (
            Vec::new(),
            unreadable(400, format!("the body could not be read: {e}")),
        ),
        Err(_) => (
            Vec::new(),
            unreadable(
                408,
                format!(
                    "the body did not arrive within {}; Chat sends a callback at once",
                    humantime::format_duration(server.body_timeout)
                ),
            ),
        ),
    };
    let (status, answer) = match &received.verdict {
        Ok(valid) => server.policy.answer(valid).await,
        Err(rejection) => {
            server.rejected.fetch_add(1, Ordering::Relaxed);
            (rejection.status, rejection.answer())
        }
    };
    server.answered.fetch_add(1, Ordering::Relaxed);
    let answer_bytes = serde_json::to_vec(&answer).unwrap_or_default();
    let event = Event::new(now_ms, &received, status, &answer, started.elapsed());
    let line = match server.format {
        OutputFormat::Human => event.human_line(&server.look),
        OutputFormat::Json => serde_json::to_string(&event).unwrap_or_default(),
    };
    // Queued before the answer goes out, so that every callback answered is recorded.
    if let Some(record) = &server.record {
        let line = serde_json::to_string(&RecordLine {
            event: &event,
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: query.without_sign(),
            body: RecordedBody::new(&received, &bytes),
            body_bytes: bytes.len(),
        })
        .unwrap_or_default();
        let _ = record.send(line).await;
    }
    server.events.line(line);

    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer_bytes,
    )
        .into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    }
    response
}

/// Keeps one byte past [`MAX_BODY_BYTES`], enough for the receiver to see the body is too
/// large, and discards the rest up to [`DRAIN_LIMIT`] (see there why it is read at all).
async fn read_body(mut body: Body) -> Result<Vec<u8>, axum::Error> {
    const KEEP: usize = MAX_BODY_BYTES + 1;
    let mut bytes = Vec::new();
    let mut seen = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            seen += data.len();
            let room = KEEP.saturating_sub(bytes.len());
            bytes.extend_from_slice(&data[..data.len().min(room)]);
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    Ok(bytes)
}

/// The client stopped sending mid-body, or sent it too slowly; it will likely never read the
/// answer, but the event is still shown and recorded.
fn unreadable(status: u16, why: String) -> Received {
    Received {
        command: None,
        body: ReceivedBody::Unread,
        verdict: Err(Rejection::new(
            status,
            vec![Finding::error("body-unreadable", "body", why)],
        )),
    }
}

/// The body as recorded: its JSON when it is JSON, else its text; nothing when it was too large.
/// Borrowed, so recording costs no copy of the body.
#[derive(Serialize)]
#[serde(untagged)]
enum RecordedBody<'a> {
    Exact(&'a ReceivedEvent),
    Json(&'a Value),
    Text(Cow<'a, str>),
    TooLarge,
}

impl<'a> RecordedBody<'a> {
    /// A valid callback's body is recorded whole, to be replayed; a refused one only when it
    /// is small, so that no input makes a large record line.
    fn new(received: &'a Received, bytes: &'a [u8]) -> Self {
        match (&received.body, &received.verdict) {
            (ReceivedBody::Exact, Ok(Valid::Event { event, .. })) => RecordedBody::Exact(event),
            (_, Err(_)) if bytes.len() > REFUSED_BODY_KEPT => RecordedBody::TooLarge,
            (ReceivedBody::Json(value), _) => RecordedBody::Json(value),
            _ => RecordedBody::Text(String::from_utf8_lossy(bytes)),
        }
    }
}

/// One callback, as shown on stdout (`--output json`) and at the start of each record line.
#[derive(Serialize)]
struct Event<'a> {
    time: String,
    /// The callback's short name when serve models it, else the command word as received.
    command: Option<&'a str>,
    operator: Option<&'a str>,
    subscribers: &'a [String],
    /// A callback Chat could have sent, answered by policy; else rejected with a 4xx.
    valid: bool,
    status: u16,
    answer: &'a Answer,
    /// Warnings of a valid callback, or the errors a rejected one was refused for.
    findings: &'a [Finding],
    /// Said of an authentic callback of a command serve does not model.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    latency_ms: f64,
}

impl<'a> Event<'a> {
    fn new(
        now_ms: i64,
        received: &'a Received,
        status: u16,
        answer: &'a Answer,
        latency: Duration,
    ) -> Self {
        let time = UNIX_EPOCH + Duration::from_millis(now_ms.max(0).unsigned_abs());
        let (operator, subscribers, findings, note) = match &received.verdict {
            Ok(Valid::Event {
                event, warnings, ..
            }) => (
                event.operator(),
                event.subscribers(),
                warnings.as_slice(),
                None,
            ),
            Ok(Valid::Unmodelled { warnings }) => {
                (None, &[][..], warnings.as_slice(), Some(UNMODELLED_NOTE))
            }
            Err(rejection) => (None, &[][..], rejection.findings.as_slice(), None),
        };
        Event {
            time: humantime::format_rfc3339_millis(time).to_string(),
            command: received.command.as_ref().map(CommandWord::name),
            operator,
            subscribers,
            valid: received.verdict.is_ok(),
            status,
            answer,
            findings,
            note,
            // Microsecond precision: finer digits are noise.
            latency_ms: latency.as_micros() as f64 / 1000.0,
        }
    }

    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared  0.3 ms`
    fn human_line(&self, look: &Look) -> String {
        let clock = self.time.get(11..).unwrap_or(&self.time);
        let command = self.command.unwrap_or("-");
        let bold = look.bold;
        let mut line = String::with_capacity(160);
        // Writing to a String cannot fail.
        if self.valid {
            let _ = write!(line, "{clock} {} {bold}{command}{bold:#}", look.pass);
            if let Some(operator) = self.operator {
                let _ = write!(
                    line,
                    "  operator {operator}  subscribers {}",
                    shorten(self.subscribers)
                );
            }
            let _ = write!(line, "  → {bold}{}{bold:#} {}", self.status, self.outcome());
            if let Some(note) = self.note {
                let _ = write!(line, "  {dim}{note}{dim:#}", dim = look.dim);
            }
            for warning in self.findings {
                let _ = write!(
                    line,
                    "  {} {style}{warning}{style:#}",
                    look.warn,
                    style = look.warning
                );
            }
        } else {
            let _ = write!(
                line,
                "{clock} {} {command}  → {failed}{}{failed:#} {error}{}{error:#}",
                look.fail,
                self.status,
                self.answer.error_info,
                failed = look.failed,
                error = look.error,
            );
        }
        let _ = write!(
            line,
            "  {dim}{:.1} ms{dim:#}",
            self.latency_ms,
            dim = look.dim
        );
        line
    }

    fn outcome(&self) -> String {
        let answer = self.answer;
        if answer.action_status == crate::protocol::ActionStatus::Fail {
            "ActionStatus FAIL".to_owned()
        } else if answer.error_code == 1 {
            "rejects all (ErrorCode 1)".to_owned()
        } else if answer.refused_subscribers_account.is_empty() {
            "OK".to_owned()
        } else {
            format!("refuses {}", answer.refused_subscribers_account.join(", "))
        }
    }
}

/// How event lines look. `colored` works a style out again on every use, which cost several
/// percent of serve's time under load, and stripping styles again for a pipe or a file cost
/// more: so styles are decided once, by anstream's rules for stdout (terminal, `NO_COLOR`,
/// `--color`), and are empty when stdout takes no colour.
struct Look {
    pass: String,
    fail: String,
    warn: String,
    bold: Style,
    failed: Style,
    error: Style,
    warning: Style,
    dim: Style,
}

impl Look {
    fn for_stdout() -> Self {
        let plain = !output::stdout_takes_color();
        let style = |s: Style| if plain { Style::new() } else { s };
        let mark = |m: colored::ColoredString| {
            if plain {
                m.input.clone()
            } else {
                m.to_string()
            }
        };
        Look {
            pass: mark(output::pass_mark()),
            fail: mark(output::fail_mark()),
            warn: mark(output::warn_mark()),
            bold: style(Style::new().bold()),
            failed: style(AnsiColor::Red.on_default().bold()),
            error: style(AnsiColor::Red.on_default()),
            warning: style(AnsiColor::Yellow.on_default()),
            dim: style(Style::new().dimmed()),
        }
    }
}

/// A callback may name a hundred subscribers; a line names the first few.
fn shorten(users: &[String]) -> String {
    const SHOWN: usize = 5;
    match users.len() {
        0 => "none".to_owned(),
        n if n <= SHOWN => users.join(", "),
        n => format!("{} … (+{})", users[..SHOWN].join(", "), n - SHOWN),
    }
}

/// One `--record` line: the event, then the request as received (without Sign, so the record
/// cannot be replayed as an authentic callback).
#[derive(Serialize)]
struct RecordLine<'a> {
    #[serde(flatten)]
    event: &'a Event<'a>,
    method: &'a str,
    path: &'a str,
    #[serde(serialize_with = "as_object")]
    query: Vec<(&'a str, &'a str)>,
    body: RecordedBody<'a>,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    body_bytes: usize,
}

fn as_object<S: Serializer>(pairs: &[(&str, &str)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_subscriber_lists_are_shortened() {
        let users: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        assert_eq!(shorten(&users), "u0, u1, u2, u3, u4 … (+96)");
        assert_eq!(shorten(&users[..2]), "u0, u1");
        assert_eq!(shorten(&[]), "none");
    }
}
