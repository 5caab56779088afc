//! Publishing: what serve's handlers hand the inspector, and the inspector's own thread that
//! keeps it. Under a flood the inspector keeps at most 1000 events a second per core and counts
//! the rest as skipped.

use super::Shared;
use super::kept::{Given, Kept, Seen};
use super::request::{REPLAY_HEADER, Request};
use crate::protocol::Received;
use crate::serve::head::Head;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events waiting for the inspector's thread; past this many, new ones are not kept (and
/// counted).
pub(super) const QUEUED: usize = 4096;

/// How long the inspector's thread lets events gather before it takes them: at most this much
/// later on the page, for one lock and one wake-up per batch.
const COALESCE: Duration = Duration::from_millis(2);

/// The windows the inspector counts the events it keeps in, and how many one thread keeps in
/// one: 1000 a second per thread at most (2000 on two cores), far more than anyone reads, a
/// small share of what serve answers under a flood.
const WINDOW: Duration = Duration::from_millis(100);
const KEPT_PER_WINDOW: u32 = 100;

/// How many skipped events one thread counts before it adds them to the shared count.
const SKIPPED_AT_ONCE: u64 = 64;

/// Where serve's handlers publish what they see. Publishing never waits: the event goes on the
/// heap and into a bounded queue, which the inspector's own thread empties into the ring, so
/// that handlers on different cores share no lock and let go of no old event. An event that
/// finds the queue full (the thread starved of CPU) is not kept, and counted.
#[derive(Clone)]
pub(in crate::serve) struct Inspector {
    pub(super) queue: mpsc::Sender<Arc<Kept>>,
    pub(super) shared: Arc<Shared>,
}

thread_local! {
    /// This thread's count of the events the inspector kept in the current window, and of those
    /// it did not: the window it counts in, kept, not kept (not yet added to the shared count).
    static KEPT_HERE: Cell<(u64, u32, u64)> = const { Cell::new((u64::MAX, 0, 0)) };
}

impl Inspector {
    /// Whether the inspector keeps this request: all of them, but under a flood at most
    /// [`KEPT_PER_WINDOW`] per thread in each [`WINDOW`] (no one reads thousands of rows a
    /// second, and keeping them would cost serve a share of its answers); the rest are counted.
    /// A replay from the page is always kept. Counted per thread: a count shared by the
    /// threads would bounce between their cores on every callback.
    pub(in crate::serve) fn takes(&self, head: Option<&Head>) -> bool {
        let window = u64::try_from(self.shared.started.elapsed().as_millis()).unwrap_or(u64::MAX)
            / WINDOW.as_millis() as u64;
        KEPT_HERE.with(|here| {
            let (mut counted_in, mut kept, mut skipped) = here.get();
            // Added to the shared count now and then, not for every request skipped.
            if counted_in != window || skipped >= SKIPPED_AT_ONCE {
                self.shared.skipped.fetch_add(skipped, Ordering::Relaxed);
                skipped = 0;
            }
            if counted_in != window {
                (counted_in, kept) = (window, 0);
            }
            let taken = kept < KEPT_PER_WINDOW
                || (self.shared.replays.any()
                    && head.is_some_and(|head| head.value(REPLAY_HEADER).is_some()));
            if taken {
                kept += 1;
            } else {
                skipped += 1;
            }
            here.set((counted_in, kept, skipped));
            taken
        })
    }

    /// Publishes what a handler saw: moved once, onto the heap.
    pub(in crate::serve) fn publish(&self, request: Request, received: Received, given: Given) {
        let kept = Arc::new(Kept {
            id: 0,
            seen: Seen {
                request,
                received,
                given,
            },
            replay: None,
        });
        if self.queue.try_send(kept).is_err() {
            self.shared.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The inspector's thread: takes what the handlers published, a batch at a time, until the
/// last handler is gone.
pub(super) fn keep_published(shared: &Shared, mut queue: mpsc::Receiver<Arc<Kept>>) {
    let mut batch = Vec::new();
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < QUEUED
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        shared.keep(&mut batch);
        // Events that come meanwhile are taken together: one lock and one wake-up for many.
        std::thread::sleep(COALESCE);
    }
}
