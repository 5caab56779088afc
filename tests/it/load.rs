//! `send` load mode (`--count`, `--duration`, `--concurrency`, `--rate`) against wiremock.

use crate::support::{
    Test, allow, answer, anything, assert_contains, backend, closed_port, contains, send_unsigned,
    starts, stopped,
};
use oa_hook::protocol::{ReceivedQuery, sign};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "l0ad-t0ken";

fn load(server: &MockServer, extra: &[&str]) -> Test {
    Test::new()
        .args(["send", "before-subscribe", "--url"])
        .arg(format!("{}/im", server.uri()))
        .args(["--token", TOKEN])
        .args(extra)
}

/// `load` with `--output json`, expecting exit `status`: the document.
fn load_json(server: &MockServer, extra: &[&str], status: i32) -> Value {
    load(server, extra)
        .args(["--output", "json"])
        .status(status)
        .run_json()
}

/// The Sign and RequestTime of a request, and whether the Sign is right for that time.
fn signature(request: &Request) -> (u64, bool) {
    let query = ReceivedQuery::parse(request.url.query().unwrap_or_default());
    let request_time: u64 = query.get("RequestTime").unwrap().parse().unwrap();
    let signed = query.get("Sign") == Some(sign(TOKEN, request_time).as_str());
    (request_time, signed)
}

#[tokio::test]
async fn counts_add_up() {
    let server = backend(answer(allow())).await;
    let document = load_json(&server, &["--count", "50", "--concurrency", "4"], 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 50);
    assert_eq!(
        (
            &document["requests"],
            &document["answered"],
            &document["conforming"]
        ),
        (&json!(50), &json!(50), &json!(50))
    );
    assert_eq!(document["failures"], json!([]));
    assert_eq!(document["over_budget"], 0);
    assert_eq!(document["verdict"], "pass");
}

#[tokio::test]
async fn the_human_summary_gives_counts_throughput_and_latency() {
    let server = backend(answer(allow())).await;
    let run = load(&server, &["-n", "20", "-c", "2"])
        .stdout(anything())
        .run();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "20 requests to {}/im, concurrency 2, in ",
            server.uri()
        )),
        "{}",
        run.stdout
    );
    assert_eq!(lines[1..3], ["answered     20", "conforming   20"]);
    assert!(lines[3].starts_with("throughput   ") && lines[3].ends_with(" answers/s"));
    assert!(lines[4].starts_with("latency      p50 ") && lines[4].contains(" max "));
    assert_eq!(lines[5], "over budget  0 (no answer within Chat's 2 s)");
    // A before callback's veto is lost when its answer comes too late: none was.
    assert_eq!(lines[6], "went ahead on Chat's timeout: 0 (0%)");
    // The distribution: up to 8 bars, fastest first, whose counts add up to the answers.
    assert_eq!(lines[7], "distribution");
    let bars: Vec<&str> = lines[8..]
        .iter()
        .copied()
        .take_while(|l| l.starts_with("  ≤ "))
        .collect();
    assert!((1..=8).contains(&bars.len()), "{}", run.stdout);
    let counted: u64 = bars
        .iter()
        .map(|bar| bar.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, 20, "{}", run.stdout);
    assert_eq!(
        lines[8 + bars.len()..],
        [
            "statuses     200 × 20",
            "decisions    subscribes × 20",
            "PASS: 20 answers conforming"
        ]
    );
    assert_eq!(
        run.stderr, "",
        "no progress bar when stderr is not a terminal"
    );
    load(&server, &["-n", "5", "-q"])
        .stdout("PASS: 5 answers conforming\n")
        .run();
}

/// Answers only requests whose Sign matches their own RequestTime.
struct SignChecker;

impl Respond for SignChecker {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match signature(request) {
            (_, true) => answer(allow()),
            (_, false) => ResponseTemplate::new(401),
        }
    }
}

#[tokio::test]
async fn every_request_is_signed_for_the_moment_it_is_sent() {
    let server = backend(SignChecker).await;
    // The real clock; 30 requests at 20 a second span 1.45 s, so RequestTime must change.
    let run = Test::new()
        .env_remove("OA_HOOK_NOW")
        .args(["send", "before-subscribe", "--url"])
        .arg(format!("{}/im", server.uri()))
        .args([
            "--token", TOKEN, "-n", "30", "-c", "3", "--rate", "20", "-o", "json",
        ])
        .stdout(anything())
        .run();
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["conforming"], 30);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 30);
    let times: BTreeSet<u64> = requests
        .iter()
        .map(|request| {
            let (time, signed) = signature(request);
            assert!(signed, "Sign does not match RequestTime {time}");
            time
        })
        .collect();
    assert!(times.len() >= 2, "RequestTime never changed: {times:?}");
}

/// Cycles through a conforming answer, a wrong one, and one with a warning.
struct Alternating(AtomicUsize);

