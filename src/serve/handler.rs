//! One request: read it within bounds, judge it with the protocol, answer by policy, and hand
//! the event and record lines to their writers.

use super::event::{Event, WrittenAnswer};
use super::fault::{self, Faults};
use super::head::Head;
use super::inspect::{self, Inspector};
use super::listen::{Arrived, Caller};
use super::policy::Policy;
use super::query;
use super::tap::{self, Tap};
use super::writers::{self, RecordQueue};
use crate::clock::Clock;
use crate::clock::millis;
use crate::memo::{Judged, Shared};
use crate::output::{OutputFormat, Palette};
use crate::protocol::{
    Answer, Finding, Inbound, MAX_BODY_BYTES, Received, ReceivedBody, ReceivedQuery, Receiver,
    Rejection, Reply,
};
use crate::record::{RecordLine, Verdict};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper::http::Method;
use hyper::http::{HeaderValue, StatusCode, header};
use serde_json::value::RawValue;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod written;

pub(super) use written::{judged, subscribers_of};

/// How much of an oversized body is read (and thrown away) before answering 413: answering
/// while the client is still sending makes the kernel reset the connection, and the client
/// then sees a broken connection instead of the answer.
const DRAIN_LIMIT: usize = 16 * MAX_BODY_BYTES;

/// What every request handler shares. Nothing here is locked: counters are atomic and events
/// leave through a channel.
pub(super) struct Server {
    pub(super) receiver: Receiver,
    pub(super) policy: Policy,
    pub(super) clock: Clock,
    pub(super) format: OutputFormat,
    pub(super) palette: Palette,
    pub(super) events: writers::Events,
    /// Where record lines go; `None` without `--record`.
    pub(super) record: Option<RecordQueue>,
    /// `--record-sign`: record lines keep the request's `Sign`.
    pub(super) record_sign: bool,
    /// How long a body may take to arrive once its head has (`--head-timeout`).
    pub(super) body_timeout: Duration,
    pub(super) answered: AtomicU64,
    pub(super) rejected: AtomicU64,
    /// `--forward-to`: pass requests on instead of answering by policy.
    pub(super) tap: Option<Tap>,
    /// `--fault`: faults drawn for some requests.
    pub(super) faults: Option<Faults>,
    /// Set when serve stops before the requests in flight are answered (a second Ctrl-C):
    /// they answer at once, and say so.
    pub(super) cut: watch::Sender<bool>,
    /// `--inspect`: where each request is published for the page.
    pub(super) inspector: Option<Inspector>,
    /// What is kept of the latest callbacks, for speed.
    pub(super) kept: Kept,
}

/// What serve keeps of the latest callbacks, for speed (see [`crate::memo`]): Chat signs every
/// callback of one second alike, and a policy gives a few answers over and over, so the Sign
/// expected, an answer's JSON and its judgement are worked out once for a run of them.
#[derive(Default)]
pub(super) struct Kept {
    /// The Sign expected for a RequestTime.
    sign: Shared<u64, [u8; 64]>,
    /// An answer (without a `MsgBody`) and its JSON.
    written: Shared<Answer, Bytes>,
    /// Serve's own answer judged, for `--record`: judging one afresh (reading it back,
    /// deciding, putting it in words) costs more than the rest of the record line.
    judged: Shared<Judged, Arc<RawValue>>,
    /// The tap's backend's answer judged: a backend, too, gives the same few answers.
    verdict: Shared<Judged, Arc<Verdict>>,
}

/// What became of a request's caller and of serve while the answer was being made.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Waited {
    /// When the caller closed its side of the connection, after the request arrived.
    pub(super) caller_closed: Option<Duration>,
    /// Serve stopped before the answer was ready.
    pub(super) cut: bool,
}

