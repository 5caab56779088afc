//! `check --fuzz N`: N callbacks generated per command within and at the edges of the
//! documented limits (`crate::fuzz`), signed and fresh, each checked for four properties, one
//! case each: no 5xx; a conforming answer within 2 s; refused subscribers are among those
//! sent; the decision does not change with the order of the subscribers, ClientIP or
//! OptPlatform. The first callback that fails a property is shrunk to the least that still
//! fails it the same way, written to a file, and given with the `oa-hook send` command that
//! reproduces it. The seed is in every report, so that a failure reruns exactly.

mod verdict;

use super::{Case, Outcome, Probe, Suite};
use crate::client::{Exchange, TransportError};
use crate::clock::millis;
use crate::fuzz::generate::generate;
use crate::fuzz::reproduce::{self, Target};
use crate::fuzz::{Generated, shrink};
use crate::protocol::{Callback, Finding, Judgement, Kind, Veto, judge, sign};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use verdict::{Failure, Observed, Verdict, expecting, verdict};

/// A property every generated callback's answer must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Property {
    NoServerError,
    ConformingInTime,
    RefusedWereSent,
    SameDecision,
}

const PROPERTIES: [(&str, &str, Property); 4] = [
    (
        "fuzz/no-server-error",
        "no generated callback gets a 5xx",
        Property::NoServerError,
    ),
    (
        "fuzz/conforming-in-time",
        "every generated callback gets a conforming answer within 2 s",
        Property::ConformingInTime,
    ),
    (
        "fuzz/refused-were-sent",
        "the subscribers refused are among those sent",
        Property::RefusedWereSent,
    ),
    (
        "fuzz/same-decision",
        "a before callback's decision does not change with the order of its subscribers, ClientIP or OptPlatform",
        Property::SameDecision,
    ),
];

/// The most simpler versions of a failing callback sent while shrinking it, and the longest
/// time spent: a backend that fails slowly (a timeout) is shrunk less far, never for long.
const SHRINK_TRIES: u64 = 1000;
const SHRINK_TIME: Duration = Duration::from_secs(20);

impl Property {
    /// Whether the property means something for `callback`.
    fn applies_to(self, callback: &Callback) -> bool {
        match self {
            Property::NoServerError | Property::ConformingInTime => true,
            Property::RefusedWereSent => callback.veto == Some(Veto::Subscription),
            Property::SameDecision => callback.kind == Kind::Before,
        }
    }

    fn name(self) -> &'static str {
        PROPERTIES
            .iter()
            .find(|(.., p)| *p == self)
            .map_or("", |(id, ..)| id.trim_start_matches("fuzz/"))
    }
}

/// The fuzz cases, one per property.
pub(super) fn cases() -> Vec<Case> {
    PROPERTIES
        .iter()
        .map(|(id, description, property)| Case {
            id: Cow::Borrowed(id),
            description: Cow::Borrowed(description),
            probe: Probe::Fuzz(*property),
        })
        .collect()
}

/// `check --fuzz`: what to generate and where a failure's body goes.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Callbacks generated per command.
    pub per_command: u64,
    pub seed: u64,
    /// Where shrunk bodies are written.
    pub dir: PathBuf,
    /// How the user ran oa-hook, for the reproducer.
    pub program: String,
    /// The backend's URL as the reproducer gives it: its password masked.
    pub shown_url: url::Url,
    /// The commands generated for (`--command`).
    pub commands: Vec<&'static Callback>,
    /// The sender's timeout, for the reproducer.
    pub timeout: Duration,
}

/// What the fuzz run found for a property, in the report of its case.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fuzzed {
    pub seed: u64,
    pub per_command: u64,
    /// Generated callbacks the property was checked on, until one failed it.
    pub checked: u64,
    /// Of those, the ones whose answers could not tell (none came, or not one to read).
    pub undecided: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Shrunk>,
}

/// The first generated callback that failed a property, shrunk.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Shrunk {
    pub command: &'static str,
    /// Its number among the callbacks the property was checked on, from 1.
    pub found_at: u64,
    /// From the start of the fuzz run until it was found.
    pub found_after_ms: f64,
    /// Simpler versions that still failed, and all those sent.
    pub steps: u64,
    pub tries: u64,
    pub shrink_ms: f64,
    /// Shrinking stopped at its budget, before it was done.
    pub cut_short: bool,
    /// The shrunk body (for same-decision, the first of the two).
    pub body: Value,
    pub files: Vec<String>,
    /// The commands that show the failure again.
    pub reproduce: Vec<String>,
}

/// A property's run so far.
struct Track {
    property: Property,
    checked: u64,
    undecided: u64,
    failed: Option<(Shrunk, Failure)>,
}

impl Suite {
    pub(super) async fn fuzz(&mut self, property: Property) -> Result<Outcome, TransportError> {
        let Some(plan) = self.fuzz_plan.clone() else {
            return Ok(Outcome::skip("no --fuzz N given"));
        };
        if self.fuzzed.is_empty() {
            self.fuzzed = self.fuzz_run(&plan).await?;
        }
        let Some(i) = self.fuzzed.iter().position(|(p, _)| *p == property) else {
            return Ok(Outcome::skip("not selected"));
        };
        Ok(self.fuzzed.swap_remove(i).1)
    }

