//! Load mode of `send`: `--concurrency` workers share one body, take request numbers from an
//! atomic counter, and tally their own results; the tallies are merged at the end, so nothing
//! on the request path takes a lock. Over plain HTTP each worker keeps its own connection, as
//! Chat does; over HTTPS they share the client's pool.

use crate::cli::{OutputFormat, SendArgs};
use crate::client::{Exchange, Sender, TransportError};
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{
    BUDGET, Evidence, Expectation, Finding, Severity, judge, judge_broken, judge_no_answer,
};
use crate::report::load::{self as render, Group, Percentiles, Summary};
use crate::request::Template;
use bytes::Bytes;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

pub fn run(
    args: &SendArgs,
    template: Template,
    clock: &Clock,
    runtime: &Runtime,
) -> Result<Outcome> {
    let sender = Sender::new(&args.target, &template.base, args.load.concurrency as usize)?;
    super::send::note_if_unsigned(args, &template)?;
    let run = Run {
        sender,
        body: Bytes::from(template.body_bytes.clone()),
        template,
        expectation: args.expect.expectation(),
        clock: *clock,
        concurrency: args.load.concurrency,
        count: args.load.count,
        duration: args.load.duration,
        rate: args.load.rate,
        timeout: args.target.timeout,
        issued: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        reached_any: AtomicBool::new(false),
        stop: watch::Sender::new(false),
    };
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let summary = runtime.block_on(drive(Arc::new(run), show_progress))?;
    if let Some((message, hint)) = summary.unreachable() {
        return Err(
            Error::unreachable(format!("no request reached the target: {message}")).hint(hint),
        );
    }
    let text = match args.output {
        OutputFormat::Human => render::human(&summary, args.quiet),
        OutputFormat::Json => {
            serde_json::to_string_pretty(&render::json(&summary)).unwrap_or_default() + "\n"
        }
    };
    output::stdout().write_all(text.as_bytes())?;
    Ok(Outcome::from_pass(summary.passed()))
}

/// The run's settings, and what its workers share: read-only but for the atomics.
struct Run {
    /// Each worker sends with [`Sender::another`] of it.
    sender: Sender,
    template: Template,
    /// The body, built once; cloning `Bytes` shares it.
    body: Bytes,
    expectation: Expectation,
    clock: Clock,
    concurrency: u64,
    count: Option<u64>,
    duration: Option<Duration>,
    rate: Option<f64>,
    timeout: Duration,
    /// How many request numbers have been handed out.
    issued: AtomicU64,
    /// How many requests came out other than a conforming answer so far, for the progress bar.
    failed: AtomicU64,
    /// Whether any request got an answer, even a broken one: until one has, a connection error
    /// stops the run.
    reached_any: AtomicBool,
    /// Set to stop every worker at once (deadline, Ctrl-C, unreachable target).
    stop: watch::Sender<bool>,
}

