//! The table of callback commands. Adding one is an entry here plus its body type.

use std::fmt;

/// Whether the backend's answer decides anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sent before the event; the answer can veto it.
    Before,
    /// Sent after the event; the answer is ignored.
    After,
}

/// The JSON body a command carries. A command with a new shape adds a variant and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyShape {
    /// [`SubscriberEvent`](super::SubscriberEvent): an Official Account and a subscriber list.
    SubscriberList,
}

/// The values of the sample in Tencent's page for a command, used as defaults.
#[derive(Debug, PartialEq, Eq)]
pub struct Seed {
    pub official_account: &'static str,
    pub operator_account: &'static str,
    pub subscribers: &'static [&'static str],
    pub event_time: i64,
}

/// One callback command Chat can send.
#[derive(Debug, PartialEq, Eq)]
pub struct Callback {
    /// The short name used on the command line.
    pub name: &'static str,
    /// The `CallbackCommand` word on the wire.
    pub command: &'static str,
    pub kind: Kind,
    pub body: BodyShape,
    /// One line a user reads in `--help`.
    pub summary: &'static str,
    /// Tencent's page for this callback.
    pub doc: &'static str,
    pub seed: Seed,
}

pub static CALLBACKS: &[Callback] = &[
    Callback {
        name: "before-subscribe",
        command: "OfficialAccount.CallbackBeforeAddSubscriber",
        kind: Kind::Before,
        body: BodyShape::SubscriberList,
        summary: "before users subscribe to an Official Account; the backend may refuse some or all",
        doc: "https://trtc.io/document/60799",
        seed: Seed {
            official_account: "@TOA#_test_for_penn",
            operator_account: "107867",
            subscribers: &["jared", "leckie"],
            event_time: 1_670_574_414_123,
        },
    },
    Callback {
        name: "after-unsubscribe",
        command: "OfficialAccount.CallbackAfterDeleteSubscriber",
        kind: Kind::After,
        body: BodyShape::SubscriberList,
        summary: "after users unsubscribe from an Official Account; the answer is ignored",
        doc: "https://trtc.io/document/60802",
        seed: Seed {
            official_account: "@TOA#_test_OA_for_penn",
            operator_account: "leckie",
            subscribers: &["jared", "leckie"],
            event_time: 1_670_574_414_123,
        },
    },
];

/// A name that is neither a short name nor a `CallbackCommand` word in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown callback command `{0}`")]
pub struct UnknownCallback(pub String);

impl Callback {
    /// Looks a callback up by short name (`before-subscribe`) or command word
    /// (`OfficialAccount.CallbackBeforeAddSubscriber`).
    pub fn find(name: &str) -> Result<&'static Callback, UnknownCallback> {
        CALLBACKS
            .iter()
            .find(|c| c.name == name || c.command == name)
            .ok_or_else(|| UnknownCallback(name.to_owned()))
    }

    /// Looks a callback up by its `CallbackCommand` word only, as found on the wire.
    pub fn by_command(command: &str) -> Option<&'static Callback> {
        CALLBACKS.iter().find(|c| c.command == command)
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_find_the_same_callback() {
        for c in CALLBACKS {
            assert_eq!(Callback::find(c.name), Ok(c));
            assert_eq!(Callback::find(c.command), Ok(c));
            assert_eq!(Callback::by_command(c.command), Some(c));
        }
        assert_eq!(
            Callback::find("before-unsubscribe"),
            Err(UnknownCallback("before-unsubscribe".into()))
        );
        assert_eq!(Callback::by_command("before-subscribe"), None);
    }

    #[test]
    fn names_and_commands_are_unique() {
        for (i, a) in CALLBACKS.iter().enumerate() {
            for b in &CALLBACKS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.command, b.command);
            }
        }
    }
}
