//! How serve answers the callbacks it stands in for: `--refuse`, `--reject`, `--fail`, `--delay`
//! and `--status`.

use crate::protocol::{Answer, Kind, Valid};
use std::time::Duration;

/// How valid callbacks are answered.
pub(crate) struct Policy {
    pub refuse: Vec<String>,
    pub reject: bool,
    pub fail: bool,
    pub delay: Option<Duration>,
    /// The HTTP status of answers to valid callbacks.
    pub status: u16,
}

impl Policy {
    /// The status and answer for a valid callback, after `--delay`. `--refuse` and `--reject`
    /// only mean something to a before callback; `--fail` fails both. A command serve does not
    /// model is answered as a well-behaved backend answers it, whatever the policy: the policy
    /// is about the callbacks serve stands in for.
    pub(crate) async fn answer(&self, valid: &Valid) -> (u16, Answer) {
        let (callback, event) = match valid {
            Valid::Event {
                callback, event, ..
            } => (callback, event),
            Valid::Unmodelled { .. } => return (200, Answer::ok(Vec::new())),
        };
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let answer = if self.fail {
            Answer::fail("oa-hook serve --fail: failing on purpose")
        } else {
            match callback.kind {
                Kind::After => Answer::ok(Vec::new()),
                Kind::Before if self.reject => {
                    Answer::reject("oa-hook serve --reject: rejecting on purpose")
                }
                Kind::Before => Answer::ok(
                    event
                        .subscribers()
                        .iter()
                        .filter(|user| self.refuse.contains(user))
                        .cloned()
                        .collect(),
                ),
            }
        };
        (self.status, answer)
    }
}
