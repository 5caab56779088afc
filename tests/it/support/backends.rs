//! Backends on loopback shared by several modules: wiremock fixtures, a TLS backend, a refused
//! port, and a reader of raw HTTP answers.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// A port that was bound a moment ago and released: connecting to it is refused.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP 200 answer with this JSON body.
pub fn answer(body: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

/// A backend on loopback that answers every POST with `response`.
pub async fn backend(response: impl wiremock::Respond + 'static) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// A certificate for 127.0.0.1 (or `name`), signed by itself, and its key.
pub fn self_signed(name: &str, is_ca: rcgen::IsCa) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.is_ca = is_ca;
    let key = rcgen::KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

/// An https backend on loopback presenting `cert` (whose key is `key`), answering every request
/// with HTTP 200 and `body`. Returns its URL, `https://127.0.0.1:PORT/im`.
pub fn https_backend(
    cert: &rcgen::Certificate,
    key: &rcgen::KeyPair,
    body: serde_json::Value,
) -> String {
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    // Bound before the thread starts, so connections queue until it accepts: no readiness wait.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let tcp = tokio::net::TcpListener::from_std(listener).unwrap();
            let body = body.to_string();
            let app = axum::Router::new().fallback(move || {
                let body = body.clone();
                async move { ([("content-type", "application/json")], body) }
            });
            axum::serve(TlsListener { tcp, acceptor }, app)
                .await
                .unwrap();
        });
    });
    format!("https://{address}/im")
}

/// Accepts TCP connections and completes the TLS handshake; a failed handshake (a client
/// that does not trust the certificate) is dropped and the next connection awaited.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Reads one HTTP/1.1 answer off `stream`: its status and body.
pub fn read_answer(stream: &mut BufReader<std::net::TcpStream>) -> (String, Vec<u8>) {
    let mut status = String::new();
    stream.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        stream.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        assert!(
            !(name.eq_ignore_ascii_case("connection") && value.trim() == "close"),
            "serve closes the connection"
        );
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status.trim_end().to_owned(), body)
}
