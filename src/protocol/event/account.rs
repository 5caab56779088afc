//! The bodies of the callbacks about an Official Account itself: before and after it is
//! created, after its profile changed, after it is destroyed, and after it is full.

use super::{Event, EventShape};
use crate::protocol::{
    MAX_FACE_URL_BYTES, MAX_INTRODUCTION_BYTES, MAX_NAME_BYTES, MAX_ORGANIZATION_BYTES,
};

shape! {
    /// Before an Official Account is created (60795): who asks, for whom, and its name. It has
    /// no ID yet.
    BeforeCreateEvent {
        "CallbackCommand" callback_command: String = Command,
        "Operator_Account" operator_account: String = UserId,
        "Owner_Account" owner_account: String = UserId,
        "Name" name: String = Limited(MAX_NAME_BYTES),
        /// Milliseconds since the Unix epoch.
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After an Official Account was created (60796).
    CreatedEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "Operator_Account" operator_account: String = UserId,
        "Owner_Account" owner_account: String = UserId,
        "Name" name: String = Limited(MAX_NAME_BYTES),
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After an Official Account's profile changed (60797): the new values.
    InfoChangedEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "Operator_Account" operator_account: String = UserId,
        "Introduction" introduction: String = Limited(MAX_INTRODUCTION_BYTES),
        "Name" name: String = Limited(MAX_NAME_BYTES),
        "FaceUrl" face_url: String = Limited(MAX_FACE_URL_BYTES),
        "Organization" organization: String = Limited(MAX_ORGANIZATION_BYTES),
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After an Official Account was destroyed (60798): no operator is named.
    DestroyedEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "Owner_Account" owner_account: String = UserId,
        "Name" name: String = Limited(MAX_NAME_BYTES),
        "EventTime" event_time: i64 = Millis,
    }
}

shape! {
    /// After an Official Account reached its subscriber limit (60801).
    AccountFullEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "EventTime" event_time: i64 = Millis,
    }
}

impl Event for BeforeCreateEvent {
    fn operator(&self) -> Option<&str> {
        Some(&self.operator_account)
    }
}

impl EventShape for BeforeCreateEvent {}

impl Event for CreatedEvent {
    fn operator(&self) -> Option<&str> {
        Some(&self.operator_account)
    }
}

impl EventShape for CreatedEvent {}

impl Event for InfoChangedEvent {
    fn operator(&self) -> Option<&str> {
        Some(&self.operator_account)
    }
}

impl EventShape for InfoChangedEvent {}

impl Event for DestroyedEvent {}

impl EventShape for DestroyedEvent {}

impl Event for AccountFullEvent {}

impl EventShape for AccountFullEvent {}

#[cfg(test)]
mod tests {
    use crate::protocol::{Callback, EventValues, build_body, read_event, read_exact_event};
    use serde_json::json;

    #[test]
    fn the_documented_limits_are_warnings() {
        let callback = Callback::find("after-info-change").unwrap();
        let mut body = build_body(callback, &EventValues::seed(callback, 1_670_574_414_123));
        body["Name"] = json!("n".repeat(151));
        body["Introduction"] = json!("i".repeat(401));
        body["FaceUrl"] = json!("f".repeat(501));
        body["Organization"] = json!("o".repeat(500));
        let raw = body.to_string();
        let (event, findings) = read_exact_event(callback, raw.as_bytes()).unwrap();
        let found: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "Introduction: is 401 bytes; Chat allows at most 400 (trtc.io/document/60813)",
                "Name: is 151 bytes; Chat allows at most 150 (trtc.io/document/60813)",
                "FaceUrl: is 501 bytes; Chat allows at most 500 (trtc.io/document/60813)",
            ]
        );
        assert_eq!(
            read_event(callback, &body, raw.as_bytes()),
            (Some(event), findings)
        );
    }

    #[test]
    fn a_before_create_body_has_no_official_account() {
        let callback = Callback::find("before-create").unwrap();
        let mut body = build_body(callback, &EventValues::seed(callback, 1_670_574_414_123));
        body["Official_Account"] = json!("@TOA#_x");
        let (event, findings) = read_event(callback, &body, body.to_string().as_bytes());
        assert_eq!(event.unwrap().operator(), Some("107867"));
        assert_eq!(findings[0].code, "unknown-field");
    }
}
