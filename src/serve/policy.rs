//! How serve answers the callbacks it stands in for: `--refuse`, `--reject`, `--fail`,
//! `--discard`, `--rewrite-text`, `--error-code`, `--delay` and `--status`.

use crate::protocol::{Answer, MessageElement, Valid, Veto};
use std::time::Duration;

/// How valid callbacks are answered.
pub(crate) struct Policy {
    pub refuse: Vec<String>,
    pub reject: bool,
    pub fail: bool,
    /// before-send: discard the message silently (ErrorCode 2).
    pub discard: bool,
    /// before-send: send this text instead (ErrorCode 0 with a `MsgBody`).
    pub rewrite_text: Option<String>,
    /// before-create and before-send: deny with this code of the backend's own, and this
    /// `ErrorInfo`.
    pub error_code: Option<(i64, String)>,
    pub delay: Option<Duration>,
    /// The HTTP status of answers to valid callbacks.
    pub status: u16,
}

impl Policy {
    /// The status and answer for a valid callback, after `--delay`. `--reject` rejects every
    /// before callback, `--refuse` is before-subscribe's, `--error-code` is before-create's and
    /// before-send's, `--discard` and `--rewrite-text` are before-send's; `--fail` fails every
    /// callback. Each before callback a flag does not apply to is answered OK. A command serve does not
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
            match (callback.veto, &self.error_code, &self.rewrite_text) {
                (None, ..) => Answer::ok(Vec::new()),
                (Some(_), ..) if self.reject => {
                    Answer::reject("oa-hook serve --reject: rejecting on purpose")
                }
                (Some(Veto::Creation | Veto::Message), Some((code, info)), _) => {
                    Answer::code(*code, info.clone())
                }
                (Some(Veto::Message), ..) if self.discard => Answer::code(2, ""),
                (Some(Veto::Message), _, Some(text)) => {
                    Answer::rewrite(vec![MessageElement::text(text)])
                }
                (Some(Veto::Subscription), ..) => Answer::ok(
                    event
                        .subscribers()
                        .iter()
                        .filter(|user| self.refuse.contains(user))
                        .cloned()
                        .collect(),
                ),
                (Some(Veto::Creation | Veto::Message), ..) => Answer::ok(Vec::new()),
            }
        };
        (self.status, answer)
    }
}
