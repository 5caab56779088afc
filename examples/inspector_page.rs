//! The inspector's open page, played without a browser, for `bench/inspect.sh`: it asks what
//! the page asks (`/api/info`, the newest 200 rows, the live stream) and, after rows were
//! dropped, catches up from the list at most every 5 s, as the page does.
//!
//!     inspector_page PAGE_URL
//!         reads the stream until killed; one line per batch: "rows R dropped D"
//!     inspector_page PAGE_URL --latency N SIGNED_URL BODY_FILE
//!         sends N callbacks, one at a time at random gaps of 0 to 100 ms, and prints the
//!         milliseconds from each answer's arrival to its row's on the stream: p50, p95, max
//!         (negative when the row came first: serve publishes a row before it answers)

use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// As the page: after a batch with dropped rows, the newest few from the list this often.
const CATCH_UP: Duration = Duration::from_secs(5);

/// The longest a callback's row may take before the run says it never came.
const ROW_WAIT: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let page = args
        .first()
        .ok_or("usage: inspector_page PAGE_URL [--latency N SIGNED_URL BODY_FILE]")?
        .trim_end_matches('/')
        .to_owned();
    let client = reqwest::Client::builder().no_proxy().build()?;
    match args.get(1).map(String::as_str) {
        None => {
            let (rows, _) = mpsc::unbounded_channel();
            open(&client, &page, rows, true).await
        }
        Some("--latency") => {
            let [count, url, body] = &args[2..] else {
                return Err("--latency takes N SIGNED_URL BODY_FILE".into());
            };
            latency(client, page, count.parse()?, url, std::fs::read(body)?).await
        }
        Some(other) => Err(format!("{other} is not an option of inspector_page").into()),
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Value, Failure> {
    Ok(client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The open page: sends the id and arrival of every row streamed to `rows` (0 when the stream
/// starts), and `says` each batch.
async fn open(
    client: &reqwest::Client,
    page: &str,
    rows: mpsc::UnboundedSender<(u64, Instant)>,
    says: bool,
) -> Result<(), Failure> {
    get(client, &format!("{page}/api/info")).await?;
    let listed = get(client, &format!("{page}/api/events?limit=200")).await?;
    let mut shown = listed["newest"].as_u64().unwrap_or_default();
    let mut stream = client
        .get(format!("{page}/api/stream"))
        .send()
        .await?
        .error_for_status()?;
    let mut caught_up: Option<Instant> = None;
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.chunk().await? {
        let arrived = Instant::now();
        buffer.extend_from_slice(&chunk);
        while let Some(end) = memchr::memmem::find(&buffer, b"\n\n") {
            let message: Vec<u8> = buffer.drain(..end + 2).collect();
            let message = String::from_utf8_lossy(&message);
            let (mut event, mut data) = ("", String::new());
            for line in message.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name;
                } else if let Some(part) = line.strip_prefix("data: ") {
                    data.push_str(part);
                }
            }
            match event {
                "stopped" => return Ok(()),
                "rows" => {}
                // Streaming from now on: said as row 0.
                "hello" => {
                    let _ = rows.send((0, arrived));
                    continue;
                }
                _ => continue,
            }
            let batch: Value = serde_json::from_str(&data)?;
            let streamed = batch["rows"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let dropped = batch["dropped"].as_u64().unwrap_or_default();
            if says {
                println!("rows {} dropped {dropped}", streamed.len());
            }
            for row in streamed {
                let id = row["id"].as_u64().unwrap_or_default();
                shown = shown.max(id);
                let _ = rows.send((id, arrived));
            }
            if dropped > 0 && caught_up.is_none_or(|at| at.elapsed() >= CATCH_UP) {
                caught_up = Some(Instant::now());
                let newest = format!("{page}/api/events?after={shown}&limit=25");
                shown = shown.max(
                    get(client, &newest).await?["newest"]
                        .as_u64()
                        .unwrap_or(shown),
                );
            }
        }
    }
    Ok(())
}

/// Sends `count` callbacks while the page is open, and prints how long after each answer its
/// row was streamed.
async fn latency(
    client: reqwest::Client,
    page: String,
    count: u64,
    url: &str,
    body: Vec<u8>,
) -> Result<(), Failure> {
    let first = get(&client, &format!("{page}/api/info")).await?["newest"]
        .as_u64()
        .unwrap_or_default();
    let (rows, mut streamed) = mpsc::unbounded_channel();
    let reader = client.clone();
    let page_open = tokio::spawn(async move { open(&reader, &page, rows, false).await });
    let mut arrivals = HashMap::new();
    wait_for(0, &mut streamed, &mut arrivals).await?;
    let post = || {
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    // A warm-up callback, not measured: the connection is made.
    post().await?.bytes().await?;
    wait_for(first + 1, &mut streamed, &mut arrivals).await?;
    let mut gaps = 0x2545_f491_4f6c_dd1d_u64;
    let mut millis = Vec::new();
    for n in 2..=count + 1 {
        gaps ^= gaps << 13;
        gaps ^= gaps >> 7;
        gaps ^= gaps << 17;
        tokio::time::sleep(Duration::from_millis(gaps % 101)).await;
        post().await?.error_for_status()?.bytes().await?;
        let answered = Instant::now();
        let row = wait_for(first + n, &mut streamed, &mut arrivals).await?;
        millis.push(if row >= answered {
            (row - answered).as_secs_f64() * 1e3
        } else {
            -(answered - row).as_secs_f64() * 1e3
        });
    }
    page_open.abort();
    millis.sort_by(f64::total_cmp);
    let at = |share: f64| millis[((millis.len() - 1) as f64 * share).round() as usize];
    println!(
        "rows {} p50 {:.1} p95 {:.1} max {:.1} ms",
        millis.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    );
    Ok(())
}

/// When row `id` was streamed.
async fn wait_for(
    id: u64,
    streamed: &mut mpsc::UnboundedReceiver<(u64, Instant)>,
    arrivals: &mut HashMap<u64, Instant>,
) -> Result<Instant, Failure> {
    let deadline = tokio::time::Instant::now() + ROW_WAIT;
    loop {
        if let Some(at) = arrivals.remove(&id) {
            return Ok(at);
        }
        match tokio::time::timeout_at(deadline, streamed.recv()).await {
            Ok(Some((row, at))) => {
                arrivals.insert(row, at);
            }
            Ok(None) => return Err("the stream ended".into()),
            Err(_) => return Err(format!("row {id} was not streamed within 5 s").into()),
        }
    }
}
