//! The engine behind `oa-hook replay`: reads a record line by line, re-sends its callbacks
//! (signed afresh when a token is given, or as recorded), judges each answer as `send` does,
//! and compares what the backend decided with what it decided then: a decision that changed is
//! a failure, a change that replay itself made (a new Sign, another SdkAppid) is not compared.
//! Results are the suite's, so that `check`'s reports (lines, JSON, JUnit) serve replay as they
//! are; they come out in the record's order as they are known, so that memory does not grow
//! with the record.

use crate::client::{Pool, TransportError};
use crate::clock::Clock;
use crate::interrupt::{Interrupts, Signal};
use crate::protocol::{
    Callback, FRESHNESS, Finding, Kind, Severity, param, sign, subscribers_in, with_error_info,
};
use crate::record::{Answered, Line, Lines, Recorded, Verdict, same_decision};
use crate::suite::{Case, CaseResult, Evidence, Status};
use crate::veto::LostVetoes;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use url::Url;

/// Everything a replay needs to send callbacks.
pub(crate) struct Replay {
    pub client: Pool,
    /// The backend's URL; each callback's recorded query is appended to it.
    pub base: Url,
    pub signing: Signing,
    pub clock: Clock,
    /// Callbacks in flight at once (at least 1).
    pub concurrency: usize,
    /// `--sdkappid`: the SdkAppid sent instead of the recorded one.
    pub sdkappid: Option<u64>,
}

/// How each callback is signed.
pub(crate) enum Signing {
    /// Afresh, with this token, at the current time.
    Afresh(String),
    /// Not at all (no token).
    Unsigned,
    /// With the `Sign` and `RequestTime` the record kept (`--as-recorded`): a replay attack,
    /// which a backend must refuse once the callback is older than [`FRESHNESS`].
    AsRecorded,
}

/// Which lines of a record are replayed.
#[derive(Clone, Copy)]
pub(crate) struct Choice {
    /// The requests serve refused too (`--all`).
    pub all: bool,
    /// A line that is not a record is a skipped case instead of the end (`--skip-invalid`).
    pub skip_invalid: bool,
}

/// What the reading of a record hands the engine, in the record's order.
pub(crate) enum Input {
    /// A callback to replay, and its line.
    Callback(usize, Box<Recorded>),
    /// A line that is not a record, skipped (`--skip-invalid`): why.
    Skipped(usize, String),
    /// A line that is not a record: the reading stops there.
    Invalid(usize, String),
    /// The record could not be read further.
    Unreadable(std::io::Error),
    /// The end, and how the lines came out.
    End(Tally),
}

/// How the lines of a record came out.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    /// Lines read, blank ones included.
    pub lines: usize,
    pub records: usize,
    /// Records chosen for replay.
    pub chosen: usize,
    /// Lines that are not records, skipped (`--skip-invalid`).
    pub skipped: usize,
    /// The last line, cut short as it was written: skipped, with a warning.
    pub cut: Option<usize>,
}

/// Reads a record line by line, at most `limit` lines, handing `each` what replay does with
/// them in order, until the end or the first line that stops the reading (`each` returning
/// false stops it too). Memory holds one line at a time.
pub(crate) fn read(
    reader: impl BufRead,
    choice: Choice,
    limit: Option<usize>,
    mut each: impl FnMut(Input) -> bool,
) -> Tally {
    let mut tally = Tally::default();
    for read in Lines::new(reader) {
        let (number, line) = match read {
            Ok(read) => read,
            Err(e) => {
                each(Input::Unreadable(e));
                return tally;
            }
        };
        if limit.is_some_and(|limit| number > limit) {
            break;
        }
        tally.lines = number;
        let input = match line {
            Line::Record(record) => {
                tally.records += 1;
                if !(choice.all || record.valid) {
                    continue;
                }
                tally.chosen += 1;
                Input::Callback(number, record)
            }
            Line::Cut => {
                tally.cut = Some(number);
                continue;
            }
            Line::Invalid(why) if choice.skip_invalid => {
                tally.skipped += 1;
                Input::Skipped(number, why)
            }
            Line::Invalid(why) => {
                each(Input::Invalid(number, why));
                return tally;
            }
        };
        if !each(input) {
            break;
        }
    }
    tally
}

