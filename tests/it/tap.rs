//! `serve --forward-to`: a sender, the tap, and a wiremock backend behind it, all on loopback.

use crate::support::{
    NOW, Serve, Test, allow, answer, anything, assert_contains, assert_starts, backend,
    closed_port, contains, ends, fail, https_backend, seed_body, self_signed, stopped,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
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
    Test::serve()
        .args(["--forward-to", backend, "--output", "json", "-q"])
        .args(["--record", record.to_str().unwrap()])
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .start()
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

/// Posts a genuine callback through `tap` (printing NDJSON) and asserts that the caller got the
/// tap's 502 saying `error`, as the event does; the event.
async fn failed_through(tap: &Serve, error: &str) -> Value {
    let url = format!("{}/im?{}", tap.url, query(BEFORE, TOKEN));
    let (status, content_type, answer) = post(&url, &seed_body(BEFORE)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (502, "application/json"),
        "{error}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&answer).unwrap(),
        fail(&format!("oa-hook tap: {error}"))
    );
    let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
    assert_eq!(event["status"], 502);
    assert_eq!(event["backend"]["error"], error);
    event
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
    // Marked as passed through this tap, by which it would know the request if it came back.
    assert_starts(request.headers["via"].to_str().unwrap(), "1.1 oa-hook-");

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

    tap.stderr(ends(stopped(
        "1 request(s) passed on, 0 of them not callbacks Chat could have sent; 1 recorded",
    )))
    .interrupt();
    let text = std::fs::read_to_string(&record).unwrap();
    // Neither the token nor, without --record-sign, the Sign received is kept.
    assert!(!text.contains(TOKEN));
    assert!(!text.contains(&sign(TOKEN, NOW)));
    let line = &records(&record)[0];
    assert_eq!(line["v"], 2);
    assert!(line.get("sign").is_none(), "{line}");
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

/// A human-readable tap in front of `backend`, checking the token (and `args`).
fn human_tap(backend: &str, args: &[&str]) -> Serve {
    let serve = Test::serve()
        .args(["--forward-to", backend, "-q"])
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    assert_starts(&serve.next_line(), "passing every request on to ");
    serve
}

/// Chat's query for `command` made a forgery in each way serve refuses one as not authentic,
/// by name: the tap runs with `--sdkappid 88888888`.
fn forgeries(command: &str) -> Vec<(&'static str, String)> {
    let genuine = query(command, TOKEN);
    let stale = NOW - 600;
    vec![
        ("bad-sign", query(command, "another-token")),
        (
            "missing-sign",
            genuine.split("&Sign=").next().unwrap().to_owned(),
        ),
        (
            "stale-request-time",
            genuine
                .replace(&sign(TOKEN, NOW), &sign(TOKEN, stale))
                .replace(
                    &format!("RequestTime={NOW}"),
                    &format!("RequestTime={stale}"),
                ),
        ),
        (
            "wrong-sdkappid",
            genuine.replace("SdkAppid=88888888", "SdkAppid=1400000000"),
        ),
        (
            "repeated-parameter",
            format!("{genuine}&SdkAppid=1400000000"),
        ),
    ]
}

#[tokio::test]
async fn a_backend_that_accepts_a_forgery_is_a_security_failure() {
    let backend = backend(answer(allow())).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut json_tap = tap(&backend.uri(), &record, &["--sdkappid", "88888888"]);
    let human = human_tap(&backend.uri(), &["--sdkappid", "88888888"]);
    for (why, forged) in forgeries(BEFORE) {
        let (status, _, _) =
            post(&format!("{}/im?{forged}", json_tap.url), &seed_body(BEFORE)).await;
        assert_eq!(status, 200, "{why}: the backend's answer is passed back");
        let event: Value = serde_json::from_str(&json_tap.next_line()).unwrap();
        assert_eq!(event["valid"], false, "{why}");
        assert_eq!(event["findings"][0]["code"], why);
        let judgement = &event["judgement"];
        assert_eq!(judgement["accepted"], true, "{why}");
        assert_eq!(judgement["says"], "accepted it", "{why}");
        assert_eq!(judgement["findings"].as_array().unwrap().len(), 1, "{why}");
        let finding = &judgement["findings"][0];
        assert_eq!(finding["code"], "forgery-accepted", "{why}");
        assert_eq!(finding["severity"], "error", "{why}");
        assert_eq!(
            finding["message"],
            format!(
                "a security failure: the backend accepted a callback that is not authentic ({why}): HTTP 200, ActionStatus OK, ErrorCode 0; it must refuse it (401, ActionStatus FAIL or ErrorCode 1), or anyone who can reach its URL can act as Chat"
            )
        );

        post(&format!("{}/im?{forged}", human.url), &seed_body(BEFORE)).await;
        let line = human.next_line();
        assert_contains(&line, "✘ before-subscribe  query.");
        assert_contains(
            &line,
            "(not authentic; passed on: the backend must refuse it)",
        );
        assert_contains(
            &line,
            &format!(
                "→ backend 200: accepted it  ✘ forgery-accepted: a security failure: the backend accepted a callback that is not authentic ({why}): HTTP 200, ActionStatus OK, ErrorCode 0;"
            ),
        );
    }
    json_tap
        .stderr(ends(stopped(
            "5 request(s) passed on, 5 of them not callbacks Chat could have sent, 5 forged one(s) ACCEPTED by the backend; 5 recorded",
        )))
        .interrupt();
    let lines = records(&record);
    assert_eq!(lines.len(), 5);
    for line in &lines {
        assert_eq!(line["judgement"]["findings"][0]["code"], "forgery-accepted");
    }
    // The record keeps both values of the SdkAppid an attacker repeated.
    assert_eq!(
        lines[4]["query"]["SdkAppid"],
        json!(["88888888", "1400000000"])
    );
}

#[tokio::test]
async fn a_backend_that_refuses_a_forgery_does_right_whatever_its_answer_looks_like() {
    let backend = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_raw("denied", "text/plain"))
        .mount(&backend)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let json_tap = tap(&backend.uri(), &record, &["--sdkappid", "88888888"]);
    let serve = human_tap(&backend.uri(), &["--sdkappid", "88888888"]);
    for (why, forged) in forgeries(BEFORE) {
        let (status, content_type, answer) =
            post(&format!("{}/im?{forged}", serve.url), &seed_body(BEFORE)).await;
        assert_eq!(
            (status, content_type.as_str(), answer.as_slice()),
            (401, "text/plain", &b"denied"[..]),
            "{why}"
        );
        let line = serve.next_line();
        assert_contains(&line, "✔ before-subscribe  query.");
        assert_contains(
            &line,
            "(not authentic; passed on: the backend must refuse it)  → backend 401: refused, as it should: HTTP 401, body is not JSON: `denied`  ",
        );
        // No rule for answers to Chat applies to an answer to a forgery.
        assert!(!line.contains("expected 200"), "{line}");
        assert_eq!(line.matches('✘').count(), 0, "{line}");

        post(&format!("{}/im?{forged}", json_tap.url), &seed_body(BEFORE)).await;
        let event: Value = serde_json::from_str(&json_tap.next_line()).unwrap();
        assert_eq!(event["judgement"]["accepted"], false, "{why}");
        assert_eq!(event["judgement"]["findings"], json!([]), "{why}");
    }
    assert_eq!(backend.received_requests().await.unwrap().len(), 10);
}

#[tokio::test]
async fn tap_lines_carry_the_requests_warnings_and_error_info_once() {
    let backend = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(answer(fail("not handled here")))
        .mount(&backend)
        .await;
    let serve = human_tap(&backend.uri(), &[]);
    let upper = query(BEFORE, TOKEN).replace(&sign(TOKEN, NOW), &sign(TOKEN, NOW).to_uppercase());
    post(&format!("{}/im?{upper}", serve.url), &seed_body(BEFORE)).await;
    let line = serve.next_line();
    assert_contains(
        &line,
        "before-subscribe  operator 107867  subscribers jared, leckie  ! query.Sign: Sign is upper-case hex; Chat sends lower case (accepted)  → backend 200: ",
    );

    // A command oa-hook does not model: what the answer said is the verdict, ErrorInfo and all.
    let state = "State.StateChange";
    let body = json!({"CallbackCommand": state, "EventTime": 1, "Info": {}}).to_string();
    post(&format!("{}/im?{}", serve.url, query(state, TOKEN)), &body).await;
    let line = serve.next_line();
    assert_contains(
        &line,
        "State.StateChange  → backend 200: HTTP 200, ActionStatus FAIL, ErrorCode 1, ErrorInfo \"not handled here\"  ",
    );
    assert_eq!(line.matches("not handled here").count(), 1, "{line}");
}

#[tokio::test]
async fn a_dead_backend_gets_the_caller_a_502_naming_it_and_the_tap_goes_on() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = tap(&format!("http://127.0.0.1:{port}/im"), &record, &[]);
    for _ in 0..2 {
        let event = failed_through(&tap, &format!("connection refused at 127.0.0.1:{port}")).await;
        assert_eq!(event["backend"]["status"], Value::Null);
        assert_eq!(event["judgement"]["accepted"], false);
    }
    tap.stderr(ends(stopped(
        "2 request(s) passed on, 0 of them not callbacks Chat could have sent; 2 recorded",
    )))
    .interrupt();
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
        failed_through(&tap, error).await;
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
        Test::serve()
            .args(args)
            .status(2)
            .stderr(contains("cannot be used with"))
            .run();
    }
    for (url, why) in [
        ("ftp://127.0.0.1/im", "has the scheme `ftp`"),
        ("localhost:3000/im", "has no http:// or https://"),
        ("not a url", "is not a URL"),
    ] {
        Test::serve()
            .args(["--forward-to", url])
            .status(2)
            .stderr(contains(format!("--forward-to {url} {why}")))
            .run();
    }
}

