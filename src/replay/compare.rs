//! What the backend decided now, compared with what it decided then.

use super::Status;
use super::result::{Compared, Outcome};
use crate::check::Evidence;
use crate::protocol::{Callback, FRESHNESS, Finding, Kind, Severity, param, with_error_info};
use crate::record::{Recorded, Verdict, same_decision};

/// What replay changed of a callback as it was recorded.
#[derive(Default)]
pub(super) struct Changed {
    /// Signed afresh.
    pub(super) signed: bool,
    /// Another SdkAppid (`--sdkappid`).
    pub(super) sdkappid: bool,
    /// Sent with its recorded Sign and a `RequestTime` this many seconds old (`None` inside:
    /// not a time), past [`FRESHNESS`]: a replay attack.
    pub(super) replayed_age: Option<Option<i128>>,
}

/// The codes of the findings that refuse a request for its `Sign` or `RequestTime`.
const SIGNATURE_CODES: &[&str] = &[
    "missing-sign",
    "malformed-sign",
    "bad-sign",
    "missing-request-time",
    "malformed-request-time",
    "stale-request-time",
    "future-request-time",
];

/// Why replay does not compare a callback's decisions: what it changed of the request is what
/// the recorded decision was about.
fn not_comparable(record: &Recorded, changed: &Changed) -> Option<String> {
    let refused_for = |codes: &[&str], path: &str| {
        record.findings.iter().find(|f| {
            f.is_error()
                && (codes.contains(&f.code.as_str())
                    || (f.code == "repeated-parameter" && f.path == path))
        })
    };
    if changed.signed {
        let signature = refused_for(SIGNATURE_CODES, "query.Sign")
            .or_else(|| refused_for(&[], "query.RequestTime"));
        if let Some(finding) = signature {
            return Some(format!(
                "re-signed; the recorded refusal was for the signature ({}), so the decisions are not compared",
                finding.code
            ));
        }
        let upper = record.findings.iter().any(|f| f.code == "upper-case-sign");
        if upper && !record.judgement.accepted {
            return Some("re-signed in lower case; the recorded Sign was upper-case hex, which the backend refused, so the decisions are not compared".to_owned());
        }
    }
    if changed.sdkappid
        && let Some(finding) = refused_for(&["wrong-sdkappid", "bad-sdkappid"], "query.SdkAppid")
    {
        return Some(format!(
            "SdkAppid replaced; the recorded refusal was for the SdkAppid ({}), so the decisions are not compared",
            finding.code
        ));
    }
    None
}

/// The result of replaying `record` as `id`, whose answer was judged `now`: its decision
/// compared with the recorded one, as `replay` reports every callback (the inspector's
/// replays too).
pub(crate) fn compared(
    id: String,
    description: String,
    record: &Recorded,
    now: Verdict,
    evidence: Option<Evidence>,
    signed: bool,
) -> Compared {
    let changed = Changed {
        signed,
        ..Changed::default()
    };
    let callback = record_callback(record);
    let outcome = compare(record, callback, changed, now, evidence.as_ref());
    Outcome {
        evidence,
        ..outcome
    }
    .named(id, description)
}

/// The callback a record line is of, by its `CallbackCommand`.
pub(super) fn record_callback(record: &Recorded) -> Option<&'static Callback> {
    record
        .query
        .get(param::CALLBACK_COMMAND)
        .and_then(serde_json::Value::as_str)
        .and_then(Callback::by_command)
}

