//! The answers a backend gives, as JSON: what several modules have their backends send and
//! compare reports with; and how oa-hook's library judges an answer.

use oa_hook::protocol::{Callback, Judgement, Reply, judge};
use serde_json::{Value, json};

/// How `callback` judges `body` answered whole with HTTP 200, untimed, to `subscribers`.
pub fn judge_200(callback: &Callback, subscribers: &[String], body: &[u8]) -> Judgement {
    let reply = Reply {
        status: 200,
        body,
        truncated: false,
        latency: None,
    };
    judge(callback, subscribers, reply)
}

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

/// The Tencent-shaped answer to a request that is refused, saying `info`.
pub fn fail(info: &str) -> Value {
    json!({"ActionStatus": "FAIL", "ErrorInfo": info, "ErrorCode": 1})
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
