//! Replays sent from the page. Each is the event's record line read back as `oa-hook replay`
//! reads it (edited, when the page changed its body or query), sent to serve's own webhook
//! port (in tap mode the tap passes it on to the backend), signed afresh when serve has a
//! token, with a header that marks the row it makes. That row's decision is compared with the
//! original's by `oa-hook replay`'s own comparison.

use super::kept::Seen;
use super::request::REPLAY_HEADER;
use super::{ApiError, Shared};
use crate::check::Status;
use crate::protocol::{MAX_BODY_BYTES, param};
use crate::record::Recorded;
use crate::replay::Compared;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Replays from the page in flight at once; more are refused until one is answered.
const IN_FLIGHT: usize = 8;

/// How long a replay that serve answered waits for its row to be kept.
const ROW_WAIT: Duration = Duration::from_secs(2);

/// The replays sent and not yet answered, by the marker their request carries.
#[derive(Default)]
pub(super) struct Replays {
    pending: Mutex<HashMap<u64, Pending>>,
    /// Makes markers nobody outside can guess, so that no other request passes for a replay.
    keys: std::collections::hash_map::RandomState,
    sent: AtomicU64,
    /// How many are in flight, read by every request while any is (see [`Replays::any`]).
    in_flight: AtomicUsize,
}

struct Pending {
    of: u64,
    edited: bool,
    /// The original, as `oa-hook replay` reads its record line.
    was: Recorded,
    /// The original's judgement as recorded, for the page to set beside the new one.
    was_judged: Value,
    /// The row the replay made, once the inspector has kept it; notified then.
    row: Option<u64>,
    /// Signed afresh (serve has a token): a refusal recorded for the signature is not compared.
    signed: bool,
    kept: Arc<Notify>,
}

/// What a row made by a replay from the page is: a replay of which event, edited or not, and
/// its decision compared with that event's, as `oa-hook replay` reports it.
pub(super) struct Mark {
    of: u64,
    edited: bool,
    comparison: Compared,
    was: Value,
}

/// A mark as a row shows it.
#[derive(Serialize)]
pub(super) struct MarkRow<'a> {
    of: u64,
    edited: bool,
    /// `pass`: the same decision; `fail`: the decision changed (or the answer newly broke the
    /// contract); `warn`: the same decision, with a warning.
    status: Status,
    message: &'a str,
}

/// A mark as the one event's view shows it.
#[derive(Serialize)]
pub(super) struct MarkDetail<'a> {
    of: u64,
    edited: bool,
    /// A case of `oa-hook replay --output json`.
    comparison: &'a Compared,
    /// The original's judgement (the row's own is in its record).
    was: &'a Value,
}

impl Mark {
    pub(super) fn row(&self) -> MarkRow<'_> {
        MarkRow {
            of: self.of,
            edited: self.edited,
            status: self.comparison.outcome.status,
            message: &self.comparison.outcome.message,
        }
    }

    pub(super) fn detail(&self) -> MarkDetail<'_> {
        MarkDetail {
            of: self.of,
            edited: self.edited,
            comparison: &self.comparison,
            was: &self.was,
        }
    }
}

/// A replay registered until it is answered; dropping it forgets it.
pub(super) struct Ticket<'a> {
    replays: &'a Replays,
    marker: u64,
}

impl Ticket<'_> {
    /// The row the replay made: serve publishes it before it answers, and the inspector's
    /// thread keeps it a moment later.
    async fn row(&self) -> Option<u64> {
        let now = || {
            let pending = self.replays.pending.lock().ok()?;
            pending
                .get(&self.marker)
                .map(|p| (p.row, Arc::clone(&p.kept)))
        };
        let (row, kept) = now()?;
        if row.is_some() {
            return row;
        }
        let _ = tokio::time::timeout(ROW_WAIT, kept.notified()).await;
        now()?.0
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.replays.pending.lock() {
            pending.remove(&self.marker);
            self.replays
                .in_flight
                .store(pending.len(), Ordering::Relaxed);
        }
    }
}

