//! What a body field holds, once for each kind of field: the rule a received value is held to
//! (its oddities: answerable, but not what Chat sends) and the JSON Schema that says the same.
//! A shape's fields name their kind (`shape!`), so the judge and the exported schemas read the
//! one definition.

use super::message::{MessageElement, WithdrawnMessage};
use super::subscriber_list;
use crate::protocol::finding::{Finding, Findings, Severity, excerpt};
use crate::protocol::{MAX_OFFICIAL_ACCOUNT_BYTES, MAX_USER_ID_BYTES, OFFICIAL_ACCOUNT_PREFIX};
use serde_json::{Value, json};

/// What a body field holds on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    /// `CallbackCommand`, read before the rest.
    Command,
    /// An Official Account ID: `@TOA#_...`, at most 48 bytes.
    OfficialAccount,
    /// A UserID: not empty, at most 32 bytes.
    UserId,
    /// Text of at most this many bytes (trtc.io/document/60813).
    Limited(usize),
    /// Text that may be left out (`CloudCustomData`).
    OptionalText,
    /// A message's key: not empty.
    Key,
    /// `OnlineOnlyFlag`: 1 or 0.
    Flag,
    /// An integer of Unix seconds (`MsgTime`).
    Seconds,
    /// `EventTime`, an integer of milliseconds.
    Millis,
    /// `SubscribeAccountList`: `[{"Subscriber_Account": ...}]`, UserIDs, at most 100.
    Subscribers,
    /// `MsgBody`: `[{"MsgType": ..., "MsgContent": {...}}]`.
    Messages,
    /// `WithdrawMsgList`: `[{"MsgKey": ...}]`.
    MsgKeys,
}

/// One body field: its name and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field(pub &'static str, pub Wire);

/// A field's value as read into its shape's type, for its kind's rule.
pub(crate) enum Held<'a> {
    Text(&'a str),
    Absent,
    Integer(i64),
    Users(&'a [String]),
    Items(usize),
}

/// The Rust types of body fields, as their rules see them.
pub(crate) trait Holds {
    fn held(&self) -> Held<'_>;
}

impl Holds for String {
    fn held(&self) -> Held<'_> {
        Held::Text(self)
    }
}

impl Holds for Option<String> {
    fn held(&self) -> Held<'_> {
        self.as_deref().map_or(Held::Absent, Held::Text)
    }
}

impl Holds for i64 {
    fn held(&self) -> Held<'_> {
        Held::Integer(*self)
    }
}

impl Holds for Vec<String> {
    fn held(&self) -> Held<'_> {
        Held::Users(self)
    }
}

impl Holds for Vec<MessageElement> {
    fn held(&self) -> Held<'_> {
        Held::Items(self.len())
    }
}

impl Holds for Vec<WithdrawnMessage> {
    fn held(&self) -> Held<'_> {
        Held::Items(self.len())
    }
}

/// EventTimes up to this read as a date before 1973 in milliseconds: they are seconds.
const SECONDS_AS_MILLIS: i64 = 99_999_999_999;

/// 14 digits of milliseconds: past the year 2286.
const FAR_FUTURE_MILLIS: i64 = 10_000_000_000_000;

/// MsgTimes from this on are milliseconds, not seconds.
const MILLIS_AS_SECONDS: i64 = 99_999_999_999;

impl Wire {
    /// Whether a body may leave the field out.
    pub(crate) fn optional(self) -> bool {
        self == Wire::OptionalText
    }

