//! `oa-hook replay`: records made by `serve --record`, replayed against wiremock backends.

use crate::support::{
    Expect, NOW, SIGINT, Test, anything, assert_contains, backend, case, closed_port, contains,
    refuse_jared, seed_body, starts,
};
use oa_hook::protocol::sign;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

const TOKEN: &str = "t0ken-for-replay";
const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";
const AFTER: &str = "OfficialAccount.CallbackAfterDeleteSubscriber";

/// Replay runs an hour after the recording: every Sign it sends must be made afresh.
const LATER: u64 = NOW + 3600;

/// The query Chat sends for `command` to app 88888888, signed with `token` at `time`.
fn chat_query(command: &str, token: &str, time: u64) -> String {
    format!(
        "SdkAppid=88888888&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={}&RequestTime={time}",
        sign(token, time)
    )
}

/// The `command` callback Chat sends at NOW, signed with TOKEN: its query and body.
fn genuine(command: &str) -> (String, Vec<u8>) {
    (
        chat_query(command, TOKEN, NOW),
        seed_body(command).into_bytes(),
    )
}

/// What `serve ARGS` (with the token) records of the requests `sent`: each a query (after
/// `/im?`) and a body, sent one after the other.
async fn serve_recording(dir: &Path, args: &[&str], sent: &[(String, Vec<u8>)]) -> PathBuf {
    let record = dir.join("events.ndjson");
    let mut serve = Test::serve()
        .args([&["-q", "--record", record.to_str().unwrap()], args].concat())
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (query, body) in sent {
        client
            .post(format!("{}/im?{query}", serve.url))
            .body(body.clone())
            .send()
            .await
            .unwrap();
    }
    serve
        .stdout(anything())
        .stderr(starts(format!("{SIGINT}stopped: ")).ends(" recorded\n"))
        .interrupt();
    record
}

/// A record of two requests to `serve --refuse jared`: a genuine callback (line 1) and a forged
/// one (line 2, refused for its Sign).
pub async fn recorded(dir: &Path) -> PathBuf {
    let body = seed_body(BEFORE).into_bytes();
    let sent = [
        (chat_query(BEFORE, TOKEN, NOW), body.clone()),
        (chat_query(BEFORE, "forged", NOW), body),
    ];
    // With the Sign kept, so that `--as-recorded` can send it.
    serve_recording(dir, &["--refuse", "jared", "--record-sign"], &sent).await
}

/// The first line of [`recorded`]: a genuine callback, to write records around.
async fn genuine_line(dir: &Path) -> String {
    let record = std::fs::read_to_string(recorded(dir).await).unwrap();
    record.lines().next().unwrap().to_owned()
}

/// A backend that checks each Sign (case-sensitively, as PHP and Go receivers do) against the
/// clock `now`, and the SdkAppid when told, and answers `answer` to authentic callbacks, 401
/// to the rest.
struct Checking {
    answer: Value,
    now: u64,
    sdkappid: &'static str,
}

impl Respond for Checking {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let get = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let authentic = get("RequestTime") == Some(self.now.to_string())
            && get("Sign") == Some(sign(TOKEN, self.now))
            && get("SdkAppid").as_deref() == Some(self.sdkappid)
            && request.body == seed_body(BEFORE).into_bytes();
        if authentic {
            ResponseTemplate::new(200).set_body_json(&self.answer)
        } else {
            ResponseTemplate::new(401).set_body_string("not authentic")
        }
    }
}

/// [`Checking`] at `/hook`, for app 88888888 at [`LATER`].
async fn checking(answer: Value) -> MockServer {
    checking_at(answer, LATER, "88888888").await
}

async fn checking_at(answer: Value, now: u64, sdkappid: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/hook"))
        .respond_with(Checking {
            answer,
            now,
            sdkappid,
        })
        .mount(&server)
        .await;
    server
}

fn replay(record: &Path, url: &str, args: &[&str]) -> Test {
    replay_at(LATER, record, url, args)
}

/// [`replay`], which exits `status` with a report that meets `report`; what it says on stderr
/// is another test's.
#[track_caller]
fn replay_reports(record: &Path, url: &str, args: &[&str], status: i32, report: Expect) {
    replay(record, url, args)
        .status(status)
        .stdout(report)
        .stderr(anything())
        .run();
}

fn replay_at(now: u64, record: &Path, url: &str, args: &[&str]) -> Test {
    Test::new()
        .args(["replay", record.to_str().unwrap(), "--url", url])
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .env("OA_HOOK_NOW", now.to_string())
}

