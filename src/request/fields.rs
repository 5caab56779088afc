//! The event options, each defined once: its flag (and so its `OA_HOOK_*` variable and its key
//! in `oa-hook.toml`), its key in a `[[scenario]]`, its help, and the body values it sets, in
//! the commands whose body carries them (their defaults are each command's seed). The command
//! line, the config file, scenarios and the body builder all read this table: a new body field
//! is one entry here, beside its place in the body type.

use crate::protocol::{Callback, EventValue, EventValues};
use std::fmt;

/// One event option.
#[derive(Debug)]
pub(crate) struct EventOption {
    /// The long flag without its dashes, `official-account`: with `_` for `-`, its id, its key
    /// in `oa-hook.toml`, and (in capitals, after `OA_HOOK_`) its variable.
    pub long: &'static str,
    /// Its key in a `[[scenario]]`.
    pub scenario_key: &'static str,
    pub value_name: &'static str,
    /// Its `--help`, default and all.
    pub help: &'static str,
    /// The body values it sets.
    pub sets: &'static [EventValue],
    /// Where in [`EventValues`] its value goes, and so what it holds.
    pub slot: Slot,
}

/// A place in [`EventValues`], by what it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    Text(fn(&mut EventValues) -> &mut String),
    /// A repeatable option: several values, in order.
    Texts(fn(&mut EventValues) -> &mut Vec<String>),
    /// `1` or `0`, read by the function beside it.
    Flag(fn(&mut EventValues) -> &mut bool, Parse<bool>),
    /// A whole number, which may be negative, read by the function beside it.
    Number(fn(&mut EventValues) -> &mut i64, Parse<i64>),
}

/// Reads a value as given, or says what is wrong with it and what to give (`is not a number;
/// give ...`), as the command line's value parsers do.
type Parse<T> = fn(&str) -> Result<T, String>;

/// A value given to an event option, as its [`Slot`] holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Given {
    Text(String),
    Texts(Vec<String>),
    Flag(bool),
    Number(i64),
}

impl PartialEq for EventOption {
    fn eq(&self, other: &Self) -> bool {
        self.long == other.long
    }
}

impl Eq for EventOption {}

impl EventOption {
    /// Its id on the command line, and its key in `oa-hook.toml`: `official_account`.
    pub(crate) fn id(&self) -> String {
        self.long.replace('-', "_")
    }

    /// Whether `callback`'s body has a field this option sets.
    pub(crate) fn applies_to(&self, callback: &Callback) -> bool {
        self.sets.iter().any(|value| callback.body.carries(*value))
    }

    /// Sets `values` to `given`; an empty list leaves the seed's.
    fn apply(&self, values: &mut EventValues, given: &Given) {
        match (self.slot, given) {
            (Slot::Text(slot), Given::Text(text)) => slot(values).clone_from(text),
            (Slot::Texts(slot), Given::Texts(list)) if !list.is_empty() => {
                slot(values).clone_from(list);
            }
            (Slot::Flag(slot, _), Given::Flag(on)) => *slot(values) = *on,
            (Slot::Number(slot, _), Given::Number(n)) => *slot(values) = *n,
            _ => {}
        }
    }

    /// Its value in `values`, as given on the command line: `jared, leckie`, `1`.
    fn shown(&self, values: &mut EventValues) -> String {
        match self.slot {
            Slot::Text(slot) => slot(values).clone(),
            Slot::Texts(slot) => slot(values).join(", "),
            Slot::Flag(slot, _) => u8::from(*slot(values)).to_string(),
            Slot::Number(slot, _) => slot(values).to_string(),
        }
    }
}

impl fmt::Display for EventOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--{}", self.long)
    }
}

/// The values given to event options, each with its option; an option not there takes the
/// seed's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventFields(Vec<(&'static EventOption, Given)>);

impl EventFields {
    pub(crate) fn new(given: Vec<(&'static EventOption, Given)>) -> Self {
        EventFields(given)
    }

    /// These values, with `option` set to `given`.
    pub(crate) fn with(mut self, option: &'static EventOption, given: Given) -> Self {
        self.0.retain(|(set, _)| *set != option);
        self.0.push((option, given));
        self
    }

    /// These values, with those of `over` in their place.
    pub(crate) fn overlaid(&self, over: &EventFields) -> Self {
        over.0.iter().fold(self.clone(), |fields, (option, given)| {
            fields.with(option, given.clone())
        })
    }

    /// The options given a value.
    pub(crate) fn options(&self) -> impl Iterator<Item = &'static EventOption> + '_ {
        self.0.iter().map(|(option, _)| *option)
    }

    /// The value given to `option`, if any.
    pub(crate) fn get(&self, option: &EventOption) -> Option<&Given> {
        self.0
            .iter()
            .find(|(set, _)| *set == option)
            .map(|(_, given)| given)
    }

    /// `values` with these in place of the seed's.
    pub(crate) fn apply(&self, values: &mut EventValues) {
        for (option, given) in &self.0 {
            option.apply(values, given);
        }
    }
}

/// The event options `callback`'s body takes, each as `--flag value` with its value in
/// `values`.
pub(crate) fn shown(callback: &Callback, values: &EventValues) -> Vec<String> {
    let mut values = values.clone();
    applying_to(callback)
        .map(|option| format!("{option} {}", option.shown(&mut values)))
        .collect()
}

/// The event options `callback`'s body takes.
pub(crate) fn applying_to(callback: &Callback) -> impl Iterator<Item = &'static EventOption> {
    EVENT_OPTIONS
        .iter()
        .filter(|option| option.applies_to(callback))
}

