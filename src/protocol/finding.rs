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
