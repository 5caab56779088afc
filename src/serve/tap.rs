//! The tap (`serve --forward-to URL`): every callback is passed on to the backend as it came, and
//! the backend's answer goes back unchanged; meanwhile the request is judged as serve judges
//! it, the answer as `send` judges it (an answer to a forgery by whether it refuses it), and
//! both are shown and recorded. A backend that does not answer, or answers with a status that
//! is no final answer, gets the caller a 502 with a Tencent-shaped FAIL saying why. What is no
//! callback (not a POST, or a request back from this very tap) is answered by serve itself.

use super::event::{Backend, Event};
use super::fault::{self, Applied};
use super::handler::{Response, Server, stopped_answer, subscribers_of};
use super::head::Head;
use super::inspect;
use super::listen::Caller;
use crate::client::{Forwarder, Headers};
use crate::clock::millis;
use crate::protocol::{Answer, Finding, MAX_BODY_BYTES, Received, ReceivedQuery, Rejection, Reply};
use crate::record::{Answered, Body, Verdict};
use bytes::Bytes;
use http_body_util::Full;
use hyper::http::{HeaderValue, StatusCode, header};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use url::Url;

/// The statuses passed back as they came: final answers. A 1xx is no answer, and a status
/// past 599 is none HTTP defines; the caller gets a 502 instead.
const PASSED_BACK: std::ops::RangeInclusive<u16> = 200..=599;

/// Where the tap passes requests on to, the kept-alive connections it does it on, and what it
/// passed on.
pub(crate) struct Tap {
    pub url: Url,
    forwarder: Forwarder,
    /// `oa-hook-<random id>`, this process's name in the `Via` header of what it passes on: a
    /// request that comes back with it has gone round in a loop.
    name: String,
    /// `1.1 <name>`: what this tap adds to `Via`.
    via: HeaderValue,
    /// Requests passed on to the backend.
    pub(super) passed: AtomicU64,
    /// Of those, requests Chat could not have sent.
    pub(super) invalid: AtomicU64,
    /// Of those, requests that are not authentic and that the backend accepted.
    pub(super) forgeries_accepted: AtomicU64,
}

impl Tap {
    pub(crate) fn new(forwarder: Forwarder) -> Self {
        // Random per process: RandomState is keyed from the OS's randomness.
        let id = RandomState::new().hash_one(std::process::id());
        let name = format!("oa-hook-{id:016x}");
        let via = HeaderValue::from_str(&format!("1.1 {name}"))
            .unwrap_or_else(|_| HeaderValue::from_static("1.1 oa-hook"));
        Tap {
            url: forwarder.url().clone(),
            forwarder,
            name,
            via,
            passed: AtomicU64::new(0),
            invalid: AtomicU64::new(0),
            forgeries_accepted: AtomicU64::new(0),
        }
    }

    /// Why a request is not passed on, when it has passed through this tap already: the
    /// forward URL leads back here, and passing it on again would never end.
    pub(super) fn looped(&self, head: &Head) -> Option<Rejection> {
        // Values of visible ASCII only, as `HeaderValue::to_str` takes them.
        let visible = |value: &[u8]| {
            value
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        };
        let via = head
            .values(header::VIA.as_str())
            .filter(|value| visible(value))
            .filter_map(|value| std::str::from_utf8(value).ok());
        let mut hops = via.flat_map(|value| value.split(','));
        // Each hop is `protocol received-by [comment]`.
        hops.any(|hop| hop.split_whitespace().nth(1) == Some(self.name.as_str()))
            .then(|| {
                Rejection::new(
                    508,
                    vec![Finding::error(
                        "tap-loop",
                        "headers.Via",
                        format!(
                            "this request has passed through this tap already (Via: {}): --forward-to {} leads back to the tap; point it at the backend",
                            self.name,
                            crate::output::masked(&self.url)
                        ),
                    )],
                )
            })
    }

    /// The headers a request goes on with: its `Content-Type`, and its `Via` with this tap
    /// added (RFC 9110 section 7.6.3), by which a request that comes back is known.
    fn headers(&self, received: &Head) -> Headers {
        let mut headers = Headers::with_capacity(8);
        let value = |value| HeaderValue::from_bytes(value).ok();
        if let Some(content_type) = received
            .value(header::CONTENT_TYPE.as_str())
            .and_then(value)
        {
            headers.append(header::CONTENT_TYPE, content_type);
        }
        for via in received.values(header::VIA.as_str()).filter_map(value) {
            headers.append(header::VIA, via);
        }
        headers.append(header::VIA, self.via.clone());
        headers
    }
}

