//! The body of both subscriber callbacks: an Official Account, who acted, and the users who
//! subscribe or unsubscribe.

use super::wire::check_user_id;
use super::{Event, EventShape};
use crate::protocol::MAX_SUBSCRIBERS_PER_CALL;
use crate::protocol::finding::{Finding, Findings, Severity, excerpt};
use serde_json::Value;
use std::collections::HashMap;

shape! {
    /// The body of both subscriber callbacks, fields in the order of Tencent's samples. Reading
    /// one is strict (no field more or less); [`read_event`](super::read_event) explains what is
    /// wrong with other bodies.
    SubscriberEvent {
        "CallbackCommand" callback_command: String = Command,
        "Official_Account" official_account: String = OfficialAccount,
        "Operator_Account" operator_account: String = UserId,
        /// The `Subscriber_Account` of each entry of `SubscribeAccountList`.
        #[serde(with = "subscriber_objects")]
        "SubscribeAccountList" subscribers: Vec<String> = Subscribers,
        /// Milliseconds since the Unix epoch.
        "EventTime" event_time: i64 = Millis,
    }
}

/// `SubscribeAccountList` on the wire, a list of `{"Subscriber_Account": ...}`, as the users it
/// names.
mod subscriber_objects {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Subscriber<S> {
        #[serde(rename = "Subscriber_Account")]
        subscriber_account: S,
    }

