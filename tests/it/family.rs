//! The family beyond the subscriber callbacks: before-create and before-send answers judged by
//! `send`, every command answered by `serve` under each policy, and `check --command all`.

use crate::support::Test;
use crate::support::{Run, answer, backend, case, case_ids, oa_hook, run};
use oa_hook::protocol::CALLBACKS;
use serde_json::{Value, json};

fn send(url: &str, callback: &str, extra: &[&str]) -> Run {
    run(oa_hook()
        .args(["send", callback, "--url", url, "--no-sign"])
        .args(extra))
}

/// `send COMMAND` to a backend answering `body`: the exit code and the decision line.
async fn decision(callback: &str, body: Value) -> (i32, String) {
    let server = backend(answer(body)).await;
    let run = send(&format!("{}/im", server.uri()), callback, &[]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Chat"))
        .unwrap_or_else(|| panic!("no decision in:\n{}\n{}", run.stdout, run.stderr))
        .to_owned();
    (run.code, line)
}

fn coded(code: i64, info: &str) -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": info, "ErrorCode": code})
}

#[tokio::test]
async fn each_answer_mode_reads_as_what_chat_does() {
    let rewrite = json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "[redacted]"}}]});
    for (callback, body, said) in [
        (
            "before-send",
            coded(2, ""),
            "Chat discards the message silently: the sender is told it was sent",
        ),
        (
            "before-send",
            rewrite,
            "Chat sends the message rewritten by your answer: MsgBody [TIMTextElem \"[redacted]\"]",
        ),
        (
            "before-send",
            coded(1, ""),
            "Chat refuses the message (ErrorCode 1): the sender gets error 10016",
        ),
        (
            "before-send",
            coded(120_001, "no ads"),
            "Chat refuses the message (ErrorCode 120001): the sender gets error 120001 and your ErrorInfo; ErrorInfo \"no ads\"",
        ),
        (
            "before-send",
            coded(0, ""),
            "Chat sends the message as it is",
        ),
        (
            "before-create",
            coded(1, ""),
            "Chat denies the creation (ErrorCode 1): the caller gets error 20006",
        ),
        (
            "before-create",
            coded(125_000, "name taken"),
            "Chat denies the creation (ErrorCode 125000): the caller gets error 125000 and your ErrorInfo; ErrorInfo \"name taken\"",
        ),
        (
            "before-create",
            coded(0, ""),
            "Chat creates the Official Account",
        ),
        (
            "after-withdraw",
            coded(0, ""),
            "Chat ignores the answer (after callback)",
        ),
    ] {
        assert_eq!(
            decision(callback, body).await,
            (0, said.to_owned()),
            "{callback}"
        );
    }
}