/// How a replay ended.
#[derive(Default)]
pub(crate) struct Replayed {
    /// Results handed out, in the record's order.
    pub ran: usize,
    /// Cases known of when it ended: every one of the record when it was read to the end.
    pub known: usize,
    /// Why the backend could not be reached, when no callback reached it: nothing more was sent.
    pub unreachable: Option<TransportError>,
    /// Callbacks whose replay failed inside oa-hook itself (a panicked task).
    pub lost: usize,
    /// The signal that stopped the replay before its last callback.
    pub interrupted: Option<Signal>,
    /// Why the record could not be read to its end (a line that is not a record, a read error).
    pub unread: Option<Unread>,
    /// How the lines came out, when the record was read to its end.
    pub tally: Option<Tally>,
}

/// Why the reading of a record stopped before its end.
pub(crate) enum Unread {
    Invalid(usize, String),
    Failed(std::io::Error),
}

/// Whether a callback reached the backend.
enum Reach {
    NotSent,
    Reached,
    Unreachable(TransportError),
}

impl Replay {
    /// Replays what `input` hands over, `concurrency` at a time, handing each result to `each`
    /// in the record's order as soon as it and those before it are known, until the end, the
    /// first signal in `interrupts` (nothing more is sent, the callbacks in flight are
    /// abandoned), or a first callback that finds the backend unreachable.
    pub(crate) async fn run(
        self: Arc<Self>,
        input: &mut mpsc::Receiver<Input>,
        interrupts: &Interrupts,
        each: &mut dyn FnMut(CaseResult),
    ) -> Replayed {
        let concurrency = self.concurrency.max(1);
        // Results wait here for those before them; past this many, no more is taken in.
        let window = concurrency.saturating_mul(4).max(64);
        let mut running = JoinSet::new();
        let mut tasks = HashMap::new();
        let mut waiting: BTreeMap<usize, Option<CaseResult>> = BTreeMap::new();
        let (mut taken, mut handed) = (0, 0);
        let mut replayed = Replayed::default();
        let (mut open, mut reached) = (true, false);
        loop {
            if !open && running.is_empty() {
                break;
            }
            let room = running.len() < concurrency && taken - handed < window;
            tokio::select! {
                biased;
                signal = interrupts.wait() => {
                    replayed.interrupted = Some(signal);
                    running.abort_all();
                    break;
                }
                joined = running.join_next_with_id(), if !running.is_empty() => {
                    let (id, done) = match joined {
                        Some(Ok((id, done))) => (id, Some(done)),
                        // A task panicked: the others go on, and the run says so as an
                        // internal error.
                        Some(Err(e)) => (e.id(), None),
                        None => continue,
                    };
                    let index = tasks.remove(&id).unwrap_or(usize::MAX);
                    let result = match done {
                        Some((_, Reach::Unreachable(error))) if !reached => {
                            replayed.unreachable = Some(error);
                            running.abort_all();
                            break;
                        }
                        Some((result, reach)) => {
                            reached |= matches!(reach, Reach::Reached);
                            Some(result)
                        }
                        None => {
                            replayed.lost += 1;
                            None
                        }
                    };
                    waiting.insert(index, result);
                }
                next = input.recv(), if open && room => {
                    match next {
                        Some(Input::Callback(line, record)) => {
                            let replay = Arc::clone(&self);
                            let task = running.spawn(async move { replay.one(line, record).await });
                            tasks.insert(task.id(), taken);
                            taken += 1;
                        }
                        Some(Input::Skipped(line, why)) => {
                            waiting.insert(taken, Some(skipped(line, why)));
                            taken += 1;
                        }
                        Some(Input::Invalid(line, why)) => {
                            replayed.unread = Some(Unread::Invalid(line, why));
                            open = false;
                        }
                        Some(Input::Unreadable(e)) => {
                            replayed.unread = Some(Unread::Failed(e));
                            open = false;
                        }
                        Some(Input::End(tally)) => {
                            replayed.tally = Some(tally);
                            open = false;
                        }
                        None => open = false,
                    }
                }
            }
            while let Some(result) = waiting.remove(&handed) {
                handed += 1;
                if let Some(result) = result {
                    replayed.ran += 1;
                    each(result);
                }
            }
        }
        // Stopped early: what came back is still said, in order, whatever is missing between.
        for result in waiting.into_values().flatten() {
            replayed.ran += 1;
            each(result);
        }
        replayed.known = taken;
        replayed
    }