#[tokio::test]
async fn every_value_of_a_repeated_parameter_is_recorded_and_replayed() {
    let ok = allow();
    let backend = backend(answer(ok.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = tap(&backend.uri(), &record, &[]);
    let repeated = format!("tenant=a&{}&tenant=b&tenant=c", query(BEFORE, TOKEN));
    let (status, _, _) = post(&format!("{}/im?{repeated}", tap.url), &seed_body(BEFORE)).await;
    assert_eq!(status, 200);
    tap.next_line();
    tap.stderr(ends(stopped(
        "1 request(s) passed on, 0 of them not callbacks Chat could have sent; 1 recorded",
    )))
    .interrupt();
    let line = &records(&record)[0];
    assert_eq!(line["valid"], true);
    assert_eq!(line["query"]["tenant"], json!(["a", "b", "c"]));
    assert_eq!(line["query"]["note"], "a b");

    let replayed_to = crate::support::backend(answer(ok)).await;
    Test::new()
        .args(["replay", record.to_str().unwrap(), "--url"])
        .arg(format!("{}/im", replayed_to.uri()))
        .env("OA_HOOK_TOKEN", TOKEN)
        .stdout(anything())
        .stderr(anything())
        .run_off_runtime()
        .await;
    let sent = &replayed_to.received_requests().await.unwrap()[0];
    let tenants: Vec<String> = sent
        .url
        .query_pairs()
        .filter(|(name, _)| name == "tenant")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(tenants, ["a", "b", "c"]);
}

/// A backend on loopback that answers every request with `status_line` and an empty JSON object,
/// as no HTTP library would let a server answer; its URL.
fn raw_backend(status_line: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end().to_ascii_lowercase();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "{status_line}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
                );
                // Held open until the tap lets go, as a server that upgraded would.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
        }
    });
    format!("http://{address}/im")
}

