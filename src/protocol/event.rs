//! The JSON body of a callback.

use super::command::{BodyShape, Callback};
use super::finding::{Finding, json_type};
use super::{MAX_SUBSCRIBERS_PER_CALL, MAX_USER_ID_BYTES, OFFICIAL_ACCOUNT_PREFIX};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of both subscriber callbacks, fields in the order of Tencent's samples. Reading one
/// is strict (no field more or less); [`read_event`] explains what is wrong with other bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberEvent {
    #[serde(rename = "CallbackCommand")]
    pub callback_command: String,
    #[serde(rename = "Official_Account")]
    pub official_account: String,
    #[serde(rename = "Operator_Account")]
    pub operator_account: String,
    #[serde(rename = "SubscribeAccountList")]
    pub subscribe_account_list: Vec<Subscriber>,
    /// Milliseconds since the Unix epoch.
    #[serde(rename = "EventTime")]
    pub event_time: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    #[serde(rename = "Subscriber_Account")]
    pub subscriber_account: String,
}

impl SubscriberEvent {
    pub fn subscribers(&self) -> Vec<String> {
        self.subscribe_account_list
            .iter()
            .map(|s| s.subscriber_account.clone())
            .collect()
    }
}

/// The body `callback` carries for the given values.
pub fn build_body(
    callback: &Callback,
    official_account: &str,
    operator_account: &str,
    subscribers: &[String],
    event_time: i64,
) -> Value {
    match callback.body {
        BodyShape::SubscriberList => serde_json::to_value(SubscriberEvent {
            callback_command: callback.command.to_owned(),
            official_account: official_account.to_owned(),
            operator_account: operator_account.to_owned(),
            subscribe_account_list: subscribers
                .iter()
                .map(|s| Subscriber {
                    subscriber_account: s.clone(),
                })
                .collect(),
            event_time,
        })
        .unwrap_or_default(),
    }
}

/// A received body that has the shape of `callback`'s, with the subscribers it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedEvent {
    pub operator_account: String,
    pub official_account: String,
    pub subscribers: Vec<String>,
    pub event_time: i64,
}

impl ReceivedEvent {
    /// The body this event was read from, field for field (for records).
    pub fn body<'a>(&'a self, callback: &'a Callback) -> EventBody<'a> {
        match callback.body {
            BodyShape::SubscriberList => EventBody::SubscriberList(SubscriberBody {
                callback_command: callback.command,
                official_account: &self.official_account,
                operator_account: &self.operator_account,
                subscribe_account_list: &self.subscribers,
                event_time: self.event_time,
            }),
        }
    }
}

/// A body rebuilt from a [`ReceivedEvent`], borrowing from it; serializes as the body.
#[derive(Serialize)]
#[serde(untagged)]
pub enum EventBody<'a> {
    SubscriberList(SubscriberBody<'a>),
}

/// [`SubscriberEvent`] borrowed from a [`ReceivedEvent`].
#[derive(Serialize)]
pub struct SubscriberBody<'a> {
    #[serde(rename = "CallbackCommand")]
    callback_command: &'a str,
    #[serde(rename = "Official_Account")]
    official_account: &'a str,
    #[serde(rename = "Operator_Account")]
    operator_account: &'a str,
    #[serde(rename = "SubscribeAccountList", serialize_with = "subscriber_objects")]
    subscribe_account_list: &'a [String],
    #[serde(rename = "EventTime")]
    event_time: i64,
}

fn subscriber_objects<S: serde::Serializer>(
    users: &&[String],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Item<'a> {
        #[serde(rename = "Subscriber_Account")]
        subscriber_account: &'a str,
    }
    serializer.collect_seq(users.iter().map(|u| Item {
        subscriber_account: u,
    }))
}

/// Reads a body of exactly `callback`'s documented shape and types straight into its type,
/// without building a JSON tree: the common case, and cheap. `None` for anything else (unknown
/// fields, wrong types, another command, not JSON), which [`read_event`] then explains.
pub fn read_exact_event(callback: &Callback, body: &[u8]) -> Option<(ReceivedEvent, Vec<Finding>)> {
    match callback.body {
        BodyShape::SubscriberList => {
            let event: SubscriberEvent = serde_json::from_slice(body).ok()?;
            if event.callback_command != callback.command {
                return None;
            }
            let event = ReceivedEvent {
                operator_account: event.operator_account,
                official_account: event.official_account,
                subscribers: event
                    .subscribe_account_list
                    .into_iter()
                    .map(|s| s.subscriber_account)
                    .collect(),
                event_time: event.event_time,
            };
            let mut findings = Vec::new();
            oddities(&event, &mut findings);
            Some((event, findings))
        }
    }
}

/// Checks a received body against `callback`'s shape. Errors mean Chat would never send it;
/// warnings are odd but answerable. Returns the event when there are no errors.
pub fn read_event(callback: &Callback, body: &Value) -> (Option<ReceivedEvent>, Vec<Finding>) {
    match callback.body {
        BodyShape::SubscriberList => read_subscriber_event(callback, body),
    }
}

