//! The conformance and security suite behind `oa-hook check`: each case sends one or more
//! callbacks, judges the answers with the protocol module, and says pass, fail, warn or skip.

use crate::client::{Exchange, Sender, TransportError};
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::Error;
use crate::expect::Expectation;
use crate::interrupt::{Interrupts, Signal};
use crate::protocol::{
    self, BUDGET, Callback, Finding, Judgement, Kind, OtherModuleCallback, Reply, Said, Severity,
    Veto, judge, param,
};
use crate::report::millis;
use crate::request::{Event, Given, SUBSCRIBER, Template, shown_options};
use crate::veto::LostVetoes;
use delivery::Delivery;

mod delivery;
pub(crate) mod fuzz;
use bytes::Bytes;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use url::Url;

/// One case of the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Case {
    /// Stable: reports, `--only` and `--skip` use it.
    pub id: Cow<'static, str>,
    pub description: Cow<'static, str>,
    #[serde(skip)]
    probe: Probe,
}

/// What a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Answer(&'static Callback),
    Batch(&'static Callback),
    Decision(&'static Callback),
    /// A forged, replayed or misdirected callback, beside a genuine one.
    Security(Forgery, &'static Callback),
    KeepAlive,
    MalformedBody,
    OtherCommand,
    /// The `[[scenario]]` of this index in the config file.
    Scenario(usize),
    /// What Chat's delivery does (protocol.md section 7), to this callback.
    Delivery(Delivery, &'static Callback),
    /// A property of the answers to generated callbacks (`--fuzz`).
    Fuzz(fuzz::Property),
    /// Not one of the suite's: a case another engine runs and reports as the suite's are.
    Elsewhere,
}

/// How a security case forges its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    WrongSdkAppid,
    MissingSdkAppid,
    BadSign,
    MissingSign,
    StaleRequestTime,
    FutureRequestTime,
    /// 90 s old, then 90 s ahead: past Tencent's guidance, within the 10 minutes above.
    Window,
}

impl Probe {
    /// Whether the case means something only with a Sign: the SdkAppid cases do not.
    fn needs_token(self) -> bool {
        matches!(
            self,
            Probe::Security(forgery, _)
                if !matches!(forgery, Forgery::WrongSdkAppid | Forgery::MissingSdkAppid)
        )
    }
}

impl Case {
    /// A case another engine runs (replay: one per callback), reported as the suite's are.
    pub(crate) fn elsewhere(id: String, description: String) -> Self {
        Case {
            id: Cow::Owned(id),
            description: Cow::Owned(description),
            probe: Probe::Elsewhere,
        }
    }

    /// The part of the id before the slash: the JUnit test suite.
    pub(crate) fn group(&self) -> &str {
        self.id.split_once('/').map_or(&self.id, |(group, _)| group)
    }

    fn of(id: String, description: String, probe: Probe) -> Self {
        Case {
            id: Cow::Owned(id),
            description: Cow::Owned(description),
            probe,
        }
    }
}

/// The security cases: id, what is not accepted, how it is forged.
const FORGERIES: &[(&str, &str, Forgery)] = &[
    (
        "wrong-sdkappid",
        "a correctly signed callback for another SdkAppid is not accepted",
        Forgery::WrongSdkAppid,
    ),
    (
        "missing-sdkappid",
        "a correctly signed callback without the SdkAppid parameter is not accepted",
        Forgery::MissingSdkAppid,
    ),
    (
        "bad-sign",
        "a callback whose Sign was made with another token is not accepted",
        Forgery::BadSign,
    ),
    (
        "missing-sign",
        "a callback without Sign and RequestTime is not accepted",
        Forgery::MissingSign,
    ),
    (
        "stale-request-time",
        "a correctly signed callback with a RequestTime 10 minutes old is not accepted",
        Forgery::StaleRequestTime,
    ),
    (
        "future-request-time",
        "a correctly signed callback with a RequestTime 10 minutes ahead is not accepted",
        Forgery::FutureRequestTime,
    ),
    (
        "window",
        "a correctly signed callback with a RequestTime 90 s old, or 90 s ahead, is not accepted: Tencent's guidance is 1 minute (a warning otherwise)",
        Forgery::Window,
    ),
];

const ROBUSTNESS: &[(&str, &str, Probe)] = &[
    (
        "robustness/keep-alive",
        "20 callbacks on one persistent connection all get conforming answers (a warning if the backend closes it)",
        Probe::KeepAlive,
    ),
    (
        "robustness/malformed-body",
        "a body that is not JSON gets a timely answer that is not a 5xx",
        Probe::MalformedBody,
    ),
    (
        "robustness/other-command",
        "an authentic callback of another module (State.StateChange) gets 200 OK/0: Chat sends every callback of an app to one URL",
        Probe::OtherCommand,
    ),
];

/// Which callbacks the answer and the security cases cover (`--command`).
#[derive(Debug, Clone)]
pub(crate) struct Covered {
    /// Each gets an answer case (and a decision case, when it decides).
    pub answered: Vec<&'static Callback>,
    /// Each gets the security cases.
    pub secured: Vec<&'static Callback>,
    /// The whole family (`--command all`): the opt-in cases come too.
    pub all: bool,
    /// `--fuzz`: the fuzz cases come too.
    pub fuzz: bool,
}

impl Covered {
    /// `--command` as given; none is the two subscriber callbacks, and the security cases
    /// for before-subscribe alone, as before the family.
    pub(crate) fn new(commands: &[&'static Callback]) -> Self {
        if commands.is_empty() {
            let find = |name| Callback::find(name).unwrap_or(&protocol::CALLBACKS[0]);
            let before = find("before-subscribe");
            return Covered {
                answered: vec![before, find("after-unsubscribe")],
                secured: vec![before],
                all: false,
                fuzz: false,
            };
        }
        Covered {
            answered: commands.to_vec(),
            secured: commands.to_vec(),
            all: commands.len() == protocol::CALLBACKS.len(),
            fuzz: false,
        }
    }

    /// The callback the robustness cases send.
    pub(crate) fn first(&self) -> &'static Callback {
        self.answered
            .first()
            .copied()
            .unwrap_or(&protocol::CALLBACKS[0])
    }
}

/// The cases for `covered`: each callback's answer, batch and decision cases, the security
/// cases of each secured one (before-subscribe's named `security/<case>`, the others'
/// `security/<command>/<case>`), the robustness cases.
fn cases(covered: &Covered) -> Vec<Case> {
    let mut cases = Vec::new();
    for &callback in &covered.answered {
        let name = callback.name;
        cases.push(Case::of(
            format!("{name}/answer"),
            format!("a plain signed {name} callback gets a conforming answer within 2 s"),
            Probe::Answer(callback),
        ));
        if callback.veto == Some(Veto::Subscription) {
            cases.push(Case::of(
                format!("{name}/batch-100"),
                "a callback with 100 subscribers gets a conforming answer within 2 s".into(),
                Probe::Batch(callback),
            ));
        }
        if callback.kind == Kind::Before {
            cases.push(Case::of(
                format!("{name}/decision"),
                "the decision matches --expect / --expect-refused".into(),
                Probe::Decision(callback),
            ));
        }
    }
    for &callback in &covered.secured {
        let subscribe = callback.veto == Some(Veto::Subscription);
        for (id, description, forgery) in FORGERIES {
            let (id, description) = if subscribe {
                (format!("security/{id}"), (*description).to_owned())
            } else {
                (
                    format!("security/{}/{id}", callback.name),
                    format!("{description} ({})", callback.name),
                )
            };
            cases.push(Case::of(
                id,
                description,
                Probe::Security(*forgery, callback),
            ));
        }
    }
    cases.extend(ROBUSTNESS.iter().map(|(id, description, probe)| Case {
        id: Cow::Borrowed(id),
        description: Cow::Borrowed(description),
        probe: *probe,
    }));
    cases.extend(delivery::cases(covered));
    if covered.fuzz {
        cases.extend(fuzz::cases());
    }
    cases
}

/// How far off the clock the replayed callbacks are.
const SKEW_PROBE: u64 = 600;
/// How far off the clock the `window` case's callbacks are: past Tencent's 1-minute guidance,
/// short of the 10 minutes of the stale and future cases.
const WINDOW_PROBE: u64 = 90;
const KEEP_ALIVE_REQUESTS: usize = 20;
/// The finding of a backend that closes connections, and what it costs.
const NO_KEEP_ALIVE: &str = "no-keep-alive";
const CLOSED_CONNECTIONS: &str = "each callback then waits for a new connection, out of Chat's 2 s";
const BATCH_SIZE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
}

/// What came back for one request, for the report: the answer as received and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Evidence {
    #[serde(flatten)]
    pub answer: protocol::Evidence,
    pub latency_ms: f64,
}

