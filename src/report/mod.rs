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

/// "1 error", "2 warnings".
pub(crate) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// What a URL's password is printed as: it is as secret as the token, which is never printed.
const MASK: &str = "***";

/// `url` as it may be printed: `http://user:pw@host/` becomes `http://user:***@host/`.
pub(crate) fn masked(url: &url::Url) -> url::Url {
    let mut shown = url.clone();
    if url.password().is_some() {
        // Only a URL without a host has no password to set, and this one has a password.
        let _ = shown.set_password(Some(MASK));
    }
    shown
}

/// [`masked`] for text the user typed, which may not parse as a URL at all: the password of
/// `scheme://user:pw@host...` or `user:pw@host...` is masked, anything else left as it is.
pub(crate) fn mask_password(text: &str) -> std::borrow::Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return text.into();
    };
    let Some(colon) = authority[..at].find(':') else {
        return text.into();
    };
    format!(
        "{}{MASK}{}",
        &text[..start + colon + 1],
        &text[start + at..]
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let url = url::Url::parse("http://user:p%40ss@example.com:8080/im?a=1").unwrap();
        assert_eq!(
            masked(&url).as_str(),
            "http://user:***@example.com:8080/im?a=1"
        );
        let plain = url::Url::parse("http://user@example.com/").unwrap();
        assert_eq!(masked(&plain), plain);
        assert_eq!(mask_password("http://user:pw@[/im"), "http://user:***@[/im");
        assert_eq!(mask_password("u:pw@host:1/x@y"), "u:***@host:1/x@y");
        assert_eq!(mask_password("localhost:3000/im"), "localhost:3000/im");
        assert_eq!(mask_password("http://h/?a=b:c@d"), "http://h/?a=b:c@d");
    }
}
