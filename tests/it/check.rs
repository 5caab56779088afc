//! `oa-hook check` against wiremock backends with known flaws: each must fail exactly the cases
//! its flaw breaks and pass the rest.

use crate::support::{
    NOW, Test, allow, allow_evidence, anything, assert_contains, assert_message, case, closed_port,
    contains, ends, first_element, starts,
};
use oa_hook::protocol::{ReceivedQuery, verify};
use serde_json::{Value, json};
use std::io::{BufRead, Read, Write};
use std::time::Duration;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "check-token";
const APPID: &str = "1400000000";

/// A backend with switches for the mistakes public receivers make.
#[derive(Clone)]
struct Backend {
    checks_sdkappid: bool,
    /// Checks SdkAppid only when the query has one.
    lets_sdkappid_be_missing: bool,
    checks_sign: bool,
    freshness_window: Duration,
    slow_before: Option<Duration>,
    /// Refuses a bad Sign only after this long.
    slow_refusal: Option<Duration>,
    malformed_status: u16,
    connection_close: bool,
    /// Answers 401 FAIL to everything, genuine or not.
    refuses_everything: bool,
    /// Handles the Official Account commands; without, they are commands it does not know.
    knows_official_account: bool,
    /// Answers 200 FAIL/1 with this ErrorInfo to commands it does not know, as one public Go
    /// receiver does.
    fails_unknown_commands: Option<&'static str>,
    /// Answers HTTP 500 (its framework's error page) to a callback without Sign.
    crashes_without_sign: bool,
    /// Answers what passes its checks with HTTP 200 and this body instead of JSON.
    raw_answer: Option<&'static str>,
    /// Rejects every before-subscribe (ErrorCode 1) with this ErrorInfo.
    rejects_with: Option<&'static str>,
}

impl Default for Backend {
    fn default() -> Self {
        Backend {
            checks_sdkappid: true,
            lets_sdkappid_be_missing: false,
            checks_sign: true,
            freshness_window: Duration::from_secs(60),
            slow_before: None,
            slow_refusal: None,
            malformed_status: 400,
            connection_close: false,
            refuses_everything: false,
            knows_official_account: true,
            fails_unknown_commands: None,
            crashes_without_sign: false,
            raw_answer: None,
            rejects_with: None,
        }
    }
}

fn fail(status: u16, why: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"ActionStatus": "FAIL", "ErrorCode": 1, "ErrorInfo": why}))
}

impl Respond for Backend {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = ReceivedQuery::parse(request.url.query().unwrap_or_default());
        if self.refuses_everything {
            return fail(401, "nope");
        }
        let command = query.get("CallbackCommand").unwrap_or_default();
        let known = command.starts_with("OfficialAccount.") && self.knows_official_account;
        if let (Some(why), false) = (self.fails_unknown_commands, known) {
            return fail(200, why);
        }
        let sdkappid = query.get("SdkAppid");
        let missing = sdkappid.is_none() && self.lets_sdkappid_be_missing;
        if self.checks_sdkappid && sdkappid != Some(APPID) && !missing {
            return fail(403, "wrong SdkAppid");
        }
        if self.crashes_without_sign && query.get("Sign").is_none() {
            return ResponseTemplate::new(500).set_body_string("Internal Server Error");
        }
        if self.checks_sign
            && verify(
                TOKEN,
                query.get("Sign"),
                query.get("RequestTime"),
                NOW,
                self.freshness_window,
            )
            .is_err()
        {
            let refusal = fail(401, "bad signature");
            return match self.slow_refusal {
                Some(delay) => refusal.set_delay(delay),
                None => refusal,
            };
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return fail(self.malformed_status, "not JSON");
        };
        if let Some(raw) = self.raw_answer {
            return ResponseTemplate::new(200).set_body_string(raw);
        }
        let before = command == "OfficialAccount.CallbackBeforeAddSubscriber";
        if let (true, Some(info)) = (before, self.rejects_with) {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"ActionStatus": "OK", "ErrorInfo": info, "ErrorCode": 1}));
        }
        let mut answer = allow();
        let users: Vec<&str> = body["SubscribeAccountList"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["Subscriber_Account"].as_str())
            .collect();
        if before && users.contains(&"jared") {
            answer["RefusedSubscribers_Account"] = json!(["jared"]);
        }
        let mut response = ResponseTemplate::new(200).set_body_json(answer);
        if let (true, Some(delay)) = (before, self.slow_before) {
            response = response.set_delay(delay);
        }
        if self.connection_close {
            response = response.insert_header("connection", "close");
        }
        response
    }
}

/// A backend on loopback that makes none of the mistakes.
async fn correct() -> MockServer {
    flawed(|_| {}).await
}

