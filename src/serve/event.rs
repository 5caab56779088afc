//! What serve says of each callback: the event line on stdout (for people, or NDJSON) and the
//! record line (the event, then the request as received, without Sign and RequestTime; the
//! format is `crate::record`'s).

use super::REFUSED_BODY_KEPT;
use super::fault::Applied;
use crate::output::{Paint, Palette};
use crate::protocol::{
    ActionStatus, Answer, CommandWord, EventValue, Finding, QuotedErrorInfo, Received,
    ReceivedBody, ReceivedQuery, UNMODELLED_NOTE, Valid, param,
};
use crate::record::{self, Body, Verdict};
use crate::report::millis;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

/// The request's body as recorded: whole for a valid callback, to be replayed; a refused one
/// only when it is small, so that no input makes a large record line.
fn recorded_body<'a>(received: &Received, bytes: &'a [u8]) -> Body<'a> {
    if received.verdict.is_err() && bytes.len() > REFUSED_BODY_KEPT {
        Body::Omitted
    } else {
        Body::exact(bytes)
    }
}

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

    /// The fault applied on purpose, when there was one.
    fn push_fault(&self, line: &mut String, palette: &Palette) {
        if let Some(fault) = &self.fault {
            let _ = write!(
                line,
                "  {} {style}{}{style:#}",
                palette.warn,
                fault.says(),
                style = &palette.warning
            );
        }
    }

    /// What became of the caller, when it did not simply get its answer.
    fn push_gone(&self, line: &mut String, palette: &Palette) {
        if self.cut {
            let _ = write!(
                line,
                "  {} {style}serve stopped before the answer was ready (the drain was cut short){style:#}",
                palette.fail,
                style = &palette.error
            );
        }
        if let Some(after) = self.caller_closed_ms {
            let _ = write!(
                line,
                "  {} {style}the caller closed the connection {after:.1} ms after it arrived, before the answer{style:#}",
                palette.warn,
                style = &palette.warning
            );
        }
    }

    /// `  ! query.Sign: Sign is upper-case hex; ...` for each warning of a valid callback.
    fn push_warnings(&self, line: &mut String, palette: &Palette) {
        for warning in self.findings {
            let _ = write!(
                line,
                "  {} {style}{warning}{style:#}",
                palette.warn,
                style = &palette.warning
            );
        }
    }

    /// A line begun with the clock time (`05:21:52.000Z `), for the command and the rest.
    fn begin(&self, capacity: usize) -> (String, &str) {
        let mut line = String::with_capacity(capacity);
        push_clock(&mut line, self.at_ms);
        line.push(' ');
        (line, self.command.unwrap_or("-"))
    }

    /// `  operator 107867  subscribers jared, leckie`, for a valid callback of a modelled command.
    /// Who the callback names: its operator, and its subscribers when its body lists any.
    fn push_who(&self, line: &mut String) {
        if let Some(operator) = self.operator {
            line.push_str("  operator ");
            line.push_str(operator);
        }
        if self.listed {
            line.push_str("  subscribers ");
            push_shortened(line, self.subscribers);
        }
    }
}

/// `05:21:52.000Z`: the time of day (UTC) of `at_ms`, as the end of its RFC 3339 form.
fn push_clock(line: &mut String, at_ms: i64) {
    let start = line.len();
    let _ = write!(line, "{}", rfc3339_millis(at_ms));
    // `2022-12-01T`: the date goes.
    line.drain(start..start + "yyyy-mm-ddT".len());
}

/// `at_ms` (ms since the epoch; none before it) in RFC 3339, to the millisecond.
fn rfc3339_millis(at_ms: i64) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(
        UNIX_EPOCH + Duration::from_millis(at_ms.max(0).unsigned_abs()),
    )
}

/// `  0.3 ms`, dim: the latency to a tenth of a millisecond.
fn push_latency(line: &mut String, latency_ms: f64, dim: &Paint) {
    let _ = write!(line, "  {dim}{latency_ms:.1} ms{dim:#}");
}

fn rfc3339<S: Serializer>(at_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&rfc3339_millis(*at_ms))
}

