//! `serve` under attack and under pressure: slow, idle and numerous sockets, the largest odd
//! body, a stdout nobody reads or that was closed, a record that cannot be written.

use crate::support::{
    NOT_RECORDED_HINT, NOW, Serve, Stdout, Test, anything, assert_contains, read_answer, seed_body,
    starts, stopped,
};
use oa_hook::protocol::sign;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";
const TOKEN: &str = "hostile-token";

/// The path and signed query of a genuine before-subscribe at the fixed clock.
fn target() -> String {
    format!(
        "/im?SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={}&RequestTime={NOW}",
        sign(TOKEN, NOW)
    )
}

fn seed() -> String {
    seed_body(BEFORE)
}

fn serve(args: &[&str], stdout: Stdout) -> Serve {
    Test::serve()
        .args(args)
        .env("OA_HOOK_TOKEN", TOKEN)
        .start_with(stdout)
}

/// Sends `body` as Chat does over a fresh connection, giving up after Chat's 2 s; returns the
/// status and the answer's body.
fn post(url: &str, body: &str) -> (u16, Vec<u8>) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        target(),
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("an answer within 2 s");
    let text = String::from_utf8_lossy(&answer);
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec())
        .unwrap();
    (status, body)
}

/// Posts `body`, which must be refused with a 400 whose answer is a few KiB at most.
fn refused_in_a_few_kib(url: &str, body: &str) -> Value {
    let (status, answer) = post(url, body);
    assert_eq!(status, 400);
    assert!(answer.len() < 4096, "the answer is {} bytes", answer.len());
    serde_json::from_slice(&answer).unwrap()
}

#[test]
fn idle_and_slow_sockets_do_not_lock_a_genuine_callback_out() {
    let serve = serve(&[], Stdout::Read);
    let address = serve.url.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(TcpStream::connect(&address).unwrap());
    }
    for _ in 0..200 {
        let mut slow = TcpStream::connect(&address).unwrap();
        slow.write_all(b"POST /im HTTP/1.1\r\nHost: x\r\nContent-Le")
            .unwrap();
        held.push(slow);
    }
    let (status, answer) = post(&serve.url, &seed());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(held.len(), 500);
}

#[test]
fn idle_sockets_are_closed_and_the_cap_is_said_once() {
    let mut serve = serve(
        &["--max-connections", "4", "--head-timeout", "300ms"],
        Stdout::Read,
    );
    let address = serve.url.trim_start_matches("http://").to_owned();
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    // The fifth waits for a slot; it gets one when the idle ones are closed.
    let (status, _) = post(&serve.url, &seed());
    assert_eq!(status, 200);
    for socket in &mut idle {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0; 1];
        assert_eq!(socket.read(&mut byte).unwrap(), 0, "serve closed it");
    }
    serve
        .stdout(anything())
        .stderr(format!(
            "oa-hook: 4 connections are open, the most serve holds at once: from now on the one idle the longest is closed to admit a new one, and when all are busy new ones wait until one finishes (--max-connections sets the cap)\n{}",
            stopped("1 callback(s) answered, 0 of them rejected as invalid")
        ))
        .interrupt();
}