/// A backend on loopback with the default switches, then `flaw` applied to them.
async fn flawed(flaw: impl FnOnce(&mut Backend)) -> MockServer {
    let mut backend = Backend::default();
    flaw(&mut backend);
    crate::support::backend(backend).await
}

/// `check --token TOKEN` of a backend with `flaw`, which fails it (exit 1): the status of
/// each case, and the report.
async fn fails_with(flaw: impl FnOnce(&mut Backend)) -> (Vec<(String, String)>, Value) {
    let server = flawed(flaw).await;
    check(&server, &["--token", TOKEN], 1).await
}

/// `check --url <server>/im ARGS`.
fn check_test(server: &MockServer, args: &[&str]) -> Test {
    Test::new()
        .args(["check", "--url", &format!("{}/im", server.uri())])
        .args(args)
}

/// What `check --sdkappid APPID --token TOKEN` says on stderr before its report.
fn header(server: &MockServer) -> String {
    format!(
        "oa-hook check {}/im (SdkAppid {APPID}, signed)\n",
        server.uri()
    )
}

/// Runs `check --output json ARGS`, expecting exit `status` and nothing on stderr, and returns
/// each case's status by id and the report.
async fn check(server: &MockServer, extra: &[&str], status: i32) -> (Vec<(String, String)>, Value) {
    let test = check_test(server, &["--sdkappid", APPID, "--output", "json"])
        .args(extra)
        .status(status)
        .stdout(anything());
    let report = test.run_off_runtime().await.json();
    let statuses = crate::support::statuses(&report);
    // Whatever failed or warned says why with a finding whose code reports name it by.
    for (id, status) in &statuses {
        if status == "fail" || status == "warn" {
            let code = &case(&report, id)["findings"][0]["code"];
            assert!(code.is_string(), "{id} has no finding code: {report:#}");
        }
    }
    (statuses, report)
}

/// [`check`] writing `--junit` too, and the XML it wrote.
async fn check_with_junit(
    server: &MockServer,
    extra: &[&str],
    status: i32,
) -> (Vec<(String, String)>, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let junit = junit.to_str().unwrap();
    let (statuses, report) = check(server, &[extra, &["--junit", junit]].concat(), status).await;
    let xml = std::fs::read_to_string(junit).unwrap();
    (statuses, report, xml)
}

/// Every case passes except those named, which have the given status.
fn expect_statuses(statuses: &[(String, String)], exceptions: &[(&str, &str)]) {
    for (id, status) in statuses {
        let expected = exceptions
            .iter()
            .find(|(i, _)| i == id)
            .map_or("pass", |(_, s)| s);
        assert_eq!(status, expected, "case {id}: {statuses:?}");
    }
    assert_eq!(statuses.len(), 14);
}

#[tokio::test]
async fn a_correct_backend_passes_everything() {
    let server = correct().await;
    let (statuses, _) = check(&server, &["--token", TOKEN, "--expect-refused", "jared"], 0).await;
    expect_statuses(&statuses, &[]);
}

#[tokio::test]
async fn a_backend_that_checks_no_signature_fails_the_signature_cases() {
    let (statuses, report) = fails_with(|b| b.checks_sign = false).await;
    expect_statuses(
        &statuses,
        &[
            ("before-subscribe/decision", "skip"),
            ("security/bad-sign", "fail"),
            ("security/missing-sign", "fail"),
            ("security/stale-request-time", "fail"),
            ("security/future-request-time", "fail"),
            ("security/window", "warn"),
        ],
    );
    let bad_sign = case(&report, "security/bad-sign");
    assert_eq!(
        bad_sign["message"],
        "accepted a Sign made with another token: HTTP 200, ActionStatus OK, ErrorCode 0; answer a non-200 status, ActionStatus FAIL or ErrorCode 1"
    );
    assert_eq!(bad_sign["evidence"]["status"], 200);
    assert_eq!(bad_sign["findings"][0]["code"], "accepted-bad-sign");
}

#[tokio::test]
async fn a_backend_without_a_freshness_window_fails_the_replay_cases() {
    let server = flawed(|b| b.freshness_window = Duration::MAX).await;
    let (statuses, _) = check(
        &server,
        &["--token", TOKEN, "--expect", "allow", "--subscriber", "amy"],
        1,
    )
    .await;
    expect_statuses(
        &statuses,
        &[
            ("security/stale-request-time", "fail"),
            ("security/future-request-time", "fail"),
            ("security/window", "warn"),
        ],
    );
}

