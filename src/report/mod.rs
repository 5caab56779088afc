//! Renderers: one file per output format or subject.

pub mod check;
pub mod load;
pub mod request;
pub mod send;

use crate::output;
use crate::protocol::Severity;
use colored::{ColoredString, Colorize};
use std::time::Duration;

/// Milliseconds to the microsecond, the precision latencies are measured and reported with.
pub fn millis(duration: Duration) -> f64 {
    micros_as_millis(duration.as_micros() as u64)
}

pub fn micros_as_millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The mark a finding of this severity gets.
pub fn mark(severity: Severity) -> ColoredString {
    match severity {
        Severity::Error => output::fail_mark(),
        Severity::Warning => output::warn_mark(),
    }
}

/// The last line of a human report: PASS or FAIL, and why.
pub fn verdict_line(pass: bool, detail: &str) -> String {
    let word = if pass {
        "PASS".green().bold()
    } else {
        "FAIL".red().bold()
    };
    if detail.is_empty() {
        word.to_string()
    } else {
        format!("{word}: {detail}")
    }
}

/// The verdict as machine-readable output spells it.
pub fn verdict_word(pass: bool) -> &'static str {
    if pass { "pass" } else { "fail" }
}

/// "1 error", "2 warnings".
pub fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
