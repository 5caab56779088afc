//! The backend's answer as a backend sends it, fields and words of Tencent's samples.

use super::event::MessageElement;
use serde::Serialize;

/// `ActionStatus`: whether the backend could process the callback at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActionStatus {
    Ok,
    Fail,
}

impl ActionStatus {
    /// The status a word names: `OK` or `FAIL`, upper case as Chat reads them.
    pub fn read(word: &str) -> Option<Self> {
        match word {
            "OK" => Some(ActionStatus::Ok),
            "FAIL" => Some(ActionStatus::Fail),
            _ => None,
        }
    }
}

/// An answer as a backend sends it, fields in the order of Tencent's samples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    #[serde(rename = "ActionStatus")]
    pub action_status: ActionStatus,
    #[serde(rename = "ErrorInfo")]
    pub error_info: String,
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    #[serde(
        rename = "RefusedSubscribers_Account",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub refused_subscribers_account: Vec<String>,
    /// before-send: the message to send instead.
    #[serde(rename = "MsgBody", skip_serializing_if = "Vec::is_empty")]
    pub msg_body: Vec<MessageElement>,
    /// before-send: the CloudCustomData to send instead.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

impl Answer {
    /// Go ahead, refusing `refused` (may be empty).
    pub fn ok(refused: Vec<String>) -> Self {
        Answer {
            refused_subscribers_account: refused,
            ..Answer::code(0, "")
        }
    }

    /// Reject the whole request (ErrorCode 1).
    pub fn reject(info: impl Into<String>) -> Self {
        Answer::code(1, info)
    }

    /// ActionStatus OK with `code`: 2 discards a message, 120001-130000 are the backend's own.
    pub fn code(code: i64, info: impl Into<String>) -> Self {
        Answer {
            action_status: ActionStatus::Ok,
            error_info: info.into(),
            error_code: code,
            refused_subscribers_account: Vec::new(),
            msg_body: Vec::new(),
            cloud_custom_data: None,
        }
    }

    /// Send the message as `msg_body` instead (before-send, ErrorCode 0).
    pub fn rewrite(msg_body: Vec<MessageElement>) -> Self {
        Answer {
            msg_body,
            ..Answer::code(0, "")
        }
    }

    /// ActionStatus FAIL, as for a request the backend could not process.
    pub fn fail(info: impl Into<String>) -> Self {
        Answer {
            action_status: ActionStatus::Fail,
            ..Answer::code(1, info)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_written_and_read_in_upper_case() {
        let words = |answer: Answer| serde_json::to_string(&answer).unwrap_or_default();
        assert_eq!(
            words(Answer::ok(vec!["jared".into()])),
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#
        );
        assert_eq!(
            words(Answer::fail("no")),
            r#"{"ActionStatus":"FAIL","ErrorInfo":"no","ErrorCode":1}"#
        );
        assert_eq!(
            words(Answer::rewrite(vec![MessageElement::text("hi")])),
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}"#
        );
        assert_eq!(ActionStatus::read("FAIL"), Some(ActionStatus::Fail));
        assert_eq!(ActionStatus::read("ok"), None);
    }
}