#[tokio::test]
async fn a_backend_that_ignores_sdkappid_fails_that_case() {
    let server = flawed(|b| b.checks_sdkappid = false).await;
    let (statuses, _) = check(&server, &["--token", TOKEN, "--expect-refused", "jared"], 1).await;
    expect_statuses(
        &statuses,
        &[
            ("security/wrong-sdkappid", "fail"),
            ("security/missing-sdkappid", "fail"),
        ],
    );
}

#[tokio::test]
async fn a_slow_backend_fails_the_answer_cases() {
    let server = flawed(|b| b.slow_before = Some(Duration::from_millis(2300))).await;
    let (statuses, report) = check(
        &server,
        &[
            "--token",
            TOKEN,
            "--skip",
            "keep-alive",
            "--skip",
            "decision",
            "--skip",
            "security",
        ],
        1,
    )
    .await;
    assert_eq!(
        statuses,
        [
            ("before-subscribe/answer", "fail"),
            ("before-subscribe/batch-100", "fail"),
            ("after-unsubscribe/answer", "pass"),
            ("robustness/malformed-body", "pass"),
            ("robustness/other-command", "pass"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let answer = case(&report, "before-subscribe/answer");
    assert_eq!(answer["findings"][0]["code"], "too-slow");
    assert_message(answer, contains("Chat gives up after 2 s"));
}

#[tokio::test]
async fn a_server_error_on_malformed_json_is_a_warning() {
    let server = flawed(|b| b.malformed_status = 500).await;
    let (statuses, report) = check(&server, &["--token", TOKEN], 0).await;
    expect_statuses(
        &statuses,
        &[
            ("before-subscribe/decision", "skip"),
            ("robustness/malformed-body", "warn"),
        ],
    );
    assert_eq!(
        report["summary"],
        json!({"passed": 12, "failed": 0, "warned": 1, "skipped": 1, "total": 14})
    );
    assert_eq!(
        case(&report, "robustness/malformed-body")["findings"][0]["code"],
        "server-error"
    );
}

/// Chat still gets its answers from a backend that takes one callback per connection, each
/// over a new connection: worth a warning, not a failure.
#[tokio::test]
async fn a_backend_that_closes_connections_warns_on_keep_alive() {
    let server = flawed(|b| b.connection_close = true).await;
    let (statuses, report) = check(&server, &["--token", TOKEN, "--only", "keep-alive"], 0).await;
    assert_eq!(
        statuses,
        [("robustness/keep-alive".to_owned(), "warn".to_owned())]
    );
    let keep_alive = case(&report, "robustness/keep-alive");
    assert_eq!(keep_alive["findings"][0]["code"], "no-keep-alive");
    assert_eq!(
        keep_alive["message"],
        "callback 1 of 20 was answered with `Connection: close`: each callback then waits for a new connection, out of Chat's 2 s"
    );
}

/// A backend that closes the connection after each answer without saying so, as `php -S`
/// does: the next callback on that connection fails, and on a new one gets its answer.
#[test]
fn a_backend_that_closes_connections_unannounced_warns_on_keep_alive() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/im", listener.local_addr().unwrap());
    // Bound before the thread starts, so connections queue until it accepts.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
            // Dropped: the connection closes.
        }
    });
    let report = Test::new()
        .args([
            "check",
            "--url",
            &url,
            "--only",
            "keep-alive",
            "--output",
            "json",
        ])
        .run_json();
    let keep_alive = case(&report, "robustness/keep-alive");
    assert_eq!(keep_alive["status"], "warn", "{keep_alive:#}");
    assert_eq!(keep_alive["findings"][0]["code"], "no-keep-alive");
    assert_message(
        keep_alive,
        contains("the backend closed the connection after an answer: callback 2 of 20 on the kept connection: ").contains("; on a new connection it got a conforming answer: each callback then waits for a new connection"),
    );
}

#[tokio::test]
async fn without_a_token_the_signature_cases_are_skipped_with_a_note() {
    let server = flawed(|b| b.checks_sign = false).await;
    let (statuses, report) = check(&server, &[], 0).await;
    expect_statuses(
        &statuses,
        &[
            ("before-subscribe/decision", "skip"),
            ("security/bad-sign", "skip"),
            ("security/missing-sign", "skip"),
            ("security/stale-request-time", "skip"),
            ("security/future-request-time", "skip"),
            ("security/window", "skip"),
        ],
    );
    assert_message(case(&report, "security/bad-sign"), contains("pass --token"));
}