impl Respond for Alternating {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.fetch_add(1, Ordering::Relaxed) % 3 {
            0 => answer(allow()),
            1 => answer(json!({"ActionStatus": "OK", "ErrorCode": "0", "ErrorInfo": ""})),
            _ => answer(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "Extra": 1})),
        }
    }
}

#[tokio::test]
async fn failures_are_grouped_by_finding() {
    let server = backend(Alternating(AtomicUsize::new(0))).await;
    let document = load_json(&server, &["-n", "30", "-c", "3"], 1);
    assert_eq!(document["answered"], 30);
    assert_eq!(document["conforming"], 20);
    assert_eq!(
        document["failures"],
        json!([{"code": "wrong-type", "count": 10, "example": "is the string \"0\"; expected the integer 0 (no quotes)"}])
    );
    assert_eq!(
        document["warnings"],
        json!([{"code": "unknown-field", "count": 10, "example": "`Extra` is not a documented answer field; Chat ignores it"}])
    );
    assert_eq!(document["verdict"], "fail");
    load(&server, &["-n", "3", "-c", "1"])
        .status(1)
        .stdout(
            contains("\n  ✘ wrong-type in 1 answer: is the string \"0\"; expected the integer 0 (no quotes)\n  ! unknown-field in 1 answer: `Extra` is not a documented answer field; Chat ignores it\n")
                .ends("FAIL: 1 of 3 requests failed\n"),
        )
        .run();
}

#[tokio::test]
async fn answers_past_the_2_s_budget_are_counted() {
    let server = backend(answer(allow()).set_delay(Duration::from_millis(2200))).await;
    let document = load_json(&server, &["-n", "3", "-c", "3"], 1);
    assert_eq!(document["answered"], 3);
    assert_eq!(document["over_budget"], 3);
    assert_eq!(document["failures"][0]["code"], "too-slow");
    assert_eq!(document["failures"][0]["count"], 3);
    assert!(document["latency_ms"]["p50"].as_f64().unwrap() > 2000.0);
}

#[tokio::test]
async fn timeouts_are_failures_not_an_unreachable_target() {
    let server = backend(answer(allow()).set_delay(Duration::from_secs(2))).await;
    let document = load_json(&server, &["-n", "2", "-c", "2", "--timeout", "300ms"], 1);
    assert_eq!(document["answered"], 0);
    assert_eq!(document["latency_ms"], Value::Null);
    assert_eq!(
        document["failures"],
        json!([{"code": "timeout", "count": 2, "example": "no answer within 300 ms (Chat would wait up to 2 s)"}])
    );
}

#[tokio::test]
async fn the_json_document_has_a_fixed_set_of_keys() {
    let server = backend(answer(allow())).await;
    let document = load_json(
        &server,
        &["--duration", "200ms", "-c", "2", "--color", "always"],
        0,
    );
    let keys: Vec<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "url",
            "concurrency",
            "requests",
            "answered",
            "conforming",
            "failures",
            "warnings",
            "transport_errors",
            "over_budget",
            "went_ahead",
            "max_late",
            "elapsed_ms",
            "throughput",
            "latency_ms",
            "histogram",
            "statuses",
            "decisions",
            "interrupted",
            "signal",
            "verdict"
        ]
    );
    let answered = document["answered"].as_u64().unwrap();
    let histogram = document["histogram"].as_array().unwrap();
    assert!(!histogram.is_empty() && histogram.len() <= 8);
    let counted: u64 = histogram.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, answered);
    assert!(
        histogram
            .windows(2)
            .all(|w| w[0]["le_ms"].as_f64() < w[1]["le_ms"].as_f64())
    );
    assert_eq!(document["statuses"], json!({"200": answered}));
    assert_eq!(document["decisions"], json!({"subscribes": answered}));
    let latency: Vec<&str> = document["latency_ms"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(latency, ["p50", "p90", "p99", "max"]);
    assert_eq!(document["url"], format!("{}/im", server.uri()));
    assert_eq!(document["concurrency"], 2);
    assert!(document["requests"].as_u64().unwrap() > 0);
    assert_eq!(document["requests"], document["conforming"]);
    assert!(document["throughput"].as_f64().unwrap() > 0.0);
    assert_eq!(document["interrupted"], false);
}

#[tokio::test]
async fn a_backend_that_closes_every_connection_still_has_every_answer_counted() {
    let server = backend(answer(allow()).insert_header("connection", "close")).await;
    let document = load_json(&server, &["-n", "30", "-c", "3"], 0);
    assert_eq!(
        (
            &document["requests"],
            &document["answered"],
            &document["conforming"],
            &document["transport_errors"]
        ),
        (&json!(30), &json!(30), &json!(30), &json!([]))
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 30);
}

