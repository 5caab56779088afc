//! The exit code is the verdict whatever happens around the run: a closed stdout, Ctrl-C,
//! SIGTERM, a kill, a target that cannot be reached. Reports (JSON, JUnit) always land.

use crate::replay::recorded;
use crate::support::{
    NOW, Test, answer, anything, assert_contains, assert_message, closed_port, contains, lacks,
    oa_hook_std, starts,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// What the reading end of stdout does.
#[derive(Clone, Copy, Debug)]
enum Reader {
    /// Closes at once, as `| true` does.
    ClosesAtOnce,
    /// Reads one line, then closes, as `| head -1` does.
    ReadsOneLine,
}

/// Runs `args` with stdout going to a pipe that `reader` closes; returns the exit code and
/// stderr.
fn with_closed_stdout(args: &[&str], reader: Reader, dir: &std::path::Path) -> (i32, String) {
    let mut child = oa_hook_std()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    match reader {
        Reader::ClosesAtOnce => drop(stdout),
        Reader::ReadsOneLine => {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
        }
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().expect("exits, not killed"), stderr)
}

#[tokio::test]
async fn a_closed_stdout_never_changes_the_exit_code() {
    let failing = crate::support::backend(ResponseTemplate::new(500)).await;
    let url = format!("{}/im", failing.uri());
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let record = record.to_str().unwrap();
    let received = format!(
        "/im?SdkAppid=1&Sign={}&RequestTime={NOW}",
        sign("xxxxyyyy", NOW)
    );
    let commands: Vec<(Vec<&str>, i32)> = vec![
        (vec!["sample", "before-subscribe"], 0),
        (vec!["sample", "before-send", "--format", "curl"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["completions", "zsh"], 0),
        (vec!["completions", "fish"], 0),
        (vec!["man"], 0),
        (vec!["sign", "--token", "xxxxyyyy"], 0),
        (vec!["verify", "--token", "xxxxyyyy", &received], 0),
        (vec!["verify", "--token", "other", &received], 1),
        (vec!["send", "before-subscribe", "--url", &url], 1),
        (
            vec!["send", "before-subscribe", "--url", &url, "--count", "5"],
            1,
        ),
        (vec!["check", "--url", &url], 1),
        (vec!["check", "--url", &url, "--output", "json"], 1),
        (vec!["replay", record, "--url", &url], 1),
        (vec!["check", "--url", "http://127.0.0.1:1/im"], 3),
    ];
    for reader in [Reader::ClosesAtOnce, Reader::ReadsOneLine] {
        for (args, code) in &commands {
            let (got, stderr) = with_closed_stdout(args, reader, dir.path());
            assert_eq!(got, *code, "{args:?} with {reader:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        }
    }
    // init writes its file, then says so on the closed stdout.
    let (code, stderr) = with_closed_stdout(&["init"], Reader::ClosesAtOnce, dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("oa-hook.toml").exists());
}

#[test]
fn a_stdout_that_is_full_fails_a_printing_command_and_keeps_a_verdict() {
    let run = |args: &[&str]| {
        let status = oa_hook_std()
            .args(args)
            .stdout(
                std::fs::File::options()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        (
            status.status.code().unwrap(),
            String::from_utf8(status.stderr).unwrap(),
        )
    };
    let (code, stderr) = run(&["sample", "before-subscribe"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "oa-hook: error: cannot write to stdout: No space left on device (os error 28)\n  hint: redirect stdout somewhere with room, e.g. > report.txt\n"
    );
    let (code, stderr) = run(&["check", "--url", "http://127.0.0.1:1/", "-q"]);
    assert_eq!(code, 3, "{stderr}");
}

/// A backend whose first `fast` callbacks are answered at once and the rest only after a
/// minute; says the number of each request as it comes.
struct Stalling {
    fast: usize,
    hits: AtomicUsize,
    told: Mutex<mpsc::Sender<usize>>,
}

/// A [`Stalling`] backend, started: it, and the number of each request as it comes.
async fn stalling(fast: usize) -> (MockServer, mpsc::Receiver<usize>) {
    let (told, hits) = mpsc::channel();
    let stalling = Stalling {
        fast,
        hits: AtomicUsize::new(0),
        told: Mutex::new(told),
    };
    (crate::support::backend(stalling).await, hits)
}

impl Respond for Stalling {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.hits.fetch_add(1, Ordering::SeqCst);
        let _ = self.told.lock().unwrap().send(n);
        let ok = answer(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}));
        if n < self.fast {
            ok
        } else {
            ok.set_delay(Duration::from_secs(60))
        }
    }
}

/// Waits until the backend got request number `n` (from 0).
fn wait_for_request(hits: &mpsc::Receiver<usize>, n: usize) {
    loop {
        let got = hits
            .recv_timeout(Duration::from_secs(20))
            .expect("the backend is reached in time");
        if got >= n {
            return;
        }
    }
}

/// The test cases of a JUnit report: (name, element under it, its `type`).
fn junit_cases(path: &std::path::Path) -> Vec<(String, Option<String>, Option<String>)> {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("the JUnit file is valid XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let element = n.children().find(|c| c.is_element());
            (
                n.attribute("name").unwrap().to_owned(),
                element.map(|e| e.tag_name().name().to_owned()),
                element.and_then(|e| e.attribute("type")).map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn ctrl_c_in_check_reports_what_ran_and_exits_130() {
    let (backend, hits) = stalling(2).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    // Requests 0 and 1 (answer, batch-100) are answered; 2 (after-unsubscribe) hangs.
    let report = Test::new()
        .args(["check", "--url", &backend.uri(), "--junit"])
        .arg(&junit)
        .args(["--output", "json", "--timeout", "2m"])
        .status(130)
        .stdout(anything())
        .run_signalled("-INT", || wait_for_request(&hits, 2))
        .json();
    assert_eq!(report["verdict"], "interrupted");
    assert_eq!(report["stopped"]["reason"], "interrupted");
    assert_eq!(report["stopped"]["signal"], "SIGINT");
    assert_eq!(report["stopped"]["ran"], 3);
    let total = report["stopped"]["of"].as_u64().unwrap();
    assert_eq!(
        report["stopped"]["message"],
        format!("interrupted by SIGINT after 3 of {total} cases")
    );
    assert_eq!(report["summary"]["total"], 3);
    let cases = junit_cases(&junit);
    let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "before-subscribe/answer",
            "before-subscribe/batch-100",
            "before-subscribe/decision",
            "interrupted"
        ]
    );
    assert_eq!(
        cases[3],
        (
            "interrupted".to_owned(),
            Some("error".to_owned()),
            Some("interrupted".to_owned())
        )
    );
}

#[tokio::test]
async fn sigterm_in_check_says_interrupted_for_people_and_exits_143() {
    let (backend, hits) = stalling(1).await;
    let stdout = Test::new()
        .args(["check", "--url", &backend.uri(), "--timeout", "2m"])
        .status(143)
        .stdout(lacks("PASS"))
        .stderr(anything())
        .run_signalled("-TERM", || wait_for_request(&hits, 1))
        .stdout;
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("INTERRUPTED by SIGTERM after 1 of ")
            && last.ends_with(" cases; the rest did not run"),
        "{stdout}"
    );
}

/// A load run against a backend that stalls after `answered` requests, stopped then by
/// `signal`, expecting exit `status`: its stdout, and the same read as JSON when it is.
async fn load_stopped(
    answered: usize,
    args: &[&str],
    status: i32,
    signal: &str,
) -> (String, Value) {
    let (backend, hits) = stalling(answered).await;
    let stdout = Test::new()
        .args(["send", "before-subscribe", "--url", &backend.uri()])
        .args(args)
        .args(["--timeout", "2m"])
        .status(status)
        .stdout(anything())
        .stderr(anything())
        .run_signalled(signal, || wait_for_request(&hits, answered))
        .stdout;
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (stdout, report)
}

#[tokio::test]
async fn ctrl_c_in_load_mode_is_never_a_pass() {
    let (stdout, _) = load_stopped(5, &["--count", "1000"], 130, "-INT").await;
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("INTERRUPTED by SIGINT after 5 requests in ")
            && last.ends_with(" s, of 1000 requests planned; no verdict on a run cut short"),
        "{stdout}"
    );

    let (_, report) = load_stopped(3, &["--duration", "10m", "-o", "json"], 143, "-TERM").await;
    assert_eq!(report["verdict"], "interrupted");
    assert_eq!(report["signal"], "SIGTERM");
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["requests"], 3);
}

#[tokio::test]
async fn sigterm_in_replay_writes_the_junit_of_what_ran_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let (backend, hits) = stalling(1).await;
    let junit = dir.path().join("replay.xml");
    Test::new()
        .arg("replay")
        .arg(&record)
        .args(["--all", "--url", &backend.uri()])
        .args(["--timeout", "2m", "--junit"])
        .arg(&junit)
        .status(143)
        .stdout(contains("INTERRUPTED by SIGTERM after 1 of 2 cases"))
        .stderr(anything())
        .run_signalled("-TERM", || wait_for_request(&hits, 1));
    let names: Vec<String> = junit_cases(&junit).into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["before-subscribe/line-1", "interrupted"]);
}

