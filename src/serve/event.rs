//! What serve says of each callback: the event line on stdout (for people, or NDJSON) and the
//! record line (the event, then the request as received, without Sign and RequestTime; the
//! format is `crate::record`'s).

use super::REFUSED_BODY_KEPT;
use crate::output;
use crate::protocol::{
    ActionStatus, Answer, CommandWord, EventValue, Finding, Received, ReceivedQuery,
    UNMODELLED_NOTE, Valid, param,
};
use crate::record::{self, Body, Verdict};
use crate::report::millis;
use serde::{Serialize, Serializer};
use std::fmt::{self, Write as _};
use std::time::{Duration, UNIX_EPOCH};

/// The request's body as recorded: whole for a valid callback, to be replayed; a refused one
/// only when it is small, so that no input makes a large record line.
fn recorded_body<'a>(received: &Received, bytes: &'a [u8]) -> Body<'a> {
    if received.verdict.is_err() && bytes.len() > REFUSED_BODY_KEPT {
        Body::Omitted
    } else {
        Body::of(bytes)
    }
}

/// One callback, as shown on stdout (`--output json`) and at the start of each record line.
/// `A` is the answer given: serve's own, or in tap mode the body passed back to the caller.
#[derive(Serialize)]
pub(super) struct Event<'a, A = &'a Answer> {
    time: String,
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
    /// Said of an authentic callback of a command serve does not model.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    latency_ms: f64,
    /// Tap mode: what the backend did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backend: Option<Backend>,
    /// Tap mode: the backend's answer judged (in serve mode only the record has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) judgement: Option<&'a Verdict>,
}

/// What the backend did with a callback the tap passed on.
#[derive(Serialize)]
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
            // Only a callback whose body was read names its subscribers.
            listed: received.verdict.is_ok()
                && received
                    .callback()
                    .is_some_and(|callback| callback.body.carries(EventValue::Subscribers)),
            valid: received.verdict.is_ok(),
            status,
            answer,
            findings,
            note,
            latency_ms: millis(latency),
            backend: None,
            judgement: None,
        }
    }

    /// The clock time of the line, and the command.
    fn start(&self) -> (&str, &str) {
        (
            self.time.get(11..).unwrap_or(&self.time),
            self.command.unwrap_or("-"),
        )
    }

    /// `  operator 107867  subscribers jared, leckie`, for a valid callback of a modelled command.
    /// Who the callback names: its operator, and its subscribers when its body lists any.
    fn who(&self) -> String {
        let mut who = String::new();
        if let Some(operator) = self.operator {
            who += &format!("  operator {operator}");
        }
        if self.listed {
            who += &format!("  subscribers {}", shorten(self.subscribers));
        }
        who
    }
}

impl<'a> Event<'a> {
    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared  0.3 ms`
    pub(super) fn human_line(&self, look: &Look) -> String {
        let (clock, command) = self.start();
        let bold = &look.bold;
        let mut line = String::with_capacity(160);
        // Writing to a String cannot fail.
        if self.valid {
            let _ = write!(
                line,
                "{clock} {} {bold}{command}{bold:#}{}",
                look.pass,
                self.who()
            );
            let _ = write!(line, "  → {bold}{}{bold:#} {}", self.status, self.outcome());
            if let Some(note) = self.note {
                let _ = write!(line, "  {dim}{note}{dim:#}", dim = &look.dim);
            }
            for warning in self.findings {
                let _ = write!(
                    line,
                    "  {} {style}{warning}{style:#}",
                    look.warn,
                    style = &look.warning
                );
            }
        } else {
            let _ = write!(
                line,
                "{clock} {} {command}  → {failed}{}{failed:#} {error}{}{error:#}",
                look.fail,
                self.status,
                self.answer.error_info,
                failed = &look.failed,
                error = &look.error,
            );
        }
        let _ = write!(
            line,
            "  {dim}{:.1} ms{dim:#}",
            self.latency_ms,
            dim = &look.dim
        );
        line
    }

    fn outcome(&self) -> String {
        let answer = self.answer;
        if answer.action_status == ActionStatus::Fail {
            "ActionStatus FAIL".to_owned()
        } else if answer.error_code == 1 {
            // What ErrorCode 1 refuses depends on the callback: see protocol.md section 6.
            match self.command {
                Some("before-create") => "denies the creation (ErrorCode 1)".to_owned(),
                Some("before-send") => "refuses the message (ErrorCode 1)".to_owned(),
                _ => "rejects all (ErrorCode 1)".to_owned(),
            }
        } else if answer.error_code == 2 {
            "discards (ErrorCode 2)".to_owned()
        } else if answer.error_code != 0 {
            format!("ErrorCode {}", answer.error_code)
        } else if !answer.msg_body.is_empty() {
            "rewrites the message".to_owned()
        } else if answer.refused_subscribers_account.is_empty() {
            "OK".to_owned()
        } else {
            format!("refuses {}", answer.refused_subscribers_account.join(", "))
        }
    }
}

impl Event<'_, Body<'_>> {
    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → backend 200: Chat subscribes leckie; refuses jared  3.1 ms`:
    /// the request as serve judges it, then what the backend did and what Chat makes of it.
    pub(super) fn tap_line(&self, look: &Look) -> String {
        let (clock, command) = self.start();
        let (bold, dim) = (&look.bold, &look.dim);
        let conforms = self.judgement.is_some_and(Verdict::conforms);
        let mark = if self.valid && conforms {
            &look.pass
        } else {
            &look.fail
        };
        let mut line = String::with_capacity(200);
        let _ = write!(line, "{clock} {mark} {bold}{command}{bold:#}{}", self.who());
        if !self.valid {
            let why: Vec<String> = self.findings.iter().map(ToString::to_string).collect();
            let _ = write!(
                line,
                "  {error}{}{error:#} (passed on all the same)",
                why.join("; "),
                error = &look.error
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
                    failed = &look.failed,
                    style = &look.error
                );
            }
            Some(Backend {
                status: Some(status),
                ..
            }) => {
                let _ = write!(line, "  → backend {bold}{status}{bold:#}");
                if let Some(judgement) = self.judgement {
                    let chat = if judgement.decision.is_some() {
                        "Chat "
                    } else {
                        ""
                    };
                    let _ = write!(line, ": {chat}{}", judgement.says);
                    if let Some(info) = &judgement.error_info {
                        let _ = write!(
                            line,
                            "  ErrorInfo {}",
                            serde_json::Value::from(info.as_str())
                        );
                    }
                    for finding in &judgement.findings {
                        let (mark, style) = if finding.is_error() {
                            (&look.fail, &look.error)
                        } else {
                            (&look.warn, &look.warning)
                        };
                        let _ = write!(line, "  {mark} {style}{finding}{style:#}");
                    }
                }
            }
            _ => {}
        }
        let _ = write!(line, "  {dim}{:.1} ms{dim:#}", self.latency_ms);
        line
    }
}

