//! The JSON body of a callback: the shapes a body can have, what every shape shares, and the
//! readers that go to a command's shape. A shape is one type implementing [`EventShape`] (see
//! `subscriber_list.rs`, `account.rs`, `message.rs`), a line of [`received_events!`], and
//! `BodyShape::of` in the commands that carry it. Fields are read one by one in `fields.rs`.

/// A shape's type from its fields in the order of Tencent's sample, each with its wire name,
/// its Rust name and type, and what it holds ([`Wire`]): the struct, read strictly (no field
/// more or less), its [`Field`]s as `FIELDS`, so that each wire name is written once, and its
/// oddities, each field held to the rule of what it holds.
macro_rules! shape {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($(#[$field_meta:meta])* $wire:literal $field:ident: $ty:ty = $kind:ident $(($arg:expr))?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$field_meta])* #[serde(rename = $wire)] pub $field: $ty),+
        }

        impl $crate::protocol::event::Wired for $name {
            const FIELDS: &'static [$crate::protocol::event::Field] = &[$(
                $crate::protocol::event::Field($wire, $crate::protocol::event::Wire::$kind $(($arg))?)
            ),+];

            fn command(&self) -> &str {
                &self.callback_command
            }

            fn oddities(&self, findings: &mut $crate::protocol::finding::Findings) {
                $($crate::protocol::event::Wire::$kind $(($arg))?.check(
                    $wire,
                    $crate::protocol::event::Holds::held(&self.$field),
                    findings,
                );)+
            }
        }
    };
}

mod account;
mod fields;
mod message;
mod subscriber_list;
mod wire;

pub use account::{
    AccountFullEvent, BeforeCreateEvent, CreatedEvent, DestroyedEvent, InfoChangedEvent,
};
pub(crate) use fields::{item_field, list};
pub use message::{MessageElement, MessageEvent, SentMessageEvent, WithdrawEvent};
pub use subscriber_list::{SubscriberEvent, subscribers_in};
pub(crate) use wire::{Field, Holds, Wire};

use super::command::Callback;
use super::finding::{Finding, Findings, Severity, excerpt, json_type};
use super::json::duplicate_keys;
use fields::{read_fields, string_field};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;

/// What a body is built from: the command line's values over the table's seed. A shape takes
/// the values of its own fields and leaves the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventValues {
    pub official_account: String,
    pub operator_account: String,
    pub owner_account: String,
    pub name: String,
    pub introduction: String,
    pub face_url: String,
    pub organization: String,
    pub subscribers: Vec<String>,
    /// The text of each `TIMTextElem` of `MsgBody`.
    pub texts: Vec<String>,
    pub cloud_custom_data: String,
    pub online_only: bool,
    pub msg_keys: Vec<String>,
    /// Seconds since the Unix epoch.
    pub msg_time: i64,
    /// Milliseconds since the Unix epoch.
    pub event_time: i64,
}

impl EventValues {
    /// The values of Tencent's sample for `callback`, at `event_time`.
    pub fn seed(callback: &Callback, event_time: i64) -> Self {
        let seed = &callback.seed;
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        EventValues {
            official_account: seed.official_account.to_owned(),
            operator_account: seed.operator_account.to_owned(),
            owner_account: seed.owner_account.to_owned(),
            name: seed.name.to_owned(),
            introduction: seed.introduction.to_owned(),
            face_url: seed.face_url.to_owned(),
            organization: seed.organization.to_owned(),
            subscribers: owned(seed.subscribers),
            texts: owned(seed.texts),
            cloud_custom_data: seed.cloud_custom_data.to_owned(),
            online_only: seed.online_only,
            msg_keys: owned(seed.msg_keys),
            msg_time: seed.msg_time,
            event_time,
        }
    }
}

/// A value the command line can set in a body, for the commands whose body carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventValue {
    OfficialAccount,
    Operator,
    Owner,
    Name,
    Introduction,
    FaceUrl,
    Organization,
    Subscribers,
    Texts,
    CloudCustomData,
    OnlineOnly,
    /// The one `MsgKey` of a sent message.
    MsgKey,
    /// The keys of the withdrawn messages.
    WithdrawnMsgKeys,
    MsgTime,
}

