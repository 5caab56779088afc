//! The engine behind `oa-hook replay`: reads a record line by line, re-sends its callbacks
//! (signed afresh when a token is given, or as recorded), judges each answer as `send` does,
//! and compares what the backend decided with what it decided then: a decision that changed is
//! a failure, a change that replay itself made (a new Sign, another SdkAppid) is not compared.
//! Each callback comes to a [`Compared`], which reports show as they show `check`'s cases
//! (lines, JSON, JUnit); results come out in the record's order as they are known, so that
//! memory does not grow with the record.

mod compare;
mod read;
mod result;

pub(crate) use compare::compared;
pub(crate) use read::{Choice, Input, Tally, Unread, read};
pub(crate) use result::{Compared, Outcome};

use crate::check::{Evidence, Status};
use crate::client::{Pool, TransportError};
use crate::clock::Clock;
use crate::interrupt::{Interrupts, Signal};
use crate::protocol::{FRESHNESS, param, sign, subscribers_in};
use crate::record::{Answered, Recorded, Verdict};
use crate::veto::LostVetoes;
use compare::{Changed, compare, record_callback};
use std::collections::{BTreeMap, HashMap};
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
        each: &mut dyn FnMut(Compared),
    ) -> Replayed {
        let concurrency = self.concurrency.max(1);
        // Results wait here for those before them; past this many, no more is taken in.
        let window = concurrency.saturating_mul(4).max(64);
        let mut running = JoinSet::new();
        let mut tasks = HashMap::new();
        let mut waiting: BTreeMap<usize, Option<Compared>> = BTreeMap::new();
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
    async fn one(&self, line: usize, mut record: Box<Recorded>) -> (Compared, Reach) {
        let command = record.command.as_deref().unwrap_or("unknown");
        let id = format!("{command}/line-{line}");
        let description = self.description(line, &record);
        let Some(body) = record.body.take() else {
            let outcome = Outcome::new(
                Status::Skip,
                "the record did not keep this body (a refused one over 64 KiB)".to_owned(),
            );
            return (outcome.named(id, description), Reach::NotSent);
        };
        let sent = match self.sent(&record) {
            Ok(sent) => sent,
            Err(why) => {
                return (
                    Outcome::new(Status::Skip, why).named(id, description),
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
                    return (outcome.named(id, description), Reach::Unreachable(e));
                }
            },
        };
        let outcome = compare(&record, callback, sent.changed, verdict, evidence.as_ref());
        let outcome = Outcome {
            evidence,
            ..outcome
        };
        let result = Compared {
            went_ahead: lost,
            ..outcome.named(id, description)
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

/// The case of a line that is not a record, skipped (`--skip-invalid`).
fn skipped(line: usize, why: String) -> Compared {
    Outcome::new(
        Status::Skip,
        format!("not replayed (--skip-invalid): {why}"),
    )
    .named(
        format!("invalid/line-{line}"),
        format!("line {line} of the record, not a record"),
    )
}
