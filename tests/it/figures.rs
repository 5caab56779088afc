//! The figures of BENCHMARKS.md: how many generated callbacks, and how long, `check` takes to
//! find each flaw planted in a backend, at the default N, over ten seeds; and the delivery
//! cases' time against theirs. Ignored: `bash bench/flaws.sh` runs it in an optimized build.

use crate::delivery::{CountsTwice, LocksOnAHalfDoneRequest, WantsBeforeFinished, plain_backend};
use crate::fuzz::{CrashesOnA32ByteUserId, DecidesByTheFirst, RefusesWhomItWasNotSent};
use crate::support::{Test, anything, backend, case};
use serde_json::Value;
use std::time::Instant;

/// `oa-hook check --url URL --output json ARGS` in a directory of its own: the report, and
/// how long the run took.
async fn check(url: String, args: Vec<String>) -> (Value, f64) {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let output = Test::new()
            .current_dir(dir.path())
            .args(["check", "--url", &url, "--output", "json"])
            .args(args)
            .status(1)
            .stdout(anything())
            .run();
        let seconds = started.elapsed().as_secs_f64();
        (output.json(), seconds)
    })
    .await
    .unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn cases_and_seconds_to_find_each_planted_flaw() {
    let planted = [
        (
            "500 on a 32-byte UserID",
            "fuzz/no-server-error",
            backend(CrashesOnA32ByteUserId).await,
        ),
        (
            "refuses a subscriber it was not sent",
            "fuzz/refused-were-sent",
            backend(RefusesWhomItWasNotSent).await,
        ),
        (
            "decision depends on the order",
            "fuzz/same-decision",
            backend(DecidesByTheFirst).await,
        ),
    ];
    println!(
        "| flaw | case | callbacks to find it (median / max of 10 seeds) | seconds to find and shrink (median / max) | whole run, s (median) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (flaw, id, server) in &planted {
        let (mut found, mut seconds, mut runs) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 1..=10 {
            let args = ["--only", "fuzz", "--fuzz", "--seed", &seed.to_string()];
            let (report, run) = check(
                format!("{}/im", server.uri()),
                args.iter().map(|a| (*a).to_owned()).collect(),
            )
            .await;
            let failure = &case(&report, id)["fuzz"]["failure"];
            assert!(failure.is_object(), "seed {seed}: {report:#}");
            found.push(failure["found_at"].as_f64().unwrap());
            let ms = failure["found_after_ms"].as_f64().unwrap()
                + failure["shrink_ms"].as_f64().unwrap();
            seconds.push(ms / 1000.0);
            runs.push(run);
        }
        println!(
            "| {flaw} | `{id}` | {} / {} | {:.2} / {:.2} | {:.2} |",
            median(found.clone()),
            max(&found),
            median(seconds.clone()),
            max(&seconds),
            median(runs)
        );
    }
    let duplicates = backend(CountsTwice::default()).await;
    let delivery = [
        (
            "double-counts and fails the second duplicate",
            "delivery/duplicate",
            format!("{}/im", duplicates.uri()),
        ),
        (
            "hangs on a half-done request",
            "delivery/abandoned",
            plain_backend(LocksOnAHalfDoneRequest::default()),
        ),
        (
            "wants its before callback finished",
            "delivery/out-of-order",
            plain_backend(WantsBeforeFinished::default()),
        ),
    ];
    for (flaw, id, url) in delivery {
        let (report, seconds) = check(url, vec!["--only".to_owned(), id.to_owned()]).await;
        assert_eq!(case(&report, id)["status"], "fail", "{report:#}");
        println!("| {flaw} | `{id}` | 1 case | {seconds:.2} (the whole run, --timeout 5s) | |");
    }
}
