//! Shared by the modules: the [`Test`] builder that runs the binary under a fixed clock, a
//! running `serve`, the backends several modules use, and the expected JSON.

mod answers;
mod backends;
mod expect;
mod report;
mod serve;
mod test;

pub use answers::*;
pub use backends::*;
pub use expect::*;
pub use report::*;
pub use serve::*;
pub use test::*;

use std::path::PathBuf;

/// What `send` says on stderr when it has no token to sign with.
pub const UNSIGNED: &str = "note: unsigned (no token), so a backend that checks Sign refuses it; pass --token or set OA_HOOK_TOKEN (--no-sign silences this note)\n";

/// Tencent's before-subscribe sample body with `command` for its command word, compact as Chat
/// sends it.
pub fn seed_body(command: &str) -> String {
    serde_json::json!({
        "CallbackCommand": command,
        "Official_Account": "@TOA#_test_for_penn",
        "Operator_Account": "107867",
        "SubscribeAccountList": [{"Subscriber_Account": "jared"}, {"Subscriber_Account": "leckie"}],
        "EventTime": 1670574414123_i64
    })
    .to_string()
}

/// `send before-subscribe --no-sign --url URL` with `extra`: the unsigned callback, or load of
/// them, that a test sends to a backend which does not check Sign.
pub fn send_unsigned(url: &str, extra: &[&str]) -> Test {
    Test::new()
        .args(["send", "before-subscribe", "--no-sign", "--url", url])
        .args(extra)
}

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Asserts that `text` starts with `prefix`, showing `text` when it does not.
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "expected it to start with {prefix:?}:\n{text}"
    );
}

/// Asserts that `text` contains `part`, showing `text` when it does not.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(
        text.contains(part),
        "expected it to contain {part:?}:\n{text}"
    );
}
