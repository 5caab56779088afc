//! `send`: one callback against a wiremock backend, judged end to end.

use crate::support::{
    Expect, NOW, Output, Test, UNSIGNED, allow, allow_evidence, answer, anything, backend,
    closed_port, contains, ends, https_backend, lacks, line, refuse_jared, reject, sample_path,
    starts, timed,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

const TOKEN: &str = "s3cret-t0ken";
const QUERY: &str = "SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI";
/// The default before-subscribe body under the fixed clock, as sent: compact.
const BODY: &str = r#"{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1669872112000}"#;

fn send_to(url: &str, callback: &str, extra: &[&str]) -> Test {
    Test::new()
        .args(["send", callback, "--url", url])
        .args(extra)
}

fn send(server: &MockServer, extra: &[&str]) -> Test {
    send_to(&format!("{}/im", server.uri()), "before-subscribe", extra)
}

/// The signed query Chat appends at the fixed clock.
fn signed_query() -> String {
    format!("{QUERY}&Sign={}&RequestTime={NOW}", sign(TOKEN, NOW))
}

/// Sends a signed before-subscribe to a backend answering `response`, expecting `status` and
/// `stdout`.
async fn judged(response: ResponseTemplate, status: i32, stdout: Expect) -> Output {
    let server = backend(response).await;
    send(&server, &["--token", TOKEN])
        .status(status)
        .stdout(stdout)
        .run()
}

#[tokio::test]
async fn a_conforming_answer_passes_and_says_what_chat_does() {
    let server = backend(answer(refuse_jared())).await;
    send(&server, &["--token", TOKEN, "--expect-refused", "jared"])
        .stdout(timed(format!(
            "POST {}/im?{}\nHTTP 200 OK in _ ms: ActionStatus OK, ErrorCode 0\n✔ answer conforms\nChat subscribes leckie; refuses jared\n✔ expected exactly jared refused\nPASS\n",
            server.uri(),
            signed_query()
        )))
        .run();
}

#[tokio::test]
async fn quiet_prints_the_verdict_alone() {
    let server = backend(answer(json!({"ActionStatus": "OK", "ErrorCode": "0"}))).await;
    send(&server, &["--token", TOKEN, "-q"])
        .status(1)
        .stdout("FAIL: 2 errors\n")
        .run();
}

#[tokio::test]
async fn a_non_200_status_fails_with_the_start_of_the_body() {
    judged(ResponseTemplate::new(503).set_body_string("<html>down</html>"), 1, line("✘ status: HTTP 503 (expected 200): Chat counts any other status as a webhook failure; body: `<html>down</html>`").line("HTTP 503 Service Unavailable in "))
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_fails() {
    judged(
        ResponseTemplate::new(200).set_body_string("OK"),
        1,
        line("✘ body: the answer is not JSON ("),
    )
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_fails() {
    judged(
        answer(json!([1, 2])),
        1,
        line("✘ body: the answer is an array, not a JSON object"),
    )
    .await;
}

#[tokio::test]
async fn a_missing_field_fails() {
    judged(
        answer(json!({"ActionStatus": "OK", "ErrorCode": 0})),
        1,
        line("✘ ErrorInfo: required field is missing"),
    )
    .await;
}

#[tokio::test]
async fn error_code_as_a_string_fails() {
    judged(
        answer(json!({"ActionStatus": "OK", "ErrorCode": "0", "ErrorInfo": ""})),
        1,
        line(r#"✘ ErrorCode: is the string "0"; expected the integer 0 (no quotes)"#),
    )
    .await;
}

#[tokio::test]
async fn a_lower_case_action_status_fails() {
    judged(
        answer(json!({"ActionStatus": "ok", "ErrorCode": 0, "ErrorInfo": ""})),
        1,
        line(r#"✘ ActionStatus: is "ok"; expected "OK" or "FAIL" (upper case)"#),
    )
    .await;
}

#[tokio::test]
async fn an_undocumented_error_code_is_a_warning() {
    judged(
        answer(json!({"ActionStatus": "OK", "ErrorCode": 2, "ErrorInfo": ""})),
        0,
        line("! ErrorCode: 2 is undocumented for OfficialAccount.CallbackBeforeAddSubscriber")
            .line("Chat: undocumented: ErrorCode 2")
            .ends("PASS: 1 warning\n"),
    )
    .await;
}

#[tokio::test]
async fn refused_members_account_fails() {
    judged(answer(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedMembers_Account": ["jared"]})), 1, line("✘ RefusedMembers_Account: Chat reads RefusedSubscribers_Account").line("Chat subscribes jared, leckie"))
    .await;
}

#[tokio::test]
async fn refusing_a_user_not_in_the_request_is_a_warning() {
    judged(answer(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": ["zoe"]})), 0, line("! RefusedSubscribers_Account[0]: `zoe` was not among the request's subscribers"))
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_a_warning() {
    judged(
        answer(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "Extra": 1})),
        0,
        line("! Extra: `Extra` is not a documented answer field; Chat ignores it"),
    )
    .await;
}

#[tokio::test]
async fn refusing_on_the_after_callback_is_a_warning() {
    let server = backend(answer(refuse_jared())).await;
    let url = format!("{}/im", server.uri());
    send_to(&url, "after-unsubscribe", &["--token", TOKEN])
        .stdout(
            line("! RefusedSubscribers_Account: an after callback cannot refuse anyone; Chat ignores this field")
                .line("Chat ignores the answer (after callback)"),
        )
        .run();
}

#[tokio::test]
async fn an_answer_over_1_mib_fails_unread() {
    let huge = format!("{{\"ErrorInfo\":\"{}\"}}", "x".repeat(1 << 20));
    judged(
        ResponseTemplate::new(200).set_body_raw(huge, "application/json"),
        1,
        line("✘ body: the answer is over 1 MiB and was not read further"),
    )
    .await;
}

#[tokio::test]
async fn an_answer_later_than_2_s_fails_as_too_slow() {
    judged(answer(allow()).set_delay(Duration::from_millis(2300)), 1, line("✘ latency: answered in 2").line("Chat gives up after 2 s; the event goes ahead without your answer (subscribes jared, leckie)"))
    .await;
}

#[tokio::test]
async fn no_answer_by_the_timeout_is_a_failure_not_an_unreachable_target() {
    let server = backend(answer(allow()).set_delay(Duration::from_secs(2))).await;
    send(&server, &["--token", TOKEN, "--timeout", "500ms"])
        .status(1)
        .stdout(
            contains("\nno answer\n")
                .line("✘ latency: no answer within 500 ms (Chat would wait up to 2 s)")
                .ends("FAIL: 1 error\n"),
        )
        .run();
}

#[tokio::test]
async fn expectations_turn_the_decision_into_a_check() {
    for (answer_body, expect, code, expected) in [
        (
            allow(),
            &["--expect", "allow"][..],
            0,
            "✔ expected everyone subscribed",
        ),
        (
            refuse_jared(),
            &["--expect", "allow"],
            1,
            "✘ expected everyone subscribed, but Chat subscribes leckie; refuses jared",
        ),
        (
            reject(),
            &["--expect", "reject"],
            0,
            "✔ expected the whole request rejected",
        ),
        (
            allow(),
            &["--expect", "reject"],
            1,
            "✘ expected the whole request rejected, but Chat subscribes jared, leckie",
        ),
        (
            refuse_jared(),
            &["--expect-refused", "jared"],
            0,
            "✔ expected exactly jared refused",
        ),
        (
            allow(),
            &["--expect-refused", "jared"],
            1,
            "✘ expected exactly jared refused, but Chat subscribes jared, leckie",
        ),
    ] {
        let server = backend(answer(answer_body)).await;
        send(&server, expect)
            .status(code)
            .stdout(line(expected))
            .stderr(anything())
            .run();
    }
}

#[tokio::test]
async fn the_request_that_arrives_is_chats_signed_callback() {
    let server = backend(answer(allow())).await;
    send(&server, &["--token", TOKEN]).stdout(anything()).run();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/im");
    assert_eq!(request.url.query().unwrap(), signed_query());
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(String::from_utf8_lossy(&request.body), BODY);
}

#[tokio::test]
async fn an_existing_path_and_query_are_kept() {
    let server = backend(answer(allow())).await;
    let url = format!("{}/hooks/im?tenant=a%20b", server.uri());
    send_to(&url, "before-subscribe", &["--token", TOKEN])
        .stdout(anything())
        .run();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.url.path(), "/hooks/im");
    assert_eq!(
        request.url.query().unwrap(),
        format!("tenant=a%20b&{}", signed_query())
    );
}

#[tokio::test]
async fn no_sign_sends_no_sign_and_no_request_time() {
    let server = backend(answer(allow())).await;
    send(&server, &["--token", TOKEN, "--no-sign"])
        .stdout(anything())
        .run();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.url.query().unwrap(), QUERY);
}

#[tokio::test]
async fn without_a_token_a_note_says_the_request_is_unsigned() {
    let server = backend(answer(allow())).await;
    send(&server, &[]).stdout(anything()).stderr(UNSIGNED).run();
}

#[tokio::test]
async fn a_body_file_is_sent_byte_for_byte() {
    let server = backend(answer(allow())).await;
    let path = sample_path("before-subscribe.request.json");
    send(
        &server,
        &["--token", TOKEN, "--body", path.to_str().unwrap()],
    )
    .stdout(anything())
    .run();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.body, std::fs::read(&path).unwrap());
}

#[tokio::test]
async fn verbose_prints_the_request_and_the_answer_as_exchanged() {
    let server = backend(answer(allow())).await;
    let port = server.address().port();
    let run = send(&server, &["--token", TOKEN, "-v"])
        .stdout(
            starts(format!(
                "POST /im?{} HTTP/1.1\nhost: 127.0.0.1:{port}\ncontent-type: application/json\nuser-agent: oa-hook/{}\naccept: */*\ncontent-length: {}\n\n{BODY}\n\nHTTP/1.1 200 OK\n",
                signed_query(),
                env!("CARGO_PKG_VERSION"),
                BODY.len()
            ))
            .contains(format!("\n\n{}\n\nHTTP 200 OK in ", allow())),
        )
        .run();
    // The headers printed are the ones that arrived, all of them.
    let request = &server.received_requests().await.unwrap()[0];
    let mut arrived: Vec<String> = request
        .headers
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
        .collect();
    arrived.sort();
    let head = run.stdout.split("\n\n").next().unwrap();
    let mut printed: Vec<String> = head.lines().skip(1).map(str::to_owned).collect();
    printed.sort();
    assert_eq!(printed, arrived);
}

#[tokio::test]
async fn the_json_document_is_pinned() {
    let server = backend(answer(refuse_jared())).await;
    let run = send(
        &server,
        &[
            "--token", TOKEN, "--expect", "reject", "--output", "json", "--color", "always",
        ],
    )
    .status(1)
    .stdout(lacks("\x1b"))
    .run();
    let mut document = run.json();
    let response = &mut document["response"];
    assert!(response["latency_ms"].as_f64().unwrap() > 0.0);
    response.as_object_mut().unwrap().remove("latency_ms");
    response["headers"].as_object_mut().unwrap().remove("date");
    assert_eq!(
        document,
        json!({
            "request": {
                "method": "POST",
                "url": format!("{}/im?{}", server.uri(), signed_query()),
                "headers": {
                    "host": server.address().to_string(),
                    "content-type": "application/json",
                    "user-agent": concat!("oa-hook/", env!("CARGO_PKG_VERSION")),
                    "accept": "*/*",
                    "content-length": BODY.len().to_string(),
                },
                "body": serde_json::from_str::<Value>(BODY).unwrap(),
            },
            "response": {
                "status": 200,
                "headers": {
                    "content-type": "application/json",
                    "content-length": refuse_jared().to_string().len().to_string(),
                },
                "body": refuse_jared(),
                "truncated": false,
            },
            "request_findings": [],
            "findings": [],
            "evidence": allow_evidence(),
            "decision": {
                "kind": "subscribes",
                "subscribed": ["leckie"],
                "refused": ["jared"],
                "summary": "subscribes leckie; refuses jared",
            },
            "expectation": {"expected": "the whole request rejected", "met": false},
            "verdict": "fail",
        })
    );
}

#[tokio::test]
async fn a_json_document_reports_findings_and_a_missing_answer() {
    let server = backend(answer(allow()).set_delay(Duration::from_secs(2))).await;
    let document = send(
        &server,
        &["--token", TOKEN, "--timeout", "300ms", "-o", "json"],
    )
    .status(1)
    .run_json();
    assert_eq!(document["response"], Value::Null);
    assert_eq!(
        document["findings"],
        json!([{"severity": "error", "code": "timeout", "path": "latency", "message": "no answer within 300 ms (Chat would wait up to 2 s)"}])
    );
    assert_eq!(document["decision"]["kind"], "undocumented");
    assert_eq!(document["expectation"], Value::Null);
    assert_eq!(document["verdict"], "fail");
}

#[tokio::test]
async fn the_token_is_never_printed() {
    let server = backend(answer(json!({"ActionStatus": "ok"}))).await;
    let url = format!("{}/im", server.uri());
    for extra in [
        &[][..],
        &["-v"],
        &["-o", "json"],
        &["-n", "3", "-c", "2"],
        &["-n", "3", "-o", "json"],
    ] {
        send_to(&url, "before-subscribe", extra)
            .env("OA_HOOK_TOKEN", TOKEN)
            .status(1)
            .stdout(lacks(TOKEN))
            .stderr(lacks(TOKEN))
            .run();
    }
    let port = closed_port();
    send_to(
        &format!("http://127.0.0.1:{port}/im"),
        "before-subscribe",
        &["--token", TOKEN],
    )
    .status(3)
    .stderr(format!(
        "oa-hook: error: connection refused at 127.0.0.1:{port}\n  hint: is the backend running and listening on that port?\n"
    ))
    .run();
}

#[test]
fn an_unreachable_backend_exits_3_with_what_to_do() {
    let port = closed_port();
    send_to(
        &format!("http://127.0.0.1:{port}/im"),
        "before-subscribe",
        &["--no-sign"],
    )
    .status(3)
    .stderr(format!(
        "oa-hook: error: connection refused at 127.0.0.1:{port}\n  hint: is the backend running and listening on that port?\n"
    ))
    .run();
}

#[test]
fn bad_input_exits_2() {
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    send_to(
        &url,
        "before-subscribe",
        &["--body", "/nonexistent/body.json"],
    )
    .status(2)
    .stderr(
        starts("oa-hook: error: cannot read --body /nonexistent/body.json: ")
            .contains("\n  hint: "),
    )
    .run();
    send_to("localhost:3000", "before-subscribe", &[])
        .status(2)
        .stderr(contains("did you mean http://localhost:3000/?"))
        .run();
    send_to(&url, "before-subscribe", &["--rate", "10"])
        .status(2)
        .stderr(contains(
            "oa-hook: error: --concurrency and --rate are for load mode\n  hint: add --count N or --duration D",
        ))
        .run();
}

#[test]
fn https_with_a_self_signed_certificate() {
    let (url, pem) = tls_backend();
    send_to(&url, "before-subscribe", &["--no-sign"])
        .status(3)
        .stderr(
            starts(format!(
                "oa-hook: error: the certificate of {} ",
                url.trim_start_matches("https://").trim_end_matches("/im")
            ))
            .contains("hint: for a self-signed backend pass --cacert FILE with its certificate (or the CA that signed it) as PEM, or --insecure"),
        )
        .run();
    let cacert = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cacert.path(), pem).unwrap();
    send_to(
        &url,
        "before-subscribe",
        &["--no-sign", "--cacert", cacert.path().to_str().unwrap()],
    )
    .stdout(ends("PASS\n"))
    .run();
    send_to(&url, "before-subscribe", &["--no-sign", "--insecure"])
        .stdout(anything())
        .run();
}

#[test]
fn load_mode_over_https_goes_through_the_tls_client() {
    let (url, _) = tls_backend();
    send_to(&url, "before-subscribe", &["--no-sign", "-n", "4"])
        .status(3)
        .stderr(contains("the certificate of 127.0.0.1:"))
        .run();
    let document = send_to(
        &url,
        "before-subscribe",
        &[
            "--no-sign",
            "--insecure",
            "-n",
            "6",
            "-c",
            "2",
            "-o",
            "json",
        ],
    )
    .run_json();
    assert_eq!(
        (&document["requests"], &document["conforming"]),
        (&json!(6), &json!(6))
    );
}

/// An https backend on loopback with a fresh self-signed certificate for 127.0.0.1, answering
/// every request with a conforming answer. Returns its URL and the certificate (PEM).
fn tls_backend() -> (String, String) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let url = https_backend(&cert, &signing_key, allow());
    (url, cert.pem())
}

#[tokio::test]
async fn the_backends_error_info_is_shown_next_to_the_decision() {
    let wrong = json!({"ActionStatus": "OK", "ErrorInfo": "wrong signature", "ErrorCode": 1});
    judged(
        answer(wrong),
        0,
        line(r#"Chat rejects the whole request (ErrorCode 1); ErrorInfo "wrong signature""#)
            .line(r#"HTTP 200 OK in "#)
            .contains(
                r#" ms: ActionStatus OK, ErrorCode 1, ErrorInfo "wrong signature"
"#,
            ),
    )
    .await;
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_described_as_received() {
    let denied = ResponseTemplate::new(200).set_body_string("denied");
    let not_json = line("✘ body: the answer is not JSON");
    judged(
        denied,
        1,
        not_json
            .clone()
            .contains(" ms: body is not JSON: `denied`\n")
            .lacks("ActionStatus OK"),
    )
    .await;
    let empty = ResponseTemplate::new(200);
    judged(empty, 1, not_json.contains(" ms: empty body\n")).await;
}

#[tokio::test]
async fn load_mode_failure_groups_quote_the_error_info() {
    let server = backend(answer(reject())).await;
    send(&server, &["--token", TOKEN, "--expect", "allow", "-n", "3"])
        .status(1)
        .stdout(contains(
            r#"✘ expectation in 3 answers: expected everyone subscribed, but Chat rejects the whole request (ErrorCode 1); ErrorInfo "closed""#,
        ))
        .run();
}

#[tokio::test]
async fn a_body_for_another_command_is_pointed_out() {
    let server = backend(answer(allow())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("after.json");
    std::fs::write(
        &path,
        BODY.replace(
            "CallbackBeforeAddSubscriber",
            "CallbackAfterDeleteSubscriber",
        ),
    )
    .unwrap();
    send(
        &server,
        &["--token", TOKEN, "--body", path.to_str().unwrap()],
    )
    .stdout(line(
        "! sent CallbackCommand: the body says `OfficialAccount.CallbackAfterDeleteSubscriber` but the query says `OfficialAccount.CallbackBeforeAddSubscriber`; Chat never sends that",
    ))
    .run();
}
