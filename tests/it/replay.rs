//! `oa-hook replay`: a record made by `serve --record`, replayed against wiremock backends.

use crate::support::{
    NOW, Serve, assert_contains, closed_port, oa_hook, run, seed_body, serve_command,
};
use oa_hook::protocol::{sign, verify};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

const TOKEN: &str = "t0ken-for-replay";
const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";

/// Replay runs an hour after the recording: every Sign it sends must be made afresh.
const LATER: u64 = NOW + 3600;

/// A record of two requests to `serve --refuse jared`: a genuine callback (line 1) and a forged
/// one (line 2, refused).
pub async fn recorded(dir: &Path) -> PathBuf {
    let record = dir.join("events.ndjson");
    let mut cmd = serve_command(&[
        "--refuse",
        "jared",
        "-q",
        "--record",
        record.to_str().unwrap(),
    ]);
    cmd.env("OA_HOOK_TOKEN", TOKEN);
    let mut serve = Serve::spawn(cmd);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for token in [TOKEN, "forged"] {
        let url = format!(
            "{}/im?SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={}&RequestTime={NOW}",
            serve.url,
            sign(token, NOW)
        );
        client
            .post(url)
            .body(seed_body(BEFORE))
            .send()
            .await
            .unwrap();
    }
    assert!(serve.interrupt().status.success());
    record
}

/// A backend that checks each Sign against the clock of the replay and answers `answer` to
/// authentic callbacks, 401 to the rest.
struct Checking {
    answer: Value,
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
        let authentic = get("RequestTime") == Some(LATER.to_string())
            && verify(
                TOKEN,
                get("Sign").as_deref(),
                get("RequestTime").as_deref(),
                LATER,
                Duration::from_secs(60),
            )
            .is_ok()
            && request.body == seed_body(BEFORE).into_bytes();
        if authentic {
            ResponseTemplate::new(200).set_body_json(&self.answer)
        } else {
            ResponseTemplate::new(401).set_body_string("not authentic")
        }
    }
}

async fn backend(answer: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/hook"))
        .respond_with(Checking { answer })
        .mount(&server)
        .await;
    server
}

fn replay(record: &Path, url: &str, args: &[&str]) -> crate::support::Run {
    run(oa_hook()
        .args(["replay", record.to_str().unwrap(), "--url", url])
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .env("OA_HOOK_NOW", LATER.to_string()))
}

#[tokio::test]
async fn a_backend_that_agrees_passes_with_every_callback_signed_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server = backend(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RefusedSubscribers_Account": ["jared"]})).await;
    let junit = dir.path().join("replay.xml");
    let result = replay(
        &record,
        &format!("{}/hook", server.uri()),
        &["--junit", junit.to_str().unwrap()],
    );
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert_contains(
        &result.stdout,
        "✔ before-subscribe/line-1  same decision: Chat subscribes leckie; refuses jared",
    );
    assert_contains(&result.stdout, "1 case: 1 passed, 0 failed");
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

    let result = replay(
        &record,
        &format!("{}/hook", server.uri()),
        &["--output", "json", "--all", "-c", "2"],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let report: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(report["summary"]["total"], 2);
    let forged = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "before-subscribe/line-2")
        .unwrap();
    // Signed afresh, the refused request is a genuine one now: the backend's decision changed.
    assert_eq!(forged["status"], "fail");
    assert_contains(
        forged["message"].as_str().unwrap(),
        "was: undocumented: Chat counts this answer as a webhook failure",
    );
    assert_eq!(forged["findings"][0]["code"], "decision-changed");
}

#[tokio::test]
async fn a_backend_that_changed_its_mind_fails_and_the_change_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let server =
        backend(json!({"ActionStatus": "OK", "ErrorCode": 1, "ErrorInfo": "closed for now"})).await;
    let result = replay(&record, &format!("{}/hook", server.uri()), &[]);
    assert_eq!(result.code, 1, "{}{}", result.stdout, result.stderr);
    assert_contains(
        &result.stdout,
        "✘ before-subscribe/line-1  was: subscribes leckie; refuses jared / now: rejects the whole request (ErrorCode 1); ErrorInfo \"closed for now\"",
    );
    assert_contains(&result.stdout, "FAIL");
}

#[tokio::test]
async fn records_are_read_from_stdin_and_an_unreachable_backend_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let result = run(oa_hook()
        .args([
            "replay",
            "-",
            "--url",
            &format!("http://127.0.0.1:{}/hook", closed_port()),
        ])
        .pipe_stdin(&record)
        .unwrap());
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert_contains(&result.stderr, "oa-hook replay - to http://127.0.0.1:");
    assert_contains(&result.stderr, "(1 callback(s), unsigned: no token)");
    assert_contains(
        &result.stderr,
        "oa-hook: error: connection refused at 127.0.0.1:",
    );
}

#[tokio::test]
async fn a_corrupt_or_foreign_record_is_a_usage_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorded(dir.path()).await;
    let good = std::fs::read_to_string(&record).unwrap();
    let first = good.lines().next().unwrap();
    let cases: [(&str, Vec<u8>, String); 6] = [
        ("truncated", format!("{first}\n{{\"v\":1,").into_bytes(), "truncated:2: not JSON (EOF while parsing a value at line 1 column 7)".into()),
        ("v2", format!("{first}\n\n{}\n", first.replace(r#"{"v":1,"#, r#"{"v":2,"#)).into_bytes(), "v2:3: a record of version 2; this oa-hook reads version 1".into()),
        ("old", br#"{"time":"2022-12-01T05:21:52.000Z","valid":true}"#.to_vec(), "old:1: no version field `v`: not a record of version 1 (written by an older oa-hook, or not a record)".into()),
        ("binary", [first.as_bytes(), b"\n\xff\xfe\n"].concat(), "binary:2: not UTF-8 text, so not a record".into()),
        ("empty", Vec::new(), "empty holds no record".into()),
        ("missing", Vec::new(), "cannot read missing: No such file or directory (os error 2)".into()),
    ];
    for (name, content, error) in cases {
        let path = dir.path().join(name);
        if name != "missing" {
            std::fs::write(&path, content).unwrap();
        }
        let result = run(oa_hook().current_dir(dir.path()).args([
            "replay",
            name,
            "--url",
            "http://127.0.0.1:9/hook",
        ]));
        assert_eq!(result.code, 2, "{name}: {}", result.stderr);
        assert_eq!(result.stdout, "", "{name}");
        assert_contains(&result.stderr, &format!("oa-hook: error: {error}\n"));
    }
}
