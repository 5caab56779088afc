//! The tap (`serve --forward-to URL`): every request is passed on to the backend as it came, and
//! the backend's answer goes back unchanged; meanwhile the request is judged as serve judges
//! it, the answer as `send` judges it, and both are shown and recorded. A backend that does not
//! answer gets the caller a 502 with a Tencent-shaped FAIL saying why.

use super::event::{Backend, Event, RecordLine};
use super::handler::{Response, Server, stopped_answer, subscribers_of};
use super::inspect;
use super::listen::Caller;
use crate::client::{Pool, TransportError};
use crate::output::OutputFormat;
use crate::protocol::{Answer, MAX_BODY_BYTES, Received, ReceivedQuery, Reply};
use crate::record::{Answered, Body, Verdict};
use crate::report::millis;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use bytes::Bytes;
use http_body_util::Full;
use std::sync::atomic::Ordering;
use std::time::Instant;
use url::Url;

/// Where the tap passes requests on to, and the kept-alive client it does it with.
pub(crate) struct Tap {
    pub url: Url,
    pub client: Pool,
}

impl Tap {
    /// The forward URL with the query received appended, as it came, after the URL's own.
    fn target(&self, received: Option<&str>) -> Url {
        let mut url = self.url.clone();
        match (self.url.query().filter(|q| !q.is_empty()), received) {
            (_, None | Some("")) => {}
            (Some(own), Some(received)) => url.set_query(Some(&format!("{own}&{received}"))),
            (None, Some(received)) => url.set_query(Some(received)),
        }
        url
    }
}

/// What goes back to the caller.
struct Passed {
    status: u16,
    content_type: Option<HeaderValue>,
    body: Vec<u8>,
}

/// Passes one request on, answers with what came back, and says and records both. `arrived`
/// is when the request came, on the monotonic clock and as Unix milliseconds.
pub(super) async fn pass_on(
    server: &Server,
    tap: &Tap,
    (parts, query, bytes, owned): (&Parts, &ReceivedQuery<'_>, Vec<u8>, Received),
    caller: &Caller,
    (started, now_ms): (Instant, i64),
) -> Response {
    let received = &owned;
    let bytes = Bytes::from(bytes);
    let sent = Instant::now();
    let forward = tap.client.forward(
        parts.method.clone(),
        tap.target(parts.uri.query()),
        parts.headers.get(header::CONTENT_TYPE).cloned(),
        bytes.clone(),
    );
    let (forwarded, gone) = server.wait_for(caller, started, forward).await;
    let waited = sent.elapsed();
    let callback = received.callback();
    let subscribers = subscribers_of(received);
    let (passed, backend, judgement) = match forwarded {
        None => {
            let (status, answer) = stopped_answer();
            let passed = Passed {
                status,
                content_type: Some(HeaderValue::from_static("application/json")),
                body: serde_json::to_vec(&answer).unwrap_or_default(),
            };
            let backend = Backend {
                status: None,
                content_type: None,
                error: Some("serve stopped before the backend answered".to_owned()),
                latency_ms: millis(waited),
            };
            let judgement = Verdict::of(callback, &subscribers, Answered::Nothing(waited));
            (passed, backend, judgement)
        }
        Some(Ok(exchange)) if !exchange.truncated => {
            let judgement = Verdict::of(callback, &subscribers, Answered::Reply(exchange.reply()));
            let content_type = exchange.headers.get(header::CONTENT_TYPE).cloned();
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
                body: exchange.body,
            };
            (passed, backend, judgement)
        }
        Some(Ok(exchange)) => {
            let judgement = Verdict::of(callback, &subscribers, Answered::Reply(exchange.reply()));
            let error = format!(
                "the backend's answer is over {} MiB, the most oa-hook reads: not passed back",
                MAX_BODY_BYTES >> 20
            );
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
            let answered = match &e {
                TransportError::Timeout(after) => Answered::Nothing(*after),
                TransportError::Broken(message) => Answered::Broken(message),
                // Chat would get what the caller gets: the 502.
                TransportError::Unreachable { .. } => Answered::Reply(Reply {
                    status: passed.status,
                    body: &passed.body,
                    truncated: false,
                    latency: Some(waited),
                }),
            };
            let judgement = Verdict::of(callback, &subscribers, answered);
            let backend = Backend {
                status: None,
                content_type: None,
                error: Some(error),
                latency_ms: millis(waited),
            };
            (passed, backend, judgement)
        }
    };
    if received.verdict.is_err() {
        server.rejected.fetch_add(1, Ordering::Relaxed);
    }
    server.answered.fetch_add(1, Ordering::Relaxed);
    let latency = started.elapsed();
    let mut event = Event::new(
        now_ms,
        received,
        passed.status,
        Body::of(&passed.body),
        latency,
    );
    event.backend = Some(backend);
    event.caller_closed_ms = gone.caller_closed.map(millis);
    event.cut = gone.cut;
    event.judgement = Some(&judgement);
    let line = match server.format {
        OutputFormat::Human => event.tap_line(&server.look),
        OutputFormat::Json => serde_json::to_string(&event).unwrap_or_default(),
    };
    if let Some(record) = &server.record {
        let line = RecordLine::new(
            &event,
            parts.method.as_str(),
            parts.uri.path(),
            query,
            received,
            &bytes,
        );
        record.line(line.to_json());
    }
    server.events.line(line);
    let backend = event.backend.take();
    let body = Bytes::from(passed.body);
    if let Some(inspector) = &server.inspector
        && inspector.takes(Some(parts))
    {
        let given = inspect::Given {
            status: passed.status,
            body: body.clone(),
            latency,
            judgement: inspect::Judged::Backend(Box::new(judgement)),
            backend,
            waited: gone,
        };
        inspector.publish(inspect::Request::of(parts, now_ms, bytes), owned, given);
    }

    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(passed.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(content_type) = passed.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// The 502 a caller gets when the backend gave nothing to pass back, saying why.
fn failed(why: &str) -> Passed {
    let answer = Answer::fail(format!("oa-hook tap: {why}"));
    Passed {
        status: StatusCode::BAD_GATEWAY.as_u16(),
        content_type: Some(HeaderValue::from_static("application/json")),
        body: serde_json::to_vec(&answer).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Target;
    use std::time::Duration;

    fn tap(url: &str) -> Tap {
        let target = Target {
            timeout: Duration::from_secs(1),
            insecure: false,
            cacert: None,
        };
        Tap {
            url: Url::parse(url).unwrap(),
            client: Pool::new(&target, 1).unwrap(),
        }
    }

    #[test]
    fn the_query_received_goes_after_the_forward_urls_own() {
        let query = "SdkAppid=1&Sign=ab&RequestTime=5&x=%20y";
        assert_eq!(
            tap("http://h:1/im").target(Some(query)).as_str(),
            format!("http://h:1/im?{query}")
        );
        assert_eq!(
            tap("http://h:1/im?tenant=a").target(Some(query)).as_str(),
            format!("http://h:1/im?tenant=a&{query}")
        );
        assert_eq!(
            tap("http://h:1/im?tenant=a").target(None).as_str(),
            "http://h:1/im?tenant=a"
        );
    }
}
