//! What serve says of each callback: the event, shown on stdout (as a line for people in
//! `line`, or NDJSON) and at the start of its record line (`record`).

mod line;
mod record;

pub(super) use record::RecordLine;

use super::fault::Applied;
use crate::protocol::{Answer, CommandWord, EventValue, Finding, Received, UNMODELLED_NOTE, Valid};
use crate::record::Verdict;
use crate::report::millis;
use serde::{Serialize, Serializer};
use std::time::{Duration, UNIX_EPOCH};

/// One callback, as shown on stdout (`--output json`) and at the start of each record line.
/// `A` is the answer given: serve's own, or in tap mode the body passed back to the caller.
#[derive(Serialize)]
pub(super) struct Event<'a, A = &'a Answer> {
    /// When the request arrived, in ms since the epoch: RFC 3339 in JSON.
    #[serde(rename = "time", serialize_with = "rfc3339")]
    at_ms: i64,
    /// The callback's short name when serve models it, else the command word as received.
    command: Option<&'a str>,
    operator: Option<&'a str>,
    subscribers: &'a [String],
    /// Whether the callback's body has a subscriber list, to show on the line.
    #[serde(skip)]
    listed: bool,
    /// A callback Chat could have sent, answered by policy; else rejected with a 4xx.
    valid: bool,
    status: u16,
    answer: A,
    /// Warnings of a valid callback, or the errors a rejected one was refused for.
    findings: &'a [Finding],
    /// Said of an authentic callback of a command serve does not model (and answers itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<&'static str>,
    /// Refused as not authentic: in tap mode, the backend must refuse it too.
    #[serde(skip)]
    forged: bool,
    latency_ms: f64,
    /// Tap mode: what the backend did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backend: Option<Backend>,
    /// Tap mode: the backend's answer judged (in serve mode only the record has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) judgement: Option<&'a Verdict>,
    /// When the caller closed its side of the connection before the answer, in ms after the
    /// request arrived: a caller that hung up (Chat gives up after 2 s) never gets the answer;
    /// one that only half-closed still does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) caller_closed_ms: Option<f64>,
    /// Serve stopped before the answer was ready (a second Ctrl-C cut the drain short): the
    /// answer is serve's own 503.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) cut: bool,
    /// The fault `serve --fault` applied to this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fault: Option<Applied>,
}

/// What the backend did with a callback the tap passed on.
#[derive(Clone, Serialize)]
pub(super) struct Backend {
    /// `null` when no answer came.
    pub(super) status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) content_type: Option<String>,
    /// Why no answer came, or why it was not passed back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
    pub(super) latency_ms: f64,
}

impl<'a, A> Event<'a, A> {
    pub(super) fn new(
        now_ms: i64,
        received: &'a Received,
        status: u16,
        answer: A,
        latency: Duration,
    ) -> Self {
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
            at_ms: now_ms,
            command: received.command.as_ref().map(CommandWord::name),
            operator,
            subscribers,
            // Only a callback whose body was read names its subscribers.
            listed: received.verdict.is_ok()
                && received
                    .callback()
                    .is_some_and(|callback| callback.body.carries(EventValue::Subscribers)),
            valid: received.verdict.is_ok(),
            forged: received
                .verdict
                .as_ref()
                .is_err_and(crate::protocol::Rejection::is_forgery),
            status,
            answer,
            findings,
            note,
            latency_ms: millis(latency),
            backend: None,
            judgement: None,
            caller_closed_ms: None,
            cut: false,
            fault: None,
        }
    }
}

/// `at_ms` (ms since the epoch; none before it) in RFC 3339, to the millisecond.
fn rfc3339_millis(at_ms: i64) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(
        UNIX_EPOCH + Duration::from_millis(at_ms.max(0).unsigned_abs()),
    )
}
fn rfc3339<S: Serializer>(at_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&rfc3339_millis(*at_ms))
}