impl Run {
    /// The next request's number, or `None` when the run is over.
    fn next(&self) -> Option<u64> {
        if *self.stop.borrow() {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        self.count.is_none_or(|count| n < count).then_some(n)
    }
}

async fn drive(run: Arc<Run>, show_progress: bool) -> Result<Summary> {
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..run.concurrency {
        workers.spawn(worker(Arc::clone(&run), start, Tally::new(run.timeout)?));
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    let stopper = tokio::spawn(stop_on_deadline_or_ctrl_c(
        Arc::clone(&run),
        // A deadline past what the clock can hold never comes (--duration is bounded anyway).
        run.duration.and_then(|d| start.checked_add(d)),
        Arc::clone(&interrupted),
    ));
    let progress = show_progress.then(|| tokio::spawn(progress(Arc::clone(&run), start)));
    let mut total = Tally::new(run.timeout)?;
    while let Some(tally) = workers.join_next().await {
        total.merge(tally.map_err(|e| Error::usage(format!("a load worker failed: {e}")))?)?;
    }
    let elapsed = start.elapsed();
    stopper.abort();
    if let Some(progress) = progress {
        progress.abort();
        // The bar is cleared when the aborted task is dropped; wait for that before printing.
        let _ = progress.await;
    }
    Ok(total.into_summary(&run, elapsed, interrupted.load(Ordering::Relaxed)))
}

async fn stop_on_deadline_or_ctrl_c(
    run: Arc<Run>,
    deadline: Option<Instant>,
    interrupted: Arc<AtomicBool>,
) {
    let deadline = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = deadline => {}
        Ok(()) = tokio::signal::ctrl_c() => interrupted.store(true, Ordering::Relaxed),
    }
    run.stop.send_replace(true);
}

/// A progress bar on stderr, fed from the run's counters ten times a second so that the
/// workers never touch it: a bar of requests with --count, else of the time with --duration.
async fn progress(run: Arc<Run>, start: Instant) {
    let (length, template) = match (run.count, run.duration) {
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
        let issued = run.count.map_or(issued, |count| issued.min(count));
        bar.set_message(progress_words(&Progress {
            // Each worker has taken the number of the request it is sending or waiting to
            // send: at least this many are done, which keeps the rate honest at the start.
            done: issued.saturating_sub(run.concurrency),
            failed: run.failed.load(Ordering::Relaxed),
            elapsed,
            count: run.count,
            duration: run.duration,
        }));
        bar.set_position(match run.count {
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
        words.push(crate::report::count(
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

async fn worker(run: Arc<Run>, start: Instant, mut tally: Tally) -> Tally {
    let mut stopped = run.stop.subscribe();
    // Over plain HTTP a connection of the worker's own, as Chat keeps several.
    let mut sender = run.sender.another();
    let mut url = PerSecond::default();
    while let Some(n) = run.next() {
        // A stop (deadline, Ctrl-C) abandons the request in flight; it is not counted.
        let result = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            result = send(&run, start, n, &mut sender, &mut url) => result,
        };
        tally.record(&run, result);
    }
    tally
}

/// Sends request number `n`, no earlier than `--rate` allows: request n is due n/rate seconds
/// after the start, a schedule all workers share without a lock.
async fn send(
    run: &Run,
    start: Instant,
    n: u64,
    sender: &mut Sender,
    url: &mut PerSecond<Url>,
) -> Result<Exchange, TransportError> {
    if let Some(rate) = run.rate {
        match due(start, n, rate) {
            Some(at) => tokio::time::sleep_until(at).await,
            // Due later than the clock can say: it waits for the run to stop.
            None => std::future::pending().await,
        }
    }
    let url = url.at(run.clock.now_secs(), |t| run.template.url_at(t));
    sender.post(url, run.body.clone()).await
}

/// When request `n` is due at `rate` requests per second; `None` past what an `Instant` holds.
fn due(start: Instant, n: u64, rate: f64) -> Option<Instant> {
    start.checked_add(Duration::try_from_secs_f64(n as f64 / rate).ok()?)
}

/// What depends on RequestTime alone, made again when the second changes. Sign depends only
/// on the token and RequestTime, so this gives every request the Sign Chat would send at that
/// moment without a SHA-256 and a URL build per request.
struct PerSecond<T> {
    made: Option<(u64, T)>,
}

impl<T> Default for PerSecond<T> {
    fn default() -> Self {
        PerSecond { made: None }
    }
}

impl<T> PerSecond<T> {
    fn at(&mut self, request_time: u64, make: impl FnOnce(u64) -> T) -> &T {
        let made = match self.made.take() {
            Some((time, value)) if time == request_time => (time, value),
            _ => (request_time, make(request_time)),
        };
        &self.made.insert(made).1
    }
}

/// One worker's results.
struct Tally {
    sent: u64,
    answered: u64,
    conforming: u64,
    over_budget: u64,
    latency_us: Histogram<u64>,
    failures: BTreeMap<&'static str, Group>,
    warnings: BTreeMap<&'static str, Group>,
    transport_errors: BTreeMap<String, Group>,
}

impl Tally {
    /// Latencies are bounded by the client's timeout; twice that (and at least twice the
    /// budget) leaves room without resizing on the request path.
    fn new(timeout: Duration) -> Result<Self> {
        let high =
            u64::try_from(timeout.max(BUDGET).as_micros().saturating_mul(2)).unwrap_or(u64::MAX);
        let latency_us = Histogram::new_with_bounds(1, high, 3)
            .map_err(|e| Error::usage(format!("cannot set up the latency histogram: {e}")))?;
        Ok(Tally {
            sent: 0,
            answered: 0,
            conforming: 0,
            over_budget: 0,
            latency_us,
            failures: BTreeMap::new(),
            warnings: BTreeMap::new(),
            transport_errors: BTreeMap::new(),
        })
    }

    fn record(&mut self, run: &Run, result: Result<Exchange, TransportError>) {
        let callback = run.template.callback;
        let subscribers = &run.template.subscribers;
        self.sent += 1;
        let judgement = match result {
            Ok(exchange) => {
                self.answered += 1;
                if self.answered == 1 {
                    run.reached_any.store(true, Ordering::Relaxed);
                }
                self.latency_us.saturating_record(
                    u64::try_from(exchange.latency.as_micros()).unwrap_or(u64::MAX),
                );
                if exchange.latency > BUDGET {
                    self.over_budget += 1;
                }
                judge(callback, subscribers, exchange.reply())
            }
            Err(TransportError::Timeout(waited)) => {
                if waited >= BUDGET {
                    self.over_budget += 1;
                }
                judge_no_answer(callback, subscribers, waited)
            }
            Err(TransportError::Broken(message)) => {
                run.reached_any.store(true, Ordering::Relaxed);
                judge_broken(callback, &message)
            }
            Err(TransportError::Unreachable { message, hint }) => {
                // Until something has answered, a connection error means a wrong URL or a
                // backend that is down: stop rather than fail the same way N times.
                if !run.reached_any.load(Ordering::Relaxed) {
                    run.stop.send_replace(true);
                }
                add(&mut self.transport_errors, message, || hint);
                run.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let unmet = run.expectation.check(&judgement.decision);
        if judgement.conforms() && unmet.is_none() {
            self.conforming += 1;
        } else {
            run.failed.fetch_add(1, Ordering::Relaxed);
        }
        // Groups count answers, so a code that appears twice in one answer counts once.
        let error_info = judgement.evidence.as_ref().and_then(Evidence::error_info);
        let findings = &judgement.findings;
        for (i, finding) in findings.iter().enumerate() {
            let repeated = findings[..i]
                .iter()
                .any(|f| f.code == finding.code && f.severity == finding.severity);
            if !repeated {
                self.count(finding, error_info);
            }
        }
        if let Some(unmet) = &unmet {
            self.count(unmet, error_info);
        }
    }

    /// Counts `finding` in its group; the group's example quotes the backend's `ErrorInfo`
    /// when the answer had one, since it is often the only explanation a backend gives.
    fn count(&mut self, finding: &Finding, error_info: Option<&str>) {
        let groups = match finding.severity {
            Severity::Error => &mut self.failures,
            Severity::Warning => &mut self.warnings,
        };
        add(groups, finding.code, || match error_info {
            Some(info) => format!(
                "{}; ErrorInfo {}",
                finding.message,
                serde_json::Value::String(info.to_owned())
            ),
            None => finding.message.clone(),
        });
    }

    fn merge(&mut self, other: Tally) -> Result<()> {
        self.sent += other.sent;
        self.answered += other.answered;
        self.conforming += other.conforming;
        self.over_budget += other.over_budget;
        self.latency_us
            .add(&other.latency_us)
            .map_err(|e| Error::usage(format!("cannot merge latencies: {e}")))?;
        merge_groups(&mut self.failures, other.failures);
        merge_groups(&mut self.warnings, other.warnings);
        merge_groups(&mut self.transport_errors, other.transport_errors);
        Ok(())
    }

    fn into_summary(self, run: &Run, elapsed: Duration, interrupted: bool) -> Summary {
        let latency = &self.latency_us;
        Summary {
            url: crate::report::masked(&run.template.base).to_string(),
            concurrency: run.concurrency,
            sent: self.sent,
            answered: self.answered,
            conforming: self.conforming,
            over_budget: self.over_budget,
            elapsed,
            latency: (self.answered > 0).then(|| Percentiles {
                p50: latency.value_at_quantile(0.5),
                p90: latency.value_at_quantile(0.9),
                p99: latency.value_at_quantile(0.99),
                max: latency.max(),
            }),
            interrupted,
            failures: self.failures,
            warnings: self.warnings,
            transport_errors: self.transport_errors,
        }
    }
}

/// Counts one more in `key`'s group, taking the example from the first.
fn add<K: Ord>(groups: &mut BTreeMap<K, Group>, key: K, example: impl FnOnce() -> String) {
    groups
        .entry(key)
        .or_insert_with(|| Group {
            count: 0,
            example: example(),
        })
        .count += 1;
}

fn merge_groups<K: Ord>(into: &mut BTreeMap<K, Group>, from: BTreeMap<K, Group>) {
    for (key, group) in from {
        into.entry(key)
            .and_modify(|g| g.count += group.count)
            .or_insert(group);
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

    #[test]
    fn a_request_due_past_the_clocks_end_is_never_due() {
        let start = Instant::now();
        assert_eq!(
            due(start, 3, 2.0),
            Some(start + Duration::from_millis(1500))
        );
        assert_eq!(due(start, 1, 1e-300), None);
        assert_eq!(due(start, u64::MAX, f64::MIN_POSITIVE), None);
    }
}
