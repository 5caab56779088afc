//! The family beyond the subscriber callbacks: before-create and before-send answers judged by
//! `send`, every command answered by `serve` under each policy, and `check --command all`.

use crate::support::{
    Test, answer, anything, assert_message, backend, case, case_ids, contains, lacks,
};
use oa_hook::protocol::CALLBACKS;
use serde_json::{Value, json};

fn send(url: &str, callback: &str, extra: &[&str]) -> Test {
    Test::new()
        .args(["send", callback, "--url", url, "--no-sign"])
        .args(extra)
}

/// `send COMMAND` to a backend answering `body`, which passes: the decision line.
async fn decision(callback: &str, body: Value) -> String {
    let server = backend(answer(body)).await;
    let run = send(&format!("{}/im", server.uri()), callback, &[])
        .stdout(anything())
        .run();
    decision_of(&run.stdout)
}

/// The decision line of `send`'s report.
fn decision_of(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("Chat"))
        .unwrap_or_else(|| panic!("no decision in:\n{stdout}"))
        .to_owned()
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
        assert_eq!(decision(callback, body).await, said, "{callback}");
    }
}

#[tokio::test]
async fn a_rewrite_with_a_non_zero_code_is_a_warning() {
    let server = backend(answer(
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 1,
        "CloudCustomData": "x"}),
    ))
    .await;
    send(
        &format!("{}/im", server.uri()),
        "before-send",
        &["--expect", "reject"],
    )
    .stdout(
        contains("! CloudCustomData: Chat honours a rewritten MsgBody or CloudCustomData only with ErrorCode 0; with ErrorCode 1 it is ignored")
            .contains("✔ expected the whole request rejected"),
    )
    .run();
}

#[tokio::test]
async fn a_body_over_the_documented_limits_is_sent_with_a_warning() {
    let server = backend(answer(coded(0, ""))).await;
    let name = "n".repeat(151);
    send(
        &format!("{}/im", server.uri()),
        "before-create",
        &["--name", &name],
    )
    .stdout(contains(
        "! sent Name: is 151 bytes; Chat allows at most 150 (trtc.io/document/60813)",
    ))
    .run();
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
            let run = send(&serve.url, callback.name, &[])
                .stdout(anything())
                .run();
            let expected = match callback.name {
                "before-subscribe" => decisions[0],
                "before-create" => decisions[1],
                "before-send" => decisions[2],
                _ => "Chat ignores the answer (after callback)",
            };
            let said = decision_of(&run.stdout);
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
    for (callback, extra, said) in [
        (
            "before-create",
            &["--operator", "ann"][..],
            "✔ before-create  operator ann  → 200 OK",
        ),
        (
            "before-send",
            &[],
            "✔ before-send  → 200 discards (ErrorCode 2)",
        ),
        (
            "after-subscribe",
            &[],
            "✔ after-subscribe  operator 107867  subscribers jared, leckie  → 200 OK",
        ),
    ] {
        send(&serve.url, callback, extra).stdout(anything()).run();
        let line = serve.next_line();
        assert!(line.contains(said), "{callback}: {line}");
    }
}

/// oa-hook's own serve conforms for the whole family: every answer, every forgery refused
/// beside an accepted genuine callback, and the expected decision for each before command.
#[test]
fn check_command_all_passes_against_a_conforming_backend() {
    let serve = Test::serve()
        .args(["--token", "t0k", "--sdkappid", "1400000000"])
        .start();
    let report = Test::new()
        .args(["check", "--url", &serve.url, "--sdkappid", "1400000000"])
        .args(["--token", "t0k", "--command", "all", "--expect", "allow"])
        .args(["--output", "json"])
        .run_json();
    assert_eq!(
        report["summary"],
        json!({"passed": 99, "failed": 0, "warned": 0, "skipped": 0, "total": 99}),
        "{report:#}"
    );
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
    assert_message(decision, contains("Chat creates the Official Account"));
}

#[test]
fn check_command_chooses_the_cases() {
    let listed = Test::new()
        .args(["check", "--list", "--command", "before-send"])
        .args(["--command", "OfficialAccount.CallbackAfterSendMsg"])
        .stdout(lacks("before-subscribe"))
        .run();
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
    Test::new()
        .args(["check", "--list"])
        .stdout(lacks("security/after-unsubscribe"))
        .run();
    Test::new()
        .args(["check", "--list", "--command", "nothing"])
        .status(2)
        .stderr(contains("--command nothing is not a callback\n  hint: give one of before-subscribe, after-unsubscribe, before-create"))
        .run();
}