#[tokio::test]
async fn a_rewrite_with_a_non_zero_code_is_a_warning() {
    let server = backend(answer(
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 1,
        "CloudCustomData": "x"}),
    ))
    .await;
    let run = send(
        &format!("{}/im", server.uri()),
        "before-send",
        &["--expect", "reject"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("! CloudCustomData: Chat honours a rewritten MsgBody or CloudCustomData only with ErrorCode 0; with ErrorCode 1 it is ignored"), "{}", run.stdout);
    assert!(
        run.stdout.contains("✔ expected the whole request rejected"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_body_over_the_documented_limits_is_sent_with_a_warning() {
    let server = backend(answer(coded(0, ""))).await;
    let name = "n".repeat(151);
    let run = send(
        &format!("{}/im", server.uri()),
        "before-create",
        &["--name", &name],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "! sent Name: is 151 bytes; Chat allows at most 150 (trtc.io/document/60813)"
        ),
        "{}",
        run.stdout
    );
}

/// The decision `send` reports for each before callback under each policy of `serve`; every
/// after callback is ignored whatever the policy.
#[test]
fn serve_answers_every_command_under_each_policy() {
    let subscribes = "Chat subscribes jared, leckie";
    let creates = "Chat creates the Official Account";
    let sends = "Chat sends the message as it is";
    let rejected = [
        "Chat rejects the whole request (ErrorCode 1)",
        "Chat denies the creation (ErrorCode 1): the caller gets error 20006",
        "Chat refuses the message (ErrorCode 1): the sender gets error 10016",
    ];
    let policies: [(&[&str], [&str; 3]); 6] = [
        (&[], [subscribes, creates, sends]),
        (&["--reject"], rejected),
        (&["--fail"], rejected),
        (
            &["--discard"],
            [
                subscribes,
                creates,
                "Chat discards the message silently: the sender is told it was sent",
            ],
        ),
        (
            &["--rewrite-text", "hi"],
            [
                subscribes,
                creates,
                "Chat sends the message rewritten by your answer: MsgBody [TIMTextElem \"hi\"]",
            ],
        ),
        (
            &["--error-code", "120001", "--error-info", "not today"],
            [
                subscribes,
                "Chat denies the creation (ErrorCode 120001): the caller gets error 120001 and your ErrorInfo; ErrorInfo \"not today\"",
                "Chat refuses the message (ErrorCode 120001): the sender gets error 120001 and your ErrorInfo; ErrorInfo \"not today\"",
            ],
        ),
    ];
    for (policy, decisions) in policies {
        let serve = Test::serve().args([policy, &["--quiet"]].concat()).start();
        for callback in CALLBACKS {
            let run = send(&serve.url, callback.name, &[]);
            let expected = match callback.name {
                "before-subscribe" => decisions[0],
                "before-create" => decisions[1],
                "before-send" => decisions[2],
                _ => "Chat ignores the answer (after callback)",
            };
            let said = run
                .stdout
                .lines()
                .find(|l| l.starts_with("Chat"))
                .unwrap_or_default();
            assert!(
                said.starts_with(expected),
                "{policy:?} {callback}: {}",
                run.stdout
            );
            let line = serve.next_line();
            assert!(line.contains(&format!("✔ {callback}  ")), "{line}");
        }
    }
}

#[test]
fn serve_shows_what_each_event_names() {
    let serve = Test::serve().args(["--discard", "--quiet"]).start();
    send(&serve.url, "before-create", &["--operator", "ann"]);
    let line = serve.next_line();
    assert!(
        line.contains("✔ before-create  operator ann  → 200 OK"),
        "{line}"
    );
    send(&serve.url, "before-send", &[]);
    assert!(
        serve
            .next_line()
            .contains("✔ before-send  → 200 discards (ErrorCode 2)")
    );
    send(&serve.url, "after-subscribe", &[]);
    assert!(
        serve
            .next_line()
            .contains("✔ after-subscribe  operator 107867  subscribers jared, leckie  → 200 OK")
    );
    oa_hook()
        .args(["serve", "--error-code", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--error-code 2 is not a code of your own",
        ));
}

/// oa-hook's own serve conforms for the whole family: every answer, every forgery refused
/// beside an accepted genuine callback, and the expected decision for each before command.
#[test]
fn check_command_all_passes_against_a_conforming_backend() {
    let serve = Test::serve()
        .args(["--token", "t0k", "--sdkappid", "1400000000"])
        .start();
    let output = oa_hook()
        .args([
            "check",
            "--url",
            &serve.url,
            "--sdkappid",
            "1400000000",
            "--token",
            "t0k",
        ])
        .args(["--command", "all", "--expect", "allow", "--output", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["summary"],
        json!({"passed": 99, "failed": 0, "warned": 0, "skipped": 0, "total": 99}),
        "{report:#}"
    );
    assert_eq!(output.status.code(), Some(0));
    let ids = case_ids(&report);
    for id in [
        "after-withdraw/answer",
        "before-send/decision",
        "security/bad-sign",
        "security/before-send/bad-sign",
        "security/after-full/stale-request-time",
        "security/before-send/missing-sdkappid",
        "security/after-full/window",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let decision = case(&report, "before-create/decision");
    assert!(
        decision["message"]
            .as_str()
            .unwrap()
            .contains("Chat creates the Official Account"),
        "{decision}"
    );
}

#[test]
fn check_command_chooses_the_cases() {
    let listed = run(oa_hook().args([
        "check",
        "--list",
        "--command",
        "before-send",
        "--command",
        "OfficialAccount.CallbackAfterSendMsg",
    ]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        &ids[..4],
        [
            "before-send/answer",
            "before-send/decision",
            "after-send/answer",
            "security/before-send/wrong-sdkappid"
        ],
        "{}",
        listed.stdout
    );
    assert!(
        !listed.stdout.contains("before-subscribe"),
        "{}",
        listed.stdout
    );
    let default = run(oa_hook().args(["check", "--list"]));
    assert!(
        !default.stdout.contains("security/after-unsubscribe"),
        "{}",
        default.stdout
    );
    oa_hook()
        .args(["check", "--list", "--command", "nothing"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--command nothing is not a callback\n  hint: give one of before-subscribe, after-unsubscribe, before-create"));
}
