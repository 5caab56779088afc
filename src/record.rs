//! The record format: what `serve --record` writes, one JSON object per line, and what `replay`
//! reads back. Versioned by its `v` field; every field is documented in the README ("The record
//! format"), and a change to what a field means is a new version.

use crate::protocol::{
    Callback, Decision, Evidence, Finding, Judgement, Rejection, Reply, judge, judge_broken,
    judge_no_answer,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::Duration;

/// The version this oa-hook writes and reads.
pub(crate) const VERSION: u64 = 1;

/// A body (of a request, or of an answer passed on by the tap) as the record keeps it: its JSON
/// exactly as received when it is JSON on one line (as Chat sends it), else its text, so that
/// replay sends the same bytes. Borrowed: recording copies no body.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Body<'a> {
    Json(&'a RawValue),
    Text(Cow<'a, str>),
    /// Not kept (a large body of a refused request).
    Omitted,
}

impl<'a> Body<'a> {
    pub(crate) fn of(bytes: &'a [u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        if let Cow::Borrowed(text) = text
            && !text.bytes().any(|b| b == b'\n' || b == b'\r')
            && let Ok(raw) = serde_json::from_str::<&RawValue>(text)
            // Surrounding spaces are no part of the raw value, and would be lost.
            && raw.get().len() == text.len()
        {
            return Body::Json(raw);
        }
        Body::Text(text)
    }

    /// How to read `body` back (`body_format`).
    pub(crate) fn format(&self) -> &'static str {
        match self {
            Body::Json(_) => "json",
            Body::Text(_) => "text",
            Body::Omitted => "omitted",
        }
    }
}

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
        } = match answered {
            Answered::Reply(reply) => judge(callback, subscribers, reply),
            Answered::Nothing(waited) => judge_no_answer(callback, subscribers, waited),
            Answered::Broken(message) => judge_broken(callback, message),
        };
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

/// One line of a record, as replay reads it (the fields it needs; the others are for people).
#[derive(Debug, Deserialize)]
pub(crate) struct Recorded {
    pub time: Option<String>,
    /// The short name, or the command word as received.
    pub command: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub subscribers: Vec<String>,
    pub valid: bool,
    /// Without `Sign` and `RequestTime`, in the order received.
    pub query: serde_json::Map<String, Value>,
    pub body: Box<RawValue>,
    pub body_format: BodyFormat,
    pub judgement: RecordedVerdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BodyFormat {
    Json,
    Text,
    Omitted,
}

/// A [`Verdict`] as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct RecordedVerdict {
    pub decision: Option<Value>,
    pub says: String,
    pub accepted: bool,
    #[serde(default)]
    pub findings: Vec<RecordedFinding>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordedFinding {
    pub severity: String,
    pub code: String,
}

impl Recorded {
    /// The body to send again, byte for byte; `None` when the record did not keep it.
    pub(crate) fn body_bytes(&self) -> Option<Vec<u8>> {
        match self.body_format {
            BodyFormat::Json => Some(self.body.get().as_bytes().to_vec()),
            BodyFormat::Text => serde_json::from_str::<String>(self.body.get())
                .ok()
                .map(String::into_bytes),
            BodyFormat::Omitted => None,
        }
    }

    /// The query parameters, in the order received: every value of a name that came more than
    /// once (an array), one after the other (anything else but strings is skipped: a record
    /// only ever holds strings there).
    pub(crate) fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().flat_map(|(name, value)| {
            let values = match value {
                Value::Array(values) => values.as_slice(),
                one => std::slice::from_ref(one),
            };
            values
                .iter()
                .filter_map(move |value| Some((name.as_str(), value.as_str()?)))
        })
    }
}

/// Why a record cannot be read: the line (from 1) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    pub line: usize,
    pub why: String,
}

/// Reads every line of a record; blank lines are skipped. The first line that is not a record
/// of this version stops the reading.
pub(crate) fn read(text: &str) -> Result<Vec<(usize, Recorded)>, Unreadable> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let unreadable = |why: String| Unreadable {
            line: line_number,
            why,
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| unreadable(format!("not JSON ({e})")))?;
        match value.get("v") {
            Some(v) if v.as_u64() == Some(VERSION) => {}
            Some(v) => {
                return Err(unreadable(format!(
                    "a record of version {v}; this oa-hook reads version {VERSION}"
                )));
            }
            None => {
                return Err(unreadable(format!(
                    "no version field `v`: not a record of version {VERSION} (written by an older oa-hook, or not a record)"
                )));
            }
        }
        let record = serde_json::from_str::<Recorded>(line)
            .map_err(|e| unreadable(format!("not a record of version {VERSION}: {e}")))?;
        records.push((line_number, record));
    }
    Ok(records)
}

