//! `serve --inspect`: the inspector's JSON API and event stream on real loopback sockets, with
//! serve's webhook port and the inspector's both on port 0. The page in a real browser is
//! `browser.rs`.

use crate::support::{NOW, Serve, Test, anything, assert_contains, backend, contains, stopped};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Serve's webhook token: it must never reach the page, the API, or anything printed.
pub const TOKEN: &str = "w3bhook-t0ken-never-shown";
/// The page's own token, for an inspector off loopback.
const PAGE_TOKEN: &str = "page-t0ken-of-the-inspector";
const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";

/// A running serve with its inspector.
pub struct Inspected {
    pub serve: Serve,
    /// `http://127.0.0.1:PORT` of the page and its API, without the final `/`.
    pub page: String,
}

/// `serve --inspect 127.0.0.1:0 -q ARGS` checking [`TOKEN`] and SdkAppid 88888888, past the
/// line that names the page.
pub fn inspected(args: &[&str]) -> Inspected {
    inspected_by(Test::serve(), args)
}

/// [`inspected`], with `serve` started as it is.
fn inspected_by(serve: Test, args: &[&str]) -> Inspected {
    let serve = serve
        .args(
            [
                &["--inspect", "127.0.0.1:0", "-q", "--sdkappid", "88888888"][..],
                args,
            ]
            .concat(),
        )
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    // After the banner (and, in tap mode, the line naming the backend).
    let page = (0..2)
        .find_map(|_| {
            let line = serve.next_line();
            Some(
                line.strip_prefix("inspector on ")?
                    .strip_suffix('/')?
                    .to_owned(),
            )
        })
        .expect("serve names the page after its banner");
    Inspected { serve, page }
}

impl Inspected {
    /// Sends a callback to serve (it must pass) and waits for the inspector to keep it: serve
    /// hands it over before it answers, and the inspector's thread keeps it a moment later.
    pub async fn send(&self, command: &str, args: &[&str]) {
        let (_, info) = get(&self.page, "/api/info").await;
        send(&self.serve.url, command, args);
        self.settle(info["newest"].as_u64().unwrap() + 1).await;
    }

