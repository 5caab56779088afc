//! The answers a backend gives, as JSON: what several modules have their backends send and
//! compare reports with.

use serde_json::{Value, json};

/// Everyone subscribed: the conforming answer to any callback.
pub fn allow() -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
}

/// jared refused, the others subscribed.
pub fn refuse_jared() -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "RefusedSubscribers_Account": ["jared"]})
}

/// The whole request rejected, with an ErrorInfo.
pub fn reject() -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": "closed", "ErrorCode": 1})
}

/// The evidence reports give of an [`allow`] answer with HTTP 200.
pub fn allow_evidence() -> Value {
    json!({
        "status": 200,
        "body": "json",
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
        "summary": "HTTP 200, ActionStatus OK, ErrorCode 0",
    })
}