/// Whether a verdict now takes the same decision as the recorded one: the same kind, and the
/// same users subscribed and refused (in any order). Reasons in words may differ. For a command
/// oa-hook does not model, whether the answer accepts it.
pub(crate) fn same_decision(was: &RecordedVerdict, now: &Verdict) -> bool {
    match (&was.decision, &now.decision) {
        (None, None) => was.accepted == now.accepted,
        (Some(was), Some(now)) => {
            serde_json::to_value(now).is_ok_and(|now| decision_key(was) == decision_key(&now))
        }
        _ => false,
    }
}

/// A decision as data to compare: every field but the words (`reason`), with the users in
/// any order, so that a changed custom code, rewrite or refusal is a change.
fn decision_key(decision: &Value) -> Value {
    let mut key = decision.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_kept_as_json_only_when_that_gives_the_same_bytes() {
        let compact = br#"{"a":1,"b":[true]}"#;
        assert_eq!(Body::of(compact).format(), "json");
        for other in [
            &b"{\n  \"a\": 1\n}"[..],
            b" {}",
            b"not json",
            b"\xff\xfe",
            b"",
        ] {
            assert_eq!(Body::of(other).format(), "text", "{other:?}");
        }
    }

    /// A verdict as the record kept it.
    fn was(decision: Value) -> RecordedVerdict {
        RecordedVerdict {
            decision: Some(decision),
            says: String::new(),
            accepted: true,
            findings: Vec::new(),
        }
    }

    /// A verdict as replay reaches it now.
    fn now(decision: Decision) -> Verdict {
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted: true,
            findings: Vec::new(),
            error_info: None,
        }
    }

    #[test]
    fn decisions_compare_by_kind_and_users_not_words() {
        let subscribes = |subscribed: &[&str], refused: &[&str]| Decision::Subscribes {
            subscribed: subscribed.iter().map(|u| (*u).to_owned()).collect(),
            refused: refused.iter().map(|u| (*u).to_owned()).collect(),
        };
        let recorded = serde_json::to_value(subscribes(&["a", "b"], &["c"])).unwrap();
        assert!(same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["b", "a"], &["c"]))
        ));
        assert!(!same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["a"], &["b", "c"]))
        ));
        assert!(!same_decision(&was(recorded), &now(Decision::RejectsAll)));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.into(),
        };
        assert!(same_decision(
            &was(serde_json::to_value(undocumented("in 5 ms")).unwrap()),
            &now(undocumented("in 7 ms"))
        ));
    }

    #[test]
    fn lines_of_another_version_or_not_json_are_named() {
        let error = |text: &str| read(text).unwrap_err();
        assert_eq!(error("\n{").line, 2);
        assert!(error("{").why.starts_with("not JSON"));
        assert_eq!(
            error(r#"{"v":2}"#).why,
            "a record of version 2; this oa-hook reads version 1"
        );
        assert!(error(r#"{"time":"x"}"#).why.starts_with("no version field"));
        assert!(
            error(r#"{"v":1,"valid":true}"#)
                .why
                .starts_with("not a record of version 1: missing field")
        );
        assert!(read("\n\n").unwrap().is_empty());
    }

    #[test]
    fn a_changed_code_or_rewrite_is_a_changed_decision_and_words_are_not() {
        let refuses = |code| Decision::RefusesMessage {
            error_code: code,
            caller_code: code,
        };
        let recorded = serde_json::to_value(refuses(120001)).unwrap();
        assert!(same_decision(&was(recorded.clone()), &now(refuses(120001))));
        assert!(!same_decision(&was(recorded), &now(refuses(120002))));
        let rewrite = |text: &str| Decision::SendsRewritten {
            msg_body: None,
            cloud_custom_data: Some(text.to_owned()),
        };
        let recorded = serde_json::to_value(rewrite("hello")).unwrap();
        assert!(!same_decision(&was(recorded), &now(rewrite("different"))));
        let subscribes = |users: [&str; 2]| Decision::Subscribes {
            subscribed: users.map(str::to_owned).to_vec(),
            refused: Vec::new(),
        };
        let recorded = serde_json::to_value(subscribes(["a", "b"])).unwrap();
        assert!(same_decision(&was(recorded), &now(subscribes(["b", "a"]))));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.to_owned(),
        };
        let recorded = serde_json::to_value(undocumented("old words")).unwrap();
        assert!(same_decision(
            &was(recorded),
            &now(undocumented("new words"))
        ));
    }
}