#[tokio::test]
async fn a_backend_that_agrees_passes_with_every_callback_signed_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server = checking(refuse_jared()).await;
    let junit = dir.path().join("replay.xml");
    let result = replay(
        &record,
        &format!("{}/hook", server.uri()),
        &["--junit", junit.to_str().unwrap()],
    )
    .stdout(
        contains("✔ before-subscribe/line-1  same decision: Chat subscribes leckie; refuses jared")
            .contains("1 case: 1 passed, 0 failed"),
    )
    .stderr(anything())
    .run();
    assert_eq!(
        result.stderr.trim_end(),
        format!(
            "oa-hook replay {} to {}/hook (1 callback(s), signed afresh)",
            record.display(),
            server.uri()
        )
    );
    // Only the valid callback, with the recorded query (never the recorded Sign) and body.
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let query = received[0].url.query().unwrap();
    assert!(query.starts_with(&format!("SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign=")), "{query}");
    assert!(!query.contains(&sign(TOKEN, NOW)), "{query}");

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap().to_owned())
        .collect();
    assert_eq!(cases, ["before-subscribe/line-1"]);
    assert_eq!(doc.root_element().attribute("name"), Some("oa-hook replay"));
}

/// `--all` against a backend that checks the Sign: the forgery serve refused for its Sign is
/// signed afresh, so what the backend now decides of it is replay's doing: it is not compared,
/// and no decision changed.
#[tokio::test]
async fn a_recorded_forgery_signed_afresh_is_not_a_changed_decision() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server = checking(refuse_jared()).await;
    let url = format!("{}/hook", server.uri());
    let report = replay(&record, &url, &["--output", "json", "--all", "-c", "2"]).run_json();
    assert_eq!(report["summary"]["total"], 2);
    assert_eq!(report["summary"]["skipped"], 1);
    let forged = case(&report, "before-subscribe/line-2");
    assert_eq!(forged["status"], "skip");
    assert_eq!(
        forged["message"],
        "re-signed; the recorded refusal was for the signature (bad-sign), so the decisions are not compared; now: subscribes leckie; refuses jared"
    );
    assert_eq!(forged["evidence"]["status"], 200);
    assert_eq!(case(&report, "before-subscribe/line-1")["status"], "pass");
}

#[tokio::test]
async fn a_backend_that_changed_its_mind_fails_and_the_change_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server =
        checking(json!({"ActionStatus": "OK", "ErrorCode": 1, "ErrorInfo": "closed for now"}))
            .await;
    let url = format!("{}/hook", server.uri());
    replay_reports(&record, &url, &[], 1, contains("✘ before-subscribe/line-1  was: subscribes leckie; refuses jared / now: rejects the whole request (ErrorCode 1); ErrorInfo \"closed for now\"").contains("FAIL"));
}

#[tokio::test]
async fn records_are_read_from_stdin_and_an_unreachable_backend_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    Test::new()
        .args([
            "replay",
            "-",
            "--url",
            &format!("http://127.0.0.1:{}/hook", closed_port()),
        ])
        .stdin(std::fs::read(&record).unwrap())
        .status(3)
        .stdout(anything())
        .stderr(
            contains("oa-hook replay - to http://127.0.0.1:")
                .contains("(unsigned: no token)")
                .contains("oa-hook: error: connection refused at 127.0.0.1:"),
        )
        .run();
}

