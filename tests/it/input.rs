//! Bad input: every value out of bounds or mistyped gets one message saying what to give and
//! exit 2, never a panic; a URL's password is never printed.

use crate::support::{
    Expect, Test, allow, answer, anything, backend, closed_port, lacks, send_unsigned, stopped,
};
use serde_json::json;

/// Runs `oa-hook ARGS` and checks that it exited 2 and said exactly `message`, written `what is
/// wrong; what to give`, as every error says it: `oa-hook: error: ` and what is wrong, then a
/// `hint:` line with what to give.
#[track_caller]
fn refused(args: &[&str], message: &str) {
    refused_with_env(args, &[], message);
}

#[track_caller]
fn refused_with_env(args: &[&str], env: &[(&str, &str)], message: &str) {
    let (what, give) = message
        .split_once("; ")
        .expect("what is wrong; what to give");
    let mut test = Test::new().args(args);
    for (name, value) in env {
        test = test.env(name, value);
    }
    test.status(2)
        .stderr(format!("oa-hook: error: {what}\n  hint: {give}\n"))
        .run();
}

const SEND: [&str; 4] = ["send", "before-subscribe", "--url", "http://127.0.0.1:9/im"];

/// `send` to a closed port with `extra` arguments.
fn send<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SEND.iter().chain(extra).copied().collect()
}

#[test]
fn values_that_used_to_panic_are_refused_with_their_bounds() {
    refused(
        &send(&["--duration", "18446744073709551615s"]),
        "--duration 18446744073709551615s is more than 24h; give a duration from 1ms to 24h, e.g. 500ms, 30s or 5m",
    );
    refused(
        &send(&["-n", "3", "--rate", "1e-300"]),
        "--rate 1e-300 is less than 0.001; give requests per second from 0.001 to 1000000, e.g. 100 or 0.5",
    );
    refused(
        &["serve", "--delay", "99999999999h"],
        "--delay 99999999999h is more than 1h; give a duration from 0s to 1h, e.g. 500ms, 30s or 5m",
    );
}

#[test]
fn every_duration_count_and_rate_is_bounded() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--timeout", "0s"],
            "--timeout 0s is less than 1ms; give a duration from 1ms to 1h, e.g. 500ms, 30s or 5m",
        ),
        (
            &["--timeout", "2h"],
            "--timeout 2h is more than 1h; give a duration from 1ms to 1h, e.g. 500ms, 30s or 5m",
        ),
        (
            &["--timeout", "5"],
            "--timeout 5 is not a duration (time unit needed, for example 5sec or 5ms); give a duration from 1ms to 1h, e.g. 500ms, 30s or 5m",
        ),
        (
            &["--duration", "0s"],
            "--duration 0s is less than 1ms; give a duration from 1ms to 24h, e.g. 500ms, 30s or 5m",
        ),
        (
            &["--count", "0"],
            "--count 0 is less than 1; give a whole number of requests, at least 1 and at most 1000000000",
        ),
        (
            &["-n", "1000000001"],
            "--count 1000000001 is more than 1000000000; give a whole number of requests, at least 1 and at most 1000000000",
        ),
        (
            &["-n", "1", "-c", "-4"],
            "--concurrency -4 is less than 1; give a whole number of requests in flight, at least 1 and at most 10000",
        ),
        (
            &["-n", "1", "--rate", "2e6"],
            "--rate 2e6 is more than 1000000; give requests per second from 0.001 to 1000000, e.g. 100 or 0.5",
        ),
        (
            &["-n", "1", "--rate", "NaN"],
            "--rate NaN is not a number; give requests per second from 0.001 to 1000000, e.g. 100 or 0.5",
        ),
    ];
    for (extra, message) in cases {
        refused(&send(extra), message);
    }
    refused(
        &["serve", "--max-skew", "2d"],
        "--max-skew 2d is more than 24h; give a duration from 0s to 24h, e.g. 500ms, 30s or 5m",
    );
    refused(
        &["verify", "--max-skew=-1s", "/?a=1"],
        "--max-skew -1s is negative; give a duration from 0s to 24h, e.g. 500ms, 30s or 5m",
    );
}

