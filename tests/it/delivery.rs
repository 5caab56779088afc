//! What Chat's delivery does to a backend (protocol.md section 7): a before callback answered
//! after 2 s goes ahead without the backend's veto, which load mode, `check` and `replay`
//! count; and `check`'s `delivery/*` cases: duplicates, abandoned callbacks, out-of-order ones.

use crate::support::{answer, assert_contains, backend, oa_hook, run};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::{Request, Respond, ResponseTemplate};

fn ok() -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
}

/// Answers OK, every `nth` request (the 1st, the nth + 1st, ...) after 2.1 s.
struct LateEvery {
    nth: usize,
    seen: AtomicUsize,
}

impl Respond for LateEvery {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        let answer = answer(ok());
        if n.is_multiple_of(self.nth) {
            answer.set_delay(Duration::from_millis(2100))
        } else {
            answer
        }
    }
}

fn late_every(nth: usize) -> LateEvery {
    LateEvery {
        nth,
        seen: AtomicUsize::new(0),
    }
}

/// `oa-hook ARGS` off the async runtime the backend runs on.
async fn oa_hook_run(args: &[&str]) -> crate::support::Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || run(oa_hook().args(args)))
        .await
        .unwrap()
}

/// `oa-hook COMMAND CALLBACK --url URL ARGS`, and its stdout as JSON when it is JSON.
async fn on(url: &str, command: &[&str], extra: &[&str]) -> (crate::support::Run, Value) {
    let output = oa_hook_run(&[command, &["--url", url], extra].concat()).await;
    let document = serde_json::from_str(&output.stdout).unwrap_or(Value::Null);
    (output, document)
}

#[tokio::test]
async fn load_mode_says_how_many_went_ahead_and_max_late_tolerates_a_share() {
    let server = backend(late_every(4)).await;
    let url = format!("{}/im", server.uri());
    let load = ["send", "before-subscribe", "-n", "8", "-c", "8"];
    let (output, _) = on(&url, &load, &["--max-late", "30"]).await;
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert_contains(&output.stdout, "went ahead on Chat's timeout: 2 (25%)\n");
    assert_contains(
        &output.stdout,
        "PASS: 6 answers conforming, 2 only late, within --max-late 30%",
    );
    let (output, _) = on(&url, &load, &["--max-late", "20"]).await;
    assert_eq!(output.code, 1);
    assert_contains(
        &output.stdout,
        "FAIL: went ahead on Chat's timeout: 2 (25%), over --max-late 20%",
    );
    // Without --max-late, any lateness fails, as before.
    let (output, document) = on(&url, &load, &["-o", "json"]).await;
    assert_eq!(output.code, 1);
    assert_eq!(
        document["went_ahead"],
        json!({"before_callbacks": 8, "count": 2, "percent": 25.0})
    );
    assert_eq!(document["max_late"], Value::Null);
}

#[tokio::test]
async fn max_late_is_for_load_runs_of_before_callbacks() {
    let server = backend(answer(ok())).await;
    let url = format!("{}/im", server.uri());
    let after = ["send", "after-unsubscribe", "-n", "2"];
    let (output, _) = on(&url, &after, &["--max-late", "1"]).await;
    assert_eq!(output.code, 2);
    assert_contains(
        &output.stderr,
        "--max-late is for before callbacks, and after-unsubscribe is an after callback",
    );
    let before = ["send", "before-subscribe"];
    let (output, _) = on(&url, &before, &["--max-late", "1"]).await;
    assert_eq!(output.code, 2);
    assert_contains(&output.stderr, "--max-late is for load mode");
    let (output, _) = on(&url, &before, &["-n", "1", "--max-late", "101"]).await;
    assert_eq!(output.code, 2);
    assert_contains(
        &output.stderr,
        "--max-late 101 is not from 0 to 100; give a percent from 0 to 100",
    );
    // An after callback's run has no veto to lose: no figure.
    let (_, document) = on(&url, &after, &["-o", "json"]).await;
    assert_eq!(document["went_ahead"], Value::Null);
}

#[tokio::test]
async fn check_says_how_many_before_callbacks_went_ahead_in_every_report() {
    let server = backend(late_every(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let url = format!("{}/im", server.uri());
    let check = ["check", "--timeout", "3s"];
    let junit_arg = ["--only", "answer", "--junit", junit.to_str().unwrap()];
    let (output, _) = on(&url, &check, &junit_arg).await;
    assert_eq!(output.code, 1);
    // after-unsubscribe/answer is late too, but has no veto to lose.
    assert_contains(
        &output.stdout,
        "\nwent ahead on Chat's timeout: 1 (100%) of 1 before callback\n",
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_contains(&xml, r#"<property name="went-ahead" value="1"/>"#);
    assert_contains(
        &xml,
        r#"<property name="went-ahead-percent" value="100.000"/>"#,
    );
    assert_contains(&xml, r#"<property name="before-callbacks" value="1"/>"#);
    let only_after = ["--only", "after-unsubscribe/answer", "-o", "json"];
    let (_, report) = on(&url, &check, &only_after).await;
    assert_eq!(report["went_ahead"], Value::Null);
}

#[tokio::test]
async fn replay_says_how_many_before_callbacks_went_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let record = crate::replay::recorded(dir.path()).await;
    let server = backend(late_every(1)).await;
    let url = format!("{}/im", server.uri());
    let replay = ["replay", record.to_str().unwrap()];
    let (_, report) = on(&url, &replay, &["--timeout", "3s", "-o", "json"]).await;
    assert_eq!(
        report["went_ahead"],
        json!({"before_callbacks": 1, "count": 1, "percent": 100.0})
    );
}
