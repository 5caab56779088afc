//! What the user expects Chat to decide (`--expect`, `--expect-refused`): the tool's notion,
//! checked against the protocol's [`Decision`].

use crate::protocol::{Decision, Finding};
use std::fmt;

/// What the user expects Chat to decide: `--expect`, and a scenario's `expect`, by the names of
/// [`Expected::NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Expected {
    /// Go ahead: ErrorCode 0 and, unless refused users are named, nobody refused (a message
    /// rewritten by the backend goes ahead too).
    Allow,
    /// The event does not go ahead: the subscription rejected whole, the creation denied, the
    /// message refused or discarded.
    Reject,
}

impl Expected {
    /// Each decision by the name the command line and the config file give it.
    pub(crate) const NAMES: [(&str, Expected); 2] =
        [("allow", Expected::Allow), ("reject", Expected::Reject)];

    /// The decision of that name; `None` for another.
    pub(crate) fn named(name: &str) -> Option<Expected> {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, expected)| *expected)
    }
}

/// What the user expects Chat to decide (`--expect`, `--expect-refused`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expectation {
    pub outcome: Option<Expected>,
    /// Exactly these users refused (the others subscribed).
    pub refused: Vec<String>,
}

impl Expectation {
    pub(crate) fn is_empty(&self) -> bool {
        self.outcome.is_none() && self.refused.is_empty()
    }

    /// The expectation as a finding when the decision does not meet it.
    pub(crate) fn check(&self, decision: &Decision) -> Option<Finding> {
        if self.is_empty() {
            return None;
        }
        let met = match (self.outcome, decision) {
            (Some(Expected::Reject), _) => matches!(
                decision,
                Decision::RejectsAll
                    | Decision::DeniesCreation { .. }
                    | Decision::RefusesMessage { .. }
                    | Decision::Discards
            ),
            (_, Decision::Subscribes { refused, .. }) => {
                refused.len() == self.refused.len()
                    && self.refused.iter().all(|u| refused.contains(u))
            }
            (_, _) => {
                self.refused.is_empty()
                    && matches!(
                        decision,
                        Decision::Creates | Decision::Sends | Decision::SendsRewritten { .. }
                    )
            }
        };
        (!met).then(|| {
            Finding::error(
                "expectation",
                "decision",
                format!("expected {}, but Chat {decision}", self),
            )
        })
    }
}

/// `--strict`: the first warning of an answer, as the failure it then is.
pub(crate) fn strict(findings: &[Finding]) -> Option<Finding> {
    findings.iter().find(|f| !f.is_error()).map(|warning| {
        Finding::error(
            "strict",
            warning.path.clone(),
            format!("under --strict a warning fails: {warning}"),
        )
    })
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.outcome, self.refused.as_slice()) {
            (Some(Expected::Reject), _) => f.write_str("the whole request rejected"),
            (_, []) => f.write_str("everyone subscribed"),
            (_, refused) => write!(f, "exactly {} refused", refused.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<String> {
        vec!["jared".into(), "leckie".into()]
    }

    #[test]
    fn expectations() {
        let refuse_jared = Decision::Subscribes {
            subscribed: vec!["leckie".into()],
            refused: vec!["jared".into()],
        };
        let all = Decision::Subscribes {
            subscribed: users(),
            refused: vec![],
        };
        let allow = Expectation {
            outcome: Some(Expected::Allow),
            refused: vec![],
        };
        let reject = Expectation {
            outcome: Some(Expected::Reject),
            refused: vec![],
        };
        let jared = Expectation {
            outcome: None,
            refused: vec!["jared".into()],
        };
        assert_eq!(Expectation::default().check(&Decision::RejectsAll), None);
        assert_eq!(allow.check(&all), None);
        assert_eq!(
            allow.check(&refuse_jared).unwrap().message,
            "expected everyone subscribed, but Chat subscribes leckie; refuses jared"
        );
        assert_eq!(reject.check(&Decision::RejectsAll), None);
        assert!(reject.check(&all).is_some());
        assert_eq!(jared.check(&refuse_jared), None);
        assert!(jared.check(&all).is_some());
        assert!(jared.check(&Decision::RejectsAll).is_some());
    }
}
