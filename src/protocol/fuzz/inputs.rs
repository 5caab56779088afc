//! What the properties are tried on: callbacks, bodies, answers, queries and receivers near
//! Chat's, and mutations of them.

use super::NOW;
use crate::protocol::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::time::Duration;

const FIELDS: &[&str] = &[
    "CallbackCommand",
    "Official_Account",
    "Operator_Account",
    "SubscribeAccountList",
    "Subscriber_Account",
    "EventTime",
    "ActionStatus",
    "ErrorCode",
    "ErrorInfo",
    "RefusedSubscribers_Account",
    "RefusedMembers_Account",
    "Owner_Account",
    "Name",
    "Introduction",
    "FaceUrl",
    "Organization",
    "OnlineOnlyFlag",
    "MsgBody",
    "MsgType",
    "MsgContent",
    "CloudCustomData",
    "MsgKey",
    "MsgTime",
    "WithdrawMsgList",
];

pub(super) fn callback() -> impl Strategy<Value = &'static Callback> {
    (0..CALLBACKS.len()).prop_map(|i| &CALLBACKS[i])
}

/// UserIDs that often coincide (so refusals and repeats happen), are empty, or are long.
pub(super) fn user() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(vec!["jared", "leckie", "107867", ""]).prop_map(str::to_owned),
        4 => "[a-c]{1,2}",
        1 => ".{0,40}",
    ]
    .boxed()
}

/// Object keys: mostly the protocol's, so the readers get past their first check.
pub(super) fn key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(FIELDS).prop_map(str::to_owned),
        1 => select(vec!["a", "b"]).prop_map(str::to_owned),
        1 => ".{0,8}",
    ]
    .boxed()
}

pub(super) fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        select(vec![0_i64, 1, 2, -1, 1_670_574_414_123, 1_670_574_414]).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(vec!["OK", "FAIL", "ok", "0", "1"]).prop_map(Value::from),
        callback().prop_map(|c| Value::from(c.command)),
        user().prop_map(Value::from),
    ]
    .boxed()
}

/// A JSON document as text, keys possibly repeated (which a `Value` cannot hold).
#[derive(Clone, Debug)]
pub(super) enum Doc {
    Leaf(Value),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
}

impl Doc {
    pub(super) fn text(&self) -> String {
        match self {
            Doc::Leaf(value) => value.to_string(),
            Doc::Array(items) => {
                let items: Vec<String> = items.iter().map(Doc::text).collect();
                format!("[{}]", items.join(","))
            }
            Doc::Object(members) => {
                let members: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v.text()))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
        }
    }

    /// Whether some object, at any depth, names a key twice.
    pub(super) fn has_repeats(&self) -> bool {
        match self {
            Doc::Leaf(_) => false,
            Doc::Array(items) => items.iter().any(Doc::has_repeats),
            Doc::Object(members) => {
                let mut keys = HashSet::new();
                members.iter().any(|(k, _)| !keys.insert(k))
                    || members.iter().any(|(_, v)| v.has_repeats())
            }
        }
    }
}

pub(super) fn doc() -> impl Strategy<Value = Doc> {
    leaf()
        .prop_map(Doc::Leaf)
        .prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Doc::Array),
                vec((key(), inner), 0..6).prop_map(Doc::Object),
            ]
        })
}

/// Values for any shape's body, of the right types.
pub(super) fn values() -> impl Strategy<Value = EventValues> {
    (
        (user(), user(), user(), vec(user(), 0..120), any::<i64>()),
        (user(), user(), vec(user(), 0..4), any::<bool>()),
        (vec(user(), 0..4), any::<i64>(), ".{0,160}"),
    )
        .prop_map(
            |(
                (official_account, operator_account, owner_account, subscribers, event_time),
                (name, cloud_custom_data, texts, online_only),
                (msg_keys, msg_time, introduction),
            )| EventValues {
                official_account,
                operator_account,
                owner_account,
                face_url: introduction.clone(),
                organization: name.clone(),
                name,
                introduction,
                subscribers,
                texts,
                cloud_custom_data,
                online_only,
                msg_keys,
                msg_time,
                event_time,
            },
        )
}

/// A body of any callback's exact shape.
pub(super) fn callback_body() -> impl Strategy<Value = Value> {
    callback().prop_flat_map(exact_body)
}

/// A body of `callback`'s exact shape, with any values of the right types.
pub(super) fn exact_body(callback: &'static Callback) -> impl Strategy<Value = Value> {
    values().prop_map(move |values| build_body(callback, &values))
}

/// A body for any callback, mostly its own (which the exact reader may read), then changed: a
/// field dropped, retyped (to null, too) or added.
pub(super) fn near_body() -> impl Strategy<Value = (&'static Callback, Value)> {
    callback()
        .prop_flat_map(|callback| {
            (
                Just(callback),
                prop_oneof![
                    3 => exact_body(callback).boxed(),
                    1 => callback_body().boxed(),
                ],
                vec((key(), prop::option::of(leaf())), 0..3),
            )
        })
        .prop_map(|(callback, mut body, changes)| {
            if let Some(object) = body.as_object_mut() {
                for (key, value) in changes {
                    match value {
                        Some(value) => object.insert(key, value),
                        None => object.remove(&key),
                    };
                }
            }
            (callback, body)
        })
}