/// `--subscriber`: the suite sends a batch of its own.
pub(crate) const SUBSCRIBER: &EventOption = &EVENT_OPTIONS[2];

/// `--msg-key`: once for a body that carries one.
pub(crate) const MSG_KEY: &EventOption = &EVENT_OPTIONS[11];

/// Every event option, in the order of `--help`.
pub(crate) const EVENT_OPTIONS: &[EventOption] = &[
    EventOption {
        long: "official-account",
        scenario_key: "official_account",
        value_name: "ID",
        help: "The Official Account's ID [default: Tencent's sample's: @TOA#_test_for_penn for before-subscribe, @TOA#_test_OA_for_penn for after-unsubscribe]",
        sets: &[EventValue::OfficialAccount],
        slot: Slot::Text(|v| &mut v.official_account),
    },
    EventOption {
        long: "operator",
        scenario_key: "operator",
        value_name: "USER",
        help: "The UserID who made the change [default: Tencent's sample's: 107867 for before-subscribe, leckie for after-unsubscribe]",
        sets: &[EventValue::Operator],
        slot: Slot::Text(|v| &mut v.operator_account),
    },
    EventOption {
        long: "subscriber",
        scenario_key: "subscribers",
        value_name: "USER",
        help: "A subscriber's UserID; repeat for several [default: jared, leckie]",
        sets: &[EventValue::Subscribers],
        slot: Slot::Texts(|v| &mut v.subscribers),
    },
    EventOption {
        long: "owner",
        scenario_key: "owner",
        value_name: "USER",
        help: "The owner's UserID, for before-create, after-create and after-destroy [default: Tencent's sample's: 107867]",
        sets: &[EventValue::Owner],
        slot: Slot::Text(|v| &mut v.owner_account),
    },
    EventOption {
        long: "name",
        // `name` names the scenario.
        scenario_key: "account_name",
        value_name: "TEXT",
        help: "The Official Account's name, at most 150 bytes [default: Tencent's sample's: TestOfficialAccount, NewName for after-info-change]",
        sets: &[EventValue::Name],
        slot: Slot::Text(|v| &mut v.name),
    },
    EventOption {
        long: "introduction",
        scenario_key: "introduction",
        value_name: "TEXT",
        help: "The new introduction, for after-info-change, at most 400 bytes [default: NewNotification]",
        sets: &[EventValue::Introduction],
        slot: Slot::Text(|v| &mut v.introduction),
    },
    EventOption {
        long: "face-url",
        scenario_key: "face_url",
        value_name: "URL",
        help: "The new avatar URL, for after-info-change, at most 500 bytes [default: http://this.is.newface.url]",
        sets: &[EventValue::FaceUrl],
        slot: Slot::Text(|v| &mut v.face_url),
    },
    EventOption {
        long: "organization",
        scenario_key: "organization",
        value_name: "TEXT",
        help: "The new organization, for after-info-change, at most 500 bytes [default: NewOrganization]",
        sets: &[EventValue::Organization],
        slot: Slot::Text(|v| &mut v.organization),
    },
    EventOption {
        long: "text",
        scenario_key: "text",
        value_name: "TEXT",
        help: "A text element (TIMTextElem) of the message, for before-send and after-send; repeat for several [default: red packet]",
        sets: &[EventValue::Texts],
        slot: Slot::Texts(|v| &mut v.texts),
    },
    EventOption {
        long: "cloud-custom-data",
        scenario_key: "cloud_custom_data",
        value_name: "TEXT",
        help: "The message's CloudCustomData, for before-send and after-send [default: your cloud custom data]",
        sets: &[EventValue::CloudCustomData],
        slot: Slot::Text(|v| &mut v.cloud_custom_data),
    },
    EventOption {
        long: "online-only",
        scenario_key: "online_only",
        value_name: "0|1",
        help: "OnlineOnlyFlag: 1 delivers to online subscribers only, 0 to all; for before-send and after-send [default: 1]",
        sets: &[EventValue::OnlineOnly],
        slot: Slot::Flag(|v| &mut v.online_only, parse_online_only),
    },
    EventOption {
        long: "msg-key",
        scenario_key: "msg_key",
        value_name: "KEY",
        help: "A message's MsgKey: the sent one for after-send, a withdrawn one for after-withdraw (repeat for several) [default: 71_1_1698741698]",
        sets: &[EventValue::MsgKey, EventValue::WithdrawnMsgKeys],
        slot: Slot::Texts(|v| &mut v.msg_keys),
    },
    EventOption {
        long: "msg-time",
        scenario_key: "msg_time",
        value_name: "SECS",
        help: "MsgTime in Unix seconds, for after-send [default: Tencent's sample's: 1490686222]",
        sets: &[EventValue::MsgTime],
        slot: Slot::Number(|v| &mut v.msg_time, parse_msg_time),
    },
];

fn parse_online_only(s: &str) -> Result<bool, String> {
    match s {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err("is neither 1 nor 0; give 1 (online subscribers only) or 0 (all)".to_owned()),
    }
}

fn parse_msg_time(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| {
        "is not a whole number of seconds; give a Unix time in seconds, e.g. 1490686222".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_options_are_the_ones_they_name() {
        assert_eq!(SUBSCRIBER.long, "subscriber");
        assert_eq!(MSG_KEY.long, "msg-key");
    }
}