#[tokio::test]
async fn a_status_that_is_no_final_answer_gets_the_caller_a_502_saying_so() {
    for (status_line, error) in [
        (
            "HTTP/1.1 101 Switching Protocols",
            "the backend answered with status 101, an interim status and no answer: not passed back",
        ),
        (
            "HTTP/1.1 999 Odd",
            "the backend answered with status 999, which HTTP does not define (answers are 200 to 599): not passed back",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("events.ndjson");
        let tap = tap(&raw_backend(status_line), &record, &[]);
        let event = failed_through(&tap, error).await;
        let code: u16 = status_line[9..12].parse().unwrap();
        assert_eq!(event["backend"]["status"], code);
        assert_eq!(event["judgement"]["accepted"], false);
    }
}

#[tokio::test]
async fn other_methods_are_answered_405_by_the_tap_and_never_passed_on() {
    let backend = backend(answer(allow())).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = tap(&backend.uri(), &record, &[]);
    let url = format!("{}/im?{}", tap.url, query(BEFORE, TOKEN));
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = client()
            .request(method.clone(), &url)
            .body(seed_body(BEFORE))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            fail(&format!(
                "method: Chat sends callbacks with POST, not {method}"
            ))
        );
        let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
        assert_eq!(event["status"], 405);
        assert!(event.get("backend").is_none(), "{event}");
    }
    assert_eq!(backend.received_requests().await.unwrap().len(), 0);
    tap.stderr(ends(stopped(
        "0 request(s) passed on, 0 of them not callbacks Chat could have sent; 3 answered by the tap itself, not passed on; 3 recorded",
    )))
    .interrupt();
}