#[tokio::test]
async fn load_mode_sends_what_a_single_send_sends() {
    let server = backend(answer(allow())).await;
    let url = format!("{}/hooks/im?tenant=a%20b", server.uri());
    let send = |extra: &[&str]| {
        Test::new()
            .args(["send", "before-subscribe", "--url", &url, "--token", TOKEN])
            .args(extra)
            .stdout(anything())
            .run()
    };
    send(&[]);
    send(&["-n", "4", "-c", "2"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 5);
    let seen = |request: &Request| {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        (
            request.method.to_string(),
            request.url.path().to_owned(),
            [
                "host",
                "content-type",
                "content-length",
                "user-agent",
                "accept",
            ]
            .map(header),
            request.body.clone(),
        )
    };
    let single = seen(&requests[0]);
    assert_eq!(single.1, "/hooks/im");
    assert_eq!(single.2[2], Some(single.3.len().to_string()));
    for request in &requests[1..] {
        assert_eq!(seen(request), single);
        assert!(
            request
                .url
                .query()
                .unwrap()
                .starts_with("tenant=a%20b&SdkAppid=")
        );
        assert!(signature(request).1);
    }
}

#[test]
fn oa_hooks_own_serve_accepts_every_freshly_signed_request() {
    // serve checks SdkAppid, Sign and freshness against the real clock, and refuses jared.
    let mut serve = Test::serve()
        .args(["--sdkappid", "88888888", "--token", TOKEN])
        .args(["--refuse", "jared", "-q"])
        .env_remove("OA_HOOK_NOW")
        .start();
    let run = Test::new()
        .env_remove("OA_HOOK_NOW")
        .args(["send", "before-subscribe", "--url", &serve.url])
        .args(["--token", TOKEN, "--expect-refused", "jared"])
        .args(["-n", "40", "-c", "4", "-o", "json"])
        .stdout(anything())
        .run();
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (&document["requests"], &document["conforming"]),
        (&json!(40), &json!(40))
    );
    serve
        .stdout(anything())
        .stderr(stopped(
            "40 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();
}

#[test]
fn an_unreachable_target_exits_3_without_sending_n_times() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/im");
    send_unsigned(&url, &["-n", "1000000", "-c", "4", "-o", "json"])
        .status(3)
        .stdout("")
        .stderr(format!(
            "oa-hook: error: no request reached the target: connection refused at 127.0.0.1:{port}\n  hint: is the backend running and listening on that port?\n"
        ))
        .run();
}

#[test]
fn request_time_is_refused_in_load_mode() {
    Test::new()
        .args([
            "send",
            "before-subscribe",
            "--url",
            "http://127.0.0.1:9/im",
            "-n",
            "2",
            "--request-time",
            "1669872112",
        ])
        .status(2)
        .stdout(anything())
        .stderr(starts(
            "oa-hook: error: --request-time cannot be used in load mode\n  hint: ",
        ))
        .run();
}

/// Runs `oa-hook ARGS` on a terminal (util-linux `script` gives it one) and returns all it
/// printed there, progress bar included.
#[cfg(target_os = "linux")]
fn on_a_terminal(args: &[&str]) -> String {
    let command = std::iter::once(
        assert_cmd::cargo::cargo_bin!("oa-hook")
            .display()
            .to_string(),
    )
    .chain(args.iter().map(|a| format!("'{a}'")))
    .collect::<Vec<_>>()
    .join(" ");
    let output = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("OA_HOOK_NOW", "1669872112")
        .env_remove("OA_HOOK_TOKEN")
        .output()
        .expect("util-linux `script` runs");
    String::from_utf8_lossy(&output.stdout).replace('\r', "\n")
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_progress_bar_shows_failures_the_rate_and_time_to_go() {
    let server = backend(ResponseTemplate::new(500)).await;
    let url = format!("{}/im", server.uri());
    let send = ["send", "before-subscribe", "--no-sign", "--url", &url];
    // Eight requests at 20/s take 350 ms: the bar is drawn every 100 ms meanwhile.
    let counted = on_a_terminal(&[&send[..], &["-n", "8", "--rate", "20"]].concat());
    assert_contains(&counted, ": 8 of 8 requests failed");
    assert!(
        counted.lines().any(|line| line.contains("/8 ")
            && line.contains("/s, ")
            && line.contains(" failed, ETA ")
            && !line.contains(" 0 failed")),
        "no progress line with failures:\n{counted}"
    );
    let timed = on_a_terminal(&[&send[..], &["--duration", "300ms", "--rate", "20"]].concat());
    assert!(
        timed
            .lines()
            .any(|line| line.contains(" failed, ") && line.ends_with(" left")),
        "no progress line with the time left:\n{timed}"
    );
    let quiet = on_a_terminal(&[&send[..], &["-n", "2", "-q"]].concat());
    assert!(!quiet.contains(" failed, "), "{quiet}");
}
