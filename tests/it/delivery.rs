//! What Chat's delivery does to a backend (protocol.md section 7): a before callback answered
//! after 2 s goes ahead without the backend's veto, which load mode, `check` and `replay`
//! count; and `check`'s `delivery/*` cases: duplicates, abandoned callbacks, out-of-order ones.

use crate::support::{
    Test, UNSIGNED, allow, answer, anything, assert_contains, assert_message, backend, contains,
    statuses,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::{Request, Respond, ResponseTemplate};

/// Answers OK, every `nth` request (the 1st, the nth + 1st, ...) after 2.1 s.
struct LateEvery {
    nth: usize,
    seen: AtomicUsize,
}

impl Respond for LateEvery {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        let answer = answer(allow());
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

/// `oa-hook COMMAND CALLBACK --url URL ARGS`.
fn on(url: &str, command: &[&str], extra: &[&str]) -> Test {
    Test::new().args(command).args(["--url", url]).args(extra)
}

/// [`on`] with `--output json`, which fails (exit 1): its report.
async fn failed_report(url: &str, command: &[&str], extra: &[&str]) -> Value {
    on(url, command, extra)
        .args(["-o", "json"])
        .status(1)
        .run_json_off_runtime()
        .await
}

#[tokio::test]
async fn load_mode_says_how_many_went_ahead_and_max_late_tolerates_a_share() {
    let server = backend(late_every(4)).await;
    let url = format!("{}/im", server.uri());
    let load = ["send", "before-subscribe", "-n", "8", "-c", "8"];
    on(&url, &load, &["--max-late", "30"])
        .stdout(
            contains("went ahead on Chat's timeout: 2 (25%)\n")
                .contains("PASS: 6 answers conforming, 2 only late, within --max-late 30%"),
        )
        .stderr(UNSIGNED)
        .run_off_runtime()
        .await;
    on(&url, &load, &["--max-late", "20"])
        .status(1)
        .stdout(contains(
            "FAIL: went ahead on Chat's timeout: 2 (25%), over --max-late 20%",
        ))
        .stderr(UNSIGNED)
        .run_off_runtime()
        .await;
    // Without --max-late, any lateness fails, as before.
    let document = failed_report(&url, &load, &[]).await;
    assert_eq!(
        document["went_ahead"],
        json!({"before_callbacks": 8, "count": 2, "percent": 25.0})
    );
    assert_eq!(document["max_late"], Value::Null);
}

#[tokio::test]
async fn max_late_is_for_load_runs_of_before_callbacks() {
    let server = backend(answer(allow())).await;
    let url = format!("{}/im", server.uri());
    let after = ["send", "after-unsubscribe", "-n", "2"];
    on(&url, &after, &["--max-late", "1"])
        .status(2)
        .stderr(contains(
            "--max-late is for before callbacks, and after-unsubscribe is an after callback",
        ))
        .run_off_runtime()
        .await;
    let before = ["send", "before-subscribe"];
    on(&url, &before, &["--max-late", "1"])
        .status(2)
        .stderr(contains("--max-late is for load mode"))
        .run_off_runtime()
        .await;
    on(&url, &before, &["-n", "1", "--max-late", "101"])
        .status(2)
        .stderr(contains(
            "oa-hook: error: --max-late 101 is not from 0 to 100\n  hint: give a percent from 0 to 100",
        ))
        .run_off_runtime()
        .await;
    // An after callback's run has no veto to lose: no figure.
    let document = on(&url, &after, &["-o", "json"])
        .run_json_off_runtime()
        .await;
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
    // after-unsubscribe/answer is late too, but has no veto to lose.
    on(&url, &check, &junit_arg)
        .status(1)
        .stdout(contains(
            "\nwent ahead on Chat's timeout: 1 (100%) of 1 before callback\n",
        ))
        .stderr(anything())
        .run_off_runtime()
        .await;
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_contains(&xml, r#"<property name="went-ahead" value="1"/>"#);
    assert_contains(
        &xml,
        r#"<property name="went-ahead-percent" value="100.000"/>"#,
    );
    assert_contains(&xml, r#"<property name="before-callbacks" value="1"/>"#);
    let only_after = ["--only", "after-unsubscribe/answer"];
    let report = failed_report(&url, &check, &only_after).await;
    assert_eq!(report["went_ahead"], Value::Null);
}

#[tokio::test]
async fn replay_says_how_many_before_callbacks_went_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let record = crate::replay::recorded(dir.path()).await;
    let server = backend(late_every(1)).await;
    let url = format!("{}/im", server.uri());
    let replay = ["replay", record.to_str().unwrap()];
    let report = failed_report(&url, &replay, &["--timeout", "3s"]).await;
    assert_eq!(
        report["went_ahead"],
        json!({"before_callbacks": 1, "count": 1, "percent": 100.0})
    );
}

/// `check --only delivery --output json` against `url`, expecting exit `status`: the report.
async fn delivery_check(url: &str, extra: &[&str], status: i32) -> Value {
    on(url, &["check", "--only", "delivery", "-o", "json"], extra)
        .status(status)
        .run_json_off_runtime()
        .await
}

/// The first finding of the case `id`.
/// The case `id` of `report`, whose first finding, its cause, must be `code`.
fn caused_by<'r>(report: &'r Value, id: &str, code: &str) -> &'r Value {
    let case = crate::support::case(report, id);
    assert_eq!(case["findings"][0]["code"], code, "{case:#}");
    case
}

#[test]
fn oa_hooks_own_serve_passes_every_delivery_case() {
    let serve = Test::serve().args(["--refuse", "jared", "-q"]).start();
    let report = on(
        &format!("{}/im", serve.url),
        &["check", "--only", "delivery", "-o", "json"],
        &[],
    )
    .run_json();
    assert_eq!(
        statuses(&report),
        [
            ("delivery/duplicate".to_owned(), "pass".to_owned()),
            ("delivery/same-decision".to_owned(), "pass".to_owned()),
            ("delivery/abandoned".to_owned(), "pass".to_owned()),
            ("delivery/out-of-order".to_owned(), "pass".to_owned()),
        ]
    );
}

#[test]
fn delivery_cases_are_opt_in() {
    let list = |args: &[&str]| {
        Test::new()
            .args(["check", "--list"])
            .args(args)
            .stdout(anything())
            .run()
            .stdout
            .lines()
            .filter(|l| l.starts_with("delivery/"))
            .count()
    };
    assert_eq!(list(&[]), 0);
    assert_eq!(list(&["--only", "delivery"]), 4);
    assert_eq!(list(&["--only", "delivery/abandoned"]), 1);
    assert_eq!(list(&["--command", "all"]), 4);
}

/// Answers every callback OK the first time and 500 to a body it has seen before, as a backend
/// that inserts each event under a unique key does; refuses a subscriber it has seen before.
#[derive(Default)]
pub struct CountsTwice {
    seen: std::sync::Mutex<std::collections::HashSet<Vec<u8>>>,
}

impl Respond for CountsTwice {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let again = !self.seen.lock().unwrap().insert(request.body.clone());
        let before = request.url.as_str().contains("CallbackBeforeAddSubscriber");
        match (again, before) {
            (true, true) => answer(json!({
                "ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
                "RefusedSubscribers_Account": ["jared", "leckie"]
            })),
            (true, false) => ResponseTemplate::new(500)
                .set_body_string("duplicate key value violates unique constraint \"events_pkey\""),
            (false, _) => answer(allow()),
        }
    }
}