impl Server {
    /// Waits for `work` (an answer's delay, the backend's answer), watching the caller, who
    /// may close its side of the connection meanwhile (noted; the work goes on, as a
    /// half-closed caller still waits for the answer and a tap records the backend's answer
    /// all the same), and serve, which may be cut short (then `None`).
    pub(super) async fn wait_for<T>(
        &self,
        caller: &impl Hangup,
        arrived: Instant,
        work: impl Future<Output = T>,
    ) -> (Option<T>, Waited) {
        tokio::pin!(work);
        let closed = caller.closed();
        tokio::pin!(closed);
        let mut cut = self.cut.subscribe();
        let mut waited = Waited::default();
        loop {
            tokio::select! {
                biased;
                done = &mut work => return (Some(done), waited),
                () = &mut closed, if waited.caller_closed.is_none() => {
                    waited.caller_closed = Some(arrived.elapsed());
                }
                _ = cut.wait_for(|cut| *cut) => {
                    waited.cut = true;
                    return (None, waited);
                }
            }
        }
    }
}

/// Serve's answer to a request it stopped before answering.
pub(super) fn stopped_answer() -> (u16, Answer) {
    (
        503,
        Answer::fail("oa-hook serve stopped before it answered (the drain was cut short)"),
    )
}

/// What serve answers with: a whole body, known before the head is written.
pub(super) type Response = hyper::Response<Full<Bytes>>;

/// A request as it arrived: when, and (with `--fault`) its number.
#[derive(Clone, Copy)]
struct Arrival {
    started: Instant,
    now_ms: i64,
    number: Option<u64>,
}

/// Answers one request: read within bounds and judged, then passed on to the backend (tap
/// mode) or answered by policy.
pub(super) async fn handle(
    server: Arc<Server>,
    head: Head,
    body: Arrived,
    caller: Caller,
) -> Response {
    let arrival = server.arrival();
    let query = query::parse(head.query().unwrap_or_default());
    let (bytes, mut received, whole) = server.read(head.method().as_str(), &query, body).await;
    // Only a callback is passed on: any other method, and a request that went round in a
    // loop, are answered by serve itself.
    if let Some(tap) = &server.tap {
        if let Some(looped) = tap.looped(&head) {
            received.verdict = Err(looped);
        } else if whole && head.method() == Method::POST {
            let arrived = (arrival.started, arrival.now_ms);
            let fault = fault::drawn(server.faults.as_ref(), arrival.number, received.callback());
            let request = (&head, &query, bytes, received);
            return tap::pass_on(&server, tap, request, &caller, arrived, fault).await;
        }
    }
    let request = (&head, &query, bytes, received);
    server.answer(request, arrival, &caller).await
}

/// The caller's end of a request, as its handler watches it: it may close its side of the
/// connection before the answer is ready.
pub(super) trait Hangup: Sync {
    /// Resolves when the caller has closed its side of the connection.
    fn closed(&self) -> impl Future<Output = ()> + Send;
}

impl Hangup for Caller {
    fn closed(&self) -> impl Future<Output = ()> + Send {
        Caller::closed(self)
    }
}

/// A request read whole and judged: its head, its query, its body and what serve made of it.
type Read<'a> = (&'a Head, &'a ReceivedQuery<'a>, Vec<u8>, Received);

impl Server {
    fn arrival(&self) -> Arrival {
        Arrival {
            started: Instant::now(),
            now_ms: self.clock.now_ms(),
            number: self.faults.as_ref().map(Faults::arrival),
        }
    }