#[tokio::test]
async fn the_json_report_shape_is_pinned() {
    let server = correct().await;
    let (_, report) = check(
        &server,
        &["--token", TOKEN, "--only", "before-subscribe/answer"],
        0,
    )
    .await;
    let mut evidence = allow_evidence();
    evidence["latency_ms"] = Value::Null;
    let mut case = case(&report, "before-subscribe/answer").clone();
    let latency = case["evidence"]["latency_ms"].take();
    assert!(latency.as_f64().unwrap() >= 0.0);
    // To the microsecond, as send reports it.
    let decimals = latency
        .to_string()
        .split_once('.')
        .map_or(0, |(_, d)| d.len());
    assert!(decimals <= 3, "{latency}");
    assert_eq!(
        report.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["target", "verdict", "summary", "cases", "went_ahead"]
    );
    assert_eq!(report["target"], format!("{}/im", server.uri()));
    assert_eq!(report["verdict"], "pass");
    assert_eq!(
        report["went_ahead"],
        json!({"before_callbacks": 1, "count": 0, "percent": 0.0})
    );
    assert_eq!(
        case,
        json!({
            "id": "before-subscribe/answer",
            "description": "a plain signed before-subscribe callback gets a conforming answer within 2 s",
            "status": "pass",
            "message": "conforming answer; Chat subscribes leckie; refuses jared",
            "findings": [],
            "evidence": evidence,
        })
    );
}

#[tokio::test]
async fn the_junit_report_has_the_failures_and_skips() {
    let server = flawed(|b| b.checks_sign = false).await;
    let (_, _, xml) = check_with_junit(&server, &["--token", TOKEN], 1).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(
        suites,
        [
            "before-subscribe",
            "after-unsubscribe",
            "security",
            "robustness"
        ]
    );
    let outcome = |id: &str| {
        let case = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(id))
            .unwrap_or_else(|| panic!("no testcase {id}"));
        case.children().find(|c| c.is_element()).map(|c| {
            (
                c.tag_name().name().to_owned(),
                c.attribute("message").unwrap_or_default().to_owned(),
            )
        })
    };
    assert_eq!(outcome("before-subscribe/answer"), None);
    let (tag, message) = outcome("security/bad-sign").unwrap();
    assert_eq!(tag, "failure");
    assert!(message.starts_with("accepted a Sign made with another token"));
    let (tag, message) = outcome("before-subscribe/decision").unwrap();
    assert_eq!(
        (tag.as_str(), message.contains("--expect")),
        ("skipped", true)
    );
    let security = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("security"))
        .unwrap();
    assert_eq!(security.attribute("failures"), Some("4"));
    assert!(!xml.contains(TOKEN) && !xml.contains('\u{1b}'));
}

#[tokio::test]
async fn one_case_is_counted_in_the_singular_and_quiet_leaves_out_the_header() {
    let server = correct().await;
    let test = check_test(&server, &["--sdkappid", APPID, "--token", TOKEN])
        .args(["--only", "before-subscribe/answer", "-q"])
        .stdout(ends(
            "\n1 case: 1 passed, 0 failed, 0 warned, 0 skipped\nPASS\n",
        ));
    test.run_off_runtime().await;
}

#[tokio::test]
async fn the_human_report_lists_every_case_and_the_verdict() {
    let server = flawed(|b| b.checks_sign = false).await;
    let test = check_test(&server, &["--sdkappid", APPID, "--token", TOKEN])
        .status(1)
        .stdout(
            contains("✘ security/bad-sign ")
                .contains("✔ before-subscribe/answer ")
                .contains("- before-subscribe/decision ")
                .ends("14 cases: 8 passed, 4 failed, 1 warned, 1 skipped\nFAIL\n")
                .lacks("\u{1b}")
                .lacks(TOKEN),
        )
        .stderr(header(&server));
    test.run_off_runtime().await;
}

#[test]
fn an_unreachable_backend_stops_with_exit_3_whichever_case_finds_it() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/im");
    let refused = format!("oa-hook: error: connection refused at 127.0.0.1:{port}");
    Test::new()
        .args(["check", "--url", &url])
        .status(3)
        .stderr(contains(refused.as_str()))
        .run();
    let ids = [
        "before-subscribe/answer",
        "before-subscribe/batch-100",
        "before-subscribe/decision",
        "after-unsubscribe/answer",
        "security/wrong-sdkappid",
        "security/bad-sign",
        "security/missing-sign",
        "security/stale-request-time",
        "security/future-request-time",
        "security/missing-sdkappid",
        "security/window",
        "robustness/keep-alive",
        "robustness/malformed-body",
        "robustness/other-command",
    ];
    for id in ids {
        Test::new()
            .args(["check", "--url", &url, "--token", TOKEN])
            .args(["--expect", "allow", "--only", id])
            .status(3)
            .stderr(contains(refused.as_str()))
            .run();
    }
}

#[test]
fn keep_alive_on_its_own_connection_finds_an_unreachable_backend_the_same_way() {
    let port = closed_port();
    Test::new()
        .args(["check", "--only", "keep-alive", "--url"])
        .arg(format!("http://127.0.0.1:{port}/im"))
        .status(3)
        .stderr(ends(format!(
            "oa-hook: error: connection refused at 127.0.0.1:{port}\n  hint: is the backend running and listening on that port?\n"
        )))
        .run();
}

