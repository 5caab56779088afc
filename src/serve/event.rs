//! What serve says of each callback: the event line on stdout (for people, or NDJSON) and the
//! record line (the event, then the request as received, without Sign).

use super::REFUSED_BODY_KEPT;
use crate::output;
use crate::protocol::{
    ActionStatus, Answer, CommandWord, EventValue, Finding, Received, ReceivedBody, ReceivedEvent,
    UNMODELLED_NOTE, Valid,
};
use anstyle::{AnsiColor, Style};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

/// The body as recorded: its JSON when it is JSON, else its text; nothing when it was too large.
/// Borrowed, so recording costs no copy of the body.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum RecordedBody<'a> {
    Exact(&'a ReceivedEvent),
    Json(&'a Value),
    Text(Cow<'a, str>),
    TooLarge,
}

impl<'a> RecordedBody<'a> {
    /// A valid callback's body is recorded whole, to be replayed; a refused one only when it
    /// is small, so that no input makes a large record line.
    pub(super) fn new(received: &'a Received, bytes: &'a [u8]) -> Self {
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
pub(super) struct Event<'a> {
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
    answer: &'a Answer,
    /// Warnings of a valid callback, or the errors a rejected one was refused for.
    findings: &'a [Finding],
    /// Said of an authentic callback of a command serve does not model.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    latency_ms: f64,
}

impl<'a> Event<'a> {
    pub(super) fn new(
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
            listed: received
                .callback()
                .is_some_and(|callback| callback.body.carries(EventValue::Subscribers)),
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
    pub(super) fn human_line(&self, look: &Look) -> String {
        let clock = self.time.get(11..).unwrap_or(&self.time);
        let command = self.command.unwrap_or("-");
        let bold = look.bold;
        let mut line = String::with_capacity(160);
        // Writing to a String cannot fail.
        if self.valid {
            let _ = write!(line, "{clock} {} {bold}{command}{bold:#}", look.pass);
            if let Some(operator) = self.operator {
                let _ = write!(line, "  operator {operator}");
            }
            if self.listed {
                let _ = write!(line, "  subscribers {}", shorten(self.subscribers));
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
        if answer.action_status == ActionStatus::Fail {
            "ActionStatus FAIL".to_owned()
        } else if answer.error_code == 1 {
            "rejects all (ErrorCode 1)".to_owned()
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

/// How event lines look. `colored` works a style out again on every use, which cost several
/// percent of serve's time under load, and stripping styles again for a pipe or a file cost
/// more: so styles are decided once, by anstream's rules for stdout (terminal, `NO_COLOR`,
/// `--color`), and are empty when stdout takes no colour.
pub(super) struct Look {
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
    pub(super) fn for_stdout() -> Self {
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
pub(super) struct RecordLine<'a> {
    #[serde(flatten)]
    pub(super) event: &'a Event<'a>,
    pub(super) method: &'a str,
    pub(super) path: &'a str,
    #[serde(serialize_with = "as_object")]
    pub(super) query: Vec<(&'a str, &'a str)>,
    pub(super) body: RecordedBody<'a>,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    pub(super) body_bytes: usize,
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