/// What goes back to the caller.
struct Passed {
    status: u16,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

/// Passes one request on, answers with what came back, and says and records both. `arrived`
/// is when the request came, on the monotonic clock and as Unix milliseconds; `fault` what a
/// rehearsed fault does to the answer passed back.
pub(super) async fn pass_on(
    server: &Server,
    tap: &Tap,
    (head, query, bytes, owned): (&Head, &ReceivedQuery<'_>, Vec<u8>, Received),
    caller: &Caller,
    (started, now_ms): (Instant, i64),
    fault: Option<Applied>,
) -> Response {
    let received = &owned;
    let bytes = Bytes::from(bytes);
    let sent = Instant::now();
    // Boxed: the exchange on a kept connection is a large future, and it would make serve's
    // handler future (which hyper moves on every poll that answers) as large, mock or tap.
    let forward = Box::pin(tap.forwarder.forward(
        head.method().clone(),
        head.query(),
        tap.headers(head),
        bytes.clone(),
    ));
    let forward = fault::around(fault, caller, forward);
    let (forwarded, gone) = server.wait_for(caller, started, forward).await;
    let waited = sent.elapsed();
    let callback = received.callback();
    let subscribers = subscribers_of(received);
    let forgery = received.verdict.as_ref().err().filter(|r| r.is_forgery());
    // What the backend did, judged: an answer to a forgery by whether it refuses it.
    let judge = |answered: Answered<'_>| match (forgery, answered) {
        (Some(forgery), Answered::Reply(reply)) => {
            Arc::new(Verdict::of_forgery(callback, &subscribers, reply, forgery))
        }
        (None, Answered::Reply(reply)) => server.verdict(callback, &subscribers, reply),
        _ => Arc::new(Verdict::of(callback, &subscribers, answered)),
    };
    let (passed, backend, judgement) = match forwarded {
        None => {
            let (status, answer) = stopped_answer();
            let passed = Passed {
                status,
                content_type: Some(HeaderValue::from_static("application/json")),
                body: serde_json::to_vec(&answer).unwrap_or_default().into(),
            };
            let backend = Backend {
                status: None,
                content_type: None,
                error: Some("serve stopped before the backend answered".to_owned()),
                latency_ms: millis(waited),
            };
            let judgement = judge(Answered::Nothing(waited));
            (passed, backend, judgement)
        }
        Some(Ok(exchange)) if !exchange.truncated && PASSED_BACK.contains(&exchange.status) => {
            let judgement = judge(Answered::Reply(exchange.reply()));
            let content_type = exchange.headers.get(&header::CONTENT_TYPE).cloned();
            let backend = Backend {
                status: Some(exchange.status),
                content_type: content_type
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                error: None,
                latency_ms: millis(exchange.latency),
            };
            let passed = Passed {
                status: exchange.status,
                content_type,
                body: exchange.body.into(),
            };
            (passed, backend, judgement)
        }
        Some(Ok(exchange)) => {
            let judgement = judge(Answered::Reply(exchange.reply()));
            let error = if exchange.truncated {
                format!(
                    "the backend's answer is over {} MiB, the most oa-hook reads: not passed back",
                    MAX_BODY_BYTES >> 20
                )
            } else if exchange.status < 200 {
                format!(
                    "the backend answered with status {}, an interim status and no answer: not passed back",
                    exchange.status
                )
            } else {
                format!(
                    "the backend answered with status {}, which HTTP does not define (answers are 200 to 599): not passed back",
                    exchange.status
                )
            };
            let backend = Backend {
                status: Some(exchange.status),
                content_type: None,
                error: Some(error.clone()),
                latency_ms: millis(exchange.latency),
            };
            (failed(&error), backend, judgement)
        }
        Some(Err(e)) => {
            let error = e.message();
            let passed = failed(&error);
            let judgement = match e.answered() {
                Some(answered) => judge(answered),
                // Chat would get what the caller gets: the 502, which is not the backend's.
                None => Arc::new(Verdict::of(
                    callback,
                    &subscribers,
                    Answered::Reply(Reply {
                        status: passed.status,
                        body: &passed.body,
                        truncated: false,
                        latency: Some(waited),
                    }),
                )),
            };
            let backend = Backend {
                status: None,
                content_type: None,
                error: Some(error),
                latency_ms: millis(waited),
            };
            (passed, backend, judgement)
        }
    };
    tap.passed.fetch_add(1, Ordering::Relaxed);
    if received.verdict.is_err() {
        tap.invalid.fetch_add(1, Ordering::Relaxed);
    }
    if forgery.is_some() && judgement.accepted {
        tap.forgeries_accepted.fetch_add(1, Ordering::Relaxed);
    }
    let passed = Passed {
        status: fault::status(fault, passed.status),
        body: fault::body(fault, passed.body),
        ..passed
    };
    let latency = started.elapsed();
    // What was passed back, as the event's JSON shows it; a line for people shows the backend's
    // answer judged instead, so the body is read only for JSON (2.5k instructions a callback).
    let answer = if server.writes_json() {
        Body::of(&passed.body)
    } else {
        Body::Omitted
    };
    let mut event = Event::new(now_ms, received, passed.status, answer, latency);
    // The backend answered, not serve: serve's note on how it answers does not apply.
    event.note = None;
    event.fault = fault;
    event.backend = Some(backend);
    event.caller_closed_ms = gone.caller_closed.map(millis);
    event.cut = gone.cut;
    event.judgement = Some(&*judgement);
    let line = server.line(&event, Event::tap_line);
    server.record(&event, head, query, received, &bytes, || None);
    server.events.line(line);
    let backend = event.backend.take();
    let body = passed.body;
    if let Some(inspector) = &server.inspector
        && inspector.takes(Some(head))
    {
        let given = inspect::Given {
            status: passed.status,
            body: body.clone(),
            latency,
            judgement: inspect::Judged::Backend(Box::new(Arc::unwrap_or_clone(judgement))),
            backend: backend.map(Box::new),
            waited: gone,
        };
        inspector.publish(inspect::Request::of(head, now_ms, bytes), owned, given);
    }

    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(passed.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(content_type) = passed.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    fault::mark(fault, &mut response);
    response
}

/// The 502 a caller gets when the backend gave nothing to pass back, saying why.
fn failed(why: &str) -> Passed {
    let answer = Answer::fail(format!("oa-hook tap: {why}"));
    Passed {
        status: StatusCode::BAD_GATEWAY.as_u16(),
        content_type: Some(HeaderValue::from_static("application/json")),
        body: serde_json::to_vec(&answer).unwrap_or_default().into(),
    }
}