fn read_subscriber_event(
    callback: &Callback,
    body: &Value,
) -> (Option<ReceivedEvent>, Vec<Finding>) {
    let mut findings = Vec::new();
    let Some(object) = body.as_object() else {
        findings.push(Finding::error(
            "not-object",
            "body",
            format!("the body is {}, not a JSON object", json_type(body)),
        ));
        return (None, findings);
    };
    let command = string_field(object, "CallbackCommand", &mut findings);
    if let Some(command) = &command
        && command != callback.command
    {
        findings.push(Finding::error(
            "command-mismatch",
            "CallbackCommand",
            format!(
                "the body says `{command}` but the query says `{}`",
                callback.command
            ),
        ));
    }
    let official_account = string_field(object, "Official_Account", &mut findings);
    let operator_account = string_field(object, "Operator_Account", &mut findings);
    let subscribers = subscriber_list(object, &mut findings);
    let event_time = match object.get("EventTime") {
        None => {
            findings.push(missing("EventTime", "an integer (milliseconds)"));
            None
        }
        Some(v) => {
            let ms = v.as_i64();
            if ms.is_none() {
                findings.push(wrong_type("EventTime", v, "an integer (milliseconds)"));
            }
            ms
        }
    };
    let event = match (official_account, operator_account, subscribers, event_time) {
        (Some(official_account), Some(operator_account), Some(subscribers), Some(event_time))
            if !findings.iter().any(Finding::is_error) =>
        {
            Some(ReceivedEvent {
                operator_account,
                official_account,
                subscribers,
                event_time,
            })
        }
        _ => None,
    };
    if let Some(event) = &event {
        oddities(event, &mut findings);
    }
    for key in object.keys() {
        if !SUBSCRIBER_EVENT_FIELDS.contains(&key.as_str()) {
            findings.push(Finding::warning(
                "unknown-field",
                key.as_str(),
                format!("`{key}` is not a field of {}", callback.command),
            ));
        }
    }
    (event, findings)
}

/// What is odd about a well-formed event: answerable, but not what Chat sends.
fn oddities(event: &ReceivedEvent, findings: &mut Vec<Finding>) {
    if !event.official_account.starts_with(OFFICIAL_ACCOUNT_PREFIX) {
        findings.push(Finding::warning(
            "official-account-prefix",
            "Official_Account",
            format!(
                "`{}` does not start with `{OFFICIAL_ACCOUNT_PREFIX}` as Chat's IDs do",
                event.official_account
            ),
        ));
    }
    check_user_id(&event.operator_account, "Operator_Account", findings);
    if event.subscribers.len() > MAX_SUBSCRIBERS_PER_CALL {
        findings.push(Finding::warning(
            "many-subscribers",
            "SubscribeAccountList",
            format!(
                "{} subscribers in one callback; the REST call that adds subscribers takes at most {MAX_SUBSCRIBERS_PER_CALL}",
                event.subscribers.len()
            ),
        ));
    }
    for (i, user) in event.subscribers.iter().enumerate() {
        if user.len() > MAX_USER_ID_BYTES {
            check_user_id(
                user,
                &format!("SubscribeAccountList[{i}].Subscriber_Account"),
                findings,
            );
        }
    }
    if (0..100_000_000_000).contains(&event.event_time) {
        findings.push(Finding::warning(
            "event-time-seconds",
            "EventTime",
            format!(
                "{} looks like seconds; Chat sends milliseconds (13 digits)",
                event.event_time
            ),
        ));
    }
}

const SUBSCRIBER_EVENT_FIELDS: &[&str] = &[
    "CallbackCommand",
    "Official_Account",
    "Operator_Account",
    "SubscribeAccountList",
    "EventTime",
];

fn subscriber_list(
    object: &Map<String, Value>,
    findings: &mut Vec<Finding>,
) -> Option<Vec<String>> {
    const FIELD: &str = "SubscribeAccountList";
    let list = match object.get(FIELD) {
        None => {
            findings.push(missing(FIELD, "an array of {\"Subscriber_Account\": ...}"));
            return None;
        }
        Some(Value::Array(list)) => list,
        Some(v) => {
            findings.push(wrong_type(FIELD, v, "an array"));
            return None;
        }
    };
    let mut users = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = format!("{FIELD}[{i}].Subscriber_Account");
        match item.get("Subscriber_Account") {
            Some(Value::String(user)) => users.push(user.clone()),
            Some(v) => findings.push(wrong_type(&path, v, "a string")),
            None if item.is_object() => findings.push(missing(&path, "a string")),
            None => findings.push(wrong_type(&format!("{FIELD}[{i}]"), item, "an object")),
        }
    }
    Some(users)
}

fn check_user_id(user: &str, path: &str, findings: &mut Vec<Finding>) {
    if user.len() > MAX_USER_ID_BYTES {
        findings.push(Finding::warning(
            "long-user-id",
            path,
            format!(
                "UserID is {} bytes; Chat's UserIDs are at most {MAX_USER_ID_BYTES}",
                user.len()
            ),
        ));
    }
}

fn string_field(
    object: &Map<String, Value>,
    field: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    match object.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            findings.push(wrong_type(field, v, "a string"));
            None
        }
        None => {
            findings.push(missing(field, "a string"));
            None
        }
    }
}

