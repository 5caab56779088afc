//! `serve --fault SPEC --seed N`: faults drawn per request in order of arrival, the same for the
//! same seed and requests, said on the event line and in the record, and met by callers as a
//! slow or broken backend would be met.

use crate::support::{Test, allow, anything, assert_contains, backend, contains, ends, stopped};
use serde_json::Value;

/// `oa-hook send COMMAND --url URL --output json ARGS`, expecting exit `status`: the report.
fn send(command: &str, url: &str, args: &[&str], status: i32) -> Value {
    Test::new()
        .args(["send", command, "--url", url, "--output", "json"])
        .args(args)
        .status(status)
        .run_json()
}

/// The codes of a `send` report's findings.
fn codes(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

#[test]
fn a_bad_spec_is_a_usage_error_that_gives_the_grammar() {
    for (spec, why) in [
        ("delay=2.5s@10%,explode@1%", "`explode` is not a fault"),
        ("delay=2.5s@10", "the share `@10` is not a percent"),
        (
            "reset@70%,hang@40%",
            "the shares that can hit before-subscribe add up to 110%",
        ),
        (
            "before-subscrib:reset",
            "`before-subscrib` is not a callback",
        ),
    ] {
        let output = Test::new()
            .args(["serve", "--listen", "127.0.0.1:0", "--fault", spec])
            .status(2)
            .stdout(anything())
            .stderr(
                contains(format!("--fault {spec} is not a fault SPEC: {why}"))
                    .contains("give RULE[,RULE...], where RULE is [COMMAND:]FAULT[@SHARE%]"),
            )
            .run();
        // One error and its hint.
        assert_eq!(output.stderr.lines().count(), 2, "{}", output.stderr);
    }
}

/// Sends `requests` before-subscribe callbacks one after another to a `serve --output json
/// --fault SPEC --seed SEED --record FILE`, and returns its event lines and record lines,
/// each without its latency (the one thing timing decides).
fn rehearse(spec: &str, seed: &str, requests: usize) -> (Vec<Value>, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut serve = Test::serve()
        .args([
            "--output",
            "json",
            "--fault",
            spec,
            "--seed",
            seed,
            "--record",
            record.to_str().unwrap(),
        ])
        .start();
    let url = format!("{}/im", serve.url);
    for _ in 0..requests {
        // Whether the fault drawn fails the answer is for the event lines compared below.
        Test::new()
            .args(["send", "before-subscribe", "--url", &url, "-q"])
            .args(["--timeout", "2s"])
            .status_one_of(&[0, 1])
            .stdout(anything())
            .stderr(anything())
            .run();
    }
    let lines: Vec<Value> = (0..requests)
        .map(|_| without_latency(serde_json::from_str(&serve.next_line()).unwrap()))
        .collect();
    serve
        .stderr(ends(format!(
            "{spec} (--seed {seed}: the same seed and the same requests draw the same faults)\n{}",
            stopped(&format!(
                "{requests} callback(s) answered, 0 of them rejected as invalid; {requests} recorded"
            ))
        )))
        .interrupt();
    let recorded = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|line| without_latency(serde_json::from_str(line).unwrap()))
        .collect();
    (lines, recorded)
}

fn without_latency(mut event: Value) -> Value {
    event.as_object_mut().unwrap().remove("latency_ms");
    event
}

#[test]
fn the_same_seed_and_the_same_requests_give_the_same_event_lines() {
    let spec = "delay=1ms..30ms@30%,status=503@20%,malformed@20%";
    let (first, recorded) = rehearse(spec, "11", 24);
    let (again, _) = rehearse(spec, "11", 24);
    let text = |events: &[Value]| -> Vec<String> { events.iter().map(Value::to_string).collect() };
    assert_eq!(text(&first), text(&again));
    let faults: Vec<&str> = first.iter().filter_map(|e| e["fault"].as_str()).collect();
    for kind in ["delay=", "status=503", "malformed"] {
        assert!(
            faults.iter().any(|f| f.starts_with(kind)),
            "no {kind} in {faults:?}"
        );
    }
    // Some requests draw no fault, and say nothing of one.
    assert!(first.iter().any(|e| e.get("fault").is_none()));
    // The record says which fault each answer got, as the event line does.
    let recorded: Vec<&Value> = recorded.iter().map(|r| &r["fault"]).collect();
    let said: Vec<&Value> = first.iter().map(|e| &e["fault"]).collect();
    assert_eq!(recorded, said);
    let status = first.iter().find(|e| e["fault"] == "status=503").unwrap();
    assert_eq!(status["status"], 503);
    let (other, _) = rehearse(spec, "12", 24);
    assert_ne!(text(&first), text(&other));
}