impl<'a> Event<'a> {
    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared  0.3 ms`
    pub(super) fn human_line(&self, palette: &Palette) -> String {
        let (mut line, command) = self.begin(160);
        let (bold, dim) = (&palette.strong, &palette.dim);
        if self.valid {
            line.push_str(&palette.pass);
            line.push(' ');
            bold.push(&mut line, command);
            self.push_who(&mut line);
            line.push_str("  → ");
            let _ = write!(line, "{bold}{}{bold:#} ", self.status);
            self.push_outcome(&mut line);
            if let Some(note) = self.note {
                line.push_str("  ");
                dim.push(&mut line, note);
            }
            self.push_warnings(&mut line, palette);
        } else {
            let _ = write!(
                line,
                "{} {command}  → {failed}{}{failed:#} ",
                palette.fail,
                self.status,
                failed = &palette.failed,
            );
            palette.error.push(&mut line, &self.answer.error_info);
        }
        self.push_fault(&mut line, palette);
        self.push_gone(&mut line, palette);
        push_latency(&mut line, self.latency_ms, dim);
        line
    }

    fn push_outcome(&self, line: &mut String) {
        let answer = self.answer;
        if answer.action_status == ActionStatus::Fail {
            line.push_str("ActionStatus FAIL");
        } else if answer.error_code == 1 {
            // What ErrorCode 1 refuses depends on the callback: see protocol.md section 6.
            line.push_str(match self.command {
                Some("before-create") => "denies the creation (ErrorCode 1)",
                Some("before-send") => "refuses the message (ErrorCode 1)",
                _ => "rejects all (ErrorCode 1)",
            });
        } else if answer.error_code == 2 {
            line.push_str("discards (ErrorCode 2)");
        } else if answer.error_code != 0 {
            let _ = write!(line, "ErrorCode {}", answer.error_code);
        } else if !answer.msg_body.is_empty() {
            line.push_str("rewrites the message");
        } else if answer.refused_subscribers_account.is_empty() {
            line.push_str("OK");
        } else {
            line.push_str("refuses ");
            push_joined(line, &answer.refused_subscribers_account);
        }
    }
}

impl Event<'_, Body<'_>> {
    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → backend 200: Chat subscribes leckie; refuses jared  3.1 ms`:
    /// the request as serve judges it, then what the backend did and what Chat makes of it. A
    /// callback that is not authentic is right to be refused (✔) and a failure to be accepted
    /// (✘ with the finding's code): what Chat makes of an answer to it does not matter.
    pub(super) fn tap_line(&self, palette: &Palette) -> String {
        let (mut line, command) = self.begin(200);
        let (bold, dim) = (&palette.strong, &palette.dim);
        let answered = self.backend.as_ref().is_some_and(|b| b.error.is_none());
        let conforms = self.judgement.is_some_and(Verdict::conforms);
        let mark = if answered && conforms && (self.valid || self.forged) {
            &palette.pass
        } else {
            &palette.fail
        };
        let _ = write!(line, "{mark} {bold}{command}{bold:#}");
        self.push_who(&mut line);
        if self.valid {
            self.push_warnings(&mut line, palette);
        } else {
            let why: Vec<String> = self.findings.iter().map(ToString::to_string).collect();
            let passed = if self.forged {
                "not authentic; passed on: the backend must refuse it"
            } else {
                "passed on all the same"
            };
            let _ = write!(
                line,
                "  {error}{}{error:#} ({passed})",
                why.join("; "),
                error = &palette.error
            );
        }
        match self.backend.as_ref() {
            Some(Backend {
                error: Some(error), ..
            }) => {
                let _ = write!(
                    line,
                    "  → {failed}{}{failed:#} {style}{error}{style:#}",
                    self.status,
                    failed = &palette.failed,
                    style = &palette.error
                );
            }
            Some(Backend {
                status: Some(status),
                ..
            }) => {
                let _ = write!(line, "  → backend {bold}{status}{bold:#}");
                if let Some(judgement) = self.judgement {
                    self.push_judgement(&mut line, judgement, palette);
                }
            }
            _ => {}
        }
        self.push_fault(&mut line, palette);
        self.push_gone(&mut line, palette);
        push_latency(&mut line, self.latency_ms, dim);
        line
    }

    /// `: Chat subscribes leckie  ErrorInfo "..."  ✘ status: ...`. `ErrorInfo` is said once:
    /// where the verdict has no decision, or the request is a forgery, `says` quotes the answer
    /// already, `ErrorInfo` included.
    fn push_judgement(&self, line: &mut String, judgement: &Verdict, palette: &Palette) {
        let chat = if judgement.decision.is_some() && !self.forged {
            "Chat "
        } else {
            ""
        };
        let _ = write!(line, ": {chat}{}", judgement.says);
        if let Some(info) = &judgement.error_info
            && !chat.is_empty()
        {
            let _ = write!(line, "  {}", QuotedErrorInfo(info));
        }
        for finding in &judgement.findings {
            let (mark, style) = if finding.is_error() {
                (&palette.fail, &palette.error)
            } else {
                (&palette.warn, &palette.warning)
            };
            let _ = write!(line, "  {mark} {style}");
            // What an answer to a forgery is found guilty of is named by its code: the
            // security failure to look for.
            if self.forged {
                let _ = write!(line, "{}: {}", finding.code, finding.message);
            } else {
                let _ = write!(line, "{finding}");
            }
            let _ = write!(line, "{style:#}");
        }
    }
}

