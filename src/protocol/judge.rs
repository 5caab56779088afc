//! Judging an answer: the rules it must follow (`docs/protocol.md` section 3), its fields read
//! one by one (`fields`), and what Chat then does.

mod fields;

pub(super) use fields::belongs;
pub use fields::decisive_fields;

use super::BUDGET;
use super::answer::ActionStatus;
use super::command::{CUSTOM_ERROR_CODES, Callback, Kind, Veto};
use super::decision::Decision;
use super::evidence::Evidence;
use super::finding::{Finding, excerpt};
use fields::{Parsed, read_answer};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// The verdict on one answer: every finding, what Chat would do, and what the verdict rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub findings: Vec<Finding>,
    pub decision: Decision,
    /// What came back; `None` when nothing did.
    pub evidence: Option<Evidence>,
}

impl Judgement {
    /// No errors (warnings allowed).
    pub fn conforms(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }

    /// Whether Chat goes ahead with the event as the backend meant it: the check's notion of
    /// "accepted" (HTTP 200, ActionStatus OK, ErrorCode 0).
    pub fn accepted(&self) -> bool {
        matches!(
            self.decision,
            Decision::Subscribes { .. }
                | Decision::Ignored
                | Decision::Creates
                | Decision::Sends
                | Decision::SendsRewritten { .. }
        )
    }
}

/// What came back for one callback.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    pub status: u16,
    pub body: &'a [u8],
    /// The body went past [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES) and was not read further.
    pub truncated: bool,
    /// From sending the request to the end of the answer, when measured.
    pub latency: Option<Duration>,
}

impl<'a> Reply<'a> {
    /// An answer read whole, its latency not measured.
    pub fn new(status: u16, body: &'a [u8]) -> Self {
        Reply {
            status,
            body,
            truncated: false,
            latency: None,
        }
    }
}

/// The answer fields every callback's answer carries.
pub(super) const COMMON_FIELDS: &[&str] = &["ActionStatus", "ErrorCode", "ErrorInfo"];
pub(super) const REFUSED_SUBSCRIBERS: &str = "RefusedSubscribers_Account";
pub(super) const MSG_BODY: &str = "MsgBody";
pub(super) const CLOUD_CUSTOM_DATA: &str = "CloudCustomData";
/// The name the seed's prose gives once to what its sample and field table call
/// `RefusedSubscribers_Account`: under it, a refusal is lost.
pub(super) const REFUSED_MEMBERS: &str = "RefusedMembers_Account";
/// Why an answer must not carry [`REFUSED_MEMBERS`].
pub(super) const REFUSED_MEMBERS_LOST: &str = "Chat reads RefusedSubscribers_Account (the page's prose says RefusedMembers_Account once, its sample and field table do not); under this name the refusal is ignored";

/// The error code before-create's caller gets when the backend answers 1.
pub(super) const CREATION_DENIED: i64 = 20006;
/// The error code before-send's sender gets when the backend answers 1.
pub(super) const MESSAGE_REFUSED: i64 = 10016;

/// Judges a reply to `callback` sent with `subscribers`, following `docs/protocol.md` section 3.
pub fn judge(callback: &Callback, subscribers: &[String], reply: Reply<'_>) -> Judgement {
    let mut findings = Vec::new();
    let slow = reply.latency.filter(|l| *l > BUDGET);
    if let Some(latency) = slow {
        findings.push(Finding::error(
            "too-slow",
            "latency",
            format!(
                "answered in {} ms; {}",
                latency.as_millis(),
                gives_up(callback)
            ),
        ));
    }
    if reply.status != 200 {
        findings.push(Finding::error(
            "http-status",
            "status",
            format!(
                "HTTP {} (expected 200): Chat counts any other status as a webhook failure; body: {}",
                reply.status,
                quoted_excerpt(reply.body)
            ),
        ));
    }
    let value = serde_json::from_slice::<Value>(reply.body);
    let evidence = Evidence::read(reply, value.as_ref().ok());
    let parsed = read_answer(callback, subscribers, reply, value, &mut findings);
    let decision = if slow.is_some() {
        timed_out(callback, subscribers)
    } else if callback.kind == Kind::After {
        Decision::Ignored
    } else if reply.status != 200 || parsed.is_none() {
        webhook_failure(callback)
    } else {
        decide(callback, subscribers, parsed.as_ref())
    };
    Judgement {
        // An answer may refuse thousands who were not asked about: a few are said, then a count.
        findings: Finding::bounded(findings),
        decision,
        evidence: Some(evidence),
    }
}