impl Evidence {
    pub(crate) fn of(exchange: &Exchange) -> Self {
        Evidence::read(protocol::Evidence::of(exchange.reply()), exchange)
    }

    /// With the answer already read (a judgement reads it once, evidence included).
    fn read(answer: protocol::Evidence, exchange: &Exchange) -> Self {
        Evidence {
            answer,
            latency_ms: millis(exchange.latency),
        }
    }

    /// The evidence a judgement of `exchange` kept, or read afresh if it kept none.
    fn judged(judgement: &mut Judgement, exchange: &Exchange) -> Self {
        match judgement.evidence.take() {
            Some(answer) => Evidence::read(answer, exchange),
            None => Evidence::of(exchange),
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {:.1} ms", self.answer, self.latency_ms)
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseResult {
    #[serde(flatten)]
    pub case: Case,
    pub status: Status,
    /// One sentence: why it failed, warned or was skipped, or what passed.
    pub message: String,
    pub findings: Vec<Finding>,
    pub evidence: Option<Evidence>,
    /// A security case's genuine callback, sent beside the forgery: the forgery's refusal means
    /// something only when this was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<Evidence>,
    /// Every request of the case and its answer, with `-v`.
    #[serde(skip)]
    pub transcript: Vec<Exchanged>,
    /// The case's before callbacks, and those that went ahead on Chat's timeout: reports sum
    /// them over the run.
    #[serde(skip)]
    pub went_ahead: LostVetoes,
    /// A fuzz case's run: the seed, how many callbacks, and the shrunk failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuzz: Option<Box<fuzz::Fuzzed>>,
}

impl CaseResult {
    /// The finding that made the case fail or warn: the first of that severity. Reports name
    /// the case's cause by its code.
    pub(crate) fn cause(&self) -> Option<&Finding> {
        let severity = match self.status {
            Status::Fail => Severity::Error,
            Status::Warn => Severity::Warning,
            Status::Pass | Status::Skip => return None,
        };
        self.findings
            .iter()
            .find(|f| f.severity == severity)
            .or(self.findings.first())
    }
}

/// One request as sent and what came of it, for `-v`.
#[derive(Debug, Clone)]
pub(crate) struct Exchanged {
    pub url: Url,
    pub body: Vec<u8>,
    pub answer: Result<Exchange, TransportError>,
}

/// The built-in cases for `covered` and one per scenario (`scenario/<name>`), those whose ids
/// contain one of `only` (all when empty) and none of `skip`.
pub(crate) fn select(
    only: &[String],
    skip: &[String],
    scenarios: &[Scenario],
    covered: &Covered,
) -> Vec<Case> {
    let teams = scenarios.iter().enumerate().map(|(i, scenario)| Case {
        id: Cow::Owned(format!("scenario/{}", scenario.name)),
        description: Cow::Owned(format!("the team's rule: {}", scenario.name)),
        probe: Probe::Scenario(i),
    });
    cases(covered)
        .into_iter()
        .chain(teams)
        .filter(|c| only.is_empty() || only.iter().any(|p| c.id.contains(p.as_str())))
        // Opt-in: asked for by --only, or with the whole family.
        .filter(|c| !matches!(c.probe, Probe::Delivery(..)) || covered.all || !only.is_empty())
        .filter(|c| !skip.iter().any(|p| c.id.contains(p.as_str())))
        .collect()
}

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
                    fields: self
                        .event
                        .fields
                        .clone()
                        .with(SUBSCRIBER, Given::Texts(batch)),
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
            Probe::Elsewhere => Outcome::skip("not a case of the suite"),
        })
    }

    /// `callback` forged as `forgery` says, beside the genuine one.
    async fn forged(
        &mut self,
        forgery: Forgery,
        callback: &'static Callback,
    ) -> Result<Outcome, TransportError> {
        let genuine = self.template(callback, &self.event);
        let now = self.now();
        let forged = match forgery {
            Forgery::WrongSdkAppid => {
                let event = Event {
                    sdkappid: self.event.sdkappid.wrapping_add(1),
                    ..self.event.clone()
                };
                Forged::refused(
                    self.template(callback, &event).url_at(now),
                    "a callback for another SdkAppid",
                    "accepted-wrong-sdkappid",
                )
            }
            Forgery::MissingSdkAppid => Forged::refused(
                genuine.url_without(param::SDK_APPID, now),
                "a callback without SdkAppid",
                "accepted-missing-sdkappid",
            ),
            Forgery::BadSign => {
                let forged_token = format!("{}-forged", self.token.as_deref().unwrap_or_default());
                Forged::refused(
                    genuine.clone().with_token(&forged_token).url_at(now),
                    "a Sign made with another token",
                    "accepted-bad-sign",
                )
            }
            Forgery::MissingSign => Forged::refused(
                genuine.clone().unsigned().url_at(now),
                "a callback without Sign",
                "accepted-missing-sign",
            ),
            Forgery::StaleRequestTime => Forged::refused(
                genuine.url_at(now.saturating_sub(SKEW_PROBE)),
                "a callback signed 10 minutes ago (a replay)",
                "accepted-stale-request-time",
            ),
            Forgery::FutureRequestTime => Forged::refused(
                genuine.url_at(now.saturating_add(SKEW_PROBE)),
                "a callback dated 10 minutes ahead",
                "accepted-future-request-time",
            ),
            Forgery::Window => {
                let ago = Forged::outside_guidance(
                    genuine.url_at(now.saturating_sub(WINDOW_PROBE)),
                    "a callback signed 90 s ago",
                );
                let ahead = Forged::outside_guidance(
                    genuine.url_at(now.saturating_add(WINDOW_PROBE)),
                    "a callback dated 90 s ahead",
                );
                let ago = self.refused(&genuine, ago).await?;
                return Ok(ago.and(self.refused(&genuine, ahead).await?));
            }
        };
        self.refused(&genuine, forged).await
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

    /// A forged, replayed or misdirected callback must not be accepted, while the genuine one,
    /// sent just before it, is: a backend that refuses both proves nothing (protocol.md
    /// section 4), so that is inconclusive, never a pass.
    async fn refused(
        &mut self,
        genuine: &Template,
        forged: Forged,
    ) -> Result<Outcome, TransportError> {
        let what = forged.what;
        let (control, malformed) = match self.send(genuine, self.now()).await {
            Err(e) if !e.is_unreachable() => (None, None),
            answer => {
                let (control, malformed) = control_of(genuine, &answer?);
                (Some(control), malformed)
            }
        };
        // A before callback answered after Chat's budget goes ahead as if unanswered: a late
        // refusal refuses nothing, and a late acceptance of the genuine one is no acceptance.
        let before = genuine.callback.kind == Kind::Before;
        let in_time = |evidence: &Evidence| !before || evidence.latency_ms <= millis(BUDGET);
        let body = Bytes::from(genuine.body_bytes.clone());
        let forgery = match self.post(forged.url.clone(), body).await {
            Err(e) if !e.is_unreachable() => match e {
                TransportError::Broken(message) => Err(message),
                _ => {
                    let gets_through = if before {
                        "Chat gives up after 2 s and a before callback then goes ahead, so the forgery would get through"
                    } else {
                        "whether the backend acted on it is unknown"
                    };
                    let finding = Finding::error(
                        "no-refusal",
                        "latency",
                        format!(
                            "{what} got {}; {gets_through}: answer 401 or ActionStatus FAIL at once",
                            e.message()
                        ),
                    );
                    return Ok(Outcome::found(finding, None).with_control(control));
                }
            },
            answer => Ok(Evidence::of(&answer?)),
        };
        // A 5xx or broken HTTP refuses, but by the backend crashing on what it was sent.
        let (refusal, crashed) = match &forgery {
            Ok(forgery) if forgery.answer.accepted() => {
                let finding = forged.accepted(&forgery.answer);
                return Ok(Outcome::found(finding, Some(forgery.clone())).with_control(control));
            }
            Ok(forgery) if !in_time(forgery) => {
                let finding = Finding::error(
                    "refused-too-late",
                    "latency",
                    format!(
                        "refused {what} only after {:.0} ms: {}; Chat gives up after 2 s and a before callback then goes ahead, so the forgery would get through",
                        forgery.latency_ms, forgery.answer
                    ),
                );
                return Ok(Outcome::found(finding, Some(forgery.clone())).with_control(control));
            }
            Ok(forgery) => (forgery.answer.to_string(), forgery.answer.status >= 500),
            Err(message) => (message.clone(), true),
        };
        let evidence = forgery.ok();
        let outcome = match control
            .as_ref()
            .filter(|c| c.answer.accepted() && in_time(c))
        {
            Some(accepted) if crashed => Outcome::found(
                Finding::warning(
                    "refused-by-crashing",
                    "status",
                    format!(
                        "refused {what} by crashing: {refusal}; the genuine callback was accepted: {}; answer a forgery with 401 or ActionStatus FAIL, not a server error",
                        accepted.answer
                    ),
                ),
                evidence,
            ),
            Some(accepted) => Outcome::pass(
                format!(
                    "refused {what}: {refusal}; the genuine callback was accepted: {}",
                    accepted.answer
                ),
                evidence,
            ),
            None => Outcome::found(
                self.inconclusive(genuine.callback, control.as_ref(), malformed, what),
                evidence,
            ),
        };
        Ok(outcome.with_control(control))
    }

    /// Why a security case proves nothing: the genuine callback beside it was not accepted in
    /// time. Says what its answer showed and what to change: a malformed answer is fixed first,
    /// a command the backend says it does not handle is swapped for one it does, and a refusal
    /// of the values it was sent with is met by changing them.
    fn inconclusive(
        &self,
        callback: &Callback,
        control: Option<&Evidence>,
        malformed: Option<Finding>,
        what: &str,
    ) -> Finding {
        let proves_nothing = format!("so refusing {what} proves nothing");
        let message = match (control, malformed) {
            (None, _) => format!(
                "inconclusive: the genuine callback got no answer, {proves_nothing}; make the backend answer a genuine callback ({}), then run again",
                self.accepted_values(callback)
            ),
            (Some(c), _) if c.answer.accepted() => format!(
                "inconclusive: the genuine callback was accepted only after {:.0} ms, past Chat's 2 s budget, {proves_nothing}; make the backend answer within 2 s, then run again",
                c.latency_ms
            ),
            (Some(_), Some(finding)) => format!(
                "inconclusive: the genuine callback got an answer that does not conform ({finding}), {proves_nothing}; the security cases need a conforming answer to a genuine callback first (see {}/answer)",
                callback.name
            ),
            (Some(c), None) if says_unhandled(&c.answer) => format!(
                "inconclusive: the genuine callback was refused too: {}, which says {} is not handled, {proves_nothing}; pass --command with a callback the backend handles, or answer every authentic callback it does not handle with HTTP 200 {}: Chat sends every callback of an app to one URL",
                c.answer,
                callback.command,
                ok_answer()
            ),
            (Some(c), None) => format!(
                "inconclusive: the genuine callback was refused too: {}, {proves_nothing}; make the backend accept a genuine callback ({}), then run again",
                c.answer,
                self.accepted_values(callback)
            ),
        };
        Finding::error("inconclusive", "control", message)
    }

    /// A team's rule: its callback gets a conforming answer, and the decision it expects.
    async fn scenario(&mut self, scenario: &Scenario) -> Result<Outcome, TransportError> {
        let event = Event {
            fields: self.event.fields.overlaid(&scenario.event),
            platform: scenario
                .platform
                .clone()
                .unwrap_or_else(|| self.event.platform.clone()),
            client_ip: scenario.client_ip.unwrap_or(self.event.client_ip),
            event_time: scenario.event_time.or(self.event.event_time),
            // A key the scenario sets for a field its command's body lacks is a mistake, said
            // as for an option on the command line.
            given: scenario.event.options().collect(),
            ..self.event.clone()
        };
        let body = scenario.body.as_deref();
        let template = match Template::new(
            scenario.callback(),
            &self.base,
            &event,
            body,
            self.token.as_deref(),
            self.clock.now_ms(),
        ) {
            Ok(template) => template,
            Err(e) => {
                let finding = Finding::error("invalid-scenario", "scenario", e.message);
                return Ok(Outcome::found(finding, None));
            }
        };
        let expectation = Expectation {
            outcome: scenario.expect,
            refused: scenario.expect_refused.clone(),
        };
        self.answer(&template, &expectation).await
    }

    /// The values `callback` was sent with, as options to change them by.
    fn accepted_values(&self, callback: &Callback) -> String {
        let mut options = vec![format!("--sdkappid {}", self.event.sdkappid)];
        options.extend(shown_options(callback, &self.event, self.clock.now_ms()));
        format!(
            "it was sent with {}{}",
            options.join(", "),
            if self.token.is_some() {
                " and the --token given"
            } else {
                " and no token"
            }
        )
    }

    /// Several callbacks over one HTTP/1.1 connection, as Chat keeps connections open. Over
    /// TLS the suite's kept-alive pool is used, which cannot prove a single connection. A
    /// backend that closes the connection still answers Chat, over a new connection each
    /// time: a warning, while an answer that does not conform fails.
    async fn keep_alive(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        let mut one = self.sender.on_one_connection().await.transpose()?;
        let over = if one.is_some() {
            "on one connection"
        } else {
            "over a kept-alive HTTPS pool"
        };
        let body = Bytes::from(template.body_bytes.clone());
        let mut last = None;
        for i in 1..=KEEP_ALIVE_REQUESTS {
            let url = template.url_at(self.now());
            let callback = format!("callback {i} of {KEEP_ALIVE_REQUESTS}");
            let exchange = match self.post_on(one.as_mut(), url, body.clone()).await {
                Ok(exchange) => exchange,
                // Once connected, the one connection closing is what this case finds.
                Err(e) if e.is_unreachable() && one.is_none() => return Err(e),
                // The connection that carried an answer failed the next callback: the backend
                // closed it in between (as `php -S` does), or broke its answer. A new
                // connection tells which.
                Err(e) if one.is_some() && i > 1 && !matches!(e, TransportError::Timeout(_)) => {
                    return self.on_a_new_connection(template, &callback, &e).await;
                }
                Err(e) => {
                    let message = format!("{callback} {over}: {}", e.message());
                    return Ok(Outcome::found(
                        unanswered(&e, Severity::Error, message),
                        last.as_ref().map(Evidence::of),
                    ));
                }
            };
            let judgement = judge(template.callback, &template.subscribers, exchange.reply());
            if !judgement.conforms() {
                return Ok(Outcome::judged(judgement, &exchange, Vec::new())
                    .prefixed(&format!("{callback} {over}")));
            }
            if exchange.closes_connection() {
                let finding = Finding::warning(
                    NO_KEEP_ALIVE,
                    "connection",
                    format!(
                        "{callback} was answered with `Connection: close`: {CLOSED_CONNECTIONS}"
                    ),
                );
                return Ok(Outcome::found(finding, Evidence::of(&exchange)));
            }
            last = Some(exchange);
        }
        Ok(Outcome::pass(
            format!("{KEEP_ALIVE_REQUESTS} conforming answers {over}"),
            last.as_ref().map(Evidence::of),
        ))
    }

    /// `callback` again, on a new connection, after the kept one failed it with `failed`: a
    /// conforming answer shows the backend closed the kept one (a warning).
    async fn on_a_new_connection(
        &mut self,
        template: &Template,
        callback: &str,
        failed: &TransportError,
    ) -> Result<Outcome, TransportError> {
        let url = template.url_at(self.now());
        let body = Bytes::from(template.body_bytes.clone());
        let again = match self.sender.on_one_connection().await {
            Some(Ok(mut fresh)) => self.post_on(Some(&mut fresh), url, body).await,
            Some(Err(e)) => Err(e),
            None => self.post(url, body).await,
        };
        let closed = format!("{callback} on the kept connection: {}", failed.message());
        let exchange = match again {
            Ok(exchange) => exchange,
            Err(e) => {
                let message = format!("{closed}; on a new connection: {}", e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Error, message),
                    None,
                ));
            }
        };
        let judgement = judge(template.callback, &template.subscribers, exchange.reply());
        if !judgement.conforms() {
            return Ok(Outcome::judged(judgement, &exchange, Vec::new())
                .prefixed(&format!("{closed}; on a new connection")));
        }
        let finding = Finding::warning(
            NO_KEEP_ALIVE,
            "connection",
            format!(
                "the backend closed the connection after an answer: {closed}; on a new connection it got a conforming answer: {CLOSED_CONNECTIONS}"
            ),
        );
        Ok(Outcome::found(finding, Evidence::of(&exchange)))
    }

    async fn malformed_body(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        // The callback's own body cut in half: JSON that breaks off, for the command's URL.
        let whole = &template.body_bytes;
        let body = Bytes::copy_from_slice(&whole[..whole.len() / 2]);
        let url = template.url_at(self.now());
        let exchange = match self.post(url, body).await {
            Err(e) if !e.is_unreachable() => {
                let message = format!("invalid JSON got no answer: {}", e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Warning, message),
                    None,
                ));
            }
            answer => answer?,
        };
        let evidence = Evidence::of(&exchange);
        Ok(if exchange.status >= 500 {
            let finding = Finding::warning(
                "server-error",
                "status",
                format!(
                    "invalid JSON got {}: a client mistake should get a 4xx or a FAIL answer, not a server error",
                    evidence.answer
                ),
            );
            Outcome::found(finding, evidence)
        } else if exchange.latency > BUDGET {
            let message = format!(
                "invalid JSON was answered in {} ms, over Chat's 2 s budget",
                exchange.latency.as_millis()
            );
            Outcome::found(over_budget(message), evidence)
        } else {
            Outcome::pass(format!("invalid JSON got {}", evidence.answer), evidence)
        })
    }

    /// An app has one callback URL for every callback: an authentic callback of another
    /// module must get 200 OK/0, or the backend fails (or, for a before callback, vetoes)
    /// events it does not even handle.
    async fn other_command(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        let now = self.now();
        let other = OtherModuleCallback::STATE_CHANGE;
        let url = template.url_for(other.command, now);
        let body = Bytes::from(other.body(self.clock.now_ms()).to_string());
        let exchange = match self.post(url, body).await {
            Err(e) if !e.is_unreachable() => {
                let message = format!("{} got no answer: {}", other.command, e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Warning, message),
                    None,
                ));
            }
            answer => answer?,
        };
        let evidence = Evidence::of(&exchange);
        Ok(if !evidence.answer.accepted() {
            let finding = Finding::warning(
                "other-command-refused",
                "answer",
                format!(
                    "{} got {}; Chat sends every callback of an app to one URL, so answer an authentic callback you do not handle with HTTP 200 {}: a FAIL or ErrorCode 1 to another module's before callback vetoes that event, and anything but 200 is logged as a webhook failure",
                    other.command,
                    evidence.answer,
                    ok_answer()
                ),
            );
            Outcome::found(finding, evidence)
        } else if exchange.latency > BUDGET {
            let message = format!(
                "{} was answered in {} ms, over Chat's 2 s budget",
                other.command,
                exchange.latency.as_millis()
            );
            Outcome::found(over_budget(message), evidence)
        } else {
            Outcome::pass(
                format!("{} got {}", other.command, evidence.answer),
                evidence,
            )
        })
    }
}

