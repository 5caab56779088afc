//! The contract as JSON Schema (2020-12), for other tools: each body from its shape's fields
//! (what each field holds, and its rules: `event/wire.rs`), each answer from the rules the judge
//! holds it to (`judge.rs`). Nothing here is a second copy of a rule.

use super::command::{CUSTOM_ERROR_CODES, Callback, Kind, Veto};
use super::event::{EventValues, MessageElement, build_body};
use super::judge::{
    CLOUD_CUSTOM_DATA, COMMON_FIELDS, CREATION_DENIED, MESSAGE_REFUSED, MSG_BODY, REFUSED_MEMBERS,
    REFUSED_MEMBERS_LOST, REFUSED_SUBSCRIBERS, belongs,
};
use serde_json::{Map, Value, json};

/// The schema of `callback`'s body: what Chat sends. A body that breaks it is one `send` and
/// `serve` warn about (or refuse, when a field is missing or of the wrong type); Tencent's
/// sample is its example.
pub fn body_schema(callback: &Callback) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in callback.body.fields() {
        properties.insert(field.0.to_owned(), field.1.schema(callback.command));
        if !field.1.optional() {
            required.push(field.0);
        }
    }
    let sample = build_body(
        callback,
        &EventValues::seed(callback, callback.seed.event_time),
    );
    json!({
        "title": format!("{} body", callback.command),
        "description": format!(
            "The JSON body Chat POSTs {}: fields in the order of Tencent's sample ({}). A field more, or a value that breaks a rule here, is not what Chat sends.",
            callback.summary.split(';').next().unwrap_or(callback.summary),
            callback.doc
        ),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
        "examples": [sample],
    })
}

/// The schema of an answer to `callback`: what the judge calls conforming (an answer that
/// breaks it is an error; what the judge only warns about, it allows), with what Chat does with
/// each field in its description.
pub fn answer_schema(callback: &Callback) -> Value {
    let mut properties = Map::new();
    properties.insert(
        COMMON_FIELDS[0].to_owned(),
        json!({
            "type": "string",
            "enum": ["OK", "FAIL"],
            "description": "OK: the backend processed the callback. FAIL: it could not; with ErrorCode 0, what Chat does then is undocumented. Upper case.",
        }),
    );
    properties.insert(
        COMMON_FIELDS[1].to_owned(),
        json!({
            "type": "integer",
            "minimum": i64::MIN,
            "maximum": i64::MAX,
            "description": answer_decides(callback),
        }),
    );
    properties.insert(
        COMMON_FIELDS[2].to_owned(),
        json!({
            "type": "string",
            "description": "The backend's own words, may be empty. With a code of your own (120001-130000) Chat passes it to the caller.",
        }),
    );
    properties.insert(
        REFUSED_SUBSCRIBERS.to_owned(),
        match (callback.kind, belongs(callback.veto, REFUSED_SUBSCRIBERS)) {
            (Kind::Before, true) => json!({
                "type": "array",
                "items": {"type": "string"},
                "description": "With ErrorCode 0: the UserIDs refused; every other subscriber of the request subscribes. Each should be one of the request's subscribers.",
            }),
            (Kind::After, _) => json!({
                "type": "array",
                "items": {"type": "string"},
                "description": "An after callback cannot refuse anyone: Chat ignores this field.",
            }),
            (Kind::Before, false) => ignored(REFUSED_SUBSCRIBERS, "before-subscribe"),
        },
    );
    let rewrite = [
        (
            MSG_BODY,
            json!({"type": "array", "items": MessageElement::schema()}),
            "With ErrorCode 0: the message is sent with these elements instead of the sender's.",
        ),
        (
            CLOUD_CUSTOM_DATA,
            json!({"type": "string"}),
            "With ErrorCode 0: the message is sent with this CloudCustomData instead of the sender's.",
        ),
    ];
    for (field, mut schema, description) in rewrite {
        if belongs(callback.veto, field) {
            schema["description"] = format!(
                "{description} Honoured only with ErrorCode 0; ignored with any other code."
            )
            .into();
        } else {
            schema = ignored(field, "before-send");
        }
        properties.insert(field.to_owned(), schema);
    }
    properties.insert(
        REFUSED_MEMBERS.to_owned(),
        json!({"not": {}, "description": REFUSED_MEMBERS_LOST}),
    );
    json!({
        "title": format!("{} answer", callback.command),
        "description": format!(
            "The JSON object the backend answers {} with, with HTTP 200 within 2 s. Any other status, a body that is not JSON, or no answer within 2 s counts as a webhook failure{}. Fields not named here are ignored.",
            callback.command,
            match callback.kind {
                Kind::Before => format!(
                    "; past 2 s {} goes ahead without the backend's veto",
                    callback.veto.map_or("the event", Veto::event)
                ),
                Kind::After => String::new(),
            }
        ),
        "type": "object",
        "properties": properties,
        "required": COMMON_FIELDS,
    })
}

/// An answer field of another callback's answer: anything, ignored.
fn ignored(field: &str, of: &str) -> Value {
    json!({
        "description": format!("{field} belongs to the answer of {of}; Chat ignores it here."),
    })
}

/// What an answer's `ErrorCode` decides for `callback`, in words.
pub fn answer_decides(callback: &Callback) -> String {
    let (low, high) = (CUSTOM_ERROR_CODES.start(), CUSTOM_ERROR_CODES.end());
    match callback.veto {
        None => "Chat ignores the answer of an after callback: send 0 (other codes are undocumented).".to_owned(),
        Some(Veto::Subscription) => "0: the subscription goes ahead for every subscriber but those in RefusedSubscribers_Account. 1: the whole request is rejected; nobody subscribes. Other codes are undocumented.".to_owned(),
        Some(Veto::Creation) => format!(
            "0: the Official Account is created. 1: the creation is denied; the caller gets error {CREATION_DENIED}. {low}-{high}: a code of your own; the creation is denied and the caller gets this code with ErrorInfo. Other codes are undocumented."
        ),
        Some(Veto::Message) => format!(
            "0: the message is sent, rewritten by MsgBody and/or CloudCustomData when given. 1: the message is refused; the sender gets error {MESSAGE_REFUSED}. 2: the message is discarded silently; the sender is told it was sent. {low}-{high}: a code of your own; the message is refused and the sender gets this code with ErrorInfo. Other codes are undocumented."
        ),
    }
}