/// Judges a callback that got no answer at all within `waited`. Past the 2 s budget Chat has
/// given up; before it, whether an answer would have come in time is unknown.
pub fn judge_no_answer(callback: &Callback, subscribers: &[String], waited: Duration) -> Judgement {
    let waited_ms = waited.as_millis();
    if waited >= BUDGET {
        Judgement {
            findings: vec![Finding::error(
                "timeout",
                "latency",
                format!("no answer within {waited_ms} ms; {}", gives_up(callback)),
            )],
            decision: timed_out(callback, subscribers),
            evidence: None,
        }
    } else {
        Judgement {
            findings: vec![Finding::error(
                "timeout",
                "latency",
                format!(
                    "no answer within {waited_ms} ms (Chat would wait up to {} s)",
                    BUDGET.as_secs()
                ),
            )],
            decision: Decision::Undocumented {
                reason: format!(
                    "no answer within {waited_ms} ms, before Chat's {} s budget ran out; what would have come is unknown",
                    BUDGET.as_secs()
                ),
            },
            evidence: None,
        }
    }
}

/// Judges an answer that broke HTTP (garbage for a status line, a head too large, a body cut
/// off), as `message` says: Chat cannot read it, so it counts as a webhook failure, as a
/// non-200 status does.
pub fn judge_broken(callback: &Callback, message: &str) -> Judgement {
    Judgement {
        findings: vec![Finding::error(
            "broken-http",
            "answer",
            format!("{message}; Chat counts this as a webhook failure"),
        )],
        decision: match callback.kind {
            Kind::After => Decision::Ignored,
            Kind::Before => webhook_failure(callback),
        },
        evidence: None,
    }
}

fn webhook_failure(callback: &Callback) -> Decision {
    Decision::Undocumented {
        reason: format!(
            "Chat counts this answer as a webhook failure; what it then does with {} is not documented",
            event(callback)
        ),
    }
}

/// What a before callback's answer decides on, in words.
fn event(callback: &Callback) -> &'static str {
    callback.veto.map_or("the event", Veto::event)
}

/// What Chat does once its budget has run out, in words.
fn gives_up(callback: &Callback) -> String {
    format!(
        "Chat gives up after {} s{}",
        BUDGET.as_secs(),
        match callback.kind {
            Kind::Before => format!(
                ", and {} then goes ahead without your veto",
                event(callback)
            ),
            Kind::After => " (and does not retry unless retry-on-timeout is on)".to_owned(),
        }
    )
}

fn timed_out(callback: &Callback, subscribers: &[String]) -> Decision {
    Decision::TimedOut {
        subscribed: match callback.kind {
            Kind::Before => subscribers.to_vec(),
            Kind::After => Vec::new(),
        },
    }
}

fn decide(callback: &Callback, subscribers: &[String], parsed: Option<&Parsed>) -> Decision {
    let Some(parsed) = parsed else {
        return Decision::Undocumented {
            reason: "the answer lacks a usable ActionStatus, ErrorCode or RefusedSubscribers_Account; what Chat does then is not documented".into(),
        };
    };
    let code = parsed.error_code;
    let custom = CUSTOM_ERROR_CODES.contains(&code);
    match (callback.veto, parsed.action_status, code) {
        (Some(Veto::Subscription), _, 1) => Decision::RejectsAll,
        (Some(Veto::Creation), _, 1) => Decision::DeniesCreation {
            error_code: 1,
            caller_code: CREATION_DENIED,
        },
        (Some(Veto::Creation), _, _) if custom => Decision::DeniesCreation {
            error_code: code,
            caller_code: code,
        },
        (Some(Veto::Message), _, 1) => Decision::RefusesMessage {
            error_code: 1,
            caller_code: MESSAGE_REFUSED,
        },
        (Some(Veto::Message), _, 2) => Decision::Discards,
        (Some(Veto::Message), _, _) if custom => Decision::RefusesMessage {
            error_code: code,
            caller_code: code,
        },
        (veto, ActionStatus::Ok, 0) => match veto {
            Some(Veto::Creation) => Decision::Creates,
            Some(Veto::Message) if parsed.rewrite.is_empty() => Decision::Sends,
            Some(Veto::Message) => Decision::SendsRewritten {
                msg_body: parsed.rewrite.msg_body.clone(),
                cloud_custom_data: parsed.rewrite.cloud_custom_data.clone(),
            },
            _ => {
                let (refused, subscribed) = subscribers
                    .iter()
                    .cloned()
                    .partition(|u| parsed.refused.contains(u));
                Decision::Subscribes {
                    subscribed,
                    refused,
                }
            }
        },
        (_, ActionStatus::Fail, 0) => Decision::Undocumented {
            reason: match callback.veto {
                Some(Veto::Subscription) | None => {
                    "ActionStatus FAIL with ErrorCode 0; to refuse everyone answer ErrorCode 1"
                        .into()
                }
                Some(_) => format!(
                    "ActionStatus FAIL with ErrorCode 0; to stop {} answer ErrorCode 1",
                    event(callback)
                ),
            },
        },
        (Some(Veto::Subscription) | None, _, code) => Decision::Undocumented {
            reason: format!("ErrorCode {code} is neither 0 (go ahead) nor 1 (reject)"),
        },
        (_, _, code) => Decision::Undocumented {
            reason: format!(
                "ErrorCode {code} is not a code {} documents",
                callback.command
            ),
        },
    }
}