/// Compares what the backend decided now with what it decided then. A decision that changed
/// fails, and so does an answer that breaks the contract in a way the recorded one did not, or
/// an after callback it no longer accepts; what was already wrong then is a warning, as is any
/// warning now. A changed `ErrorInfo` alone is a note. What replay changed itself is not
/// compared (skip), and a callback sent as recorded past its freshness is a replay attack: it
/// passes when refused. `answer` is what came back, when anything did.
pub(super) fn compare(
    record: &Recorded,
    callback: Option<&Callback>,
    changed: Changed,
    now: Verdict,
    answer: Option<&Evidence>,
) -> Outcome {
    if let Some(why) = not_comparable(record, &changed) {
        let mut message = format!("{why}; now: {}", now.says);
        push_error_info(&mut message, &now);
        return Outcome::new(Status::Skip, message);
    }
    if let Some(age) = changed.replayed_age {
        return replay_attack(age, &now);
    }
    let was = &record.judgement;
    let known = |finding: &Finding| {
        was.findings
            .iter()
            .any(|old| old.code == finding.code && old.is_error())
    };
    let first = |pick: &dyn Fn(&Finding) -> bool| now.findings.iter().find(|f| pick(f));
    // What came back, in the words of the evidence (its ErrorInfo included), else why nothing
    // readable did.
    let came_back = || {
        answer.map_or_else(
            || {
                first(&|f| f.is_error())
                    .map(|f| f.message.clone())
                    .unwrap_or_default()
            },
            |answer| answer.answer.to_string(),
        )
    };
    let after = callback.is_some_and(|c| c.kind == Kind::After);
    // A failure replay names: its finding comes first.
    let failed = |code: &'static str, message: String| {
        let finding = Finding::error(code, "decision", message.clone());
        (Status::Fail, message, vec![finding])
    };
    let (status, message, mut findings) = if !same_decision(was, &now) {
        let mut message = format!("was: {} / now: {}", was.says, now.says);
        push_error_info(&mut message, &now);
        failed("decision-changed", message)
    } else if after && was.accepted && was.conforms() && !now.conforms() {
        failed(
            "webhook-failure",
            format!(
                "was: accepted / now: {}: Chat now counts this as a webhook failure",
                came_back()
            ),
        )
    } else if after && was.accepted && !now.accepted {
        failed(
            "no-longer-accepted",
            format!(
                "was: accepted / now: {}: the backend no longer accepts this callback",
                came_back()
            ),
        )
    } else if let Some(new) = first(&|f| f.is_error() && !known(f)) {
        let mut message = new.to_string();
        push_error_info(&mut message, &now);
        (Status::Fail, message, Vec::new())
    } else {
        let mut message = if let Some(finding) = first(&|_| true) {
            let already = if finding.severity == Severity::Error {
                " (so was the recorded answer)"
            } else {
                ""
            };
            format!("{finding}{already}")
        } else if now.decision.is_some() {
            format!("same decision: Chat {}", now.says)
        } else {
            format!("same answer: {}", now.says)
        };
        let status = if now.findings.is_empty() {
            Status::Pass
        } else {
            Status::Warn
        };
        let (was_info, now_info) = (was.error_info.as_deref(), now.error_info.as_deref());
        if was_info == now_info {
            push_error_info(&mut message, &now);
        } else {
            // The same decision in other words: a note, not a failure.
            message.push_str(&format!(
                "; ErrorInfo was {}, now {}",
                quoted(was_info),
                quoted(now_info)
            ));
        }
        (status, message, Vec::new())
    };
    findings.extend(now.findings);
    Outcome {
        findings,
        ..Outcome::new(status, message)
    }
}

/// A callback sent with its recorded `Sign` and a stale `RequestTime` (`--as-recorded`): a
/// correct backend refuses it.
fn replay_attack(age: Option<i128>, now: &Verdict) -> Outcome {
    let when = match age {
        Some(age) if age >= 0 => format!("its RequestTime {age} s old"),
        Some(age) => format!("its RequestTime {} s ahead", age.unsigned_abs()),
        None => "its RequestTime not a time".to_owned(),
    };
    if now.accepted {
        let message = format!(
            "accepted a callback replayed with its recorded Sign, {when}: a replay attack succeeds; refuse a RequestTime more than {} s from your clock",
            FRESHNESS.as_secs()
        );
        Outcome {
            findings: vec![Finding::error(
                "replay-accepted",
                "query.RequestTime",
                message.clone(),
            )],
            ..Outcome::new(Status::Fail, message)
        }
    } else {
        Outcome::new(
            Status::Pass,
            format!("refused the replayed callback, as it should ({when})"),
        )
    }
}

/// `; ErrorInfo "..."`: the backend's own words now, when it gave any.
fn push_error_info(message: &mut String, now: &Verdict) {
    *message = with_error_info(std::mem::take(message), now.error_info.as_deref());
}

/// An `ErrorInfo` as JSON text (`""` when there was none).
fn quoted(info: Option<&str>) -> serde_json::Value {
    serde_json::Value::from(info.unwrap_or_default())
}