#[tokio::test]
async fn a_corrupt_or_foreign_record_is_a_usage_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let first = &genuine_line(dir.path()).await;
    let cases: [(&str, Vec<u8>, String); 6] = [
        ("middle", format!("{first}\n{{\"v\":2,\n{first}\n").into_bytes(), "middle:2: not JSON (EOF while parsing a value at line 1 column 7)".into()),
        ("v3", format!("{first}\n\n{}\n", first.replace(r#"{"v":2,"#, r#"{"v":3,"#)).into_bytes(), "v3:3: a record of version 3; this oa-hook reads versions 1 and 2".into()),
        ("old", b"{\"time\":\"2022-12-01T05:21:52.000Z\",\"valid\":true}\n".to_vec(), "old:1: no version field `v`: not a record of version 1 or 2 (written by an older oa-hook, or not a record)".into()),
        ("binary", [first.as_bytes(), b"\n\xff\xfe\n"].concat(), "binary:2: not UTF-8 text, so not a record".into()),
        ("empty", Vec::new(), "empty holds no record".into()),
        ("missing", Vec::new(), "cannot read missing: No such file or directory (os error 2)".into()),
    ];
    for (name, content, error) in cases {
        let path = dir.path().join(name);
        if name != "missing" {
            std::fs::write(&path, content).unwrap();
        }
        Test::new()
            .current_dir(dir.path())
            .args(["replay", name, "--url", "http://127.0.0.1:9/hook"])
            .status(2)
            .stdout("")
            .stderr(contains(format!("oa-hook: error: {error}\n")))
            .run();
    }
}

/// A line in the middle that is not a record stops the replay before anything is sent (exit
/// 2, naming it); with `--skip-invalid` it is a skipped case of the report, and the callbacks
/// around it are replayed.
#[tokio::test]
async fn a_bad_line_is_exit_2_or_with_skip_invalid_a_skipped_case() {
    let dir = tempfile::tempdir().unwrap();
    let first = &genuine_line(dir.path()).await;
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, format!("{first}\ngarbage\n{first}\n")).unwrap();
    let server = checking(refuse_jared()).await;
    let url = format!("{}/hook", server.uri());

    replay(&bad, &url, &[])
        .status(2)
        .stdout("")
        .stderr(format!(
            "oa-hook: error: {}:2: not JSON (expected value at line 1 column 1)\n  hint: a record is what `oa-hook serve --record FILE` writes, one JSON object a line; pass --skip-invalid to replay the other lines\n",
            bad.display()
        ))
        .run();
    assert!(server.received_requests().await.unwrap().is_empty());

    replay(&bad, &url, &["--skip-invalid"])
        .stdout(contains("- invalid/line-2  not replayed (--skip-invalid): not JSON (expected value at line 1 column 1)\n").contains("3 cases: 2 passed, 0 failed, 0 warned, 1 skipped\nPASS\n"))
        .stderr(contains("(2 callback(s), 1 line(s) that are not records skipped, signed afresh)"))
        .run();
    let report = replay(&bad, &url, &["--skip-invalid", "-o", "json"]).run_json();
    assert_eq!(report["summary"]["skipped"], 1);
    let invalid = case(&report, "invalid/line-2");
    assert_eq!(invalid["status"], "skip");
    assert_eq!(invalid["description"], "line 2 of the record, not a record");
}

/// A last line cut short as it was written (serve killed mid-line) is skipped with a warning,
/// in a file as from stdin; the callbacks before it are replayed.
#[tokio::test]
async fn a_last_line_cut_short_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let first = &genuine_line(dir.path()).await;
    let cut = dir.path().join("cut.ndjson");
    std::fs::write(&cut, format!("{first}\n{}", &first[..first.len() / 2])).unwrap();
    let server = checking(refuse_jared()).await;
    let url = format!("{}/hook", server.uri());
    let warning = "oa-hook: warning: {name}:2: the last line is cut short (no newline at its end, and not whole), as when serve is killed while writing it; skipped\n";

    replay(&cut, &url, &[])
        .stdout(contains("1 case: 1 passed"))
        .stderr(contains(
            warning.replace("{name}", &cut.display().to_string()),
        ))
        .run();

    Test::new()
        .args(["replay", "-", "--url", &url])
        .env("OA_HOOK_TOKEN", TOKEN)
        .env("OA_HOOK_NOW", LATER.to_string())
        .stdin(std::fs::read(&cut).unwrap())
        .stdout(contains("1 case: 1 passed"))
        .stderr(contains(warning.replace("{name}", "-")))
        .run();
}

/// Serve killed (SIGKILL) while callbacks keep coming: whatever it left in the record replays,
/// every whole line of it.
#[tokio::test]
async fn a_record_left_by_a_killed_serve_replays() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.ndjson");
    let serve = Test::serve()
        .args([
            "-q",
            "--refuse",
            "jared",
            "--record",
            record.to_str().unwrap(),
        ])
        .env("OA_HOOK_TOKEN", TOKEN)
        .start();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/im?{}", serve.url, chat_query(BEFORE, TOKEN, NOW));
    let sending = tokio::spawn(async move {
        loop {
            let sent = client.post(&url).body(seed_body(BEFORE)).send().await;
            if sent.is_err() {
                break;
            }
        }
    });
    while std::fs::read(&record).map_or(0, |r| r.len()) < 20_000 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Dropped: killed with SIGKILL, in the middle of whatever it was doing.
    drop(serve);
    sending.await.unwrap();
    let left = std::fs::read_to_string(&record).unwrap();
    let whole = left.matches('\n').count();
    assert!(whole > 10, "{whole} lines");

    let server = checking_at(refuse_jared(), NOW, "88888888").await;
    let report = replay_at(
        NOW,
        &record,
        &format!("{}/hook", server.uri()),
        &["-o", "json", "-c", "8"],
    )
    .run_json();
    assert_eq!(report["summary"]["passed"], whole, "{report:#}");
}

