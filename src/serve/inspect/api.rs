//! The inspector's HTTP side: the page, the JSON API it uses (documented in the README, "The
//! inspector"), and who may use them. Loopback by default, where only this machine's browsers
//! reach it and a Host header check turns away pages of other sites that rebind a name to
//! 127.0.0.1; elsewhere every API call needs `--inspect-token`. A request that changes
//! something (a replay) must be JSON, which a page of another site cannot send here without
//! this server's consent, never given.

use super::commands::commands;
use super::kept::{Filter, VerdictFilter};
use super::replay::{self, Edits, MarkDetail};
use super::{ApiError, Shared, stream};
use crate::protocol::MAX_BODY_BYTES;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
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

/// Rows one list gives at most, and when not told.
const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 100;

/// The longest text rows can be filtered by.
const MAX_TEXT_BYTES: usize = 256;

/// How long a wrong token waits for its 401, so that guessing one is slow.
const WRONG_TOKEN_DELAY: Duration = Duration::from_millis(250);

/// The cookie the page keeps once it was given the token.
const COOKIE: &str = "oa_hook_inspect";

/// The page's own token (`--inspect-token`), and the cookie that stands for it: a digest
/// salted afresh by each serve, so that the cookie is not the token.
pub(super) struct Access {
    token: String,
    cookie: String,
}

impl Access {
    pub(super) fn new(token: String) -> Self {
        let keys = std::collections::hash_map::RandomState::new();
        let mut digest = Sha256::new();
        for salt in 0..4u8 {
            digest.update(keys.hash_one(salt).to_le_bytes());
        }
        digest.update(token.as_bytes());
        Access {
            cookie: hex::encode(digest.finalize()),
            token,
        }
    }

    /// Whether `headers` carry the token (`Authorization: Bearer TOKEN`) or its cookie.
    fn allows(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(given) = bearer {
            return bool::from(given.as_bytes().ct_eq(self.token.as_bytes()));
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .filter_map(|cookie| cookie.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|given| bool::from(given.as_bytes().ct_eq(self.cookie.as_bytes())))
    }
}

/// Who may use the inspector.
pub(super) struct Gate {
    /// On loopback: the Host values that name this server (a page of another site that
    /// rebinds its name to 127.0.0.1 sends its own name).
    hosts: Option<Vec<String>>,
    access: Option<Access>,
}

impl Gate {
    pub(super) fn new(address: SocketAddr, token: Option<String>) -> Self {
        let port = address.port();
        let hosts = address.ip().is_loopback().then(|| {
            vec![
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
                address.to_string(),
            ]
        });
        Gate {
            hosts,
            access: token.map(Access::new),
        }
    }

    async fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if let Some(hosts) = &self.hosts
            && !hosts.iter().any(|known| known.eq_ignore_ascii_case(host))
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this inspector answers to {} only, not to Host {host:?}",
                    hosts[0]
                ),
            )
            .hint(format!("open http://{}/", hosts[0])));
        }
        if method == Method::POST {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "the inspector's API takes JSON",
                )
                .hint("send Content-Type: application/json"));
            }
            if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
                && origin != format!("http://{host}")
            {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("a page of {origin} may not use this inspector"),
                ));
            }
        }
        if let Some(access) = &self.access
            && path.starts_with("/api/")
            && path != "/api/login"
            && !access.allows(headers)
        {
            tokio::time::sleep(WRONG_TOKEN_DELAY).await;
            return Err(unauthorized());
        }
        Ok(())
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "this inspector needs its token (--inspect-token)",
    )
    .hint("give it on the page, or as Authorization: Bearer TOKEN")
}

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
        .route("/api/login", post(login))
        .route("/api/events", get(list))
        .route("/api/events/{id}", get(one))
        .route("/api/events/{id}/record", get(record_one))
        .route("/api/events/{id}/replay", post(replay_one))
        .route("/api/record", get(session))
        .route("/api/stream", get(live))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), guard))
        .with_state(shared)
}

/// Turns away who may not use the inspector, and marks every answer as not to be cached,
/// sniffed, framed or referred from.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let checked = shared
        .gate
        .check(request.method(), request.uri().path(), request.headers())
        .await;
    let mut response = match checked {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
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
            .map(|url| crate::report::masked(url).to_string()),
        signed: about.signed,
        sdkappid: about.sdkappid,
        keep: about.keep,
        bytes_kept: super::BYTES_KEPT,
        tally: shared.tally(),
    })
}

/// `POST /api/login` `{"token": "..."}`: sets the cookie that stands for the token.
async fn login(State(shared): State<Arc<Shared>>, request: Request) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Login {
        token: String,
    }
    let Some(access) = &shared.gate.access else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let body = read_body(request).await?;
    let login: Login = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad("give the token as {\"token\": \"...\"}"))?;
    if !bool::from(login.token.as_bytes().ct_eq(access.token.as_bytes())) {
        tokio::time::sleep(WRONG_TOKEN_DELAY).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "that is not this inspector's token",
        )
        .hint("give the --inspect-token (or OA_HOOK_INSPECT_TOKEN) serve was started with"));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        access.cookie
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn read_body(request: Request) -> Result<Bytes, ApiError> {
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

/// The parameters of a list or a download.
struct Asked {
    filter: Filter,
    after: u64,
    before: u64,
    limit: usize,
}

impl Asked {
    /// Reads `query`; `paged` lists take `after`, `before` and `limit` too.
    fn read(uri: &Uri, paged: bool) -> Result<Self, ApiError> {
        let mut asked = Asked {
            filter: Filter::default(),
            after: 0,
            before: u64::MAX,
            limit: DEFAULT_LIMIT,
        };
        let query = uri.query().unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (&*name, paged) {
                ("command", _) => {
                    asked.filter.command = Some(value.into_owned()).filter(|c| !c.is_empty());
                }
                ("verdict", _) if value.is_empty() => {}
                ("verdict", _) => {
                    let found = VerdictFilter::NAMES.iter().find(|(n, _)| *n == value);
                    asked.filter.verdict = Some(found.map(|(_, v)| *v).ok_or_else(|| {
                        let names: Vec<&str> =
                            VerdictFilter::NAMES.iter().map(|(n, _)| *n).collect();
                        ApiError::bad(format!(
                            "verdict={value} is not a verdict; give one of {}",
                            names.join(", ")
                        ))
                    })?);
                }
                ("q", _) if value.len() > MAX_TEXT_BYTES => {
                    return Err(ApiError::bad(format!(
                        "q is {} bytes; give at most {MAX_TEXT_BYTES}",
                        value.len()
                    )));
                }
                ("q", _) => {
                    asked.filter.text =
                        Some(value.to_ascii_lowercase().into_bytes()).filter(|t| !t.is_empty());
                }
                ("after", true) => asked.after = id(&name, &value)?,
                ("before", true) => asked.before = id(&name, &value)?,
                ("limit", true) => {
                    asked.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::bad(format!(
                                "limit={value} is not a whole number from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                (other, _) => {
                    let known = if paged {
                        "command, verdict, q, after, before and limit"
                    } else {
                        "command, verdict and q"
                    };
                    return Err(ApiError::bad(format!(
                        "{other} is not a parameter here; it takes {known}"
                    )));
                }
            }
        }
        Ok(asked)
    }
}

fn id(name: &str, value: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad(format!(
            "{name}={value} is not an event number; give the id of a row"
        ))
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