#[tokio::test]
async fn a_killed_check_leaves_a_junit_report_that_fails() {
    let (backend, hits) = stalling(0).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    // Killed, it has no exit status for Test to assert: a process of its own.
    let mut child = oa_hook_std()
        .args(["check", "--url", &backend.uri(), "--timeout", "2m"])
        .arg("--junit")
        .arg(&junit)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_request(&hits, 0);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        junit_cases(&junit),
        [(
            "unfinished".to_owned(),
            Some("error".to_owned()),
            Some("unfinished".to_owned())
        )]
    );
}

#[test]
fn check_and_replay_print_one_json_document_in_every_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let unreachable = format!("http://127.0.0.1:{}/im", closed_port());
    let outcome = Test::new()
        .args([
            "check",
            "--url",
            &unreachable,
            "--output",
            "json",
            "--junit",
        ])
        .arg(&junit)
        .status(3)
        .stdout(anything())
        .stderr(anything())
        .run();
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["verdict"], "unreachable");
    assert_eq!(report["stopped"]["reason"], "unreachable");
    assert_eq!(report["stopped"]["case"], "before-subscribe/answer");
    assert_message(&report["stopped"], contains("connection refused"));
    assert_eq!(report["cases"], json!([]));
    let cases = junit_cases(&junit);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].2.as_deref(), Some("unreachable"));

    // A usage error once the target is known: still one document, and the error on stderr.
    let json_report = |more: &[&str]| {
        let outcome = Test::new()
            .args(["check", "--url", &unreachable, "--output", "json"])
            .args(more)
            .status(2)
            .stdout(anything())
            .stderr(anything())
            .run();
        let report = outcome.json();
        assert_eq!(report["verdict"], "error");
        (report["stopped"]["message"].clone(), outcome.stderr)
    };
    let (message, stderr) = json_report(&["--cacert", "/no/such/ca.pem"]);
    assert_eq!(
        message,
        "cannot read --cacert /no/such/ca.pem: No such file or directory (os error 2)"
    );
    assert_contains(&stderr, "oa-hook: error: cannot read --cacert");
    let (message, _) = json_report(&["--only", "no-such-case"]);
    assert_eq!(message, "--only/--skip left no case to run");

    for file in ["/no/such/record.ndjson", "/dev/null"] {
        let report = Test::new()
            .args(["replay", file, "--url", &unreachable, "--output", "json"])
            .status(2)
            .stderr(anything())
            .run_json();
        assert_eq!(report["verdict"], "error", "{file}");
        assert_eq!(report["target"], unreachable);
    }
}

