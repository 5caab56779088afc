//! The table of callback commands. Adding one is an entry here plus its body type.

use super::event::{
    AccountFullEvent, BeforeCreateEvent, BodyShape, CreatedEvent, DestroyedEvent, InfoChangedEvent,
    MessageEvent, SentMessageEvent, SubscriberEvent, WithdrawEvent,
};
use std::fmt;

/// Whether the backend's answer decides anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sent before the event; the answer can veto it.
    Before,
    /// Sent after the event; the answer is ignored.
    After,
}

/// What a before callback's answer decides, each as its page documents it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Veto {
    /// Who subscribes: 0 goes ahead minus `RefusedSubscribers_Account`, 1 rejects everyone.
    Subscription,
    /// Whether the Official Account is created: 0 allows, 1 denies (the caller gets 20006), a
    /// code in 120001-130000 denies with that code and `ErrorInfo`.
    Creation,
    /// Whether and how the message is sent: 0 sends it (rewritten by `MsgBody` and
    /// `CloudCustomData`, if given), 1 refuses it (the sender gets 10016), 2 discards it
    /// silently, a code in 120001-130000 refuses it with that code and `ErrorInfo`.
    Message,
}

impl Veto {
    /// Whether Tencent documents `code` as an answer to a callback with this veto (`None`: an
    /// after callback, whose answer is ignored: 0).
    pub fn documents(veto: Option<Veto>, code: i64) -> bool {
        match veto {
            None => code == 0,
            Some(Veto::Subscription) => matches!(code, 0 | 1),
            Some(Veto::Creation) => matches!(code, 0 | 1) || CUSTOM_ERROR_CODES.contains(&code),
            Some(Veto::Message) => matches!(code, 0..=2) || CUSTOM_ERROR_CODES.contains(&code),
        }
    }

    /// The documented codes and what each does, in words.
    pub fn codes(self) -> &'static str {
        match self {
            Veto::Subscription => "0 lets the subscription go ahead, 1 rejects it",
            Veto::Creation => {
                "0 allows the creation, 1 denies it, 120001-130000 deny it with your own code"
            }
            Veto::Message => {
                "0 sends the message, 1 refuses it, 2 discards it silently, 120001-130000 refuse it with your own code"
            }
        }
    }

    /// What goes ahead when the backend does not decide, in words.
    pub fn event(self) -> &'static str {
        match self {
            Veto::Subscription => "the subscription",
            Veto::Creation => "the creation",
            Veto::Message => "the message",
        }
    }
}

/// The codes a backend may answer a creation or a message with, to be passed to the caller.
pub const CUSTOM_ERROR_CODES: std::ops::RangeInclusive<i64> = 120_001..=130_000;

/// The values of the sample in Tencent's page for a command, used as defaults. A body takes
/// those of its own fields; the others are there for the table's sake.
#[derive(Debug, PartialEq, Eq)]
pub struct Seed {
    pub official_account: &'static str,
    pub operator_account: &'static str,
    pub owner_account: &'static str,
    pub name: &'static str,
    pub introduction: &'static str,
    pub face_url: &'static str,
    pub organization: &'static str,
    pub subscribers: &'static [&'static str],
    pub texts: &'static [&'static str],
    pub cloud_custom_data: &'static str,
    pub online_only: bool,
    pub msg_keys: &'static [&'static str],
    pub msg_time: i64,
    pub event_time: i64,
}

impl Seed {
    /// The values most of Tencent's samples share.
    const SAMPLE: Seed = Seed {
        official_account: "@TOA#_test_OA_for_penn",
        operator_account: "107867",
        owner_account: "107867",
        name: "TestOfficialAccount",
        introduction: "",
        face_url: "",
        organization: "",
        subscribers: &["jared", "leckie"],
        texts: &["red packet"],
        cloud_custom_data: "your cloud custom data",
        online_only: true,
        msg_keys: &["71_1_1698741698"],
        msg_time: 1_490_686_222,
        event_time: 1_670_574_414_123,
    };
}