#[test]
fn list_only_and_skip() {
    Test::new()
        .args(["check", "--list", "--only", "security", "--skip", "stale"])
        .stdout(
            "security/wrong-sdkappid       a correctly signed callback for another SdkAppid is not accepted\n\
             security/missing-sdkappid     a correctly signed callback without the SdkAppid parameter is not accepted\n\
             security/bad-sign             a callback whose Sign was made with another token is not accepted\n\
             security/missing-sign         a callback without Sign and RequestTime is not accepted\n\
             security/future-request-time  a correctly signed callback with a RequestTime 10 minutes ahead is not accepted\n\
             security/window               a correctly signed callback with a RequestTime 90 s old, or 90 s ahead, is not accepted: Tencent's guidance is 1 minute (a warning otherwise)\n",
        )
        .run();
    Test::new()
        .args(["check", "--url", "http://127.0.0.1:9/"])
        .args(["--only", "nothing-matches"])
        .status(2)
        .stderr(contains("--only/--skip left no case to run"))
        .run();
    Test::new()
        .arg("check")
        .status(2)
        .stderr(contains("oa-hook: error: --url is required"))
        .run();
}

#[test]
fn oa_hooks_own_serve_passes_its_own_check() {
    let serve = Test::serve()
        .args(["--token", TOKEN, "--sdkappid", APPID, "--refuse", "jared"])
        .start();
    let report = Test::new()
        .args(["check", "--url", &format!("{}/im", serve.url)])
        .args(["--sdkappid", APPID, "--output", "json"])
        .args(["--token", TOKEN, "--expect-refused", "jared"])
        .run_json();
    assert_eq!(
        report["summary"],
        json!({"passed": 14, "failed": 0, "warned": 0, "skipped": 0, "total": 14}),
        "{report:#}"
    );
}

const SECURITY: [&str; 7] = [
    "security/wrong-sdkappid",
    "security/missing-sdkappid",
    "security/bad-sign",
    "security/missing-sign",
    "security/stale-request-time",
    "security/future-request-time",
    "security/window",
];

/// Every security case is inconclusive: a failure that shows the control's answer, `control`,
/// and whose message starts with `cause` and goes on to say `remedy`.
fn assert_inconclusive(report: &Value, control: &str, cause: &str, remedy: &str) {
    for id in SECURITY {
        let case = case(report, id);
        assert_eq!(case["status"], "fail", "{id}: {case:#}");
        assert_eq!(case["findings"][0]["code"], "inconclusive", "{id}");
        let message = case["message"].as_str().unwrap();
        assert!(message.starts_with(cause), "{id}: {message}");
        assert_contains(message, remedy);
        assert_eq!(case["control"]["summary"], control, "{id}");
    }
}

/// The control refused with words that are not about the command or the answer's shape: the
/// values it was sent with are what to change.
fn assert_values_refused(report: &Value, control: &str) {
    assert_inconclusive(
        report,
        control,
        &format!("inconclusive: the genuine callback was refused too: {control}, so refusing "),
        &format!(
            "; make the backend accept a genuine callback (it was sent with --sdkappid {APPID}, "
        ),
    );
}

/// The control refused with words that say the command is not handled: run with another
/// --command, or answer such callbacks OK.
fn assert_unhandled(report: &Value, control: &str) {
    assert_inconclusive(
        report,
        control,
        &format!(
            "inconclusive: the genuine callback was refused too: {control}, which says OfficialAccount.CallbackBeforeAddSubscriber is not handled, so refusing "
        ),
        r#"; pass --command with a callback the backend handles, or answer every authentic callback it does not handle with HTTP 200 {"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}: Chat sends every callback of an app to one URL"#,
    );
}

#[tokio::test]
async fn a_backend_that_refuses_everything_is_inconclusive_never_secure() {
    let (_, report) = fails_with(|b| b.refuses_everything = true).await;
    assert_values_refused(
        &report,
        r#"HTTP 401, ActionStatus FAIL, ErrorCode 1, ErrorInfo "nope""#,
    );
    assert_eq!(
        case(&report, "security/bad-sign")["evidence"]["status"],
        401
    );
    assert_eq!(case(&report, "robustness/other-command")["status"], "warn");
}