/// Bodies that JSON readers refuse back (a number out of range, nesting past 128) or that are
/// not UTF-8 are recorded as text or base64, so that the record stays readable by any JSON
/// reader and replay sends them byte for byte; the genuine callbacks around them replay.
#[tokio::test]
async fn poisoned_bodies_leave_the_record_replayable() {
    let dir = tempfile::tempdir().unwrap();
    let genuine = genuine(BEFORE);
    let poisons: [&[u8]; 3] = [
        br#"{"x":1e400}"#,
        &["[".repeat(200), "]".repeat(200)].concat().into_bytes(),
        b"{\"x\":\"\xff\"}",
    ];
    let mut sent = vec![genuine.clone()];
    sent.extend(
        poisons
            .iter()
            .map(|poison| (chat_query(BEFORE, TOKEN, NOW), poison.to_vec())),
    );
    sent.push(genuine);
    let record = serve_recording(dir.path(), &["--refuse", "jared"], &sent).await;
    let text = std::fs::read_to_string(&record).unwrap();
    let formats: Vec<String> = text
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            line["body_format"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(formats, ["json", "text", "text", "base64", "json"]);

    let server = checking(refuse_jared()).await;
    let url = format!("{}/hook", server.uri());
    replay_reports(&record, &url, &[], 0, contains("2 cases: 2 passed"));

    // Every body goes to a backend that refuses everything, byte for byte.
    let server = backend(ResponseTemplate::new(400)).await;
    replay(&record, &server.uri(), &["--all"])
        .status(1)
        .stdout(contains("5 cases: 0 passed, 5 failed"))
        .stderr(anything())
        .run();
    let bodies: Vec<Vec<u8>> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|request| request.body)
        .collect();
    for poison in poisons {
        assert!(bodies.iter().any(|body| body == poison), "{poison:?}");
    }
}

/// `--as-recorded` sends the recorded Sign and RequestTime: a replay attack. An hour later a
/// backend that checks RequestTime refuses it (pass); one that does not is a security failure.
/// While the callback is still fresh it is the request as it came, compared as any other.
#[tokio::test]
async fn as_recorded_is_a_replay_attack_a_correct_backend_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server = checking(refuse_jared()).await;
    let url = format!("{}/hook", server.uri());
    replay(&record, &url, &["--as-recorded"])
        .stdout(contains("✔ before-subscribe/line-1  refused the replayed callback, as it should (its RequestTime 3600 s old)"))
        .stderr(contains("(1 callback(s), as recorded: their Sign and RequestTime unchanged)"))
        .run();
    let received = server.received_requests().await.unwrap();
    let query = received[0].url.query().unwrap();
    assert!(
        query.ends_with(&format!("&Sign={}&RequestTime={NOW}", sign(TOKEN, NOW))),
        "{query}"
    );

    let careless = backend(crate::support::answer(refuse_jared())).await;
    let report = replay(&record, &careless.uri(), &["--as-recorded", "-o", "json"])
        .status(1)
        .stderr(anything())
        .run_json();
    let attacked = case(&report, "before-subscribe/line-1");
    assert_eq!(attacked["status"], "fail");
    assert_eq!(
        attacked["message"],
        "accepted a callback replayed with its recorded Sign, its RequestTime 3600 s old: a replay attack succeeds; refuse a RequestTime more than 60 s from your clock"
    );
    assert_eq!(attacked["findings"][0]["code"], "replay-accepted");

    let fresh = checking_at(refuse_jared(), NOW, "88888888").await;
    replay_at(
        NOW,
        &record,
        &format!("{}/hook", fresh.uri()),
        &["--as-recorded"],
    )
    .stdout(contains(
        "✔ before-subscribe/line-1  same decision: Chat subscribes leckie; refuses jared",
    ))
    .stderr(anything())
    .run();

    // A record without the Sign (version 1, or one it was taken out of) cannot be sent so.
    let v1 = dir.path().join("v1.ndjson");
    let lines: String = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|line| {
            let mut line: Value = serde_json::from_str(line).unwrap();
            let fields = line.as_object_mut().unwrap();
            fields.remove("sign");
            fields.insert("v".into(), 1.into());
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&v1, lines).unwrap();
    replay_reports(
        &v1,
        &url,
        &["--as-recorded"],
        0,
        contains(
            "- before-subscribe/line-1  the record did not keep the Sign (recorded without `serve --record-sign`, a record of version 1, or a line it was taken out of): it cannot be sent as recorded",
        ),
    );
}

