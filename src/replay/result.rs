//! What replaying one callback came to: replay's own result, which reports show as `check`
//! shows its cases.

use crate::check::{Evidence, Status};
use crate::protocol::Finding;
use crate::veto::LostVetoes;
use serde::Serialize;

/// One line of a record replayed: its decision compared with the recorded one, or why it was
/// not sent.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compared {
    /// `before-subscribe/line-3`: the callback, and where it was.
    pub id: String,
    /// What was replayed, in words: the line, who did what for whom, and what Chat did then.
    pub description: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The callback, if a before one, and whether it went ahead on Chat's timeout.
    #[serde(skip)]
    pub went_ahead: LostVetoes,
}

/// How one callback came out, before it is named.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Outcome {
    pub status: Status,
    /// One sentence: what changed, or that nothing did.
    pub message: String,
    pub findings: Vec<Finding>,
    pub evidence: Option<Evidence>,
}

impl Outcome {
    pub(super) fn new(status: Status, message: String) -> Self {
        Outcome {
            status,
            message,
            findings: Vec::new(),
            evidence: None,
        }
    }

    /// The result of the line `id` names, as `description` says it.
    pub(super) fn named(self, id: String, description: String) -> Compared {
        Compared {
            id,
            description,
            outcome: self,
            went_ahead: LostVetoes::default(),
        }
    }
}