    /// Waits until the inspector has kept `count` events in all.
    pub async fn settle(&self, count: u64) {
        let started = Instant::now();
        loop {
            let (_, info) = get(&self.page, "/api/info").await;
            if info["newest"].as_u64().unwrap() >= count {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the inspector kept {info} of {count}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Runs `test` with [`TOKEN`] off the runtime; it must pass: its JSON document.
async fn json_with_token(test: Test) -> Value {
    test.env("OA_HOOK_TOKEN", TOKEN)
        .stderr(anything())
        .run_json_off_runtime()
        .await
}

/// `oa-hook send COMMAND --url URL/im` with [`TOKEN`] and ARGS; it must pass.
pub fn send(url: &str, command: &str, args: &[&str]) {
    Test::new()
        .args(["send", command, "--url", &format!("{url}/im")])
        .args(["--sdkappid", "88888888", "-q"])
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .stdout(anything())
        .stderr(anything())
        .run();
}

/// GET `path` of the API: its status and JSON.
pub async fn get(page: &str, path: &str) -> (u16, Value) {
    let response = client().get(format!("{page}{path}")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get_text(page: &str, path: &str) -> (u16, String) {
    let response = client().get(format!("{page}{path}")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// POSTs `edits` as JSON to replay event `id`: the status and the answer.
pub async fn replay(page: &str, id: u64, edits: &Value) -> (u16, Value) {
    let response = client()
        .post(format!("{page}/api/events/{id}/replay"))
        .json(edits)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The list of rows, newest first.
async fn rows(page: &str, query: &str) -> Vec<Value> {
    let (status, list) = get(page, &format!("/api/events{query}")).await;
    assert_eq!(status, 200, "{list}");
    list["events"].as_array().unwrap().clone()
}

fn ids(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|row| row["id"].as_u64().unwrap()).collect()
}

/// Waits until the list holds `count` rows (publishing happens before the answer goes out, but
/// `send` returns only after it read the answer, so this is at once).
async fn until_rows(page: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let rows = rows(page, "").await;
        if rows.len() >= count || started.elapsed() > Duration::from_secs(10) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The row as the list gives it, with the latency (which varies) set to 0.
fn steady(mut row: Value) -> Value {
    row["latency_ms"] = json!(0);
    row
}

#[tokio::test]
async fn the_page_is_printed_after_the_banner_and_said_on_stderr_in_json_mode() {
    let serve = Test::serve()
        .args(["--inspect", "127.0.0.1:0"])
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    crate::support::assert_starts(&serve.next_line(), "oa-hook send before-subscribe --url");
    let line = serve.next_line();
    assert!(
        line.starts_with("inspector on http://127.0.0.1:") && line.ends_with('/'),
        "{line}"
    );

    let serve = Test::serve()
        .args(["--inspect", "127.0.0.1:0", "--output", "json"])
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    let said: Vec<String> = (0..3).map(|_| serve.next_error_line()).collect();
    assert!(
        said.iter()
            .any(|l| l.starts_with("inspector on http://127.0.0.1:")),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_row_is_serves_event_with_its_judgement_and_flags() {
    let inspected = inspected(&["--refuse", "jared"]);
    inspected.send("before-subscribe", &[]).await;
    inspected.send("after-unsubscribe", &[]).await;
    let (status, list) = get(&inspected.page, "/api/events").await;
    assert_eq!(status, 200);
    assert_eq!(list["next"], Value::Null);
    assert_eq!(
        (&list["newest"], &list["kept"], &list["evicted"]),
        (&json!(2), &json!(2), &json!(0))
    );
    let rows = list["events"].as_array().unwrap();
    assert_eq!(ids(rows), [2, 1]);
    // serve's own `--output json` event, its answer left out, after the row's own fields.
    let mut expected = json!({
        "id": 1,
        "account": "@TOA#_test_for_penn",
        "errors": 0,
        "warnings": 0,
        "overrun": false,
        "forgery_accepted": false,
        "replay": null,
        "judgement": {
            "decision": {"kind": "subscribes", "subscribed": ["leckie"], "refused": ["jared"]},
            "says": "subscribes leckie; refuses jared",
            "accepted": true,
            "findings": []
        }
    });
    let mut event = crate::serve::seed_event_refusing_jared();
    event["answer"] = Value::Null;
    for (name, value) in event.as_object().unwrap() {
        expected[name] = value.clone();
    }
    let row = steady(rows[1].clone());
    assert_eq!(row, expected);
    let names: Vec<&String> = row.as_object().unwrap().keys().collect();
    assert_eq!(
        names[..9],
        [
            "id",
            "account",
            "errors",
            "warnings",
            "overrun",
            "forgery_accepted",
            "replay",
            "judgement",
            "time"
        ]
    );
    assert_eq!(
        rows[0]["judgement"]["says"],
        "ignores the answer (after callback)"
    );
}

#[tokio::test]
async fn the_list_filters_and_pages_with_a_cursor() {
    let inspected = inspected(&["--refuse", "jared"]);
    let url = &inspected.serve.url;
    inspected.send("before-subscribe", &[]).await;
    inspected
        .send("before-subscribe", &["--subscriber", "anna"])
        .await;
    inspected.send("after-unsubscribe", &[]).await;
    // A forgery: serve refuses it with 401.
    Test::new()
        .args(["send", "before-subscribe", "--url", &format!("{url}/im")])
        .args(["--sdkappid", "88888888", "--token", "forged-token", "-q"])
        .status(1)
        .stdout(anything())
        .run_off_runtime()
        .await;
    inspected.settle(4).await;
    inspected
        .send("before-subscribe", &["--subscriber", "bob"])
        .await;
    let page = &inspected.page;
    assert_eq!(ids(&rows(page, "").await), [5, 4, 3, 2, 1]);
    assert_eq!(ids(&rows(page, "?command=after-unsubscribe").await), [3]);
    assert_eq!(ids(&rows(page, "?verdict=invalid").await), [4]);
    assert_eq!(
        ids(&rows(page, "?verdict=valid&command=before-subscribe").await),
        [5, 2, 1]
    );
    assert_eq!(ids(&rows(page, "?q=ANNA").await), [2]);
    assert_eq!(ids(&rows(page, "?verdict=errors").await), [4]);
    let (_, first) = get(page, "/api/events?limit=2").await;
    assert_eq!(ids(first["events"].as_array().unwrap()), [5, 4]);
    assert_eq!(first["next"], 4);
    let (_, second) = get(page, "/api/events?limit=2&before=4").await;
    assert_eq!(ids(second["events"].as_array().unwrap()), [3, 2]);
    assert_eq!(second["next"], 2);
    let (_, last) = get(page, "/api/events?limit=2&before=2").await;
    assert_eq!(ids(last["events"].as_array().unwrap()), [1]);
    assert_eq!(last["next"], Value::Null);
    assert_eq!(ids(&rows(page, "?after=3").await), [5, 4]);

    let forgery = &rows(page, "?verdict=invalid").await[0];
    assert_eq!(forgery["valid"], false);
    assert_eq!(forgery["status"], 401);
    assert_eq!(forgery["findings"][0]["code"], "bad-sign");
}

#[tokio::test]
async fn mistakes_in_the_api_get_a_json_error_that_says_what_to_give() {
    let inspected = inspected(&[]);
    inspected.send("before-subscribe", &[]).await;
    let page = &inspected.page;
    for (path, status, says) in [
        (
            "/api/events?verdict=nice",
            400,
            "verdict=nice is not a verdict; give one of valid, invalid, accepted, refused, errors, warnings, replays",
        ),
        (
            "/api/events?limit=0",
            400,
            "limit=0 is not a whole number from 1 to 500",
        ),
        (
            "/api/events?colour=red",
            400,
            "colour is not a parameter here; it takes command, verdict, q, after, before and limit",
        ),
        (
            "/api/record?limit=5",
            400,
            "limit is not a parameter here; it takes command, verdict and q",
        ),
        (
            "/api/events?after=x",
            400,
            "after=x is not an event number; give the id of a row",
        ),
        ("/api/events/abc", 400, "abc is not an event number"),
        ("/api/events/99", 404, "there is no event #99"),
        ("/api/nothing", 404, "nothing here: /api/nothing"),
    ] {
        let (got, error) = get(page, path).await;
        assert_eq!(
            (got, error["error"].as_str().unwrap()),
            (status, says),
            "{path}"
        );
    }
    let response = client()
        .delete(format!("{page}/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "/api/events does not take DELETE");
}

#[tokio::test]
async fn an_event_has_the_record_line_serve_writes_in_mock_and_tap_mode() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let recorded = record.to_str().unwrap();
    let mock = inspected(&["--refuse", "jared", "--record", recorded]);
    mock.send("before-subscribe", &[]).await;
    let (status, event) = get(&mock.page, "/api/events/1").await;
    assert_eq!(status, 200);
    assert_eq!(event["record"], record_line(&record, 1));
    assert_eq!(event["event"]["id"], 1);
    assert_eq!(event["request"]["body_kept"], 248);
    assert!(
        event["request"]["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["content-type", "application/json"])),
        "{event}"
    );
    assert_eq!(
        event["request"]["query"][0],
        json!(["SdkAppid", "88888888"]),
        "in the order received, never Sign or RequestTime"
    );
    assert_eq!(event["request"]["query"].as_array().unwrap().len(), 5);

    let backend = backend(crate::support::answer(
        json!({"ActionStatus": "OK", "ErrorCode": 1, "ErrorInfo": "closed"}),
    ))
    .await;
    let tapped = dir.path().join("tapped.ndjson");
    let tap = inspected(&[
        "--forward-to",
        &backend.uri(),
        "--record",
        tapped.to_str().unwrap(),
    ]);
    tap.send("before-subscribe", &[]).await;
    let (_, event) = get(&tap.page, "/api/events/1").await;
    assert_eq!(event["record"], record_line(&tapped, 1));
    assert_eq!(
        event["event"]["judgement"]["says"],
        "rejects the whole request (ErrorCode 1)"
    );
    assert_eq!(event["event"]["backend"]["status"], 200);
}

/// A large refused body read as exactly its command's JSON (here a tap's request that came
/// back to it) is kept short, as any refused body is: its record line is still JSON, and
/// leaves the body out rather than give the start of it as JSON.
#[tokio::test]
async fn a_large_exact_body_refused_is_left_out_of_its_record_line() {
    let port = crate::support::closed_port();
    let own = format!("http://127.0.0.1:{port}/im");
    let listen = format!("127.0.0.1:{port}");
    let tap = inspected_by(
        Test::new().args(["serve", "--listen", &listen]),
        &["--forward-to", &own],
    );
    let users: Vec<Value> = (0..3000)
        .map(|i| json!({ "Subscriber_Account": format!("user{i}") }))
        .collect();
    let exact = json!({
        "CallbackCommand": BEFORE,
        "Official_Account": "@TOA#_test_for_penn",
        "Operator_Account": "107867",
        "SubscribeAccountList": users,
        "EventTime": 1_670_574_414_123_i64,
    })
    .to_string();
    assert!(exact.len() > 64 << 10);
    let signed = format!(
        "SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json&RequestTime={NOW}&Sign={}",
        sign(TOKEN, NOW)
    );
    let response = client()
        .post(format!("{}?{signed}", own))
        .header("content-type", "application/json")
        .body(exact.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 508);
    tap.settle(2).await;
    // #1 is the request that came back, refused (508) and kept short.
    let (_, line) = get_text(&tap.page, "/api/events/1/record").await;
    let line: Value = serde_json::from_str(&line).expect("the record line is JSON");
    assert_eq!(line["status"], 508);
    assert_eq!(line["body"], Value::Null);
    assert_eq!(line["body_format"], "omitted");
    assert_eq!(line["body_bytes"], exact.len());
    let (_, event) = get(&tap.page, "/api/events/1").await;
    assert_eq!(event["record"]["body_format"], "omitted");
}

/// Line `n` (from 1) of the record at `path`, waiting for serve's writer to write it.
fn record_line(path: &Path, n: usize) -> Value {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().nth(n - 1) {
            return serde_json::from_str(line).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no line {n} in {text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn downloads_are_record_files_that_replay_reads() {
    let inspected = inspected(&["--refuse", "jared"]);
    let url = &inspected.serve.url;
    inspected.send("before-subscribe", &[]).await;
    inspected.send("after-unsubscribe", &[]).await;
    let page = &inspected.page;
    let response = client()
        .get(format!("{page}/api/events/1/record"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"oa-hook-event-1.ndjson\""
    );
    let one = response.text().await.unwrap();
    assert_eq!(one.lines().count(), 1);
    let (status, session) = get_text(page, "/api/record").await;
    assert_eq!(status, 200);
    assert_eq!(session.lines().count(), 2);
    let (_, only_after) = get_text(page, "/api/record?command=after-unsubscribe").await;
    assert_eq!(only_after.lines().count(), 1);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.ndjson");
    std::fs::write(&file, &session).unwrap();
    let report = Test::new()
        .args([
            "replay",
            file.to_str().unwrap(),
            "--url",
            &format!("{url}/im"),
        ])
        .args(["--output", "json"]);
    let report = json_with_token(report).await;
    assert_eq!(report["summary"]["passed"], 2, "{report}");
}

#[tokio::test]
async fn a_replay_is_signed_afresh_and_appears_as_its_own_marked_row() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let inspected = inspected(&["--refuse", "jared", "--record", record.to_str().unwrap()]);
    inspected.send("before-subscribe", &[]).await;
    let (status, replayed) = replay(&inspected.page, 1, &json!({})).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["of"], 1);
    assert_eq!(replayed["error"], Value::Null);
    let row = &replayed["event"];
    assert_eq!(row["id"], 2);
    assert_eq!(
        row["valid"], true,
        "signed afresh with serve's token: {row}"
    );
    assert_eq!(
        row["replay"],
        json!({"of": 1, "edited": false, "status": "pass", "message": "same decision: Chat subscribes leckie; refuses jared"})
    );
    assert_eq!(
        replayed["replay"]["comparison"],
        json!({
            "id": "before-subscribe/event-1",
            "description": "event #1 replayed from the inspector: Chat subscribes leckie; refuses jared",
            "status": "pass",
            "message": "same decision: Chat subscribes leckie; refuses jared",
            "findings": [],
            "evidence": null
        })
    );
    assert_eq!(
        replayed["replay"]["was"]["says"],
        "subscribes leckie; refuses jared"
    );
    // Serve itself answered it, and recorded it as every other callback.
    let line = record_line(&record, 2);
    assert_eq!(
        (&line["valid"], &line["status"]),
        (&json!(true), &json!(200))
    );
    let (_, replays) = get(&inspected.page, "/api/events?verdict=replays").await;
    assert_eq!(ids(replays["events"].as_array().unwrap()), [2]);
}

#[tokio::test]
async fn an_edited_replay_shows_the_decision_diff_as_replay_reports_it() {
    let inspected = inspected(&["--refuse", "jared", "--refuse", "anna"]);
    inspected.send("before-subscribe", &[]).await;
    let body = json!({
        "CallbackCommand": BEFORE,
        "Official_Account": "@TOA#_test_for_penn",
        "Operator_Account": "107867",
        "SubscribeAccountList": [{"Subscriber_Account": "anna"}, {"Subscriber_Account": "leckie"}],
        "EventTime": 1670574414123_i64
    })
    .to_string();
    let (status, replayed) = replay(&inspected.page, 1, &json!({"body": body})).await;
    assert_eq!(status, 200, "{replayed}");
    let comparison = &replayed["replay"]["comparison"];
    let diff = "was: subscribes leckie; refuses jared / now: subscribes leckie; refuses anna";
    assert_eq!(comparison["status"], "fail");
    assert_eq!(comparison["message"], diff);
    assert_eq!(
        comparison["findings"][0],
        json!({"severity": "error", "code": "decision-changed", "path": "decision", "message": diff})
    );
    assert_eq!(replayed["event"]["replay"]["edited"], true);
    let (_, event) = get(&inspected.page, "/api/events/2").await;
    assert_eq!(event["request"]["body"], body, "sent byte for byte");

    // Another SdkAppid: serve refuses it (403), and that is a changed decision too.
    let (_, replayed) = replay(
        &inspected.page,
        1,
        &json!({"query": {"SdkAppid": "1400000001"}}),
    )
    .await;
    assert_eq!(replayed["event"]["status"], 403);
    assert_eq!(replayed["replay"]["comparison"]["status"], "fail");

    for (edits, says) in [
        (
            json!({"query": {"Sign": "x"}}),
            "Sign cannot be edited: every replay is signed afresh when serve has a token",
        ),
        (
            json!({"query": {"SdkAppid": 5}}),
            "the query parameter SdkAppid is 5; give a string, or null to leave it out",
        ),
        (
            json!({"body": 5}),
            "the replay's edits are not what it takes: invalid type: integer `5`, expected a string at line 1 column 9",
        ),
    ] {
        let (status, error) = replay(&inspected.page, 1, &edits).await;
        assert_eq!((status, error["error"].as_str().unwrap()), (400, says));
    }
    let (status, error) = replay(&inspected.page, 9, &json!({})).await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (404, "there is no event #9")
    );
}

#[tokio::test]
async fn in_tap_mode_a_replay_goes_through_the_tap_to_the_backend_signed_afresh() {
    let backend = backend(crate::support::answer(
        json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": ["jared"]}),
    ))
    .await;
    let inspected = inspected(&["--forward-to", &format!("{}/hook", backend.uri())]);
    inspected.send("before-subscribe", &[]).await;
    let (status, replayed) = replay(&inspected.page, 1, &json!({})).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["replay"]["comparison"]["status"], "pass");
    let received = backend.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    let replayed = &received[1];
    assert_eq!(replayed.url.path(), "/hook");
    let query: std::collections::HashMap<_, _> = replayed.url.query_pairs().collect();
    assert_eq!(query["Sign"], sign(TOKEN, NOW));
    assert_eq!(query["RequestTime"], NOW.to_string());
    assert!(
        !replayed.headers.contains_key("x-oa-hook-replay"),
        "the inspector's mark stays in serve"
    );
    assert_eq!(received[0].body, replayed.body, "the body byte for byte");
}

#[tokio::test]
async fn copy_as_send_and_as_curl_make_the_row_again() {
    let inspected = inspected(&["--refuse", "jared"]);
    inspected
        .send("before-subscribe", &["--subscriber", "it's"])
        .await;
    let (_, event) = get(&inspected.page, "/api/events/1").await;
    let copy = &event["copy"];
    assert_eq!(copy["send_note"], Value::Null);
    let send = copy["send"].as_str().unwrap();
    assert_contains(send, "| oa-hook send before-subscribe --url '");
    assert_contains(send, r#"--body - --token "$OA_HOOK_TOKEN""#);
    let curl = copy["curl"].as_str().unwrap();
    assert_contains(curl, r#""$(oa-hook sign | sed -n 's/^query *//p')""#);
    for command in [send, curl] {
        let status = paste(command);
        assert!(status.success(), "{command}");
    }
    let rows = until_rows(&inspected.page, 3).await;
    let decision = |row: &Value| row["judgement"]["says"].clone();
    assert_eq!(ids(&rows), [3, 2, 1]);
    assert!(
        rows.iter()
            .all(|row| decision(row) == decision(&rows[2]) && row["valid"] == true),
        "{rows:?}"
    );
}

/// Runs `command` as a user pasting it into a shell would, with this oa-hook first on PATH and
/// the token in the environment.
pub fn paste(command: &str) -> std::process::ExitStatus {
    let binary = assert_cmd::cargo::cargo_bin!("oa-hook");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = std::process::Command::new("sh");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OA_HOOK_") {
            shell.env_remove(name);
        }
    }
    shell
        .args(["-c", command])
        .env("PATH", path)
        .env("OA_HOOK_CONFIG", "/dev/null")
        .env("OA_HOOK_NOW", NOW.to_string())
        .env("OA_HOOK_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

#[tokio::test]
async fn the_stream_says_hello_then_pushes_each_row() {
    let inspected = inspected(&[]);
    inspected.send("before-subscribe", &[]).await;
    let mut stream = client()
        .get(format!("{}/api/stream", inspected.page))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let hello = next_event(&mut stream).await;
    assert_eq!(
        hello,
        (
            "hello".to_owned(),
            json!({"newest": 1, "kept": 1, "evicted": 0, "skipped": 0})
        )
    );
    inspected.send("after-unsubscribe", &[]).await;
    let (name, rows) = next_event(&mut stream).await;
    assert_eq!(name, "rows");
    assert_eq!(rows["dropped"], 0);
    assert_eq!(ids(rows["rows"].as_array().unwrap()), [2]);
    assert_eq!(rows["rows"][0]["command"], "after-unsubscribe");
}

/// The next server-sent event of `stream` that is not a comment: its name and data.
async fn next_event(stream: &mut reqwest::Response) -> (String, Value) {
    let mut text = String::new();
    loop {
        if let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if !name.is_empty() {
                return (name, serde_json::from_str(&data).unwrap());
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream sends in time")
            .unwrap()
            .expect("the stream goes on");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_browser_that_never_reads_slows_no_answer_and_its_stream_says_what_it_dropped() {
    let inspected = inspected(&["--inspect-keep", "100"]);
    let address = inspected.page.trim_start_matches("http://").to_owned();
    // A stream whose reader reads nothing until serve has answered a burst.
    let mut stalled = TcpStream::connect(&address).unwrap();
    write!(
        stalled,
        "GET /api/stream HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )
    .unwrap();
    let started = Instant::now();
    let summary = Test::new()
        .args(["send", "before-subscribe", "--url"])
        .arg(format!("{}/im", inspected.serve.url))
        .args([
            "--sdkappid",
            "88888888",
            "--count",
            "2000",
            "--concurrency",
            "8",
        ])
        .args(["-q", "--output", "json"]);
    let summary = json_with_token(summary).await;
    assert_eq!(summary["requests"], 2000, "{summary}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Under a flood the inspector keeps at most 1000 events a second per thread, and counts
    // the rest; it keeps the newest 100 (--inspect-keep).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, list) = get(&inspected.page, "/api/events?limit=1").await;
    let kept = list["newest"].as_u64().unwrap();
    assert!(kept >= 100, "{list}");
    assert_eq!(list["kept"], 100);
    assert_eq!(list["evicted"].as_u64().unwrap(), kept - 100);
    assert!(
        list["skipped"].as_u64().unwrap() <= 2000 - kept,
        "counted, never more than were skipped: {list}"
    );

    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut said = String::new();
    let mut buffer = [0; 65536];
    while !said.contains("\"dropped\":") || !said.contains("\n\n") {
        let n = stalled.read(&mut buffer).unwrap();
        assert!(n > 0, "the stream ended: {said}");
        said.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let dropped: u64 = said
        .split("\"dropped\":")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(dropped > 0, "{said}");
}

#[tokio::test]
async fn events_past_inspect_keep_are_let_go_and_a_large_refused_body_is_kept_short() {
    let inspected = inspected(&["--inspect-keep", "3"]);
    for _ in 0..4 {
        inspected.send("after-unsubscribe", &[]).await;
    }
    let page = &inspected.page;
    assert_eq!(ids(&rows(page, "").await), [4, 3, 2]);
    let (status, gone) = get(page, "/api/events/1").await;
    assert_eq!(
        (status, gone["error"].as_str().unwrap()),
        (
            404,
            "event #1 is no longer kept: the inspector keeps the newest 3 (--inspect-keep)"
        )
    );

    let large = "x".repeat(200 << 10);
    let response = client()
        .post(format!(
            "{}/im?CallbackCommand={BEFORE}",
            inspected.serve.url
        ))
        .body(large)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no Sign");
    let (_, event) = get(page, "/api/events/5").await;
    assert_eq!(event["request"]["body_kept"], (64 << 10) + 1);
    assert_eq!(event["record"]["body_bytes"], 200 << 10);
    assert_eq!(event["record"]["body_format"], "omitted");
    let (status, error) = replay(page, 5, &json!({})).await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (
            409,
            "the body of event #5 was not kept (a refused body over 64 KiB)"
        )
    );
}

#[tokio::test]
async fn on_loopback_other_hosts_are_turned_away_and_changes_must_be_json() {
    let inspected = inspected(&[]);
    inspected.send("before-subscribe", &[]).await;
    let page = &inspected.page;
    let rebound = client()
        .get(format!("{page}/api/events"))
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let error: Value = rebound.json().await.unwrap();
    assert_contains(
        error["error"].as_str().unwrap(),
        "this inspector answers to 127.0.0.1:",
    );

    let form = client()
        .post(format!("{page}/api/events/1/replay"))
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let elsewhere = client()
        .post(format!("{page}/api/events/1/replay"))
        .header("Origin", "http://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);
    let (_, list) = get(page, "/api/events").await;
    assert_eq!(list["kept"], 1, "nothing was replayed");

    let page_html = client().get(format!("{page}/")).send().await.unwrap();
    let policy = page_html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_contains(&policy, "default-src 'none'");
    assert_contains(&policy, "connect-src 'self'");
    let html = page_html.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "the page loads nothing from elsewhere"
    );
}

#[tokio::test]
async fn off_loopback_the_api_needs_the_pages_own_token() {
    let mut serve = Test::serve()
        .args(["-q", "--inspect", "0.0.0.0:0"])
        .env("OA_HOOK_TOKEN", TOKEN)
        .env("OA_HOOK_INSPECT_TOKEN", PAGE_TOKEN)
        .start();
    let line = serve.next_line();
    assert!(
        line.starts_with("inspector on http://127.0.0.1:")
            && line.ends_with("/ (the page asks for --inspect-token)"),
        "{line}"
    );
    let page = line
        .trim_start_matches("inspector on ")
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    send(&serve.url, "before-subscribe", &[]);
    let (status, error) = get(&page, "/api/events").await;
    assert_eq!(status, 401);
    assert_eq!(error["token_required"], true);
    let (status, _) = get_text(&page, "/").await;
    assert_eq!(status, 200, "the page itself asks for the token");

    let with = |token: &str| {
        client()
            .get(format!("{page}/api/events"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(with(PAGE_TOKEN).await.unwrap().status(), 200);
    assert_eq!(
        with(TOKEN).await.unwrap().status(),
        401,
        "the webhook token is no key"
    );

    let login = |token: &str| {
        client()
            .post(format!("{page}/api/login"))
            .json(&json!({ "token": token }))
            .send()
    };
    assert_eq!(login("wrong-token").await.unwrap().status(), 401);
    let logged_in = login(PAGE_TOKEN).await.unwrap();
    assert_eq!(logged_in.status(), 204);
    let cookie = logged_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_contains(&cookie, "HttpOnly; SameSite=Strict");
    assert!(!cookie.contains(PAGE_TOKEN), "the cookie is not the token");
    let with_cookie = client()
        .get(format!("{page}/api/events"))
        .header("Cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);

    let stopped = serve
        .stdout(anything().lacks(PAGE_TOKEN).lacks(TOKEN))
        .stderr(stopped(
            "1 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();
    let said = format!("{}{}", stopped.stdout.join("\n"), stopped.stderr);
    assert!(
        !said.contains(PAGE_TOKEN) && !said.contains(TOKEN),
        "{said}"
    );
}

#[tokio::test]
async fn the_webhook_token_reaches_neither_the_page_nor_the_api() {
    let inspected = inspected(&["--refuse", "jared"]);
    inspected.send("before-subscribe", &[]).await;
    let (_, replayed) = replay(&inspected.page, 1, &json!({})).await;
    assert_eq!(replayed["event"]["valid"], true);
    let mut seen = String::new();
    for path in [
        "/",
        "/api/info",
        "/api/events",
        "/api/events/1",
        "/api/events/2",
        "/api/events/1/record",
        "/api/record",
    ] {
        seen.push_str(&get_text(&inspected.page, path).await.1);
    }
    let mut stream = client()
        .get(format!("{}/api/stream", inspected.page))
        .send()
        .await
        .unwrap();
    seen.push_str(&next_event(&mut stream).await.1.to_string());
    assert!(!seen.contains(TOKEN));
    assert!(
        !seen.contains(&sign(TOKEN, NOW)),
        "no Sign either: the record leaves it out"
    );
    let (_, info) = get(&inspected.page, "/api/info").await;
    assert_eq!(info["signed"], true);
    assert_eq!(info["mode"], "mock");
}

#[test]
fn each_mistake_with_inspect_gets_one_message_and_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--inspect", "0.0.0.0:0"],
            "error: --inspect 0.0.0.0:0 is not a loopback address, and the page shows every callback and replays them",
        ),
        (
            &["--inspect-token", PAGE_TOKEN],
            "error: --inspect-token goes with --inspect",
        ),
        (
            &["--inspect", "127.0.0.1:0", "--inspect-token", TOKEN],
            "error: --inspect-token is the webhook token",
        ),
        (
            &["--inspect", "127.0.0.1:0", "--inspect-token", "short"],
            "error: --inspect-token is shorter than 8 characters",
        ),
        (
            &["--listen", "127.0.0.1:4999", "--inspect", "127.0.0.1:4999"],
            "error: --inspect 127.0.0.1:4999 and --listen 127.0.0.1:4999 name the same port",
        ),
        (
            &["--inspect", "127.0.0.1:0", "--inspect-keep", "0"],
            "oa-hook: error: --inspect-keep 0 is less than 1\n  hint: give a whole number of events, at least 1 and at most 100000",
        ),
    ];
    for (args, says) in cases {
        Test::new()
            .arg("serve")
            .args(args)
            .env("OA_HOOK_TOKEN", TOKEN)
            .status(2)
            .stdout(anything())
            .stderr(contains(says).lacks(TOKEN))
            .run();
    }

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // Nothing is said on stdout before.
    Test::serve()
        .arg("--inspect")
        .arg(format!("127.0.0.1:{port}"))
        .status(2)
        .stderr(contains(format!(
            "cannot listen on 127.0.0.1:{port} for --inspect"
        )))
        .run();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("oa-hook.toml");
    std::fs::write(&config, "[serve]\ninspect_token = \"a-secret-token\"\n").unwrap();
    Test::new()
        .args(["serve", "--inspect"])
        .env("OA_HOOK_CONFIG", &config)
        .status(2)
        .stdout(anything())
        .stderr(
            contains(
                "`[serve] inspect_token`: the token is a secret and is never read from a file",
            )
            .contains("use OA_HOOK_INSPECT_TOKEN (or --inspect-token)"),
        )
        .run();
}
