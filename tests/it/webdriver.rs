//! A headless Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`, with
//! chromedriver on a free loopback port. For the test and the benchmark that look at the
//! inspector's page in a real browser (`browser.rs`, `examples/inspector_page.rs`).

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the page gets to show what a check waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// chromedriver and the browser session it runs; the driver is stopped when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver does not run ({e}): apt-get install chromium chromium-driver")
            });
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,900", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking"
            ]
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        Browser {
            client: loop {
                let connected = ClientBuilder::new(HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url)
                    .await;
                match connected {
                    Ok(client) => break client,
                    Err(e) if started.elapsed() > Duration::from_secs(30) => {
                        panic!("no WebDriver session from chromedriver: {e}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            },
            driver,
        }
    }

    /// Ends the session (and so the browser), then the driver.
    pub async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SIGTERM first: chromedriver then ends the browsers it started.
        let _ = Command::new("kill")
            .arg(self.driver.id().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.driver.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Runs `script` (the body of a function) in the page until it returns something other than
/// `null` or `false`, and returns that; fails naming `what` when the page never shows it.
pub async fn until(client: &Client, what: &str, script: &str) -> Value {
    let started = Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < PATIENCE {
        match client.execute(script, Vec::new()).await {
            Ok(Value::Null | Value::Bool(false)) => {}
            Ok(value) => return value,
            Err(e) => last = json!(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the page never showed {what} (last: {last})");
}

/// Clicks what `selector` finds first.
pub async fn click(client: &Client, selector: &str) {
    until(
        client,
        &format!("{selector} to click"),
        &format!(
            "const e = document.querySelector({}); if (!e || e.disabled) return false; e.click(); return true;",
            json!(selector)
        ),
    )
    .await;
}
