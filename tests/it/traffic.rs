//! The traffic path loses nothing: a caller that hangs up or half-closes, a request the HTTP
//! library refuses, a record that is rotated, moved or stuck, a cap held by idle sockets.

use crate::support::{
    NOT_RECORDED_HINT, NOW, Serve, Test, anything, assert_contains, contains, read_answer,
    seed_body, stopped,
};
use oa_hook::protocol::sign;
use serde_json::Value;
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::Duration;

const AFTER: &str = "OfficialAccount.CallbackAfterAddSubscriber";
const TOKEN: &str = "traffic-token";

fn serve(args: &[&str]) -> Serve {
    Test::serve()
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .start()
}

/// Writes a genuine callback on a fresh connection, kept open.
fn send_callback(url: &str) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    let body = seed_body(AFTER);
    write!(
        stream,
        "POST /im?SdkAppid=88888888&CallbackCommand={AFTER}&contenttype=json&Sign={}&RequestTime={NOW} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        sign(TOKEN, NOW),
        body.len()
    )
    .unwrap();
    stream
}

/// The answer on `stream` (status line, body), which must come within `limit`.
fn answer_within(stream: TcpStream, limit: Duration) -> (String, Vec<u8>) {
    stream.set_read_timeout(Some(limit)).unwrap();
    read_answer(&mut BufReader::new(stream))
}

fn record_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Stops a serve that answered and recorded one callback, `rejected` (0 or 1) of it rejected as
/// invalid: the one line it recorded to `path`.
fn the_one_record(mut serve: Serve, rejected: u8, path: &Path) -> Value {
    serve
        .stderr(stopped(&format!(
            "1 callback(s) answered, {rejected} of them rejected as invalid; 1 recorded"
        )))
        .interrupt();
    let mut lines = record_lines(path);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    lines.remove(0)
}

/// Waits until the record writer has written `n` lines to `path`.
fn wait_for_lines(path: &Path, n: usize) {
    let started = std::time::Instant::now();
    while std::fs::read_to_string(path).unwrap().lines().count() < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{n} lines in time"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_caller_that_hangs_up_is_said_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let serve = serve(&[
        "--delay",
        "300ms",
        "-q",
        "--record",
        record.to_str().unwrap(),
    ]);
    // Gone as Chat goes after 2 s: the connection closed before the answer.
    drop(send_callback(&serve.url));
    let line = serve.next_line();
    assert_contains(&line, "✔ after-subscribe");
    assert_contains(&line, "→ 200 OK");
    assert_contains(&line, "! the caller closed the connection ");
    assert_contains(&line, " ms after it arrived, before the answer");
    let recorded = the_one_record(serve, 0, &record);
    assert!(recorded["caller_closed_ms"].as_f64().unwrap() < 300.0);
    assert_eq!(recorded["valid"], true);
}

#[test]
fn a_caller_that_half_closes_gets_its_answer() {
    let serve = serve(&["-q"]);
    for _ in 0..20 {
        let stream = send_callback(&serve.url);
        stream.shutdown(Shutdown::Write).unwrap();
        let (status, body) = answer_within(stream, Duration::from_secs(10));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(
            body,
            br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
        );
    }
}

#[tokio::test]
async fn the_tap_records_the_backends_answer_to_a_caller_that_hung_up() {
    let backend = crate::support::backend(
        crate::support::answer(serde_json::json!({
            "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""
        }))
        .set_delay(Duration::from_millis(300)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let mut tap = serve(&[
        "--forward-to",
        &backend.uri(),
        "-q",
        "--record",
        record.to_str().unwrap(),
    ]);
    drop(send_callback(&tap.url));
    assert_contains(&tap.next_line(), "passing every request on to");
    let line = tap.next_line();
    assert_contains(&line, "→ backend 200");
    assert_contains(&line, "the caller closed the connection");
    tap.stderr(stopped(
        "1 request(s) passed on, 0 of them not callbacks Chat could have sent; 1 recorded",
    ))
    .interrupt();
    let lines = record_lines(&record);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["backend"]["status"], 200);
    assert!(lines[0]["caller_closed_ms"].is_number());
}

#[test]
fn a_request_the_http_library_refuses_is_said_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let serve = serve(&["-q", "--record", record.to_str().unwrap()]);
    let address = serve.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .write_all(b"POST /im HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    let line = serve.next_line();
    assert_contains(
        &line,
        "✘ -  → 400 request: the HTTP library refused the request before serve read it (invalid HTTP header parsed) and answered 400 itself, with no body",
    );
    let recorded = the_one_record(serve, 1, &record);
    assert_eq!(recorded["valid"], false);
    assert_eq!(recorded["status"], 400);
    assert_eq!(recorded["findings"][0]["code"], "http-refused");
    // Judged as every answer is, so that replay reads the record it is in.
    assert_eq!(recorded["judgement"]["accepted"], false);
    Test::new()
        .args(["replay", record.to_str().unwrap()])
        .args(["--url", "http://127.0.0.1:9/"])
        .status(2)
        .stderr(contains("none of the 1 record(s)"))
        .run();
}

#[test]
fn a_record_truncated_by_logrotate_or_moved_and_reopened_on_sighup_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let mut serve = serve(&["-q", "--record", record.to_str().unwrap()]);
    let answered = |serve: &Serve, n: usize| {
        for _ in 0..n {
            let stream = send_callback(&serve.url);
            let (status, _) = read_answer(&mut BufReader::new(stream));
            assert_eq!(status, "HTTP/1.1 200 OK");
            serve.next_line();
        }
    };
    answered(&serve, 3);
    wait_for_lines(&record, 3);
    // logrotate's copytruncate: the file is emptied under serve.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&record)
        .unwrap()
        .set_len(0)
        .unwrap();
    answered(&serve, 2);
    wait_for_lines(&record, 2);
    // logrotate's create: the file is moved, and SIGHUP makes serve open a new one.
    let rotated = dir.path().join("record.ndjson.1");
    std::fs::rename(&record, &rotated).unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &serve.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(
        serve.next_error_line(),
        format!(
            "oa-hook: SIGHUP: reopening --record {} before its next line",
            record.display()
        )
    );
    answered(&serve, 1);
    serve
        .stderr(stopped(
            "6 callback(s) answered, 0 of them rejected as invalid; 6 recorded",
        ))
        .interrupt();
    let old = std::fs::read(&rotated).unwrap();
    assert!(!old.contains(&0), "no NUL bytes after a copytruncate");
    assert_eq!(record_lines(&rotated).len(), 2);
    assert_eq!(record_lines(&record).len(), 1);
}

