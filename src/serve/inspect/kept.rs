//! What the inspector keeps of one request: an owned copy of what its record line is made of,
//! taken by the request's handler without writing anything ([`Seen`]), and what is made of it
//! only when the page asks: its row, its record line, the filters it passes.

use super::replay::Mark;
use super::request::Request;
use crate::clock::millis;
use crate::compact;
use crate::protocol::{BUDGET, Finding, Received, ReceivedBody, ReceivedQuery, Reply, Severity};
use crate::record::{Answered, Body, REFUSED_BODY_KEPT, RecordLine, RecordedVerdict, Verdict};
use crate::serve::event::{Backend, Event};
use crate::serve::handler::{Waited, judged, subscribers_of};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;

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
    /// Tap mode (boxed: most rows are serve's own).
    pub(in crate::serve) backend: Option<Box<Backend>>,
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
    /// (so that its record line still leaves it out), and what was read of a refused body is
    /// let go: its JSON tree can take many times its text, and nothing shown needs it (nor may
    /// anything take a body cut short for the one that was read).
    pub(super) fn bound(&mut self) {
        if self.received.verdict.is_err() {
            self.request.cut_body(REFUSED_BODY_KEPT + 1);
            self.received.body = ReceivedBody::Unread;
        }
    }

    /// What this takes in memory beyond its fixed size, roughly: the bytes kept, and the
    /// body again for what was read of it.
    pub(super) fn weight(&self) -> usize {
        let request = &self.request;
        request.bytes.len() + request.body().len() + self.given.body.len()
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
        event.backend = given.backend.as_deref().cloned();
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
                request.body(),
            )
        }
        .to_json()
    }

    /// The answer's judgement, read.
    pub(super) fn judged(&self) -> Judgement {
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
        serde_json::from_slice::<Named>(self.request.body())
            .ok()
            .and_then(|named| named.account)
    }

    /// The body as text, for the page (lossy where it is not UTF-8).
    pub(super) fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.request.body())
    }

    pub(super) fn body(&self) -> &[u8] {
        self.request.body()
    }

    pub(super) fn path(&self) -> &str {
        self.request.path()
    }

    /// Every query parameter but `Sign`, in order, as received.
    pub(super) fn query_shown(&self) -> Vec<(String, String)> {
        ReceivedQuery::parse(self.request.query())
            .without_signature()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// The headers as text (lossy where a value is not UTF-8).
    pub(super) fn headers(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(self.request.head())
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
    pub(super) errors: usize,
    pub(super) warnings: usize,
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
pub(super) struct Judgement {
    pub(super) accepted: bool,
    counts: Counts,
}

/// A request the inspector keeps: what was seen, its number, and, for a replay sent from the
/// page, what it is a replay of and how its decision compares.
pub(super) struct Kept {
    pub(super) id: u64,
    pub(super) seen: Seen,
    /// Boxed: a row rarely is a replay.
    pub(super) replay: Option<Box<Mark>>,
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
    pub(super) fn counts(&self) -> (Judgement, Counts) {
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
        let mut json = compact::to_vec(&row).unwrap_or_default();
        let event = compact::to_vec(&self.seen.event(())).unwrap_or_default();
        // Both are objects with fields: the row's closing brace gives way to the event's fields.
        if json.pop() == Some(b'}') && event.first() == Some(&b'{') {
            json.push(b',');
            json.extend_from_slice(&event[1..]);
        }
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What keeping 10,000 events costs is mostly this, once each: with its `Arc`, within
    /// mimalloc's 512-byte class (BENCHMARKS.md, "The inspector").
    #[test]
    fn an_event_kept_takes_at_most_512_bytes_with_its_arc() {
        assert!(size_of::<Kept>() + 2 * size_of::<usize>() <= 512);
    }
}