#[test]
fn each_fault_is_met_as_a_broken_backend_would_be_met() {
    let serve = Test::serve().args([
        "--fault",
        "before-subscribe:reset,after-unsubscribe:hang,before-create:status=503,after-create:malformed,before-send:slow-body=600ms,after-send:delay=300ms",
        "--seed",
        "1",
        "-q",
    ]).start();
    let url = format!("{}/im", serve.url);
    let report = send("before-subscribe", &url, &[], 1);
    assert_eq!(codes(&report), vec!["broken-http"]);
    assert_contains(
        &serve.next_line(),
        "! fault reset: the connection was reset instead of an answer",
    );
    let report = send("after-unsubscribe", &url, &["--timeout", "500ms"], 1);
    assert_eq!(codes(&report), vec!["timeout"]);
    assert_contains(
        &serve.next_line(),
        "! fault hang: no answer was sent; the connection was held until the caller closed it",
    );
    let report = send("before-create", &url, &[], 1);
    assert_eq!(codes(&report), vec!["http-status"]);
    assert_eq!(report["response"]["status"], 503);
    let line = serve.next_line();
    assert_contains(
        &line,
        "→ 503 OK  ! fault status=503: answered with HTTP 503",
    );
    let report = send("after-create", &url, &[], 1);
    assert_eq!(codes(&report), vec!["not-json"]);
    assert_contains(
        &serve.next_line(),
        "! fault malformed: the body was cut in half",
    );
    let report = send("before-send", &url, &[], 0);
    let latency = report["response"]["latency_ms"].as_f64().unwrap();
    assert!(latency >= 540.0, "{latency}");
    assert_contains(
        &serve.next_line(),
        "! fault slow-body=600ms: the body trickled out over 600 ms",
    );
    let report = send("after-send", &url, &[], 0);
    assert!(report["response"]["latency_ms"].as_f64().unwrap() >= 300.0);
    assert_contains(
        &serve.next_line(),
        "! fault delay=300ms: answered 300 ms late",
    );
    // A command no rule names gets its answer.
    send("after-destroy", &url, &[], 0);
    assert!(!serve.next_line().contains("fault"));
}

#[test]
fn a_delay_past_two_seconds_loses_the_veto() {
    let serve = Test::serve()
        .args(["--refuse", "jared", "--fault", "delay=2100ms", "-q"])
        .start();
    let report = send("before-subscribe", &format!("{}/im", serve.url), &[], 1);
    assert_eq!(report["decision"]["kind"], "timed-out");
    assert_contains(
        &serve.next_line(),
        "! fault delay=2100ms: answered 2100 ms late, past Chat's 2 s",
    );
}

#[tokio::test]
async fn the_tap_passes_the_backends_answer_back_as_the_fault_says() {
    let server = backend(crate::support::answer(allow())).await;
    let serve = Test::serve()
        .args([
            "--forward-to",
            &format!("{}/im", server.uri()),
            "--fault",
            "status=502",
            "-q",
        ])
        .env("OA_HOOK_SEED", "3")
        .start();
    let url = format!("{}/im", serve.url);
    let report = tokio::task::spawn_blocking(move || send("before-subscribe", &url, &[], 1))
        .await
        .unwrap();
    assert_eq!(report["response"]["status"], 502);
    // The backend got the callback, and answered it; the caller got the fault.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_contains(&serve.next_line(), "passing every request on to");
    let line = serve.next_line();
    assert_contains(&line, "→ backend 200: Chat subscribes jared, leckie");
    assert_contains(&line, "! fault status=502: answered with HTTP 502");
}
