//! What the inspector keeps of one request: an owned copy of what its record line is made of,
//! taken by the request's handler without writing anything ([`Seen`]), and what is made of it
//! only when the page asks: its row, its record line, the filters it passes.

use super::replay::Mark;
use crate::clock::millis;
use crate::protocol::{BUDGET, Finding, Received, ReceivedBody, ReceivedQuery, Reply, Severity};
use crate::record::{Answered, Body, REFUSED_BODY_KEPT, RecordLine, RecordedVerdict, Verdict};
use crate::serve::event::{Backend, Event};
use crate::serve::handler::{Waited, judged, subscribers_of};
use axum::http::Method;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;

/// The header the inspector's own replays carry, so that their rows are marked as replays.
pub(super) const REPLAY_HEADER: &str = "x-oa-hook-replay";

/// Headers kept of one request, and the bytes kept of each value: enough to read a callback's,
/// little for a hostile one.
const HEADERS_KEPT: usize = 64;
const HEADER_VALUE_KEPT: usize = 1024;

/// One request as it came, copied out of the handler's borrowed parts.
pub(in crate::serve) struct Request {
    /// When it arrived, in ms since the epoch.
    at_ms: i64,
    /// `None` for a request the HTTP library refused before serve read its head.
    method: Option<Method>,
    /// The path and query as received, then the headers as `name: value` lines: one
    /// allocation, made to size. The query holds `Sign`, which nothing shows: the record line
    /// and the row leave it out, as the record does.
    head: Vec<u8>,
    /// Where the path and query end in `head`.
    target_len: usize,
    body: Bytes,
    /// The size of the body as received (a large refused one is kept cut short).
    body_len: usize,
    /// The replay this request is, when the inspector sent it ([`REPLAY_HEADER`]).
    pub(super) marker: Option<u64>,
}

impl Request {
    /// The request of `parts` with `body`, which arrived at `at_ms`. Its bytes are copied, not
    /// read: this runs for every request.
    pub(in crate::serve) fn of(parts: &Parts, at_ms: i64, body: Bytes) -> Self {
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str());
        // Room for a callback's few headers; a request with more grows it.
        let mut head = Vec::with_capacity(target.len() + 192);
        head.extend_from_slice(target.as_bytes());
        let mut marker = None;
        for (name, value) in parts.headers.iter().take(HEADERS_KEPT) {
            let value = value.as_bytes();
            if name == REPLAY_HEADER {
                marker = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(&value[..value.len().min(HEADER_VALUE_KEPT)]);
            head.push(b'\n');
        }
        Request {
            at_ms,
            method: Some(parts.method.clone()),
            head,
            target_len: target.len(),
            body_len: body.len(),
            body,
            marker,
        }
    }

    /// A request the HTTP library refused before serve read it: nothing of it is known.
    pub(in crate::serve) fn unread(at_ms: i64) -> Self {
        Request {
            at_ms,
            method: None,
            head: Vec::new(),
            target_len: 0,
            body: Bytes::new(),
            body_len: 0,
            marker: None,
        }
    }

    /// The path and query (a URI's: ASCII).
    fn target(&self) -> &str {
        std::str::from_utf8(&self.head[..self.target_len]).unwrap_or_default()
    }

    fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    fn query(&self) -> &str {
        self.target().split_once('?').map_or("", |(_, query)| query)
    }

    /// `-` for a request whose head serve never read, as its record line says.
    fn shown_method(&self) -> &str {
        self.method.as_ref().map_or("-", Method::as_str)
    }

    fn shown_path(&self) -> &str {
        if self.method.is_some() {
            self.path()
        } else {
            "-"
        }
    }
}

/// A request's answer judged, as its record line keeps it.
pub(in crate::serve) enum Judged {
    /// Serve's own answer: judged from the answer kept when the page asks, as the handler
    /// judges it for the record (which keeps the judgement of the answers it gives again and
    /// again, so that most rows share one and none is judged on the way to its answer).
    Serve,
    /// Judged already: the answer to a request the HTTP library refused, its status with no
    /// body (the answer kept is what serve would have said).
    Said(Arc<RawValue>),
    /// The backend's answer, in tap mode (boxed: most rows are serve's own).
    Backend(Box<Verdict>),
}