    /// Reads `body` within bounds and judges the request; says whether the body was read
    /// whole (the tap passes on only such a request).
    async fn read<B>(
        &self,
        method: &str,
        query: &ReceivedQuery<'_>,
        body: B,
    ) -> (Vec<u8>, Received, bool)
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        match tokio::time::timeout(self.body_timeout, read_body(body)).await {
            Ok(Ok(bytes)) => {
                let inbound = Inbound {
                    method,
                    query,
                    body: &bytes,
                };
                // RequestTime is judged against the time the whole request is in.
                let received = self.receive(inbound);
                let whole = bytes.len() <= MAX_BODY_BYTES;
                (bytes, received, whole)
            }
            Ok(Err(e)) => (
                Vec::new(),
                unreadable(400, format!("the body could not be read: {e}")),
                false,
            ),
            Err(_) => (
                Vec::new(),
                unreadable(
                    408,
                    format!(
                        "the body did not arrive within {}; Chat sends a callback at once",
                        humantime::format_duration(self.body_timeout)
                    ),
                ),
                false,
            ),
        }
    }

    /// Answers a request by policy (or refuses it), says it on stdout, records it and
    /// publishes it to the inspector.
    async fn answer(&self, request: Read<'_>, arrival: Arrival, caller: &impl Hangup) -> Response {
        let (head, query, bytes, received) = request;
        let mut fault = None;
        let ((status, answer), waited) = match &received.verdict {
            Ok(valid) => {
                fault = fault::drawn(self.faults.as_ref(), arrival.number, received.callback());
                let answer = fault::around(fault, caller, self.policy.answer(valid));
                let (answer, waited) = self.wait_for(caller, arrival.started, answer).await;
                (answer.unwrap_or_else(stopped_answer), waited)
            }
            Err(rejection) => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                ((rejection.status, rejection.answer()), Waited::default())
            }
        };
        self.answered.fetch_add(1, Ordering::Relaxed);
        let status = fault::status(fault, status);
        let json = self.written(&answer);
        let answer_bytes = fault::body(fault, json.clone());
        let latency = arrival.started.elapsed();
        let given = WrittenAnswer::new(&answer, &json);
        let mut event = Event::new(arrival.now_ms, &received, status, given, latency);
        event.caller_closed_ms = waited.caller_closed.map(millis);
        event.cut = waited.cut;
        event.fault = fault;
        let line = self.line(&event, Event::human_line);
        let reply = Reply {
            status,
            body: &answer_bytes,
            truncated: false,
            latency: Some(latency),
        };
        // Queued before the answer goes out, so that every callback answered is recorded.
        self.record(&event, head, query, &received, &bytes, || {
            Some(self.judged(&received, reply))
        });
        self.events.line(line);
        if let Some(inspector) = &self.inspector
            && inspector.takes(Some(head))
        {
            let given = inspect::Given {
                status,
                body: answer_bytes.clone(),
                latency,
                judgement: inspect::Judged::Serve,
                backend: None,
                waited,
            };
            let request = inspect::Request::of(head, arrival.now_ms, bytes.into());
            inspector.publish(request, received, given);
        }
        let mut response = Response::new(Full::new(answer_bytes));
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == 405 {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        fault::mark(fault, &mut response);
        response
    }
}

/// Keeps one byte past [`MAX_BODY_BYTES`], enough for the receiver to see the body is too
/// large, and discards the rest up to [`DRAIN_LIMIT`] (see there why it is read at all).
async fn read_body<B>(mut body: B) -> Result<Vec<u8>, B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
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