#[test]
fn the_longest_delay_still_lets_ctrl_c_stop_serve() {
    let mut serve = Test::serve().args(["--delay", "1h"]).start();
    let banner = format!("oa-hook send before-subscribe --url {}/\n", serve.url);
    serve
        .stdout(banner)
        .stderr(stopped(
            "0 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();
}

#[tokio::test]
async fn the_slowest_rate_waits_for_the_deadline() {
    let server = backend(answer(allow())).await;
    // The second request is due in 1000 s: the run ends at the deadline without it.
    let run = Test::new()
        .args([
            "send",
            "before-subscribe",
            "--no-sign",
            "--url",
            &server.uri(),
        ])
        .args([
            "-n",
            "2",
            "--rate",
            "0.001",
            "--duration",
            "300ms",
            "-o",
            "json",
        ])
        .stdout(anything())
        .stderr(lacks("panicked"))
        .run_off_runtime()
        .await;
    let document = run.json();
    assert!(document["requests"].as_u64().unwrap() <= 1, "{document}");
}

#[test]
fn a_negative_count_says_what_to_give() {
    refused(
        &send(&["--count", "-1"]),
        "--count -1 is less than 1; give a whole number of requests, at least 1 and at most 1000000000",
    );
    refused(
        &send(&["-n", "ten"]),
        "--count ten is not a whole number; give a whole number of requests, at least 1 and at most 1000000000",
    );
}

#[test]
fn a_port_alone_to_listen_on_gets_the_address_it_lacks() {
    refused(
        &["serve", "--listen", "3000"],
        "--listen 3000 is a port alone; did you mean 127.0.0.1:3000?",
    );
    refused(
        &["serve", "--listen", ":3000"],
        "--listen :3000 has no address; did you mean 127.0.0.1:3000 (this machine only) or 0.0.0.0:3000 (every interface)?",
    );
    refused(
        &["serve", "--listen", "localhost:3000"],
        "--listen localhost:3000 names a host, and serve listens on an address; did you mean 127.0.0.1:3000?",
    );
}

#[test]
fn an_error_code_of_chats_own_is_refused_to_serve() {
    refused(
        &["serve", "--error-code", "2"],
        "--error-code 2 is not a code of your own; give a code of your own from 120001 to 130000, which Chat passes to the caller",
    );
}

#[test]
fn a_url_without_its_scheme_gets_it_suggested() {
    for command in [
        &["send", "before-subscribe"][..],
        &["check"],
        &["sample", "before-subscribe"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--url", "localhost:3000/im"]);
        refused(
            &args,
            "--url localhost:3000/im has no http:// or https://; did you mean http://localhost:3000/im?",
        );
    }
    refused(
        &["send", "before-subscribe", "--url", "ftp://127.0.0.1/im"],
        "--url ftp://127.0.0.1/im has the scheme `ftp`; use http:// or https://, e.g. http://localhost:3000/im",
    );
}

#[test]
fn a_bad_environment_variable_is_named() {
    let message = "OA_HOOK_SDKAPPID=abc is not a number; give the app's SDKAppID, e.g. 1400000000, or unset OA_HOOK_SDKAPPID";
    let env = [("OA_HOOK_SDKAPPID", "abc")];
    refused_with_env(&SEND, &env, message);
    refused_with_env(&["serve"], &env, message);
    refused_with_env(&["sample", "before-subscribe"], &env, message);
    // A flag beats the environment, so a good flag hides a bad variable.
    Test::new()
        .args(["sample", "before-subscribe", "--sdkappid", "1400000000"])
        .env(env[0].0, env[0].1)
        .stdout(anything())
        .run();
}

const PASSWORD: &str = "pa55-w0rd";

/// Asserts that `run` printed neither the password nor a panic.
#[track_caller]
/// Text without the URL's password, and no panic.
fn no_password() -> Expect {
    lacks(PASSWORD).lacks("panicked")
}

#[tokio::test]
async fn a_urls_password_is_never_printed() {
    let server = backend(answer(allow())).await;
    let port = server.address().port();
    let url = format!("http://oa:{PASSWORD}@127.0.0.1:{port}/im");
    let masked = format!("http://oa:***@127.0.0.1:{port}/im");
    let send = |extra: &[&str]| {
        send_unsigned(&url, extra)
            .stdout(no_password())
            .stderr(no_password())
    };
    send(&[])
        .stdout(no_password().contains(format!("POST {masked}?SdkAppid=")))
        .run();
    send(&["-v"]).run();
    let document = send(&["-o", "json"]).run().json();
    assert!(
        document["request"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{masked}?")),
        "{document}"
    );
    send(&["-n", "3"])
        .stdout(no_password().contains(format!("3 requests to {masked}, ")))
        .run();
    let document = send(&["-n", "3", "-o", "json"]).run().json();
    assert_eq!(document["url"], json!(masked));

    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let check = |extra: &[&str]| {
        Test::new()
            .args(["check", "--only", "before-subscribe/answer", "--url", &url])
            .args(extra)
            .stdout(no_password())
            .stderr(no_password())
    };
    check(&["--junit", junit.to_str().unwrap()])
        .stderr(no_password().contains(masked.as_str()))
        .run();
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains(PASSWORD) && xml.contains(&masked), "{xml}");
    let document = check(&["-o", "json"]).run().json();
    assert_eq!(document["target"], json!(masked));
}

#[test]
fn errors_do_not_print_a_urls_password_either() {
    let url = format!("http://oa:{PASSWORD}@127.0.0.1:{}/im", closed_port());
    for args in [
        &["send", "before-subscribe", "--url", &url][..],
        &["send", "before-subscribe", "-n", "2", "--url", &url],
        &["check", "--url", &url],
    ] {
        Test::new()
            .args(args)
            .status(3)
            .stdout(no_password())
            .stderr(no_password())
            .run();
    }
    let unparsable = format!("http://oa:{PASSWORD}@[/im");
    refused(
        &["send", "before-subscribe", "--url", &unparsable],
        "--url http://oa:***@[/im is not a URL (invalid IPv6 address); give the backend's URL in full, e.g. http://localhost:3000/im",
    );
    refused(
        &[
            "send",
            "before-subscribe",
            "--url",
            &format!("oa:{PASSWORD}@localhost:3000"),
        ],
        "--url oa:***@localhost:3000 has no http:// or https://; did you mean http://oa:***@localhost:3000/?",
    );
}

#[test]
fn clap_errors_are_said_as_every_error_is_with_what_was_meant() {
    let url = "http://127.0.0.1:9/im";
    for (args, said) in [
        (
            &["sign", "--colr", "never"][..],
            "oa-hook: error: unexpected argument '--colr'\n  hint: did you mean '--color'?\n",
        ),
        (
            &["sned"],
            "oa-hook: error: unrecognized command 'sned'\n  hint: did you mean 'send'?\n",
        ),
        (
            &["send", "before-subscrib", "--url", url],
            "oa-hook: error: invalid value 'before-subscrib' for '<COMMAND>'\n  hint: did you mean 'before-subscribe'?\n",
        ),
        (
            &["sample", "OfficialAccount.CallbackBeforeAddSubscribr"],
            "oa-hook: error: invalid value 'OfficialAccount.CallbackBeforeAddSubscribr' for '<COMMAND>'\n  hint: did you mean 'OfficialAccount.CallbackBeforeAddSubscriber'?\n",
        ),
        (
            &["check", "--url", url, "--command", "before-subscrib"],
            "oa-hook: error: --command before-subscrib is not a callback\n  hint: did you mean 'before-subscribe'?\n",
        ),
        (
            &["serve", "--output", "xml"],
            "oa-hook: error: invalid value 'xml' for '--output <OUTPUT>'\n  hint: give one of: human, json\n",
        ),
        (
            &["send", "before-subscribe"],
            "oa-hook: error: missing --url <URL>\n  hint: usage: oa-hook send --url <URL> <COMMAND>\n",
        ),
        (
            &["serve", "--reject", "--fail"],
            "oa-hook: error: '--reject' cannot be used with '--fail'\n  hint: give one or the other\n",
        ),
    ] {
        // No config file at all: one given is a value clap counts as given, in the usage line.
        let nowhere = tempfile::tempdir().unwrap();
        Test::new()
            .env_remove("OA_HOOK_CONFIG")
            .current_dir(nowhere.path())
            .args(args)
            .status(2)
            .stderr(said)
            .run();
    }
    for args in [&["--help"][..], &["--version"], &["man", "-h"]] {
        let run = Test::new().args(args).stdout(anything()).run();
        assert!(!run.stdout.is_empty(), "{args:?}");
    }
}