/// What the caller was answered, and how it went.
pub(in crate::serve) struct Given {
    pub(in crate::serve) status: u16,
    /// The body answered: serve's own JSON, or what the tap passed back.
    pub(in crate::serve) body: Bytes,
    pub(in crate::serve) latency: Duration,
    pub(in crate::serve) judgement: Judged,
    pub(in crate::serve) backend: Option<Backend>,
    pub(in crate::serve) waited: Waited,
}

/// What a handler saw of one request: everything its record line is made of.
pub(in crate::serve) struct Seen {
    pub(super) request: Request,
    pub(super) received: Received,
    pub(super) given: Given,
}

impl Seen {
    /// Bounds what is kept: a refused body over the record's limit is cut to one byte past it
    /// (so that its record line still leaves it out), and a refused body's JSON tree, which
    /// can take many times its text, is let go (nothing shown needs it).
    pub(super) fn bound(&mut self) {
        if self.received.verdict.is_err() {
            if self.request.body.len() > REFUSED_BODY_KEPT {
                self.request.body =
                    Bytes::copy_from_slice(&self.request.body[..=REFUSED_BODY_KEPT]);
            }
            if matches!(self.received.body, ReceivedBody::Json(_)) {
                self.received.body = ReceivedBody::Unread;
            }
        }
    }

    /// What this takes in memory beyond its fixed size, roughly: the bytes kept, and the
    /// body again for what was read of it.
    pub(super) fn weight(&self) -> usize {
        let request = &self.request;
        2 * request.body.len() + request.head.len() + self.given.body.len()
    }