/// A callback may name a hundred subscribers; a line names the first few.
fn push_shortened(line: &mut String, users: &[String]) {
    const SHOWN: usize = 5;
    match users.len() {
        0 => line.push_str("none"),
        n if n <= SHOWN => push_joined(line, users),
        n => {
            push_joined(line, &users[..SHOWN]);
            let _ = write!(line, " … (+{})", n - SHOWN);
        }
    }
}

/// `a, b, c`.
fn push_joined(line: &mut String, users: &[String]) {
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        line.push_str(user);
    }
}

/// One `--record` line (format version [`record::VERSION`], documented in the README): the
/// event, then the request as received: the query without `Sign` and `RequestTime`, which come
/// apart (`request_time`, `sign`) so that replay signs afresh unless told to replay them as
/// they came (`replay --as-recorded`, a replay attack); the token itself is never known here.
pub(super) struct RecordLine<'a, A> {
    pub(super) event: &'a Event<'a, A>,
    /// Serve's own answer judged (in tap mode the event carries the backend's).
    pub(super) judgement: Option<&'a RawValue>,
    pub(super) method: &'a str,
    pub(super) path: &'a str,
    /// Every parameter but `Sign` and `RequestTime`.
    pub(super) query: &'a ReceivedQuery<'a>,
    pub(super) body: Kept<'a>,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    pub(super) body_bytes: usize,
    /// Whether to keep the `Sign` (`serve --record-sign`): with its RequestTime it lets whoever
    /// holds the record test guesses at the token offline, so it is kept only when asked for.
    pub(super) keep_sign: bool,
}

/// A request's body as its record line keeps it.
pub(super) enum Kept<'a> {
    /// The body of a callback just read as exactly its command's JSON, on one line without
    /// surrounding spaces: written as it came, without reading it again.
    Exact(&'a str),
    /// Any other body, as the record keeps one.
    Other(Body<'a>),
}

impl<'a, A: Serialize> RecordLine<'a, A> {
    pub(super) fn new(
        event: &'a Event<'a, A>,
        method: &'a str,
        path: &'a str,
        query: &'a ReceivedQuery<'a>,
        received: &Received,
        bytes: &'a [u8],
    ) -> Self {
        let exact = matches!(received.body, ReceivedBody::Exact)
            .then(|| one_line_json(bytes))
            .flatten();
        RecordLine {
            event,
            judgement: None,
            method,
            path,
            query,
            body: exact.map_or_else(|| Kept::Other(recorded_body(received, bytes)), Kept::Exact),
            body_bytes: bytes.len(),
            keep_sign: false,
        }
    }

    /// The line, without its newline: `{"v":1,` the event's fields, then the request's. Written
    /// piece by piece, so that the event is serialized once and an exact body not at all.
    pub(super) fn to_json(&self) -> Vec<u8> {
        self.write().unwrap_or_default()
    }

    fn write(&self) -> serde_json::Result<Vec<u8>> {
        let mut line = Vec::with_capacity(1024);
        line.extend_from_slice(b"{\"v\":");
        serde_json::to_writer(&mut line, &record::VERSION)?;
        let event_at = line.len();
        serde_json::to_writer(&mut line, self.event)?;
        // The event is an object with fields: its braces give way to the line's.
        line[event_at] = b',';
        line.pop();
        if let Some(judgement) = self.judgement {
            line.extend_from_slice(b",\"judgement\":");
            line.extend_from_slice(judgement.get().as_bytes());
        }
        line.extend_from_slice(b",\"method\":");
        serde_json::to_writer(&mut line, self.method)?;
        line.extend_from_slice(b",\"path\":");
        serde_json::to_writer(&mut line, self.path)?;
        line.extend_from_slice(b",\"query\":");
        write_query(&mut line, &self.query.without_signature())?;
        line.extend_from_slice(b",\"request_time\":");
        serde_json::to_writer(&mut line, &self.query.get(param::REQUEST_TIME))?;
        if self.keep_sign {
            line.extend_from_slice(b",\"sign\":");
            serde_json::to_writer(&mut line, &self.query.get(param::SIGN))?;
        }
        line.extend_from_slice(b",\"body\":");
        let format = match &self.body {
            Kept::Exact(text) => {
                line.extend_from_slice(text.as_bytes());
                "json"
            }
            Kept::Other(body) => {
                serde_json::to_writer(&mut line, body)?;
                body.format()
            }
        };
        line.extend_from_slice(b",\"body_format\":");
        serde_json::to_writer(&mut line, format)?;
        line.extend_from_slice(b",\"body_bytes\":");
        serde_json::to_writer(&mut line, &self.body_bytes)?;
        line.push(b'}');
        Ok(line)
    }
}

/// `{"SdkAppid":"88888888",...}`: the parameters as received, in order. A name that comes more
/// than once (Chat's never do; a forger's may) keeps every value, in order, in an array where
/// the name first came, so that replay sends them all.
fn write_query(line: &mut Vec<u8>, pairs: &[(&str, &str)]) -> serde_json::Result<()> {
    let mut names: Vec<&str> = pairs.iter().map(|&(name, _)| name).collect();
    names.sort_unstable();
    if names.windows(2).any(|two| two[0] == two[1]) {
        let mut grouped = serde_json::Map::new();
        for &(name, value) in pairs {
            match grouped.get_mut(name) {
                Some(serde_json::Value::Array(values)) => values.push(value.into()),
                Some(first) => *first = serde_json::Value::Array(vec![first.take(), value.into()]),
                None => {
                    grouped.insert(name.to_owned(), value.into());
                }
            }
        }
        return serde_json::to_writer(line, &grouped);
    }
    line.push(b'{');
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        serde_json::to_writer(&mut *line, name)?;
        line.push(b':');
        serde_json::to_writer(&mut *line, value)?;
    }
    line.push(b'}');
    Ok(())
}

