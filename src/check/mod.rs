//! The conformance and security suite behind `oa-hook check`: each case sends one or more
//! callbacks, judges the answers with the protocol module, and says pass, fail, warn or skip.
//! The cases and their choice are in `cases`, what they come to in `result`; each kind of case
//! sends from a file of its own.

mod cases;
mod delivery;
pub(crate) mod fuzz;
mod result;
mod robustness;
mod scenario;
mod security;

pub(crate) use cases::{Case, Covered, select};
pub(crate) use result::{CaseResult, Counts, Evidence, Exchanged, Ran, RunVerdict, Status, Stop};

use crate::client::{Exchange, Sender, TransportError};
use crate::clock::Clock;
use crate::config::Scenario;
use crate::expect::Expectation;
use crate::interrupt::Interrupts;
use crate::protocol::{Callback, Severity, judge, param};
use crate::request::{Event, Given, SUBSCRIBER, Template};
use crate::veto::LostVetoes;
use bytes::Bytes;
use cases::{Forgery, Probe};
use result::{Outcome, conforming, unanswered};
use url::Url;

const BATCH_SIZE: usize = 100;

/// Everything a case needs to build and send callbacks.
pub(crate) struct Suite {
    /// The callback the robustness cases send: the first covered.
    pub first: &'static Callback,
    pub sender: Sender,
    pub base: Url,
    pub event: Event,
    pub token: Option<String>,
    pub expectation: Expectation,
    pub clock: Clock,
    /// Keep every request and answer for the report (`-v`).
    pub verbose: bool,
    /// The current case's requests and answers, with `verbose`.
    pub transcript: Vec<Exchanged>,
    /// The current case's before callbacks, and those answered too late to veto.
    pub lost: LostVetoes,
    /// `--fuzz`: what to generate.
    pub fuzz_plan: Option<fuzz::Plan>,
    /// The fuzz properties the cases chose, and their outcomes once the fuzz run is done.
    pub fuzz_properties: Vec<fuzz::Property>,
    pub fuzzed: Vec<(fuzz::Property, Outcome)>,
    /// The team's own rules, from the config file.
    pub scenarios: Vec<Scenario>,
}

impl Suite {
    /// Runs `cases` in order until the last, a target that cannot be reached (the first case
    /// that cannot, when no case before it got an answer), or the first signal in
    /// `interrupts`; the results so far come with why it stopped, so that reports can still
    /// be written.
    pub(crate) async fn run(&mut self, cases: &[Case], interrupts: &Interrupts) -> Ran {
        let mut results = Vec::with_capacity(cases.len());
        self.fuzz_properties = cases
            .iter()
            .filter_map(|case| match case.probe {
                Probe::Fuzz(property) => Some(property),
                _ => None,
            })
            .collect();
        for case in cases {
            let ran = tokio::select! {
                biased;
                signal = interrupts.wait() => {
                    let stop = Stop::Interrupted { signal, total: cases.len() };
                    return Ran { results, stop: Some(stop) };
                }
                ran = self.run_case(case.probe) => ran,
            };
            let outcome = match ran {
                Ok(outcome) => outcome,
                Err(e)
                    if e.is_unreachable()
                        && results.iter().all(|r: &CaseResult| r.evidence.is_none()) =>
                {
                    let stop = Stop::Unreachable {
                        case: Some(case.clone()),
                        error: e.into_error(),
                    };
                    return Ran {
                        results,
                        stop: Some(stop),
                    };
                }
                Err(e) => Outcome::found(unanswered(&e, Severity::Error, e.message()), None),
            };
            results.push(CaseResult {
                case: case.clone(),
                status: outcome.status,
                message: outcome.message,
                findings: outcome.findings,
                evidence: outcome.evidence,
                control: outcome.control,
                transcript: std::mem::take(&mut self.transcript),
                went_ahead: std::mem::take(&mut self.lost),
                fuzz: outcome.fuzzed,
            });
        }
        Ran {
            results,
            stop: None,
        }
    }