impl EventValue {
    const ALL: &[EventValue] = &[
        EventValue::OfficialAccount,
        EventValue::Operator,
        EventValue::Owner,
        EventValue::Name,
        EventValue::Introduction,
        EventValue::FaceUrl,
        EventValue::Organization,
        EventValue::Subscribers,
        EventValue::Texts,
        EventValue::CloudCustomData,
        EventValue::OnlineOnly,
        EventValue::MsgKey,
        EventValue::WithdrawnMsgKeys,
        EventValue::MsgTime,
    ];

    /// Its field's value in a body built from `values`.
    fn value(self, values: &EventValues) -> Value {
        let objects = |key: &str, items: &[String]| {
            let object = |item: &String| {
                let mut object = Map::new();
                object.insert(key.to_owned(), Value::from(item.as_str()));
                Value::Object(object)
            };
            Value::Array(items.iter().map(object).collect())
        };
        match self {
            EventValue::OfficialAccount => Value::from(values.official_account.as_str()),
            EventValue::Operator => Value::from(values.operator_account.as_str()),
            EventValue::Owner => Value::from(values.owner_account.as_str()),
            EventValue::Name => Value::from(values.name.as_str()),
            EventValue::Introduction => Value::from(values.introduction.as_str()),
            EventValue::FaceUrl => Value::from(values.face_url.as_str()),
            EventValue::Organization => Value::from(values.organization.as_str()),
            EventValue::Subscribers => objects("Subscriber_Account", &values.subscribers),
            EventValue::Texts => values
                .texts
                .iter()
                .map(|text| serde_json::to_value(MessageElement::text(text)).unwrap_or_default())
                .collect(),
            EventValue::CloudCustomData => Value::from(values.cloud_custom_data.as_str()),
            EventValue::OnlineOnly => Value::from(i64::from(values.online_only)),
            EventValue::MsgKey => Value::from(values.msg_keys.first().map_or("", String::as_str)),
            EventValue::WithdrawnMsgKeys => objects("MsgKey", &values.msg_keys),
            EventValue::MsgTime => Value::from(values.msg_time),
        }
    }

    /// The body field that holds it.
    fn field(self) -> &'static str {
        match self {
            EventValue::OfficialAccount => "Official_Account",
            EventValue::Operator => "Operator_Account",
            EventValue::Owner => "Owner_Account",
            EventValue::Name => "Name",
            EventValue::Introduction => "Introduction",
            EventValue::FaceUrl => "FaceUrl",
            EventValue::Organization => "Organization",
            EventValue::Subscribers => "SubscribeAccountList",
            EventValue::Texts => "MsgBody",
            EventValue::CloudCustomData => "CloudCustomData",
            EventValue::OnlineOnly => "OnlineOnlyFlag",
            EventValue::MsgKey => "MsgKey",
            EventValue::WithdrawnMsgKeys => "WithdrawMsgList",
            EventValue::MsgTime => "MsgTime",
        }
    }
}

/// Reads a text field exactly: a string when the field is there (with
/// `#[serde(default)]` for a field left out). serde would take `null` for a field left out,
/// where the field by field reader refuses it as a wrong type: the two readers would judge one
/// body two ways, by whether it also had a field unknown to the exact one.
pub(crate) fn optional_text<'de, D: serde::Deserializer<'de>>(
    text: D,
) -> Result<Option<String>, D::Error> {
    <String as serde::Deserialize>::deserialize(text).map(Some)
}

/// What every event tells, whatever its shape.
pub(crate) trait Event {
    /// The users the event names as subscribers; none when its shape has no such list.
    fn subscribers(&self) -> &[String] {
        &[]
    }

    /// The user who acted (`Operator_Account`), when its shape names one.
    fn operator(&self) -> Option<&str> {
        None
    }
}

