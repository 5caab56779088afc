//! `check --fuzz N --seed S` against backends with a planted flaw, one per property: each is
//! caught, shrunk to a minimal body, and given with a reproducer that, run, fails the same way;
//! oa-hook's own serve passes with no false failure.

use crate::support::{
    Test, UNSIGNED, allow, answer, anything, assert_contains, backend, case, contains,
};
use serde_json::{Value, json};
use std::path::Path;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// The subscribers a request's body names.
fn subscribers(request: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    body["SubscribeAccountList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Subscriber_Account"].as_str().map(str::to_owned))
        .collect()
}

fn is_before_subscribe(request: &Request) -> bool {
    request.url.as_str().contains("CallbackBeforeAddSubscriber")
}

/// Stores UserIDs in a column of 31 bytes: a UserID of 32 bytes (which Chat allows) crashes it.
pub struct CrashesOnA32ByteUserId;

impl Respond for CrashesOnA32ByteUserId {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if subscribers(request).iter().any(|user| user.len() == 32) {
            return ResponseTemplate::new(500)
                .set_body_string("ERROR: value too long for type character varying(31)");
        }
        answer(allow())
    }
}

/// Refuses subscribers whose UserID has a digit, naming them as it stores them: trimmed and
/// lower-cased, which is not who was sent when the UserID had capitals or spaces.
pub struct RefusesWhomItWasNotSent;

impl Respond for RefusesWhomItWasNotSent {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let refused: Vec<String> = subscribers(request)
            .iter()
            .filter(|user| user.chars().any(|c| c.is_ascii_digit()))
            .map(|user| user.trim().to_lowercase())
            .collect();
        if !is_before_subscribe(request) || refused.is_empty() {
            return answer(allow());
        }
        let mut refusal = allow();
        refusal["RefusedSubscribers_Account"] = json!(refused);
        answer(refusal)
    }
}

/// Refuses subscribers whose UserID is over 20 bytes, and rejects the whole request when the
/// first one is: the decision depends on the order of the list.
pub struct DecidesByTheFirst;

impl Respond for DecidesByTheFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let users = subscribers(request);
        let banned: Vec<&String> = users.iter().filter(|user| user.len() > 20).collect();
        if !is_before_subscribe(request) || banned.is_empty() {
            return answer(allow());
        }
        if users.first().is_some_and(|first| first.len() > 20) {
            return answer(json!({"ActionStatus": "OK", "ErrorInfo": "banned", "ErrorCode": 1}));
        }
        let mut refusal = allow();
        refusal["RefusedSubscribers_Account"] = json!(banned);
        answer(refusal)
    }
}

/// `check --url URL --only fuzz --seed 42 --output json ARGS`, run in `dir` (where the bodies
/// go), expecting exit `status` and nothing on stderr: the report. Without a `--fuzz N` in ARGS,
/// `--fuzz` (100).
fn fuzz(url: &str, dir: &Path, args: &[&str], status: i32) -> Value {
    let n: &[&str] = if args.contains(&"--fuzz") {
        &[]
    } else {
        &["--fuzz"]
    };
    Test::new()
        .current_dir(dir)
        .args(["check", "--url", url, "--only", "fuzz"])
        .args(["--seed", "42", "--output", "json"])
        .args(n)
        .args(args)
        .status(status)
        .run_json()
}

/// Runs `command` as a shell would, pasted, in `dir`, off the async runtime the backend runs on:
/// exit code and stdout.
async fn paste(command: String, dir: &Path) -> (i32, String) {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || paste_here(&command, &dir))
        .await
        .unwrap()
}

/// [`paste`] on this thread.
fn paste_here(command: &str, dir: &Path) -> (i32, String) {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("OA_HOOK_CONFIG", "/dev/null")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The shrunk failure of the case `id`.
fn shrunk<'r>(report: &'r Value, id: &str) -> &'r Value {
    let case = case(report, id);
    assert_eq!(case["status"], "fail", "{case:#}");
    &case["fuzz"]["failure"]
}

/// The fuzz run off the async runtime the backend runs on.
async fn fuzz_off_runtime(
    url: String,
    args: &'static [&'static str],
    status: i32,
) -> (Value, tempfile::TempDir) {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let report = fuzz(&url, dir.path(), args, status);
        (report, dir)
    })
    .await
    .unwrap()
}

