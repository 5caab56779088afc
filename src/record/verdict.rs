//! What an answer means, as the record keeps it and replay compares it.

use super::read::RecordedVerdict;
use crate::protocol::{
    Callback, Decision, Evidence, Finding, Judgement, Rejection, Reply, judge, judge_broken,
    judge_no_answer,
};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// What an answer means, as the record keeps it and replay compares it: the decision Chat
/// takes, in data and in words, whether it accepts the callback, and the findings.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    /// `null` for a command oa-hook does not model (it cannot say what Chat does with it).
    pub decision: Option<Decision>,
    /// The decision in words; for a command oa-hook does not model, what the answer said.
    pub says: String,
    /// HTTP 200 with `ActionStatus` OK and `ErrorCode` 0.
    pub accepted: bool,
    pub findings: Vec<Finding>,
    /// The backend's own words (a non-empty `ErrorInfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_info: Option<String>,
}

/// What came back for a callback.
#[derive(Clone, Copy)]
pub(crate) enum Answered<'a> {
    Reply(Reply<'a>),
    /// Nothing within this long.
    Nothing(Duration),
    /// Broken HTTP, as the sentence says.
    Broken(&'a str),
}

impl Answered<'_> {
    /// Judges what came back for a callback of `callback` naming `subscribers`.
    pub(crate) fn judge(self, callback: &Callback, subscribers: &[String]) -> Judgement {
        match self {
            Answered::Reply(reply) => judge(callback, subscribers, reply),
            Answered::Nothing(waited) => judge_no_answer(callback, subscribers, waited),
            Answered::Broken(message) => judge_broken(callback, message),
        }
    }
}

impl Verdict {
    /// Judges what came back for a callback of `callback` (`None`: a command oa-hook does not
    /// model) naming `subscribers`, as `send` judges it.
    pub(crate) fn of(
        callback: Option<&Callback>,
        subscribers: &[String],
        answered: Answered<'_>,
    ) -> Self {
        let Some(callback) = callback else {
            let evidence = match answered {
                Answered::Reply(reply) => Some(Evidence::of(reply)),
                Answered::Nothing(_) | Answered::Broken(_) => None,
            };
            let says = match (answered, &evidence) {
                (Answered::Nothing(waited), _) => {
                    format!("no answer within {}", humantime::format_duration(waited))
                }
                (Answered::Broken(message), _) => message.to_owned(),
                (Answered::Reply(_), Some(evidence)) => evidence.to_string(),
                (Answered::Reply(_), None) => String::new(),
            };
            return Verdict {
                decision: None,
                says,
                accepted: evidence.as_ref().is_some_and(Evidence::accepted),
                findings: Vec::new(),
                error_info: evidence
                    .as_ref()
                    .and_then(Evidence::error_info)
                    .map(str::to_owned),
            };
        };
        // The judgement reads the answer once, evidence included.
        let Judgement {
            findings,
            decision,
            evidence,
        } = answered.judge(callback, subscribers);
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted: evidence.as_ref().is_some_and(Evidence::accepted),
            findings,
            error_info: evidence
                .as_ref()
                .and_then(Evidence::error_info)
                .map(str::to_owned),
        }
    }

    /// Judges the backend's `reply` to a request that is not authentic (refused by the
    /// receiver as `forgery` says): accepting it is a security failure (`forgery-accepted`);
    /// any refusal is right, whatever its shape, so the rules for answers to Chat do not apply.
    pub(crate) fn of_forgery(
        callback: Option<&Callback>,
        subscribers: &[String],
        reply: Reply<'_>,
        forgery: &Rejection,
    ) -> Self {
        let verdict = Verdict::of(callback, subscribers, Answered::Reply(reply));
        let evidence = Evidence::of(reply);
        if !verdict.accepted {
            return Verdict {
                says: format!("refused, as it should: {evidence}"),
                findings: Vec::new(),
                ..verdict
            };
        }
        let codes: Vec<&str> = forgery.findings.iter().map(|f| f.code).collect();
        let finding = Finding::error(
            FORGERY_ACCEPTED,
            "answer",
            format!(
                "a security failure: the backend accepted a callback that is not authentic ({}): {evidence}; it must refuse it (401, ActionStatus FAIL or ErrorCode 1), or anyone who can reach its URL can act as Chat",
                codes.join(", ")
            ),
        );
        Verdict {
            says: "accepted it".to_owned(),
            findings: vec![finding],
            ..verdict
        }
    }

    pub(crate) fn conforms(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
}

/// The finding of a backend that accepted a callback that is not authentic.
const FORGERY_ACCEPTED: &str = "forgery-accepted";

/// Whether a verdict now takes the same decision as the recorded one: the same kind, and the
/// same users subscribed and refused (in any order). Reasons in words may differ. For a command
/// oa-hook does not model, whether the answer accepts it.
pub(crate) fn same_decision(was: &RecordedVerdict, now: &Verdict) -> bool {
    match (&was.decision, &now.decision) {
        (None, None) => was.accepted == now.accepted,
        (Some(was), Some(now)) => {
            let was = serde_json::from_str::<Value>(was.get()).map(decision_key);
            let now = serde_json::to_value(now).map(decision_key);
            matches!((was, now), (Ok(was), Ok(now)) if was == now)
        }
        _ => false,
    }
}

/// A decision as data to compare: every field but the words (`reason`), with the users in
/// any order, so that a changed custom code, rewrite or refusal is a change.
fn decision_key(mut key: Value) -> Value {
    if let Some(fields) = key.as_object_mut() {
        fields.remove("reason");
        for field in ["subscribed", "refused"] {
            if let Some(Value::Array(users)) = fields.get_mut(field) {
                users.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    key
}
