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

    /// At most [`MAX_FINDINGS`] of `findings`, each with its path and message cut to
    /// [`MAX_FINDING_TEXT`] bytes, and one more that says how many were left out: whatever a
    /// request holds, what is said of it stays small.
    pub fn bounded(mut findings: Vec<Finding>) -> Vec<Finding> {
        let left_out = findings.len().saturating_sub(MAX_FINDINGS);
        findings.truncate(MAX_FINDINGS);
        for finding in &mut findings {
            cut(&mut finding.path);
            cut(&mut finding.message);
        }
        if left_out > 0 {
            let severity = if findings.iter().any(Finding::is_error) {
                Severity::Error
            } else {
                Severity::Warning
            };
            findings.push(Finding {
                severity,
                code: "more-findings",
                path: "body".into(),
                message: format!("and {left_out} more like these"),
            });
        }
        findings
    }
}

/// The most findings said of one request or answer.
pub const MAX_FINDINGS: usize = 8;

/// The longest path or message of a finding, in bytes.
pub const MAX_FINDING_TEXT: usize = 300;

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
        assert_eq!(bounded[MAX_FINDINGS].message, "and 992 more like these");
        let few = vec![Finding::warning("a", "é".repeat(200), "m")];
        let bounded = Finding::bounded(few);
        assert_eq!(bounded.len(), 1);
        assert!(bounded[0].path.ends_with('…'));
    }
}