/// What fuzzing a backend with a planted flaw found: the report, the shrunk failure of the
/// property that caught the flaw, the directory to paste its reproducers in, and the backend,
/// which must stay up for them.
struct Caught {
    report: Value,
    failure: Value,
    dir: tempfile::TempDir,
    server: MockServer,
}

/// Fuzzes a backend with the planted `flaw`, which the property `id` must catch with the finding
/// `code`.
async fn caught(flaw: impl Respond + 'static, id: &str, code: &str) -> Caught {
    let server = backend(flaw).await;
    let (report, dir) = fuzz_off_runtime(format!("{}/im", server.uri()), &[], 1).await;
    assert_eq!(case(&report, id)["findings"][0]["code"], code, "{report:#}");
    let failure = shrunk(&report, id).clone();
    Caught {
        report,
        failure,
        dir,
        server,
    }
}

#[tokio::test]
async fn a_500_on_a_32_byte_user_id_is_found_shrunk_and_reproduced() {
    let Caught {
        report,
        failure,
        dir,
        server,
    } = caught(
        CrashesOnA32ByteUserId,
        "fuzz/no-server-error",
        "server-error",
    )
    .await;
    assert_eq!(report["fuzz"], json!({"seed": 42, "per_command": 100}));
    // The least that still fails: one subscriber of 32 bytes, the rest the plainest.
    assert_eq!(
        failure["body"],
        json!({
            "CallbackCommand": "OfficialAccount.CallbackBeforeAddSubscriber",
            "Official_Account": "@TOA#_a",
            "Operator_Account": "a",
            "SubscribeAccountList": [{"Subscriber_Account": "a".repeat(32)}],
            "EventTime": 1670574414123_i64
        })
    );
    assert!(failure["found_at"].as_u64().unwrap() <= 300, "{failure:#}");
    let file = failure["files"][0].as_str().unwrap();
    assert_eq!(
        file,
        "oa-hook-fuzz/before-subscribe-no-server-error-seed42.json"
    );
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(file)).unwrap()).unwrap();
    assert_eq!(written, failure["body"]);
    // Pasted, the reproducer fails the same way.
    let command = failure["reproduce"][0].as_str().unwrap().to_owned();
    assert_contains(
        &command,
        &format!(
            " send before-subscribe --url {}/im --body {file} ",
            server.uri()
        ),
    );
    let (code, stdout) = paste(command, dir.path()).await;
    assert_eq!(code, 1, "{stdout}");
    assert_contains(&stdout, "HTTP 500 Internal Server Error");
    assert_contains(&stdout, "value too long for type character varying(31)");
    // The same flaw fails conforming-in-time, shrunk to the same body.
    assert_eq!(
        shrunk(&report, "fuzz/conforming-in-time")["body"],
        failure["body"]
    );
}

