//! The backend's answer as a backend sends it, fields and words of Tencent's samples.

use serde::Serialize;

/// An answer as a backend sends it, fields in the order of Tencent's samples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    #[serde(rename = "ActionStatus")]
    pub action_status: &'static str,
    #[serde(rename = "ErrorInfo")]
    pub error_info: String,
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    #[serde(
        rename = "RefusedSubscribers_Account",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub refused_subscribers_account: Vec<String>,
}

impl Answer {
    /// Go ahead, refusing `refused` (may be empty).
    pub fn ok(refused: Vec<String>) -> Self {
        Answer {
            action_status: "OK",
            error_info: String::new(),
            error_code: 0,
            refused_subscribers_account: refused,
        }
    }

    /// Reject the whole request (ErrorCode 1).
    pub fn reject(info: impl Into<String>) -> Self {
        Answer {
            action_status: "OK",
            error_info: info.into(),
            error_code: 1,
            refused_subscribers_account: Vec::new(),
        }
    }

    /// ActionStatus FAIL, as for a request the backend could not process.
    pub fn fail(info: impl Into<String>) -> Self {
        Answer {
            action_status: "FAIL",
            error_info: info.into(),
            error_code: 1,
            refused_subscribers_account: Vec::new(),
        }
    }
}