#[tokio::test]
async fn a_backend_that_counts_a_retried_callback_twice_fails_the_duplicate_cases() {
    let server = backend(CountsTwice::default()).await;
    let report = delivery_check(&format!("{}/im", server.uri()), &[], 1).await;
    let duplicate = caused_by(&report, "delivery/duplicate", "duplicate-refused");
    assert_eq!(duplicate["status"], "fail");
    assert_message(
        duplicate,
        contains(
            "the same callback again, as Chat retries an after callback, got HTTP 500, body is not JSON: `duplicate key value violates unique constraint \"events_pkey\"`",
        ),
    );
    assert_eq!(duplicate["findings"][1]["code"], "http-status");
    assert_eq!(duplicate["control"]["status"], 200);
    let same = caused_by(&report, "delivery/same-decision", "decision-changed");
    assert_eq!(
        same["message"],
        "the same before-subscribe callback twice: the first time Chat subscribes jared, leckie, the second time Chat subscribes nobody; refuses jared, leckie; a callback delivered again must get the decision it got the first time"
    );
}

/// What a backend on a plain socket does with each request.
pub trait Handles: Send + Sync + 'static {
    /// Called once a request's head has come, before its body is read.
    fn head(&self) {}
    /// The status and JSON answered to a request read whole, given its request line (with the
    /// query) and body.
    fn answer(&self, line: &str, body: &[u8]) -> (u16, Value);
}