    /// Re-sends one callback and compares.
    async fn one(&self, line: usize, mut record: Box<Recorded>) -> (CaseResult, Reach) {
        let command = record.command.as_deref().unwrap_or("unknown");
        let case = Case::elsewhere(
            format!("{command}/line-{line}"),
            self.description(line, &record),
        );
        let Some(body) = record.body.take() else {
            let outcome = Outcome::new(
                Status::Skip,
                "the record did not keep this body (a refused one over 64 KiB)".to_owned(),
            );
            return (outcome.into_result(case), Reach::NotSent);
        };
        let sent = match self.sent(&record) {
            Ok(sent) => sent,
            Err(why) => {
                return (
                    Outcome::new(Status::Skip, why).into_result(case),
                    Reach::NotSent,
                );
            }
        };
        let callback = record_callback(&record);
        let subscribers = serde_json::from_slice(&body)
            .map(|value| subscribers_in(&value))
            .unwrap_or_default();
        let posted = self.client.post(sent.url, body.into()).await;
        let mut lost = LostVetoes::default();
        lost.count(callback, &posted);
        let (verdict, evidence) = match posted {
            Ok(exchange) => (
                Verdict::of(callback, &subscribers, Answered::Reply(exchange.reply())),
                Some(Evidence::of(&exchange)),
            ),
            Err(e) => match e.answered() {
                Some(answered) => (Verdict::of(callback, &subscribers, answered), None),
                None => {
                    let outcome = Outcome::new(Status::Fail, e.message());
                    return (outcome.into_result(case), Reach::Unreachable(e));
                }
            },
        };
        let outcome = compare(&record, callback, sent.changed, verdict, evidence.as_ref());
        let outcome = Outcome {
            evidence,
            ..outcome
        };
        let result = CaseResult {
            went_ahead: lost,
            ..outcome.into_result(case)
        };
        (result, Reach::Reached)
    }

    /// `line N of the record: before-subscribe by 107867 for jared, leckie at TIME: Chat ...`,
    /// and the SdkAppid sent instead of the recorded one, if it is another.
    fn description(&self, line: usize, record: &Recorded) -> String {
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
        if let Some((was, now)) = self.replaced_sdkappid(record) {
            description.push_str(&format!("; replayed with SdkAppid {now} instead of {was}"));
        }
        description
    }