/// One shape of body, as the type it is read into. Reading exactly is serde's derived reader,
/// which must refuse unknown fields (`deny_unknown_fields`): anything it takes is the shape.
pub(crate) trait EventShape:
    Event + Wired + Serialize + DeserializeOwned + Into<ReceivedEvent>
{
    /// Reads every field but `CallbackCommand` (read already, and `callback`'s when the body is
    /// right), a finding for each that is missing or of the wrong type. By default each field
    /// is read by what [`FIELDS`](Self::FIELDS) says it holds.
    fn read(
        callback: &Callback,
        object: &Map<String, Value>,
        findings: &mut Findings,
    ) -> Option<Self> {
        read_fields(callback, Self::FIELDS, object, findings)
    }
}

/// A shape's fields on the wire and its command word.
pub(crate) trait Wired {
    /// Its fields, in the order of Tencent's samples; any other is an unknown field.
    const FIELDS: &'static [Field];

    /// Its `CallbackCommand` word.
    fn command(&self) -> &str;

    /// What is odd about a well-formed body: answerable, but not what Chat sends.
    fn oddities(&self, findings: &mut Findings);
}

/// The shape of body a command carries, as the command table names it: the functions of one
/// `EventShape` type, so that no code elsewhere matches on shapes.
#[derive(Clone, Copy)]
pub struct BodyShape {
    fields: &'static [Field],
    build: fn(&Callback, &EventValues) -> Value,
    read_exact: fn(&Callback, &[u8], &mut Findings) -> Option<ReceivedEvent>,
    read: fn(&Callback, &Value, &mut Findings) -> Option<ReceivedEvent>,
}

impl BodyShape {
    pub(crate) const fn of<T: EventShape>() -> Self {
        BodyShape {
            fields: T::FIELDS,
            build: build::<T>,
            read_exact: read_exact::<T>,
            read: read::<T>,
        }
    }
}

/// Two shapes are the same when they have the same fields.
impl PartialEq for BodyShape {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields
    }
}

impl Eq for BodyShape {}

impl fmt::Debug for BodyShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyShape")
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl BodyShape {
    /// Its fields, in the order of Tencent's samples.
    pub(crate) fn fields(&self) -> &'static [Field] {
        self.fields
    }

    /// Whether a body of this shape carries `value`.
    pub fn carries(&self, value: EventValue) -> bool {
        self.fields.iter().any(|field| field.0 == value.field())
    }
}

/// [`ReceivedEvent`], one variant per shape, each shape's type turned into it, and the
/// accessors every shape answers.
macro_rules! received_events {
    ($($variant:ident($shape:ty)),+ $(,)?) => {
        /// A received body that has the shape of its command's, as that shape's type.
        /// Serializes as the body it was read from, field for field (for records).
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum ReceivedEvent {
            $($variant($shape)),+
        }

        $(impl From<$shape> for ReceivedEvent {
            fn from(event: $shape) -> Self {
                ReceivedEvent::$variant(event)
            }
        })+

        impl ReceivedEvent {
            fn event(&self) -> &dyn Event {
                match self {
                    $(ReceivedEvent::$variant(event) => event),+
                }
            }
        }
    };
}

received_events! {
    SubscriberList(SubscriberEvent),
    BeforeCreate(BeforeCreateEvent),
    Created(CreatedEvent),
    InfoChanged(InfoChangedEvent),
    Destroyed(DestroyedEvent),
    AccountFull(AccountFullEvent),
    Message(MessageEvent),
    SentMessage(SentMessageEvent),
    Withdraw(WithdrawEvent),
}

impl ReceivedEvent {
    /// The users the event names as subscribers; none when its shape has no such list.
    pub fn subscribers(&self) -> &[String] {
        self.event().subscribers()
    }

    /// The user who acted (`Operator_Account`), when its shape names one.
    pub fn operator(&self) -> Option<&str> {
        self.event().operator()
    }
}

/// The body `callback` carries for the given values (those of its own fields).
pub fn build_body(callback: &Callback, values: &EventValues) -> Value {
    (callback.body.build)(callback, values)
}

