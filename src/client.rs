//! The HTTP client that plays Chat: one kept-alive connection pool, bounded reads, and
//! transport errors explained.

use crate::cli::TargetArgs;
use crate::error::{Error, Result};
use crate::protocol::MAX_BODY_BYTES;
use crate::request::CONTENT_TYPE;
use reqwest::header::HeaderMap;
use std::time::{Duration, Instant};
use url::Url;

/// What came back for one request.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    /// As received, so that an answer costs no copying of its headers; reports format them.
    pub headers: HeaderMap,
    /// At most [`MAX_BODY_BYTES`]; see `truncated`.
    pub body: Vec<u8>,
    pub truncated: bool,
    /// From sending the request to the last byte of the answer.
    pub latency: Duration,
}

impl Exchange {
    pub fn reply(&self) -> crate::protocol::Reply<'_> {
        crate::protocol::Reply {
            status: self.status,
            body: &self.body,
            truncated: self.truncated,
            latency: Some(self.latency),
        }
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing answered by the timeout: the target is up but too slow (a contract failure).
    Timeout(Duration),
    /// The target could not be reached (refused, DNS, TLS, reset): nothing to judge.
    Unreachable { message: String, hint: String },
}

impl TransportError {
    pub fn into_error(self) -> Error {
        match self {
            TransportError::Timeout(after) => Error::unreachable(format!(
                "no answer within {}",
                humantime::format_duration(after)
            )),
            TransportError::Unreachable { message, hint } => Error::unreachable(message).hint(hint),
        }
    }
}

#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(target: &TargetArgs, pool_size: usize) -> Result<Self> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(pool_size)
            .http1_only()
            .tcp_nodelay(true)
            .user_agent(concat!("oa-hook/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            // Chat does not retry a callback behind the backend's back, so neither does
            // oa-hook; without a retry budget reqwest also stops cloning every request.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .timeout(target.timeout)
            .tls_danger_accept_invalid_certs(target.insecure);
        if let Some(path) = &target.cacert {
            let pem = std::fs::read(path).map_err(|e| {
                Error::usage(format!("cannot read --cacert {}: {e}", path.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                Error::usage(format!(
                    "--cacert {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let inner = builder
            .build()
            .map_err(|e| Error::usage(format!("cannot set up the HTTP client: {}", chain(&e))))?;
        Ok(Client {
            inner,
            timeout: target.timeout,
        })
    }

    /// POSTs `body` as JSON to `url` and reads the answer, at most [`MAX_BODY_BYTES`] of it.
    /// `body` may be shared `Bytes`, so load mode hands out one body without copying it.
    pub async fn post(
        &self,
        url: Url,
        body: impl Into<reqwest::Body>,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let mut response = self
            .inner
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| self.explain(&e, e.url()))?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let expected = response.content_length().unwrap_or(0) as usize;
        let mut body = Vec::with_capacity(expected.min(MAX_BODY_BYTES));
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.explain(&e, Some(response.url())))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Exchange {
            status,
            headers,
            body,
            truncated,
            latency: start.elapsed(),
        })
    }

    /// Says why `e` happened, naming the target (from the error, so that the hot path does not
    /// format it for every request).
    fn explain(&self, e: &reqwest::Error, url: Option<&Url>) -> TransportError {
        if e.is_timeout() {
            return TransportError::Timeout(self.timeout);
        }
        let host = url.map_or_else(|| "the target".to_owned(), describe);
        let detail = chain(e);
        let lower = detail.to_lowercase();
        let io_kind = io_error_kind(e);
        let (message, hint) = if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
            (
                format!("connection refused at {host}"),
                "is the backend running and listening on that port?",
            )
        } else if lower.contains("dns") || lower.contains("failed to lookup address") {
            (
                format!("cannot resolve the host of {host}: {detail}"),
                "check the host name in --url",
            )
        } else if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            (
                format!("TLS handshake with {host} failed: {detail}"),
                "for a self-signed backend pass --cacert FILE, or --insecure",
            )
        } else if e.is_connect() {
            (
                format!("cannot connect to {host}: {detail}"),
                "check --url and that the backend is reachable",
            )
        } else {
            (
                format!("the connection to {host} failed before an answer came: {detail}"),
                "the backend closed the connection or crashed; check its logs",
            )
        };
        TransportError::Unreachable {
            message,
            hint: hint.to_owned(),
        }
    }
}

/// rustls needs one crypto provider per process; oa-hook uses ring.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn describe(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    }
}

fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// The error with its causes, innermost last, without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}
