//! Who may use the inspector. Loopback by default, where only this machine's browsers reach it
//! and a Host header check turns away pages of other sites that rebind a name to 127.0.0.1;
//! elsewhere every API call needs `--inspect-token`, given as a bearer token or as the cookie
//! the page gets for it. A request that changes something (a replay) must be JSON, which a
//! page of another site cannot send here without this server's consent, never given.

use super::api::read_body;
use super::{ApiError, Shared};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

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

/// `POST /api/login` `{"token": "..."}`: sets the cookie that stands for the token.
pub(super) async fn login(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
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

/// Turns away who may not use the inspector, and marks every answer as not to be cached,
/// sniffed, framed or referred from.
pub(super) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
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
