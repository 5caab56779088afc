//! What a CI job shows: `--summary FILE` (and GitHub's job summary) and `--annotations`, from
//! `check`, `replay` and load mode, in every outcome.

use crate::support::{Test, anything, closed_port, contains, lacks, starts};

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
    Test::new()
        .args(["check", "--url", &url, "--annotations", "--summary"])
        .arg(&summary)
        .env("GITHUB_STEP_SUMMARY", &step)
        .status(3)
        .stdout(starts(
            "::error title=oa-hook check%3A stopped::the target could not be reached",
        ))
        .stderr(anything())
        .run();
    let written = read(&summary);
    assert!(
        written.starts_with(&format!(
            "## oa-hook check: UNREACHABLE\n\nTarget: `{url}`\n\n**Stopped:** the target could not be reached (in before-subscribe/answer): "
        )),
        "{written}"
    );
    assert_eq!(read(&step), format!("an earlier step\n{written}\n"));
}

#[test]
fn a_passing_check_and_load_run_summarise_with_no_error_annotation() {
    let serve = Test::serve()
        .args(["--token", TOKEN, "--sdkappid", "88888888"])
        .start();
    let url = format!("{}/im", serve.url);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("check.md");
    Test::new()
        .args(["check", "--url", &url, "--token", TOKEN, "-q"])
        .args(["--annotations", "--summary"])
        .arg(&summary)
        .stdout(lacks("::error"))
        .run();
    starts("## oa-hook check: PASS\n").assert(summary.display(), &read(&summary));
    let load = dir.path().join("load.md");
    Test::new()
        .args(["send", "before-subscribe", "--url", &url, "--token", TOKEN])
        .args(["-n", "20", "-c", "2", "--annotations", "--summary"])
        .arg(&load)
        .stdout(lacks("::"))
        .run();
    starts(format!(
        "## oa-hook send: PASS\n\nTarget: `{url}`, concurrency 2, 20 requests in "
    ))
    .contains("\nDecisions: `subscribes` × 20\n")
    .assert(load.display(), &read(&load));
}

#[test]
fn a_failing_load_run_annotates_each_cause() {
    let serve = Test::serve()
        .args(["--token", TOKEN, "--status", "503"])
        .start();
    Test::new()
        .args([
            "send",
            "after-unsubscribe",
            "--url",
            &serve.url,
            "--token",
            TOKEN,
        ])
        .args(["-n", "5", "--annotations", "-q"])
        .status(1)
        .stdout(contains(
            "\n::error title=oa-hook send%3A http-status::5 answers of 5: HTTP 503 (expected 200)",
        ))
        .run();
}

#[test]
fn a_load_run_that_reaches_nothing_still_writes_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("load.md");
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    Test::new()
        .args([
            "send",
            "before-subscribe",
            "--url",
            &url,
            "-n",
            "3",
            "--summary",
        ])
        .arg(&summary)
        .status(3)
        .stderr(anything())
        .run();
    starts("## oa-hook send: UNREACHABLE\n").assert(summary.display(), &read(&summary));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_summarises_as_check_does() {
    let dir = tempfile::tempdir().unwrap();
    let record = crate::replay::recorded(dir.path()).await;
    let summary = dir.path().join("replay.md");
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    let test = Test::new()
        .arg("replay")
        .arg(&record)
        .args(["--url", &url, "--summary"])
        .arg(&summary)
        .status(3)
        .stdout(anything())
        .stderr(anything());
    tokio::task::spawn_blocking(move || test.run())
        .await
        .unwrap();
    starts("## oa-hook replay: UNREACHABLE\n").assert(summary.display(), &read(&summary));
}

#[test]
fn summary_and_annotation_mistakes_say_what_to_give() {
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    Test::new()
        .args(["send", "before-subscribe", "--url", &url, "--summary", "s.md"])
        .status(2)
        .stderr("oa-hook: error: --summary and --annotations are for load mode\n  hint: add --count N or --duration D (e.g. --count 1000); one callback's verdict is the exit code\n")
        .run();
    let report = Test::new()
        .args(["check", "--url", &url, "--annotations", "-o", "json"])
        .status(2)
        .stderr(anything())
        .run_json();
    assert_eq!(
        report["stopped"]["message"],
        "--annotations prints workflow commands on stdout, where --output json prints one JSON document"
    );
    Test::new()
        .args(["check", "--url", &url, "--summary", "/nonexistent/dir/s.md"])
        .status(2)
        .stderr(starts(
            "oa-hook: error: cannot write --summary /nonexistent/dir/s.md: ",
        ))
        .run();
}
