//! What the suite's cases come to: a status, one sentence, the findings, and what came back;
//! and what a run of them came to.

use super::cases::Case;
use super::fuzz;
use crate::client::{Exchange, TransportError};
use crate::clock::millis;
use crate::error::{Error, ErrorKind};
use crate::interrupt::Signal;
use crate::protocol::{self, Finding, Judgement, Severity};
use crate::request::Template;
use crate::veto::LostVetoes;
use serde::Serialize;
use std::fmt;
use url::Url;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub total: usize,
}

impl Counts {
    pub(crate) fn of(statuses: impl IntoIterator<Item = Status>) -> Self {
        let mut counts = Counts::default();
        for status in statuses {
            counts.add(status);
        }
        counts
    }

    /// Counts one more result.
    pub(crate) fn add(&mut self, status: Status) {
        *match status {
            Status::Pass => &mut self.passed,
            Status::Fail => &mut self.failed,
            Status::Warn => &mut self.warned,
            Status::Skip => &mut self.skipped,
        } += 1;
        self.total += 1;
    }

    pub(crate) fn pass(&self) -> bool {
        self.failed == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
}

impl Status {
    /// The finding that made a result of this status fail or warn: the first of that
    /// severity. Reports name the cause by its code.
    pub(crate) fn cause_in(self, findings: &[Finding]) -> Option<&Finding> {
        let severity = match self {
            Status::Fail => Severity::Error,
            Status::Warn => Severity::Warning,
            Status::Pass | Status::Skip => return None,
        };
        findings
            .iter()
            .find(|f| f.severity == severity)
            .or(findings.first())
    }
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
    pub(super) fn read(answer: protocol::Evidence, exchange: &Exchange) -> Self {
        Evidence {
            answer,
            latency_ms: millis(exchange.latency),
        }
    }

    /// The evidence a judgement of `exchange` kept, or read afresh if it kept none.
    pub(super) fn judged(judgement: &mut Judgement, exchange: &Exchange) -> Self {
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

/// One request as sent and what came of it, for `-v`.
#[derive(Debug, Clone)]
pub(crate) struct Exchanged {
    pub url: Url,
    pub body: Vec<u8>,
    pub answer: Result<Exchange, TransportError>,
}

/// A request that got no answer to judge, as a finding with the code `judge` gives such a
/// request; `message` says it in the case's words.
pub(super) fn unanswered(e: &TransportError, severity: Severity, message: String) -> Finding {
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

/// What a run of the suite came to.
pub(crate) struct Ran {
    /// The cases that ran, in order.
    pub results: Vec<CaseResult>,
    /// Why the run ended before its last case, if it did.
    pub stop: Option<Stop>,
}

impl Ran {
    /// A run that sent nothing, because of `error`.
    pub(crate) fn stopped_by(error: Error) -> Self {
        Ran {
            results: Vec::new(),
            stop: Some(Stop::from(error)),
        }
    }
}

impl From<Error> for Stop {
    /// Why a run stopped before it sent anything: the target could not be reached, or an
    /// error.
    fn from(error: Error) -> Self {
        match error.kind {
            ErrorKind::Unreachable => Stop::Unreachable { case: None, error },
            _ => Stop::Error(error),
        }
    }
}

/// What a run came to: pass or fail, or why there is no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunVerdict {
    Pass,
    Fail,
    Interrupted,
    Unreachable,
    Error,
}

impl RunVerdict {
    /// The verdict of a run whose results add up to `counts`, stopped by `stop` if it was.
    pub(crate) fn of(counts: &Counts, stop: Option<&Stop>) -> Self {
        match stop {
            None if counts.pass() => RunVerdict::Pass,
            None => RunVerdict::Fail,
            Some(Stop::Interrupted { .. }) => RunVerdict::Interrupted,
            Some(Stop::Unreachable { .. }) => RunVerdict::Unreachable,
            Some(Stop::Error(_)) => RunVerdict::Error,
        }
    }

    /// The verdict as machine-readable output spells it.
    pub(crate) fn word(self) -> &'static str {
        match self {
            RunVerdict::Pass => "pass",
            RunVerdict::Fail => "fail",
            RunVerdict::Interrupted => "interrupted",
            RunVerdict::Unreachable => "unreachable",
            RunVerdict::Error => "error",
        }
    }
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
    pub(super) status: Status,
    pub(super) message: String,
    pub(super) findings: Vec<Finding>,
    pub(super) evidence: Option<Evidence>,
    pub(super) control: Option<Evidence>,
    /// A fuzz case's run.
    pub(super) fuzzed: Option<Box<fuzz::Fuzzed>>,
}

impl Outcome {
    pub(super) fn new(status: Status, message: String, evidence: Option<Evidence>) -> Self {
        Outcome {
            status,
            message,
            findings: Vec::new(),
            evidence,
            control: None,
            fuzzed: None,
        }
    }