/// The callback a request's URL names (`CallbackCommand`), if it is of the family.
fn callback_in(url: &Url) -> Option<&'static Callback> {
    url.query_pairs()
        .find(|(name, _)| name == param::CALLBACK_COMMAND)
        .and_then(|(_, command)| Callback::by_command(&command))
}

/// A forged request of a security case, and what its acceptance means.
struct Forged {
    url: Url,
    /// What it is, in the report's words: "a Sign made with another token".
    what: &'static str,
    /// The code of the finding when it is accepted.
    code: &'static str,
    severity: Severity,
    /// What to do about its acceptance.
    advice: &'static str,
}

impl Forged {
    /// A callback Chat never sends: accepting it fails the case.
    fn refused(url: Url, what: &'static str, code: &'static str) -> Self {
        Forged {
            url,
            what,
            code,
            severity: Severity::Error,
            advice: "answer a non-200 status, ActionStatus FAIL or ErrorCode 1",
        }
    }

    /// A callback past Tencent's 1-minute guidance on RequestTime but close to it: accepting
    /// it is a warning.
    fn outside_guidance(url: Url, what: &'static str) -> Self {
        Forged {
            url,
            what,
            code: "wide-window",
            severity: Severity::Warning,
            advice: "the window is wider than Tencent's 1-minute guidance: refuse a RequestTime more than 60 s from your clock",
        }
    }

