//! The load engine behind `send -n/-c/--duration`: `--concurrency` workers, spread over one
//! thread per core, share one body, take request numbers from an atomic counter, and tally
//! their results in their thread's tally; the tallies are merged at the end, so nothing on the
//! request path takes a lock another thread takes. Each worker has a sender of its own: over
//! plain HTTP its own connection, as Chat does; over HTTPS a shared pool.

use crate::client::{Exchange, Sender, TransportError};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::expect::Expectation;
use crate::interrupt::Interrupts;
use crate::memo::{Judged, Memo, ReplyTo};
use crate::protocol::{Judgement, judge};
use crate::record::Answered;
use crate::request::Template;
use crate::runtime::Cores;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tally::Tally;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

mod progress;
mod summary;
mod tally;

pub(crate) use summary::{Bucket, Group, Percentiles, Summary};

/// What a run sends, to where, and for how long.
pub(crate) struct Plan {
    /// Each worker sends with [`Sender::another`] of it.
    pub sender: Sender,
    pub template: Template,
    pub expectation: Expectation,
    pub clock: Clock,
    pub concurrency: u64,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub rate: Option<f64>,
    /// The sender's timeout, which bounds the latencies to keep.
    pub timeout: Duration,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// `--max-late`: the percent of before callbacks that may go ahead on Chat's timeout
    /// without failing the run (else none may).
    pub max_late: Option<f64>,
    /// `--strict`: an answer with a warning fails.
    pub strict: bool,
}

/// Runs `plan` to its end (count, duration, Ctrl-C, or a target that cannot be reached) and
/// sums up what came back.
pub(crate) async fn run(plan: Plan) -> Result<Summary> {
    let run = Run {
        body: Bytes::from(plan.template.body_bytes.clone()),
        plan,
        issued: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        reached_any: AtomicBool::new(false),
        stop: watch::Sender::new(false),
    };
    drive(Arc::new(run)).await
}

/// The run's plan, and what its workers share: read-only but for the atomics.
struct Run {
    plan: Plan,
    /// The body, built once; cloning `Bytes` shares it.
    body: Bytes,
    /// How many request numbers have been handed out.
    issued: AtomicU64,
    /// How many requests came out other than a conforming answer so far, for the progress bar.
    failed: AtomicU64,
    /// Whether any request got an answer, even a broken one: until one has, a connection error
    /// stops the run.
    reached_any: AtomicBool,
    /// Set to stop every worker at once (deadline, a signal, unreachable target), and once
    /// every worker is done.
    stop: watch::Sender<bool>,
}

