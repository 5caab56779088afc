//! The two writers of `serve`, each on its own thread so neither can hold the other up: event
//! lines to stdout, which may be a paused terminal or a pipe nobody reads, and the record, which
//! must keep every callback that was answered.

use crate::record::RecordLine;
use serde::Serialize;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Event lines waiting for stdout; past this many, new ones are dropped (and counted).
const EVENT_QUEUE: usize = 4096;

/// Record lines waiting for the disk (a few MiB of lines); past this many, new ones are not
/// recorded (and counted), so that a record that stops taking them never delays an answer.
const RECORD_QUEUE: usize = 8192;

/// Between two batches a writer waits this long, so that under load many lines share one write
/// and requests do not each pay for waking the writer; an idle writer blocks until a line comes.
const COALESCE: Duration = Duration::from_millis(1);

/// The most a writer copies into one write. When the writer falls behind (its thread got no
/// CPU for some milliseconds) the lines wait in the queue, where they are already, rather than
/// in a copy as long as the backlog, whose room was kept for good: under wrk -c64 it grew to
/// 0.2 MiB of event lines and 0.5 MiB of record lines.
const BATCH_BYTES: usize = 32 * 1024;

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
    /// Event lines for stdout.
    pub(crate) fn start() -> io::Result<Self> {
        Self::to(io::stdout())
    }

    /// Event lines for `sink`.
    pub(crate) fn to(sink: impl Write + Send + 'static) -> io::Result<Self> {
        let (queue, lines) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(EventCounts::default());
        let counts = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("oa-hook events".into())
            .spawn(move || write_events(lines, sink, &counts))?;
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
    pub(crate) async fn finish(self, patience: Duration) -> u64 {
        let Events {
            queue,
            shared,
            thread,
        } = self;
        drop(queue);
        let _ = join_within(thread, &shared.done, patience).await;
        let waiting = shared
            .queued
            .load(Ordering::Relaxed)
            .saturating_sub(shared.printed.load(Ordering::Relaxed));
        shared.dropped.load(Ordering::Relaxed) + waiting
    }
}

/// What one batch took from a writer's queue.
struct Taken {
    lines: u64,
    /// Whether it took every line queued (else [`BATCH_BYTES`] stopped it).
    drained: bool,
}

/// Waits for a line, then takes the lines queued behind it into `batch`, each ended by a
/// newline, until none is left or the batch holds [`BATCH_BYTES`]; `None` once every sender
/// is gone and nothing is left.
fn next_batch<L: AsRef<[u8]>>(lines: &mut mpsc::Receiver<L>, batch: &mut Vec<u8>) -> Option<Taken> {
    let mut line = lines.blocking_recv()?;
    let mut taken = 0;
    loop {
        batch.extend_from_slice(line.as_ref());
        batch.push(b'\n');
        taken += 1;
        if batch.len() >= BATCH_BYTES {
            return Some(Taken {
                lines: taken,
                drained: false,
            });
        }
        match lines.try_recv() {
            Ok(next) => line = next,
            Err(_) => {
                return Some(Taken {
                    lines: taken,
                    drained: true,
                });
            }
        }
    }
}

/// Empties `batch` once written; after a batch that took every line queued, waits
/// [`COALESCE`] for more to share the next write. A writer that is behind goes on at once.
fn next_round(batch: &mut Vec<u8>, last: &Taken) {
    batch.clear();
    // No room kept for a line longer than a batch (a large body recorded).
    batch.shrink_to(2 * BATCH_BYTES);
    if last.drained {
        std::thread::sleep(COALESCE);
    }
}

fn write_events(mut lines: mpsc::Receiver<String>, mut sink: impl Write, counts: &EventCounts) {
    let mut batch = Vec::new();
    let mut open = true;
    while let Some(taken) = next_batch(&mut lines, &mut batch) {
        if open && let Err(e) = sink.write_all(&batch) {
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
            counts.printed.fetch_add(taken.lines, Ordering::Relaxed);
        }
        next_round(&mut batch, &taken);
    }
    counts.done.store(true, Ordering::Relaxed);
}

