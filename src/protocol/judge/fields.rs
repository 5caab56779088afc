//! An answer read field by field: each field with the type Chat reads it as, and what is
//! wrong with the rest.

use super::{
    CLOUD_CUSTOM_DATA, COMMON_FIELDS, MSG_BODY, REFUSED_MEMBERS, REFUSED_MEMBERS_LOST,
    REFUSED_SUBSCRIBERS, Reply, quoted_excerpt,
};
use crate::protocol::MAX_BODY_BYTES;
use crate::protocol::answer::ActionStatus;
use crate::protocol::command::{Callback, Kind, Veto};
use crate::protocol::event::MessageElement;
use crate::protocol::finding::{Finding, json_type, missing, wrong_type};
use serde_json::{Map, Value};

/// The parts of an answer that decide, once they have the right types.
pub(super) struct Parsed {
    pub(super) action_status: ActionStatus,
    pub(super) error_code: i64,
    pub(super) refused: Vec<String>,
    pub(super) rewrite: Rewrite,
}

/// before-send's answer: what to send instead, where given.
#[derive(Default)]
pub(super) struct Rewrite {
    pub(super) msg_body: Option<Vec<MessageElement>>,
    pub(super) cloud_custom_data: Option<String>,
}

impl Rewrite {
    pub(super) fn is_empty(&self) -> bool {
        self.msg_body.is_none() && self.cloud_custom_data.is_none()
    }
}

/// The answer fields a decision rests on, as an answer is read: a value of the wrong
/// type in any of them leaves Chat's decision undocumented (a webhook failure).
pub fn decisive_fields(callback: &Callback) -> Vec<&'static str> {
    let mut fields = COMMON_FIELDS[..2].to_vec();
    match callback.veto {
        Some(Veto::Subscription) | None => fields.push(REFUSED_SUBSCRIBERS),
        Some(Veto::Message) => fields.extend([MSG_BODY, CLOUD_CUSTOM_DATA]),
        Some(Veto::Creation) => {}
    }
    fields
}

pub(super) fn read_answer(
    callback: &Callback,
    subscribers: &[String],
    reply: Reply<'_>,
    value: serde_json::Result<Value>,
    findings: &mut Vec<Finding>,
) -> Option<Parsed> {
    if reply.truncated {
        findings.push(Finding::error(
            "body-too-large",
            "body",
            format!(
                "the answer is over {} MiB and was not read further",
                MAX_BODY_BYTES >> 20
            ),
        ));
        return None;
    }
    let value: Value = match value {
        Ok(v) => v,
        Err(e) => {
            findings.push(Finding::error(
                "not-json",
                "body",
                format!(
                    "the answer is not JSON ({e}): Chat counts it as a webhook failure; body: {}",
                    quoted_excerpt(reply.body)
                ),
            ));
            return None;
        }
    };
    let Some(object) = value.as_object() else {
        findings.push(Finding::error(
            "not-object",
            "body",
            format!(
                "the answer is {}, not a JSON object with ActionStatus, ErrorCode and ErrorInfo",
                json_type(&value)
            ),
        ));
        return None;
    };
    let action_status = action_status(object, findings);
    let error_code = error_code(callback, object, findings);
    match object.get("ErrorInfo") {
        Some(Value::String(_)) => {}
        Some(v) => findings.push(wrong_type("ErrorInfo", v, "a string (may be empty)")),
        None => findings.push(missing("ErrorInfo", "a string, may be empty")),
    }
    if object.contains_key(REFUSED_MEMBERS) {
        findings.push(Finding::error(
            "refused-members-account",
            REFUSED_MEMBERS,
            REFUSED_MEMBERS_LOST,
        ));
    }
    let refused = match callback.veto {
        Some(Veto::Subscription) | None => {
            refused_subscribers(callback, subscribers, object, findings)
        }
        Some(Veto::Creation | Veto::Message) => Some(Vec::new()),
    };
    let rewrite = match callback.veto {
        Some(Veto::Message) => rewrite(object, findings),
        _ => Some(Rewrite::default()),
    };
    if let (Some(code), Some(rewrite)) = (error_code, &rewrite)
        && code != 0
        && !rewrite.is_empty()
    {
        findings.push(Finding::warning(
            "rewrite-ignored",
            if rewrite.msg_body.is_some() {
                MSG_BODY
            } else {
                CLOUD_CUSTOM_DATA
            },
            format!(
                "Chat honours a rewritten MsgBody or CloudCustomData only with ErrorCode 0; with ErrorCode {code} it is ignored"
            ),
        ));
    }
    for key in object.keys() {
        let key = key.as_str();
        if !belongs(callback.veto, key) {
            findings.push(Finding::warning(
                "not-for-command",
                key,
                format!(
                    "`{key}` belongs to the answer of {}, not of {}; Chat ignores it here",
                    if key == REFUSED_SUBSCRIBERS {
                        "before-subscribe"
                    } else {
                        "before-send"
                    },
                    callback.name
                ),
            ));
        } else if !COMMON_FIELDS.contains(&key)
            && ![
                REFUSED_SUBSCRIBERS,
                MSG_BODY,
                CLOUD_CUSTOM_DATA,
                REFUSED_MEMBERS,
            ]
            .contains(&key)
        {
            findings.push(Finding::warning(
                "unknown-field",
                key,
                format!("`{key}` is not a documented answer field; Chat ignores it"),
            ));
        }
    }
    Some(Parsed {
        action_status: action_status?,
        error_code: error_code?,
        refused: refused?,
        rewrite: rewrite?,
    })
}