    /// The recorded SdkAppid and the one `--sdkappid` sends instead, when they differ.
    fn replaced_sdkappid<'a>(&self, record: &'a Recorded) -> Option<(&'a str, u64)> {
        let now = self.sdkappid?;
        let was = record
            .query_pairs()
            .find(|(name, _)| *name == param::SDK_APPID)?
            .1;
        (was != now.to_string()).then_some((was, now))
    }

    /// The URL to send `record` to: the base URL, the recorded query (its SdkAppid replaced
    /// by `--sdkappid`), then the signature: afresh, none, or the recorded one. What replay
    /// changed of the request as recorded comes with it; why it cannot be sent, if it cannot.
    /// Where `record` is replayed: the URL of [`Replay::sent`], for a replay signed afresh or
    /// unsigned, which always has one (the inspector's replays).
    pub(crate) fn url(&self, record: &Recorded) -> Option<Url> {
        self.sent(record).ok().map(|sent| sent.url)
    }

    fn sent(&self, record: &Recorded) -> Result<Sent, String> {
        let mut url = self.base.clone();
        let sdkappid = self.sdkappid.map(|id| id.to_string());
        let mut changed = Changed {
            sdkappid: self.replaced_sdkappid(record).is_some(),
            ..Changed::default()
        };
        let mut pairs = url.query_pairs_mut();
        for (name, value) in record.query_pairs() {
            match (name, &sdkappid) {
                (param::SIGN | param::REQUEST_TIME, _) => {}
                (param::SDK_APPID, Some(id)) => {
                    pairs.append_pair(name, id);
                }
                _ => {
                    pairs.append_pair(name, value);
                }
            }
        }
        match &self.signing {
            Signing::Afresh(token) => {
                let now = self.clock.now_secs();
                pairs.append_pair(param::SIGN, &sign(token, now));
                pairs.append_pair(param::REQUEST_TIME, &now.to_string());
                changed.signed = true;
            }
            Signing::Unsigned => {}
            Signing::AsRecorded => {
                let Some(recorded) = &record.sign else {
                    return Err("the record did not keep the Sign (recorded without `serve --record-sign`, a record of version 1, or a line it was taken out of): it cannot be sent as recorded".to_owned());
                };
                if let Some(sign) = recorded {
                    pairs.append_pair(param::SIGN, sign);
                }
                if let Some(time) = &record.request_time {
                    pairs.append_pair(param::REQUEST_TIME, time);
                }
                changed.replayed_age = recorded
                    .as_ref()
                    .and_then(|_| self.age(record.request_time.as_deref()));
            }
        }
        drop(pairs);
        Ok(Sent { url, changed })
    }

    /// How long ago (or, negative, ahead) a recorded `RequestTime` is, in seconds, when it is
    /// past [`FRESHNESS`] (or not a time at all, `None` inside): a callback sent as recorded is
    /// then a replay attack. `None` while it is still fresh.
    fn age(&self, request_time: Option<&str>) -> Option<Option<i128>> {
        let Some(time) = request_time.and_then(|t| t.parse::<u64>().ok()) else {
            return Some(None);
        };
        let age = i128::from(self.clock.now_secs()) - i128::from(time);
        (age.unsigned_abs() > u128::from(FRESHNESS.as_secs())).then_some(Some(age))
    }
}

/// A callback as replay sends it.
struct Sent {
    url: Url,
    changed: Changed,
}

/// What replay changed of a callback as it was recorded.
#[derive(Default)]
struct Changed {
    /// Signed afresh.
    signed: bool,
    /// Another SdkAppid (`--sdkappid`).
    sdkappid: bool,
    /// Sent with its recorded Sign and a `RequestTime` this many seconds old (`None` inside:
    /// not a time), past [`FRESHNESS`]: a replay attack.
    replayed_age: Option<Option<i128>>,
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

/// The case of a line that is not a record, skipped (`--skip-invalid`).
fn skipped(line: usize, why: String) -> CaseResult {
    let case = Case::elsewhere(
        format!("invalid/line-{line}"),
        format!("line {line} of the record, not a record"),
    );
    Outcome::new(
        Status::Skip,
        format!("not replayed (--skip-invalid): {why}"),
    )
    .into_result(case)
}

/// The result of replaying `record` as `case`, whose answer was judged `now`: its decision
/// compared with the recorded one, as `replay` reports every callback (the inspector's
/// replays too).
pub(crate) fn compared(
    case: Case,
    record: &Recorded,
    now: Verdict,
    evidence: Option<Evidence>,
    signed: bool,
) -> CaseResult {
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
    .into_result(case)
}

/// The callback a record line is of, by its `CallbackCommand`.
fn record_callback(record: &Recorded) -> Option<&'static Callback> {
    record
        .query
        .get(param::CALLBACK_COMMAND)
        .and_then(serde_json::Value::as_str)
        .and_then(Callback::by_command)
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
            went_ahead: LostVetoes::default(),
            fuzz: None,
        }
    }
}

/// Compares what the backend decided now with what it decided then. A decision that changed
/// fails, and so does an answer that breaks the contract in a way the recorded one did not, or
/// an after callback it no longer accepts; what was already wrong then is a warning, as is any
/// warning now. A changed `ErrorInfo` alone is a note. What replay changed itself is not
/// compared (skip), and a callback sent as recorded past its freshness is a replay attack: it
/// passes when refused. `answer` is what came back, when anything did.
fn compare(
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
