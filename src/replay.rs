//! The engine behind `oa-hook replay`: re-sends the callbacks of a record (signed afresh when a
//! token is given), judges each answer as `send` does, and compares its decision with the one
//! recorded: a decision that changed is a failure. Results are the suite's, so that `check`'s
//! reports (lines, JSON, JUnit) serve replay as they are.

use crate::client::{Pool, TransportError};
use crate::clock::Clock;
use crate::interrupt::{Interrupts, Signal};
use crate::protocol::{Callback, Finding, Severity, param, sign, subscribers_in};
use crate::record::{Answered, Recorded, Verdict, same_decision};
use crate::suite::{Case, CaseResult, Evidence, Status};
use std::sync::Arc;
use tokio::task::JoinSet;
use url::Url;

/// Everything a replay needs to send callbacks.
pub(crate) struct Replay {
    pub client: Pool,
    /// The backend's URL; each callback's recorded query is appended to it.
    pub base: Url,
    pub token: Option<String>,
    pub clock: Clock,
    /// Callbacks in flight at once (at least 1).
    pub concurrency: usize,
}

/// The results in the order of the record, and why the backend could not be reached when no
/// callback reached it.
pub(crate) struct Replayed {
    pub results: Vec<CaseResult>,
    pub unreachable: Option<TransportError>,
    /// Callbacks whose replay failed inside oa-hook itself (a panicked task).
    pub lost: usize,
    /// The signal that stopped the replay before its last callback.
    pub interrupted: Option<Signal>,
}

impl Replay {
    /// Replays `records` (each with its line number), `concurrency` at a time, until the last
    /// or the first signal in `interrupts`: then nothing more is sent, the callbacks in flight
    /// are abandoned, and the results are those that came back.
    pub(crate) async fn run(
        self: Arc<Self>,
        records: Vec<(usize, Recorded)>,
        interrupts: &Interrupts,
    ) -> Replayed {
        let mut pending = records.into_iter().enumerate();
        let mut running = JoinSet::new();
        let mut lost = 0;
        let mut done = Vec::new();
        let mut interrupted = None;
        loop {
            while running.len() < self.concurrency.max(1)
                && let Some((index, (line, record))) = pending.next()
            {
                let replay = Arc::clone(&self);
                running.spawn(async move { (index, replay.one(line, &record).await) });
            }
            let joined = tokio::select! {
                biased;
                signal = interrupts.wait() => {
                    interrupted = Some(signal);
                    running.abort_all();
                    break;
                }
                joined = running.join_next() => joined,
            };
            match joined {
                Some(Ok(result)) => done.push(result),
                // A task panicked: the others go on, and the run says so as an internal error.
                Some(Err(_)) => lost += 1,
                None => break,
            }
        }
        done.sort_by_key(|(index, _)| *index);
        let reached = done
            .iter()
            .any(|(_, (_, unreachable))| unreachable.is_none());
        let unreachable = done
            .iter()
            .find_map(|(_, (_, unreachable))| unreachable.clone())
            .filter(|_| !reached);
        Replayed {
            results: done.into_iter().map(|(_, (result, _))| result).collect(),
            unreachable,
            lost,
            interrupted,
        }
    }

    /// Re-sends one callback and compares; the transport error when the backend could not be
    /// reached at all.
    async fn one(&self, line: usize, record: &Recorded) -> (CaseResult, Option<TransportError>) {
        let command = record.command.as_deref().unwrap_or("unknown");
        let mut description = format!("line {line} of the record: {command}");
        if let Some(operator) = &record.operator {
            description.push_str(&format!(" by {operator}"));
        }
        if !record.subscribers.is_empty() {
            description.push_str(&format!(" for {}", record.subscribers.join(", ")));
        }
        if let Some(time) = &record.time {
            description.push_str(&format!(" at {time}"));
        }
        description.push_str(&format!(": Chat {}", record.judgement.says));
        let case = Case::elsewhere(format!("{command}/line-{line}"), description);
        let Some(body) = record.body_bytes() else {
            let outcome = Outcome::new(
                Status::Skip,
                "the record did not keep this body (a refused one over 64 KiB)".to_owned(),
            );
            return (outcome.into_result(case), None);
        };
        let callback = record
            .query
            .get(param::CALLBACK_COMMAND)
            .and_then(serde_json::Value::as_str)
            .and_then(Callback::by_command);
        let subscribers = serde_json::from_slice(&body)
            .map(|value| subscribers_in(&value))
            .unwrap_or_default();
        let url = self.url(record);
        let (verdict, evidence) = match self.client.post(url, body.into()).await {
            Ok(exchange) => (
                Verdict::of(callback, &subscribers, Answered::Reply(exchange.reply())),
                Some(Evidence::of(&exchange)),
            ),
            Err(TransportError::Timeout(waited)) => (
                Verdict::of(callback, &subscribers, Answered::Nothing(waited)),
                None,
            ),
            Err(TransportError::Broken(message)) => (
                Verdict::of(callback, &subscribers, Answered::Broken(&message)),
                None,
            ),
            Err(unreachable) => {
                let outcome = Outcome::new(Status::Fail, unreachable.message());
                return (outcome.into_result(case), Some(unreachable));
            }
        };
        let outcome = Outcome {
            evidence,
            ..compare(record, verdict)
        };
        (outcome.into_result(case), None)
    }