/// Reads a body of exactly `callback`'s documented shape and types straight into its type,
/// without building a JSON tree: the common case, and cheap. `None` for anything else (unknown
/// fields, wrong types, a repeated key, another command, not JSON), which [`read_event`] then
/// explains.
pub fn read_exact_event(callback: &Callback, body: &[u8]) -> Option<(ReceivedEvent, Vec<Finding>)> {
    let mut findings = Findings::default();
    let event = (callback.body.read_exact)(callback, body, &mut findings)?;
    Some((event, findings.into_vec()))
}

/// Checks a received body against `callback`'s shape: `body` is its JSON tree, `raw` the text
/// it was read from (for what the tree no longer shows: a repeated key). Errors mean Chat would
/// never send it; warnings are odd but answerable. Returns the event when there are no errors.
/// At most [`MAX_FINDINGS`](super::MAX_FINDINGS) findings and one saying how many more.
pub fn read_event(
    callback: &Callback,
    body: &Value,
    raw: &[u8],
) -> (Option<ReceivedEvent>, Vec<Finding>) {
    let mut findings = Findings::default();
    let event = (callback.body.read)(callback, body, &mut findings);
    findings.extend(duplicate_keys(raw));
    (event, findings.into_vec())
}

/// What Chat would make of a body oa-hook is about to send (a built one, or `--body`): errors
/// where Chat would never send such a body, warnings where it is odd (the same ones `serve`
/// shows for what it receives). `raw` is the body byte for byte as sent. Capped like
/// [`read_event`]'s.
pub fn request_oddities(callback: &Callback, body: &Value, raw: &[u8]) -> Vec<Finding> {
    read_event(callback, body, raw).1
}

/// The body of `T`'s fields, each with its value among `values`.
fn build<T: EventShape>(callback: &Callback, values: &EventValues) -> Value {
    let body = T::FIELDS.iter().map(|&Field(name, _)| {
        let value = match name {
            "CallbackCommand" => Value::from(callback.command),
            "EventTime" => Value::from(values.event_time),
            _ => EventValue::ALL
                .iter()
                .find(|v| v.field() == name)
                .map_or(Value::Null, |v| v.value(values)),
        };
        (name.to_owned(), value)
    });
    Value::Object(body.collect())
}

fn read_exact<T: EventShape>(
    callback: &Callback,
    body: &[u8],
    findings: &mut Findings,
) -> Option<ReceivedEvent> {
    // The derived reader refuses a repeated field, so an exact body has no duplicate key to
    // look for. The text is checked to be UTF-8 once, not string by string.
    let event: T = serde_json::from_str(std::str::from_utf8(body).ok()?).ok()?;
    if event.command() != callback.command {
        return None;
    }
    event.oddities(findings);
    Some(event.into())
}

fn read<T: EventShape>(
    callback: &Callback,
    body: &Value,
    findings: &mut Findings,
) -> Option<ReceivedEvent> {
    let Some(object) = body.as_object() else {
        findings.push(Finding::error(
            "not-object",
            "body",
            format!("the body is {}, not a JSON object", json_type(body)),
        ));
        return None;
    };
    let command = string_field(object, "CallbackCommand", findings);
    if let Some(command) = &command
        && command != callback.command
    {
        findings.push(Finding::error(
            "command-mismatch",
            "CallbackCommand",
            format!(
                "the body says `{}` but the query says `{}`",
                excerpt(command.as_bytes(), 100),
                callback.command
            ),
        ));
    }
    let event = T::read(callback, object, findings).filter(|_| !findings.has_errors());
    if let Some(event) = &event {
        event.oddities(findings);
    }
    for key in object.keys() {
        if !T::FIELDS.iter().any(|field| field.0 == key) {
            findings.push_with(Severity::Warning, || {
                let key = excerpt(key.as_bytes(), 64);
                Finding::warning(
                    "unknown-field",
                    key.as_str(),
                    format!("`{key}` is not a field of {}", callback.command),
                )
            });
        }
    }
    event.map(Into::into)
}