/// `bytes` as text when it is JSON already read whole (the caller knows) that the record can
/// keep as it is: one line, no spaces around it, as [`Body::exact`] would keep it.
fn one_line_json(bytes: &[u8]) -> Option<&str> {
    let spaced = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b' ' | b'\t'));
    if spaced(bytes.first())
        || spaced(bytes.last())
        || memchr::memchr2(b'\n', b'\r', bytes).is_some()
    {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_subscriber_lists_are_shortened() {
        let shorten = |users: &[String]| {
            let mut line = String::new();
            push_shortened(&mut line, users);
            line
        };
        let users: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        assert_eq!(shorten(&users), "u0, u1, u2, u3, u4 … (+96)");
        assert_eq!(shorten(&users[..2]), "u0, u1");
        assert_eq!(shorten(&[]), "none");
    }

    #[test]
    fn an_exact_body_is_kept_as_body_of_keeps_it() {
        // Bodies that are JSON, as the caller of one_line_json guarantees.
        let bodies: [&[u8]; 8] = [
            br#"{"a":1}"#,
            br#"{"a":"x\ny","b":[1, 2]}"#,
            b" {\"a\":1}",
            b"{\"a\":1} ",
            b"\t{\"a\":1}",
            b"{\"a\":\n1}",
            b"{\"a\":1}\r\n",
            "{\"ü\":\"é\"}".as_bytes(),
        ];
        for body in bodies {
            match (one_line_json(body), Body::exact(body)) {
                (Some(text), Body::Json(raw)) => assert_eq!(text, raw.get()),
                (None, Body::Text(_)) => {}
                (kept, _) => panic!(
                    "{:?}: one_line_json says {kept:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
    }

    #[test]
    fn a_repeated_query_parameter_keeps_every_value_in_order() {
        let written = |query: &str| {
            let query = ReceivedQuery::parse(query);
            let mut line = Vec::new();
            write_query(&mut line, &query.without_signature()).unwrap();
            String::from_utf8(line).unwrap()
        };
        assert_eq!(written("a=1&b=%22"), r#"{"a":"1","b":"\""}"#);
        assert_eq!(written(""), "{}");
        assert_eq!(
            written("SdkAppid=1&x=y&SdkAppid=2&Sign=s&SdkAppid=3&Sign=t"),
            r#"{"SdkAppid":["1","2","3"],"x":"y"}"#
        );
    }

    #[test]
    fn the_clock_is_the_time_of_day_in_utc() {
        for (at_ms, shown) in [
            (0, "00:00:00.000Z"),
            (999, "00:00:00.999Z"),
            (86_399_999, "23:59:59.999Z"),
            (1_669_872_112_000, "05:21:52.000Z"),
            (1_795_586_397_528, "05:59:57.528Z"),
            (-5, "00:00:00.000Z"),
        ] {
            let mut line = String::from("before ");
            push_clock(&mut line, at_ms);
            assert_eq!(line, format!("before {shown}"), "{at_ms}");
        }
    }

    #[test]
    fn latency_is_shown_to_a_tenth_of_a_millisecond() {
        for (ms, shown) in [
            (0.0, "0.0"),
            (0.04, "0.0"),
            (0.06, "0.1"),
            // A tie goes as `{:.1}` has always put it.
            (0.25, "0.2"),
            (12.34, "12.3"),
            (2000.0, "2000.0"),
        ] {
            let mut line = String::new();
            push_latency(&mut line, ms, &Paint::default());
            assert_eq!(line, format!("  {shown} ms"));
        }
    }
}

/// Whatever serve can write, replay reads back: any request body, through serve's own judging
/// and record line, comes back from replay's reader byte for byte.
#[cfg(test)]
mod replayable {
    use super::super::REFUSED_BODY_KEPT;
    use super::*;
    use crate::protocol::{CALLBACKS, EventValues, Inbound, Receiver, build_body};
    use crate::record::{Answered, Line, Lines};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// Bodies for `callback` (an index in [`CALLBACKS`]): any bytes, its exact body and that
    /// body changed, JSON no reader takes back (`1e400`, 200 deep, a lone surrogate) and its
    /// near misses, and bodies either side of the size a record keeps of a refused one.
    fn bodies(callback: usize) -> impl Strategy<Value = Vec<u8>> {
        let callback = &CALLBACKS[callback];
        let exact = build_body(callback, &EventValues::seed(callback, 1_670_574_414_123))
            .to_string()
            .into_bytes();
        let changed = (
            Just(exact.clone()),
            vec((any::<usize>(), any::<u8>()), 1..4),
        )
            .prop_map(|(mut body, edits)| {
                for (at, byte) in edits {
                    let at = at % body.len();
                    body[at] = byte;
                }
                body
            });
        let refused_json = select(vec![
            r#"{"x":1e400}"#,
            r#"{"x":-1e400}"#,
            r#"[1e308,1e-400,18446744073709551616]"#,
            r#"{"x":"\ud800"}"#,
            r#"{"\udfff":0}"#,
            r#"{"x":"\ud83d\ude00"}"#,
            r#""\u0000\n""#,
            " {}",
            "{}\n",
            "{}\r\n",
        ])
        .prop_map(|text| text.as_bytes().to_vec());
        let deep = (120..260_usize)
            .prop_map(|depth| ["[".repeat(depth), "]".repeat(depth)].concat().into_bytes());
        let sized = (0..3_usize).prop_map(|more| vec![b'x'; REFUSED_BODY_KEPT - 1 + more]);
        prop_oneof![
            vec(any::<u8>(), 0..512),
            Just(exact),
            changed,
            refused_json,
            deep,
            sized,
        ]
    }

    proptest! {
        #[test]
        fn whatever_serve_records_replay_reads_back_byte_for_byte(
            (callback, body) in (0..CALLBACKS.len()).prop_flat_map(|i| (Just(i), bodies(i))),
        ) {
            let command = CALLBACKS[callback].command;
            let query = format!("SdkAppid=88888888&CallbackCommand={command}&contenttype=json&Sign=ab&RequestTime=1");
            let query = ReceivedQuery::parse(&query);
            let receiver = Receiver { sdk_appid: None, token: None, max_skew: Duration::from_secs(60) };
            let inbound = Inbound { method: "POST", query: &query, body: &body };
            let received = receiver.receive(inbound, 1_669_872_112);
            let answer = Answer::ok(Vec::new());
            let event = Event::new(0, &received, 200, &answer, Duration::ZERO);
            let verdict = Verdict::of(received.callback(), &[], Answered::Nothing(Duration::ZERO));
            let judgement = serde_json::value::to_raw_value(&verdict).unwrap();
            let line = RecordLine {
                judgement: Some(&judgement),
                keep_sign: true,
                ..RecordLine::new(&event, "POST", "/im", &query, &received, &body)
            };
            let mut line = line.to_json();
            // Any JSON reader takes the line back (serde_json's is among the strictest)...
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&line).is_ok());
            line.push(b'\n');
            // ...and replay reads the very bytes received, with the Sign and RequestTime.
            let read: Vec<_> = Lines::new(&line[..]).collect();
            let [Ok((1, Line::Record(record)))] = &read[..] else {
                return Err(TestCaseError::fail(format!("not read back: {read:?}")));
            };
            match &record.body {
                Some(kept) => prop_assert_eq!(kept, &body),
                None => prop_assert!(received.verdict.is_err() && body.len() > REFUSED_BODY_KEPT),
            }
            prop_assert_eq!(&record.sign, &Some(Some("ab".to_owned())));
            prop_assert_eq!(record.request_time.as_deref(), Some("1"));
        }
    }
}