#[tokio::test]
async fn a_tap_pointed_at_itself_refuses_the_request_that_comes_back_with_508() {
    let port = closed_port();
    let own = format!("http://127.0.0.1:{port}/im");
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let mut tap = Test::new()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--forward-to", &own, "--output", "json", "-q", "--record"])
        .arg(&record)
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    let (status, content_type, answer) = post(
        &format!("{}/im?{}", tap.url, query(BEFORE, TOKEN)),
        &seed_body(BEFORE),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (508, "application/json"));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["ActionStatus"], "FAIL");
    assert_eq!(answer["ErrorCode"], 1);
    let info = answer["ErrorInfo"].as_str().unwrap();
    assert_starts(
        info,
        "headers.Via: this request has passed through this tap already (Via: oa-hook-",
    );
    assert_contains(
        info,
        &format!("--forward-to {own} leads back to the tap; point it at the backend"),
    );
    // The request that came back, refused; then the one passed on, with the 508 it got.
    let came_back: Value = serde_json::from_str(&tap.next_line()).unwrap();
    assert_eq!(came_back["status"], 508);
    assert_eq!(came_back["findings"][0]["code"], "tap-loop");
    let passed_on: Value = serde_json::from_str(&tap.next_line()).unwrap();
    assert_eq!(passed_on["backend"]["status"], 508);
    tap.stderr(format!(
        "listening on {url}\npassing every request on to {own}\n{}",
        stopped("1 request(s) passed on, 0 of them not callbacks Chat could have sent; 1 answered by the tap itself, not passed on; 2 recorded"),
        url = tap.url,
    ))
    .interrupt();
    assert_eq!(records(&record).len(), 2);
}

#[tokio::test]
async fn an_https_backend_with_its_own_certificate_is_reached_with_cacert_or_insecure() {
    let (cert, key) = self_signed("127.0.0.1", rcgen::IsCa::NoCa);
    let ok = allow();
    let backend = https_backend(&cert, &key, ok.clone());
    let dir = tempfile::tempdir().unwrap();
    let cacert = dir.path().join("cert.pem");
    std::fs::write(&cacert, cert.pem()).unwrap();
    let record = dir.path().join("events.ndjson");
    for args in [
        &["--cacert", cacert.to_str().unwrap()][..],
        &["--insecure"],
        &[],
    ] {
        let tap = tap(&backend, &record, args);
        let url = format!("{}/im?{}", tap.url, query(BEFORE, TOKEN));
        let (status, _, answer) = post(&url, &seed_body(BEFORE)).await;
        let event: Value = serde_json::from_str(&tap.next_line()).unwrap();
        if args.is_empty() {
            assert_eq!(status, 502);
            let error = event["backend"]["error"].as_str().unwrap();
            assert_starts(error, "the certificate of 127.0.0.1:");
            assert_contains(error, "is not signed by a CA this machine trusts");
        } else {
            assert_eq!(status, 200, "{args:?}: {event}");
            assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap(), ok);
            assert_eq!(event["judgement"]["accepted"], true, "{args:?}");
        }
    }
}