    /// A case's outcome, or the error of a request that got no answer for the case to judge:
    /// the run fails the case with it, or stops if the target could not be reached.
    async fn run_case(&mut self, probe: Probe) -> Result<Outcome, TransportError> {
        if probe.needs_token() && self.token.is_none() {
            return Ok(Outcome::skip(
                "no token: pass --token (or set OA_HOOK_TOKEN) to check how forged and replayed callbacks are handled",
            ));
        }
        let first = self.template(self.first, &self.event);
        let none = Expectation::default();
        Ok(match probe {
            Probe::Answer(callback) => {
                self.answer(&self.template(callback, &self.event), &none)
                    .await?
            }
            Probe::Batch(callback) => {
                let batch = (1..=BATCH_SIZE).map(|i| format!("user{i:03}")).collect();
                let event = Event {
                    fields: (self.event.fields.clone()).with(SUBSCRIBER, Given::Texts(batch)),
                    ..self.event.clone()
                };
                self.answer(&self.template(callback, &event), &none).await?
            }
            Probe::Decision(_) if self.expectation.is_empty() => Outcome::skip(
                "no expectation given: pass --expect allow|reject or --expect-refused USER",
            ),
            Probe::Decision(callback) => {
                let expectation = self.expectation.clone();
                self.answer(&self.template(callback, &self.event), &expectation)
                    .await?
            }
            Probe::Security(forgery, callback) => self.forged(forgery, callback).await?,
            Probe::KeepAlive => self.keep_alive(&first).await?,
            Probe::MalformedBody => self.malformed_body(&first).await?,
            Probe::OtherCommand => self.other_command(&first).await?,
            Probe::Scenario(i) => match self.scenarios.get(i).cloned() {
                Some(scenario) => self.scenario(&scenario).await?,
                None => Outcome::skip("no such scenario"),
            },
            Probe::Delivery(delivery, callback) => self.delivery(delivery, callback).await?,
            Probe::Fuzz(property) => self.fuzz(property).await?,
        })
    }

    fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    fn template(&self, callback: &'static Callback, event: &Event) -> Template {
        Template::from_event(
            callback,
            &self.base,
            event,
            self.token.as_deref(),
            self.clock.now_ms(),
        )
    }

    async fn send(
        &mut self,
        template: &Template,
        request_time: u64,
    ) -> Result<Exchange, TransportError> {
        let body = Bytes::from(template.body_bytes.clone());
        self.post(template.url_at(request_time), body).await
    }

    async fn post(&mut self, url: Url, body: Bytes) -> Result<Exchange, TransportError> {
        self.post_on(None, url, body).await
    }

    /// Every request of the suite goes through here, with `sender` or the suite's own, so
    /// that `-v` shows them all.
    async fn post_on(
        &mut self,
        sender: Option<&mut Sender>,
        url: Url,
        body: Bytes,
    ) -> Result<Exchange, TransportError> {
        let sender = sender.unwrap_or(&mut self.sender);
        let answer = sender.post(&url, body.clone()).await;
        self.noted(url, &body, answer)
    }

    /// Notes what came of a request sent, for the case's figures and `-v`.
    fn noted(
        &mut self,
        url: Url,
        body: &[u8],
        answer: Result<Exchange, TransportError>,
    ) -> Result<Exchange, TransportError> {
        self.lost.count(callback_in(&url), &answer);
        if self.verbose {
            self.transcript.push(Exchanged {
                url,
                body: body.to_vec(),
                answer: answer.clone(),
            });
        }
        answer
    }

    /// A genuine callback must get a conforming answer (and the expected decision, if any).
    async fn answer(
        &mut self,
        template: &Template,
        expectation: &Expectation,
    ) -> Result<Outcome, TransportError> {
        let exchange = self.send(template, self.now()).await?;
        let judgement = judge(template.callback, &template.subscribers, exchange.reply());
        let unmet = expectation.check(&judgement.decision);
        Ok(Outcome::judged(
            judgement,
            &exchange,
            unmet.into_iter().collect(),
        ))
    }
}

/// The callback a request's URL names (`CallbackCommand`), if it is of the family.
fn callback_in(url: &Url) -> Option<&'static Callback> {
    url.query_pairs()
        .find(|(name, _)| name == param::CALLBACK_COMMAND)
        .and_then(|(_, command)| Callback::by_command(&command))
}