/// The `--record` file. Queuing never waits: a record that stops taking lines (a full disk, a
/// FIFO nobody reads) delays neither answers nor Ctrl-C; lines that do not fit the queue are
/// counted and said once, and serve then exits 2 as for a write error. Lines are appended
/// whole or not at all, and `SIGHUP` reopens the file by its path (after logrotate moved it).
pub(crate) struct Record {
    queue: RecordQueue,
    thread: JoinHandle<Recorded>,
    done: Arc<AtomicBool>,
}

/// Where request handlers queue record lines.
#[derive(Clone)]
pub(crate) struct RecordQueue {
    lines: mpsc::Sender<Vec<u8>>,
    shared: Arc<RecordCounts>,
}

#[derive(Default)]
struct RecordCounts {
    /// Lines that did not fit the queue.
    dropped: AtomicU64,
    said_full: AtomicBool,
    /// Set by `SIGHUP`: reopen the file by its path before the next write.
    reopen: AtomicBool,
    /// Lines the writer has taken from the queue and not yet written.
    in_hand: AtomicU64,
    /// The length of the last line queued (see [`RecordQueue::record`]).
    last_length: AtomicUsize,
}

/// What the record writer did.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub lines: u64,
    /// Lines that could not be written (a write error, a full queue, a writer that did not
    /// finish in time), and the first error.
    pub lost: u64,
    pub error: Option<io::Error>,
}

/// Where the record is written, and how.
pub(crate) enum Destination {
    /// A file opened (to append) before serve starts, so that a bad path is said at once.
    Opened(File),
    /// A FIFO or another special file, opened by the writer: opening a FIFO waits for a
    /// reader, which must not hold serve up.
    Special,
}

impl RecordQueue {
    /// Writes `line` and queues it. Its buffer is sized as the last line was, with room to
    /// spare: grown from serde_json's 128 bytes, a callback's line (1 KiB) took four copies
    /// and ended in 2 KiB, which it kept while it waited in the queue (with `--record` under
    /// wrk -c64, peak anonymous memory 3.8 -> 3.5 MiB, three alternating runs).
    pub(crate) fn record<E: Serialize>(&self, line: &RecordLine<'_, E>) {
        // A line of a large body sets no room for the next ones.
        let last = self
            .shared
            .last_length
            .load(Ordering::Relaxed)
            .min(BATCH_BYTES);
        let mut bytes = Vec::with_capacity(last + last / 8);
        line.write_json(&mut bytes);
        self.shared
            .last_length
            .store(bytes.len(), Ordering::Relaxed);
        self.line(bytes);
    }

    /// Queues `line`, or counts it as lost when the queue is full.
    fn line(&self, line: Vec<u8>) {
        if self.lines.try_send(line).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            say_once(
                &self.shared.said_full,
                "the --record destination is not taking lines (a full disk, a FIFO nobody reads): lines that do not fit its queue are NOT recorded; serve goes on answering and will exit 2",
            );
        }
    }
}

impl Record {
    pub(crate) fn start(destination: Destination, path: PathBuf) -> io::Result<Self> {
        let (lines, taken) = mpsc::channel(RECORD_QUEUE);
        let shared = Arc::new(RecordCounts::default());
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let done = Arc::clone(&done);
            std::thread::Builder::new()
                .name("oa-hook record".into())
                .spawn(move || {
                    let recorded = write_record(taken, destination, &path, &shared);
                    done.store(true, Ordering::Relaxed);
                    recorded
                })?
        };
        Ok(Record {
            queue: RecordQueue { lines, shared },
            thread,
            done,
        })
    }

    /// A handle for request handlers to queue lines with.
    pub(crate) fn queue(&self) -> RecordQueue {
        self.queue.clone()
    }

    /// What `SIGHUP` calls: it reopens the file by its path before the next line. It holds
    /// no queue, so the writer still ends when the last handler is gone.
    pub(crate) fn reopener(&self, path: &Path) -> impl Fn() + Send + 'static + use<> {
        let shared = Arc::clone(&self.queue.shared);
        let said = format!(
            "oa-hook: SIGHUP: reopening --record {} before its next line",
            path.display()
        );
        move || {
            shared.reopen.store(true, Ordering::Relaxed);
            let _ = writeln!(io::stderr(), "{said}");
        }
    }

    /// Lets the writer write what is queued, once no handler can queue any more; a
    /// destination that takes nothing for `patience` is given up, its lines counted as lost.
    pub(crate) async fn finish(self, patience: Duration) -> Recorded {
        let Record {
            queue,
            thread,
            done,
        } = self;
        let dropped = queue.shared.dropped.load(Ordering::Relaxed);
        let queued = queue.lines.max_capacity() - queue.lines.capacity();
        let shared = Arc::clone(&queue.shared);
        drop(queue);
        let mut recorded = if let Some(joined) = join_within(thread, &done, patience).await {
            joined.unwrap_or_else(|_| Recorded {
                error: Some(io::Error::other("the record writer stopped unexpectedly")),
                ..Recorded::default()
            })
        } else {
            Recorded {
                lost: queued as u64 + shared.in_hand.load(Ordering::Relaxed),
                error: Some(io::Error::other(format!(
                    "the destination took nothing for {}",
                    humantime::format_duration(patience)
                ))),
                ..Recorded::default()
            }
        };
        recorded.lost += dropped;
        if dropped > 0 && recorded.error.is_none() {
            recorded.error = Some(io::Error::other(format!(
                "{dropped} line(s) did not fit the queue of a destination that was not taking them"
            )));
        }
        recorded
    }
}