    /// The finding when `answer` accepted it.
    fn accepted(&self, answer: &protocol::Evidence) -> Finding {
        Finding {
            severity: self.severity,
            code: self.code,
            path: "answer".to_owned(),
            message: format!("accepted {}: {answer}; {}", self.what, self.advice),
        }
    }
}

/// The genuine callback's answer, and its first error when it came with HTTP 200 but does not
/// conform: a malformed answer, told apart from a refusal (which has another status, or says
/// FAIL or an ErrorCode in the documented way). Lateness is said on its own, so it is no error
/// here.
fn control_of(genuine: &Template, exchange: &Exchange) -> (Evidence, Option<Finding>) {
    let reply = Reply {
        latency: None,
        ..exchange.reply()
    };
    let mut judgement = judge(genuine.callback, &genuine.subscribers, reply);
    let malformed = match exchange.status {
        200 => judgement.findings.iter().find(|f| f.is_error()).cloned(),
        _ => None,
    };
    (Evidence::judged(&mut judgement, exchange), malformed)
}

/// Words with which backends refuse a command they do not handle, in lower case.
const UNHANDLED: &[&str] = &[
    "unknown command",
    "unknown callback",
    "invalid command",
    "invalid callback command",
    "unsupported",
    "not supported",
    "unhandled",
    "not handled",
    "no handler",
    "not implemented",
    "unrecognized",
    "unrecognised",
];