pub(crate) fn missing(field: &str, expected: &str) -> Finding {
    Finding::error(
        "missing-field",
        field,
        format!("required field is missing (expected {expected})"),
    )
}

pub(crate) fn wrong_type(field: &str, value: &Value, expected: &str) -> Finding {
    Finding::error(
        "wrong-type",
        field,
        format!("is {} ({value}); expected {expected}", json_type(value)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CALLBACKS;
    use serde_json::json;

    fn before() -> &'static Callback {
        &CALLBACKS[0]
    }

    fn seed_body() -> Value {
        json!({
            "CallbackCommand": "OfficialAccount.CallbackBeforeAddSubscriber",
            "Official_Account": "@TOA#_test_for_penn",
            "Operator_Account": "107867",
            "SubscribeAccountList": [{"Subscriber_Account": "jared"}, {"Subscriber_Account": "leckie"}],
            "EventTime": 1670574414123_i64
        })
    }

    fn codes(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings.iter().map(|f| (f.code, f.path.as_str())).collect()
    }

    #[test]
    fn the_built_body_is_the_seed_in_seed_order() {
        let seed = &before().seed;
        let users: Vec<String> = seed.subscribers.iter().map(|s| s.to_string()).collect();
        let body = build_body(
            before(),
            seed.official_account,
            seed.operator_account,
            &users,
            seed.event_time,
        );
        assert_eq!(body, seed_body());
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, SUBSCRIBER_EVENT_FIELDS);
    }

    #[test]
    fn the_seed_reads_cleanly() {
        let (event, findings) = read_event(before(), &seed_body());
        assert_eq!(findings, vec![]);
        let event = event.unwrap();
        assert_eq!(event.subscribers, ["jared", "leckie"]);
        assert_eq!(event.operator_account, "107867");
    }

    #[test]
    fn exact_bodies_read_the_same_without_a_json_tree() {
        let mut odd = seed_body();
        odd["Official_Account"] = json!("my_account");
        odd["Operator_Account"] = json!("x".repeat(33));
        odd["EventTime"] = json!(1670574414_i64);
        odd["SubscribeAccountList"][1]["Subscriber_Account"] = json!("y".repeat(40));
        for body in [seed_body(), odd] {
            let bytes = body.to_string().into_bytes();
            let (event, findings) = read_exact_event(before(), &bytes).unwrap();
            assert_eq!((Some(event.clone()), findings), read_event(before(), &body));
            assert_eq!(serde_json::to_value(event.body(before())).unwrap(), body);
        }
        let mut extra = seed_body();
        extra["Extra"] = json!(1);
        let mut wrong = seed_body();
        wrong["EventTime"] = json!("1");
        let after = &CALLBACKS[1];
        for (callback, body) in [(before(), extra), (before(), wrong), (after, seed_body())] {
            assert_eq!(
                read_exact_event(callback, body.to_string().as_bytes()),
                None
            );
        }
        assert_eq!(read_exact_event(before(), b"{"), None);
    }

    #[test]
    fn shape_errors_are_each_reported() {
        let body = json!({
            "CallbackCommand": "OfficialAccount.CallbackAfterDeleteSubscriber",
            "Official_Account": 5,
            "SubscribeAccountList": [{"Subscriber_Account": 1}, "bob", {}],
            "EventTime": "1670574414123"
        });
        let (event, findings) = read_event(before(), &body);
        assert!(event.is_none());
        assert_eq!(
            codes(&findings),
            vec![
                ("command-mismatch", "CallbackCommand"),
                ("wrong-type", "Official_Account"),
                ("missing-field", "Operator_Account"),
                ("wrong-type", "SubscribeAccountList[0].Subscriber_Account"),
                ("wrong-type", "SubscribeAccountList[1]"),
                (
                    "missing-field",
                    "SubscribeAccountList[2].Subscriber_Account"
                ),
                ("wrong-type", "EventTime"),
            ]
        );
        let (_, findings) = read_event(before(), &json!([1]));
        assert_eq!(codes(&findings), vec![("not-object", "body")]);
    }

    #[test]
    fn oddities_are_warnings_and_the_event_is_kept() {
        let mut body = seed_body();
        body["Official_Account"] = json!("my_account");
        body["Operator_Account"] = json!("x".repeat(33));
        body["EventTime"] = json!(1670574414_i64);
        body["Extra"] = json!(true);
        body["SubscribeAccountList"] = Value::Array(
            (0..101)
                .map(|i| json!({"Subscriber_Account": format!("u{i}")}))
                .collect(),
        );
        let (event, findings) = read_event(before(), &body);
        assert_eq!(event.unwrap().subscribers.len(), 101);
        assert!(findings.iter().all(|f| !f.is_error()));
        assert_eq!(
            codes(&findings),
            vec![
                ("official-account-prefix", "Official_Account"),
                ("long-user-id", "Operator_Account"),
                ("many-subscribers", "SubscribeAccountList"),
                ("event-time-seconds", "EventTime"),
                ("unknown-field", "Extra"),
            ]
        );
    }
}