/// Waits at most `patience` for a writer thread to say it is `done`, then joins it; `None`
/// when it is stuck in a write that may never return (the process exits without it). Waited
/// for, not blocked on: the caller's runtime goes on meanwhile, hearing signals (a second
/// Ctrl-C is still said in serve's exit code).
async fn join_within<T>(
    thread: JoinHandle<T>,
    done: &AtomicBool,
    patience: Duration,
) -> Option<std::thread::Result<T>> {
    let started = Instant::now();
    while !done.load(Ordering::Relaxed) && started.elapsed() < patience {
        tokio::time::sleep(COALESCE).await;
    }
    done.load(Ordering::Relaxed).then(|| thread.join())
}

/// Opens the record by its path, to append.
pub(crate) fn open_record(path: &Path) -> io::Result<File> {
    File::options().create(true).append(true).open(path)
}

fn write_record(
    mut lines: mpsc::Receiver<Vec<u8>>,
    destination: Destination,
    path: &Path,
    shared: &RecordCounts,
) -> Recorded {
    let mut recorded = Recorded::default();
    let mut file = match destination {
        Destination::Opened(file) => Some(file),
        Destination::Special => None,
    };
    let mut batch = Vec::new();
    while let Some(taken) = next_batch(&mut lines, &mut batch) {
        shared.in_hand.store(taken.lines, Ordering::Relaxed);
        if shared.reopen.swap(false, Ordering::Relaxed) {
            file = None;
        }
        let written = match &mut file {
            Some(file) => append(file, &batch),
            None => open_record(path).and_then(|mut opened| {
                let written = append(&mut opened, &batch);
                file = Some(opened);
                written
            }),
        };
        match written {
            Ok(()) => recorded.lines += taken.lines,
            Err(e) => {
                // Said once per error kind in a row; the next batch tries again (a disk
                // that filled up may have room again).
                if recorded.error.as_ref().map(io::Error::kind) != Some(e.kind()) {
                    let _ = writeln!(
                        io::stderr(),
                        "oa-hook: error: cannot write to --record {}: {e}; these callbacks are answered but NOT recorded (serve will exit 2)",
                        path.display()
                    );
                }
                recorded.lost += taken.lines;
                recorded.error = Some(e);
            }
        }
        shared.in_hand.store(0, Ordering::Relaxed);
        next_round(&mut batch, &taken);
    }
    recorded
}

/// Appends `batch` (whole lines) to `file`, or nothing: a write that fails part way is cut
/// back to the length the file had, never past it (after a copytruncate the file is shorter
/// than this writer last saw it, and extending it would fill it with NUL bytes).
fn append(file: &mut File, batch: &[u8]) -> io::Result<()> {
    let before = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    file.write_all(batch)
        .and_then(|()| file.flush())
        .inspect_err(|_| {
            if let Some(before) = before
                && file.metadata().is_ok_and(|now| now.len() > before)
            {
                let _ = file.set_len(before);
            }
        })
}
