//! Whether a generated callback held a property, from what it got.

use super::Property;
use crate::check::{Evidence, unanswered};
use crate::client::{Exchange, TransportError};
use crate::fuzz::Generated;
use crate::protocol::{Decision, Finding, Judgement, Severity};

/// What one generated callback (and its variant, for same-decision) got.
pub(super) struct Observed {
    pub(super) answer: Result<Exchange, TransportError>,
    pub(super) judgement: Option<Judgement>,
    /// The variant's answer and judgement, when sent.
    pub(super) variant: Option<(Result<Exchange, TransportError>, Option<Judgement>)>,
}

/// How a property came out for one generated callback.
pub(super) enum Verdict {
    Held,
    /// The answer could not tell.
    Undecided,
    Failed(Box<Failure>),
}

/// How a generated callback failed a property.
pub(super) struct Failure {
    /// What shrinking keeps: a simpler callback must fail the same way.
    pub(super) key: String,
    pub(super) finding: Finding,
    pub(super) evidence: Option<Evidence>,
    /// For same-decision: the callback's own answer, beside the variant's.
    pub(super) control: Option<Evidence>,
    /// For same-decision: the callback's own decision, which the variant's reproducer expects.
    pub(super) decision: Option<Decision>,
}

/// The expectation that the variant's reproducer holds it to: the decision the callback got.
/// None where `--expect` cannot say it (a timeout, an undocumented decision).
pub(super) fn expecting(decision: &Decision) -> Vec<String> {
    match decision {
        Decision::Subscribes { refused, .. } if !refused.is_empty() => refused
            .iter()
            .flat_map(|user| ["--expect-refused".to_owned(), user.clone()])
            .collect(),
        Decision::Subscribes { .. }
        | Decision::Creates
        | Decision::Sends
        | Decision::SendsRewritten { .. } => vec!["--expect".to_owned(), "allow".to_owned()],
        Decision::RejectsAll
        | Decision::DeniesCreation { .. }
        | Decision::RefusesMessage { .. }
        | Decision::Discards => vec!["--expect".to_owned(), "reject".to_owned()],
        Decision::Ignored | Decision::TimedOut { .. } | Decision::Undocumented { .. } => Vec::new(),
    }
}

/// What the variant of `g` changed: `with its subscribers in another order, ClientIP 10.0.0.1
/// (not 127.0.0.1)`.
fn changed(g: &Generated) -> String {
    let variant = g.variant();
    let mut changed = Vec::new();
    if variant.values.subscribers != g.values.subscribers {
        changed.push("its subscribers in another order".to_owned());
    }
    if variant.client_ip != g.client_ip {
        changed.push(format!(
            "ClientIP {} (not {})",
            variant.client_ip, g.client_ip
        ));
    }
    if variant.platform != g.platform {
        changed.push(format!(
            "OptPlatform {} (not {})",
            variant.platform, g.platform
        ));
    }
    match changed.as_slice() {
        [] => "sent again".to_owned(),
        _ => format!("with {}", changed.join(", ")),
    }
}

/// How `property` came out for `g`, from what it got.
pub(super) fn verdict(property: Property, g: &Generated, observed: &Observed) -> Verdict {
    let name = g.callback.name;
    let exchange = match &observed.answer {
        Ok(exchange) => exchange,
        Err(e) => {
            return match property {
                Property::ConformingInTime => {
                    let message = format!("a generated {name} callback got {}", e.message());
                    let finding = unanswered(e, Severity::Error, message);
                    Verdict::Failed(Box::new(Failure {
                        key: finding.code.to_owned(),
                        finding,
                        evidence: None,
                        control: None,
                        decision: None,
                    }))
                }
                _ => Verdict::Undecided,
            };
        }
    };
    let evidence = Evidence::of(exchange);
    let failure = |code: &'static str, path: &str, why: String| Failure {
        key: code.to_owned(),
        finding: Finding::error(
            code,
            path,
            format!("a generated {name} callback got {evidence}: {why}"),
        ),
        evidence: Some(evidence.clone()),
        control: None,
        decision: None,
    };
    let failed = |code, path: &str, why| Verdict::Failed(Box::new(failure(code, path, why)));
    let Some(judgement) = &observed.judgement else {
        return Verdict::Undecided;
    };
    match property {
        Property::NoServerError if exchange.status >= 500 => Verdict::Failed(Box::new(Failure {
            // A 503 where a 500 was is another failure.
            key: format!("server-error {}", exchange.status),
            ..failure(
                "server-error",
                "status",
                "a callback within the documented limits made the backend fail".to_owned(),
            )
        })),
        Property::NoServerError => Verdict::Held,
        Property::ConformingInTime => match judgement.findings.iter().find(|f| f.is_error()) {
            Some(first) => failed(first.code, &first.path, first.message.clone()),
            None => Verdict::Held,
        },
        Property::RefusedWereSent => {
            let stranger = judgement
                .findings
                .iter()
                .find(|f| f.code == "refused-not-in-request");
            match stranger {
                Some(finding) => failed(
                    finding.code,
                    &finding.path,
                    format!(
                        "{}; a backend that refuses someone it was not asked about has mixed up its users",
                        finding.message
                    ),
                ),
                None if judgement.conforms() => Verdict::Held,
                None => Verdict::Undecided,
            }
        }
        Property::SameDecision => {
            let Some((Ok(other), Some(other_judgement))) = &observed.variant else {
                return Verdict::Undecided;
            };
            if !judgement.conforms() || !other_judgement.conforms() {
                return Verdict::Undecided;
            }
            if judgement.decision.same_as(&other_judgement.decision) {
                return Verdict::Held;
            }
            let finding = Finding::error(
                "decision-changed",
                "decision",
                format!(
                    "a generated {name} callback got: Chat {}; the same callback {} got: Chat {}",
                    judgement.decision,
                    changed(g),
                    other_judgement.decision
                ),
            );
            Verdict::Failed(Box::new(Failure {
                key: finding.code.to_owned(),
                finding,
                evidence: Some(Evidence::of(other)),
                control: Some(evidence),
                decision: Some(judgement.decision.clone()),
            }))
        }
    }
}
