//! Shared helpers: the binary under a fixed clock, a running `serve`, and paths to the samples.

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The fixed clock every test runs under (Unix seconds): the RequestTime of Tencent's vector.
pub const NOW: u64 = 1_669_872_112;

/// The `oa-hook` binary with a fixed clock and a clean environment.
pub fn oa_hook() -> Command {
    Command::from_std(oa_hook_std())
}

/// [`oa_hook`] as a plain process, for the ones a test keeps running (see [`Serve`]).
pub fn oa_hook_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("oa-hook"));
    // Every OA_HOOK_* variable of the environment the tests run in is an option: none leaks in.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OA_HOOK_") {
            cmd.env_remove(name);
        }
    }
    // Nor does an oa-hook.toml in the directory the tests run in.
    cmd.env("OA_HOOK_CONFIG", "/dev/null");
    cmd.env("OA_HOOK_NOW", NOW.to_string())
        // Nor does a CI job's summary file: a test that wants one sets its own.
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    cmd
}

/// Tencent's before-subscribe sample body with `command` for its command word, compact as Chat
/// sends it.
pub fn seed_body(command: &str) -> String {
    serde_json::json!({
        "CallbackCommand": command,
        "Official_Account": "@TOA#_test_for_penn",
        "Operator_Account": "107867",
        "SubscribeAccountList": [{"Subscriber_Account": "jared"}, {"Subscriber_Account": "leckie"}],
        "EventTime": 1670574414123_i64
    })
    .to_string()
}

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("oa-hook runs");
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// How long a test waits for `serve` to print a line or to exit before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// `oa-hook serve --listen 127.0.0.1:0 ARGS`, to add environment to before [`Serve::spawn`].
pub fn serve_command(args: &[&str]) -> std::process::Command {
    let mut cmd = oa_hook_std();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
    cmd
}

/// A running `oa-hook serve` on a free loopback port; killed when dropped.
pub struct Serve {
    /// `http://127.0.0.1:PORT`, as printed on its first line.
    pub url: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
    errors: mpsc::Receiver<String>,
    error_reader: Option<JoinHandle<()>>,
    /// Dropped to let a [`Stdout::Stuck`] reader go.
    release: Option<mpsc::Sender<()>>,
}

/// What the test does with `serve`'s stdout once it has read the first line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// Reads every line, for [`Serve::next_line`].
    Read,
    /// Reads no more, keeping the pipe open: a paused terminal or a consumer that is stuck.
    Stuck,
    /// Closes the pipe, as `serve | head -1` does.
    Closed,
}

/// How a [`Serve`] ended.
pub struct Stopped {
    pub status: ExitStatus,
    /// The stdout lines not yet taken with [`Serve::next_line`].
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Serve {
    /// Starts `oa-hook serve --listen 127.0.0.1:0 ARGS` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Serve {
        Serve::spawn(serve_command(args))
    }

    /// Starts `command` (see [`serve_command`]) and waits for its `listening on` line.
    pub fn spawn(command: std::process::Command) -> Serve {
        Serve::spawn_with(command, Stdout::Read)
    }

    /// [`Serve::spawn`], doing `with_stdout` once the first line is read.
    pub fn spawn_with(mut command: std::process::Command, with_stdout: Stdout) -> Serve {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oa-hook serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout).lines().map_while(Result::ok);
            if let Some(first) = stdout.next() {
                let _ = sender.send(first);
            }
            match with_stdout {
                Stdout::Read => {
                    for line in stdout {
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                }
                Stdout::Stuck => {
                    let _ = released.recv();
                }
                Stdout::Closed => drop(stdout),
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let (error_sender, errors) = mpsc::channel();
        let error_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if error_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            url: String::new(),
            child,
            lines,
            reader: Some(reader),
            errors,
            error_reader: Some(error_reader),
            release: Some(release),
        };
        let first = serve.next_line();
        // `--output json` says it as JSON, since every stdout line is JSON then.
        let json_url = || -> Option<String> {
            let value: serde_json::Value = serde_json::from_str(&first).ok()?;
            Some(value["listening"].as_str()?.to_owned())
        };
        serve.url = first
            .strip_prefix("listening on ")
            .map(str::to_owned)
            .or_else(json_url)
            .unwrap_or_else(|| panic!("the first line names the URL, got {first:?}"));
        serve
    }

    /// The next line `serve` prints on stderr.
    pub fn next_error_line(&self) -> String {
        self.errors
            .recv_timeout(PATIENCE)
            .expect("serve prints a line on stderr in time")
    }

    /// The next line `serve` prints on stdout.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("serve prints a line in time")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (Ctrl-C) and waits for `serve` to exit.
    pub fn interrupt(&mut self) -> Stopped {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -INT {}", self.pid());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("serve can be waited for") {
                break status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "serve did not exit after SIGINT"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.release.take();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the stdout reader ends with serve");
        }
        if let Some(reader) = self.error_reader.take() {
            reader.join().expect("the stderr reader ends with serve");
        }
        let stderr: String = self.errors.try_iter().map(|line| line + "\n").collect();
        Stopped {
            status,
            stdout: self.lines.try_iter().collect(),
            stderr,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("oa-hook runs");
    Run {
        code: output.status.code().expect("oa-hook exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

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

/// Asserts that `text` starts with `prefix`, showing `text` when it does not.
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "expected it to start with {prefix:?}:\n{text}"
    );
}

/// Asserts that `text` ends with `suffix`, showing `text` when it does not.
#[track_caller]
pub fn assert_ends(text: &str, suffix: &str) {
    assert!(
        text.ends_with(suffix),
        "expected it to end with {suffix:?}:\n{text}"
    );
}

/// Asserts that `text` contains `part`, showing `text` when it does not.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(
        text.contains(part),
        "expected it to contain {part:?}:\n{text}"
    );
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

/// The case `id` of a `check --output json` report.
pub fn case<'r>(report: &'r serde_json::Value, id: &str) -> &'r serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {report:#}"))
}

/// The status of each case of a `check --output json` report, by id, in order.
pub fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The ids of the cases of a `check --output json` report, in order.
pub fn case_ids(report: &serde_json::Value) -> Vec<&str> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}
