//! A body's fields read one by one: each with the type its shape holds, a finding for each one
//! missing or of another type.

use super::{Field, Wire, message};
use crate::protocol::command::Callback;
use crate::protocol::finding::{Finding, Findings, Severity, missing, wrong_type};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Reads `fields` by what each holds, a finding for each that is missing or of the wrong type,
/// then the shape's type from them. Keys inside list items that are not the shape's are left
/// out, as the subscriber list's reader leaves them.
pub(super) fn read_fields<T: DeserializeOwned>(
    callback: &Callback,
    fields: &[Field],
    object: &Map<String, Value>,
    findings: &mut Findings,
) -> Option<T> {
    let mut read = Map::with_capacity(fields.len());
    let mut complete = true;
    for &Field(name, wire) in fields {
        let value = match wire {
            Wire::Command => Some(Value::from(callback.command)),
            _ if wire.optional() && !object.contains_key(name) => continue,
            Wire::OfficialAccount
            | Wire::UserId
            | Wire::Limited(_)
            | Wire::OptionalText
            | Wire::Key => string_field(object, name, findings).map(Value::from),
            Wire::Flag | Wire::Seconds => {
                integer_field(object, name, "an integer", findings).map(Value::from)
            }
            Wire::Millis => event_time(object, findings).map(Value::from),
            Wire::Subscribers => keyed_strings(object, name, "Subscriber_Account", findings),
            Wire::Messages => message::messages(object, findings),
            Wire::MsgKeys => keyed_strings(object, name, "MsgKey", findings),
        };
        match value {
            Some(value) => {
                read.insert(name.to_owned(), value);
            }
            None => complete = false,
        }
    }
    if !complete {
        return None;
    }
    serde_json::from_value(Value::Object(read))
        .map_err(|e| {
            findings.push(Finding::error(
                "bad-body",
                "body",
                format!("the body does not read as {} ({e})", callback.command),
            ));
        })
        .ok()
}

/// An integer field; `what` says which kind of integer, for a finding.
pub(crate) fn integer_field(
    object: &Map<String, Value>,
    field: &str,
    what: &str,
    findings: &mut Findings,
) -> Option<i64> {
    match object.get(field) {
        None => {
            findings.push(missing(field, what));
            None
        }
        Some(v) => {
            let n = v.as_i64();
            if n.is_none() {
                findings.push(wrong_type(field, v, what));
            }
            n
        }
    }
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
    integer_field(object, "EventTime", "an integer (milliseconds)", findings)
}

/// A list of objects, each read by `read` (given its path), every item's problems found.
pub(crate) fn list(
    object: &Map<String, Value>,
    field: &str,
    findings: &mut Findings,
    read: impl Fn(&Map<String, Value>, &str, &mut Findings) -> Option<Value>,
) -> Option<Vec<Value>> {
    let items = match object.get(field) {
        None => {
            let example = match field {
                "SubscribeAccountList" => "an array of {\"Subscriber_Account\": ...}",
                _ => "an array of objects",
            };
            findings.push(missing(field, example));
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(v) => {
            findings.push(wrong_type(field, v, "an array"));
            return None;
        }
    };
    let mut read_items = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        match item.as_object() {
            Some(entry) => read_items.push(read(entry, &path, findings)),
            None => {
                findings.push_with(Severity::Error, || wrong_type(&path, item, "an object"));
                read_items.push(None);
            }
        }
    }
    read_items.into_iter().collect()
}

/// A list of objects that each hold the string `key` (`SubscribeAccountList`,
/// `WithdrawMsgList`), as read: each entry's `key` alone.
fn keyed_strings(
    object: &Map<String, Value>,
    field: &str,
    key: &str,
    findings: &mut Findings,
) -> Option<Value> {
    let entries = list(object, field, findings, |item, path, findings| {
        let value = item_field(item, key, path, findings, Value::is_string, "a string")?;
        Some(Value::Object(Map::from_iter([(key.to_owned(), value)])))
    });
    entries.map(Value::Array)
}

/// A field of a list item that must be `is` (`what`, for a finding).
pub(crate) fn item_field(
    item: &Map<String, Value>,
    field: &str,
    path: &str,
    findings: &mut Findings,
    is: fn(&Value) -> bool,
    what: &str,
) -> Option<Value> {
    let path = || format!("{path}.{field}");
    match item.get(field) {
        Some(value) if is(value) => Some(value.clone()),
        Some(value) => {
            findings.push_with(Severity::Error, || wrong_type(&path(), value, what));
            None
        }
        None => {
            findings.push_with(Severity::Error, || missing(&path(), what));
            None
        }
    }
}
