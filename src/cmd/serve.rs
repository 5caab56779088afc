//! `serve`: a mock backend. Whether a request is a valid callback is decided in
//! `protocol::inbound`; this file moves bytes, applies the answer policy and reports.

use crate::cli::{OutputFormat, ServeArgs};
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{
    Answer, EventBody, Finding, Inbound, Kind, MAX_BODY_BYTES, Received, ReceivedBody,
    ReceivedQuery, Receiver, Rejection, Valid,
};
use anstyle::{AnsiColor, Style};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::net::TcpListener;

/// How much of an oversized body is read (and thrown away) before answering 413: answering
/// while the client is still sending makes the kernel reset the connection, and the client
/// then sees a broken connection instead of the answer.
const DRAIN_LIMIT: usize = 16 * MAX_BODY_BYTES;

/// After Ctrl-C, how long in-flight requests get to finish on top of `--delay`.
const GRACE: Duration = Duration::from_secs(1);

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
    print_banner(args, address, args.quiet)?;

    let (log, messages) = mpsc::channel();
    let recording = record.is_some();
    let writer = tokio::task::spawn_blocking(move || write_events(&messages, record));
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
        recording,
        log,
        answered: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
    });
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&server));
    // Small answers on kept-alive connections: without NODELAY, Nagle's algorithm and delayed
    // ACKs can hold an answer back for tens of milliseconds.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (stopping, stopped) = tokio::sync::oneshot::channel();
    let graceful = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.await;
        let _ = stopping.send(());
    });
    // A client that never finishes its request must not keep Ctrl-C from working.
    let deadline = async move {
        let _ = stopped.await;
        tokio::time::sleep(args.delay.unwrap_or_default() + GRACE).await;
    };
    tokio::select! {
        result = graceful => result.map_err(|e| Error::usage(format!("the server stopped: {e}")))?,
        () = deadline => {}
    }

    let _ = server.log.send(Message::Stop);
    let written = writer
        .await
        .map_err(|e| Error::usage(format!("the event writer failed: {e}")))?;
    writeln!(
        output::stderr(),
        "stopped: {} callback(s) answered, {} of them rejected as invalid",
        server.answered.load(Ordering::Relaxed),
        server.rejected.load(Ordering::Relaxed)
    )?;
    match (written, &args.record) {
        (Err(e), Some(path)) => Err(Error::usage(format!(
            "cannot write to --record {}: {e}",
            path.display()
        ))
        .hint("check the disk has room; events after this error were not recorded")),
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
/// The token is referred to by its variable, never printed.
fn print_banner(args: &ServeArgs, address: SocketAddr, quiet: bool) -> Result<()> {
    writeln!(output::stdout(), "listening on http://{address}")?;
    if quiet {
        return Ok(());
    }
    let mut example = format!("oa-hook send before-subscribe --url http://{address}/");
    if let Some(id) = args.sdkappid {
        example += &format!(" --sdkappid {id}");
    }
    if args.token.token.is_some() {
        example += " --token \"$OA_HOOK_TOKEN\"";
    }
    example += "   # in another terminal";
    // NDJSON consumers read stdout line by line: only the URL line may precede the events.
    match args.output {
        OutputFormat::Human => writeln!(output::stdout(), "{example}")?,
        OutputFormat::Json => writeln!(output::stderr(), "{example}")?,
    }
    Ok(())
}

/// What every request handler shares. Nothing here is locked: counters are atomic and events
/// leave through a channel.
struct Server {
    receiver: Receiver,
    policy: Policy,
    clock: Clock,
    format: OutputFormat,
    look: Look,
    recording: bool,
    log: mpsc::Sender<Message>,
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
    /// `--refuse` and `--reject` only mean something to a before callback; `--fail` fails both.
    fn answer(&self, valid: &Valid) -> Answer {
        if self.fail {
            return Answer::fail("oa-hook serve --fail: failing on purpose");
        }
        match valid.callback.kind {
            Kind::After => Answer::ok(Vec::new()),
            Kind::Before if self.reject => {
                Answer::reject("oa-hook serve --reject: rejecting on purpose")
            }
            Kind::Before => Answer::ok(
                valid
                    .event
                    .subscribers
                    .iter()
                    .filter(|user| self.refuse.contains(user))
                    .cloned()
                    .collect(),
            ),
        }
    }
}

async fn handle(State(server): State<Arc<Server>>, request: Request) -> Response {
    let started = Instant::now();
    let now_ms = server.clock.now_ms();
    let (parts, body) = request.into_parts();
    let query = ReceivedQuery::parse(parts.uri.query().unwrap_or_default());
    let (bytes, received) = match read_body(body).await {
        Ok(bytes) => {
            let inbound = Inbound {
                method: parts.method.as_str(),
                query: &query,
                body: &bytes,
            };
            let received = server.receiver.receive(inbound, server.clock.now_secs());
            (bytes, received)
        }
        Err(e) => (Vec::new(), unreadable(&e)),
    };
    let (status, answer) = match &received.verdict {
        Ok(valid) => {
            if let Some(delay) = server.policy.delay {
                tokio::time::sleep(delay).await;
            }
            (server.policy.status, server.policy.answer(valid))
        }
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
    let record = server.recording.then(|| {
        serde_json::to_string(&RecordLine {
            event: &event,
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: query.without_sign(),
            body: RecordedBody::new(&received, &bytes),
        })
        .unwrap_or_default()
    });
    let _ = server.log.send(Message::Event { line, record });

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

/// The client stopped sending mid-body; it will likely never read the answer, but the event
/// is still shown and recorded.
fn unreadable(e: &axum::Error) -> Received {
    Received {
        callback: None,
        body: ReceivedBody::Unread,
        verdict: Err(Rejection::new(
            400,
            vec![Finding::error(
                "body-unreadable",
                "body",
                format!("the body could not be read: {e}"),
            )],
        )),
    }
}

/// The body as recorded: its JSON when it is JSON, else its text; nothing when it was too large.
/// Borrowed, so recording costs no copy of the body.
#[derive(Serialize)]
#[serde(untagged)]
enum RecordedBody<'a> {
    Exact(EventBody<'a>),
    Json(&'a Value),
    Text(Cow<'a, str>),
    TooLarge,
}

impl<'a> RecordedBody<'a> {
    fn new(received: &'a Received, bytes: &'a [u8]) -> Self {
        match (&received.body, &received.verdict) {
            (ReceivedBody::Exact, Ok(valid)) => {
                RecordedBody::Exact(valid.event.body(valid.callback))
            }
            (ReceivedBody::Json(value), _) => RecordedBody::Json(value),
            _ if bytes.len() > MAX_BODY_BYTES => RecordedBody::TooLarge,
            _ => RecordedBody::Text(String::from_utf8_lossy(bytes)),
        }
    }
}

/// One callback, as shown on stdout (`--output json`) and at the start of each record line.
#[derive(Serialize)]
struct Event<'a> {
    time: String,
    /// The callback's short name, when the query names a known one.
    command: Option<&'static str>,
    operator: Option<&'a str>,
    subscribers: &'a [String],
    /// A callback Chat could have sent, answered by policy; else rejected with a 4xx.
    valid: bool,
    status: u16,
    answer: &'a Answer,
    /// Warnings of a valid callback, or the errors a rejected one was refused for.
    findings: &'a [Finding],
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
        let (operator, subscribers, findings) = match &received.verdict {
            Ok(valid) => (
                Some(valid.event.operator_account.as_str()),
                valid.event.subscribers.as_slice(),
                valid.warnings.as_slice(),
            ),
            Err(rejection) => (None, &[][..], rejection.findings.as_slice()),
        };
        Event {
            time: humantime::format_rfc3339_millis(time).to_string(),
            command: received.callback.map(|c| c.name),
            operator,
            subscribers,
            valid: received.verdict.is_ok(),
            status,
            answer,
            findings,
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
            let _ = write!(
                line,
                "{clock} {} {bold}{command}{bold:#}  operator {}  subscribers {}  → {bold}{}{bold:#} {}",
                look.pass,
                self.operator.unwrap_or_default(),
                shorten(self.subscribers),
                self.status,
                self.outcome(),
            );
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
        if answer.action_status == "FAIL" {
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
}

fn as_object<S: Serializer>(pairs: &[(&str, &str)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().copied())
}

enum Message {
    Event {
        line: String,
        record: Option<String>,
    },
    Stop,
}

/// Between two batches the writer waits this long, so that under load many events share one
/// write and requests do not each pay for waking the writer; an idle writer blocks in `recv`.
const COALESCE: Duration = Duration::from_millis(1);

/// The only writer of stdout and of the record, so lines never interleave and no request waits
/// on a lock: requests queue whole lines, and this writes what is queued and flushes it before
/// waiting again. Stops at [`Message::Stop`], after everything queued before it.
fn write_events(messages: &mpsc::Receiver<Message>, mut record: Option<File>) -> io::Result<()> {
    let mut lines = Vec::new();
    let mut records = Vec::new();
    let mut failure = None;
    while let Ok(first) = messages.recv() {
        let mut stop = false;
        for message in std::iter::once(first).chain(messages.try_iter()) {
            match message {
                Message::Event { line, record } => {
                    lines.extend_from_slice(line.as_bytes());
                    lines.push(b'\n');
                    if let Some(record) = record {
                        records.extend_from_slice(record.as_bytes());
                        records.push(b'\n');
                    }
                }
                Message::Stop => {
                    stop = true;
                    break;
                }
            }
        }
        // Lines carry styles only when stdout takes colour (see `Look`), so no stripping here.
        // A closed stdout (e.g. piped into `head`) is no reason to stop answering callbacks.
        let _ = io::stdout().lock().write_all(&lines);
        lines.clear();
        if let Some(file) = record.as_mut()
            && let Err(e) = file.write_all(&records).and_then(|()| file.flush())
        {
            failure = Some(e);
            record = None;
        }
        records.clear();
        if stop {
            break;
        }
        std::thread::sleep(COALESCE);
    }
    failure.map_or(Ok(()), Err)
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