/// Sends a callback to `serve` and leaves it waiting for the answer.
fn callback_in_flight(url: &str) -> TcpStream {
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    let body = crate::support::seed_body("OfficialAccount.CallbackAfterAddSubscriber");
    write!(
        stream,
        "POST /?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackAfterAddSubscriber HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream
}

#[tokio::test]
async fn serve_drains_for_drain_timeout_and_a_second_ctrl_c_quits_at_once() {
    for (drain, second, code) in [("50ms", false, 0), ("1h", true, 130)] {
        // A tap whose backend holds the callback: it is in flight once the backend has it.
        let (backend, hits) = stalling(0).await;
        let mut tap = Test::serve()
            .args([
                "--forward-to",
                &backend.uri(),
                "--timeout",
                "1h",
                "--drain-timeout",
                drain,
                "-q",
            ])
            .start();
        let _waiting = callback_in_flight(&tap.url);
        wait_for_request(&hits, 0);
        let received = format!(
            "oa-hook: SIGINT received: no new connections; waiting up to {drain} (--drain-timeout) for 1 request in flight; send it again to quit now"
        );
        let stderr = if second {
            // The second only once the first was heard: two sent at once may come as one.
            tap.ctrl_c();
            assert_eq!(tap.next_error_line(), received);
            starts("stopped: ")
        } else {
            starts(received + "\n")
        };
        tap.status(code)
            .stdout(starts(format!(
                "passing every request on to {}/\n",
                backend.uri()
            )))
            .stderr(stderr)
            .interrupt();
    }
}
