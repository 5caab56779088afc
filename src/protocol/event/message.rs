//! The bodies of the callbacks about an Official Account's messages: before and after one is
//! sent, and after messages are withdrawn.

use super::{Event, EventShape, item_field, list};
use crate::protocol::finding::Findings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// One element of `MsgBody`, as Chat's messages carry them: its type (`TIMTextElem`,
/// `TIMCustomElem`, ...) and its content, whose fields depend on the type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageElement {
    #[serde(rename = "MsgType")]
    pub msg_type: String,
    #[serde(rename = "MsgContent")]
    pub msg_content: Map<String, Value>,
}

const TEXT_TYPE: &str = "TIMTextElem";

impl MessageElement {
    /// A `TIMTextElem` saying `text`.
    pub fn text(text: &str) -> Self {
        let mut content = Map::new();
        content.insert("Text".to_owned(), Value::from(text));
        MessageElement {
            msg_type: TEXT_TYPE.to_owned(),
            msg_content: content,
        }
    }

    /// The JSON Schema of an element, in a body's `MsgBody` and in before-send's rewrite.
    pub fn schema() -> Value {
        serde_json::json!({
            "type": "object",
            "properties": {
                "MsgType": {"type": "string", "description": "TIMTextElem, TIMCustomElem, TIMImageElem, ..."},
                "MsgContent": {"type": "object", "description": "The element's content; its fields depend on MsgType, e.g. {\"Text\": ...} for TIMTextElem."},
            },
            "required": ["MsgType", "MsgContent"],
            "additionalProperties": false,
        })
    }
}

/// `TIMTextElem "red packet"`, or the type alone for other elements.
impl fmt::Display for MessageElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.msg_content.get("Text") {
            Some(text @ Value::String(_)) if self.msg_type == TEXT_TYPE => {
                write!(f, "{} {text}", self.msg_type)
            }
            _ => f.write_str(&self.msg_type),
        }
    }
}

/// One entry of `WithdrawMsgList`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawnMessage {
    #[serde(rename = "MsgKey")]
    pub msg_key: String,
}

shape! {
    /// Before an Official Account's message is sent (60803): no sender is named.
    MessageEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        /// 1: delivered to online subscribers only.
        "OnlineOnlyFlag" online_only_flag: i64 = Flag,
        "MsgBody" msg_body: Vec<MessageElement> = Messages,
        #[serde(default, deserialize_with = "super::optional_text", skip_serializing_if = "Option::is_none")]
        "CloudCustomData" cloud_custom_data: Option<String> = OptionalText,
        /// Milliseconds since the Unix epoch.
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After an Official Account's message was sent (60804): the message and its key and time.
    SentMessageEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "OnlineOnlyFlag" online_only_flag: i64 = Flag,
        "MsgBody" msg_body: Vec<MessageElement> = Messages,
        #[serde(default, deserialize_with = "super::optional_text", skip_serializing_if = "Option::is_none")]
        "CloudCustomData" cloud_custom_data: Option<String> = OptionalText,
        "MsgKey" msg_key: String = Key,
        /// Seconds since the Unix epoch, where EventTime is milliseconds.
        "MsgTime" msg_time: i64 = Seconds,
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After messages of an Official Account were withdrawn (60805).
    WithdrawEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "WithdrawMsgList" withdraw_msg_list: Vec<WithdrawnMessage> = MsgKeys,
        "EventTime" event_time: i64 = Millis,
    }
}

impl Event for MessageEvent {}

impl EventShape for MessageEvent {}

impl Event for SentMessageEvent {}

impl EventShape for SentMessageEvent {}

impl Event for WithdrawEvent {}

impl EventShape for WithdrawEvent {}

/// `MsgBody` as read: each element's `MsgType` and `MsgContent`, a finding for each that is
/// missing or of the wrong type.
pub(super) fn messages(object: &Map<String, Value>, findings: &mut Findings) -> Option<Value> {
    let elements = list(object, "MsgBody", findings, |item, path, findings| {
        let msg_type = item_field(
            item,
            "MsgType",
            path,
            findings,
            Value::is_string,
            "a string",
        );
        let content = item_field(
            item,
            "MsgContent",
            path,
            findings,
            Value::is_object,
            "an object",
        );
        let mut element = Map::new();
        element.insert("MsgType".to_owned(), msg_type?);
        element.insert("MsgContent".to_owned(), content?);
        Some(Value::Object(element))
    });
    elements.map(Value::Array)
}

