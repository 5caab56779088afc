//! A backend that was reached but broke HTTP is a contract failure (exit 1, finding
//! `broken-http`), not an unreachable target (exit 3): raw TCP backends on loopback that answer
//! garbage, a head over 1 MB, a body cut short, or nothing before closing.

use crate::support::{
    Test, assert_contains, assert_message, case, closed_port, contains, lacks,
    send_unsigned as send,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// A backend on loopback that reads each request whole, then calls `answer` with the
/// connection (closed when it returns). Returns its URL.
fn raw_backend(answer: Answer) -> String {
    // Bound before the thread starts, so connections queue until it accepts: no readiness wait.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/im", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            read_request(&mut stream);
            answer(&mut stream);
        }
    });
    url
}

/// Reads a request's head and its Content-Length body.
fn read_request(stream: &mut TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let Ok(n) = stream.read(&mut buffer) else {
            return;
        };
        if n == 0 {
            return;
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn garbage(stream: &mut TcpStream) {
    let _ = stream.write_all(b"this is not HTTP\r\n\r\n");
}

fn huge_head(stream: &mut TcpStream) {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Big: ".to_vec();
    head.resize(head.len() + (1 << 20), b'a');
    head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
    // The client stops reading once the head is too large: the rest may not be taken.
    let _ = stream.write_all(&head);
}

fn truncated_body(stream: &mut TcpStream) {
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ActionStatus\":",
    );
}

fn nothing(_: &mut TcpStream) {}

/// What a raw backend does once it has read a request.
type Answer = fn(&mut TcpStream);

/// Each broken backend, and what the finding says broke.
const BACKENDS: [(&str, Answer, &str); 4] = [
    ("garbage", garbage, "it is not an HTTP/1.1 answer"),
    (
        "a 1 MB head",
        huge_head,
        "its status line and headers are too large",
    ),
    (
        "a truncated body",
        truncated_body,
        "the body ended before all of it came",
    ),
    (
        "a close instead of an answer",
        nothing,
        "the connection closed before a complete answer came",
    ),
];

#[test]
fn a_single_send_judges_broken_http_as_a_failed_answer() {
    for (what, answer, why) in BACKENDS {
        let url = raw_backend(answer);
        send(&url, &[])
            .status(1)
            .stdout(
                contains(format!(
                    "✘ answer: the backend answered with broken HTTP: {why} ("
                ))
                .contains("; Chat counts this as a webhook failure\n"),
            )
            .run();
        let document = send(&url, &["-o", "json"]).status(1).run_json();
        assert_eq!(document["response"], Value::Null, "{what}");
        let finding = &document["findings"][0];
        assert_eq!(
            (&finding["code"], &finding["severity"], &finding["path"]),
            (&json!("broken-http"), &json!("error"), &json!("answer")),
            "{what}: {document}"
        );
        assert_eq!(document["decision"]["kind"], "undocumented", "{what}");
    }
}

#[test]
fn load_mode_counts_broken_http_as_failures_not_transport_errors() {
    for (what, answer, why) in BACKENDS {
        let url = raw_backend(answer);
        let document = send(&url, &["-n", "3", "-c", "2", "-o", "json"])
            .status(1)
            .run_json();
        assert_eq!(document["requests"], 3, "{what}: {document}");
        assert_eq!(
            document["transport_errors"],
            json!([]),
            "{what}: {document}"
        );
        let failures = document["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{what}: {document}");
        assert_eq!(failures[0]["code"], "broken-http", "{what}");
        assert_eq!(failures[0]["count"], 3, "{what}");
        assert_contains(failures[0]["example"].as_str().unwrap(), why);
    }
}

#[test]
fn check_fails_the_cases_and_runs_on() {
    let url = raw_backend(garbage);
    let document = Test::new()
        .args(["check", "--url", &url, "-o", "json"])
        .status(1)
        .run_json();
    let answer = case(&document, "before-subscribe/answer");
    assert_eq!(answer["status"], "fail");
    assert_message(
        answer,
        contains("the backend answered with broken HTTP: it is not an HTTP/1.1 answer"),
    );
    assert_eq!(case(&document, "robustness/keep-alive")["status"], "fail");
}

#[test]
fn a_closed_port_is_still_unreachable() {
    let url = format!("http://127.0.0.1:{}/im", closed_port());
    for extra in [&[][..], &["-n", "3"]] {
        send(&url, extra)
            .status(3)
            .stderr(contains("connection refused at 127.0.0.1:"))
            .run();
    }
}

#[test]
fn a_broken_answer_does_not_print_a_urls_password() {
    let url = raw_backend(garbage).replace("http://", "http://oa:pa55-w0rd@");
    for extra in [&[][..], &["-v"], &["-o", "json"], &["-n", "2"]] {
        send(&url, extra)
            .status(1)
            .stdout(lacks("pa55-w0rd"))
            .stderr(lacks("pa55-w0rd"))
            .run();
    }
}