    pub(super) fn serialize<S: Serializer>(
        users: &[String],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(users.iter().map(|user| Subscriber {
            subscriber_account: user.as_str(),
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        let list = Vec::<Subscriber<String>>::deserialize(deserializer)?;
        Ok(list.into_iter().map(|s| s.subscriber_account).collect())
    }
}

impl Event for SubscriberEvent {
    fn subscribers(&self) -> &[String] {
        &self.subscribers
    }

    fn operator(&self) -> Option<&str> {
        Some(&self.operator_account)
    }
}

impl EventShape for SubscriberEvent {}

/// The rules for `SubscribeAccountList` (`field`): some users, at most as many as the REST call
/// takes, each a UserID and named once.
pub(super) fn check_subscribers(
    field: &'static str,
    subscribers: &[String],
    findings: &mut Findings,
) {
    if subscribers.is_empty() {
        findings.push(Finding::warning(
            "no-subscribers",
            field,
            "is empty; Chat calls back when users subscribe or unsubscribe, and names them",
        ));
    }
    if subscribers.len() > MAX_SUBSCRIBERS_PER_CALL {
        findings.push(Finding::warning(
            "many-subscribers",
            field,
            format!(
                "{} subscribers in one callback; the REST call that adds subscribers takes at most {MAX_SUBSCRIBERS_PER_CALL}",
                subscribers.len()
            ),
        ));
    }
    let path = |i: usize| format!("{field}[{i}].Subscriber_Account");
    let mut repeats = repeats(subscribers).into_iter().peekable();
    for (i, user) in subscribers.iter().enumerate() {
        check_user_id(user, || path(i), findings);
        if let Some((_, first)) = repeats.next_if(|(again, _)| *again == i) {
            findings.push_with(Severity::Warning, || {
                Finding::warning(
                    "duplicate-subscriber",
                    path(i),
                    format!(
                        "`{}` is named again (first at {}); Chat names each subscriber once",
                        excerpt(user.as_bytes(), 64),
                        path(first)
                    ),
                )
            });
        }
    }
}

/// The subscribers a body names, whatever else is wrong with it (`--body` files are sent as
/// given, and refusals are judged against them).
pub fn subscribers_in(body: &Value) -> Vec<String> {
    body.get("SubscribeAccountList")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| s.get("Subscriber_Account")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// For each subscriber named again, in order: its index and the index of its first mention.
fn repeats(users: &[String]) -> Vec<(usize, usize)> {
    // A callback names a handful of users: comparing them pairwise costs less than hashing.
    const PAIRWISE: usize = 16;
    if users.len() <= PAIRWISE {
        return (1..users.len())
            .filter_map(|i| Some((i, users[..i].iter().position(|u| *u == users[i])?)))
            .collect();
    }
    let mut first = HashMap::with_capacity(users.len());
    users
        .iter()
        .enumerate()
        .filter_map(|(i, user)| {
            let seen = *first.entry(user.as_str()).or_insert(i);
            (seen != i).then_some((i, seen))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::event::Wired;
    use crate::protocol::{
        CALLBACKS, Callback, EventValues, MAX_USER_ID_BYTES, ReceivedEvent, build_body, read_event,
        read_exact_event, request_oddities,
    };
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

    /// `read_event` on a tree and the compact text it serializes to.
    fn read(callback: &Callback, body: &Value) -> (Option<ReceivedEvent>, Vec<Finding>) {
        read_event(callback, body, body.to_string().as_bytes())
    }

    #[test]
    fn the_built_body_is_the_seed_in_seed_order() {
        let values = EventValues::seed(before(), before().seed.event_time);
        let body = build_body(before(), &values);
        assert_eq!(body, seed_body());
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        let fields: Vec<&str> = SubscriberEvent::FIELDS.iter().map(|f| f.0).collect();
        assert_eq!(keys, fields);
    }

    #[test]
    fn the_seed_reads_cleanly() {
        let (event, findings) = read(before(), &seed_body());
        assert_eq!(findings, vec![]);
        let event = event.unwrap();
        assert_eq!(event.subscribers(), ["jared", "leckie"]);
        assert_eq!(event.operator(), Some("107867"));
    }

    #[test]
    fn exact_bodies_read_the_same_without_a_json_tree() {
        let mut odd = odd_body();
        odd["SubscribeAccountList"][1]["Subscriber_Account"] = json!("y".repeat(40));
        for body in [seed_body(), odd] {
            let bytes = body.to_string().into_bytes();
            let (event, findings) = read_exact_event(before(), &bytes).unwrap();
            assert_eq!((Some(event.clone()), findings), read(before(), &body));
            assert_eq!(serde_json::to_value(&event).unwrap(), body);
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
        let (event, findings) = read(before(), &body);
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
        let (_, findings) = read(before(), &json!([1]));
        assert_eq!(codes(&findings), vec![("not-object", "body")]);
    }

    #[test]
    fn oddities_are_warnings_and_the_event_is_kept() {
        let mut body = odd_body();
        body["Extra"] = json!(true);
        body["SubscribeAccountList"] = Value::Array(
            (0..101)
                .map(|i| json!({"Subscriber_Account": format!("u{i}")}))
                .collect(),
        );
        let (event, findings) = read(before(), &body);
        assert_eq!(event.unwrap().subscribers().len(), 101);
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

    /// The seed with an account that lacks the prefix, an operator too long and EventTime in
    /// seconds: odd, but it reads.
    fn odd_body() -> Value {
        let mut body = seed_body();
        body["Official_Account"] = json!("my_account");
        body["Operator_Account"] = json!("x".repeat(33));
        body["EventTime"] = json!(1670574414_i64);
        body
    }

    fn subscribers(users: &[&str]) -> Value {
        Value::Array(
            users
                .iter()
                .map(|u| json!({"Subscriber_Account": u}))
                .collect(),
        )
    }

    /// The findings of a body with the seed's values but these, on both reading paths.
    fn oddities_of(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
        let mut body = seed_body();
        change(&mut body);
        let (event, findings) = read(before(), &body);
        assert!(event.is_some(), "{findings:?}");
        let exact = read_exact_event(before(), body.to_string().as_bytes()).unwrap();
        assert_eq!((exact.0, &exact.1), (event.unwrap(), &findings));
        findings
    }

    #[test]
    fn absurd_event_times_are_warnings() {
        for (time, code) in [
            (-1_i64, "absurd-event-time"),
            (i64::MIN, "absurd-event-time"),
            (0, "absurd-event-time"),
            (1, "event-time-seconds"),
            (99_999_999_999, "event-time-seconds"),
            (100_000_000_000, ""),
            (9_999_999_999_999, ""),
            (10_000_000_000_000, "absurd-event-time"),
            (i64::MAX, "absurd-event-time"),
        ] {
            let findings = oddities_of(|b| b["EventTime"] = json!(time));
            let expected: Vec<(&str, &str)> = match code {
                "" => vec![],
                code => vec![(code, "EventTime")],
            };
            assert_eq!(codes(&findings), expected, "{time}");
        }
        let findings = oddities_of(|b| b["EventTime"] = json!(-1));
        assert_eq!(
            findings[0].message,
            "-1 is not a time Chat sends: EventTime is Unix time in milliseconds, e.g. 1670574414123"
        );
    }

    #[test]
    fn an_empty_subscriber_list_is_a_warning() {
        let findings = oddities_of(|b| b["SubscribeAccountList"] = json!([]));
        assert_eq!(
            codes(&findings),
            vec![("no-subscribers", "SubscribeAccountList")]
        );
    }

    #[test]
    fn empty_and_long_user_ids_are_warned_about_wherever_they_are() {
        let long = "x".repeat(MAX_USER_ID_BYTES + 1);
        let findings = oddities_of(|b| {
            b["Operator_Account"] = json!("");
            b["SubscribeAccountList"] =
                subscribers(&["", "jared", &long, &"y".repeat(MAX_USER_ID_BYTES)]);
        });
        assert_eq!(
            codes(&findings),
            vec![
                ("empty-user-id", "Operator_Account"),
                (
                    "empty-user-id",
                    "SubscribeAccountList[0].Subscriber_Account"
                ),
                ("long-user-id", "SubscribeAccountList[2].Subscriber_Account"),
            ]
        );
        let findings = oddities_of(|b| b["Operator_Account"] = json!(long));
        assert_eq!(
            findings[0].to_string(),
            "Operator_Account: UserID is 33 bytes; Chat's UserIDs are at most 32"
        );
    }

    #[test]
    fn a_subscriber_named_twice_is_a_warning_naming_the_first() {
        let findings = oddities_of(|b| {
            b["SubscribeAccountList"] = subscribers(&["jared", "leckie", "jared", "jared"]);
        });
        assert_eq!(
            codes(&findings),
            vec![
                (
                    "duplicate-subscriber",
                    "SubscribeAccountList[2].Subscriber_Account"
                ),
                (
                    "duplicate-subscriber",
                    "SubscribeAccountList[3].Subscriber_Account"
                ),
            ]
        );
        assert_eq!(
            findings[0].message,
            "`jared` is named again (first at SubscribeAccountList[0].Subscriber_Account); Chat names each subscriber once"
        );
    }

    #[test]
    fn repeats_are_found_the_same_in_short_and_long_lists() {
        let mut users: Vec<String> = (0..40).map(|i| format!("u{}", i % 15)).collect();
        users.push("u3".into());
        let pairwise: Vec<(usize, usize)> = (1..users.len())
            .filter_map(|i| Some((i, users[..i].iter().position(|u| *u == users[i])?)))
            .collect();
        assert_eq!(repeats(&users), pairwise);
        assert_eq!(repeats(&users[..16]), vec![(15, 0)]);
        assert_eq!(repeats(&[]), vec![]);
    }

    #[test]
    fn a_long_official_account_is_a_warning() {
        let findings =
            oddities_of(|b| b["Official_Account"] = json!(format!("@TOA#_{}", "a".repeat(43))));
        assert_eq!(
            codes(&findings),
            vec![("long-official-account", "Official_Account")]
        );
        let at_most =
            oddities_of(|b| b["Official_Account"] = json!(format!("@TOA#_{}", "a".repeat(42))));
        assert_eq!(at_most, vec![]);
    }

    #[test]
    fn a_duplicate_key_is_a_warning_even_though_the_tree_lost_it() {
        let raw = br#"{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared","Subscriber_Account":"leckie"}],"EventTime":1670574414123}"#;
        assert_eq!(read_exact_event(before(), raw), None);
        let tree: Value = serde_json::from_slice(raw).unwrap();
        let (event, findings) = read_event(before(), &tree, raw);
        assert_eq!(event.unwrap().subscribers(), ["leckie"]);
        assert_eq!(
            findings.iter().map(Finding::to_string).collect::<Vec<_>>(),
            [
                "SubscribeAccountList[0]: key \"Subscriber_Account\" appears twice; Chat's JSON has each key once (the last one is used)"
            ]
        );
    }

    #[test]
    fn an_attackers_megabyte_yields_a_short_list() {
        // Forty thousand empty subscribers: about 1 MiB of JSON.
        let users = vec![""; 40_000];
        let mut body = seed_body();
        body["SubscribeAccountList"] = subscribers(&users);
        let raw = body.to_string();
        assert!(raw.len() > 1_000_000);
        let (event, findings) = read_exact_event(before(), raw.as_bytes()).unwrap();
        assert_eq!(event.subscribers().len(), 40_000);
        assert_eq!(findings.len(), crate::protocol::MAX_FINDINGS + 1);
        assert_eq!(findings[0].code, "many-subscribers");
        assert_eq!(
            findings.last().map(Finding::to_string).unwrap(),
            "body: and 79990 more warnings, not listed"
        );
        assert_eq!(read(before(), &body).1, findings);
        // One wrong subscriber among them: the error alone is listed, as the body is refused.
        body["SubscribeAccountList"][39_999] = json!({"Subscriber_Account": 1});
        let (event, findings) = read(before(), &body);
        assert!(event.is_none());
        assert_eq!(
            codes(&findings),
            vec![(
                "wrong-type",
                "SubscribeAccountList[39999].Subscriber_Account"
            )]
        );
        body["SubscribeAccountList"] = Value::Array(vec![json!(1); 30]);
        let (_, findings) = read(before(), &body);
        assert_eq!(findings.len(), 11);
        assert!(findings.iter().all(Finding::is_error));
        assert_eq!(
            findings[10].to_string(),
            "body: and 20 more errors, not listed"
        );
    }

    #[test]
    fn findings_quote_huge_values_in_part() {
        let mut body = seed_body();
        body["Operator_Account"] = json!(["x".repeat(100_000)]);
        body["Official_Account"] = json!("y".repeat(100_000));
        body["x".repeat(100_000)] = json!(1);
        let (_, findings) = read(before(), &body);
        for finding in &findings {
            assert!(finding.to_string().len() < 300, "{finding}");
        }
    }

    #[test]
    fn the_oddities_of_a_body_about_to_be_sent() {
        let mut body = seed_body();
        assert_eq!(
            request_oddities(before(), &body, body.to_string().as_bytes()),
            vec![]
        );
        body["EventTime"] = json!(-1);
        body["SubscribeAccountList"] = subscribers(&["jared", "jared", ""]);
        let raw = body.to_string();
        assert_eq!(
            codes(&request_oddities(before(), &body, raw.as_bytes())),
            vec![
                (
                    "duplicate-subscriber",
                    "SubscribeAccountList[1].Subscriber_Account"
                ),
                (
                    "empty-user-id",
                    "SubscribeAccountList[2].Subscriber_Account"
                ),
                ("absurd-event-time", "EventTime"),
            ]
        );
        // `--body` as written, repeated key and all; and a body Chat would never send.
        let raw = br#"{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","CallbackCommand":"x"}"#;
        let tree: Value = serde_json::from_slice(raw).unwrap();
        let found = request_oddities(before(), &tree, raw);
        assert_eq!(
            codes(&found),
            vec![
                ("command-mismatch", "CallbackCommand"),
                ("missing-field", "Official_Account"),
                ("missing-field", "Operator_Account"),
                ("missing-field", "SubscribeAccountList"),
                ("missing-field", "EventTime"),
                ("duplicate-key", "body"),
            ]
        );
    }
}
