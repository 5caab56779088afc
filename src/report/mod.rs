//! Renderers: one file per output format or subject.

pub(crate) mod check;
pub(crate) mod ci;
pub(crate) mod junit;
pub(crate) mod load;
pub(crate) mod outputs;
pub(crate) mod request;
pub(crate) mod row;
pub(crate) mod send;

use crate::error::Result;
use crate::output;
use crate::output::OutputFormat;
use crate::protocol::Severity;
use colored::ColoredString;
use std::io::Write;

/// A result people read or a program parses, each rendered one way.
pub(crate) trait Render {
    /// Lines for people.
    fn human(&self) -> String;
    /// One JSON document; its shape is documented in the README and pinned by tests.
    fn json(&self) -> serde_json::Value;
}

/// Prints `report` on stdout as `format` asks: the one place that chooses between the two.
pub(crate) fn print(report: &impl Render, format: OutputFormat) -> Result<()> {
    let text = match format {
        OutputFormat::Human => report.human(),
        OutputFormat::Json => format!("{:#}\n", report.json()),
    };
    output::stdout().write_all(text.as_bytes())?;
    Ok(())
}

/// The mark a finding of this severity gets.
pub(crate) fn mark(severity: Severity) -> ColoredString {
    match severity {
        Severity::Error => output::fail_mark(),
        Severity::Warning => output::warn_mark(),
    }
}

/// The last line of a human report: PASS or FAIL, and why.
pub(crate) fn verdict_line(pass: bool, detail: &str) -> String {
    let word = if pass {
        output::passed("PASS")
    } else {
        output::failed("FAIL")
    };
    if detail.is_empty() {
        word.to_string()
    } else {
        format!("{word}: {detail}")
    }
}

/// The verdict as machine-readable output spells it.
pub(crate) fn verdict_word(pass: bool) -> &'static str {
    if pass { "pass" } else { "fail" }
}

/// Printed everywhere a count or a URL is: engines use these from `output` directly.
pub(crate) use crate::output::{count, masked};