impl Run {
    /// The next request's number, or `None` when the run is over.
    fn next(&self) -> Option<u64> {
        if *self.stop.borrow() {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        self.plan.count.is_none_or(|count| n < count).then_some(n)
    }
}

async fn drive(run: Arc<Run>) -> Result<Summary> {
    let plan = &run.plan;
    let start = Instant::now();
    let interrupts = Interrupts::listen()
        .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
    // Workers go to one current-thread runtime per core, as wrk runs one event loop per
    // thread: a worker's task and its connection's then always share a thread, wake each
    // other without atomics shared between cores or a futex, and nothing is stolen; every
    // cycle the generator saves goes to the server it drives on the same cores.
    let wanted = usize::try_from(plan.concurrency).unwrap_or(usize::MAX);
    let mut cores = Cores::start("oa-hook load", crate::runtime::cores().min(wanted));
    let threads = u64::try_from(cores.count()).unwrap_or(u64::MAX);
    let mut own = 0;
    let mut others = Vec::new();
    for thread in 0..threads {
        let count = share(plan.concurrency, threads, thread);
        match cores.next() {
            Some(core) => others.push(core.spawn(workers(Arc::clone(&run), start, count))),
            None => own = count,
        }
    }
    let stopper = tokio::spawn(stop_on_deadline_or_signal(
        Arc::clone(&run),
        // A deadline past what the clock can hold never comes (--duration is bounded anyway).
        plan.duration.and_then(|d| start.checked_add(d)),
        interrupts.clone(),
    ));
    let progress = plan
        .progress
        .then(|| tokio::spawn(progress::bar(Arc::clone(&run), start)));
    let mut total = workers(Arc::clone(&run), start, own).await;
    for other in others {
        let tally = other.await.unwrap_or_else(|e| Err(worker_failed(&e)));
        total = total.and_then(|mut total| total.merge(tally?).map(|()| total));
    }
    let elapsed = start.elapsed();
    // Every worker is done: the other cores may let their runtimes go (over HTTPS, one's
    // connections may have carried another's requests until now).
    cores.stop().await;
    stopper.abort();
    if let Some(progress) = progress {
        progress.abort();
        // The bar is cleared when the aborted task is dropped; wait for that before printing.
        let _ = progress.await;
    }
    let mut summary = total?.into_summary(
        crate::output::masked(&plan.template.base).to_string(),
        plan.concurrency,
        elapsed,
        planned(plan),
        interrupts.received(),
    );
    summary.max_late = plan.max_late;
    Ok(summary)
}

/// How many of `concurrency` workers thread number `thread` of `threads` runs.
fn share(concurrency: u64, threads: u64, thread: u64) -> u64 {
    concurrency / threads + u64::from(thread < concurrency % threads)
}

/// Runs `count` workers on the current runtime; their tally.
async fn workers(run: Arc<Run>, start: Instant, count: u64) -> Result<Tally> {
    // The workers of a thread count into one tally, whose lock no other thread takes: a
    // latency histogram per worker (at -c 64, 32 of them on a core, each with ~16 KiB of
    // counters in use) did not stay in the core's caches.
    let tally = Arc::new(Mutex::new(Tally::new(run.plan.timeout)?));
    let mut workers = JoinSet::new();
    for _ in 0..count {
        workers.spawn(worker(Arc::clone(&run), start, Arc::clone(&tally)));
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|e| worker_failed(&e))?;
    }
    let tally = Arc::into_inner(tally).ok_or_else(|| worker_failed(&"its tally is still held"))?;
    Ok(tally.into_inner().unwrap_or_else(PoisonError::into_inner))
}

fn worker_failed(e: &dyn std::fmt::Display) -> Error {
    Error::internal(format!("a load worker failed: {e}"))
}

/// What `plan` was to send, in words: "1000 requests", "20s", or both.
fn planned(plan: &Plan) -> String {
    let count = plan
        .count
        .map(|n| crate::output::count(usize::try_from(n).unwrap_or(usize::MAX), "request"));
    let duration = plan
        .duration
        .map(|d| humantime::format_duration(d).to_string());
    match (count, duration) {
        (Some(count), Some(duration)) => format!("{count} or {duration}"),
        (Some(planned), None) | (None, Some(planned)) => planned,
        (None, None) => "an open-ended run".to_owned(),
    }
}

async fn stop_on_deadline_or_signal(
    run: Arc<Run>,
    deadline: Option<Instant>,
    interrupts: Interrupts,
) {
    let deadline = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = deadline => {}
        _ = interrupts.wait() => {}
    }
    run.stop.send_replace(true);
}

async fn worker(run: Arc<Run>, start: Instant, tally: Arc<Mutex<Tally>>) {
    let mut stop = run.stop.subscribe();
    // One wait for the stop, for all of the worker's requests: a wait made per request put
    // itself on the watch's list of waiters and took itself off again, each under its lock.
    let mut stopped = std::pin::pin!(stop.changed());
    // Over plain HTTP a connection of the worker's own, as Chat keeps several.
    let mut sender = run.plan.sender.another();
    let mut url = Memo::default();
    // A backend gives the same answer over and over: it is judged once.
    let mut latest = Memo::default();
    while let Some(n) = run.next() {
        // A stop (deadline, Ctrl-C) abandons the request in flight; it is not counted.
        let result = tokio::select! {
            biased;
            _ = &mut stopped => break,
            result = send(&run, start, n, &mut sender, &mut url) => result,
        };
        let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
        record(&run, &mut tally, &mut latest, result);
    }
}