/// Whether a refusal says that the command is not handled: HTTP 404 or 501, or an `ErrorInfo`
/// (or a body that is not JSON) in those words.
fn says_unhandled(answer: &protocol::Evidence) -> bool {
    if matches!(answer.status, 404 | 501) {
        return true;
    }
    let said = match &answer.body {
        Said::NotJson(text) => Some(text.as_str()),
        _ => answer.error_info(),
    };
    said.is_some_and(|said| {
        let said = said.to_lowercase();
        UNHANDLED.iter().any(|words| said.contains(words))
    })
}

/// `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`: what to answer a callback one does not
/// handle.
fn ok_answer() -> String {
    serde_json::to_string(&protocol::Answer::ok(Vec::new())).unwrap_or_default()
}

/// An answer past Chat's 2 s to a request whose answer Chat does not act on: a warning.
fn over_budget(message: String) -> Finding {
    Finding::warning("too-slow", "latency", message)
}

/// A request that got no answer to judge, as a finding with the code `judge` gives such a
/// request; `message` says it in the case's words.
fn unanswered(e: &TransportError, severity: Severity, message: String) -> Finding {
    let (code, path) = match e {
        TransportError::Timeout(_) => ("timeout", "latency"),
        TransportError::Broken(_) => ("broken-http", "answer"),
        TransportError::Unreachable { .. } => ("unreachable", "connection"),
    };
    Finding {
        severity,
        code,
        path: path.to_owned(),
        message,
    }
}

