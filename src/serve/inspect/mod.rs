//! The inspector (`serve --inspect`): a live page of every request serve answers, on a port of
//! its own, and the JSON API the page uses.
//!
//! Serve's handlers publish what they saw ([`Inspector::publish`]): an owned copy of what the
//! record line is made of, kept in a bounded ring and put on a broadcast channel, which never
//! waits for a browser. Everything else is made from the ring when it is asked for: the rows
//! and record lines (`kept`), the API and the page (`api`), the live stream (`stream`),
//! replays (`replay`) and the commands to copy (`commands`).

mod api;
mod commands;
mod kept;
mod replay;
mod stream;

pub(super) use kept::{Given, Judged, Request};

use crate::client::Pool;
use crate::clock::Clock;
use crate::output::{self, OutputFormat};
use crate::protocol::Received;
use crate::record::Recorded;
use axum::http::StatusCode;
use axum::http::request::Parts;
use kept::{Filter, Kept, Seen};
use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use url::Url;

/// Bodies (and tap answers) kept in all: past it the oldest events go, whatever
/// `--inspect-keep` allows.
pub(crate) const BYTES_KEPT: usize = 32 << 20;

/// Events waiting for the inspector's thread; past this many, new ones are not kept (and
/// counted).
const QUEUED: usize = 4096;

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

/// Rows waiting in the broadcast channel for a stream that has not taken them; a stream that
/// falls further behind drops the oldest and says how many.
const ROWS_QUEUED: usize = 256;

/// What `serve --inspect` is told.
pub(crate) struct Settings {
    pub listen: SocketAddr,
    /// `--inspect-keep`.
    pub keep: usize,
    /// `--inspect-token`: the page's own token, asked by the page.
    pub token: Option<String>,
    /// The webhook token, to sign replays with; it never leaves serve.
    pub signing: Option<String>,
    /// Sends the page's replays; its timeout covers serve's `--delay` or the tap's `--timeout`.
    pub pool: Pool,
}

/// What the page is told about the serve it inspects.
pub(super) struct About {
    /// Tap mode, and the backend's URL as it may be shown.
    backend: Option<Url>,
    /// Serve's webhook URL, as this machine reaches it.
    webhook: Url,
    /// Serve checks a token: replays are signed afresh, copied commands sign with it.
    signed: bool,
    sdkappid: Option<u64>,
    keep: usize,
}

/// Sends the page's replays to serve's own webhook port.
struct Sender {
    pool: Pool,
    webhook: Url,
    token: Option<String>,
    clock: Clock,
}

impl Sender {
    /// Whether replays are signed afresh (serve has a token).
    fn signs(&self) -> bool {
        self.token.is_some()
    }

    /// Where `record` is replayed, as `oa-hook replay` would replay it to `path` of serve.
    fn url(&self, path: &str, record: &Recorded) -> Url {
        let mut base = self.webhook.clone();
        base.set_path(path);
        let signing = match &self.token {
            Some(token) => crate::replay::Signing::Afresh(token.clone()),
            None => crate::replay::Signing::Unsigned,
        };
        let replay = crate::replay::Replay {
            client: self.pool.clone(),
            base: base.clone(),
            signing,
            clock: self.clock,
            concurrency: 1,
            sdkappid: None,
        };
        // Signed afresh or unsigned, a replay always has its URL.
        replay.url(record).unwrap_or(base)
    }
}

/// The events kept, oldest first, and what they take.
struct Ring {
    kept: VecDeque<Arc<Kept>>,
    bytes: usize,
    keep: usize,
    newest: u64,
    evicted: u64,
}

impl Ring {
    /// Keeps `kept`, and gives back what no longer fits, to be let go outside the lock: most
    /// often the oldest event alone, more only when the bytes kept pass their cap.
    fn push(&mut self, kept: Arc<Kept>) -> (Option<Arc<Kept>>, Vec<Arc<Kept>>) {
        self.bytes += kept.weight;
        self.newest = kept.id;
        self.kept.push_back(kept);
        let mut first = None;
        let mut more = Vec::new();
        while self.kept.len() > self.keep || (self.bytes > BYTES_KEPT && self.kept.len() > 1) {
            let Some(old) = self.kept.pop_front() else {
                break;
            };
            self.bytes -= old.weight;
            self.evicted += 1;
            match first {
                None => first = Some(old),
                Some(_) => more.push(old),
            }
        }
        (first, more)
    }