/// One public Go receiver checks no Sign and answers FAIL/1 to every command it does not know.
#[tokio::test]
async fn a_receiver_that_checks_nothing_and_fails_unknown_commands_is_not_passed() {
    let (_, report) = fails_with(|b| {
        b.checks_sign = false;
        b.knows_official_account = false;
        b.fails_unknown_commands = Some("unknown command");
    })
    .await;
    let said = r#"HTTP 200, ActionStatus FAIL, ErrorCode 1, ErrorInfo "unknown command""#;
    assert_unhandled(&report, said);
    assert_eq!(
        case(&report, "before-subscribe/answer")["message"],
        r#"conforming answer; Chat rejects the whole request (ErrorCode 1); ErrorInfo "unknown command""#
    );
    let other = case(&report, "robustness/other-command");
    assert_eq!(other["status"], "warn");
    assert!(
        other["message"].as_str().unwrap().starts_with(&format!(
            "State.StateChange got {said}; Chat sends every callback of an app to one URL"
        )),
        "{other:#}"
    );
}

#[test]
fn serve_fail_without_a_token_is_not_passed_as_secure() {
    let serve = Test::serve().args(["--fail"]).start();
    let report = Test::new()
        .args(["check", "--url", &format!("{}/im", serve.url)])
        .args(["--only", "security", "--output", "json"])
        .status(1)
        .run_json();
    let wrong_sdkappid = case(&report, "security/wrong-sdkappid");
    assert_eq!(wrong_sdkappid["status"], "fail");
    assert_eq!(wrong_sdkappid["findings"][0]["code"], "inconclusive");
    assert_eq!(
        wrong_sdkappid["control"]["ErrorInfo"],
        "oa-hook serve --fail: failing on purpose"
    );
    assert_eq!(report["summary"]["passed"], 0);
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_described_as_received() {
    for (raw, said) in [
        ("denied", "HTTP 200, body is not JSON: `denied`"),
        ("", "HTTP 200, empty body"),
    ] {
        let (_, report) = fails_with(|b| b.raw_answer = Some(raw)).await;
        let answer = case(&report, "before-subscribe/answer");
        assert_eq!(answer["status"], "fail");
        assert_eq!(answer["evidence"]["summary"], said);
        assert_eq!(
            answer["evidence"]["body"],
            if raw.is_empty() { "empty" } else { "not-json" }
        );
        assert_inconclusive(
            &report,
            said,
            "inconclusive: the genuine callback got an answer that does not conform (body: the answer is not JSON (",
            "; the security cases need a conforming answer to a genuine callback first (see before-subscribe/answer)",
        );
        assert!(
            !report.to_string().contains("ActionStatus OK"),
            "{report:#}"
        );
    }
}

#[tokio::test]
async fn the_backends_error_info_is_shown_next_to_the_decision() {
    let server = flawed(|b| b.rejects_with = Some("wrong signature")).await;
    let (_, report) = check(
        &server,
        &[
            "--token",
            TOKEN,
            "--expect",
            "allow",
            "--only",
            "before-subscribe",
        ],
        1,
    )
    .await;
    assert_eq!(
        case(&report, "before-subscribe/answer")["message"],
        r#"conforming answer; Chat rejects the whole request (ErrorCode 1); ErrorInfo "wrong signature""#
    );
    assert_eq!(
        case(&report, "before-subscribe/decision")["message"],
        r#"decision: expected everyone subscribed, but Chat rejects the whole request (ErrorCode 1); ErrorInfo "wrong signature""#
    );
}

#[tokio::test]
async fn a_genuine_control_accepted_and_the_forgery_refused_passes_with_both_answers() {
    let server = correct().await;
    let (_, report) = check(&server, &["--token", TOKEN, "--only", "bad-sign"], 0).await;
    let bad_sign = case(&report, "security/bad-sign");
    assert_eq!(
        bad_sign["message"],
        r#"refused a Sign made with another token: HTTP 401, ActionStatus FAIL, ErrorCode 1, ErrorInfo "bad signature"; the genuine callback was accepted: HTTP 200, ActionStatus OK, ErrorCode 0"#
    );
    assert_eq!(bad_sign["control"]["status"], 200);
    // Both were sent in this run: the control genuinely signed, the forgery not.
    let requests = server.received_requests().await.unwrap();
    let signs: Vec<bool> = requests
        .iter()
        .map(|r| {
            let query = ReceivedQuery::parse(r.url.query().unwrap_or_default());
            verify(
                TOKEN,
                query.get("Sign"),
                query.get("RequestTime"),
                NOW,
                Duration::from_secs(60),
            )
            .is_ok()
        })
        .collect();
    assert_eq!(signs, [true, false]);
}

#[tokio::test]
async fn an_unwritable_junit_path_is_refused_before_anything_is_sent() {
    let server = correct().await;
    let test = check_test(&server, &["--junit", "/nonexistent-dir/report.xml"])
        .status(2)
        .stderr(contains("cannot write --junit /nonexistent-dir/report.xml"));
    test.run_off_runtime().await;
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn an_unreachable_backend_still_gets_a_junit_report_with_an_error() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    Test::new()
        .args(["check", "--url", &format!("http://127.0.0.1:{port}/im")])
        .args(["--junit", junit.to_str().unwrap()])
        .status(3)
        .stderr(anything())
        .run();
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = first_element(&doc, "testcase");
    assert_eq!(case.attribute("name"), Some("before-subscribe/answer"));
    let error = case.children().find(|c| c.is_element()).unwrap();
    assert_eq!(error.tag_name().name(), "error");
    assert_eq!(
        error.attribute("message"),
        Some(
            format!("the target could not be reached: connection refused at 127.0.0.1:{port}")
                .as_str()
        )
    );
}

#[tokio::test]
async fn verbose_prints_every_request_and_answer_of_every_case() {
    let server = correct().await;
    let test = check_test(&server, &["--sdkappid", APPID, "--token", TOKEN, "-v"])
        .args(["--only", "security/bad-sign", "--only", "after-unsubscribe"])
        .stdout(
            contains("    user-agent: oa-hook/")
                .contains("    answer: HTTP 401, ActionStatus FAIL")
                .contains("    control: HTTP 200, ActionStatus OK"),
        )
        .stderr(header(&server));
    let run = test.run_off_runtime().await;
    let requests = run.stdout.matches("    POST /im?SdkAppid=").count();
    let answers = run.stdout.matches("    HTTP/1.1 ").count();
    assert_eq!((requests, answers), (3, 3), "{}", run.stdout);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A refusal after Chat's 2 s refuses nothing: Chat has given up and a before callback goes
/// ahead. One that never comes within --timeout does not either.
#[tokio::test]
async fn a_forgery_refused_too_late_or_never_is_not_refused() {
    let server = flawed(|b| b.slow_refusal = Some(Duration::from_millis(2200))).await;
    let (_, report) = check(&server, &["--token", TOKEN, "--only", "bad-sign"], 1).await;
    let bad_sign = case(&report, "security/bad-sign");
    assert_eq!(bad_sign["findings"][0]["code"], "refused-too-late");
    assert_message(
        bad_sign,
        starts("refused a Sign made with another token only after 2"),
    );
    let (_, report) = check(
        &server,
        &["--token", TOKEN, "--only", "bad-sign", "--timeout", "500ms"],
        1,
    )
    .await;
    let bad_sign = case(&report, "security/bad-sign");
    assert_eq!(bad_sign["status"], "fail");
    assert_eq!(bad_sign["findings"][0]["code"], "no-refusal");
    assert_message(bad_sign, contains("the forgery would get through"));
}

/// A window of ±5 minutes refuses the 10-minute replays but takes a callback 90 s off: wider
/// than Tencent's guidance, a warning with its own code, and the run still passes.
#[tokio::test]
async fn a_five_minute_window_passes_the_replay_cases_and_warns_on_the_window() {
    let server = flawed(|b| b.freshness_window = Duration::from_secs(300)).await;
    // A warning does not fail the run.
    let (statuses, report, xml) = check_with_junit(&server, &["--token", TOKEN], 0).await;
    expect_statuses(
        &statuses,
        &[
            ("before-subscribe/decision", "skip"),
            ("security/window", "warn"),
        ],
    );
    let window = case(&report, "security/window");
    let codes: Vec<&Value> = window["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["code"])
        .collect();
    assert_eq!(codes, ["wide-window", "wide-window"], "{window:#}");
    assert_eq!(
        window["message"],
        "accepted a callback signed 90 s ago: HTTP 200, ActionStatus OK, ErrorCode 0; the window is wider than Tencent's 1-minute guidance: refuse a RequestTime more than 60 s from your clock"
    );
    assert_message(
        &window["findings"][1],
        contains("accepted a callback dated 90 s ahead: "),
    );
    assert_eq!(
        window["control"]["summary"],
        "HTTP 200, ActionStatus OK, ErrorCode 0"
    );
    // A warning stays a passing test case in JUnit, its code leading its system-out.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("security/window"))
        .unwrap();
    let out = case.children().find(|c| c.is_element()).unwrap();
    assert_eq!(out.tag_name().name(), "system-out");
    assert!(
        out.text().unwrap().starts_with("warning (wide-window): "),
        "{xml}"
    );
}

#[tokio::test]
async fn a_forgery_refused_by_crashing_passes_with_a_warning() {
    let server = flawed(|b| b.crashes_without_sign = true).await;
    let (_, report) = check(&server, &["--token", TOKEN, "--only", "missing-sign"], 0).await;
    let missing_sign = case(&report, "security/missing-sign");
    assert_eq!(missing_sign["status"], "warn");
    assert_eq!(missing_sign["findings"][0]["code"], "refused-by-crashing");
    assert_eq!(
        missing_sign["message"],
        "refused a callback without Sign by crashing: HTTP 500, body is not JSON: `Internal Server Error`; the genuine callback was accepted: HTTP 200, ActionStatus OK, ErrorCode 0; answer a forgery with 401 or ActionStatus FAIL, not a server error"
    );
    assert_eq!(missing_sign["evidence"]["status"], 500);
}

#[tokio::test]
async fn a_backend_that_takes_a_callback_without_sdkappid_fails_that_case() {
    let server = flawed(|b| b.lets_sdkappid_be_missing = true).await;
    let (statuses, report) =
        check(&server, &["--token", TOKEN, "--expect-refused", "jared"], 1).await;
    expect_statuses(&statuses, &[("security/missing-sdkappid", "fail")]);
    let missing = case(&report, "security/missing-sdkappid");
    assert_eq!(missing["findings"][0]["code"], "accepted-missing-sdkappid");
    assert_eq!(
        missing["message"],
        "accepted a callback without SdkAppid: HTTP 200, ActionStatus OK, ErrorCode 0; answer a non-200 status, ActionStatus FAIL or ErrorCode 1"
    );
    // The forgery was the genuine callback, signed, less its SdkAppid.
    let requests = server.received_requests().await.unwrap();
    let forged = requests
        .iter()
        .map(|r| ReceivedQuery::parse(r.url.query().unwrap_or_default()))
        .find(|q| q.get("SdkAppid").is_none())
        .unwrap();
    assert!(
        verify(
            TOKEN,
            forged.get("Sign"),
            forged.get("RequestTime"),
            NOW,
            Duration::from_secs(60)
        )
        .is_ok()
    );
}

/// A genuine answer that does not conform (`ErrorCode` as a string) says nothing about
/// refusals: the security cases name that first.
#[tokio::test]
async fn a_malformed_genuine_answer_makes_the_security_cases_name_it() {
    let (_, report) = fails_with(|b| {
        b.raw_answer = Some(r#"{"ActionStatus":"OK","ErrorCode":"0","ErrorInfo":""}"#)
    })
    .await;
    let said = r#"HTTP 200, ActionStatus OK, ErrorCode "0""#;
    assert_inconclusive(
        &report,
        said,
        r#"inconclusive: the genuine callback got an answer that does not conform (ErrorCode: is the string "0"; expected the integer 0 (no quotes)), so refusing "#,
        "; the security cases need a conforming answer to a genuine callback first (see before-subscribe/answer)",
    );
}

#[tokio::test]
async fn a_control_refused_as_an_unknown_command_suggests_another_command() {
    let (_, report) = fails_with(|b| {
        b.knows_official_account = false;
        b.fails_unknown_commands = Some("Invalid callback command");
    })
    .await;
    assert_unhandled(
        &report,
        r#"HTTP 200, ActionStatus FAIL, ErrorCode 1, ErrorInfo "Invalid callback command""#,
    );
}

/// One flaw, every callback: the summary names it once with how many cases it broke.
#[tokio::test]
async fn the_human_summary_groups_the_cases_one_flaw_broke() {
    let server = flawed(|b| b.freshness_window = Duration::MAX).await;
    let test = check_test(&server, &["--sdkappid", APPID, "--token", TOKEN])
        .args(["--command", "all"])
        .status(1)
        .stdout(anything())
        .stderr(header(&server));
    let run = test.run_off_runtime().await;
    let stale = "✘ accepted-stale-request-time in 11 cases: accepted a callback signed 10 minutes ago (a replay): HTTP 200, ActionStatus OK, ErrorCode 0; answer a non-200 status, ActionStatus FAIL or ErrorCode 1\n";
    let future =
        "✘ accepted-future-request-time in 11 cases: accepted a callback dated 10 minutes ahead: ";
    let window = "! wide-window in 11 cases: accepted a callback signed 90 s ago: ";
    for line in [stale, future, window] {
        assert_eq!(
            run.stdout.matches(line).count(),
            1,
            "{line}\n{}",
            run.stdout
        );
    }
    // The groups come after the case lines, failures first, before the counts.
    let at = |line| run.stdout.find(line).unwrap();
    let last_case = run.stdout.rfind("delivery/out-of-order").unwrap();
    assert!(last_case < at(stale) && at(stale) < at(future) && at(future) < at(window));
    assert!(at(window) < at("99 cases: "), "{}", run.stdout);
    // Each case keeps its own line.
    assert_eq!(run.stdout.matches("/stale-request-time ").count(), 11);
}
