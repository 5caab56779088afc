//! The inspector's HTTP side: the page and the JSON API it uses (documented in the README, "The
//! inspector"), behind the gate of `gate` that decides who may use them.

use super::commands::commands;
use super::filter::Asked;
use super::replay::{self, Edits, MarkDetail};
use super::{Shared, gate, stream};
use crate::protocol::MAX_BODY_BYTES;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The page: one file, its style and script inline; it loads nothing from anywhere else.
const PAGE: &str = include_str!("page.html");

/// What the page may load and reach: itself, and nothing else.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Connections held at once (a browser opens a few); more wait in the kernel's queue.
const MAX_CONNECTIONS: usize = 64;

/// How long a request head may take to arrive, and a kept-alive connection may sit idle.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body read: a replay's edits, a body of up to 1 MiB as a JSON string.
const MAX_REQUEST_BYTES: usize = 8 * MAX_BODY_BYTES;

/// Serves the page and the API on `listener` until serve stops.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut stopped = shared.stopped.subscribe();
    let app = router(shared);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = super::until_stopped(&mut stopped) => break,
        };
        let Ok(slot) = slot else {
            break;
        };
        let stream = tokio::select! {
            stream = crate::serve::listen::accept(&listener) => stream,
            () = super::until_stopped(&mut stopped) => break,
        };
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let service = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let _slot = slot;
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    drop(listener);
    // The streams end once serve stops; the rest get a moment to finish.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.shutdown().await;
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/info", get(info))
        .route("/api/login", post(gate::login))
        .route("/api/events", get(list))
        .route("/api/events/{id}", get(one))
        .route("/api/events/{id}/record", get(record_one))
        .route("/api/events/{id}/replay", post(replay_one))
        .route("/api/record", get(session))
        .route("/api/stream", get(live))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::guard,
        ))
        .with_state(shared)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Said<'a> {
            error: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            hint: Option<&'a str>,
            /// The page then asks for the token.
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            token_required: bool,
        }
        let said = Said {
            error: &self.error,
            hint: self.hint.as_deref(),
            token_required: self.status == StatusCode::UNAUTHORIZED,
        };
        json(self.status, serde_json::to_vec(&said).unwrap_or_default())
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn ok_json(value: &impl Serialize) -> Response {
    json(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// JSON made elsewhere, to embed as it is.
fn raw(json: Vec<u8>) -> Box<RawValue> {
    String::from_utf8(json)
        .ok()
        .and_then(|text| RawValue::from_string(text).ok())
        .unwrap_or_else(|| RawValue::NULL.to_owned())
}

async fn page() -> Response {
    let mut response = PAGE.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("nothing here: {}", uri.path()),
    )
    .hint("the page is at /, the API under /api/ (see the README, \"The inspector\")")
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
    .hint("the API's lists and events are GET, a replay is POST")
}

/// `GET /api/info`: the serve being inspected, and the counts.
async fn info(State(shared): State<Arc<Shared>>) -> Response {
    #[derive(Serialize)]
    struct Info<'a> {
        oa_hook: &'static str,
        /// `mock` (serve answers by policy) or `tap` (serve passes requests on to `backend`).
        mode: &'static str,
        webhook: &'a str,
        backend: Option<String>,
        /// Serve checks a token: replays are signed afresh with it.
        signed: bool,
        sdkappid: Option<u64>,
        /// `--inspect-keep`.
        keep: usize,
        bytes_kept: usize,
        #[serde(flatten)]
        tally: super::Tally,
    }
    let about = &shared.about;
    ok_json(&Info {
        oa_hook: env!("CARGO_PKG_VERSION"),
        mode: if about.backend.is_some() {
            "tap"
        } else {
            "mock"
        },
        webhook: about.webhook.as_str(),
        backend: about
            .backend
            .as_ref()
            .map(|url| crate::output::masked(url).to_string()),
        signed: about.signed,
        sdkappid: about.sdkappid,
        keep: about.keep,
        bytes_kept: super::BYTES_KEPT,
        tally: shared.tally(),
    })
}

pub(super) async fn read_body(request: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), MAX_REQUEST_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request is over {} MiB, or did not arrive whole",
                    MAX_REQUEST_BYTES >> 20
                ),
            )
        })
}