pub(super) fn quoted_excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        "(empty)".into()
    } else {
        format!("`{}`", excerpt(body, 200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CALLBACKS;
    use serde_json::json;

    fn users() -> Vec<String> {
        vec!["jared".into(), "leckie".into()]
    }

    fn reply(status: u16, body: &[u8]) -> Reply<'_> {
        Reply {
            latency: Some(Duration::from_millis(5)),
            ..Reply::new(status, body)
        }
    }

    fn judge_before(body: Value) -> Judgement {
        let bytes = body.to_string().into_bytes();
        judge(&CALLBACKS[0], &users(), reply(200, &bytes))
    }

    fn codes(j: &Judgement) -> Vec<(&'static str, &str, Severity)> {
        j.findings
            .iter()
            .map(|f| (f.code, f.path.as_str(), f.severity))
            .collect()
    }

    use crate::protocol::Severity::{self, Error, Warning};

    #[test]
    fn the_seed_answers_conform() {
        let j = judge_before(json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}));
        assert!(j.conforms());
        assert_eq!(j.findings, vec![]);
        assert_eq!(j.decision.to_string(), "subscribes jared, leckie");
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "RefusedSubscribers_Account": ["jared"]}),
        );
        assert_eq!(j.findings, vec![]);
        assert_eq!(j.decision.to_string(), "subscribes leckie; refuses jared");
        assert!(j.accepted());
        let j = judge_before(json!({"ActionStatus": "OK", "ErrorInfo": "no", "ErrorCode": 1}));
        assert_eq!((j.conforms(), j.accepted()), (true, false));
        assert_eq!(j.decision, Decision::RejectsAll);
    }

    #[test]
    fn after_answers_are_ignored() {
        let body = br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#;
        let j = judge(&CALLBACKS[1], &users(), reply(200, body));
        assert_eq!(
            (j.findings.len(), j.decision.clone()),
            (0, Decision::Ignored)
        );
        let body = br#"{"ActionStatus":"OK","ErrorCode":3,"ErrorInfo":"","RefusedSubscribers_Account":["jared"]}"#;
        let j = judge(&CALLBACKS[1], &users(), reply(200, body));
        assert!(j.conforms());
        assert_eq!(
            codes(&j),
            vec![
                ("undocumented-error-code", "ErrorCode", Warning),
                ("refused-on-after", "RefusedSubscribers_Account", Warning)
            ]
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_errors() {
        let j = judge_before(json!({"ErrorCode": "0"}));
        assert_eq!(
            codes(&j),
            vec![
                ("missing-field", "ActionStatus", Error),
                ("wrong-type", "ErrorCode", Error),
                ("missing-field", "ErrorInfo", Error)
            ]
        );
        assert!(
            j.findings[1]
                .message
                .contains("the string \"0\"; expected the integer 0")
        );
        assert!(matches!(j.decision, Decision::Undocumented { .. }));
        let j = judge_before(json!({"ActionStatus": 0, "ErrorCode": 0.5, "ErrorInfo": null}));
        assert_eq!(
            codes(&j),
            vec![
                ("wrong-type", "ActionStatus", Error),
                ("wrong-type", "ErrorCode", Error),
                ("wrong-type", "ErrorInfo", Error)
            ]
        );
    }

    #[test]
    fn action_status_must_be_ok_or_fail() {
        let j = judge_before(json!({"ActionStatus": "ok", "ErrorCode": 0, "ErrorInfo": ""}));
        assert_eq!(
            codes(&j),
            vec![("bad-action-status", "ActionStatus", Error)]
        );
        let j = judge_before(json!({"ActionStatus": "FAIL", "ErrorCode": 0, "ErrorInfo": ""}));
        assert!(j.conforms());
        assert!(
            j.decision
                .to_string()
                .starts_with("undocumented: ActionStatus FAIL")
        );
    }

    #[test]
    fn undocumented_error_codes_are_warnings() {
        let j = judge_before(json!({"ActionStatus": "OK", "ErrorCode": 2, "ErrorInfo": ""}));
        assert_eq!(
            codes(&j),
            vec![("undocumented-error-code", "ErrorCode", Warning)]
        );
        assert!(!j.accepted());
    }

    #[test]
    fn refused_members_account_is_an_error_and_refuses_nobody() {
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedMembers_Account": ["jared"]}),
        );
        assert_eq!(
            codes(&j),
            vec![("refused-members-account", "RefusedMembers_Account", Error)]
        );
        assert_eq!(j.decision.to_string(), "subscribes jared, leckie");
    }

    #[test]
    fn refused_users_outside_the_request_and_unknown_fields_are_warnings() {
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": ["jared", "zoe"], "Extra": 1}),
        );
        assert_eq!(
            codes(&j),
            vec![
                (
                    "refused-not-in-request",
                    "RefusedSubscribers_Account[1]",
                    Warning
                ),
                ("unknown-field", "Extra", Warning)
            ]
        );
        assert_eq!(j.decision.to_string(), "subscribes leckie; refuses jared");
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": "jared"}),
        );
        assert_eq!(
            codes(&j),
            vec![("wrong-type", "RefusedSubscribers_Account", Error)]
        );
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": [7]}),
        );
        assert_eq!(
            codes(&j),
            vec![("wrong-type", "RefusedSubscribers_Account[0]", Error)]
        );
    }

    #[test]
    fn transport_level_failures() {
        let j = judge(&CALLBACKS[0], &users(), reply(503, b"<html>down</html>"));
        assert_eq!(
            codes(&j),
            vec![
                ("http-status", "status", Error),
                ("not-json", "body", Error)
            ]
        );
        assert!(
            j.findings[0].message.contains("HTTP 503")
                && j.findings[0].message.contains("<html>down</html>")
        );
        let j = judge(&CALLBACKS[0], &users(), reply(200, b"[1,2]"));
        assert_eq!(codes(&j), vec![("not-object", "body", Error)]);
        let j = judge(
            &CALLBACKS[0],
            &users(),
            Reply {
                truncated: true,
                ..reply(200, b"{")
            },
        );
        assert_eq!(codes(&j), vec![("body-too-large", "body", Error)]);
    }

    #[test]
    fn over_the_budget_is_an_error_and_the_subscription_goes_ahead() {
        let body = br#"{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}"#;
        let slow = Reply {
            latency: Some(Duration::from_millis(2001)),
            ..reply(200, body)
        };
        let j = judge(&CALLBACKS[0], &users(), slow);
        assert_eq!(codes(&j), vec![("too-slow", "latency", Error)]);
        assert_eq!(
            j.decision,
            Decision::TimedOut {
                subscribed: users()
            }
        );
        let on_time = Reply {
            latency: Some(BUDGET),
            ..reply(200, body)
        };
        assert!(judge(&CALLBACKS[0], &users(), on_time).conforms());
    }

    #[test]
    fn an_answer_says_a_few_findings_then_how_many_more() {
        let strangers: Vec<String> = (0..5000).map(|i| format!("u{i}")).collect();
        let j = judge_before(
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": strangers}),
        );
        assert_eq!(j.findings.len(), crate::protocol::MAX_FINDINGS + 1);
        assert_eq!(
            j.findings.last().map(|f| f.message.as_str()),
            Some("and 4990 more warnings, not listed")
        );
    }

    #[test]
    fn no_answer_is_an_error_and_past_the_budget_chat_goes_ahead() {
        let j = judge_no_answer(&CALLBACKS[0], &users(), Duration::from_secs(5));
        assert_eq!(codes(&j), vec![("timeout", "latency", Error)]);
        assert_eq!(
            j.findings[0].message,
            "no answer within 5000 ms; Chat gives up after 2 s, and the subscription then goes ahead without your veto"
        );
        assert_eq!(
            j.decision,
            Decision::TimedOut {
                subscribed: users()
            }
        );
        let j = judge_no_answer(&CALLBACKS[0], &users(), Duration::from_millis(500));
        assert_eq!(
            j.findings[0].message,
            "no answer within 500 ms (Chat would wait up to 2 s)"
        );
        assert!(matches!(j.decision, Decision::Undocumented { .. }));
        let j = judge_no_answer(&CALLBACKS[1], &users(), BUDGET);
        assert_eq!(j.decision, Decision::TimedOut { subscribed: vec![] });
    }

    fn judge_named(name: &str, body: Value) -> Judgement {
        let bytes = body.to_string().into_bytes();
        let callback = Callback::find(name).unwrap();
        judge(callback, &[], reply(200, &bytes))
    }

    #[test]
    fn creation_and_message_answers_decide_as_documented() {
        let rewrite = json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}], "CloudCustomData": "x"});
        for (name, code, info, extra, decision) in [
            ("before-create", 0, "", None, "creates the Official Account"),
            (
                "before-create",
                1,
                "",
                None,
                "denies the creation (ErrorCode 1): the caller gets error 20006",
            ),
            (
                "before-create",
                120_001,
                "closed",
                None,
                "denies the creation (ErrorCode 120001): the caller gets error 120001 and your ErrorInfo",
            ),
            ("before-send", 0, "", None, "sends the message as it is"),
            (
                "before-send",
                0,
                "",
                Some(rewrite),
                "sends the message rewritten by your answer: MsgBody [TIMTextElem \"hi\"], CloudCustomData \"x\"",
            ),
            (
                "before-send",
                1,
                "",
                None,
                "refuses the message (ErrorCode 1): the sender gets error 10016",
            ),
            (
                "before-send",
                2,
                "",
                None,
                "discards the message silently: the sender is told it was sent",
            ),
            (
                "before-send",
                130_000,
                "spam",
                None,
                "refuses the message (ErrorCode 130000): the sender gets error 130000 and your ErrorInfo",
            ),
        ] {
            let body = extra.unwrap_or_else(
                || json!({"ActionStatus": "OK", "ErrorInfo": info, "ErrorCode": code}),
            );
            let j = judge_named(name, body);
            assert_eq!(j.findings, vec![], "{name} {code}");
            assert_eq!(j.decision.to_string(), decision);
            assert_eq!(j.accepted(), code == 0);
        }
    }

    #[test]
    fn answer_fields_of_another_command_and_ignored_rewrites_are_warnings() {
        let j = judge_named(
            "before-send",
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 2, "MsgBody": [], "RefusedSubscribers_Account": ["jared"]}),
        );
        assert_eq!(
            codes(&j),
            vec![
                ("rewrite-ignored", "MsgBody", Warning),
                ("not-for-command", "RefusedSubscribers_Account", Warning)
            ]
        );
        assert_eq!(j.decision, Decision::Discards);
        let j = judge_named(
            "after-send",
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "CloudCustomData": "x"}),
        );
        assert_eq!(
            codes(&j),
            vec![("not-for-command", "CloudCustomData", Warning)]
        );
        assert_eq!(
            j.findings[0].message,
            "`CloudCustomData` belongs to the answer of before-send, not of after-send; Chat ignores it here"
        );
        let j = judge_named(
            "before-create",
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 2}),
        );
        assert_eq!(
            codes(&j),
            vec![("undocumented-error-code", "ErrorCode", Warning)]
        );
        assert!(matches!(j.decision, Decision::Undocumented { .. }));
        let j = judge_named(
            "before-send",
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "MsgBody": "hi"}),
        );
        assert_eq!(codes(&j), vec![("wrong-type", "MsgBody", Error)]);
        let j = judge_no_answer(Callback::find("before-send").unwrap(), &[], BUDGET);
        assert!(
            j.findings[0]
                .message
                .ends_with("and the message then goes ahead without your veto")
        );
    }

    /// A rewrite of CloudCustomData is a string (protocol.md section 6); null is none Chat
    /// documents, with or without a field of no concern beside it.
    #[test]
    fn a_null_cloud_custom_data_is_judged_alike_beside_an_unknown_field() {
        let answer =
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "CloudCustomData": null});
        let mut with_extra = answer.clone();
        with_extra["Extra"] = json!(1);
        let alone = judge_named("before-send", answer);
        let beside = judge_named("before-send", with_extra);
        assert_eq!(
            codes(&alone),
            vec![("wrong-type", "CloudCustomData", Error)]
        );
        assert_eq!(
            codes(&beside),
            vec![
                ("wrong-type", "CloudCustomData", Error),
                ("unknown-field", "Extra", Warning)
            ]
        );
        assert_eq!(alone.decision, beside.decision);
        assert!(matches!(alone.decision, Decision::Undocumented { .. }));
    }
}
