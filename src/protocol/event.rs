//! The JSON body of a callback: the shapes a body can have, what every shape shares, and the
//! readers that go to a command's shape. A shape is one type implementing [`EventShape`] (see
//! `subscriber_list.rs`), a variant of [`ReceivedEvent`], and `BodyShape::of` in the commands
//! that carry it.

mod subscriber_list;

pub use subscriber_list::{SubscriberEvent, subscribers_in};

use super::command::Callback;
use super::finding::{Finding, Findings, Severity, excerpt, json_type, missing, wrong_type};
use super::json::duplicate_keys;
use super::{MAX_OFFICIAL_ACCOUNT_BYTES, MAX_USER_ID_BYTES, OFFICIAL_ACCOUNT_PREFIX};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;

/// What a body is built from: the command line's values, else the table's seed.
pub(crate) struct BodyValues<'a> {
    pub official_account: &'a str,
    pub operator_account: &'a str,
    pub subscribers: &'a [String],
    pub event_time: i64,
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
    Event + Serialize + DeserializeOwned + Into<ReceivedEvent>
{
    /// Its fields, in the order of Tencent's samples; any other is an unknown field.
    const FIELDS: &'static [&'static str];

    /// The body `callback` carries for `values`.
    fn build(callback: &Callback, values: &BodyValues<'_>) -> Self;

    /// Its `CallbackCommand` word.
    fn command(&self) -> &str;

    /// Reads every field but `CallbackCommand` (read already, and `callback`'s when the body is
    /// right), a finding for each that is missing or of the wrong type.
    fn read(
        callback: &Callback,
        object: &Map<String, Value>,
        findings: &mut Findings,
    ) -> Option<Self>;

    /// What is odd about a well-formed body: answerable, but not what Chat sends.
    fn oddities(&self, findings: &mut Findings);
}

/// The shape of body a command carries, as the command table names it: the functions of one
/// `EventShape` type, so that no code elsewhere matches on shapes.
#[derive(Clone, Copy)]
pub struct BodyShape {
    fields: &'static [&'static str],
    build: fn(&Callback, &BodyValues<'_>) -> Value,
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

/// A received body that has the shape of its command's, as that shape's type. Serializes as
/// the body it was read from, field for field (for records).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReceivedEvent {
    SubscriberList(SubscriberEvent),
}

impl ReceivedEvent {
    fn event(&self) -> &dyn Event {
        match self {
            ReceivedEvent::SubscriberList(event) => event,
        }
    }

    /// The users the event names as subscribers; none when its shape has no such list.
    pub fn subscribers(&self) -> &[String] {
        self.event().subscribers()
    }

    /// The user who acted (`Operator_Account`), when its shape names one.
    pub fn operator(&self) -> Option<&str> {
        self.event().operator()
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
    let values = BodyValues {
        official_account,
        operator_account,
        subscribers,
        event_time,
    };
    (callback.body.build)(callback, &values)
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

fn build<T: EventShape>(callback: &Callback, values: &BodyValues<'_>) -> Value {
    serde_json::to_value(T::build(callback, values)).unwrap_or_default()
}

fn read_exact<T: EventShape>(
    callback: &Callback,
    body: &[u8],
    findings: &mut Findings,
) -> Option<ReceivedEvent> {
    // The derived reader refuses a repeated field, so an exact body has no duplicate key to
    // look for.
    let event: T = serde_json::from_slice(body).ok()?;
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
        if !T::FIELDS.contains(&key.as_str()) {
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

pub(crate) fn string_field(
    object: &Map<String, Value>,
    field: &str,
    findings: &mut Findings,
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

/// `EventTime`, an integer of milliseconds.
pub(crate) fn event_time(object: &Map<String, Value>, findings: &mut Findings) -> Option<i64> {
    match object.get("EventTime") {
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
    }
}

/// The rules for every Official Account ID in a body.
pub(crate) fn check_official_account(account: &str, findings: &mut Findings) {
    if !account.starts_with(OFFICIAL_ACCOUNT_PREFIX) {
        findings.push(Finding::warning(
            "official-account-prefix",
            "Official_Account",
            format!(
                "`{}` does not start with `{OFFICIAL_ACCOUNT_PREFIX}` as Chat's IDs do",
                excerpt(account.as_bytes(), 64)
            ),
        ));
    }
    if account.len() > MAX_OFFICIAL_ACCOUNT_BYTES {
        findings.push(Finding::warning(
            "long-official-account",
            "Official_Account",
            format!(
                "is {} bytes; Chat's Official Account IDs are at most {MAX_OFFICIAL_ACCOUNT_BYTES}",
                account.len()
            ),
        ));
    }
}

/// The same rules for every UserID in a body. `path` is only formatted for a finding.
pub(crate) fn check_user_id(user: &str, path: impl Fn() -> String, findings: &mut Findings) {
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
pub(crate) fn check_event_time(event_time: i64, findings: &mut Findings) {
    match event_time {
        ..=0 => findings.push(Finding::warning(
            "absurd-event-time",
            "EventTime",
            format!(
                "{} is not a time Chat sends: EventTime is Unix time in milliseconds, e.g. 1670574414123",
                event_time
            ),
        )),
        1..=SECONDS_AS_MILLIS => findings.push(Finding::warning(
            "event-time-seconds",
            "EventTime",
            format!(
                "{} looks like seconds; Chat sends milliseconds (13 digits)",
                event_time
            ),
        )),
        FAR_FUTURE_MILLIS.. => findings.push(Finding::warning(
            "absurd-event-time",
            "EventTime",
            format!(
                "{} ms is after the year 2286; Chat sends milliseconds (13 digits), not micro- or nanoseconds",
                event_time
            ),
        )),
        _ => {}
    }
}

/// EventTimes up to this read as a date before 1973 in milliseconds: they are seconds.
const SECONDS_AS_MILLIS: i64 = 99_999_999_999;

/// 14 digits of milliseconds: past the year 2286.
const FAR_FUTURE_MILLIS: i64 = 10_000_000_000_000;