    /// What is odd about `value`, the field `name` of a well-formed body: a warning for each
    /// rule it breaks.
    pub(crate) fn check(self, name: &'static str, value: Held<'_>, findings: &mut Findings) {
        match (self, value) {
            (Wire::OfficialAccount, Held::Text(account)) => {
                check_official_account(name, account, findings);
            }
            (Wire::UserId, Held::Text(user)) => check_user_id(user, || name.into(), findings),
            (Wire::Limited(max), Held::Text(text)) => check_length(name, text, max, findings),
            (Wire::Key, Held::Text("")) => findings.push(Finding::warning(
                "empty-msg-key",
                name,
                "is empty; Chat names every message by its key",
            )),
            (Wire::Flag, Held::Integer(flag)) if !matches!(flag, 0 | 1) => {
                findings.push(Finding::warning(
                    "online-only-flag",
                    name,
                    format!("is {flag}; Chat sends 1 (online subscribers only) or 0"),
                ));
            }
            (Wire::Seconds, Held::Integer(seconds)) => check_seconds(name, seconds, findings),
            (Wire::Millis, Held::Integer(millis)) => check_millis(name, millis, findings),
            (Wire::Subscribers, Held::Users(users)) => {
                subscriber_list::check_subscribers(name, users, findings);
            }
            (Wire::Messages, Held::Items(0)) => findings.push(Finding::warning(
                "empty-msg-body",
                name,
                "is empty; a message Chat sends has at least one element",
            )),
            (Wire::MsgKeys, Held::Items(0)) => findings.push(Finding::warning(
                "no-messages",
                name,
                "is empty; Chat calls back when messages are withdrawn, and names them",
            )),
            _ => {}
        }
    }

    /// The JSON Schema (2020-12) of what Chat sends in this field: its type, and every rule of
    /// [`check`](Self::check) that a schema can say. Byte limits are `maxLength`, which counts
    /// characters: the same for ASCII, looser for other text.
    pub(crate) fn schema(self, command: &str) -> Value {
        match self {
            Wire::Command => json!({
                "type": "string",
                "const": command,
                "description": "The command word, the same as the CallbackCommand query parameter.",
            }),
            Wire::OfficialAccount => json!({
                "type": "string",
                "pattern": format!("^{OFFICIAL_ACCOUNT_PREFIX}"),
                "maxLength": MAX_OFFICIAL_ACCOUNT_BYTES,
                "description": format!(
                    "The Official Account's ID. The IDs Chat makes start with `{OFFICIAL_ACCOUNT_PREFIX}`; custom IDs are printable ASCII, at most {MAX_OFFICIAL_ACCOUNT_BYTES} bytes."
                ),
            }),
            Wire::UserId => user_id_schema(),
            Wire::Limited(max) => json!({
                "type": "string",
                "maxLength": max,
                "description": format!(
                    "At most {max} bytes of UTF-8 (trtc.io/document/60813); maxLength counts characters, so it is the limit for ASCII and looser for other text."
                ),
            }),
            Wire::OptionalText => json!({"type": "string", "description": "May be left out."}),
            Wire::Key => {
                json!({"type": "string", "minLength": 1, "description": "The message's key, e.g. 71_1_1698741698."})
            }
            Wire::Flag => json!({
                "type": "integer",
                "enum": [0, 1],
                "description": "1: delivered to online subscribers only; 0: to all.",
            }),
            Wire::Seconds => json!({
                "type": "integer",
                "minimum": 1,
                "maximum": MILLIS_AS_SECONDS - 1,
                "description": "Unix time in seconds (10 digits), where EventTime is milliseconds.",
            }),
            Wire::Millis => json!({
                "type": "integer",
                "minimum": SECONDS_AS_MILLIS + 1,
                "maximum": FAR_FUTURE_MILLIS - 1,
                "description": "Unix time in milliseconds (13 digits today; needs 64 bits).",
            }),
            Wire::Subscribers => json!({
                "type": "array",
                "minItems": 1,
                "maxItems": crate::protocol::MAX_SUBSCRIBERS_PER_CALL,
                "uniqueItems": true,
                "items": list_item("Subscriber_Account", user_id_schema()),
                "description": format!(
                    "The users who subscribe or unsubscribe, each named once. The REST call that adds subscribers takes at most {} at once.",
                    crate::protocol::MAX_SUBSCRIBERS_PER_CALL
                ),
            }),
            Wire::Messages => json!({
                "type": "array",
                "minItems": 1,
                "items": MessageElement::schema(),
                "description": "The message's elements (TIMTextElem, TIMCustomElem, ...).",
            }),
            Wire::MsgKeys => json!({
                "type": "array",
                "minItems": 1,
                "items": list_item("MsgKey", json!({"type": "string"})),
                "description": "The withdrawn messages, by key.",
            }),
        }
    }
}

