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
            "description": format!(
                "{} Written as a whole number (1, not 1.0 or \"1\").",
                answer_decides(callback)
            ),
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

/// Where `instance` breaks `schema`, as a JSON Schema validator finds it: the JSON pointer of
/// each failing value (a missing or extra property's own pointer), for tests that compare the
/// schemas with the judge.
#[cfg(test)]
pub(super) fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    fn leaves(error: &boon::ValidationError<'_, '_>, found: &mut Vec<String>) {
        if !error.causes.is_empty() {
            for cause in &error.causes {
                leaves(cause, found);
            }
            return;
        }
        let at = error.instance_location.to_string();
        match &error.kind {
            boon::ErrorKind::Required { want } => {
                found.extend(want.iter().map(|name| format!("{at}/{name}")));
            }
            boon::ErrorKind::AdditionalProperties { got } => {
                found.extend(got.iter().map(|name| format!("{at}/{name}")));
            }
            _ => found.push(at),
        }
    }
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let url = "http://oa-hook.test/schema.json";
    compiler
        .add_resource(url, schema.clone())
        .expect("the schema is JSON");
    let index = compiler
        .compile(url, &mut schemas)
        .expect("the schema compiles");
    let mut found = Vec::new();
    if let Err(error) = schemas.validate(instance, index) {
        leaves(&error, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::event::Wire;
    use crate::protocol::{CALLBACKS, Finding, Reply, judge, read_event};

    /// A finding's path as a JSON pointer: `A[1].B` is `/A/1/B`.
    fn pointer(path: &str) -> String {
        format!(
            "/{}",
            path.replace("].", "/")
                .replace(['[', '.'], "/")
                .replace(']', "")
        )
    }

    fn seed(callback: &Callback) -> Value {
        build_body(
            callback,
            &EventValues::seed(callback, callback.seed.event_time),
        )
    }

    #[test]
    fn every_sample_body_fits_its_schema() {
        for callback in CALLBACKS {
            let body = seed(callback);
            assert_eq!(
                violations(&body_schema(callback), &body),
                Vec::<String>::new(),
                "{callback}"
            );
            assert_eq!(body_schema(callback)["examples"][0], body);
        }
        // Tencent's 60805 sample, as printed: its ID lacks the prefix.
        let withdraw = Callback::find("after-withdraw").unwrap();
        let mut printed = seed(withdraw);
        printed["Official_Account"] = "#TOA#_123".into();
        assert_eq!(
            violations(&body_schema(withdraw), &printed),
            ["/Official_Account"]
        );
    }

    /// Values that break each kind of field's rule, and values at its limits that do not.
    fn breaking(wire: Wire) -> (Vec<Value>, Vec<Value>) {
        let users = |n: usize| -> Value {
            (0..n)
                .map(|i| json!({"Subscriber_Account": format!("u{i}")}))
                .collect()
        };
        match wire {
            Wire::OfficialAccount => (
                vec![
                    json!("my_account"),
                    json!(format!("@TOA#_{}", "a".repeat(43))),
                ],
                vec![json!(format!("@TOA#_{}", "a".repeat(42)))],
            ),
            Wire::UserId => (
                vec![json!(""), json!("x".repeat(33))],
                vec![json!("x".repeat(32)), json!("x")],
            ),
            Wire::Limited(max) => (
                vec![json!("n".repeat(max + 1))],
                vec![json!("n".repeat(max)), json!("")],
            ),
            Wire::Key => (vec![json!("")], vec![json!("k")]),
            Wire::Flag => (vec![json!(2), json!(-1)], vec![json!(0), json!(1)]),
            Wire::Seconds => (
                vec![json!(0), json!(99_999_999_999_i64)],
                vec![json!(1), json!(99_999_999_998_i64)],
            ),
            Wire::Millis => (
                vec![
                    json!(0),
                    json!(1_670_574_414),
                    json!(10_000_000_000_000_i64),
                ],
                vec![json!(100_000_000_000_i64), json!(9_999_999_999_999_i64)],
            ),
            Wire::Subscribers => (
                vec![
                    json!([]),
                    users(101),
                    json!([{"Subscriber_Account": "jared"}, {"Subscriber_Account": "jared"}]),
                    json!([{"Subscriber_Account": ""}]),
                ],
                vec![users(100), users(1)],
            ),
            Wire::Messages | Wire::MsgKeys => (vec![json!([])], vec![]),
            Wire::Command | Wire::OptionalText => (vec![], vec![]),
        }
    }

    /// Every rule the judge warns about in a body is in its schema: a value that breaks one is
    /// warned about at its field and fails the schema there; a value at the limit passes both.
    #[test]
    fn each_body_rule_is_the_schemas_too() {
        for callback in CALLBACKS {
            let schema = body_schema(callback);
            for field in callback.body.fields() {
                let (bad, good) = breaking(field.1);
                for (value, breaks) in bad
                    .into_iter()
                    .map(|v| (v, true))
                    .chain(good.into_iter().map(|v| (v, false)))
                {
                    let mut body = seed(callback);
                    body[field.0] = value.clone();
                    let raw = body.to_string();
                    let (event, findings) = read_event(callback, &body, raw.as_bytes());
                    assert!(event.is_some(), "{callback} {}: {findings:?}", field.0);
                    let warned: Vec<String> = findings.iter().map(|f| pointer(&f.path)).collect();
                    let violated = violations(&schema, &body);
                    let at = format!("/{}", field.0);
                    let context = format!(
                        "{callback} {} = {value}: judge {warned:?}, schema {violated:?}",
                        field.0
                    );
                    assert_eq!(!warned.is_empty(), breaks, "{context}");
                    assert_eq!(!violated.is_empty(), breaks, "{context}");
                    assert!(
                        warned.iter().chain(&violated).all(|p| p.starts_with(&at)),
                        "{context}"
                    );
                }
            }
        }
    }

    /// Answers of every kind: conforming, conforming with warnings, and refused.
    fn answers() -> Vec<Value> {
        let ok = json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0});
        let with = |key: &str, value: Value| {
            let mut answer = ok.clone();
            answer[key] = value;
            answer
        };
        let without = |key: &str| {
            let mut answer = ok.clone();
            answer.as_object_mut().map(|a| a.remove(key));
            answer
        };
        let element = json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}});
        vec![
            ok.clone(),
            with("ErrorCode", json!(1)),
            with("ErrorCode", json!(2)),
            with("ErrorCode", json!(120_001)),
            with("ErrorCode", json!(-7)),
            with("ErrorCode", json!("0")),
            with("ErrorCode", json!(0.5)),
            with("ErrorCode", json!(u64::MAX)),
            with("ActionStatus", json!("FAIL")),
            with("ActionStatus", json!("ok")),
            with("ActionStatus", json!(0)),
            with("ErrorInfo", Value::Null),
            without("ErrorInfo"),
            without("ActionStatus"),
            with("RefusedSubscribers_Account", json!(["jared"])),
            with("RefusedSubscribers_Account", json!(["zoe"])),
            with("RefusedSubscribers_Account", json!("jared")),
            with("RefusedSubscribers_Account", json!([7])),
            with("RefusedMembers_Account", json!(["jared"])),
            with("MsgBody", json!([element])),
            with("MsgBody", json!([])),
            with("MsgBody", json!("hi")),
            with("MsgBody", json!([{"MsgType": "TIMTextElem"}])),
            with(
                "MsgBody",
                json!([{"MsgType": "TIMTextElem", "MsgContent": "hi"}]),
            ),
            with(
                "MsgBody",
                json!([{"MsgType": "TIMTextElem", "MsgContent": {}, "x": 1}]),
            ),
            with("CloudCustomData", json!("data")),
            with("CloudCustomData", json!(5)),
            with("Extra", json!(true)),
        ]
    }

    /// An answer fits its schema exactly when the judge calls it conforming, and where it does
    /// not, the schema fails at the fields the judge names.
    #[test]
    fn an_answer_fits_its_schema_exactly_when_it_conforms() {
        let users = vec!["jared".to_owned(), "leckie".to_owned()];
        for callback in CALLBACKS {
            let schema = answer_schema(callback);
            for answer in answers() {
                let raw = answer.to_string();
                let judgement = judge(callback, &users, Reply::new(200, raw.as_bytes()));
                let errors: Vec<String> = judgement
                    .findings
                    .iter()
                    .filter(|f| f.is_error())
                    .map(|f: &Finding| pointer(&f.path))
                    .collect();
                let violated = violations(&schema, &answer);
                let context = format!("{callback} {answer}: judge {errors:?}, schema {violated:?}");
                assert_eq!(judgement.conforms(), violated.is_empty(), "{context}");
                for error in &errors {
                    assert!(
                        violated.iter().any(|v| v.starts_with(error.as_str())),
                        "{context}"
                    );
                }
                for violation in &violated {
                    assert!(
                        errors.iter().any(|e| violation.starts_with(e.as_str())),
                        "{context}"
                    );
                }
            }
        }
    }
}