    /// What serve answered, as it is judged: for a request the HTTP library refused, its
    /// status with no body.
    fn reply(&self) -> Reply<'_> {
        let given = &self.given;
        Reply {
            status: given.status,
            body: match given.judgement {
                Judged::Said(_) => &[],
                Judged::Serve | Judged::Backend(_) => &given.body,
            },
            truncated: false,
            latency: Some(given.latency),
        }
    }

    /// Serve's own answer judged, as the record line has it; `None` in tap mode, where the
    /// event carries the backend's.
    fn own_judgement(&self) -> Option<Arc<RawValue>> {
        match &self.given.judgement {
            Judged::Serve => Some(judged(&self.received, self.reply())),
            Judged::Said(judgement) => Some(Arc::clone(judgement)),
            Judged::Backend(_) => None,
        }
    }

    /// The answer judged again, as replay compares it.
    pub(super) fn verdict(&self) -> Verdict {
        match &self.given.judgement {
            Judged::Backend(verdict) => Verdict::clone(verdict),
            Judged::Serve | Judged::Said(_) => Verdict::of(
                self.received.callback(),
                &subscribers_of(&self.received),
                Answered::Reply(self.reply()),
            ),
        }
    }

    /// The event as serve says it (`--output json`), answering `answer`.
    fn event<A>(&self, answer: A) -> Event<'_, A> {
        let given = &self.given;
        let mut event = Event::new(
            self.request.at_ms,
            &self.received,
            given.status,
            answer,
            given.latency,
        );
        event.backend = given.backend.clone();
        event.caller_closed_ms = given.waited.caller_closed.map(millis);
        event.cut = given.waited.cut;
        if let Judged::Backend(verdict) = &given.judgement {
            event.judgement = Some(verdict);
        }
        event
    }

    /// The record line `serve --record` writes for this request, without its newline.
    pub(super) fn record_line(&self) -> Vec<u8> {
        let request = &self.request;
        let query = ReceivedQuery::parse(request.query());
        let event = self.event(Body::of(&self.given.body));
        let judgement = self.own_judgement();
        RecordLine {
            judgement: judgement.as_deref(),
            body_bytes: request.body_len,
            ..RecordLine::new(
                &event,
                request.shown_method(),
                request.shown_path(),
                &query,
                &self.received,
                &request.body,
            )
        }
        .to_json()
    }

    /// The answer's judgement, read.
    fn judged(&self) -> Judgement {
        let Some(own) = self.own_judgement() else {
            return match &self.given.judgement {
                Judged::Backend(verdict) => Judgement {
                    accepted: verdict.accepted,
                    counts: Counts::of(verdict.findings.iter().map(|f| f.severity)),
                },
                Judged::Serve | Judged::Said(_) => Judgement::default(),
            };
        };
        serde_json::from_str::<RecordedVerdict>(own.get())
            .map(|verdict| Judgement {
                accepted: verdict.accepted,
                counts: Counts::of(verdict.findings.iter().filter_map(
                    |f| match f.severity.as_str() {
                        "error" => Some(Severity::Error),
                        "warning" => Some(Severity::Warning),
                        _ => None,
                    },
                )),
            })
            .unwrap_or_default()
    }

    /// The request's own findings: a valid callback's warnings, or why it was refused.
    fn findings(&self) -> &[Finding] {
        match &self.received.verdict {
            Ok(valid) => valid.warnings(),
            Err(rejection) => &rejection.findings,
        }
    }

    /// The Official Account the body names, whether or not the callback was valid.
    fn account(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(rename = "Official_Account")]
            account: Option<String>,
        }
        serde_json::from_slice::<Named>(&self.request.body)
            .ok()
            .and_then(|named| named.account)
    }

    /// The body as text, for the page (lossy where it is not UTF-8).
    pub(super) fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.request.body)
    }

    pub(super) fn body(&self) -> &[u8] {
        &self.request.body
    }

    pub(super) fn path(&self) -> &str {
        self.request.path()
    }

    /// Every query parameter but `Sign`, in order, as received.
    pub(super) fn query_shown(&self) -> Vec<(String, String)> {
        ReceivedQuery::parse(self.request.query())
            .without_signature()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// The headers as text (lossy where a value is not UTF-8).
    pub(super) fn headers(&self) -> Vec<(String, String)> {
        let request = &self.request;
        String::from_utf8_lossy(&request.head[request.target_len..])
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    pub(super) fn is_valid(&self) -> bool {
        self.received.verdict.is_ok()
    }

    pub(super) fn command(&self) -> Option<&str> {
        self.received.command.as_ref().map(|c| c.name())
    }

    pub(super) fn callback(&self) -> Option<&'static crate::protocol::Callback> {
        self.received.callback()
    }
}

/// How many findings of each severity.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    errors: usize,
    warnings: usize,
}

impl Counts {
    fn of(severities: impl Iterator<Item = Severity>) -> Self {
        severities.fold(Counts::default(), |mut counts, severity| {
            match severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
            }
            counts
        })
    }
}

/// What the page shows of an answer's judgement beside the judgement itself.
#[derive(Debug, Default)]
struct Judgement {
    accepted: bool,
    counts: Counts,
}

/// A request the inspector keeps: what was seen, its number, and, for a replay sent from the
/// page, what it is a replay of and how its decision compares.
pub(super) struct Kept {
    pub(super) id: u64,
    pub(super) seen: Seen,
    /// Boxed: a row rarely is a replay.
    pub(super) replay: Option<Box<Mark>>,
    pub(super) weight: usize,
}

/// Which rows a list or a download takes.
#[derive(Debug, Default)]
pub(super) struct Filter {
    pub(super) command: Option<String>,
    pub(super) verdict: Option<VerdictFilter>,
    /// Text the body contains, lower-cased (the match ignores ASCII case).
    pub(super) text: Option<Vec<u8>>,
}

/// The verdicts a list can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VerdictFilter {
    /// A callback Chat could have sent.
    Valid,
    /// Anything else: refused by serve's checks (or, in tap mode, passed on all the same).
    Invalid,
    /// The answer accepts the callback.
    Accepted,
    /// The answer refuses or fails it.
    Refused,
    /// An error was found in the request or the answer.
    Errors,
    /// A warning was found in the request or the answer.
    Warnings,
    /// Sent by the page's Replay.
    Replays,
}