/// Counts one request's result in its worker's tally, and tells the other workers what they
/// need to know: how many failed, and whether the target was reached.
fn record(
    run: &Run,
    tally: &mut Tally,
    latest: &mut Memo<Judged, Judgement>,
    result: Result<Exchange, TransportError>,
) {
    let template = &run.plan.template;
    tally.lost.count(Some(template.callback), &result);
    let other;
    let judgement = match result {
        Ok(exchange) => {
            if tally.answered(exchange.status, exchange.latency) == 1 {
                run.reached_any.store(true, Ordering::Relaxed);
            }
            let key = ReplyTo {
                callback: Some(template.callback),
                subscribers: &template.subscribers,
                reply: exchange.reply(),
            };
            latest.get(
                |kept| key.is(kept),
                || key.kept(),
                || judge(template.callback, &template.subscribers, key.reply),
            )
        }
        Err(e) => match e.answered() {
            Some(answered) => {
                match answered {
                    Answered::Nothing(waited) => tally.waited(waited),
                    _ => run.reached_any.store(true, Ordering::Relaxed),
                }
                other = answered.judge(template.callback, &template.subscribers);
                &other
            }
            None => {
                // Until something has answered, a connection error means a wrong URL or a
                // backend that is down: stop rather than fail the same way N times.
                if !run.reached_any.load(Ordering::Relaxed) {
                    run.stop.send_replace(true);
                }
                if let TransportError::Unreachable { message, hint } = e {
                    tally.unreachable(message, hint);
                }
                run.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        },
    };
    let unmet = run.plan.expectation.check(&judgement.decision).or_else(|| {
        run.plan
            .strict
            .then(|| crate::expect::strict(&judgement.findings))
            .flatten()
    });
    if !tally.judged(judgement, unmet.as_ref()) {
        run.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends request number `n`, no earlier than `--rate` allows: request n is due n/rate seconds
/// after the start, a schedule all workers share without a lock.
async fn send(
    run: &Run,
    start: Instant,
    n: u64,
    sender: &mut Sender,
    url: &mut Memo<u64, Url>,
) -> Result<Exchange, TransportError> {
    if let Some(rate) = run.plan.rate {
        match due(start, n, rate) {
            Some(at) => tokio::time::sleep_until(at).await,
            // Due later than the clock can say: it waits for the run to stop.
            None => std::future::pending().await,
        }
    }
    let plan = &run.plan;
    // Sign depends only on the token and RequestTime: every request of one second has the
    // Sign Chat would send then, without a SHA-256 and a URL build per request.
    let now = plan.clock.now_secs();
    let url = url.get(|&time| time == now, || now, || plan.template.url_at(now));
    sender.post(url, run.body.clone()).await
}

/// When request `n` is due at `rate` requests per second; `None` past what an `Instant` holds.
fn due(start: Instant, n: u64, rate: f64) -> Option<Instant> {
    start.checked_add(Duration::try_from_secs_f64(n as f64 / rate).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_due_at_their_number_over_the_rate() {
        let start = Instant::now();
        assert_eq!(due(start, 0, 10.0), Some(start));
        assert_eq!(
            due(start, 5, 10.0),
            Some(start + Duration::from_millis(500))
        );
        assert_eq!(due(start, 30, 10.0), Some(start + Duration::from_secs(3)));
        assert_eq!(
            due(start, 1, 1000.0),
            Some(start + Duration::from_millis(1))
        );
    }

    #[test]
    fn the_workers_are_shared_out_evenly_between_the_threads() {
        let shares = |concurrency, threads| {
            (0..threads)
                .map(|thread| share(concurrency, threads, thread))
                .collect::<Vec<_>>()
        };
        assert_eq!(shares(64, 2), [32, 32]);
        assert_eq!(shares(5, 2), [3, 2]);
        assert_eq!(shares(7, 3), [3, 2, 2]);
        assert_eq!(shares(1, 1), [1]);
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