#[test]
fn a_body_that_does_not_arrive_gets_a_408() {
    let serve = serve(&["--head-timeout", "300ms", "-q"], Stdout::Read);
    let address = serve.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"Callback",
        target()
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_contains(&answer, r#""ActionStatus":"FAIL""#);
    assert_contains(
        &serve.next_line(),
        "→ 408 body: the body did not arrive within 300ms",
    );
}

/// A million bytes of subscribers that are numbers: every one is wrong, and the answer, the
/// event line and the record line must still be small.
#[test]
fn the_worst_body_gets_a_small_answer_event_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let mut serve = serve(
        &["--output", "json", "--record", record.to_str().unwrap()],
        Stdout::Read,
    );
    let mut body = format!(r#"{{"CallbackCommand":"{BEFORE}","SubscribeAccountList":["#);
    while body.len() < (1 << 20) - 64 {
        body.push_str("1,");
    }
    body.push_str(r#"1],"EventTime":1}"#);
    let answer = refused_in_a_few_kib(&serve.url, &body);
    assert_contains(
        answer["ErrorInfo"].as_str().unwrap(),
        "body: the body is 1023 KiB and not exactly a OfficialAccount.CallbackBeforeAddSubscriber body",
    );
    let event = serve.next_line();
    assert!(
        event.len() < 8192,
        "the event line is {} bytes",
        event.len()
    );
    let url = serve.url.clone();
    serve
        .stderr(format!(
            "listening on {url}\noa-hook send before-subscribe --url {url}/\n{}",
            stopped("1 callback(s) answered, 1 of them rejected as invalid; 1 recorded")
        ))
        .interrupt();
    let line = std::fs::read_to_string(&record).unwrap();
    assert!(line.len() < 8192, "the record line is {} bytes", line.len());
    let recorded: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(recorded["body"], Value::Null);
    assert_eq!(recorded["body_bytes"], body.len());
}

/// A body small enough to be explained field by field still gets a short answer.
#[test]
fn a_body_full_of_wrong_subscribers_gets_a_few_findings_and_a_count() {
    let serve = serve(&["-q"], Stdout::Read);
    let items = vec!["1"; 20_000].join(",");
    let body = format!(
        r#"{{"CallbackCommand":"{BEFORE}","SubscribeAccountList":[{items}],"EventTime":1}}"#
    );
    let answer = refused_in_a_few_kib(&serve.url, &body);
    assert_contains(
        answer["ErrorInfo"].as_str().unwrap(),
        "more errors, not listed",
    );
}

#[test]
fn a_stuck_stdout_neither_delays_nor_loses_the_record() {
    const CALLBACKS: usize = 6000;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.ndjson");
    let mut serve = serve(&["--record", record.to_str().unwrap()], Stdout::Stuck);
    let address = serve.url.trim_start_matches("http://").to_owned();
    let body = seed();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let address = address.clone();
            let body = body.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&address).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let request = format!(
                    "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    target(),
                    body.len()
                );
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                for _ in 0..CALLBACKS / 4 {
                    stream.write_all(request.as_bytes()).unwrap();
                    let (status, _) = read_answer(&mut reader);
                    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("every callback is answered in time");
    }
    serve
        .stderr(
            starts("oa-hook: stdout is not keeping up (a paused terminal, or a pipe nobody reads): event lines are dropped until it does; the record keeps every callback\n")
                .contains(stopped(&format!(
                    "{CALLBACKS} callback(s) answered, 0 of them rejected as invalid; {CALLBACKS} recorded; "
                )).trim_end())
                .ends(" event line(s) not printed (stdout did not take them)\n"),
        )
        .interrupt();
    let recorded = std::fs::read_to_string(&record).unwrap();
    assert_eq!(recorded.lines().count(), CALLBACKS);
    assert!(recorded.ends_with('\n'));
}

#[test]
fn a_closed_stdout_does_not_end_serve() {
    let mut serve = serve(&[], Stdout::Closed);
    for _ in 0..3 {
        let (status, _) = post(&serve.url, &seed());
        assert_eq!(status, 200);
    }
    assert_contains(&serve.next_error_line(), "stdout was closed");
    serve
        .stderr(stopped(
            "3 callback(s) answered, 0 of them rejected as invalid; 3 event line(s) not printed (stdout did not take them)",
        ))
        .interrupt();
}

#[test]
fn a_record_that_cannot_be_written_is_said_at_once_and_fails_the_exit() {
    let mut serve = serve(&["--record", "/dev/full"], Stdout::Read);
    let (status, _) = post(&serve.url, &seed());
    assert_eq!(status, 200);
    assert_eq!(
        serve.next_error_line(),
        "oa-hook: error: cannot write to --record /dev/full: No space left on device (os error 28); these callbacks are answered but NOT recorded (serve will exit 2)"
    );
    let (status, _) = post(&serve.url, &seed());
    assert_eq!(status, 200);
    serve
        .status(2)
        .stdout(anything())
        .stderr(format!(
            "{}oa-hook: error: cannot write to --record /dev/full: No space left on device (os error 28)\n  hint: {NOT_RECORDED_HINT}\n",
            stopped("2 callback(s) answered, 0 of them rejected as invalid; 0 recorded, 2 NOT recorded")
        ))
        .interrupt();
}

/// At the cap, a connection whose answer is still trickling out (`--fault slow-body`) is busy,
/// not idle: the next connection waits for it rather than cut its answer short. Both ways a
/// request can be read: by hyper (`Connection: close` is not read directly) and directly.
#[test]
fn an_answer_still_trickling_out_is_not_cut_to_admit_a_connection() {
    for connection in ["close", "keep-alive"] {
        let serve = serve(
            &["--max-connections", "1", "--fault", "slow-body=1s", "-q"],
            Stdout::Read,
        );
        let address = serve.url.trim_start_matches("http://").to_owned();
        let mut first = TcpStream::connect(&address).unwrap();
        first
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let body = seed();
        write!(
            first,
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
            target(),
            body.len()
        )
        .unwrap();
        // The head is out and the body trickling: now another caller comes.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            first.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let url = serve.url.clone();
        let second = std::thread::spawn(move || post(&url, &seed()));
        let head = String::from_utf8(head).unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .expect("a content-length")
            .parse()
            .unwrap();
        let mut answer = vec![0u8; length];
        first
            .read_exact(&mut answer)
            .unwrap_or_else(|e| panic!("Connection: {connection}: the answer was cut: {e}"));
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["ActionStatus"], "OK");
        assert_eq!(second.join().unwrap().0, 200);
    }
}