/// Whether the answer field `key` is read for a callback with this veto: the refused subscribers
/// by before-subscribe (and, to warn, by after callbacks), the rewrite by before-send.
pub(in crate::protocol) fn belongs(veto: Option<Veto>, key: &str) -> bool {
    match key {
        REFUSED_SUBSCRIBERS => !matches!(veto, Some(Veto::Creation | Veto::Message)),
        MSG_BODY | CLOUD_CUSTOM_DATA => veto == Some(Veto::Message),
        _ => true,
    }
}

/// before-send's `MsgBody` and `CloudCustomData`, when given; `None` when one has the wrong
/// type (Chat cannot send it).
fn rewrite(object: &Map<String, Value>, findings: &mut Vec<Finding>) -> Option<Rewrite> {
    let msg_body = object.get(MSG_BODY).map(|value| {
        serde_json::from_value::<Vec<MessageElement>>(value.clone()).map_err(|_| {
            findings.push(wrong_type(
                MSG_BODY,
                value,
                "an array of {\"MsgType\": ..., \"MsgContent\": {...}} elements",
            ));
        })
    });
    let cloud_custom_data = object.get(CLOUD_CUSTOM_DATA).map(|value| match value {
        Value::String(data) => Ok(data.clone()),
        other => {
            findings.push(wrong_type(CLOUD_CUSTOM_DATA, other, "a string"));
            Err(())
        }
    });
    Some(Rewrite {
        msg_body: msg_body.transpose().ok()?,
        cloud_custom_data: cloud_custom_data.transpose().ok()?,
    })
}

fn action_status(object: &Map<String, Value>, findings: &mut Vec<Finding>) -> Option<ActionStatus> {
    const FIELD: &str = "ActionStatus";
    match object.get(FIELD) {
        Some(Value::String(s)) => {
            let status = ActionStatus::read(s);
            if status.is_none() {
                findings.push(Finding::error(
                    "bad-action-status",
                    FIELD,
                    format!("is \"{s}\"; expected \"OK\" or \"FAIL\" (upper case)"),
                ));
            }
            status
        }
        Some(v) => {
            findings.push(wrong_type(FIELD, v, "the string \"OK\" or \"FAIL\""));
            None
        }
        None => {
            findings.push(missing(FIELD, "\"OK\" or \"FAIL\""));
            None
        }
    }
}

fn error_code(
    callback: &Callback,
    object: &Map<String, Value>,
    findings: &mut Vec<Finding>,
) -> Option<i64> {
    const FIELD: &str = "ErrorCode";
    let code = match object.get(FIELD) {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
        Some(Value::String(s)) if s.parse::<i64>().is_ok() => {
            findings.push(Finding::error(
                "wrong-type",
                FIELD,
                format!("is the string \"{s}\"; expected the integer {s} (no quotes)"),
            ));
            return None;
        }
        Some(v) => {
            findings.push(wrong_type(FIELD, v, "an integer"));
            return None;
        }
        None => {
            findings.push(missing(FIELD, "an integer"));
            return None;
        }
    }?;
    if !Veto::documents(callback.veto, code) {
        let meaning = match callback.veto {
            None => {
                return Some(code).inspect(|_| {
                    findings.push(Finding::warning(
                        "undocumented-error-code",
                        FIELD,
                        format!("{code} on an after callback: Chat ignores the answer; send 0"),
                    ));
                });
            }
            Some(veto) => veto.codes(),
        };
        findings.push(Finding::warning(
            "undocumented-error-code",
            FIELD,
            format!("{code} is undocumented for {}: {meaning}", callback.command),
        ));
    }
    Some(code)
}

fn refused_subscribers(
    callback: &Callback,
    subscribers: &[String],
    object: &Map<String, Value>,
    findings: &mut Vec<Finding>,
) -> Option<Vec<String>> {
    const FIELD: &str = "RefusedSubscribers_Account";
    let Some(value) = object.get(FIELD) else {
        return Some(Vec::new());
    };
    if callback.kind == Kind::After {
        findings.push(Finding::warning(
            "refused-on-after",
            FIELD,
            "an after callback cannot refuse anyone; Chat ignores this field",
        ));
    }
    let Value::Array(items) = value else {
        findings.push(wrong_type(FIELD, value, "an array of UserID strings"));
        return None;
    };
    let mut refused = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(user) => {
                if callback.kind == Kind::Before && !subscribers.contains(user) {
                    findings.push(Finding::warning(
                        "refused-not-in-request",
                        format!("{FIELD}[{i}]"),
                        format!("`{user}` was not among the request's subscribers"),
                    ));
                }
                refused.push(user.clone());
            }
            other => findings.push(wrong_type(
                &format!("{FIELD}[{i}]"),
                other,
                "a UserID string",
            )),
        }
    }
    (refused.len() == items.len()).then_some(refused)
}