/// What a run of cases (the suite's, or a replay's) came to.
pub(crate) struct Ran {
    /// The cases that ran, in order.
    pub results: Vec<CaseResult>,
    /// Why the run ended before its last case, if it did.
    pub stop: Option<Stop>,
}

/// Why a run ended before its last case. Reports still say what ran, and why it stopped.
#[derive(Debug, Clone)]
pub(crate) enum Stop {
    /// The target could not be reached (while running `case`, when one was running).
    Unreachable { case: Option<Case>, error: Error },
    /// A signal came; `total` cases were to run.
    Interrupted { signal: Signal, total: usize },
    /// A usage or input error once the target was known (an unreadable `--cacert`).
    Error(Error),
}

impl Stop {
    /// The exit code: the signal's, or the error's.
    pub(crate) fn outcome(&self) -> Result<crate::error::Outcome, Error> {
        match self {
            Stop::Interrupted { signal, .. } => Ok(crate::error::Outcome::Interrupted(*signal)),
            Stop::Unreachable { error, .. } | Stop::Error(error) => Err(error.clone()),
        }
    }
}

/// How a case came out, before it is named.
pub(crate) struct Outcome {
    status: Status,
    message: String,
    findings: Vec<Finding>,
    evidence: Option<Evidence>,
    control: Option<Evidence>,
    /// A fuzz case's run.
    fuzzed: Option<Box<fuzz::Fuzzed>>,
}