fn user_id_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_USER_ID_BYTES,
        "description": format!("A UserID, at most {MAX_USER_ID_BYTES} bytes."),
    })
}

/// An object of one field, as list items are on the wire.
fn list_item(key: &str, schema: Value) -> Value {
    json!({
        "type": "object",
        "properties": { key: schema },
        "required": [key],
        "additionalProperties": false,
    })
}

/// The documented limit of a text field, in bytes (trtc.io/document/60813).
fn check_length(field: &str, text: &str, max: usize, findings: &mut Findings) {
    if text.len() > max {
        findings.push(Finding::warning(
            "too-long",
            field,
            format!(
                "is {} bytes; Chat allows at most {max} (trtc.io/document/60813)",
                text.len()
            ),
        ));
    }
}

/// The rules for every Official Account ID in a body.
fn check_official_account(field: &str, account: &str, findings: &mut Findings) {
    if !account.starts_with(OFFICIAL_ACCOUNT_PREFIX) {
        findings.push(Finding::warning(
            "official-account-prefix",
            field,
            format!(
                "`{}` does not start with `{OFFICIAL_ACCOUNT_PREFIX}` as Chat's IDs do",
                excerpt(account.as_bytes(), 64)
            ),
        ));
    }
    if account.len() > MAX_OFFICIAL_ACCOUNT_BYTES {
        findings.push(Finding::warning(
            "long-official-account",
            field,
            format!(
                "is {} bytes; Chat's Official Account IDs are at most {MAX_OFFICIAL_ACCOUNT_BYTES}",
                account.len()
            ),
        ));
    }
}

/// The same rules for every UserID in a body. `path` is only formatted for a finding.
pub(super) fn check_user_id(user: &str, path: impl Fn() -> String, findings: &mut Findings) {
    if user.is_empty() {
        findings.push_with(Severity::Warning, || {
            Finding::warning(
                "empty-user-id",
                path(),
                "UserID is empty; every Chat user has one",
            )
        });
    } else if user.len() > MAX_USER_ID_BYTES {
        findings.push_with(Severity::Warning, || {
            Finding::warning(
                "long-user-id",
                path(),
                format!(
                    "UserID is {} bytes; Chat's UserIDs are at most {MAX_USER_ID_BYTES}",
                    user.len()
                ),
            )
        });
    }
}

/// The rules for every `EventTime`: milliseconds, in this era.
fn check_millis(field: &str, event_time: i64, findings: &mut Findings) {
    match event_time {
        ..=0 => findings.push(Finding::warning(
            "absurd-event-time",
            field,
            format!(
                "{event_time} is not a time Chat sends: EventTime is Unix time in milliseconds, e.g. 1670574414123"
            ),
        )),
        1..=SECONDS_AS_MILLIS => findings.push(Finding::warning(
            "event-time-seconds",
            field,
            format!("{event_time} looks like seconds; Chat sends milliseconds (13 digits)"),
        )),
        FAR_FUTURE_MILLIS.. => findings.push(Finding::warning(
            "absurd-event-time",
            field,
            format!(
                "{event_time} ms is after the year 2286; Chat sends milliseconds (13 digits), not micro- or nanoseconds"
            ),
        )),
        _ => {}
    }
}

/// `MsgTime` is seconds, where `EventTime` is milliseconds.
fn check_seconds(field: &str, msg_time: i64, findings: &mut Findings) {
    match msg_time {
        ..=0 => findings.push(Finding::warning(
            "absurd-msg-time",
            field,
            format!("{msg_time} is not a time Chat sends: MsgTime is Unix time in seconds"),
        )),
        MILLIS_AS_SECONDS.. => findings.push(Finding::warning(
            "msg-time-millis",
            field,
            format!("{msg_time} looks like milliseconds; MsgTime is seconds (10 digits)"),
        )),
        _ => {}
    }
}
