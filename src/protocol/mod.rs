//! The wire protocol of Tencent Cloud Chat's Official Account webhooks, and nothing else: no
//! sockets, no files, no clock. `sample`, `send`, `serve` and `check` all speak through it, so
//! the contract lives in one place (see `docs/protocol.md`).

mod answer;
mod command;
mod decision;
mod event;
mod evidence;
mod finding;
#[cfg(test)]
mod fuzz;
mod inbound;
mod json;
mod judge;
mod query;
mod schema;
mod signature;

pub use answer::{ActionStatus, Answer};
pub use command::{
    CALLBACKS, CUSTOM_ERROR_CODES, Callback, CommandWord, Kind, OtherModuleCallback, Seed,
    UnknownCallback, Veto,
};
pub use decision::Decision;
pub use event::{
    AccountFullEvent, BeforeCreateEvent, BodyShape, CreatedEvent, DestroyedEvent, EventValue,
    EventValues, InfoChangedEvent, MessageElement, MessageEvent, ReceivedEvent, SentMessageEvent,
    SubscriberEvent, WithdrawEvent, build_body, read_event, read_exact_event, request_oddities,
    subscribers_in,
};
pub use evidence::{Evidence, QuotedErrorInfo, Said, with_error_info};
pub use finding::{Finding, MAX_FINDINGS, Severity, excerpt};
pub use inbound::{Inbound, Received, ReceivedBody, Receiver, Rejection, UNMODELLED_NOTE, Valid};
pub use json::{duplicate_keys, reads_back};
pub use judge::{Judgement, Reply, decisive_fields, judge, judge_broken, judge_no_answer};
pub use query::{CallbackQuery, ReceivedQuery, param};
pub use schema::{answer_decides, answer_schema, body_schema};
pub use signature::{
    MAX_REQUEST_TIME, SignatureError, Token, Verified, canonical_request_time, sign, verify,
    verify_query,
};

use std::time::Duration;

/// How long Chat waits for an answer before it gives up (Webhook Overview).
pub const BUDGET: Duration = Duration::from_secs(2);

/// Tencent's guidance: a `RequestTime` further than this from the receiver's clock is refused,
/// so that a callback captured on the way cannot be sent again later (a replay attack).
pub const FRESHNESS: Duration = Duration::from_secs(60);

/// The most of a body (request or answer) that oa-hook reads; anything larger is refused.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The `OptPlatform` values Chat documents. English docs say `macOS` where Chinese docs say
/// `Mac`: `Mac` is generated, both are accepted.
pub const PLATFORMS: &[&str] = &[
    "RESTAPI", "Web", "Android", "iOS", "Windows", "Mac", "iPad", "Unknown",
];

/// Whether `platform` is a documented `OptPlatform` value (including the English `macOS`).
pub fn is_known_platform(platform: &str) -> bool {
    platform == "macOS" || PLATFORMS.contains(&platform)
}

/// Official Account IDs that Chat assigns start with this prefix.
pub const OFFICIAL_ACCOUNT_PREFIX: &str = "@TOA#_";

/// The longest custom Official Account ID, in bytes (printable ASCII).
pub const MAX_OFFICIAL_ACCOUNT_BYTES: usize = 48;

/// The longest UserID Chat allows, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;

/// The longest Official Account `Name`, in bytes (trtc.io/document/60813).
pub const MAX_NAME_BYTES: usize = 150;

/// The longest `Introduction`, in bytes.
pub const MAX_INTRODUCTION_BYTES: usize = 400;

/// The longest `FaceUrl`, in bytes.
pub const MAX_FACE_URL_BYTES: usize = 500;

/// The longest `Organization`, in bytes.
pub const MAX_ORGANIZATION_BYTES: usize = 500;

/// The most subscribers the REST call that adds them takes at once.
pub const MAX_SUBSCRIBERS_PER_CALL: usize = 100;