#[cfg(test)]
mod tests {
    use crate::protocol::{
        Callback, EventValues, Finding, build_body, read_event, read_exact_event,
    };
    use serde_json::{Value, json};

    fn codes(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings.iter().map(|f| (f.code, f.path.as_str())).collect()
    }

    fn seed(name: &str) -> (&'static Callback, Value) {
        let callback = Callback::find(name).unwrap();
        let values = EventValues::seed(callback, callback.seed.event_time);
        (callback, build_body(callback, &values))
    }

    #[test]
    fn message_bodies_read_the_same_both_ways() {
        for name in ["before-send", "after-send", "after-withdraw"] {
            let (callback, body) = seed(name);
            let raw = body.to_string();
            let (event, findings) = read_exact_event(callback, raw.as_bytes()).unwrap();
            assert_eq!(findings, vec![], "{name}");
            assert_eq!(
                read_event(callback, &body, raw.as_bytes()),
                (Some(event.clone()), vec![])
            );
            assert_eq!(serde_json::to_value(&event).unwrap(), body);
        }
    }

    #[test]
    fn each_problem_of_a_message_body_is_named() {
        let (callback, mut body) = seed("before-send");
        body["MsgBody"] = json!([{"MsgType": 1}, "x", {"MsgType": "TIMTextElem", "MsgContent": {"Text": "a"}, "Extra": 1}]);
        body["OnlineOnlyFlag"] = json!("1");
        let (event, findings) = read_event(callback, &body, body.to_string().as_bytes());
        assert!(event.is_none());
        assert_eq!(
            codes(&findings),
            vec![
                ("wrong-type", "OnlineOnlyFlag"),
                ("wrong-type", "MsgBody[0].MsgType"),
                ("missing-field", "MsgBody[0].MsgContent"),
                ("wrong-type", "MsgBody[1]"),
            ]
        );
    }

    /// A property test found serve judging `"CloudCustomData": null` by whether the body also
    /// had a field unknown to it: taken (the exact reader read null as no CloudCustomData) or
    /// refused (the field by field reader wants a string). Chat writes a string or nothing.
    #[test]
    fn a_null_cloud_custom_data_is_refused_with_or_without_an_unknown_field() {
        for name in ["before-send", "after-send"] {
            let (callback, mut body) = seed(name);
            body["CloudCustomData"] = Value::Null;
            let raw = body.to_string();
            assert_eq!(read_exact_event(callback, raw.as_bytes()), None, "{name}");
            let (event, findings) = read_event(callback, &body, raw.as_bytes());
            assert_eq!(event, None, "{name}");
            assert_eq!(codes(&findings), vec![("wrong-type", "CloudCustomData")]);
            body["Extra"] = json!(1);
            let (event, with_extra) = read_event(callback, &body, body.to_string().as_bytes());
            assert_eq!(event, None, "{name}");
            assert_eq!(
                codes(&with_extra),
                vec![
                    ("wrong-type", "CloudCustomData"),
                    ("unknown-field", "Extra")
                ]
            );
        }
    }

    #[test]
    fn odd_messages_are_warnings_and_cloud_custom_data_may_be_left_out() {
        let (callback, mut body) = seed("after-send");
        body.as_object_mut().unwrap().remove("CloudCustomData");
        body["OnlineOnlyFlag"] = json!(2);
        body["MsgBody"] = json!([]);
        body["MsgTime"] = json!(1_490_686_222_000_i64);
        body["MsgKey"] = json!("");
        let raw = body.to_string();
        let (event, findings) = read_exact_event(callback, raw.as_bytes()).unwrap();
        assert_eq!(
            codes(&findings),
            vec![
                ("online-only-flag", "OnlineOnlyFlag"),
                ("empty-msg-body", "MsgBody"),
                ("empty-msg-key", "MsgKey"),
                ("msg-time-millis", "MsgTime"),
            ]
        );
        assert_eq!(
            read_event(callback, &body, raw.as_bytes()),
            (Some(event), findings)
        );
        let (callback, mut body) = seed("after-withdraw");
        body["Official_Account"] = json!("#TOA#_123");
        body["WithdrawMsgList"] = json!([]);
        let (_, findings) = read_event(callback, &body, body.to_string().as_bytes());
        assert_eq!(
            codes(&findings),
            vec![
                ("official-account-prefix", "Official_Account"),
                ("no-messages", "WithdrawMsgList")
            ]
        );
    }
}
