//! reqwest's kept-alive pool: HTTPS, and URLs with credentials.

use super::connection::BoundedBody;
use super::error::{chain, describe, explain_unreachable};
use super::{Exchange, Target, TransportError, USER_AGENT, sent_headers, tls};
use crate::error::{Error, Result};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use std::time::{Duration, Instant};
use url::Url;

/// reqwest's kept-alive pool, for what sends many requests at once to one target (the tap's
/// forwarding, replay) and for HTTPS.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: reqwest::Client,
    timeout: Duration,
    /// `--cacert`, to say when the certificate presented is not one of its.
    cacert: Option<std::path::PathBuf>,
}

impl Pool {
    pub(crate) fn new(target: &Target, pool_size: usize) -> Result<Self> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(pool_size)
            .http1_only()
            .tcp_nodelay(true)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // Chat does not retry a callback behind the backend's back, so neither does
            // oa-hook; without a retry budget reqwest also stops cloning every request.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            // The connection's own timeout comes first, so that a target that never took the
            // connection is told apart (unreachable) from one that took it and did not answer.
            .connect_timeout(target.timeout)
            .timeout(target.timeout.saturating_add(Duration::from_millis(1)))
            .tls_danger_accept_invalid_certs(target.insecure);
        // Read whatever the scheme, so that a wrong file is found before it matters.
        let trusted = target
            .cacert
            .as_deref()
            .map(tls::read_certificates)
            .transpose()?;
        if let Some(certificates) = trusted
            && !target.insecure
        {
            builder = builder.tls_backend_preconfigured(tls::client_config(certificates)?);
        }
        let inner = builder
            .build()
            .map_err(|e| Error::usage(format!("cannot set up the HTTP client: {}", chain(&e))))?;
        Ok(Pool {
            inner,
            timeout: target.timeout,
            cacert: target.cacert.clone().filter(|_| !target.insecure),
        })
    }

    pub(crate) async fn post(&self, url: Url, body: Bytes) -> Result<Exchange, TransportError> {
        self.post_with(url, body, HeaderMap::new()).await
    }

    /// [`Pool::post`] with `extra` headers besides a callback's own (the inspector marks its
    /// replays so).
    pub(crate) async fn post_with(
        &self,
        url: Url,
        body: Bytes,
        extra: HeaderMap,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let mut headers = sent_headers(&url, body.len());
        headers.extend(extra);
        let response = self
            .inner
            .post(url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| self.explain(e, None))?;
        self.read(response, start).await
    }

    /// Sends a request as it was received (the tap): `method`, `headers` (those of the request
    /// the tap passes on) and `body`, byte for byte, to `url`; reads the answer as
    /// [`Client::post`] does.
    pub(crate) async fn forward(
        &self,
        method: reqwest::Method,
        url: Url,
        headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> Result<Exchange, TransportError> {
        let start = Instant::now();
        let request = self.inner.request(method, url).headers(headers).body(body);
        let response = request.send().await.map_err(|e| self.explain(e, None))?;
        self.read(response, start).await
    }

    /// Reads an answer, at most [`MAX_BODY_BYTES`] of it.
    async fn read(
        &self,
        mut response: reqwest::Response,
        start: Instant,
    ) -> Result<Exchange, TransportError> {
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BoundedBody::expecting(response.content_length());
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.explain(e, Some(response.url())))?
        {
            if !body.push(&chunk) {
                break;
            }
        }
        Ok(body.into_exchange(status, &headers, start))
    }

    /// Says why `e` happened, naming the target (from the error, or `url`, so that the hot
    /// path does not format it for every request).
    fn explain(&self, e: reqwest::Error, url: Option<&Url>) -> TransportError {
        if e.is_connect() || e.is_builder() {
            let url = e.url().or(url).cloned();
            let target = url
                .as_ref()
                .map_or_else(|| "the target".to_owned(), describe);
            // reqwest's own message repeats the URL, password and all.
            let e = e.without_url();
            match tls::rustls_error(&e) {
                Some(tls) => tls::explain(tls, &target, url.as_ref(), self.cacert.as_deref()),
                None => explain_unreachable(&e, &target),
            }
        } else if e.is_timeout() {
            TransportError::Timeout(self.timeout)
        } else {
            TransportError::broken(&e.without_url())
        }
    }
}

/// rustls needs one crypto provider per process; oa-hook uses ring.
pub(super) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
