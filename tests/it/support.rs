//! Shared helpers: the binary under a fixed clock, and paths to the samples.

use assert_cmd::Command;
use std::path::PathBuf;

/// The fixed clock every test runs under (Unix seconds): the RequestTime of Tencent's vector.
pub const NOW: u64 = 1_669_872_112;

/// The `oa-hook` binary with a fixed clock and a clean environment.
pub fn oa_hook() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("oa-hook"));
    cmd.env("OA_HOOK_NOW", NOW.to_string())
        .env_remove("OA_HOOK_TOKEN")
        .env_remove("OA_HOOK_SDKAPPID")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    cmd
}

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("oa-hook runs");
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("oa-hook runs");
    Run {
        code: output.status.code().expect("oa-hook exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A port that was bound a moment ago and released: connecting to it is refused.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP 200 answer with this JSON body.
pub fn answer(body: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

/// A backend on loopback that answers every POST with `response`.
pub async fn backend(response: impl wiremock::Respond + 'static) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// Asserts that `text` starts with `prefix`, showing `text` when it does not.
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "expected it to start with {prefix:?}:\n{text}"
    );
}

/// Asserts that `text` ends with `suffix`, showing `text` when it does not.
#[track_caller]
pub fn assert_ends(text: &str, suffix: &str) {
    assert!(
        text.ends_with(suffix),
        "expected it to end with {suffix:?}:\n{text}"
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
