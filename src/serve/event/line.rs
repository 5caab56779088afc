//! An event line for people: serve's own answer (`human_line`), or the tap's (`tap_line`).

use super::{Backend, Event, rfc3339_millis};
use crate::output::{Paint, Palette};
use crate::protocol::{ActionStatus, Answer, QuotedErrorInfo};
use crate::record::{Body, Verdict};
use std::fmt::Write as _;

impl<A> Event<'_, A> {
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
            let _ = write!(line, "  {} ", palette.warn);
            palette.warning.push_with(line, |line| {
                line.push_str("the caller closed the connection ");
                push_tenths(line, after);
                line.push_str(" ms after it arrived, before the answer");
            });
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
    if let Some(text) = rfc3339_millis(at_ms) {
        // `2022-12-01T`: the date goes.
        line.push_str(std::str::from_utf8(&text["yyyy-mm-ddT".len()..]).unwrap_or_default());
    }
}

/// `  0.3 ms`, dim: the latency to a tenth of a millisecond.
fn push_latency(line: &mut String, latency_ms: f64, dim: &Paint) {
    line.push_str("  ");
    dim.push_with(line, |line| {
        push_tenths(line, latency_ms);
        line.push_str(" ms");
    });
}

/// `ms` to a tenth, as `{ms:.1}` writes it (~50 instructions where `fmt` took ~650, a line in
/// 20): digit by digit for a whole number of microseconds (every time serve measures is one)
/// not halfway between two tenths; through `fmt` otherwise, which rounds a tie by the exact
/// binary value.
fn push_tenths(line: &mut String, ms: f64) {
    let micros = (ms * 1000.0).round();
    let exact = ms.is_sign_positive() && micros < 1e15 && micros / 1000.0 == ms;
    let micros = micros as u64;
    if !exact || micros % 100 == 50 {
        let _ = write!(line, "{ms:.1}");
        return;
    }
    let tenths = micros / 100 + u64::from(micros % 100 > 50);
    line.push_str(itoa::Buffer::new().format(tenths / 10));
    line.push('.');
    line.push(char::from(b'0' + (tenths % 10) as u8));
}

impl<A: std::ops::Deref<Target = Answer>> Event<'_, A> {
    /// `05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared  0.3 ms`
    pub(crate) fn human_line(&self, palette: &Palette) -> String {
        let (mut line, command) = self.begin(160);
        let (bold, dim) = (&palette.strong, &palette.dim);
        if self.valid {
            line.push_str(&palette.pass);
            line.push(' ');
            bold.push(&mut line, command);
            self.push_who(&mut line);
            line.push_str("  → ");
            bold.push(&mut line, itoa::Buffer::new().format(self.status));
            line.push(' ');
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
        let answer = &*self.answer;
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
    pub(crate) fn tap_line(&self, palette: &Palette) -> String {
        let (mut line, command) = self.begin(200);
        let (bold, dim) = (&palette.strong, &palette.dim);
        let answered = self.backend.as_ref().is_some_and(|b| b.error.is_none());
        let conforms = self.judgement.is_some_and(Verdict::conforms);
        let mark = if answered && conforms && (self.valid || self.forged) {
            &palette.pass
        } else {
            &palette.fail
        };
        line.push_str(mark);
        line.push(' ');
        bold.push(&mut line, command);
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
                line.push_str("  → backend ");
                bold.push(&mut line, itoa::Buffer::new().format(*status));
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
        line.push_str(": ");
        line.push_str(chat);
        line.push_str(&judgement.says);
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

    proptest::proptest! {
        /// Tenths are written as `{:.1}` writes them: for whole microseconds (ties included)
        /// and for any other number.
        #[test]
        fn tenths_are_written_as_fmt_writes_them(micros in 0u64..100_000_000_000, other: f64) {
            for ms in [micros as f64 / 1000.0, (micros / 100 * 100 + 50) as f64 / 1000.0, other] {
                let mut line = String::new();
                push_tenths(&mut line, ms);
                proptest::prop_assert_eq!(line, format!("{ms:.1}"));
            }
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