/// One callback command Chat can send.
#[derive(Debug, PartialEq, Eq)]
pub struct Callback {
    /// The short name used on the command line.
    pub name: &'static str,
    /// The `CallbackCommand` word on the wire.
    pub command: &'static str,
    pub kind: Kind,
    /// What its answer decides; `None` for an after callback.
    pub veto: Option<Veto>,
    /// The shape of its body.
    pub body: BodyShape,
    /// One line a user reads in `--help`.
    pub summary: &'static str,
    /// Tencent's page for this callback.
    pub doc: &'static str,
    pub seed: Seed,
    /// Where Tencent's page gets its own sample wrong, and what oa-hook sends instead.
    pub quirk: Option<&'static str>,
}

pub static CALLBACKS: &[Callback] = &[
    Callback {
        name: "before-subscribe",
        command: "OfficialAccount.CallbackBeforeAddSubscriber",
        kind: Kind::Before,
        veto: Some(Veto::Subscription),
        body: BodyShape::of::<SubscriberEvent>(),
        summary: "before users subscribe to an Official Account; the backend may refuse some or all",
        doc: "https://trtc.io/document/60799",
        seed: Seed {
            official_account: "@TOA#_test_for_penn",
            ..Seed::SAMPLE
        },
        quirk: None,
    },
    Callback {
        name: "after-unsubscribe",
        command: "OfficialAccount.CallbackAfterDeleteSubscriber",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<SubscriberEvent>(),
        summary: "after users unsubscribe from an Official Account; the answer is ignored",
        doc: "https://trtc.io/document/60802",
        seed: Seed {
            operator_account: "leckie",
            ..Seed::SAMPLE
        },
        quirk: None,
    },
    Callback {
        name: "before-create",
        command: "OfficialAccount.CallbackBeforeCreateOfficialAccount",
        kind: Kind::Before,
        veto: Some(Veto::Creation),
        body: BodyShape::of::<BeforeCreateEvent>(),
        summary: "before an Official Account is created; the backend may deny it",
        doc: "https://trtc.io/document/60795",
        seed: Seed::SAMPLE,
        quirk: None,
    },
    Callback {
        name: "after-create",
        command: "OfficialAccount.CallbackAfterCreateOfficialAccount",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<CreatedEvent>(),
        summary: "after an Official Account was created; the answer is ignored",
        doc: "https://trtc.io/document/60796",
        seed: Seed::SAMPLE,
        quirk: None,
    },
    Callback {
        name: "after-info-change",
        command: "OfficialAccount.CallbackAfterOfficialAccountInfoChanged",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<InfoChangedEvent>(),
        summary: "after an Official Account's profile changed; the answer is ignored",
        doc: "https://trtc.io/document/60797",
        seed: Seed {
            operator_account: "leckie",
            introduction: "NewNotification",
            name: "NewName",
            face_url: "http://this.is.newface.url",
            organization: "NewOrganization",
            ..Seed::SAMPLE
        },
        quirk: Some(
            "Tencent's sample on this page is not valid JSON, in every language: two commas are missing between its fields. oa-hook's sample is the same body made valid: the fields, their order and values as printed.",
        ),
    },
    Callback {
        name: "after-destroy",
        command: "OfficialAccount.CallbackAfterOfficialAccountDestroyed",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<DestroyedEvent>(),
        summary: "after an Official Account was destroyed; the answer is ignored",
        doc: "https://trtc.io/document/60798",
        seed: Seed::SAMPLE,
        quirk: None,
    },
    Callback {
        name: "after-subscribe",
        command: "OfficialAccount.CallbackAfterAddSubscriber",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<SubscriberEvent>(),
        summary: "after users subscribed to an Official Account; the answer is ignored",
        doc: "https://trtc.io/document/60800",
        seed: Seed {
            official_account: "@TOA#_test_for_penn",
            ..Seed::SAMPLE
        },
        quirk: None,
    },
    Callback {
        name: "after-full",
        command: "OfficialAccount.CallbackAfterOfficialAccountFull",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<AccountFullEvent>(),
        summary: "after an Official Account reached its subscriber limit; the answer is ignored",
        doc: "https://trtc.io/document/60801",
        seed: Seed::SAMPLE,
        quirk: None,
    },
    Callback {
        name: "before-send",
        command: "OfficialAccount.CallbackBeforeSendMsg",
        kind: Kind::Before,
        veto: Some(Veto::Message),
        body: BodyShape::of::<MessageEvent>(),
        summary: "before an Official Account's message is sent; the backend may refuse, discard or rewrite it",
        doc: "https://trtc.io/document/60803",
        seed: Seed {
            official_account: "@TOA#_2J4SZEAEL",
            ..Seed::SAMPLE
        },
        quirk: None,
    },
    Callback {
        name: "after-send",
        command: "OfficialAccount.CallbackAfterSendMsg",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<SentMessageEvent>(),
        summary: "after an Official Account's message was sent; the answer is ignored",
        doc: "https://trtc.io/document/60804",
        seed: Seed {
            official_account: "@TOA#_2J4SZEAEL",
            ..Seed::SAMPLE
        },
        quirk: Some(
            "Tencent's page gives this body as the 60803 body plus MsgKey and MsgTime; oa-hook's sample puts them after CloudCustomData, before EventTime, as every sample ends with EventTime. MsgTime is in seconds where EventTime is in milliseconds.",
        ),
    },
    Callback {
        name: "after-withdraw",
        command: "OfficialAccount.CallbackAfterMsgWithDraw",
        kind: Kind::After,
        veto: None,
        body: BodyShape::of::<WithdrawEvent>(),
        summary: "after an Official Account's messages were withdrawn; the answer is ignored",
        doc: "https://trtc.io/document/60805",
        seed: Seed {
            official_account: "@TOA#_123",
            ..Seed::SAMPLE
        },
        quirk: Some(
            "Tencent's sample says `\"Official_Account\": \"#TOA#_123\"`, where every ID Chat makes starts with `@TOA#_`: oa-hook's sample says `@TOA#_123` (see samples/README.md).",
        ),
    },
];