/// An after callback decides nothing, but a backend that now fails it is a regression: a 5xx
/// is a webhook failure, FAIL is no longer accepting it; other words in ErrorInfo are a note.
#[tokio::test]
async fn an_after_callback_the_backend_now_fails_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let sent = [genuine(AFTER)];
    let record = serve_recording(dir.path(), &[], &sent).await;
    let cases = [
        (
            ResponseTemplate::new(500)
                .set_body_json(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})),
            1,
            "✘ after-unsubscribe/line-1  was: accepted / now: HTTP 500, ActionStatus OK, ErrorCode 0: Chat now counts this as a webhook failure",
        ),
        (
            crate::support::answer(
                json!({"ActionStatus": "FAIL", "ErrorCode": 1, "ErrorInfo": "down"}),
            ),
            1,
            "✘ after-unsubscribe/line-1  was: accepted / now: HTTP 200, ActionStatus FAIL, ErrorCode 1, ErrorInfo \"down\": the backend no longer accepts this callback",
        ),
        (
            crate::support::answer(
                json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "thanks"}),
            ),
            0,
            "✔ after-unsubscribe/line-1  same decision: Chat ignores the answer (after callback); ErrorInfo was \"\", now \"thanks\"",
        ),
    ];
    for (answer, code, line) in cases {
        let server = backend(answer).await;
        replay_reports(&record, &server.uri(), &[], code, contains(line));
    }
}

/// `--sdkappid` replays a record made for one app against a backend configured for another,
/// and says so; a refusal that was for the SdkAppid is then not compared.
#[tokio::test]
async fn sdkappid_replays_a_record_for_another_app() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server = checking_at(refuse_jared(), LATER, "1400000000").await;
    let url = format!("{}/hook", server.uri());
    replay(&record, &url, &[])
        .status(1)
        .stdout(anything())
        .stderr(anything())
        .run();

    let report = replay(&record, &url, &["--sdkappid", "1400000000", "-o", "json"])
        .stderr(anything())
        .run_json();
    let replayed = case(&report, "before-subscribe/line-1");
    assert_eq!(replayed["status"], "pass");
    assert_contains(
        replayed["description"].as_str().unwrap(),
        "; replayed with SdkAppid 1400000000 instead of 88888888",
    );
    let received = server.received_requests().await.unwrap();
    let query = received.last().unwrap().url.query().unwrap();
    assert!(query.starts_with("SdkAppid=1400000000&"), "{query}");
    replay(&record, &url, &["--sdkappid", "1400000000"])
        .stdout(anything())
        .stderr(contains(
            "(1 callback(s), signed afresh, SdkAppid 1400000000)",
        ))
        .run();

    // Recorded by a serve for app 1400000000: refused for its SdkAppid then.
    let other = tempfile::tempdir().unwrap();
    let sent = [genuine(BEFORE)];
    let refused = serve_recording(other.path(), &["--sdkappid", "1400000000"], &sent).await;
    replay_reports(
        &refused,
        &url,
        &["--all", "--sdkappid", "1400000000"],
        0,
        contains(
            "- before-subscribe/line-1  SdkAppid replaced; the recorded refusal was for the SdkAppid (wrong-sdkappid), so the decisions are not compared; now: subscribes leckie; refuses jared",
        ),
    );
}

/// Through the tap, a callback with an upper-case Sign that a case-sensitive backend refused:
/// replay signs in lower case, so the backend's refusal then is not compared.
#[tokio::test]
async fn an_upper_case_sign_refused_then_is_not_compared_once_re_signed() {
    let dir = tempfile::tempdir().unwrap();
    let then = checking_at(refuse_jared(), NOW, "88888888").await;
    let query =
        chat_query(BEFORE, TOKEN, NOW).replace(&sign(TOKEN, NOW), &sign(TOKEN, NOW).to_uppercase());
    let sent = [(query, seed_body(BEFORE).into_bytes())];
    let forward = format!("{}/hook", then.uri());
    let record = serve_recording(dir.path(), &["--forward-to", &forward], &sent).await;
    let recorded: Value =
        serde_json::from_str(std::fs::read_to_string(&record).unwrap().trim_end()).unwrap();
    assert_eq!(recorded["findings"][0]["code"], "upper-case-sign");
    assert_eq!(recorded["backend"]["status"], 401);

    let now = checking(refuse_jared()).await;
    replay_reports(
        &record,
        &format!("{}/hook", now.uri()),
        &[],
        0,
        contains(
            "- before-subscribe/line-1  re-signed in lower case; the recorded Sign was upper-case hex, which the backend refused, so the decisions are not compared; now: subscribes leckie; refuses jared",
        ),
    );
}