/// How event lines look, in the palette of every report (`output`). A `colored` style is worked
/// out again on every use, which cost several percent of serve's time under load, so each is
/// worked out once, by anstream's rules for stdout (terminal, `NO_COLOR`, `--color`): empty when
/// stdout takes no colour.
pub(super) struct Look {
    pass: String,
    fail: String,
    warn: String,
    bold: Paint,
    failed: Paint,
    error: Paint,
    warning: Paint,
    dim: Paint,
}

impl Look {
    pub(super) fn for_stdout() -> Self {
        let plain = !output::stdout_takes_color();
        let mark = |m: colored::ColoredString| {
            if plain {
                m.input.clone()
            } else {
                m.to_string()
            }
        };
        let paint = |style: fn(&str) -> colored::ColoredString| {
            if plain {
                Paint::default()
            } else {
                Paint::of(style)
            }
        };
        Look {
            pass: mark(output::pass_mark()),
            fail: mark(output::fail_mark()),
            warn: mark(output::warn_mark()),
            bold: paint(output::strong),
            failed: paint(output::failed),
            error: paint(output::error),
            warning: paint(output::warning),
            dim: paint(output::dim),
        }
    }
}

/// A style of the palette as the escape codes around a text: `{paint}` opens it, `{paint:#}`
/// closes it.
#[derive(Default)]
struct Paint {
    on: String,
    off: String,
}

impl Paint {
    fn of(style: fn(&str) -> colored::ColoredString) -> Self {
        const MARK: &str = "\u{1}";
        let styled = style(MARK).to_string();
        let (on, off) = styled.split_once(MARK).unwrap_or_default();
        Paint {
            on: on.to_owned(),
            off: off.to_owned(),
        }
    }
}

impl fmt::Display for Paint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if f.alternate() { &self.off } else { &self.on })
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

/// One `--record` line (format version [`record::VERSION`], documented in the README): the
/// event, then the request as received, without `Sign` and `RequestTime`, so that the record
/// cannot be replayed as an authentic callback; replay signs afresh.
#[derive(Serialize)]
pub(super) struct RecordLine<'a, A> {
    pub(super) v: u64,
    #[serde(flatten)]
    pub(super) event: &'a Event<'a, A>,
    /// Serve's own answer judged (in tap mode the event carries the backend's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) judgement: Option<&'a Verdict>,
    pub(super) method: &'a str,
    pub(super) path: &'a str,
    #[serde(serialize_with = "as_object")]
    pub(super) query: Vec<(&'a str, &'a str)>,
    /// The `RequestTime` received, for people: it is not replayed.
    pub(super) request_time: Option<&'a str>,
    pub(super) body: Body<'a>,
    pub(super) body_format: &'static str,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    pub(super) body_bytes: usize,
}

impl<'a, A> RecordLine<'a, A> {
    pub(super) fn new(
        event: &'a Event<'a, A>,
        method: &'a str,
        path: &'a str,
        query: &'a ReceivedQuery<'a>,
        received: &Received,
        bytes: &'a [u8],
    ) -> Self {
        let body = recorded_body(received, bytes);
        RecordLine {
            v: record::VERSION,
            event,
            judgement: None,
            method,
            path,
            query: query.without_signature(),
            request_time: query.get(param::REQUEST_TIME),
            body_format: body.format(),
            body,
            body_bytes: bytes.len(),
        }
    }
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