impl VerdictFilter {
    pub(super) const NAMES: [(&'static str, VerdictFilter); 7] = [
        ("valid", VerdictFilter::Valid),
        ("invalid", VerdictFilter::Invalid),
        ("accepted", VerdictFilter::Accepted),
        ("refused", VerdictFilter::Refused),
        ("errors", VerdictFilter::Errors),
        ("warnings", VerdictFilter::Warnings),
        ("replays", VerdictFilter::Replays),
    ];
}

/// A row as the page lists it: the fields serve's `--output json` event has (without its
/// `answer`), after these.
#[derive(Serialize)]
struct Row<'a> {
    id: u64,
    account: Option<String>,
    errors: usize,
    warnings: usize,
    /// Answered after Chat's 2 s: Chat had given up.
    overrun: bool,
    /// Tap mode: the backend accepted a request whose Sign or SdkAppid was wrong.
    forgery_accepted: bool,
    replay: Option<super::replay::MarkRow<'a>>,
    /// Serve's own answer judged (in tap mode the event's own `judgement` follows).
    #[serde(skip_serializing_if = "Option::is_none")]
    judgement: Option<&'a RawValue>,
}

impl Kept {
    fn counts(&self) -> (Judgement, Counts) {
        let judgement = self.seen.judged();
        let own = Counts::of(self.seen.findings().iter().map(|f| f.severity));
        let counts = Counts {
            errors: own.errors + judgement.counts.errors,
            warnings: own.warnings + judgement.counts.warnings,
        };
        (judgement, counts)
    }

    /// The row, as JSON.
    pub(super) fn row(&self) -> Vec<u8> {
        let (judgement, counts) = self.counts();
        let forgery =
            matches!(&self.seen.received.verdict, Err(r) if matches!(r.status, 401 | 403));
        let own = self.seen.own_judgement();
        let row = Row {
            id: self.id,
            account: self.seen.account(),
            errors: counts.errors,
            warnings: counts.warnings,
            overrun: self.seen.given.latency > BUDGET,
            forgery_accepted: forgery && judgement.accepted,
            replay: self.replay.as_deref().map(Mark::row),
            judgement: own.as_deref(),
        };
        let mut json = serde_json::to_vec(&row).unwrap_or_default();
        let event = serde_json::to_vec(&self.seen.event(())).unwrap_or_default();
        // Both are objects with fields: the row's closing brace gives way to the event's fields.
        if json.pop() == Some(b'}') && event.first() == Some(&b'{') {
            json.push(b',');
            json.extend_from_slice(&event[1..]);
        }
        json
    }

    pub(super) fn passes(&self, filter: &Filter) -> bool {
        if let Some(command) = &filter.command
            && self.seen.command() != Some(command.as_str())
        {
            return false;
        }
        if let Some(text) = &filter.text
            && !contains_ignoring_case(&self.seen.request.body, text)
        {
            return false;
        }
        let Some(verdict) = filter.verdict else {
            return true;
        };
        match verdict {
            VerdictFilter::Valid => self.seen.is_valid(),
            VerdictFilter::Invalid => !self.seen.is_valid(),
            VerdictFilter::Replays => self.replay.is_some(),
            VerdictFilter::Accepted => self.seen.judged().accepted,
            VerdictFilter::Refused => !self.seen.judged().accepted,
            VerdictFilter::Errors => self.counts().1.errors > 0,
            VerdictFilter::Warnings => self.counts().1.warnings > 0,
        }
    }
}

/// Whether `haystack` contains `needle` (lower-case already), ignoring ASCII case.
fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(&haystack.to_ascii_lowercase(), needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_found_whatever_its_case() {
        assert!(contains_ignoring_case(b"Subscriber JARED", b"jared"));
        assert!(contains_ignoring_case(b"x", b""));
        assert!(!contains_ignoring_case(b"jare", b"jared"));
    }
}