/// Text with a few bytes changed, inserted or removed: mostly not JSON any more, or JSON of
/// another shape, near what the readers expect.
pub(super) fn mutated(text: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    vec((any::<usize>(), any::<u8>(), 0..3_u8), 0..4).prop_map(move |edits| {
        let mut bytes = text.clone();
        for (at, byte, how) in edits {
            let at = at % (bytes.len() + 1);
            match how {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ if at < bytes.len() => bytes[at] = byte,
                _ => {}
            }
        }
        bytes
    })
}

/// Bodies for the readers: any bytes, generated JSON, exact bodies, and those mutated.
pub(super) fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        doc().prop_map(|d| d.text().into_bytes()),
        near_body().prop_map(|(_, body)| body.to_string().into_bytes()),
        callback_body().prop_flat_map(|body| mutated(body.to_string().into_bytes())),
    ]
}

/// Answers near Tencent's shape: its fields, of the right type or not.
pub(super) fn answer() -> BoxedStrategy<Value> {
    let refused = prop_oneof![
        vec(user(), 0..6).prop_map(|users| json!(users)),
        leaf(),
        vec(leaf(), 0..3).prop_map(Value::Array),
    ];
    (
        prop::option::of(prop_oneof![
            select(vec!["OK", "FAIL"]).prop_map(Value::from),
            leaf()
        ]),
        prop::option::of(prop_oneof![
            select(vec![0_i64, 1, 2, 120_001, 130_000, 130_001]).prop_map(Value::from),
            leaf()
        ]),
        prop::option::of(prop_oneof![Just(json!("")), leaf()]),
        prop::option::of(refused.clone()),
        prop::option::of(refused),
        prop::option::of((key(), leaf())),
        prop::option::of(prop_oneof![
            vec(user(), 0..3).prop_map(|texts| json!(
                texts
                    .iter()
                    .map(|t| json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}))
                    .collect::<Vec<_>>()
            )),
            leaf(),
        ]),
    )
        .prop_map(
            |(status, code, info, subscribers, members, extra, msg_body)| {
                let mut answer = Map::new();
                for (field, value) in [
                    ("ActionStatus", status),
                    ("ErrorCode", code),
                    ("ErrorInfo", info),
                    ("RefusedSubscribers_Account", subscribers),
                    ("RefusedMembers_Account", members),
                ] {
                    if let Some(value) = value {
                        answer.insert(field.to_owned(), value);
                    }
                }
                if let Some((key, value)) = extra {
                    answer.insert(key, value);
                }
                if let Some(msg_body) = msg_body {
                    answer.insert("MsgBody".to_owned(), msg_body);
                }
                Value::Object(answer)
            },
        )
        .boxed()
}

/// What a [`Receiver`] is made of (it has no `Debug`, which would show the token).
pub(super) fn receiver() -> impl Strategy<Value = (Option<u64>, Option<String>, Duration)> {
    (
        prop::option::of(select(vec![88_888_888_u64, 1_400_000_000])),
        prop::option::of(select(vec!["t", ""]).prop_map(str::to_owned)),
        any::<u64>().prop_map(Duration::from_secs),
    )
}

/// Queries near Chat's: its parameters in any order, some missing, repeated or wrong.
pub(super) fn chat_query() -> impl Strategy<Value = String> {
    fn one(
        name: &'static str,
        good: impl Strategy<Value = String> + 'static,
    ) -> BoxedStrategy<Vec<(&'static str, String)>> {
        prop_oneof![4 => good.boxed(), 1 => ".{0,12}".boxed()]
            .prop_map(move |value| vec![(name, value)])
            .boxed()
    }
    let signature = (-100_i64..100, 0..4_u8).prop_map(|(offset, how)| {
        let t = NOW.saturating_add_signed(offset);
        let time = (param::REQUEST_TIME, t.to_string());
        match how {
            0 => vec![(param::SIGN, sign("t", t)), time],
            1 => vec![(param::SIGN, sign("t", t).to_uppercase()), time],
            2 => vec![(param::SIGN, sign("another token", t)), time],
            _ => vec![time],
        }
    });
    let parameter = prop_oneof![
        one(
            param::SDK_APPID,
            select(vec!["88888888".to_owned(), "1400000000".to_owned()])
        ),
        one(
            param::CALLBACK_COMMAND,
            callback().prop_map(|c| c.command.to_owned())
        ),
        one(param::CONTENT_TYPE, Just("json".to_owned())),
        one(param::CLIENT_IP, Just("127.0.0.1".to_owned())),
        one(
            param::OPT_PLATFORM,
            select(PLATFORMS).prop_map(str::to_owned)
        ),
        signature.boxed(),
    ];
    vec(parameter, 0..8).prop_map(|parameters| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in parameters.into_iter().flatten() {
            query.append_pair(name, &value);
        }
        query.finish()
    })
}
