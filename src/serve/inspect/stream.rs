//! The live stream (`GET /api/stream`): server-sent events carrying rows as they are published.
//!
//! A stream takes rows from the broadcast channel only when its browser takes what it was
//! sent (hyper asks for the next event when the last is written), so a slow or stalled
//! browser holds up nobody: its rows pile up in the channel until the oldest are dropped, and
//! the stream then says how many it dropped; the page fetches what it missed from the list.
//! Rows go out at once, then at most one batch per [`GAP`] of at most [`ROWS_PER_BATCH`] (the
//! newest), and after a batch that could not hold them all, the next only [`FLOOD_GAP`] later:
//! under a flood a browser gets a live view, not every row, and costs serve little.

use super::Shared;
use super::kept::Kept;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;
use tokio::time::Instant;

/// The least time between two batches of rows to one browser.
const GAP: Duration = Duration::from_millis(50);

/// The most rows in one batch; older ones in the same batch are counted as dropped.
const ROWS_PER_BATCH: usize = 25;

/// The time between two batches while rows come faster than batches hold them.
const FLOOD_GAP: Duration = Duration::from_millis(1000);

/// How often an idle stream sends a comment, so that proxies and the browser keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One browser's stream.
struct Live {
    shared: Arc<Shared>,
    rows: Receiver<Arc<Kept>>,
    stopped: watch::Receiver<bool>,
    /// Said first: where the stream starts.
    hello: bool,
    /// When the next batch may go out.
    next: Option<Instant>,
    done: bool,
}

pub(super) fn stream(shared: Arc<Shared>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let live = Live {
        rows: shared.rows.subscribe(),
        stopped: shared.stopped.subscribe(),
        shared,
        hello: true,
        next: None,
        done: false,
    };
    Sse::new(futures_util::stream::unfold(live, |mut live| async move {
        let event = live.next().await?;
        Some((Ok(event), live))
    }))
    .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

impl Live {
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if std::mem::take(&mut self.hello) {
            let tally = serde_json::to_string(&self.shared.tally()).unwrap_or_default();
            return Some(Event::default().event("hello").data(tally));
        }
        let mut batch = Vec::new();
        let mut dropped = 0;
        let stopped = async {
            if let Some(next) = self.next {
                tokio::time::sleep_until(next).await;
            }
            tokio::select! {
                received = self.rows.recv() => match received {
                    Ok(kept) => batch.push(kept),
                    Err(RecvError::Lagged(n)) => dropped += n,
                    Err(RecvError::Closed) => return true,
                },
                () = super::until_stopped(&mut self.stopped) => return true,
            }
            false
        };
        if stopped.await {
            self.done = true;
            return Some(Event::default().event("stopped").data("{}"));
        }
        loop {
            match self.rows.try_recv() {
                Ok(kept) => batch.push(kept),
                Err(TryRecvError::Lagged(n)) => dropped += n,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if batch.len() > ROWS_PER_BATCH {
            let over = batch.len() - ROWS_PER_BATCH;
            dropped += over as u64;
            batch.drain(..over);
        }
        let gap = if dropped > 0 { FLOOD_GAP } else { GAP };
        self.next = Some(Instant::now() + gap);
        let mut data = b"{\"rows\":[".to_vec();
        for (i, kept) in batch.iter().enumerate() {
            if i > 0 {
                data.push(b',');
            }
            data.extend_from_slice(&kept.row());
        }
        data.extend_from_slice(format!("],\"dropped\":{dropped},").as_bytes());
        let tally = serde_json::to_vec(&self.shared.tally()).unwrap_or_default();
        data.extend_from_slice(tally.get(1..).unwrap_or_default());
        Some(
            Event::default()
                .event("rows")
                .data(String::from_utf8_lossy(&data)),
        )
    }
}