/// A name that is neither a short name nor a `CallbackCommand` word in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown callback command `{0}`")]
pub struct UnknownCallback(pub String);

impl UnknownCallback {
    /// The short name or command word the unknown name is most like, for a "did you mean";
    /// `None` when none is close (by clap's measure for a misspelt flag or value).
    pub fn did_you_mean(&self) -> Option<&'static str> {
        let given = self.0.to_lowercase();
        CALLBACKS
            .iter()
            .flat_map(|c| [c.name, c.command])
            .map(|spelling| (strsim::jaro(&given, &spelling.to_lowercase()), spelling))
            .filter(|(likeness, _)| *likeness > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, spelling)| spelling)
    }
}

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
    fn a_misspelt_name_or_command_word_is_matched_to_the_nearest() {
        let like = |name: &str| Callback::find(name).unwrap_err().did_you_mean();
        assert_eq!(like("before-subscrib"), Some("before-subscribe"));
        assert_eq!(like("Before-Send"), Some("before-send"));
        assert_eq!(like("after-withdrawn"), Some("after-withdraw"));
        assert_eq!(
            like("OfficialAccount.CallbackBeforeAddSubscribr"),
            Some("OfficialAccount.CallbackBeforeAddSubscriber")
        );
        assert_eq!(
            like("CallbackAfterMsgWithDraw"),
            Some("OfficialAccount.CallbackAfterMsgWithDraw")
        );
        assert_eq!(like("xyz"), None);
        assert_eq!(like(""), None);
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
            "OfficialAccount.CallbackAfterSubscriberQuit",
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
    fn before_callbacks_and_only_they_decide() {
        for c in CALLBACKS {
            assert_eq!(c.kind == Kind::Before, c.veto.is_some(), "{c}");
        }
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
