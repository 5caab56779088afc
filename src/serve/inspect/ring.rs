//! The events kept: a ring bounded by `--inspect-keep` and by the bytes it holds, filled a batch
//! at a time by the inspector's thread and read by the API.

use super::filter::Filter;
use super::kept::Kept;
use super::{ApiError, BYTES_KEPT, Shared};
use axum::http::StatusCode;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The events kept, oldest first, and what they take.
pub(super) struct Ring {
    kept: VecDeque<Arc<Kept>>,
    bytes: usize,
    keep: usize,
    newest: u64,
    evicted: u64,
}

impl Ring {
    pub(super) fn new(keep: usize) -> Self {
        Ring {
            kept: VecDeque::new(),
            bytes: 0,
            keep: keep.max(1),
            newest: 0,
            evicted: 0,
        }
    }

    /// Keeps `kept`, and gives back what no longer fits, to be let go outside the lock: most
    /// often the oldest event alone, more only when the bytes kept pass their cap.
    fn push(&mut self, kept: Arc<Kept>) -> (Option<Arc<Kept>>, Vec<Arc<Kept>>) {
        self.bytes += kept.seen.weight();
        self.newest = kept.id;
        self.kept.push_back(kept);
        let mut first = None;
        let mut more = Vec::new();
        while self.kept.len() > self.keep || (self.bytes > BYTES_KEPT && self.kept.len() > 1) {
            let Some(old) = self.kept.pop_front() else {
                break;
            };
            self.bytes -= old.seen.weight();
            self.evicted += 1;
            match first {
                None => first = Some(old),
                Some(_) => more.push(old),
            }
        }
        (first, more)
    }

    pub(super) fn get(&self, id: u64) -> Option<Arc<Kept>> {
        let index = self.kept.binary_search_by_key(&id, |kept| kept.id).ok()?;
        self.kept.get(index).cloned()
    }
}

/// Counts shown beside the rows.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(super) struct Tally {
    /// The newest event's id (0 before the first).
    newest: u64,
    kept: usize,
    /// Events let go to stay within `--inspect-keep` and the bytes kept.
    evicted: u64,
    /// Events not kept: they came faster than the inspector keeps them (see
    /// [`Inspector::takes`]), or found its queue full.
    skipped: u64,
}

impl Shared {
    /// Keeps a batch of events (made by the handlers, numbered here, in the order they came)
    /// and sends them to the streams. Runs on the inspector's own thread.
    pub(super) fn keep(&self, batch: &mut Vec<Arc<Kept>>) {
        for kept in batch.iter_mut() {
            if let Some(fresh) = Arc::get_mut(kept) {
                fresh.seen.bound();
                if let Some(marker) = fresh.seen.request.marker {
                    fresh.replay = self.replays.mark(marker.get(), &fresh.seen).map(Box::new);
                }
            }
        }
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        let mut gone = Vec::new();
        let mut marked = Vec::new();
        for mut kept in batch.drain(..) {
            let id = ring.newest + 1;
            if let Some(fresh) = Arc::get_mut(&mut kept) {
                fresh.id = id;
            }
            if let Some(marker) = kept.seen.request.marker {
                marked.push((marker.get(), id));
            }
            // Sent under the lock, so that rows go out in the order of their ids.
            let _ = self.rows.send(Arc::clone(&kept));
            let (first, more) = ring.push(kept);
            gone.extend(first);
            gone.extend(more);
        }
        drop(ring);
        drop(gone);
        for (marker, id) in marked {
            self.replays.published(marker, id);
        }
    }

    pub(super) fn get(&self, id: u64) -> Result<Arc<Kept>, ApiError> {
        let ring = self.ring.lock().map_err(|_| ApiError::internal())?;
        ring.get(id).ok_or_else(|| {
            let why = if id <= ring.newest && id > 0 {
                format!(
                    "event #{id} is no longer kept: the inspector keeps the newest {} (--inspect-keep)",
                    ring.keep
                )
            } else {
                format!("there is no event #{id}")
            };
            ApiError::new(StatusCode::NOT_FOUND, why)
        })
    }

    /// The events `filter` takes, newest first: at most `limit` with ids in `after..before`,
    /// and whether older ones in that range were left out.
    pub(super) fn list(
        &self,
        filter: &Filter,
        after: u64,
        before: u64,
        limit: usize,
    ) -> (Vec<Arc<Kept>>, bool) {
        let snapshot = self.snapshot();
        let mut taken = Vec::new();
        let mut more = false;
        for kept in snapshot.iter().rev() {
            if kept.id >= before {
                continue;
            }
            if kept.id <= after {
                break;
            }
            if kept.passes(filter) {
                if taken.len() == limit {
                    more = true;
                    break;
                }
                taken.push(Arc::clone(kept));
            }
        }
        (taken, more)
    }

    /// Every event kept, oldest first, held without the lock.
    pub(super) fn snapshot(&self) -> Vec<Arc<Kept>> {
        self.ring
            .lock()
            .map(|ring| ring.kept.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn tally(&self) -> Tally {
        let skipped = self.skipped.load(Ordering::Relaxed);
        self.ring
            .lock()
            .map(|ring| Tally {
                newest: ring.newest,
                kept: ring.kept.len(),
                evicted: ring.evicted,
                skipped,
            })
            .unwrap_or(Tally {
                newest: 0,
                kept: 0,
                evicted: 0,
                skipped,
            })
    }
}