/// Says and records a request the HTTP library refused before any handler saw it (a head it
/// could not parse, or one too large): hyper answers it itself, with its own status and no
/// body, and closes the connection.
pub(super) fn refused_by_http(server: &Server, error: &hyper::Error) {
    let status = if !error.is_parse_too_large() {
        400
    } else if error.to_string().contains("URI") {
        414
    } else {
        431
    };
    let rejection = Rejection::new(
        status,
        vec![Finding::error(
            "http-refused",
            "request",
            format!(
                "the HTTP library refused the request before serve read it ({error}) and answered {status} itself, with no body"
            ),
        )],
    );
    let answer = rejection.answer();
    let received = Received {
        command: None,
        body: ReceivedBody::Unread,
        verdict: Err(rejection),
    };
    server.answered.fetch_add(1, Ordering::Relaxed);
    server.rejected.fetch_add(1, Ordering::Relaxed);
    let at_ms = server.clock.now_ms();
    let event = Event::new(at_ms, &received, status, &answer, Duration::ZERO);
    // What came back is hyper's own answer: its status, with no body. Judged as every answer
    // is, so that the record line reads back (`replay` requires a judgement on every line).
    let reply = Reply {
        status,
        body: &[],
        truncated: false,
        latency: Some(Duration::ZERO),
    };
    let judgement = (server.record.is_some() || server.inspector.is_some())
        .then(|| server.judged(&received, reply));
    if let Some(record) = &server.record {
        let query = ReceivedQuery::parse("");
        let line = RecordLine {
            judgement: judgement.as_deref(),
            ..RecordLine::new(&event, "-", "-", &query, &received, &[])
        };
        record.record(&line);
    }
    server.events.line(server.line(&event, Event::human_line));
    if let (Some(inspector), Some(judgement)) = (&server.inspector, judgement)
        && inspector.takes(None)
    {
        let given = inspect::Given {
            status,
            body: Bytes::from(serde_json::to_vec(&answer).unwrap_or_default()),
            latency: Duration::ZERO,
            judgement: inspect::Judged::Said(judgement),
            backend: None,
            waited: Waited::default(),
        };
        inspector.publish(inspect::Request::unread(at_ms), received, given);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CALLBACKS, EventValues, MessageElement, build_body, sign};
    use crate::record::{Answered, Verdict};
    use std::io::Write;
    use std::sync::Mutex;

    const TOKEN: &str = "handler-token";
    const NOW: u32 = 1_669_872_112;

    /// Where a test server's event lines go.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A caller that waits for its answer.
    struct Waits;

    impl Hangup for Waits {
        fn closed(&self) -> impl Future<Output = ()> + Send {
            std::future::pending()
        }
    }

    /// Serve with a token, refusing jared, its clock stopped at [`NOW`], its event lines in
    /// `format` going to the lines returned.
    fn server(format: OutputFormat) -> (Server, Lines) {
        let lines = Lines::default();
        let server = Server {
            receiver: Receiver {
                sdk_appid: Some(1_400_000_000),
                token: Some(crate::protocol::Token::new(TOKEN.to_owned())),
                max_skew: Duration::from_secs(60),
            },
            policy: Policy {
                refuse: vec!["jared".to_owned()],
                reject: false,
                fail: false,
                discard: false,
                rewrite_text: None,
                error_code: None,
                delay: None,
                status: 200,
            },
            clock: Clock::fixed(NOW),
            format,
            palette: Palette::new(false),
            events: writers::Events::to(lines.clone()).unwrap(),
            record: None,
            record_sign: false,
            body_timeout: Duration::from_secs(5),
            answered: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            tap: None,
            faults: None,
            cut: watch::Sender::new(false),
            inspector: None,
            kept: Kept::default(),
        };
        (server, lines)
    }

    /// What `handle` does with a request that is not passed on, without a socket.
    async fn handled(server: &Server, uri: &str, body: Vec<u8>) -> Response {
        let arrival = server.arrival();
        let request = hyper::Request::post(uri).body(Full::new(Bytes::from(body)));
        let (parts, body) = request.unwrap().into_parts();
        let head = Head::from(parts);
        let query = query::parse(head.query().unwrap_or_default());
        let (bytes, received, _) = server.read(head.method().as_str(), &query, body).await;
        let request = (&head, &query, bytes, received);
        server.answer(request, arrival, &Waits).await
    }

    /// The URL of a before-subscribe callback signed with `token` at `time`, and its body.
    fn callback(token: &str, time: u64) -> (String, Vec<u8>) {
        let callback = &CALLBACKS[0];
        let uri = format!(
            "/im?SdkAppid=1400000000&CallbackCommand={}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={}&RequestTime={time}",
            callback.command,
            sign(token, time)
        );
        let body = build_body(callback, &EventValues::seed(callback, 1_669_872_112_000));
        (uri, body.to_string().into_bytes())
    }

    async fn body_of(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The lines written once serve stops, each without its latency (`  0.3 ms`).
    async fn said(server: Server, lines: &Lines) -> Vec<String> {
        assert_eq!(server.events.finish(Duration::from_secs(5)).await, 0);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                line.rsplit_once("  ")
                    .map_or(line, |(head, _)| head)
                    .to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn a_callback_is_judged_and_answered_in_process() {
        let (server, lines) = server(OutputFormat::Human);
        assert_eq!(CALLBACKS[0].name, "before-subscribe");
        // Twice in one second (the Sign kept for it), then forged in that second.
        for _ in 0..2 {
            let (uri, body) = callback(TOKEN, NOW.into());
            let response = handled(&server, &uri, body).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                body_of(response).await,
                r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#
            );
        }
        let (uri, body) = callback("another-token", NOW.into());
        let response = handled(&server, &uri, body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (uri, body) = callback(TOKEN, u64::from(NOW) - 61);
        let response = handled(&server, &uri, body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.answered.load(Ordering::Relaxed), 4);
        assert_eq!(server.rejected.load(Ordering::Relaxed), 2);
        let said = said(server, &lines).await;
        assert_eq!(said.len(), 4, "{said:#?}");
        let accepted = "05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared";
        assert_eq!(said[0], accepted);
        assert_eq!(said[1], accepted);
        assert!(
            said[2].starts_with(
                "05:21:52.000Z ✘ before-subscribe  → 401 query.Sign: Sign does not match"
            ),
            "{}",
            said[2]
        );
        assert!(
            said[3].contains("→ 401 query.RequestTime: RequestTime is 61 s old"),
            "{}",
            said[3]
        );
    }

    #[tokio::test]
    async fn json_lines_are_the_event_as_json() {
        let (server, lines) = server(OutputFormat::Json);
        let (uri, body) = callback(TOKEN, NOW.into());
        handled(&server, &uri, body).await;
        let said = said(server, &lines).await;
        let event: serde_json::Value = serde_json::from_str(&said[0]).unwrap();
        assert_eq!(event["time"], "2022-12-01T05:21:52.000Z");
        assert_eq!(event["command"], "before-subscribe");
        assert_eq!(event["status"], 200);
        assert_eq!(event["answer"]["RefusedSubscribers_Account"][0], "jared");
    }

    fn received(subscribers: &[&str]) -> Received {
        let list: Vec<String> = subscribers
            .iter()
            .map(|user| format!(r#"{{"Subscriber_Account":"{user}"}}"#))
            .collect();
        let body = format!(
            r#"{{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_a","Operator_Account":"op","SubscribeAccountList":[{}],"EventTime":1}}"#,
            list.join(",")
        );
        let query = ReceivedQuery::parse(
            "SdkAppid=1&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json",
        );
        let receiver = Receiver {
            sdk_appid: None,
            token: None,
            max_skew: Duration::from_secs(60),
        };
        let inbound = Inbound {
            method: "POST",
            query: &query,
            body: body.as_bytes(),
        };
        receiver.receive(inbound, 0)
    }

    #[test]
    fn a_kept_answer_is_written_as_it_would_be_afresh() {
        let (server, _) = server(OutputFormat::Human);
        let answers = [
            Answer::ok(vec!["jared".into()]),
            Answer::ok(vec!["jared".into()]),
            Answer::ok(vec!["leckie".into()]),
            Answer::ok(Vec::new()),
            Answer::reject("no"),
            Answer::reject("not now"),
            Answer::fail("not now"),
            Answer::rewrite(vec![MessageElement::text("hi")]),
            Answer::rewrite(vec![MessageElement::text("hi")]),
            Answer::ok(vec!["jared".into()]),
        ];
        for answer in answers {
            assert_eq!(
                server.written(&answer),
                serde_json::to_vec(&answer).unwrap(),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn a_kept_judgement_is_the_one_a_fresh_judging_gives() {
        let (server, _) = server(OutputFormat::Human);
        let refuse_jared = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#;
        let ok = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
        let cases: [(&[&str], u16, &[u8], u64); 9] = [
            (&["jared", "leckie"], 200, refuse_jared, 1),
            (&["jared", "leckie"], 200, refuse_jared, 1),
            (&["jared", "anna"], 200, refuse_jared, 1),
            (&["jared", "anna"], 200, ok, 1),
            (&["jared", "anna"], 500, ok, 1),
            (&["jared", "anna"], 500, ok, 2500),
            (&["jared", "anna"], 500, ok, 2600),
            (&["jared", "anna"], 500, ok, 1),
            (&["jared", "leckie"], 200, refuse_jared, 1),
        ];
        for (i, (subscribers, status, body, latency_ms)) in cases.into_iter().enumerate() {
            let received = received(subscribers);
            let reply = Reply {
                status,
                body,
                truncated: false,
                latency: Some(Duration::from_millis(latency_ms)),
            };
            let fresh = Verdict::of(
                received.callback(),
                &subscribers_of(&received),
                Answered::Reply(reply),
            );
            let fresh = serde_json::to_string(&fresh).unwrap();
            assert_eq!(server.judged(&received, reply).get(), fresh, "case {i}");
        }
    }
}