/// A backend on a plain socket, a thread per connection, kept alive, doing what `handles`
/// says with each request. Returns its URL.
pub fn plain_backend(handles: impl Handles) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/im", listener.local_addr().unwrap());
    let handles = std::sync::Arc::new(handles);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let handles = std::sync::Arc::clone(&handles);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    handles.head();
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let (status, json) = handles.answer(&line, &body);
                    let json = json.to_string();
                    let _ = write!(
                        writer,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                        json.len()
                    );
                }
            });
        }
    });
    url
}

/// before-subscribe takes 300 ms; an after-subscribe whose before-subscribe is not finished
/// gets 409, as from a backend that looks up the subscription it confirms.
#[derive(Default)]
pub struct WantsBeforeFinished {
    busy: std::sync::atomic::AtomicBool,
}

impl Handles for WantsBeforeFinished {
    fn answer(&self, line: &str, _: &[u8]) -> (u16, Value) {
        if line.contains("CallbackBeforeAddSubscriber") {
            self.busy.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            self.busy.store(false, Ordering::SeqCst);
        } else if line.contains("CallbackAfterAddSubscriber") {
            std::thread::sleep(Duration::from_millis(50));
            if self.busy.load(Ordering::SeqCst) {
                let fail = json!({"ActionStatus": "FAIL", "ErrorCode": 1, "ErrorInfo": "no such subscription"});
                return (409, fail);
            }
        }
        (200, allow())
    }
}

#[tokio::test]
async fn a_backend_that_needs_the_before_callback_finished_fails_out_of_order() {
    let url = plain_backend(WantsBeforeFinished::default());
    let out_of_order = ["check", "--only", "delivery/out-of-order"];
    let report = failed_report(&url, &out_of_order, &[]).await;
    let case = caused_by(&report, "delivery/out-of-order", "out-of-order-refused");
    assert_message(
        case,
        contains("after-subscribe, sent while before-subscribe was still unanswered (as when Chat went ahead on its timeout), got HTTP 409, ActionStatus FAIL, ErrorCode 1, ErrorInfo \"no such subscription\" in ").contains("where in order it got HTTP 200, ActionStatus OK, ErrorCode 0"),
    );
}

/// Answers OK, but takes a lock when a request's head comes and gives it back only once the
/// body is whole: a request abandoned mid-body keeps it, and from then on nothing is answered.
#[derive(Default)]
pub struct LocksOnAHalfDoneRequest {
    locked: std::sync::atomic::AtomicBool,
}

impl Handles for LocksOnAHalfDoneRequest {
    fn head(&self) {
        while self.locked.swap(true, Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn answer(&self, _: &str, _: &[u8]) -> (u16, Value) {
        self.locked.store(false, Ordering::Release);
        (200, allow())
    }
}

#[test]
fn a_backend_that_locks_on_a_half_done_request_fails_abandoned() {
    let url = plain_backend(LocksOnAHalfDoneRequest::default());
    let report = on(&url, &["check", "--only", "delivery/abandoned"], &[])
        .args(["--only", "answer", "--timeout", "1s", "-o", "json"])
        .status(1)
        .run_json();
    // Sent whole, callbacks are answered; after one abandoned half-sent, nothing is.
    assert_eq!(
        crate::support::case(&report, "before-subscribe/answer")["status"],
        "pass"
    );
    let case = caused_by(&report, "delivery/abandoned", "stuck-after-abandoned");
    assert_eq!(
        case["message"],
        "a callback cut off mid-body was dropped at 2 s (it was still waiting for the rest); the same callback, sent whole right after, got no answer within 1s (Chat gives up after 2 s): the backend seems to hold something (a lock, a worker, a connection) for the request Chat abandoned"
    );
}
