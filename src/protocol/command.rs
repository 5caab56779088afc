//! The table of callback commands. Adding one is an entry here plus its body type.

use super::event::{BodyShape, SubscriberEvent};
use std::fmt;

/// Whether the backend's answer decides anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sent before the event; the answer can veto it.
    Before,
    /// Sent after the event; the answer is ignored.
    After,
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
    /// The shape of its body.
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
        body: BodyShape::of::<SubscriberEvent>(),
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
        body: BodyShape::of::<SubscriberEvent>(),
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

/// A callback of another module. An app has one callback URL, so Chat POSTs these to the same
/// backend as the Official Account ones, with the same query (protocol.md section 2).
#[derive(Debug, PartialEq, Eq)]
pub struct OtherModuleCallback {
    pub command: &'static str,
    /// Tencent's page for this callback.
    pub doc: &'static str,
    /// Tencent's sample body.
    sample: &'static str,
}

impl OtherModuleCallback {
    /// An after callback of the State module: a user logged in or out.
    pub const STATE_CHANGE: OtherModuleCallback = OtherModuleCallback {
        command: "State.StateChange",
        doc: "https://cloud.tencent.com/document/product/269/2570",
        sample: r#"{"CallbackCommand":"State.StateChange","EventTime":1629883332497,"Info":{"Action":"Login","To_Account":"testuser316","Reason":"Register"},"KickedDevice":[{"Platform":"Windows"},{"Platform":"Android"}]}"#,
    };

    /// Tencent's sample body at `event_time` (Unix milliseconds).
    pub fn body(&self, event_time: i64) -> serde_json::Value {
        let mut body: serde_json::Value =
            serde_json::from_str(self.sample).unwrap_or(serde_json::Value::Null);
        body["EventTime"] = event_time.into();
        body
    }
}

/// The longest command word kept as received; longer ones are cut (they are not Chat's).
const MAX_COMMAND_WORD: usize = 64;

/// A `CallbackCommand` word as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandWord {
    /// One of the commands in [`CALLBACKS`].
    Modelled(&'static Callback),
    /// Any other word, cut to 64 bytes.
    Other(String),
}

impl CommandWord {
    pub fn read(word: &str) -> Self {
        match Callback::by_command(word) {
            Some(callback) => CommandWord::Modelled(callback),
            None => CommandWord::Other(cut(word, MAX_COMMAND_WORD).to_owned()),
        }
    }

    pub fn callback(&self) -> Option<&'static Callback> {
        match self {
            CommandWord::Modelled(callback) => Some(callback),
            CommandWord::Other(_) => None,
        }
    }

    /// The short name of a modelled command, else the word itself.
    pub fn name(&self) -> &str {
        match self {
            CommandWord::Modelled(callback) => callback.name,
            CommandWord::Other(word) => word,
        }
    }

    /// Whether the word has the shape of Chat's command words, `Module.Name` in letters,
    /// digits and `_` (`C2C.CallbackAfterSendMsg`, `State.StateChange`): Chat may send any
    /// such command to the one callback URL of an app.
    pub fn is_well_formed(&self) -> bool {
        let word = match self {
            CommandWord::Modelled(_) => return true,
            CommandWord::Other(word) => word,
        };
        let part =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        word.len() < MAX_COMMAND_WORD
            && word
                .split_once('.')
                .is_some_and(|(module, name)| part(module) && part(name))
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
    fn other_modules_samples_are_json_with_their_command() {
        let other = OtherModuleCallback::STATE_CHANGE;
        let body = other.body(5);
        assert_eq!(body["CallbackCommand"], other.command);
        assert_eq!(body["EventTime"], 5);
        assert!(CommandWord::read(other.command).is_well_formed());
    }

    #[test]
    fn command_words_of_other_modules_are_well_formed() {
        for word in [
            "State.StateChange",
            "C2C.CallbackAfterSendMsg",
            "OfficialAccount.CallbackAfterAddSubscriber",
        ] {
            let read = CommandWord::read(word);
            assert_eq!((read.name(), read.is_well_formed()), (word, true));
        }
        for word in [
            "",
            "State",
            ".x",
            "x.",
            "a.b.c",
            "a b.c",
            "a.b\n",
            &"x.".repeat(40),
        ] {
            assert!(!CommandWord::read(word).is_well_formed(), "{word:?}");
        }
        let before = CommandWord::read(CALLBACKS[0].command);
        assert_eq!(before.callback(), Some(&CALLBACKS[0]));
        assert_eq!(before.name(), "before-subscribe");
        assert_eq!(CommandWord::read(&"é".repeat(40)).name().len(), 64);
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
