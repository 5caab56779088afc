//! What Chat does with an answer, as data and in words.

use super::BUDGET;
use super::event::MessageElement;
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
    /// before-create, ErrorCode 0.
    Creates,
    /// before-create, ErrorCode 1 (the caller gets 20006) or a code of the backend's own,
    /// which the caller gets with `ErrorInfo`.
    DeniesCreation { error_code: i64, caller_code: i64 },
    /// before-send, ErrorCode 0 and no rewrite.
    Sends,
    /// before-send, ErrorCode 0 with a `MsgBody` and/or `CloudCustomData` of the backend's:
    /// what is given replaces the sender's.
    SendsRewritten {
        #[serde(skip_serializing_if = "Option::is_none")]
        msg_body: Option<Vec<MessageElement>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cloud_custom_data: Option<String>,
    },
    /// before-send, ErrorCode 1 (the sender gets 10016) or a code of the backend's own, which
    /// the sender gets with `ErrorInfo`.
    RefusesMessage { error_code: i64, caller_code: i64 },
    /// before-send, ErrorCode 2: the message is dropped, and the sender is told it was sent.
    Discards,
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
            Decision::Creates => "creates",
            Decision::DeniesCreation { .. } => "denies-creation",
            Decision::Sends => "sends",
            Decision::SendsRewritten { .. } => "sends-rewritten",
            Decision::RefusesMessage { .. } => "refuses-message",
            Decision::Discards => "discards",
            Decision::Ignored => "ignored",
            Decision::TimedOut { .. } => "timed-out",
            Decision::Undocumented { .. } => "undocumented",
        }
    }
}

impl Decision {
    /// Whether `other` is the same decision: the same kind, and the same users subscribed and
    /// refused in any order; the words of an undocumented one may differ.
    pub fn same_as(&self, other: &Decision) -> bool {
        let same_users = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        match (self, other) {
            (
                Decision::Subscribes {
                    subscribed,
                    refused,
                },
                Decision::Subscribes {
                    subscribed: other_subscribed,
                    refused: other_refused,
                },
            ) => same_users(subscribed, other_subscribed) && same_users(refused, other_refused),
            (Decision::TimedOut { subscribed }, Decision::TimedOut { subscribed: other }) => {
                same_users(subscribed, other)
            }
            (Decision::Undocumented { .. }, Decision::Undocumented { .. }) => true,
            _ => self == other,
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
            Decision::Creates => f.write_str("creates the Official Account"),
            Decision::DeniesCreation {
                error_code,
                caller_code,
            } => write!(
                f,
                "denies the creation (ErrorCode {error_code}): the caller gets error {caller_code}{}",
                passed_on(*error_code, *caller_code)
            ),
            Decision::Sends => f.write_str("sends the message as it is"),
            Decision::SendsRewritten {
                msg_body,
                cloud_custom_data,
            } => {
                f.write_str("sends the message rewritten by your answer:")?;
                if let Some(elements) = msg_body {
                    let shown: Vec<String> = elements.iter().map(ToString::to_string).collect();
                    write!(f, " MsgBody [{}]", shown.join(", "))?;
                }
                if let Some(data) = cloud_custom_data {
                    let sep = if msg_body.is_some() { "," } else { "" };
                    write!(
                        f,
                        "{sep} CloudCustomData {}",
                        serde_json::Value::from(data.as_str())
                    )?;
                }
                Ok(())
            }
            Decision::RefusesMessage {
                error_code,
                caller_code,
            } => write!(
                f,
                "refuses the message (ErrorCode {error_code}): the sender gets error {caller_code}{}",
                passed_on(*error_code, *caller_code)
            ),
            Decision::Discards => {
                f.write_str("discards the message silently: the sender is told it was sent")
            }
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

/// A backend's own code reaches the caller with its `ErrorInfo`.
fn passed_on(error_code: i64, caller_code: i64) -> &'static str {
    if error_code == caller_code {
        " and your ErrorInfo"
    } else {
        ""
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
    #[test]
    fn the_same_decision_is_the_same_kind_and_users_in_any_order() {
        let users = |list: &[&str]| list.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>();
        let subscribes = |subscribed: &[&str], refused: &[&str]| Decision::Subscribes {
            subscribed: users(subscribed),
            refused: users(refused),
        };
        assert!(subscribes(&["a", "b"], &["c"]).same_as(&subscribes(&["b", "a"], &["c"])));
        assert!(!subscribes(&["a", "b"], &["c"]).same_as(&subscribes(&["a"], &["b", "c"])));
        assert!(!subscribes(&["a"], &[]).same_as(&Decision::RejectsAll));
        let timed_out = |list: &[&str]| Decision::TimedOut {
            subscribed: users(list),
        };
        assert!(timed_out(&["a", "b"]).same_as(&timed_out(&["b", "a"])));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.to_owned(),
        };
        assert!(undocumented("in 5 ms").same_as(&undocumented("in 7 ms")));
        let refuses = |code| Decision::RefusesMessage {
            error_code: code,
            caller_code: code,
        };
        assert!(refuses(120001).same_as(&refuses(120001)));
        assert!(!refuses(120001).same_as(&refuses(120002)));
    }

    #[test]
    fn each_kind_is_its_json_tag() {
        let decisions = [
            Decision::Subscribes {
                subscribed: vec![],
                refused: vec![],
            },
            Decision::RejectsAll,
            Decision::Creates,
            Decision::DeniesCreation {
                error_code: 1,
                caller_code: 20006,
            },
            Decision::Sends,
            Decision::SendsRewritten {
                msg_body: None,
                cloud_custom_data: None,
            },
            Decision::RefusesMessage {
                error_code: 1,
                caller_code: 10016,
            },
            Decision::Discards,
            Decision::Ignored,
            Decision::TimedOut { subscribed: vec![] },
            Decision::Undocumented {
                reason: String::new(),
            },
        ];
        for decision in decisions {
            let json = serde_json::to_value(&decision).unwrap();
            assert_eq!(json["kind"], decision.kind());
        }
    }

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
