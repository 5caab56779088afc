//! The record format: what `serve --record` writes, one JSON object per line, and what `replay`
//! reads back. Versioned by its `v` field; every field is documented in the README ("The record
//! format"), and a change to what a field means is a new version.

use crate::protocol::{
    Callback, Decision, Evidence, Finding, Judgement, Reply, judge, judge_broken, judge_no_answer,
};
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::time::Duration;

/// The version this oa-hook writes and reads.
pub const VERSION: u64 = 1;

/// A body (of a request, or of an answer passed on by the tap) as the record keeps it: its JSON
/// exactly as received when it is JSON on one line (as Chat sends it), else its text, so that
/// replay sends the same bytes. Borrowed: recording copies no body.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Body<'a> {
    Json(&'a RawValue),
    Text(Cow<'a, str>),
    /// Not kept (a large body of a refused request).
    Omitted,
}

impl<'a> Body<'a> {
    pub fn of(bytes: &'a [u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        if let Cow::Borrowed(text) = text
            && !text.contains(['\n', '\r'])
            && let Ok(raw) = serde_json::from_str::<&RawValue>(text)
            // Surrounding spaces are no part of the raw value, and would be lost.
            && raw.get().len() == text.len()
        {
            return Body::Json(raw);
        }
        Body::Text(text)
    }

    /// How to read `body` back (`body_format`).
    pub fn format(&self) -> &'static str {
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
pub struct Verdict {
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
pub enum Answered<'a> {
    Reply(Reply<'a>),
    /// Nothing within this long.
    Nothing(Duration),
    /// Broken HTTP, as the sentence says.
    Broken(&'a str),
}

impl Verdict {
    /// Judges what came back for a callback of `callback` (`None`: a command oa-hook does not
    /// model) naming `subscribers`, as `send` judges it.
    pub fn of(callback: Option<&Callback>, subscribers: &[String], answered: Answered<'_>) -> Self {
        let evidence = match answered {
            Answered::Reply(reply) => Some(Evidence::of(reply)),
            Answered::Nothing(_) | Answered::Broken(_) => None,
        };
        let accepted = evidence.as_ref().is_some_and(Evidence::accepted);
        let error_info = evidence
            .as_ref()
            .and_then(Evidence::error_info)
            .map(str::to_owned);
        let Some(callback) = callback else {
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
                accepted,
                findings: Vec::new(),
                error_info,
            };
        };
        let Judgement {
            findings, decision, ..
        } = match answered {
            Answered::Reply(reply) => judge(callback, subscribers, reply),
            Answered::Nothing(waited) => judge_no_answer(callback, subscribers, waited),
            Answered::Broken(message) => judge_broken(callback, message),
        };
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted,
            findings,
            error_info,
        }
    }

    pub fn conforms(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
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
}