    pub(super) fn pass(message: String, evidence: impl Into<Option<Evidence>>) -> Self {
        Outcome::new(Status::Pass, message, evidence.into())
    }

    /// A failure or a warning, as `finding`'s severity says, that `finding` explains: nothing
    /// fails or warns without a finding, whose code reports name the cause by.
    pub(super) fn found(finding: Finding, evidence: impl Into<Option<Evidence>>) -> Self {
        let status = match finding.severity {
            Severity::Error => Status::Fail,
            Severity::Warning => Status::Warn,
        };
        Outcome {
            findings: vec![finding.clone()],
            ..Outcome::new(status, finding.message, evidence.into())
        }
    }

    pub(super) fn skip(message: &str) -> Self {
        Outcome::new(Status::Skip, message.to_owned(), None)
    }

    pub(super) fn with_control(self, control: Option<Evidence>) -> Self {
        Outcome { control, ..self }
    }

    /// Two outcomes of one case as one: the worse one, with the other's findings after its
    /// own; when both passed, both messages.
    pub(super) fn and(self, other: Outcome) -> Self {
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
    pub(super) fn judged(
        mut judgement: Judgement,
        exchange: &Exchange,
        extra: Vec<Finding>,
    ) -> Self {
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

    pub(super) fn prefixed(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

/// `exchange` judged as the answer to `template`: its judgement when it conforms, else the
/// case's outcome, its message prefixed with `which` (the callback it was, in words).
pub(super) fn conforming(
    template: &Template,
    exchange: &Exchange,
    which: &str,
) -> Result<Judgement, Box<Outcome>> {
    let judgement = protocol::judge(template.callback, &template.subscribers, exchange.reply());
    if judgement.conforms() {
        Ok(judgement)
    } else {
        Err(Box::new(
            Outcome::judged(judgement, exchange, Vec::new()).prefixed(which),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Status, findings: Vec<Finding>) -> CaseResult {
        let case = super::super::select(&[], &[], &[], &super::super::Covered::new(&[])).remove(0);
        CaseResult {
            case,
            status,
            message: String::new(),
            findings,
            evidence: None,
            control: None,
            transcript: Vec::new(),
            went_ahead: LostVetoes::default(),
            fuzz: None,
        }
    }

    #[test]
    fn a_finding_fails_or_warns_as_its_severity_says() {
        let failed = Outcome::found(Finding::error("bad-sign", "answer", "accepted"), None);
        assert_eq!(failed.status, Status::Fail);
        assert_eq!(failed.message, "accepted");
        let warned = Outcome::found(Finding::warning("too-slow", "latency", "late"), None);
        assert_eq!(warned.status, Status::Warn);
        assert_eq!(warned.findings.len(), 1);
    }

    #[test]
    fn two_outcomes_of_a_case_are_the_worse_one_with_both_findings() {
        let warned = Outcome::found(Finding::warning("wide-window", "answer", "ago"), None);
        let failed = Outcome::found(Finding::error("bad-sign", "answer", "ahead"), None);
        let both = warned.and(failed);
        assert_eq!(both.status, Status::Fail);
        assert_eq!(both.message, "ahead");
        let codes: Vec<_> = both.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["bad-sign", "wide-window"]);
        let passed = Outcome::pass("refused ago".into(), None)
            .and(Outcome::pass("refused ahead".into(), None));
        assert_eq!(passed.status, Status::Pass);
        assert_eq!(passed.message, "refused ago; refused ahead");
        let skipped = Outcome::skip("no token").and(Outcome::pass("refused".into(), None));
        assert_eq!(skipped.status, Status::Pass);
    }

    #[test]
    fn the_cause_is_the_first_finding_of_the_status_severity() {
        let findings = vec![
            Finding::warning("too-slow", "latency", "late"),
            Finding::error("bad-sign", "answer", "accepted"),
        ];
        let failed = result(Status::Fail, findings.clone());
        assert_eq!(
            failed.status.cause_in(&failed.findings).map(|f| f.code),
            Some("bad-sign")
        );
        let warned = result(Status::Warn, findings);
        assert_eq!(
            warned.status.cause_in(&warned.findings).map(|f| f.code),
            Some("too-slow")
        );
        assert!(Status::Pass.cause_in(&[]).is_none());
    }

    #[test]
    fn counts_add_up_and_pass_without_a_failure() {
        let results = [
            result(Status::Pass, Vec::new()),
            result(Status::Warn, Vec::new()),
            result(Status::Skip, Vec::new()),
        ];
        let counts = Counts::of(results.iter().map(|r| r.status));
        assert_eq!(
            counts,
            Counts {
                passed: 1,
                failed: 0,
                warned: 1,
                skipped: 1,
                total: 3
            }
        );
        assert!(counts.pass());
        let mut failed = counts;
        failed.add(Status::Fail);
        assert!(!failed.pass());
        assert_eq!(failed.total, 4);
    }
}
