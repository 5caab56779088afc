//! `serve` on a real loopback port, driven the way Chat drives a backend.

use crate::support::{
    NOW, Serve, Test, allow, anything, assert_contains, contains, fail, lacks, read_answer, starts,
    stopped,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Must never show up in anything `serve` prints or records.
const TOKEN: &str = "t0ken-never-printed";
const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";
const AFTER: &str = "OfficialAccount.CallbackAfterDeleteSubscriber";

fn client_builder() -> reqwest::ClientBuilder {
    // reqwest is built without a default TLS provider; it needs one even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy()
}

fn client() -> reqwest::Client {
    client_builder().build().expect("a client builds")
}

/// Query parameters in the order Chat sends them.
type Query = Vec<(&'static str, String)>;

/// Chat's query for `command`, signed with [`TOKEN`] at `request_time`.
fn query_at(command: &str, request_time: u64) -> Query {
    vec![
        ("SdkAppid", "88888888".into()),
        ("CallbackCommand", command.into()),
        ("contenttype", "json".into()),
        ("ClientIP", "127.0.0.1".into()),
        ("OptPlatform", "RESTAPI".into()),
        ("Sign", sign(TOKEN, request_time)),
        ("RequestTime", request_time.to_string()),
    ]
}

fn query(command: &str) -> Query {
    query_at(command, NOW)
}

fn with(mut query: Query, name: &str, value: &str) -> Query {
    for pair in &mut query {
        if pair.0 == name {
            pair.1 = value.to_owned();
        }
    }
    query
}

fn without(query: Query, name: &str) -> Query {
    query.into_iter().filter(|(k, _)| *k != name).collect()
}

fn body(command: &str, subscribers: &[&str]) -> Value {
    json!({
        "CallbackCommand": command,
        "Official_Account": "@TOA#_test_for_penn",
        "Operator_Account": "107867",
        "SubscribeAccountList": subscribers.iter().map(|u| json!({"Subscriber_Account": u})).collect::<Vec<_>>(),
        "EventTime": 1670574414123_i64
    })
}

fn seed() -> Value {
    body(BEFORE, &["jared", "leckie"])
}

/// POSTs like Chat does and returns the status and the answer as JSON.
async fn post(url: &str, query: &[(&str, String)], body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = client()
        .post(format!("{url}/im"))
        .query(query)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("serve answers");
    let status = response.status().as_u16();
    let answer = response.json().await.expect("the answer is JSON");
    (status, answer)
}

async fn post_json(url: &str, query: &[(&str, String)], body: &Value) -> (u16, Value) {
    post(url, query, body.to_string()).await
}

/// `serve ARGS` checking TOKEN, which it reads from the environment as a deployment gives it.
fn with_token(args: &[&str]) -> Test {
    Test::serve().args(args).env("OA_HOOK_TOKEN", TOKEN)
}

/// A server checking the token and the SdkAppid, past its banner.
fn strict(args: &[&str]) -> Serve {
    let serve = with_token(&[&["--sdkappid", "88888888"], args].concat()).start();
    serve.next_line();
    serve
}

/// Starts a [`strict`] server with `args`, sends it one callback, and returns the status, the
/// answer and the event line.
async fn exchange(args: &[&str], query: &Query, body: &Value) -> (u16, Value, String) {
    let serve = strict(args);
    let (status, answer) = post_json(&serve.url, query, body).await;
    (status, answer, serve.next_line())
}

fn ok(refused: &[&str]) -> Value {
    let mut answer = allow();
    if !refused.is_empty() {
        answer["RefusedSubscribers_Account"] = json!(refused);
    }
    answer
}

/// The event line without its latency, which varies.
fn without_latency(line: &str) -> &str {
    line.rsplit_once("  ").map_or(line, |(head, _)| head)
}

/// Runs a command line as a shell would run it pasted, with `OA_HOOK_TOKEN` set to `token`:
/// words apart, nothing quoted or commented (the banner prints none).
fn paste(line: &str, token: Option<&str>) -> Test {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "oa-hook", "{line}");
    assert!(
        !line.contains(['#', '"', '\'', '$', '\\']),
        "a shell would read more than words: {line}"
    );
    let test = Test::new().args(&words[1..]);
    match token {
        Some(token) => test.env("OA_HOOK_TOKEN", token),
        None => test,
    }
}

#[test]
fn the_banner_gives_the_url_then_a_send_command_without_the_token() {
    let mut serve = with_token(&["--sdkappid", "1400000000"]).start();
    assert!(serve.url.starts_with("http://127.0.0.1:"), "{}", serve.url);
    let command = serve.next_line();
    assert_eq!(
        command,
        format!(
            "oa-hook send before-subscribe --url {}/ --sdkappid 1400000000",
            serve.url
        )
    );
    paste(&command, Some(TOKEN)).stdout(anything()).run();
    assert!(
        serve.next_line().contains("✔ before-subscribe"),
        "serve took it as authentic"
    );
    serve
        .stderr(stopped(
            "1 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();

    Test::serve()
        .args(["-q"])
        .stderr(stopped(
            "0 callback(s) answered, 0 of them rejected as invalid",
        ))
        .start()
        .interrupt();
}

#[test]
fn a_token_from_the_flag_is_said_to_be_needed_in_the_variable() {
    let mut serve = Test::serve()
        .args(["--token", TOKEN, "--sdkappid", "1400000000"])
        .start();
    let command = serve.next_line();
    let note = serve.next_error_line();
    assert_eq!(
        note,
        "note: that command reads the token from OA_HOOK_TOKEN, and serve's came from --token: run it where OA_HOOK_TOKEN holds the same token (export OA_HOOK_TOKEN=...)"
    );
    paste(&command, None)
        .status(1)
        .stdout(contains("HTTP 401"))
        .stderr(anything())
        .run();
    serve.next_line();
    paste(&command, Some(TOKEN))
        .stdout(anything())
        .stderr(anything())
        .run();
    serve
        .stdout(lacks(TOKEN))
        .stderr(stopped(
            "2 callback(s) answered, 1 of them rejected as invalid",
        ))
        .interrupt();

    // From the variable, the shell it is pasted in needs the same: nothing to say.
    let mut from_env = with_token(&[]).start();
    from_env.next_line();
    from_env
        .stderr(stopped(
            "0 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();
}

#[test]
fn a_server_on_every_interface_is_sent_to_on_this_machine() {
    let serve = Test::new().args(["serve", "--listen", "0.0.0.0:0"]).start();
    let port = serve
        .url
        .strip_prefix("http://0.0.0.0:")
        .expect("listening on 0.0.0.0");
    let command = serve.next_line();
    assert_eq!(
        command,
        format!("oa-hook send before-subscribe --url http://127.0.0.1:{port}/")
    );
    paste(&command, None)
        .stdout(anything())
        .stderr(anything())
        .run();
}

#[tokio::test]
async fn refuse_lists_the_matching_subscribers_and_omits_the_field_otherwise() {
    let serve = strict(&["--refuse", "jared", "--refuse", "someone"]);
    let (status, answer) = post_json(&serve.url, &query(BEFORE), &seed()).await;
    assert_eq!((status, answer), (200, ok(&["jared"])));
    assert_eq!(
        without_latency(&serve.next_line()),
        "05:21:52.000Z ✔ before-subscribe  operator 107867  subscribers jared, leckie  → 200 refuses jared"
    );

    let (status, answer) = post_json(&serve.url, &query(BEFORE), &body(BEFORE, &["leckie"])).await;
    assert_eq!((status, answer), (200, ok(&[])));
    assert!(serve.next_line().contains("subscribers leckie  → 200 OK"));
}

#[tokio::test]
async fn event_lines_are_coloured_only_when_asked() {
    let serve = strict(&["--color", "always", "--refuse", "jared"]);
    post_json(&serve.url, &query(BEFORE), &seed()).await;
    let line = serve.next_line();
    assert!(
        line.contains("\u{1b}[1mbefore-subscribe\u{1b}[0m"),
        "{line:?}"
    );
    assert!(line.contains("\u{1b}[1;32m✔\u{1b}[0m"), "{line:?}");
    let forced = Test::serve()
        .args(["--color", "always"])
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .start();
    forced.next_line();
    post_json(&forced.url, &query(BEFORE), &seed()).await;
    assert!(
        forced.next_line().contains('\u{1b}'),
        "--color always wins over NO_COLOR"
    );
}

#[tokio::test]
async fn reject_answers_error_code_1() {
    let (status, answer, line) =
        exchange(&["--reject", "--refuse", "jared"], &query(BEFORE), &seed()).await;
    let info = "oa-hook serve --reject: rejecting on purpose";
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"ActionStatus": "OK", "ErrorInfo": info, "ErrorCode": 1})
        )
    );
    assert!(line.contains("→ 200 rejects all (ErrorCode 1)"), "{line}");
}

#[tokio::test]
async fn fail_answers_action_status_fail() {
    let (status, answer, line) = exchange(&["--fail"], &query(BEFORE), &seed()).await;
    assert_eq!(
        (status, answer),
        (200, fail("oa-hook serve --fail: failing on purpose"))
    );
    assert!(line.contains("→ 200 ActionStatus FAIL"), "{line}");
}

#[tokio::test]
async fn status_answers_with_that_http_status() {
    let args = ["--status", "503", "--refuse", "jared"];
    let (status, answer, line) = exchange(&args, &query(BEFORE), &seed()).await;
    assert_eq!((status, answer), (503, ok(&["jared"])));
    assert!(line.contains("→ 503 refuses jared"), "{line}");
}

#[tokio::test]
async fn delay_waits_before_answering() {
    let serve = strict(&["--delay", "300ms"]);
    let started = Instant::now();
    let (status, _) = post_json(&serve.url, &query(BEFORE), &seed()).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn after_unsubscribe_is_answered_ok_whatever_the_refusals() {
    let args = ["--refuse", "jared", "--reject"];
    let (status, answer, line) = exchange(&args, &query(AFTER), &body(AFTER, &["jared"])).await;
    assert_eq!((status, answer), (200, ok(&[])));
    assert!(
        line.contains("✔ after-unsubscribe  operator 107867  subscribers jared  → 200 OK"),
        "{line}"
    );
}

#[tokio::test]
async fn each_invalid_callback_gets_its_status_and_reason() {
    let serve = strict(&[]);
    let seed = seed().to_string();
    let mismatched = body(AFTER, &["jared"]).to_string();
    let mut wrong_types = self::seed();
    wrong_types["EventTime"] = json!("yesterday");
    let wrong_types = wrong_types.to_string();
    let cases: Vec<(&str, Query, String, u16, &str)> = vec![
        (
            "missing Sign",
            without(query(BEFORE), "Sign"),
            seed.clone(),
            401,
            "query.Sign: the query has no Sign parameter",
        ),
        (
            "bad Sign",
            with(query(BEFORE), "Sign", &sign("another-token", NOW)),
            seed.clone(),
            401,
            "query.Sign: Sign does not match SHA-256(token + RequestTime)",
        ),
        (
            "stale RequestTime",
            query_at(BEFORE, NOW - 61),
            seed.clone(),
            401,
            "query.RequestTime: RequestTime is 61 s old, beyond the 60 s freshness window",
        ),
        (
            "future RequestTime",
            query_at(BEFORE, NOW + 61),
            seed.clone(),
            401,
            "query.RequestTime: RequestTime is 61 s in the future",
        ),
        (
            "wrong SdkAppid",
            with(query(BEFORE), "SdkAppid", "1400000000"),
            seed.clone(),
            403,
            "query.SdkAppid: SdkAppid 1400000000 is not this backend's (88888888)",
        ),
        (
            "missing CallbackCommand",
            without(query(BEFORE), "CallbackCommand"),
            seed.clone(),
            400,
            "query.CallbackCommand: required query parameter is missing",
        ),
        (
            "not a command word",
            with(query(BEFORE), "CallbackCommand", "Callback Nope"),
            seed.clone(),
            400,
            "query.CallbackCommand: `Callback Nope` is not a callback command word",
        ),
        (
            "Sign twice",
            [query(BEFORE), vec![("Sign", sign(TOKEN, NOW))]].concat(),
            seed.clone(),
            400,
            "query.Sign: Sign appears 2 times in the query",
        ),
        (
            "SdkAppid twice",
            [query(BEFORE), vec![("SdkAppid", "88888888".to_owned())]].concat(),
            seed.clone(),
            400,
            "query.SdkAppid: SdkAppid appears 2 times in the query",
        ),
        (
            "RequestTime with a leading zero",
            with(query(BEFORE), "RequestTime", &format!("0{NOW}")),
            seed.clone(),
            401,
            "query.RequestTime: RequestTime `01669872112` is not a Unix time",
        ),
        (
            "contenttype not json",
            with(query(BEFORE), "contenttype", "xml"),
            seed.clone(),
            400,
            "query.contenttype: is `xml`; Chat always sends `json`",
        ),
        (
            "malformed JSON",
            query(BEFORE),
            "{\"CallbackCommand\": ".into(),
            400,
            "body: the body is not JSON",
        ),
        (
            "wrong types",
            query(BEFORE),
            wrong_types,
            400,
            "EventTime: is a string (\"yesterday\"); expected an integer",
        ),
        (
            "body command is not the query command",
            query(BEFORE),
            mismatched,
            400,
            "CallbackCommand: the body says `OfficialAccount.CallbackAfterDeleteSubscriber`",
        ),
        (
            "body over 1 MiB",
            query(BEFORE),
            " ".repeat((1 << 20) + 1),
            413,
            "body: the body is over 1 MiB",
        ),
    ];
    for (case, query, body, status, info) in cases {
        let (got, answer) = post(&serve.url, &query, body).await;
        assert_eq!(got, status, "{case}: {answer}");
        assert_eq!(answer["ActionStatus"], "FAIL", "{case}");
        assert_eq!(answer["ErrorCode"], 1, "{case}");
        assert_eq!(answer.as_object().unwrap().len(), 3, "{case}: {answer}");
        let error_info = answer["ErrorInfo"].as_str().unwrap();
        assert!(error_info.starts_with(info), "{case}: {error_info}");
        let line = serve.next_line();
        assert!(
            line.contains("✘ ") && line.contains(&format!("→ {status} {info}")),
            "{case}: {line}"
        );
    }

    let response = client()
        .get(format!("{}/im", serve.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        fail("method: Chat sends callbacks with POST, not GET")
    );
    assert!(
        serve
            .next_line()
            .contains("✘ -  → 405 method: Chat sends callbacks with POST, not GET")
    );
}

#[tokio::test]
async fn an_upper_case_sign_is_accepted_and_noted() {
    let upper = with(query(BEFORE), "Sign", &sign(TOKEN, NOW).to_uppercase());
    let (status, answer, line) = exchange(&[], &upper, &seed()).await;
    assert_eq!((status, answer), (200, ok(&[])));
    assert!(
        line.contains(
            "→ 200 OK  ! query.Sign: Sign is upper-case hex; Chat sends lower case (accepted)"
        ),
        "{line}"
    );
}

#[tokio::test]
async fn oddities_are_answered_normally_and_shown() {
    let mut odd = seed();
    odd["EventTime"] = json!(1670574414);
    odd["Official_Account"] = json!("my_account");
    let odd_platform = with(query(BEFORE), "OptPlatform", "Amiga");
    let (status, answer, line) = exchange(&["--refuse", "jared"], &odd_platform, &odd).await;
    assert_eq!((status, answer), (200, ok(&["jared"])));
    for warning in [
        "→ 200 refuses jared  ! query.OptPlatform: `Amiga` is not an OptPlatform Chat documents",
        "  ! Official_Account: `my_account` does not start with `@TOA#_`",
        "  ! EventTime: 1670574414 looks like seconds",
    ] {
        assert!(line.contains(warning), "{warning} in {line}");
    }
}

#[tokio::test]
async fn a_repeated_key_and_a_repeated_subscriber_are_shown() {
    let serve = strict(&["--refuse", "jared"]);
    // serde_json keeps the last of two keys: jared vanishes from the first item.
    let repeated = seed().to_string().replace(
        r#"{"Subscriber_Account":"jared"}"#,
        r#"{"Subscriber_Account":"jared","Subscriber_Account":"leckie"}"#,
    );
    let (status, answer) = post(&serve.url, &query(BEFORE), repeated).await;
    assert_eq!((status, answer), (200, ok(&[])));
    let line = serve.next_line();
    for part in [
        "subscribers leckie, leckie  → 200 OK",
        "  ! SubscribeAccountList[1].Subscriber_Account: `leckie` is named again (first at SubscribeAccountList[0].Subscriber_Account); Chat names each subscriber once",
        "  ! SubscribeAccountList[0]: key \"Subscriber_Account\" appears twice; Chat's JSON has each key once (the last one is used)",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

/// The `--output json` event for the seed callback under `--refuse jared`, latency zeroed.
pub fn seed_event_refusing_jared() -> Value {
    json!({
        "time": "2022-12-01T05:21:52.000Z",
        "command": "before-subscribe",
        "operator": "107867",
        "subscribers": ["jared", "leckie"],
        "valid": true,
        "status": 200,
        "answer": ok(&["jared"]),
        "findings": [],
        "latency_ms": 0
    })
}

#[test]
fn json_output_is_one_object_per_callback() {
    let serve = with_token(&["--output", "json", "--refuse", "jared", "-q"]).start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, _) = runtime.block_on(post_json(&serve.url, &query(BEFORE), &seed()));
    assert_eq!(status, 200);
    let mut event: Value = serde_json::from_str(&serve.next_line()).unwrap();
    assert!(event["latency_ms"].as_f64().unwrap() >= 0.0);
    event["latency_ms"] = json!(0);
    assert_eq!(event, seed_event_refusing_jared());

    let (status, _) = runtime.block_on(post_json(
        &serve.url,
        &without(query(BEFORE), "Sign"),
        &seed(),
    ));
    assert_eq!(status, 401);
    let mut event: Value = serde_json::from_str(&serve.next_line()).unwrap();
    event["latency_ms"] = json!(0);
    let info = "query.Sign: the query has no Sign parameter: webhook authentication is off at the sender, or the parameter was lost";
    assert_eq!(
        event,
        json!({
            "time": "2022-12-01T05:21:52.000Z",
            "command": "before-subscribe",
            "operator": null,
            "subscribers": [],
            "valid": false,
            "status": 401,
            "answer": fail(info),
            "findings": [{
                "severity": "error",
                "code": "missing-sign",
                "path": "query.Sign",
                "message": info.trim_start_matches("query.Sign: ")
            }],
            "latency_ms": 0
        })
    );
}

#[test]
fn many_callbacks_share_one_kept_alive_connection() {
    let serve = strict(&["--refuse", "jared"]);
    let address = serve.url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let target = format!(
        "/im?{}",
        query(BEFORE)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let body = seed().to_string();
    for _ in 0..50 {
        write!(
            writer,
            "POST {target} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let (status, answer) = read_answer(&mut reader);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(
            serde_json::from_slice::<Value>(&answer).unwrap(),
            ok(&["jared"])
        );
    }
    for _ in 0..50 {
        assert!(serve.next_line().contains("→ 200 refuses jared"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callbacks_are_each_recorded_once_and_survive_ctrl_c() {
    const CONNECTIONS: usize = 32;
    const REQUESTS: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut serve = strict(&["--refuse", "jared", "--record", record.to_str().unwrap()]);
    let url = format!("{}/im", serve.url);
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        // One client each, kept to one connection: 32 connections in all.
        let client = client_builder().pool_max_idle_per_host(1).build().unwrap();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in (connection..REQUESTS).step_by(CONNECTIONS) {
                // Every third one is invalid: records are kept for those too.
                let chat_query = if i % 3 == 0 {
                    without(query(BEFORE), "Sign")
                } else {
                    query(BEFORE)
                };
                let response = client
                    .post(&url)
                    .query(&chat_query)
                    .body(seed().to_string())
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
                response.bytes().await.unwrap();
            }
            statuses
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.unwrap());
    }
    assert_eq!(statuses.len(), REQUESTS);
    let rejected = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(rejected, REQUESTS.div_ceil(3));
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        REQUESTS - rejected
    );

    let stopped = serve
        .stdout(anything().lacks(TOKEN))
        .stderr(stopped(&format!(
            "{REQUESTS} callback(s) answered, {rejected} of them rejected as invalid; {REQUESTS} recorded"
        )))
        .interrupt();
    assert_eq!(stopped.stdout.len(), REQUESTS);
    let text = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), REQUESTS);
    for line in &lines {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["body"], seed());
        assert!(record["query"].get("Sign").is_none(), "{line}");
        assert!(record["query"].get("RequestTime").is_none(), "{line}");
        assert!(!line.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_record_line_is_version_2_with_the_request_its_signature_apart_and_the_answer_judged() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut serve = strict(&["--refuse", "jared", "--record", record.to_str().unwrap()]);
    post_json(&serve.url, &query(BEFORE), &seed()).await;
    post(&serve.url, &query(BEFORE), "not json").await;
    serve
        .stdout(anything())
        .stderr(stopped(
            "2 callback(s) answered, 1 of them rejected as invalid; 2 recorded",
        ))
        .interrupt();
    let text = std::fs::read_to_string(&record).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut expected_query = serde_json::Map::new();
    for (name, value) in without(without(query(BEFORE), "Sign"), "RequestTime") {
        expected_query.insert(name.into(), value.into());
    }
    let mut first = records[0].clone();
    first["latency_ms"] = json!(0);
    let mut expected = seed_event_refusing_jared();
    let request = json!({
        "v": 2,
        "judgement": {
            "decision": {"kind": "subscribes", "subscribed": ["leckie"], "refused": ["jared"]},
            "says": "subscribes leckie; refuses jared",
            "accepted": true,
            "findings": []
        },
        "method": "POST",
        "path": "/im",
        "query": expected_query,
        "request_time": NOW.to_string(),
        "body": seed(),
        "body_format": "json",
        "body_bytes": seed().to_string().len()
    });
    expected
        .as_object_mut()
        .unwrap()
        .extend(request.as_object().unwrap().clone());
    assert_eq!(first, expected);
    // The body as received, byte for byte, where replay reads it from.
    assert_contains(
        text.lines().next().unwrap(),
        &format!(r#""body":{},"#, seed()),
    );
    assert_eq!(records[1]["body"], "not json");
    assert_eq!(records[1]["body_format"], "text");
    assert_eq!(records[1]["status"], 400);
    assert_eq!(records[1]["findings"][0]["code"], "not-json");
    assert_eq!(records[1]["judgement"]["accepted"], false);
    assert_eq!(
        records[1]["judgement"]["findings"][0]["code"],
        "http-status"
    );
}

#[test]
fn a_port_in_use_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    Test::new()
        .args(["serve", "--listen", &address])
        .status(2)
        .stderr(format!(
            "oa-hook: error: cannot listen on {address}: Address already in use (os error 98)\n  hint: another program listens there: stop it, or pick another port (--listen 127.0.0.1:0 picks a free one)\n"
        ))
        .run();
}

#[test]
fn an_unwritable_record_is_a_usage_error() {
    Test::serve()
        .args(["--record", "/nonexistent/dir/events.ndjson"])
        .status(2)
        .stderr(starts(
            "oa-hook: error: cannot open --record /nonexistent/dir/events.ndjson: No such file or directory",
        ))
        .run();
}

#[test]
fn help_never_shows_the_token() {
    Test::new()
        .args(["serve", "--help"])
        .env("OA_HOOK_TOKEN", TOKEN)
        .stdout(lacks(TOKEN))
        .run();
}

/// Chat sends every callback of an app to its one URL: what serve does not model is answered
/// 200 OK/0 when it is authentic, and refused like any other when it is not.
#[tokio::test]
async fn authentic_callbacks_serve_does_not_model_are_answered_ok_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut serve = strict(&["--fail", "--record", record.to_str().unwrap()]);
    let others = [
        (
            "State.StateChange",
            json!({"CallbackCommand": "State.StateChange", "EventTime": 1629883332497_i64,
                "Info": {"Action": "Login", "To_Account": "testuser316", "Reason": "Register"}}),
        ),
        (
            "C2C.CallbackAfterSendMsg",
            json!({"CallbackCommand": "C2C.CallbackAfterSendMsg", "From_Account": "jared",
                "To_Account": "Jonh", "MsgBody": [], "EventTime": 1670574414123_i64}),
        ),
        (
            "Group.CallbackAfterNewMemberJoin",
            body("Group.CallbackAfterNewMemberJoin", &["jared"]),
        ),
    ];
    for (command, body) in &others {
        let (status, answer) = post_json(&serve.url, &query(command), body).await;
        assert_eq!((status, answer), (200, ok(&[])), "{command}");
        let line = serve.next_line();
        assert!(
            line.contains(&format!(
                "✔ {command}  → 200 OK  not a command this backend models"
            )),
            "{line}"
        );
    }
    let (command, body) = &others[0];
    let forged = with(query(command), "Sign", &sign("forged", NOW));
    let (status, answer) = post_json(&serve.url, &forged, body).await;
    assert_eq!(status, 401, "{answer}");
    assert_contains(
        &serve.next_line(),
        &format!("✘ {command}  → 401 query.Sign"),
    );
    let other_app = with(query(command), "SdkAppid", "1400000000");
    assert_eq!(post_json(&serve.url, &other_app, body).await.0, 403);
    serve.next_line();
    let (status, answer) = post(&serve.url, &query(command), "not json").await;
    assert_eq!((status, &answer["ErrorCode"]), (400, &json!(1)), "{answer}");
    // The policy still applies to what serve models.
    let (status, answer) = post_json(&serve.url, &query(BEFORE), &seed()).await;
    assert_eq!((status, &answer["ActionStatus"]), (200, &json!("FAIL")));

    serve
        .stdout(anything())
        .stderr(stopped(
            "7 callback(s) answered, 3 of them rejected as invalid; 7 recorded",
        ))
        .interrupt();
    let records: Vec<Value> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 7);
    for (record, (command, body)) in records.iter().zip(&others) {
        assert_eq!(record["command"], *command);
        assert_eq!(record["valid"], true);
        assert_eq!(record["body"], *body);
        assert_eq!(record["query"]["CallbackCommand"], *command);
        assert!(record["note"].as_str().unwrap().contains("one URL"));
    }
    assert_eq!(records[3]["command"], "State.StateChange");
    assert_eq!(records[3]["status"], 401);
    assert_eq!(records[5]["findings"][0]["code"], "not-json");
}

#[test]
fn with_json_output_every_stdout_line_is_json() {
    let mut serve = with_token(&["--output", "json"]).start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(post_json(&serve.url, &query(BEFORE), &seed()));
    let event: Value = serde_json::from_str(&serve.next_line()).unwrap();
    assert_eq!(event["status"], 200);
    let url = serve.url.clone();
    serve
        .stderr(format!(
            "listening on {url}\noa-hook send before-subscribe --url {url}/\n{}",
            stopped("1 callback(s) answered, 0 of them rejected as invalid")
        ))
        .interrupt();
}