    /// Generates and checks, for each command, until every property chosen has failed or
    /// `per_command` callbacks have been checked; then shrinks each first failure.
    async fn fuzz_run(&mut self, plan: &Plan) -> Result<Vec<(Property, Outcome)>, TransportError> {
        let started = Instant::now();
        // Time spent shrinking, which is not time spent finding.
        let mut shrinking = Duration::ZERO;
        let mut tracks: Vec<Track> = self
            .fuzz_properties
            .iter()
            .map(|property| Track {
                property: *property,
                checked: 0,
                undecided: 0,
                failed: None,
            })
            .collect();
        for &callback in &plan.commands {
            for index in 0..plan.per_command {
                let pending: Vec<Property> = tracks
                    .iter()
                    .filter(|t| t.failed.is_none() && t.property.applies_to(callback))
                    .map(|t| t.property)
                    .collect();
                if pending.is_empty() {
                    break;
                }
                let g = generate(plan.seed, callback, index);
                let observed = self
                    .observe(&g, pending.contains(&Property::SameDecision))
                    .await?;
                // One callback that fails several properties is shrunk once, and then from
                // there for the next, when it still fails that one the same way.
                let mut shrunk_here: Option<Generated> = None;
                for track in tracks.iter_mut().filter(|t| pending.contains(&t.property)) {
                    track.checked += 1;
                    let failure = match verdict(track.property, &g, &observed) {
                        Verdict::Held => continue,
                        Verdict::Undecided => {
                            track.undecided += 1;
                            continue;
                        }
                        Verdict::Failed(failure) => *failure,
                    };
                    let found_after = started.elapsed().saturating_sub(shrinking);
                    let shrink_started = Instant::now();
                    let (from, failure) = match shrunk_here.take() {
                        Some(shrunk) => {
                            let again = self
                                .observe(&shrunk, track.property == Property::SameDecision)
                                .await?;
                            match verdict(track.property, &shrunk, &again) {
                                Verdict::Failed(again) if again.key == failure.key => {
                                    (shrunk, *again)
                                }
                                _ => (g.clone(), failure),
                            }
                        }
                        None => (g.clone(), failure),
                    };
                    let (smallest, mut shrunk, failure) =
                        self.shrink(plan, track.property, from, failure).await?;
                    shrinking += shrink_started.elapsed();
                    shrunk.found_at = track.checked;
                    shrunk.found_after_ms = millis(found_after);
                    track.failed = Some((shrunk, failure));
                    shrunk_here = Some(smallest);
                }
            }
        }
        let mut outcomes = Vec::with_capacity(tracks.len());
        for track in tracks {
            outcomes.push((track.property, self.fuzz_outcome(plan, track)));
        }
        Ok(outcomes)
    }

    /// Sends `g`, and its variant when `variant` is asked for, `g` is a before callback and
    /// its own answer conforms.
    async fn observe(&mut self, g: &Generated, variant: bool) -> Result<Observed, TransportError> {
        let (answer, judgement) = self.send_generated(g).await?;
        let variant = match &judgement {
            Some(judgement)
                if variant && g.callback.kind == Kind::Before && judgement.conforms() =>
            {
                Some(self.send_generated(&g.variant()).await?)
            }
            _ => None,
        };
        Ok(Observed {
            answer,
            judgement,
            variant,
        })
    }

    /// Sends one generated callback, signed at the current time when there is a token; a
    /// target that cannot be reached at all is the only error.
    async fn send_generated(
        &mut self,
        g: &Generated,
    ) -> Result<(Result<Exchange, TransportError>, Option<Judgement>), TransportError> {
        let now = self.now();
        let signature = self.token.as_deref().map(|token| (sign(token, now), now));
        let url = g.url(&self.base, self.event.sdkappid, signature);
        let answer = self.sender.post(&url, Bytes::from(g.body_bytes())).await;
        // Counted, but not kept for -v: a fuzz run sends hundreds.
        self.lost.count(Some(g.callback), &answer);
        let answer = match answer {
            Err(e) if e.is_unreachable() => return Err(e),
            answer => answer,
        };
        let judgement = answer
            .as_ref()
            .ok()
            .map(|exchange| judge(g.callback, &g.values.subscribers, exchange.reply()));
        Ok((answer, judgement))
    }