/// A serve with `--drain-timeout drain` recording to a FIFO in `dir` that nobody reads yet,
/// after it answered `callbacks` callbacks.
fn recording_to_a_fifo(dir: &Path, drain: &str, callbacks: usize) -> (Serve, std::path::PathBuf) {
    let fifo = dir.join("record.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let serve = serve(&[
        "-q",
        "--drain-timeout",
        drain,
        "--record",
        fifo.to_str().unwrap(),
    ]);
    for _ in 0..callbacks {
        let (status, _) = answer_within(send_callback(&serve.url), Duration::from_secs(10));
        assert_eq!(status, "HTTP/1.1 200 OK");
    }
    (serve, fifo)
}

#[test]
fn a_record_nobody_reads_delays_no_answer_and_no_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, fifo) = recording_to_a_fifo(dir.path(), "100ms", 5);
    serve
        .status(2)
        .stdout(anything())
        .stderr(format!(
            "oa-hook: SIGINT received: no new connections; waiting up to 100ms (--drain-timeout) for 0 requests in flight; send it again to quit now\n\
             stopped: 5 callback(s) answered, 0 of them rejected as invalid; 0 recorded, 5 NOT recorded\n\
             oa-hook: error: cannot write to --record {}: the destination took nothing for 1s\n  hint: {NOT_RECORDED_HINT}\n",
            fifo.display()
        ))
        .interrupt();
}

/// A second Ctrl-C while serve waits for its record to take the last lines (a FIFO whose
/// reader comes late) still says in the exit code that serve was cut short, and the record
/// still gets every line.
#[test]
fn a_second_ctrl_c_while_the_record_is_written_still_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, fifo) = recording_to_a_fifo(dir.path(), "1h", 1);
    serve.ctrl_c();
    assert_eq!(
        serve.next_error_line(),
        "oa-hook: SIGINT received: no new connections; waiting up to 1h (--drain-timeout) for 0 requests in flight; send it again to quit now"
    );
    // Nothing is in flight: serve is on to its record, which waits for a reader.
    serve.ctrl_c();
    let reader = std::thread::spawn(move || std::fs::read_to_string(&fifo).unwrap());
    serve
        .status(130)
        .stdout(anything())
        .stderr("stopped: 1 callback(s) answered, 0 of them rejected as invalid; 1 recorded\n")
        .exit();
    let record = reader.join().unwrap();
    assert_eq!(record.lines().count(), 1, "{record}");
}

/// How often each of serve's cores after the first (its threads `oa-hook serve`) has woken.
#[cfg(target_os = "linux")]
fn core_wakeups(serve: &Serve) -> Vec<(String, u64)> {
    let tasks = format!("/proc/{}/task", serve.pid());
    let mut woken: Vec<(String, u64)> = std::fs::read_dir(tasks)
        .unwrap()
        .filter_map(|task| {
            let task = task.ok()?.path();
            let status = std::fs::read_to_string(task.join("status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(str::trim)
            };
            (field("Name:")? == "oa-hook serve").then_some(())?;
            let switches = field("voluntary_ctxt_switches:")?.parse().ok()?;
            Some((task.display().to_string(), switches))
        })
        .collect();
    woken.sort();
    woken
}

/// serve runs an event loop on every core it may run on, and hands fresh connections to each
/// in turn: every core's thread wakes for its share.
#[cfg(target_os = "linux")]
#[test]
fn serve_spreads_connections_over_its_cores() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let serve = serve(&["-q"]);
    let before = core_wakeups(&serve);
    assert_eq!(
        before.len(),
        cores - 1,
        "a thread for each core after the first"
    );
    for _ in 0..4 * cores {
        let (status, _) = answer_within(send_callback(&serve.url), Duration::from_secs(10));
        assert_eq!(status, "HTTP/1.1 200 OK");
    }
    let after = core_wakeups(&serve);
    assert_eq!(after.len(), before.len());
    for ((thread, then), (_, now)) in before.iter().zip(&after) {
        assert!(now >= &(then + 4), "{thread} woke {} times", now - then);
    }
}

#[test]
fn at_the_cap_the_connection_idle_the_longest_makes_room() {
    let serve = serve(&["-q", "--max-connections", "3"]);
    let address = serve.url.trim_start_matches("http://").to_owned();
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    // The head timeout (10 s) would close them only much later: the genuine callback gets
    // in because the oldest idle one is closed for it.
    for round in 0..3 {
        let (status, _) = answer_within(send_callback(&serve.url), Duration::from_secs(5));
        assert_eq!(status, "HTTP/1.1 200 OK", "round {round}");
        // The idle sockets reconnect as they are closed, holding the cap again.
        for socket in &mut idle {
            socket.set_nonblocking(true).unwrap();
            let mut byte = [0; 1];
            if matches!(socket.read(&mut byte), Ok(0)) {
                *socket = TcpStream::connect(&address).unwrap();
            }
        }
    }
}
