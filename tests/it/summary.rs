//! What a CI job shows: `--summary FILE` (and GitHub's job summary) and `--annotations`, from
//! `check`, `replay` and load mode, in every outcome.

use crate::support::Test;
use crate::support::{closed_port, oa_hook, run};

const TOKEN: &str = "summary-token";

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_check_that_cannot_reach_its_target_still_summarises_and_annotates() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let step = dir.path().join("step-summary.md");
    std::fs::write(&step, "an earlier step\n").unwrap();
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    let ran = run(oa_hook()
        .args(["check", "--url", &url, "--annotations", "--summary"])
        .arg(&summary)
        .env("GITHUB_STEP_SUMMARY", &step));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let written = read(&summary);
    assert!(
        written.starts_with(&format!(
            "## oa-hook check: UNREACHABLE\n\nTarget: `{url}`\n\n**Stopped:** the target could not be reached (in before-subscribe/answer): "
        )),
        "{written}"
    );
    assert_eq!(read(&step), format!("an earlier step\n{written}\n"));
    assert!(
        ran.stdout
            .starts_with("::error title=oa-hook check%3A stopped::the target could not be reached"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_passing_check_and_load_run_summarise_with_no_error_annotation() {
    let serve = Test::serve()
        .args(["--token", TOKEN, "--sdkappid", "88888888"])
        .start();
    let url = format!("{}/im", serve.url);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("check.md");
    let ran = run(oa_hook()
        .args([
            "check",
            "--url",
            &url,
            "--token",
            TOKEN,
            "-q",
            "--annotations",
            "--summary",
        ])
        .arg(&summary));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(read(&summary).starts_with("## oa-hook check: PASS\n"));
    assert!(!ran.stdout.contains("::error"), "{}", ran.stdout);
    let load = dir.path().join("load.md");
    let ran = run(oa_hook()
        .args([
            "send",
            "before-subscribe",
            "--url",
            &url,
            "--token",
            TOKEN,
            "-n",
            "20",
            "-c",
            "2",
        ])
        .args(["--annotations", "--summary"])
        .arg(&load));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let written = read(&load);
    assert!(
        written.starts_with(&format!(
            "## oa-hook send: PASS\n\nTarget: `{url}`, concurrency 2, 20 requests in "
        )),
        "{written}"
    );
    assert!(
        written.contains("\nDecisions: `subscribes` × 20\n"),
        "{written}"
    );
    assert!(!ran.stdout.contains("::"), "{}", ran.stdout);
}

#[test]
fn a_failing_load_run_annotates_each_cause() {
    let serve = Test::serve()
        .args(["--token", TOKEN, "--status", "503"])
        .start();
    let ran = run(oa_hook()
        .args([
            "send",
            "after-unsubscribe",
            "--url",
            &serve.url,
            "--token",
            TOKEN,
            "-n",
            "5",
        ])
        .args(["--annotations", "-q"]));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(
            "\n::error title=oa-hook send%3A http-status::5 answers of 5: HTTP 503 (expected 200)"
        ),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_load_run_that_reaches_nothing_still_writes_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("load.md");
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    let ran = run(oa_hook()
        .args([
            "send",
            "before-subscribe",
            "--url",
            &url,
            "-n",
            "3",
            "--summary",
        ])
        .arg(&summary));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(read(&summary).starts_with("## oa-hook send: UNREACHABLE\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_summarises_as_check_does() {
    let dir = tempfile::tempdir().unwrap();
    let record = crate::replay::recorded(dir.path()).await;
    let summary = dir.path().join("replay.md");
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    let ran = run(oa_hook()
        .arg("replay")
        .arg(&record)
        .args(["--url", &url, "--summary"])
        .arg(&summary));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(read(&summary).starts_with("## oa-hook replay: UNREACHABLE\n"));
}

#[test]
fn summary_and_annotation_mistakes_say_what_to_give() {
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    let one = run(oa_hook().args([
        "send",
        "before-subscribe",
        "--url",
        &url,
        "--summary",
        "s.md",
    ]));
    assert_eq!((one.code, one.stdout.as_str()), (2, ""));
    assert_eq!(
        one.stderr,
        "oa-hook: error: --summary and --annotations are for load mode\n  hint: add --count N or --duration D (e.g. --count 1000); one callback's verdict is the exit code\n"
    );
    let json = run(oa_hook().args(["check", "--url", &url, "--annotations", "-o", "json"]));
    assert_eq!(json.code, 2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        report["stopped"]["message"],
        "--annotations prints workflow commands on stdout, where --output json prints one JSON document"
    );
    let nowhere =
        run(oa_hook().args(["check", "--url", &url, "--summary", "/nonexistent/dir/s.md"]));
    assert_eq!(nowhere.code, 2);
    assert!(
        nowhere
            .stderr
            .starts_with("oa-hook: error: cannot write --summary /nonexistent/dir/s.md: "),
        "{}",
        nowhere.stderr
    );
}