impl Replays {
    fn begin(&self, pending: Pending) -> Result<Ticket<'_>, ApiError> {
        let count = self.sent.fetch_add(1, Ordering::Relaxed);
        // Never 0: a request's marker is a number above it.
        let marker = self.keys.hash_one(count).max(1);
        let mut all = self.pending.lock().map_err(|_| ApiError::internal())?;
        if all.len() >= IN_FLIGHT {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{IN_FLIGHT} replays are in flight already"),
            )
            .hint("wait for one to be answered"));
        }
        all.insert(marker, pending);
        self.in_flight.store(all.len(), Ordering::Relaxed);
        Ok(Ticket {
            replays: self,
            marker,
        })
    }

    /// Whether a replay is in flight: only then may a request be one.
    pub(super) fn any(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// The mark of a row whose request carried `marker`, when it is a replay in flight: its
    /// decision compared with the original's.
    pub(super) fn mark(&self, marker: u64, seen: &Seen) -> Option<Mark> {
        let pending = self.pending.lock().ok()?;
        let pending = pending.get(&marker)?;
        let command = pending.was.command.as_deref().unwrap_or("unknown");
        let edited = if pending.edited { ", edited" } else { "" };
        let id = format!("{command}/event-{}", pending.of);
        let description = format!(
            "event #{} replayed from the inspector{edited}: Chat {}",
            pending.of, pending.was.judgement.says
        );
        Some(Mark {
            of: pending.of,
            edited: pending.edited,
            comparison: crate::replay::compared(
                id,
                description,
                &pending.was,
                seen.verdict(),
                None,
                pending.signed,
            ),
            was: pending.was_judged.clone(),
        })
    }

    /// Notes the row a replay made.
    pub(super) fn published(&self, marker: u64, id: u64) {
        if let Ok(mut pending) = self.pending.lock()
            && let Some(pending) = pending.get_mut(&marker)
        {
            pending.row = Some(id);
            pending.kept.notify_one();
        }
    }
}

/// What the page may change before a replay.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Edits {
    /// The body to send instead, as text.
    body: Option<String>,
    /// Query parameters to set (a string) or remove (`null`); `Sign` and `RequestTime` are
    /// made afresh for every replay.
    #[serde(default)]
    query: serde_json::Map<String, Value>,
}

impl Edits {
    pub(super) fn read(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Edits::default());
        }
        let edits: Edits = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad(format!("the replay's edits are not what it takes: {e}")).hint(
                r#"send {} to replay as it was, or {"body": "...", "query": {"SdkAppid": "..."}}"#,
            )
        })?;
        if let Some(body) = &edits.body
            && body.len() > MAX_BODY_BYTES
        {
            return Err(ApiError::bad(format!(
                "the edited body is {} bytes, over the {} MiB Chat sends at most",
                body.len(),
                MAX_BODY_BYTES >> 20
            )));
        }
        for (name, value) in &edits.query {
            if name == param::SIGN || name == param::REQUEST_TIME {
                return Err(ApiError::bad(format!(
                    "{name} cannot be edited: every replay is signed afresh when serve has a token"
                )));
            }
            if !(value.is_string() || value.is_null()) {
                return Err(ApiError::bad(format!(
                    "the query parameter {name} is {value}; give a string, or null to leave it out"
                )));
            }
        }
        Ok(edits)
    }

    fn any(&self) -> bool {
        self.body.is_some() || !self.query.is_empty()
    }

    fn apply(self, record: &mut Recorded) -> Result<(), ApiError> {
        if let Some(body) = self.body {
            // The page sends the body as the text to send, byte for byte.
            record.body = Some(body.into_bytes());
        }
        for (name, value) in self.query {
            match value {
                Value::Null => {
                    record.query.remove(&name);
                }
                value => {
                    record.query.insert(name, value);
                }
            }
        }
        Ok(())
    }
}

/// How a replay went: the row it made, or why it made none.
pub(super) struct Replayed {
    pub(super) row: Option<u64>,
    /// Why the replay got no answer from serve (the row may exist all the same).
    pub(super) error: Option<String>,
}

/// Replays event `of`, edited by `edits`.
pub(super) async fn replay(shared: &Shared, of: u64, edits: Edits) -> Result<Replayed, ApiError> {
    let kept = shared.get(of)?;
    let line = kept.seen.record_line();
    let text = String::from_utf8_lossy(&line);
    let read = |text: &str| {
        Recorded::read(text.trim_end()).ok().ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!("event #{of} cannot be replayed: its record line does not read back"),
            )
        })
    };
    let was = read(&text)?;
    let mut sent = read(&text)?;
    let edited = edits.any();
    edits.apply(&mut sent)?;
    let Some(body) = sent.body.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the body of event #{of} was not kept (a refused body over 64 KiB)"),
        )
        .hint("Edit & replay it with a body of your own"));
    };
    let was_judged = serde_json::from_slice::<Value>(&line)
        .ok()
        .and_then(|mut line| line.get_mut("judgement").map(Value::take))
        .unwrap_or_default();
    let ticket = shared.replays.begin(Pending {
        of,
        edited,
        was,
        was_judged,
        row: None,
        signed: shared.sender.signs(),
        kept: Arc::new(Notify::new()),
    })?;
    let pool = shared.sender.pool().await?;
    let url = shared.sender.url(pool, kept.seen.path(), &sent);
    let mut marked = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&ticket.marker.to_string()) {
        marked.insert(REPLAY_HEADER, value);
    }
    Ok(match pool.post_with(url, body.into(), marked).await {
        Ok(_) => Replayed {
            row: ticket.row().await,
            error: None,
        },
        Err(e) => Replayed {
            row: None,
            error: Some(e.message()),
        },
    })
}
