//! The two writers of `serve`, each on its own thread so neither can hold the other up: event
//! lines to stdout, which may be a paused terminal or a pipe nobody reads, and the record, which
//! must keep every callback that was answered.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Event lines waiting for stdout; past this many, new ones are dropped (and counted).
const EVENT_QUEUE: usize = 4096;

/// Record lines waiting for the disk; past this many, answering waits for the disk.
const RECORD_QUEUE: usize = 1024;

/// Between two batches a writer waits this long, so that under load many lines share one write
/// and requests do not each pay for waking the writer; an idle writer blocks until a line comes.
const COALESCE: Duration = Duration::from_millis(1);

/// Says something on stderr, once, from any thread.
fn say_once(said: &AtomicBool, what: &str) {
    if !said.swap(true, Ordering::Relaxed) {
        let _ = writeln!(io::stderr(), "oa-hook: {what}");
    }
}

/// Event lines for stdout. Queuing never waits: a line that does not fit is dropped, counted,
/// and said once on stderr, so a stuck stdout costs neither time nor memory.
pub(crate) struct Events {
    queue: mpsc::Sender<String>,
    shared: Arc<EventCounts>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct EventCounts {
    queued: AtomicU64,
    printed: AtomicU64,
    dropped: AtomicU64,
    said_slow: AtomicBool,
    said_closed: AtomicBool,
    done: AtomicBool,
}

impl Events {
    pub(crate) fn start() -> io::Result<Self> {
        let (queue, lines) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(EventCounts::default());
        let counts = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("oa-hook events".into())
            .spawn(move || write_events(lines, &counts))?;
        Ok(Events {
            queue,
            shared,
            thread,
        })
    }

    pub(crate) fn line(&self, line: String) {
        if self.queue.try_send(line).is_ok() {
            self.shared.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            say_once(
                &self.shared.said_slow,
                "stdout is not keeping up (a paused terminal, or a pipe nobody reads): event lines are dropped until it does; the record keeps every callback",
            );
        }
    }

    /// Lets the writer finish what is queued, waiting at most `patience` for a stdout that may
    /// never take it; returns how many lines were not printed (dropped, or still queued).
    pub(crate) fn finish(self, patience: Duration) -> u64 {
        let Events {
            queue,
            shared,
            thread,
        } = self;
        drop(queue);
        let started = Instant::now();
        while !shared.done.load(Ordering::Relaxed) && started.elapsed() < patience {
            std::thread::sleep(COALESCE);
        }
        if shared.done.load(Ordering::Relaxed) {
            let _ = thread.join();
        }
        let waiting = shared
            .queued
            .load(Ordering::Relaxed)
            .saturating_sub(shared.printed.load(Ordering::Relaxed));
        shared.dropped.load(Ordering::Relaxed) + waiting
    }
}

/// Waits for a line, then takes every line queued behind it into `batch`, each ended by a
/// newline; says how many, or `None` once every sender is gone and nothing is left.
fn next_batch<L: AsRef<[u8]>>(lines: &mut mpsc::Receiver<L>, batch: &mut Vec<u8>) -> Option<u64> {
    let first = lines.blocking_recv()?;
    let mut taken = 0;
    for line in std::iter::once(first).chain(std::iter::from_fn(|| lines.try_recv().ok())) {
        batch.extend_from_slice(line.as_ref());
        batch.push(b'\n');
        taken += 1;
    }
    Some(taken)
}

fn write_events(mut lines: mpsc::Receiver<String>, counts: &EventCounts) {
    let mut batch = Vec::new();
    let mut open = true;
    while let Some(taken) = next_batch(&mut lines, &mut batch) {
        if open && let Err(e) = io::stdout().lock().write_all(&batch) {
            open = false;
            say_once(
                &counts.said_closed,
                &format!(
                    "stdout was closed ({e}): event lines are no longer printed; serve goes on answering and the record keeps every callback"
                ),
            );
        }
        // Lines that reach a closed stdout are not printed: they stay counted as queued.
        if open {
            counts.printed.fetch_add(taken, Ordering::Relaxed);
        }
        batch.clear();
        std::thread::sleep(COALESCE);
    }
    counts.done.store(true, Ordering::Relaxed);
}

/// The `--record` file. Queuing waits when the disk is behind, so that every callback answered
/// is recorded; lines are written whole or not at all.
pub(crate) struct Record {
    queue: mpsc::Sender<Vec<u8>>,
    thread: JoinHandle<Recorded>,
}

/// What the record writer did.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub lines: u64,
    /// Lines that could not be written, and why the first could not.
    pub lost: u64,
    pub error: Option<io::Error>,
}

impl Record {
    pub(crate) fn start(file: File, path: PathBuf) -> io::Result<Self> {
        let (queue, lines) = mpsc::channel(RECORD_QUEUE);
        let thread = std::thread::Builder::new()
            .name("oa-hook record".into())
            .spawn(move || write_record(lines, file, &path))?;
        Ok(Record { queue, thread })
    }

    /// A handle for request handlers to queue lines with.
    pub(crate) fn queue(&self) -> mpsc::Sender<Vec<u8>> {
        self.queue.clone()
    }

    /// Waits until every queued line is written: call once no handler can queue any more.
    pub(crate) fn finish(self) -> Recorded {
        drop(self.queue);
        self.thread.join().unwrap_or_else(|_| Recorded {
            error: Some(io::Error::other("the record writer stopped unexpectedly")),
            ..Recorded::default()
        })
    }
}

fn write_record(mut lines: mpsc::Receiver<Vec<u8>>, mut file: File, path: &Path) -> Recorded {
    let mut recorded = Recorded::default();
    // Where the last whole line ends: a write that fails part way is cut back to it.
    let mut end = file.seek(SeekFrom::End(0)).ok();
    let mut batch = Vec::new();
    while let Some(taken) = next_batch(&mut lines, &mut batch) {
        if recorded.error.is_some() {
            recorded.lost += taken;
        } else {
            match file.write_all(&batch).and_then(|()| file.flush()) {
                Ok(()) => {
                    recorded.lines += taken;
                    end = end.map(|end| end + batch.len() as u64);
                }
                Err(e) => {
                    if let Some(end) = end {
                        let _ = file.set_len(end);
                    }
                    let _ = writeln!(
                        io::stderr(),
                        "oa-hook: error: cannot write to --record {}: {e}; callbacks from now on are answered but not recorded",
                        path.display()
                    );
                    recorded.lost += taken;
                    recorded.error = Some(e);
                }
            }
        }
        batch.clear();
        std::thread::sleep(COALESCE);
    }
    recorded
}
