//! `serve --forward-to`: a sender, the tap, and a wiremock backend behind it, all on loopback.

use crate::support::{
    NOW, Serve, assert_contains, closed_port, oa_hook, run, seed_body, serve_command,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

/// Must never show up in anything the tap prints or records.
const TOKEN: &str = "t0ken-of-the-tap";

/// The backend's answer, spaced as no serializer would: it must come back byte for byte.
const ANSWER: &str = r#"{ "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",  "RefusedSubscribers_Account": ["jared"] }"#;

/// Chat's query string for `command`, signed with `token` at [`NOW`], with one value that is
/// percent-encoded, to be passed on as it came.
fn query(command: &str, token: &str) -> String {
    format!(
        "SdkAppid=88888888&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&note=a%20b&Sign={}&RequestTime={NOW}",
        sign(token, NOW)
    )
}

const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";

/// A tap in front of `backend`, checking the token, printing NDJSON and recording to `record`.
fn tap(backend: &str, record: &std::path::Path, args: &[&str]) -> Serve {
    let mut cmd = serve_command(
        &[
            &["--forward-to", backend, "--output", "json", "-q"][..],
            &["--record", record.to_str().unwrap()],
            args,
        ]
        .concat(),
    );
    cmd.env("OA_HOOK_TOKEN", TOKEN);
    Serve::spawn(cmd)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// POSTs `body` to `url` as Chat does; the status, content type and body as received.
async fn post(url: &str, body: &str) -> (u16, String, Vec<u8>) {
    let response = client()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

fn records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_request_goes_on_as_it_came_and_the_answer_comes_back_unchanged() {
    let backend = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(ANSWER, "application/json; charset=utf-8"),
        )
        .mount(&backend)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = tap(&format!("{}/im?tenant=a", backend.uri()), &record, &[]);
    let sent_query = query(BEFORE, TOKEN);
    let sent_body = seed_body(BEFORE);
    let (status, content_type, answer) = post(
        &format!("{}/console/path?{sent_query}", tap.url),
        &sent_body,
    )
    .await;

    // What the caller got: the backend's answer, unchanged.
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json; charset=utf-8");
    assert_eq!(String::from_utf8(answer).unwrap(), ANSWER);

    // What the backend got: the forward URL's path, its query and then the one received, the
    // original Sign included, and the body byte for byte.
    let received = backend.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/im");
    assert_eq!(
        request.url.query().unwrap(),
        format!("tenant=a&{sent_query}")
    );
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), sent_body);
    assert_eq!(request.headers["content-type"], "application/json");

    // The event line: the request judged as serve judges it, the answer as send does.
    let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
    assert_eq!(event["valid"], true);
    assert_eq!(event["command"], "before-subscribe");
    assert_eq!(event["status"], 200);
    assert_eq!(
        event["answer"],
        serde_json::from_str::<Value>(ANSWER).unwrap()
    );
    assert_eq!(event["backend"]["status"], 200);
    assert_eq!(
        event["backend"]["content_type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        event["judgement"]["decision"],
        json!({"kind": "subscribes", "subscribed": ["leckie"], "refused": ["jared"]})
    );
    assert_eq!(
        event["judgement"]["says"],
        "subscribes leckie; refuses jared"
    );
    assert_eq!(event["judgement"]["findings"], json!([]));

    let stopped = tap.interrupt();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert_contains(&stopped.stderr, "stopped: 1 request(s) passed on");
    let text = std::fs::read_to_string(&record).unwrap();
    // The Sign received is kept apart (for `replay --as-recorded`); the token never.
    assert!(!text.contains(TOKEN));
    let line = &records(&record)[0];
    assert_eq!(line["v"], 2);
    assert_eq!(line["sign"], sign(TOKEN, NOW));
    assert_eq!(line["judgement"], event["judgement"]);
    assert_eq!(line["backend"]["status"], 200);
    assert_eq!(line["path"], "/console/path");
    assert_eq!(line["query"]["note"], "a b");
    assert!(line["query"].get("Sign").is_none());
    assert!(line["query"].get("RequestTime").is_none());
    assert_eq!(line["request_time"], NOW.to_string());
    assert_eq!(line["body_format"], "json");
    assert_contains(&text, &format!(r#""body":{sent_body},"#));
}

#[tokio::test]
async fn a_forgery_is_passed_on_all_the_same_and_the_backends_refusal_shown() {
    let backend = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_raw("denied", "text/plain"))
        .mount(&backend)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve_command(&["--forward-to", &backend.uri(), "-q"]);
    cmd.env("OA_HOOK_TOKEN", TOKEN);
    let serve = Serve::spawn(cmd);
    assert_eq!(
        serve.next_line(),
        format!("passing every request on to {}/", backend.uri())
    );
    let forged = query(BEFORE, "another-token");
    let (status, content_type, answer) =
        post(&format!("{}/im?{forged}", serve.url), &seed_body(BEFORE)).await;
    assert_eq!(
        (status, content_type.as_str(), answer.as_slice()),
        (401, "text/plain", &b"denied"[..])
    );
    let line = serve.next_line();
    assert_contains(
        &line,
        "✘ before-subscribe  query.Sign: Sign does not match SHA-256(token + RequestTime)",
    );
    assert_contains(
        &line,
        "(passed on all the same)  → backend 401: Chat undocumented: ",
    );
    assert_contains(
        &line,
        "✘ status: HTTP 401 (expected 200): Chat counts any other status as a webhook failure; body: `denied`",
    );
    assert_eq!(backend.received_requests().await.unwrap().len(), 1);
    drop(dir);
}

#[tokio::test]
async fn a_dead_backend_gets_the_caller_a_502_naming_it_and_the_tap_goes_on() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = tap(&format!("http://127.0.0.1:{port}/im"), &record, &[]);
    let url = format!("{}/im?{}", tap.url, query(BEFORE, TOKEN));
    for _ in 0..2 {
        let (status, content_type, answer) = post(&url, &seed_body(BEFORE)).await;
        assert_eq!((status, content_type.as_str()), (502, "application/json"));
        assert_eq!(
            serde_json::from_slice::<Value>(&answer).unwrap(),
            json!({
                "ActionStatus": "FAIL",
                "ErrorInfo": format!("oa-hook tap: connection refused at 127.0.0.1:{port}"),
                "ErrorCode": 1
            })
        );
        let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
        assert_eq!(event["status"], 502);
        assert_eq!(event["backend"]["status"], Value::Null);
        assert_eq!(
            event["backend"]["error"],
            format!("connection refused at 127.0.0.1:{port}")
        );
        assert_eq!(event["judgement"]["accepted"], false);
    }
    assert!(tap.interrupt().status.success());
    assert_eq!(records(&record).len(), 2);
}

#[tokio::test]
async fn a_slow_or_huge_answer_is_bounded_and_said() {
    let backend = MockServer::start().await;
    Mock::given(matchers::path("/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(ANSWER, "application/json")
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&backend)
        .await;
    Mock::given(matchers::path("/huge"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(vec![b' '; 2 << 20], "application/json"),
        )
        .mount(&backend)
        .await;
    for (path, error) in [
        ("slow", "no answer within 200ms (Chat gives up after 2 s)"),
        (
            "huge",
            "the backend's answer is over 1 MiB, the most oa-hook reads: not passed back",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("events.ndjson");
        let tap = tap(
            &format!("{}/{path}", backend.uri()),
            &record,
            &["--timeout", "200ms"],
        );
        let url = format!("{}/im?{}", tap.url, query(BEFORE, TOKEN));
        let (status, _, answer) = post(&url, &seed_body(BEFORE)).await;
        assert_eq!(status, 502, "{path}");
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["ErrorInfo"], format!("oa-hook tap: {error}"));
        let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
        assert_eq!(event["backend"]["error"], error, "{path}");
    }
}

#[test]
fn policy_flags_and_a_bad_forward_url_are_usage_errors() {
    for args in [
        &[
            "--forward-to",
            "http://127.0.0.1:3000/im",
            "--refuse",
            "jared",
        ][..],
        &["--forward-to", "http://127.0.0.1:3000/im", "--reject"],
        &[
            "--forward-to",
            "http://127.0.0.1:3000/im",
            "--status",
            "500",
        ],
    ] {
        let result = run(oa_hook()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args));
        assert_eq!(result.code, 2, "{args:?}");
        assert_contains(&result.stderr, "cannot be used with");
    }
    for (url, why) in [
        ("ftp://127.0.0.1/im", "has the scheme `ftp`"),
        ("localhost:3000/im", "has no http:// or https://"),
        ("not a url", "is not a URL"),
    ] {
        let result = run(oa_hook().args(["serve", "--listen", "127.0.0.1:0", "--forward-to", url]));
        assert_eq!(result.code, 2, "{url}");
        assert_contains(&result.stderr, &format!("--forward-to {url} {why}"));
    }
}