impl Outcome {
    fn new(status: Status, message: String, evidence: Option<Evidence>) -> Self {
        Outcome {
            status,
            message,
            findings: Vec::new(),
            evidence,
            control: None,
            fuzzed: None,
        }
    }

    fn pass(message: String, evidence: impl Into<Option<Evidence>>) -> Self {
        Outcome::new(Status::Pass, message, evidence.into())
    }

    /// A failure or a warning, as `finding`'s severity says, that `finding` explains: nothing
    /// fails or warns without a finding, whose code reports name the cause by.
    fn found(finding: Finding, evidence: impl Into<Option<Evidence>>) -> Self {
        let status = match finding.severity {
            Severity::Error => Status::Fail,
            Severity::Warning => Status::Warn,
        };
        Outcome {
            findings: vec![finding.clone()],
            ..Outcome::new(status, finding.message, evidence.into())
        }
    }

    fn skip(message: &str) -> Self {
        Outcome::new(Status::Skip, message.to_owned(), None)
    }

    fn with_control(self, control: Option<Evidence>) -> Self {
        Outcome { control, ..self }
    }

    /// Two outcomes of one case as one: the worse one, with the other's findings after its
    /// own; when both passed, both messages.
    fn and(self, other: Outcome) -> Self {
        let weight = |status| match status {
            Status::Fail => 3,
            Status::Warn => 2,
            Status::Pass => 1,
            Status::Skip => 0,
        };
        let (mut worse, better) = if weight(other.status) > weight(self.status) {
            (other, self)
        } else {
            (self, other)
        };
        if worse.status == Status::Pass && better.status == Status::Pass {
            worse.message = format!("{}; {}", worse.message, better.message);
        }
        worse.findings.extend(better.findings);
        worse
    }

    /// Fail on any error finding, warn on warnings, else pass with the decision; the backend's
    /// `ErrorInfo` is quoted whenever it gave one.
    fn judged(mut judgement: Judgement, exchange: &Exchange, extra: Vec<Finding>) -> Self {
        let mut findings = std::mem::take(&mut judgement.findings);
        findings.extend(extra);
        let first = |severity| {
            findings
                .iter()
                .find(|f| f.severity == severity)
                .map(ToString::to_string)
        };
        let (status, message) = match (first(Severity::Error), first(Severity::Warning)) {
            (Some(error), _) => (Status::Fail, error),
            (None, Some(warning)) => (Status::Warn, warning),
            (None, None) => (
                Status::Pass,
                format!("conforming answer; Chat {}", judgement.decision),
            ),
        };
        let message = protocol::with_error_info(
            message,
            judgement.evidence.as_ref().and_then(|e| e.error_info()),
        );
        let evidence = Evidence::judged(&mut judgement, exchange);
        Outcome {
            findings,
            ..Outcome::new(status, message, Some(evidence))
        }
    }

    fn prefixed(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}
