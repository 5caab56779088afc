//! What Chat does with an answer, as data and in words.

use super::BUDGET;
use serde::Serialize;
use std::fmt;

/// What Chat does with an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Decision {
    /// ErrorCode 0: these users subscribe, those are refused.
    Subscribes {
        subscribed: Vec<String>,
        refused: Vec<String>,
    },
    /// ErrorCode 1: nobody subscribes.
    RejectsAll,
    /// An after callback: the answer changes nothing.
    Ignored,
    /// No answer within the budget: a before callback goes ahead for everyone.
    TimedOut { subscribed: Vec<String> },
    /// The docs do not say; the reason is in words.
    Undocumented { reason: String },
}

impl Decision {
    /// The kind of decision, as its JSON `kind` says it (`subscribes`, `rejects-all`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Subscribes { .. } => "subscribes",
            Decision::RejectsAll => "rejects-all",
            Decision::Ignored => "ignored",
            Decision::TimedOut { .. } => "timed-out",
            Decision::Undocumented { .. } => "undocumented",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Subscribes {
                subscribed,
                refused,
            } => {
                match subscribed.as_slice() {
                    [] => f.write_str("subscribes nobody")?,
                    users => write!(f, "subscribes {}", list(users))?,
                }
                if !refused.is_empty() {
                    write!(f, "; refuses {}", list(refused))?;
                }
                Ok(())
            }
            Decision::RejectsAll => f.write_str("rejects the whole request (ErrorCode 1)"),
            Decision::Ignored => f.write_str("ignores the answer (after callback)"),
            Decision::TimedOut { subscribed } => write!(
                f,
                "gives up after {} s; the event goes ahead without your answer{}",
                BUDGET.as_secs(),
                if subscribed.is_empty() {
                    String::new()
                } else {
                    format!(" (subscribes {})", list(subscribed))
                }
            ),
            Decision::Undocumented { reason } => write!(f, "undocumented: {reason}"),
        }
    }
}

/// Users for a sentence: all of a short list, the first few of a long one.
fn list(users: &[String]) -> String {
    const SHOWN: usize = 5;
    if users.len() <= SHOWN + 1 {
        users.join(", ")
    } else {
        format!(
            "{} and {} more",
            users[..SHOWN].join(", "),
            users.len() - SHOWN
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_in_sentences() {
        let users: Vec<String> = (1..=100).map(|i| format!("u{i}")).collect();
        let decision = Decision::Subscribes {
            subscribed: users[1..].to_vec(),
            refused: users[..1].to_vec(),
        };
        assert_eq!(
            decision.to_string(),
            "subscribes u2, u3, u4, u5, u6 and 94 more; refuses u1"
        );
        let six = Decision::Subscribes {
            subscribed: users[..6].to_vec(),
            refused: vec![],
        };
        assert_eq!(six.to_string(), "subscribes u1, u2, u3, u4, u5, u6");
    }
}
