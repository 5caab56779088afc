//! What a check found: an error breaks the contract, a warning is worth a look.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong (or odd) about a request or an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier of the kind of finding, e.g. `missing-field`; reports group by it.
    pub code: &'static str,
    /// Where: a field path such as `ErrorCode` or `SubscribeAccountList[1].Subscriber_Account`,
    /// or `status`, `body`, `latency`, `query.Sign`.
    pub path: String,
    /// A sentence a user understands, saying what is wrong and what Chat makes of it.
    pub message: String,
}

impl Finding {
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `findings` as `Findings` keeps them (at most [`MAX_FINDINGS`], errors first, and one
    /// that counts the rest), each path and message cut to `MAX_FINDING_TEXT` bytes: whatever
    /// a request holds, what is said of it stays small.
    /// A list `Findings` has capped already (one more than the cap, the last counting the
    /// rest) is kept as it is.
    pub fn bounded(findings: Vec<Finding>) -> Vec<Finding> {
        let mut kept = if findings.len() <= MAX_FINDINGS + 1 {
            findings
        } else {
            let mut kept = Findings::default();
            kept.extend(findings);
            kept.into_vec()
        };
        for finding in &mut kept {
            cut(&mut finding.path);
            cut(&mut finding.message);
        }
        kept
    }
}

/// The longest path or message of a finding, in bytes.
pub(super) const MAX_FINDING_TEXT: usize = 300;

/// Cuts `text` to [`MAX_FINDING_TEXT`] bytes at a character boundary, marking the cut.
fn cut(text: &mut String) {
    if text.len() <= MAX_FINDING_TEXT {
        return;
    }
    let mut end = MAX_FINDING_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The most findings one body yields; one more then says how many were left out. A callback
/// names at most a hundred users, but a 1 MiB body can name forty thousand, and the list a user
/// reads (and the `ErrorInfo` that refuses it) must stay short.
pub const MAX_FINDINGS: usize = 10;

/// The findings about one body, at most [`MAX_FINDINGS`] of them kept and the rest counted.
/// Errors take the place of warnings: they decide whether the body is refused.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    kept: Vec<Finding>,
    left_out_errors: usize,
    left_out_warnings: usize,
}

impl Findings {
    pub(crate) fn push(&mut self, finding: Finding) {
        self.push_with(finding.severity, || finding);
    }

    /// Adds the finding `make` builds, calling it only when there is room: formatting a
    /// message per subscriber is the cost the cap is there to save.
    pub(crate) fn push_with(&mut self, severity: Severity, make: impl FnOnce() -> Finding) {
        if self.kept.len() < MAX_FINDINGS {
            self.kept.push(make());
            return;
        }
        let warning = match severity {
            Severity::Error => self.kept.iter().rposition(|f| !f.is_error()),
            Severity::Warning => None,
        };
        match (severity, warning) {
            (Severity::Error, Some(i)) => {
                self.kept.remove(i);
                self.left_out_warnings += 1;
                self.kept.push(make());
            }
            (Severity::Error, None) => self.left_out_errors += 1,
            (Severity::Warning, _) => self.left_out_warnings += 1,
        }
    }

    pub(crate) fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        for finding in findings {
            self.push(finding);
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.left_out_errors > 0 || self.kept.iter().any(Finding::is_error)
    }