#[tokio::test]
async fn a_refusal_of_someone_not_sent_is_found_and_reproduced_under_strict() {
    let Caught {
        report,
        failure,
        dir,
        ..
    } = caught(
        RefusesWhomItWasNotSent,
        "fuzz/refused-were-sent",
        "refused-not-in-request",
    )
    .await;
    let users = failure["body"]["SubscribeAccountList"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{failure:#}");
    let command = failure["reproduce"][0].as_str().unwrap().to_owned();
    assert!(command.ends_with(" --strict"), "{command}");
    let (code, stdout) = paste(command, dir.path()).await;
    assert_eq!(code, 1, "{stdout}");
    assert_contains(&stdout, "was not among the request's subscribers");
    // The other properties hold.
    for id in [
        "fuzz/no-server-error",
        "fuzz/conforming-in-time",
        "fuzz/same-decision",
    ] {
        assert_eq!(case(&report, id)["status"], "pass", "{id}");
    }
}

#[tokio::test]
async fn a_decision_that_depends_on_the_order_is_found_and_reproduced() {
    let Caught { failure, dir, .. } =
        caught(DecidesByTheFirst, "fuzz/same-decision", "decision-changed").await;
    // Two subscribers are the least an order needs: one that is refused, one that is not.
    let users = failure["body"]["SubscribeAccountList"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{failure:#}");
    let reproduce = failure["reproduce"].as_array().unwrap();
    assert_eq!(reproduce.len(), 2);
    let mut ran = Vec::new();
    for command in reproduce {
        ran.push(paste(command.as_str().unwrap().to_owned(), dir.path()).await);
    }
    // The first shows one decision; the second, held to it, fails with another.
    assert_eq!(ran[0].0, 0, "{}", ran[0].1);
    assert_eq!(ran[1].0, 1, "{}", ran[1].1);
    assert_contains(&ran[1].1, "✘ expected");
}

#[test]
fn the_same_seed_finds_the_same_failure_and_body() {
    // serve answering 503 to everything: a 5xx at once, for every callback.
    let serve = Test::serve().args(["--status", "503", "-q"]).start();
    let url = format!("{}/im", serve.url);
    let dir = tempfile::tempdir().unwrap();
    let failure = || {
        let report = fuzz(&url, dir.path(), &["--command", "after-create"], 1);
        let failure = shrunk(&report, "fuzz/no-server-error").clone();
        // A before callback is covered by no command: the properties that need one are
        // skipped, never passed.
        for id in ["fuzz/refused-were-sent", "fuzz/same-decision"] {
            assert_eq!(case(&report, id)["status"], "skip", "{id}");
        }
        (failure["found_at"].clone(), failure["body"].clone())
    };
    let first = failure();
    assert_eq!(first.0, 1);
    assert_eq!(first, failure());
}

/// `check --fuzz` of oa-hook's own serve (refusing jared) for every command, with `args`, in
/// `dir`: the report, which passes (exit 0).
fn fuzz_own_serve(dir: &Path, args: &[&str]) -> Value {
    let serve = Test::serve()
        .args(["--refuse", "jared", "--token", "fuzz-token", "-q"])
        .start();
    let every_command = ["--command", "all", "--token", "fuzz-token"];
    fuzz(
        &format!("{}/im", serve.url),
        dir,
        &[&every_command[..], args].concat(),
        0,
    )
}

#[test]
fn oa_hooks_own_serve_passes_every_property() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let report = fuzz_own_serve(dir.path(), &["--junit", junit.to_str().unwrap()]);
    for id in [
        "fuzz/no-server-error",
        "fuzz/conforming-in-time",
        "fuzz/refused-were-sent",
        "fuzz/same-decision",
    ] {
        let case = case(&report, id);
        assert_eq!(case["status"], "pass", "{case:#}");
        assert_eq!(case["fuzz"]["seed"], 42);
    }
    assert_eq!(
        case(&report, "fuzz/no-server-error")["fuzz"]["checked"],
        1100
    );
    // One JUnit test case per property, the seed with them.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase name=\"fuzz/").count(), 4, "{xml}");
    assert_contains(&xml, r#"<property name="seed" value="42"/>"#);
    assert!(!dir.path().join("oa-hook-fuzz").exists());
}

/// The false-failure figure of BENCHMARKS.md: 100,001 generated callbacks (9,091 per command of
/// the eleven) against serve, none failed. Minutes in a debug build: `cargo test --release --
/// --ignored hundred_thousand` (or `bash bench/fuzz-serve.sh`).
#[test]
#[ignore]
fn serve_fails_none_of_a_hundred_thousand_generated_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let report = fuzz_own_serve(dir.path(), &["--fuzz", "9091"]);
    assert_eq!(
        case(&report, "fuzz/conforming-in-time")["fuzz"]["checked"],
        100_001
    );
}

#[test]
fn a_fuzz_count_out_of_range_is_a_usage_error() {
    Test::new()
        .args(["check", "--url", "http://127.0.0.1:1/", "--fuzz", "0"])
        .status(2)
        .stderr(contains(
            "oa-hook: error: --fuzz 0 is less than 1\n  hint: give a whole number of callbacks per command, at least 1 and at most 1000000",
        ))
        .run();
}

#[tokio::test]
async fn strict_fails_a_warning_in_one_send_and_in_load_mode() {
    let server = backend(RefusesWhomItWasNotSent).await;
    let url = format!("{}/im", server.uri());
    tokio::task::spawn_blocking(move || {
        let send = |extra: &[&str]| {
            Test::new()
                .args(["send", "before-subscribe", "--url", &url])
                .args(["--subscriber", "Jared7", "--strict"])
                .args(extra)
                .status(1)
        };
        send(&[])
            .stdout(contains("✘ under --strict a warning fails: RefusedSubscribers_Account[0]: `jared7` was not among the request's subscribers"))
            .stderr(UNSIGNED)
            .run();
        send(&["-n", "3"])
            .stdout(contains("✘ strict in 3 answers: under --strict a warning fails"))
            .stderr(anything())
            .run();
    })
    .await
    .unwrap();
}