    fn get(&self, id: u64) -> Option<Arc<Kept>> {
        let index = self.kept.binary_search_by_key(&id, |kept| kept.id).ok()?;
        self.kept.get(index).cloned()
    }
}

/// Counts shown beside the rows.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Tally {
    /// The newest event's id (0 before the first).
    newest: u64,
    kept: usize,
    /// Events let go to stay within `--inspect-keep` and the bytes kept.
    evicted: u64,
    /// Events not kept: they came faster than the inspector keeps them (see
    /// [`Inspector::takes`]), or found its queue full.
    skipped: u64,
}

/// What the handlers and the API share.
pub(super) struct Shared {
    ring: Mutex<Ring>,
    rows: broadcast::Sender<Arc<Kept>>,
    replays: replay::Replays,
    sender: Sender,
    about: About,
    /// Who may use the page and the API.
    gate: api::Gate,
    /// Set when serve stops: streams say so and end.
    stopped: watch::Sender<bool>,
    /// Events not kept: over the rate the inspector keeps, or its queue full.
    skipped: AtomicU64,
    /// When the inspector started, for the windows of [`Inspector::takes`].
    started: Instant,
}

impl Shared {
    /// Keeps a batch of events (made by the handlers, numbered here, in the order they came)
    /// and sends them to the streams. Runs on the inspector's own thread.
    fn keep(&self, batch: &mut Vec<Arc<Kept>>) {
        for kept in batch.iter_mut() {
            if let Some(fresh) = Arc::get_mut(kept) {
                fresh.seen.bound();
                fresh.weight = fresh.seen.weight();
                if let Some(marker) = fresh.seen.request.marker {
                    fresh.replay = self.replays.mark(marker, &fresh.seen).map(Box::new);
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
                marked.push((marker, id));
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

    fn get(&self, id: u64) -> Result<Arc<Kept>, ApiError> {
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
    fn list(
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
    fn snapshot(&self) -> Vec<Arc<Kept>> {
        self.ring
            .lock()
            .map(|ring| ring.kept.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn tally(&self) -> Tally {
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

/// Where serve's handlers publish what they see. Publishing never waits: the event goes on the
/// heap and into a bounded queue, which the inspector's own thread empties into the ring, so
/// that handlers on different cores share no lock and let go of no old event. An event that
/// finds the queue full (the thread starved of CPU) is not kept, and counted.
#[derive(Clone)]
pub(super) struct Inspector {
    queue: mpsc::Sender<Arc<Kept>>,
    shared: Arc<Shared>,
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
    pub(super) fn takes(&self, parts: Option<&Parts>) -> bool {
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
                    && parts.is_some_and(|parts| parts.headers.contains_key(kept::REPLAY_HEADER)));
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
    pub(super) fn publish(&self, request: Request, received: Received, given: Given) {
        let kept = Arc::new(Kept {
            id: 0,
            seen: Seen {
                request,
                received,
                given,
            },
            replay: None,
            weight: 0,
        });
        if self.queue.try_send(kept).is_err() {
            self.shared.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The inspector's thread: takes what the handlers published, a batch at a time, until the
/// last handler is gone.
fn keep_published(shared: &Shared, mut queue: mpsc::Receiver<Arc<Kept>>) {
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

/// The inspector's server, running.
pub(super) struct Running {
    pub(super) inspector: Inspector,
    server: JoinHandle<()>,
}

impl Running {
    /// Ends the live streams (the page says serve stopped) and the server.
    pub(super) async fn stop(self) {
        self.inspector.shared.stopped.send_replace(true);
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(1), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

/// What serve tells the inspector about itself.
pub(super) struct Serving {
    pub(super) backend: Option<Url>,
    pub(super) sdkappid: Option<u64>,
    pub(super) clock: Clock,
}

/// The inspector's listener, bound before serve says anything, so that a port in use is an
/// error at once.
pub(super) struct Bound {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    /// The page's URL and serve's webhook URL, as this machine reaches them.
    page: Url,
    webhook: Url,
    settings: Settings,
}

/// Binds the inspector's port; `webhook` is where serve's own port is bound.
pub(super) fn bind(settings: Settings, webhook: SocketAddr) -> crate::error::Result<Bound> {
    let listen = settings.listen;
    let bound = crate::serve::listen::bind(listen).and_then(|l| Ok((l.local_addr()?, l)));
    let (address, listener) = bound.map_err(|e| {
        let error = crate::error::Error::usage(format!(
            "cannot listen on {listen} for --inspect: {e}"
        ));
        match e.kind() {
            io::ErrorKind::AddrInUse => error.hint(
                "another program (another serve --inspect?) listens there: pick another port, e.g. --inspect 127.0.0.1:4041 (port 0 picks a free one)",
            ),
            _ => error.hint("check --inspect: an address of this machine and a port, e.g. 127.0.0.1:4040"),
        }
    })?;
    Ok(Bound {
        listener,
        address,
        page: reachable(address)?,
        webhook: reachable(webhook)?,
        settings,
    })
}

impl Bound {
    /// Says where the page is, after serve's banner: on stdout for people, on stderr with
    /// `--output json` (every stdout line is an event then).
    pub(super) fn say(&self, format: OutputFormat) {
        let mut line = format!("inspector on {}", self.page);
        if self.settings.token.is_some() {
            line.push_str(" (the page asks for --inspect-token)");
        }
        let _ = match format {
            OutputFormat::Human => writeln!(output::stdout(), "{line}"),
            OutputFormat::Json => writeln!(output::stderr(), "{line}"),
        };
    }

    /// Starts the inspector's thread and server.
    pub(super) fn start(self, serving: Serving) -> crate::error::Result<Running> {
        let Bound {
            listener,
            address,
            webhook,
            settings,
            ..
        } = self;
        let shared = Arc::new(Shared {
            ring: Mutex::new(Ring {
                kept: VecDeque::new(),
                bytes: 0,
                keep: settings.keep.max(1),
                newest: 0,
                evicted: 0,
            }),
            rows: broadcast::channel(ROWS_QUEUED).0,
            replays: replay::Replays::default(),
            about: About {
                backend: serving.backend,
                webhook: webhook.clone(),
                signed: settings.signing.is_some(),
                sdkappid: serving.sdkappid,
                keep: settings.keep,
            },
            sender: Sender {
                pool: settings.pool,
                webhook,
                token: settings.signing,
                clock: serving.clock,
            },
            gate: api::Gate::new(address, settings.token),
            stopped: watch::Sender::new(false),
            skipped: AtomicU64::new(0),
            started: Instant::now(),
        });
        let (queue, published) = mpsc::channel(QUEUED);
        let keeping = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("oa-hook inspector".into())
            .spawn(move || keep_published(&keeping, published))
            .map_err(|e| crate::error::Error::internal(format!("cannot start a thread: {e}")))?;
        let inspector = Inspector {
            queue,
            shared: Arc::clone(&shared),
        };
        let server = tokio::spawn(api::serve(listener, shared));
        Ok(Running { inspector, server })
    }
}

/// `http://ADDR/` as this machine reaches it: an unspecified address (every interface) is
/// reached on loopback.
fn reachable(address: SocketAddr) -> crate::error::Result<Url> {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let address = SocketAddr::new(ip, address.port());
    Url::parse(&format!("http://{address}/"))
        .map_err(|e| crate::error::Error::internal(format!("{address} makes no URL: {e}")))
}

/// Resolves once serve stops (or is gone).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

/// An answer of the API that is not a success: its status, and what went wrong and what to do,
/// as JSON.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    error: String,
    hint: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            hint: None,
        }
    }

    fn bad(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error of oa-hook: a lock was poisoned",
        )
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