    /// Shrinks `g`, which failed `property` as `failure` says, to the least that still fails
    /// it the same way, within the budget; writes the reproducer.
    async fn shrink(
        &mut self,
        plan: &Plan,
        property: Property,
        mut g: Generated,
        mut failure: Failure,
    ) -> Result<(Generated, Shrunk, Failure), TransportError> {
        let started = Instant::now();
        let (mut steps, mut tries, mut cut_short) = (0, 0, false);
        // Passes over the simpler versions, each going on from where the last success was
        // (those before it failed to fail, and mostly still do), until a whole pass finds none.
        let mut candidates = shrink::candidates(&g);
        let (mut at, mut progressed) = (0, false);
        loop {
            if at >= candidates.len() {
                if !progressed {
                    break;
                }
                (at, progressed) = (0, false);
                continue;
            }
            if tries >= SHRINK_TRIES || started.elapsed() >= SHRINK_TIME {
                cut_short = true;
                break;
            }
            tries += 1;
            let candidate = &candidates[at];
            let observed = self
                .observe(candidate, property == Property::SameDecision)
                .await?;
            match verdict(property, candidate, &observed) {
                Verdict::Failed(again) if again.key == failure.key => {
                    g = candidate.clone();
                    failure = *again;
                    steps += 1;
                    progressed = true;
                    candidates = shrink::candidates(&g);
                }
                _ => at += 1,
            }
        }
        let shrink_ms = millis(started.elapsed());
        let (files, reproduce) = self.reproducer(plan, property, &g, &failure);
        let shrunk = Shrunk {
            command: g.callback.name,
            found_at: 0,
            found_after_ms: 0.0,
            steps,
            tries,
            shrink_ms,
            cut_short,
            body: g.body(),
            files,
            reproduce,
        };
        Ok((g, shrunk, failure))
    }

    /// The files and commands that show `g`'s failure of `property` again. A body that cannot
    /// be written is said in place of its command.
    fn reproducer(
        &self,
        plan: &Plan,
        property: Property,
        g: &Generated,
        failure: &Failure,
    ) -> (Vec<String>, Vec<String>) {
        let target = Target {
            program: &plan.program,
            url: &plan.shown_url,
            sdkappid: self.event.sdkappid,
            signed: self.token.is_some(),
            timeout: plan.timeout,
        };
        let stem = format!("{}-{}-seed{}", g.callback.name, property.name(), plan.seed);
        let sent: Vec<(Generated, String, Vec<String>)> = match property {
            Property::SameDecision => vec![
                (g.clone(), format!("{stem}-a.json"), Vec::new()),
                (
                    g.variant(),
                    format!("{stem}-b.json"),
                    failure.decision.as_ref().map(expecting).unwrap_or_default(),
                ),
            ],
            Property::RefusedWereSent => {
                vec![(
                    g.clone(),
                    format!("{stem}.json"),
                    vec!["--strict".to_owned()],
                )]
            }
            _ => vec![(g.clone(), format!("{stem}.json"), Vec::new())],
        };
        let mut files = Vec::new();
        let mut commands = Vec::new();
        for (g, name, extra) in sent {
            match reproduce::write_body(&plan.dir, &name, &g.body_bytes()) {
                Ok(path) => {
                    commands.push(reproduce::send_command(&target, &g, &path, &extra));
                    files.push(path.display().to_string());
                }
                Err(e) => commands.push(format!("({}; {})", e.message, e.hint.unwrap_or_default())),
            }
        }
        (files, commands)
    }

    /// A property's case, from its run.
    fn fuzz_outcome(&self, plan: &Plan, track: Track) -> Outcome {
        let property = track.property;
        let rerun = format!("seed {}", plan.seed);
        let mut fuzzed = Fuzzed {
            seed: plan.seed,
            per_command: plan.per_command,
            checked: track.checked,
            undecided: track.undecided,
            failure: None,
        };
        let outcome = if let Some((shrunk, failure)) = track.failed {
            let message = format!(
                "{} callback {} of those generated ({rerun}) failed it: {}; shrunk to the body below",
                shrunk.command, shrunk.found_at, failure.finding.message,
            );
            fuzzed.failure = Some(shrunk);
            let finding = Finding {
                message: message.clone(),
                ..failure.finding
            };
            Outcome {
                message,
                ..Outcome::found(finding, failure.evidence)
            }
            .with_control(failure.control)
        } else if track.checked == 0 {
            Outcome::skip(match property {
                Property::RefusedWereSent => {
                    "no callback with subscribers to refuse was generated: add --command before-subscribe"
                }
                _ => {
                    "no before callback was generated: add --command with one (before-subscribe, before-create, before-send)"
                }
            })
        } else if track.checked == track.undecided {
            let finding = Finding::error(
                "inconclusive",
                "answer",
                format!(
                    "inconclusive: none of the {} generated callbacks got an answer that could tell ({rerun}); see fuzz/conforming-in-time",
                    track.checked
                ),
            );
            Outcome::found(finding, None)
        } else {
            let decided = track.checked - track.undecided;
            Outcome::pass(
                format!(
                    "{decided} generated callbacks held it ({rerun}){}",
                    if track.undecided > 0 {
                        format!("; {} more could not tell", track.undecided)
                    } else {
                        String::new()
                    }
                ),
                None,
            )
        };
        Outcome {
            fuzzed: Some(Box::new(fuzzed)),
            ..outcome
        }
    }
}