    /// The base URL, the recorded query (never its `Sign` or `RequestTime`), and a fresh
    /// signature when there is a token.
    pub(crate) fn url(&self, record: &Recorded) -> Url {
        let mut url = self.base.clone();
        let recorded = record
            .query_pairs()
            .filter(|(name, _)| *name != param::SIGN && *name != param::REQUEST_TIME);
        let mut pairs = url.query_pairs_mut();
        pairs.extend_pairs(recorded);
        if let Some(token) = &self.token {
            let now = self.clock.now_secs();
            pairs.append_pair(param::SIGN, &sign(token, now));
            pairs.append_pair(param::REQUEST_TIME, &now.to_string());
        }
        drop(pairs);
        url
    }
}

/// The result of replaying `record` as `case`, whose answer was judged `now`: its decision
/// compared with the recorded one, as `replay` reports every callback (the inspector's
/// replays too).
pub(crate) fn compared(
    case: Case,
    record: &Recorded,
    now: Verdict,
    evidence: Option<Evidence>,
) -> CaseResult {
    Outcome {
        evidence,
        ..compare(record, now)
    }
    .into_result(case)
}

/// How one callback came out, before it is named.
struct Outcome {
    status: Status,
    message: String,
    findings: Vec<Finding>,
    evidence: Option<Evidence>,
}

impl Outcome {
    fn new(status: Status, message: String) -> Self {
        Outcome {
            status,
            message,
            findings: Vec::new(),
            evidence: None,
        }
    }

    fn into_result(self, case: Case) -> CaseResult {
        CaseResult {
            case,
            status: self.status,
            message: self.message,
            findings: self.findings,
            evidence: self.evidence,
            control: None,
            transcript: Vec::new(),
        }
    }
}

/// A decision that changed fails, and so does an answer that breaks the contract in a way the
/// recorded one did not; what was already wrong then is a warning, as is any warning now.
fn compare(record: &Recorded, now: Verdict) -> Outcome {
    let was = &record.judgement;
    let known = |finding: &Finding| {
        was.findings
            .iter()
            .any(|old| old.code == finding.code && old.severity == "error")
    };
    let first = |pick: &dyn Fn(&Finding) -> bool| now.findings.iter().find(|f| pick(f));
    let changed = !same_decision(was, &now);
    let (status, mut message) = if changed {
        (
            Status::Fail,
            format!("was: {} / now: {}", was.says, now.says),
        )
    } else if let Some(new) = first(&|f| f.is_error() && !known(f)) {
        (Status::Fail, new.to_string())
    } else if let Some(finding) = first(&|_| true) {
        let already = if finding.severity == Severity::Error {
            " (so was the recorded answer)"
        } else {
            ""
        };
        (Status::Warn, format!("{finding}{already}"))
    } else if now.decision.is_some() {
        (Status::Pass, format!("same decision: Chat {}", now.says))
    } else {
        (Status::Pass, format!("same answer: {}", now.says))
    };
    if let Some(info) = &now.error_info {
        message.push_str(&format!(
            "; ErrorInfo {}",
            serde_json::Value::String(info.clone())
        ));
    }
    let mut findings = now.findings;
    if changed {
        findings.insert(
            0,
            Finding::error("decision-changed", "decision", message.clone()),
        );
    }
    Outcome {
        findings,
        ..Outcome::new(status, message)
    }
}