    /// The kept findings, then one `more-findings` saying how many were left out.
    pub(crate) fn into_vec(mut self) -> Vec<Finding> {
        let (errors, warnings) = (self.left_out_errors, self.left_out_warnings);
        let what = match (errors, warnings) {
            (0, 0) => return self.kept,
            (n, 0) => counted(n, "more error"),
            (0, n) => counted(n, "more warning"),
            (e, w) => format!(
                "{} ({}, {})",
                counted(e + w, "more finding"),
                counted(e, "error"),
                counted(w, "warning")
            ),
        };
        let message = format!("and {what}, not listed");
        self.kept.push(if errors > 0 {
            Finding::error("more-findings", "body", message)
        } else {
            Finding::warning("more-findings", "body", message)
        });
        self.kept
    }
}

/// "1 more error", "3 more errors".
fn counted(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A required field that is absent.
pub(crate) fn missing(field: &str, expected: &str) -> Finding {
    Finding::error(
        "missing-field",
        field,
        format!("required field is missing (expected {expected})"),
    )
}

/// A field of the wrong JSON type, quoted in part.
pub(crate) fn wrong_type(field: &str, value: &serde_json::Value, expected: &str) -> Finding {
    Finding::error(
        "wrong-type",
        field,
        format!(
            "is {} ({}); expected {expected}",
            json_type(value),
            json_excerpt(value, 100)
        ),
    )
}

/// The JSON type of a value, in the words a user reads.
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as text, cut after about `max` bytes: a finding quotes what it is about, and
/// a 1 MiB value must not become a 1 MiB message. Stops serializing once past `max`.
pub(crate) fn json_excerpt(value: &serde_json::Value, max: usize) -> String {
    struct Bounded {
        bytes: Vec<u8>,
        max: usize,
    }
    impl std::io::Write for Bounded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.bytes.len() > self.max {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded {
        bytes: Vec::new(),
        max,
    };
    // Stopping early is the point: the error only says the value was longer.
    let _ = serde_json::to_writer(&mut out, value);
    excerpt(&out.bytes, max)
}

/// Up to `max` bytes of `bytes` as text, for showing what came back.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len().min(max);
    let text = String::from_utf8_lossy(&bytes[..cut]);
    let text = text.trim_end_matches('\u{FFFD}').replace(['\n', '\r'], " ");
    if bytes.len() > max {
        format!("{text}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn warning(n: usize) -> Finding {
        Finding::warning("w", format!("w{n}"), "odd")
    }

    fn error(n: usize) -> Finding {
        Finding::error("e", format!("e{n}"), "wrong")
    }

    fn paths(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn up_to_the_cap_findings_are_kept_as_they_come() {
        let mut findings = Findings::default();
        findings.extend((0..MAX_FINDINGS).map(warning));
        let kept = findings.into_vec();
        assert_eq!(kept.len(), MAX_FINDINGS);
        assert!(kept.iter().all(|f| f.code == "w"));
    }

    #[test]
    fn past_the_cap_one_finding_counts_the_rest() {
        let mut findings = Findings::default();
        findings.extend((0..MAX_FINDINGS + 1).map(warning));
        let kept = findings.into_vec();
        assert_eq!(kept.len(), MAX_FINDINGS + 1);
        assert_eq!(
            kept[MAX_FINDINGS].to_string(),
            "body: and 1 more warning, not listed"
        );
        assert!(!kept[MAX_FINDINGS].is_error());
    }

    #[test]
    fn errors_take_the_place_of_warnings() {
        let mut findings = Findings::default();
        findings.extend((0..MAX_FINDINGS).map(warning));
        findings.extend((0..3).map(error));
        let mut built = 0;
        for n in 0..100 {
            findings.push_with(Severity::Error, || {
                built += 1;
                error(n)
            });
        }
        assert!(findings.has_errors());
        let kept = findings.into_vec();
        assert_eq!(
            paths(&kept),
            [
                "e0", "e1", "e2", "e0", "e1", "e2", "e3", "e4", "e5", "e6", "body"
            ]
        );
        assert_eq!(built, 7, "findings past the cap are never built");
        let more = &kept[MAX_FINDINGS];
        assert!(more.is_error());
        assert_eq!(
            more.message,
            "and 103 more findings (93 errors, 10 warnings), not listed"
        );
        let mut only_errors = Findings::default();
        only_errors.extend((0..12).map(error));
        assert_eq!(
            only_errors.into_vec()[MAX_FINDINGS].message,
            "and 2 more errors, not listed"
        );
    }

    #[test]
    fn json_excerpts_stop_early() {
        assert_eq!(
            json_excerpt(&json!({"a": [1, "b"]}), 100),
            r#"{"a":[1,"b"]}"#
        );
        let huge = json!(["x".repeat(1 << 20)]);
        let shown = json_excerpt(&huge, 100);
        assert!(
            shown.starts_with(r#"["xxx"#) && shown.ends_with('…'),
            "{shown}"
        );
        assert!(shown.len() < 110);
    }

    #[test]
    fn what_is_said_of_a_request_stays_small() {
        let many: Vec<Finding> = (0..1000)
            .map(|i| Finding::error("wrong-type", format!("x[{i}]"), "y".repeat(1000)))
            .collect();
        let bounded = Finding::bounded(many);
        assert_eq!(bounded.len(), MAX_FINDINGS + 1);
        assert!(
            bounded
                .iter()
                .all(|f| f.message.len() <= MAX_FINDING_TEXT + 3)
        );
        assert_eq!(
            bounded[MAX_FINDINGS].message,
            "and 990 more errors, not listed"
        );
        let few = vec![Finding::warning("a", "é".repeat(200), "m")];
        let bounded = Finding::bounded(few);
        assert_eq!(bounded.len(), 1);
        assert!(bounded[0].path.ends_with('…'));
    }
}
