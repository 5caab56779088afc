//! What an answer said, as received. Every verdict shows this, never a sentence made up from
//! defaults: a body that is not JSON is said to be so, with its first bytes.

use super::MAX_BODY_BYTES;
use super::answer::ActionStatus;
use super::finding::excerpt;
use super::judge::Reply;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::fmt;

/// How many bytes of a body or of `ErrorInfo` evidence quotes.
const QUOTED: usize = 200;

/// The answer to one callback, as far as a verdict rests on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub status: u16,
    pub body: Said,
}

/// What the body of an answer was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Said {
    Empty,
    /// Over [`MAX_BODY_BYTES`]; not read further.
    TooLarge,
    /// Not JSON: its first bytes.
    NotJson(String),
    /// JSON but not an object: its first bytes.
    NotObject(String),
    /// A JSON object: the three fields every answer carries, as received (absent: `None`).
    Fields {
        action_status: Option<Value>,
        error_code: Option<Value>,
        error_info: Option<Value>,
    },
}

impl Evidence {
    /// Reads `reply`'s body; [`judge`](fn@super::judge) passes the JSON it parsed already.
    pub fn of(reply: Reply<'_>) -> Self {
        let parsed = serde_json::from_slice(reply.body).ok();
        Evidence::read(reply, parsed.as_ref())
    }

    /// The evidence of `reply` whose body parsed as `parsed` (`None`: not JSON).
    pub(crate) fn read(reply: Reply<'_>, parsed: Option<&Value>) -> Self {
        let body = if reply.truncated {
            Said::TooLarge
        } else if reply.body.iter().all(u8::is_ascii_whitespace) {
            Said::Empty
        } else {
            match parsed {
                None => Said::NotJson(excerpt(reply.body, QUOTED)),
                Some(Value::Object(fields)) => Said::Fields {
                    action_status: fields.get("ActionStatus").cloned(),
                    error_code: fields.get("ErrorCode").cloned(),
                    error_info: fields.get("ErrorInfo").cloned(),
                },
                Some(_) => Said::NotObject(excerpt(reply.body, QUOTED)),
            }
        };
        Evidence {
            status: reply.status,
            body,
        }
    }

    /// Whether the backend accepted the callback: HTTP 200, JSON, `ActionStatus` OK and
    /// `ErrorCode` 0. Anything else refuses it (or fails, which Chat counts the same way).
    pub fn accepted(&self) -> bool {
        self.status == 200
            && matches!(
                &self.body,
                Said::Fields {
                    action_status: Some(Value::String(status)),
                    error_code: Some(Value::Number(code)),
                    ..
                } if ActionStatus::read(status) == Some(ActionStatus::Ok) && code.as_i64() == Some(0)
            )
    }

    /// The backend's own words, when it gave any: a non-empty `ErrorInfo` string.
    pub fn error_info(&self) -> Option<&str> {
        match &self.body {
            Said::Fields {
                error_info: Some(Value::String(info)),
                ..
            } if !info.is_empty() => Some(info),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self.body {
            Said::Empty => "empty",
            Said::TooLarge => "too-large",
            Said::NotJson(_) => "not-json",
            Said::NotObject(_) => "not-object",
            Said::Fields { .. } => "json",
        }
    }
}

/// `HTTP 200, ActionStatus OK, ErrorCode 1, ErrorInfo "wrong signature"`, or
/// `HTTP 200, body is not JSON: `denied``.
impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}, {}", self.status, self.body)
    }
}

/// `ActionStatus OK, ErrorCode 0` (with `ErrorInfo` when it is not empty), or what else the
/// body was.
impl fmt::Display for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Said::Empty => f.write_str("empty body"),
            Said::TooLarge => write!(f, "body over {} MiB", MAX_BODY_BYTES >> 20),
            Said::NotJson(text) => write!(f, "body is not JSON: `{text}`"),
            Said::NotObject(text) => write!(f, "body is not a JSON object: `{text}`"),
            Said::Fields {
                action_status,
                error_code,
                error_info,
            } => {
                field(f, "", "ActionStatus", action_status.as_ref())?;
                field(f, ", ", "ErrorCode", error_code.as_ref())?;
                match error_info {
                    Some(Value::String(info)) if info.is_empty() => Ok(()),
                    Some(Value::String(info)) => {
                        let quoted = excerpt(info.as_bytes(), QUOTED);
                        write!(f, ", ErrorInfo {}", Value::String(quoted))
                    }
                    other => field(f, ", ", "ErrorInfo", other.as_ref()),
                }
            }
        }
    }
}