/// `GET /api/events`: rows, newest first.
async fn list(State(shared): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let asked = Asked::read(&uri, true)?;
    let (rows, more) = shared.list(&asked.filter, asked.after, asked.before, asked.limit);
    let mut body = b"{\"events\":[".to_vec();
    for (i, kept) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&kept.row());
    }
    body.extend_from_slice(b"],");
    #[derive(Serialize)]
    struct Page {
        /// Give it as `before` for the next rows, when there are more.
        next: Option<u64>,
        #[serde(flatten)]
        tally: super::Tally,
    }
    let page = Page {
        next: rows.last().filter(|_| more).map(|kept| kept.id),
        tally: shared.tally(),
    };
    let page = serde_json::to_vec(&page).unwrap_or_default();
    body.extend_from_slice(page.get(1..).unwrap_or_default());
    Ok(json(StatusCode::OK, body))
}

/// `GET /api/events/{id}`: one event, in full.
async fn one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let kept = shared.get(event_id(&id)?)?;
    let seen = &kept.seen;
    #[derive(Serialize)]
    struct Detail<'a> {
        event: Box<RawValue>,
        /// The record line `serve --record` writes.
        record: Box<RawValue>,
        request: Seen<'a>,
        replay: Option<MarkDetail<'a>>,
        copy: super::commands::Commands,
    }
    #[derive(Serialize)]
    struct Seen<'a> {
        /// Every parameter but `Sign` and `RequestTime`, in order.
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        /// The body as text (not UTF-8: with U+FFFD for what is not).
        body: Cow<'a, str>,
        /// The bytes of it kept: fewer than the record's `body_bytes` for a large refused one.
        body_kept: usize,
    }
    let about = &shared.about;
    Ok(ok_json(&Detail {
        event: raw(kept.row()),
        record: raw(seen.record_line()),
        request: Seen {
            query: seen.query_shown(),
            headers: seen.headers(),
            body: seen.body_text(),
            body_kept: seen.body().len(),
        },
        replay: kept.replay.as_deref().map(replay::Mark::detail),
        copy: commands(seen, &about.webhook, about.signed),
    }))
}

fn event_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad(format!("{id} is not an event number"))
            .hint("give the id of a row, as GET /api/events lists them")
    })
}

/// An NDJSON file to download.
fn ndjson(name: &str, body: Body) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `GET /api/events/{id}/record`: the event as a record file of one line.
async fn record_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let mut line = shared.get(id)?.seen.record_line();
    line.push(b'\n');
    Ok(ndjson(
        &format!("oa-hook-event-{id}.ndjson"),
        Body::from(line),
    ))
}

/// `GET /api/record`: every event kept that the filters take, oldest first, as a record file.
/// Written as the browser takes it, a few lines at a time.
async fn session(State(shared): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    const LINES_AT_ONCE: usize = 64;
    let filter = Asked::read(&uri, false)?.filter;
    let kept = shared.snapshot();
    let chunks = kept
        .chunks(LINES_AT_ONCE)
        .map(<[_]>::to_vec)
        .collect::<Vec<_>>();
    let lines = futures_util::stream::iter(chunks).map(move |chunk| {
        let mut lines = Vec::new();
        for kept in chunk.iter().filter(|kept| kept.passes(&filter)) {
            lines.extend_from_slice(&kept.seen.record_line());
            lines.push(b'\n');
        }
        Ok::<_, std::convert::Infallible>(Bytes::from(lines))
    });
    Ok(ndjson("oa-hook-session.ndjson", Body::from_stream(lines)))
}

/// `POST /api/events/{id}/replay`: replays the event, edited or not, and says how its
/// decision compares.
async fn replay_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let of = event_id(&id)?;
    let edits = Edits::read(&read_body(request).await?)?;
    let replayed = replay::replay(&shared, of, edits).await?;
    let kept = replayed.row.and_then(|row| shared.get(row).ok());
    #[derive(Serialize)]
    struct Replayed<'a> {
        of: u64,
        /// The row the replay made.
        event: Option<Box<RawValue>>,
        replay: Option<MarkDetail<'a>>,
        /// Why serve's answer did not come back, when it did not.
        error: Option<String>,
    }
    let status = if kept.is_some() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    let said = Replayed {
        of,
        event: kept.as_ref().map(|kept| raw(kept.row())),
        replay: kept
            .as_ref()
            .and_then(|kept| kept.replay.as_deref())
            .map(replay::Mark::detail),
        error: replayed.error.or_else(|| {
            kept.is_none()
                .then(|| "serve published no row for the replay (is it stopping?)".to_owned())
        }),
    };
    Ok(json(status, serde_json::to_vec(&said).unwrap_or_default()))
}

/// `GET /api/stream`: the live rows, as server-sent events.
async fn live(State(shared): State<Arc<Shared>>) -> Response {
    stream::stream(shared).into_response()
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
    pub(super) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            hint: None,
        }
    }

    pub(super) fn bad(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    pub(super) fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error of oa-hook: a lock was poisoned",
        )
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
