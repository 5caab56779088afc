//! Load mode's progress bar: drawn from the run's counters, so that the workers never touch it.

use super::Run;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// A progress bar on stderr, fed from the run's counters ten times a second so that the
/// workers never touch it: a bar of requests with --count, else of the time with --duration.
pub(super) async fn bar(run: Arc<Run>, start: Instant) {
    let plan = &run.plan;
    let (length, template) = match (plan.count, plan.duration) {
        (Some(count), _) => (
            Some(count),
            "{elapsed_precise} {wide_bar} {pos}/{len} {msg}",
        ),
        (None, duration) => (
            duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            "{elapsed_precise} {wide_bar} {msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let _clear = ClearOnDrop(bar.clone());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let elapsed = start.elapsed();
        let issued = run.issued.load(Ordering::Relaxed);
        let issued = plan.count.map_or(issued, |count| issued.min(count));
        bar.set_message(progress_words(&Progress {
            // Each worker has taken the number of the request it is sending or waiting to
            // send: at least this many are done, which keeps the rate honest at the start.
            done: issued.saturating_sub(plan.concurrency),
            failed: run.failed.load(Ordering::Relaxed),
            elapsed,
            count: plan.count,
            duration: plan.duration,
        }));
        bar.set_position(match plan.count {
            Some(_) => issued,
            None => u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        });
    }
}

/// Where a run stands, for the progress bar.
struct Progress {
    done: u64,
    failed: u64,
    elapsed: Duration,
    count: Option<u64>,
    duration: Option<Duration>,
}

/// The words after the bar: requests (when the bar is of time), the rate, the failures so far,
/// and the time until the run ends: the ETA of --count, or what is left of --duration,
/// whichever comes first.
fn progress_words(p: &Progress) -> String {
    let secs = p.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        p.done as f64 / secs
    } else {
        0.0
    };
    let eta = p.count.and_then(|count| {
        let left = count.saturating_sub(p.done) as f64;
        Duration::try_from_secs_f64(left / rate).ok()
    });
    let left = p.duration.map(|d| d.saturating_sub(p.elapsed));
    let mut words = Vec::new();
    if p.count.is_none() {
        words.push(crate::output::count(
            usize::try_from(p.done).unwrap_or(usize::MAX),
            "request",
        ));
    }
    words.push(format!("{rate:.0}/s"));
    words.push(format!("{} failed", p.failed));
    words.push(match (p.count, eta, left) {
        (Some(_), Some(eta), Some(left)) if left < eta => format!("{} left", short(left)),
        (Some(_), Some(eta), _) => format!("ETA {}", short(eta)),
        (Some(_), None, _) => "ETA -".to_owned(),
        (None, _, Some(left)) => format!("{} left", short(left)),
        (None, _, None) => return words.join(", "),
    });
    words.join(", ")
}

/// A duration to the second, as a progress bar shows it: 45s, 2m05s, 1h02m.
fn short(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// Clears the bar when its task is aborted at the end of the run.
struct ClearOnDrop(ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(
        done: u64,
        failed: u64,
        secs: u64,
        count: Option<u64>,
        duration: Option<u64>,
    ) -> String {
        progress_words(&Progress {
            done,
            failed,
            elapsed: Duration::from_secs(secs),
            count,
            duration: duration.map(Duration::from_secs),
        })
    }

    #[test]
    fn the_progress_bar_says_rate_failures_and_time_to_go() {
        assert_eq!(
            words(200, 3, 2, Some(1000), None),
            "100/s, 3 failed, ETA 8s"
        );
        assert_eq!(words(0, 0, 0, Some(1000), None), "0/s, 0 failed, ETA -");
        assert_eq!(
            words(500, 0, 5, None, Some(3605)),
            "500 requests, 100/s, 0 failed, 1h00m left"
        );
        assert_eq!(
            words(100, 0, 1, Some(100_000), Some(65)),
            "100/s, 0 failed, 1m04s left"
        );
        assert_eq!(
            words(100, 0, 1, Some(150), Some(65)),
            "100/s, 0 failed, ETA 1s"
        );
        assert_eq!(words(1, 1, 1, None, None), "1 request, 1/s, 1 failed");
    }
}
