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
mod filter;
mod gate;
mod kept;
mod publish;
mod replay;
mod request;
mod ring;
mod stream;

pub(super) use kept::{Given, Judged};
pub(super) use publish::Inspector;
pub(super) use request::Request;

use crate::client::{Pool, Target};
use crate::clock::Clock;
use crate::output::{self, OutputFormat};
use crate::record::Recorded;
use api::ApiError;
use axum::http::StatusCode;
use kept::Kept;
use publish::{QUEUED, keep_published};
use ring::{Ring, Tally};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use url::Url;

/// Bodies (and tap answers) kept in all: past it the oldest events go, whatever
/// `--inspect-keep` allows.
pub(crate) const BYTES_KEPT: usize = 32 << 20;

/// Connections the page's replays keep open.
const REPLAYS_AT_ONCE: usize = 4;

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
    /// How the page's replays are sent: the timeout covers serve's `--delay` or the tap's
    /// `--timeout`. The client is made at the first replay: most sessions never make one, and
    /// a client takes memory.
    pub replays: Target,
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
    target: Target,
    /// Made by the first replay.
    pool: OnceCell<Pool>,
    webhook: Url,
    token: Option<String>,
    clock: Clock,
}

impl Sender {
    /// Whether replays are signed afresh (serve has a token).
    fn signs(&self) -> bool {
        self.token.is_some()
    }

    async fn pool(&self) -> Result<&Pool, ApiError> {
        self.pool
            .get_or_try_init(|| async { Pool::new(&self.target, REPLAYS_AT_ONCE) })
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    }

    /// Where `record` is replayed, as `oa-hook replay` would replay it to `path` of serve.
    fn url(&self, pool: &Pool, path: &str, record: &Recorded) -> Url {
        let mut base = self.webhook.clone();
        base.set_path(path);
        let signing = match &self.token {
            Some(token) => crate::replay::Signing::Afresh(token.clone()),
            None => crate::replay::Signing::Unsigned,
        };
        let replay = crate::replay::Replay {
            client: pool.clone(),
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

/// What the handlers and the API share.
pub(super) struct Shared {
    ring: Mutex<Ring>,
    rows: broadcast::Sender<Arc<Kept>>,
    replays: replay::Replays,
    sender: Sender,
    about: About,
    /// Who may use the page and the API.
    gate: gate::Gate,
    /// Set when serve stops: streams say so and end.
    stopped: watch::Sender<bool>,
    /// Events not kept: over the rate the inspector keeps, or its queue full.
    skipped: AtomicU64,
    /// When the inspector started, for the windows of [`Inspector::takes`].
    started: Instant,
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
            ring: Mutex::new(Ring::new(settings.keep)),
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
                target: settings.replays,
                pool: OnceCell::new(),
                webhook,
                token: settings.signing,
                clock: serving.clock,
            },
            gate: gate::Gate::new(address, settings.token),
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