/// A field as received: a string as its text, anything else as JSON (so the string "0" and the
/// integer 0 look different), or that it was missing.
fn field(
    f: &mut fmt::Formatter<'_>,
    separator: &str,
    name: &str,
    value: Option<&Value>,
) -> fmt::Result {
    match value {
        None => write!(f, "{separator}no {name}"),
        Some(Value::String(text)) if name != "ErrorCode" => {
            write!(f, "{separator}{name} {}", excerpt(text.as_bytes(), QUOTED))
        }
        Some(other) => write!(
            f,
            "{separator}{name} {}",
            excerpt(other.to_string().as_bytes(), QUOTED)
        ),
    }
}

/// `{"status":200,"body":"json","ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"",
/// "summary":"HTTP 200, ActionStatus OK, ErrorCode 0"}`; `excerpt` instead of the fields when the
/// body is not a JSON object.
impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("body", self.kind())?;
        match &self.body {
            Said::NotJson(text) | Said::NotObject(text) => map.serialize_entry("excerpt", text)?,
            Said::Fields {
                action_status,
                error_code,
                error_info,
            } => {
                for (name, value) in [
                    ("ActionStatus", action_status),
                    ("ErrorCode", error_code),
                    ("ErrorInfo", error_info),
                ] {
                    if let Some(value) = value {
                        map.serialize_entry(name, value)?;
                    }
                }
            }
            Said::Empty | Said::TooLarge => {}
        }
        map.serialize_entry("summary", &self.to_string())?;
        map.end()
    }
}

/// `ErrorInfo "the backend's words"`: how every report quotes a backend's `ErrorInfo`, as a JSON
/// string, so that quotes and control characters in it cannot be mistaken for the report's own.
pub struct QuotedErrorInfo<'a>(pub &'a str);

impl fmt::Display for QuotedErrorInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorInfo {}", Value::String(self.0.to_owned()))
    }
}

/// Appends `; ErrorInfo "..."` to a sentence about an answer, when the backend said anything.
pub fn with_error_info(mut sentence: String, error_info: Option<&str>) -> String {
    if let Some(info) = error_info {
        sentence.push_str("; ");
        sentence.push_str(&QuotedErrorInfo(info).to_string());
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evidence(status: u16, body: &[u8]) -> Evidence {
        Evidence::of(Reply::new(status, body))
    }

    #[test]
    fn it_says_what_came_back() {
        let cases: &[(u16, &[u8], &str, bool)] = &[
            (
                200,
                br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#,
                "HTTP 200, ActionStatus OK, ErrorCode 0",
                true,
            ),
            (
                200,
                br#"{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"wrong \"signature\""}"#,
                r#"HTTP 200, ActionStatus OK, ErrorCode 1, ErrorInfo "wrong \"signature\"""#,
                false,
            ),
            (
                200,
                br#"{"ActionStatus":"OK","ErrorCode":"0"}"#,
                r#"HTTP 200, ActionStatus OK, ErrorCode "0", no ErrorInfo"#,
                false,
            ),
            (
                200,
                b"denied",
                "HTTP 200, body is not JSON: `denied`",
                false,
            ),
            (200, b"", "HTTP 200, empty body", false),
            (
                200,
                b"[1]",
                "HTTP 200, body is not a JSON object: `[1]`",
                false,
            ),
            (
                200,
                b"{}",
                "HTTP 200, no ActionStatus, no ErrorCode, no ErrorInfo",
                false,
            ),
            (
                401,
                br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#,
                "HTTP 401, ActionStatus OK, ErrorCode 0",
                false,
            ),
        ];
        for &(status, body, said, accepted) in cases {
            let e = evidence(status, body);
            assert_eq!((e.to_string().as_str(), e.accepted()), (said, accepted));
        }
    }

    #[test]
    fn error_info_is_the_backends_words_when_there_are_any() {
        let e = evidence(
            200,
            br#"{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"no"}"#,
        );
        assert_eq!(e.error_info(), Some("no"));
        assert_eq!(evidence(200, br#"{"ErrorInfo":""}"#).error_info(), None);
        assert_eq!(evidence(200, b"no").error_info(), None);
    }

    #[test]
    fn as_json_it_keeps_the_fields_as_received() {
        let e = evidence(200, br#"{"ActionStatus":"OK","ErrorCode":"0","Extra":1}"#);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"status": 200, "body": "json", "ActionStatus": "OK", "ErrorCode": "0",
                "summary": "HTTP 200, ActionStatus OK, ErrorCode \"0\", no ErrorInfo"})
        );
        assert_eq!(
            serde_json::to_value(evidence(502, b"<html>")).unwrap(),
            json!({"status": 502, "body": "not-json", "excerpt": "<html>",
                "summary": "HTTP 502, body is not JSON: `<html>`"})
        );
    }
}
