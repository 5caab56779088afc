//! `oa-hook.toml`, the `OA_HOOK_*` variables and `init`: the real binary in a temporary
//! directory, against wiremock backends that keep or break the team's rules.

use crate::support::{
    Test, allow, anything, assert_contains, case_ids, contains, first_element, lacks,
    scenario_report, stopped,
};
use serde_json::{Value, json};
use std::path::Path;
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::method};

/// `oa-hook` in `dir`, reading `dir/oa-hook.toml` as a newcomer's would.
fn in_dir(dir: &Path) -> Test {
    Test::new().current_dir(dir).env_remove("OA_HOOK_CONFIG")
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("oa-hook.toml"), text).unwrap();
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let url = |test: Test, extra: &[&str]| {
        let run = test
            .args(["sample", "before-subscribe", "--format", "url"])
            .args(extra)
            .stdout(anything())
            .run();
        run.stdout.split('?').next().unwrap().to_owned()
    };
    assert_eq!(url(in_dir(dir.path()), &[]), "https://www.example.com/");
    write(dir.path(), "url = \"http://file.example/im\"\n");
    assert_eq!(url(in_dir(dir.path()), &[]), "http://file.example/im");
    let env = || in_dir(dir.path()).env("OA_HOOK_URL", "http://env.example/im");
    assert_eq!(url(env(), &[]), "http://env.example/im");
    assert_eq!(
        url(env(), &["--url", "http://flag.example/im"]),
        "http://flag.example/im"
    );
}

#[test]
fn sections_apply_to_their_command_and_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.toml");
    std::fs::write(
        &file,
        "sdkappid = 1400000000\n[serve]\nrefuse = [\"jared\"]\nsdkappid = 1400000001\n",
    )
    .unwrap();
    let serve = Test::serve()
        .args(["--config", file.to_str().unwrap(), "-q"])
        .env_remove("OA_HOOK_CONFIG")
        .start();
    Test::new()
        .env("OA_HOOK_CONFIG", &file)
        .args([
            "send",
            "before-subscribe",
            "--url",
            &serve.url,
            "--sdkappid",
            "1400000001",
        ])
        .stdout(contains("Chat subscribes leckie; refuses jared"))
        .stderr(anything())
        .run();
    // The top-level sdkappid applies to send, the [serve] one to serve alone.
    Test::new()
        .env("OA_HOOK_CONFIG", &file)
        .args(["send", "before-subscribe", "--url", &serve.url])
        .status(1)
        .stdout(contains("HTTP 403"))
        .stderr(anything())
        .run();
}

#[test]
fn each_bad_file_is_refused_naming_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "token = \"s3cret\"\n",
            "oa-hook.toml: `token`: the token is a secret and is never read from a file",
        ),
        (
            "[check]\ntoken = \"s3cret\"\n",
            "oa-hook.toml: `[check] token`: the token is a secret",
        ),
        (
            "url = [1\n",
            "oa-hook.toml is not valid TOML: line 1, column 9: unclosed array, expected `]`\n    1 | url = [1\n      |         ^\n",
        ),
        // toml's own message quotes the line, a token's value and all: never that line.
        (
            "token = \"s3cret\n",
            "oa-hook.toml is not valid TOML: line 1, column 16: invalid basic string, expected `\"`\n    1 | (not shown: it names a token)\n",
        ),
        (
            "url = \"http://x\"\ntoken = \"s3cret\" x\n",
            "oa-hook.toml is not valid TOML: line 2, column 18: ",
        ),
        (
            "[serve]\ntoken = \"\"\"s3cret\ns3cret\n",
            "oa-hook.toml is not valid TOML: line 4, column 1: invalid multi-line basic string",
        ),
        (
            "expect_refuse = [\"x\"]\n",
            "oa-hook.toml: `expect_refuse` is not an option of any command",
        ),
        (
            "[serve]\nurl = \"http://x\"\n",
            "oa-hook.toml: `[serve] url` is not an option of `oa-hook serve`",
        ),
        ("[sevre]\n", "oa-hook.toml: `[sevre]` is not a section"),
        (
            "insecure = \"yes\"\n",
            "oa-hook.toml: `insecure` is a string; expected true or false",
        ),
        (
            "timeout = 5\n",
            "oa-hook.toml: timeout = \"5\" is not a duration",
        ),
        (
            "[[scenario]]\ncommand = \"before-subscribe\"\n",
            "oa-hook.toml: scenario 1: missing field `name`",
        ),
        (
            "[[scenario]]\nname = \"a\"\n",
            "oa-hook.toml: scenario 1: missing field `command`",
        ),
        (
            "[[scenario]]\nname = \"a\"\ncommand = \"before-subscribe\"\n[[scenario]]\nname = \"a\"\ncommand = \"after-unsubscribe\"\n",
            "oa-hook.toml: scenario 2 (`a`): another scenario has the same name",
        ),
        (
            "[[scenario]]\nname = \"a\"\ncommand = \"before-subscribe\"\nexpect_refuse = [\"x\"]\n",
            "oa-hook.toml: scenario 1: unknown field `expect_refuse`",
        ),
        (
            "[[scenario]]\nname = \"a\"\ncommand = \"before-subscribe\"\nowner = \"x\"\n",
            "oa-hook.toml: scenario 1 (`a`): `owner` does not apply to before-subscribe",
        ),
        (
            "[[scenario]]\nname = \"a\"\ncommand = \"before-sub\"\n",
            "oa-hook.toml: scenario 1 (`a`): `before-sub` is not a callback command",
        ),
    ];
    for (text, said) in cases {
        write(dir.path(), text);
        let run = in_dir(dir.path())
            .args(["check", "--url", "http://127.0.0.1:9/im"])
            .status(2)
            .stdout(anything())
            .stderr(contains(said))
            .run();
        assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    Test::new()
        .args(["--config", "/nonexistent/oa-hook.toml", "check", "--list"])
        .status(2)
        .stdout(anything())
        .stderr(contains(
            "cannot read the config file /nonexistent/oa-hook.toml",
        ))
        .run();
}

/// A backend with the team's rules: banned users are refused, a closed account rejects.
async fn rules(keeps_them: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let mut answer = allow();
            if keeps_them && body["Official_Account"] == "@TOA#_closed" {
                answer =
                    json!({"ActionStatus": "OK", "ErrorInfo": "account closed", "ErrorCode": 1});
            } else if keeps_them && body.to_string().contains("banned_bob") {
                answer["RefusedSubscribers_Account"] = json!(["banned_bob"]);
            }
            ResponseTemplate::new(200).set_body_json(answer)
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn init_writes_scenarios_that_check_runs_and_reports_in_junit() {
    let dir = tempfile::tempdir().unwrap();
    in_dir(dir.path()).arg("init").stdout(anything()).run();
    in_dir(dir.path())
        .arg("init")
        .status(2)
        .stdout(anything())
        .stderr(contains(
            "oa-hook.toml exists already; init never writes over a file",
        ))
        .run();
    for (keeps_them, code) in [(true, 0), (false, 1)] {
        let server = rules(keeps_them).await;
        let report = in_dir(dir.path())
            .args(["check", "--url", &format!("{}/im", server.uri())])
            .args(["--only", "scenario", "--junit", "report.xml", "-o", "json"])
            .status(code)
            .run_json_off_runtime()
            .await;
        let ids = case_ids(&report);
        assert_eq!(
            ids,
            [
                "scenario/banned users are refused",
                "scenario/a closed account takes no subscribers"
            ]
        );
        let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = first_element(&doc, "testsuite");
        assert_eq!(suite.attribute("name"), Some("scenario"));
        assert_eq!(suite.attribute("tests"), Some("2"));
        if !keeps_them {
            assert_eq!(suite.attribute("failures"), Some("2"));
            assert_eq!(
                report["cases"][1]["message"],
                "decision: expected the whole request rejected, but Chat subscribes jared, leckie"
            );
            assert_eq!(
                report["cases"][0]["message"],
                "decision: expected exactly banned_bob refused, but Chat subscribes banned_bob, alice"
            );
        } else {
            assert_eq!(
                report["cases"][1]["message"],
                r#"conforming answer; Chat rejects the whole request (ErrorCode 1); ErrorInfo "account closed""#
            );
        }
    }
}

#[test]
fn every_option_names_its_variable_in_help() {
    for (command, variables) in [
        (
            "send",
            &[
                "OA_HOOK_URL",
                "OA_HOOK_TIMEOUT",
                "OA_HOOK_COUNT",
                "OA_HOOK_EXPECT_REFUSED",
                "OA_HOOK_SUBSCRIBER",
                "OA_HOOK_NO_SIGN",
            ][..],
        ),
        (
            "serve",
            &[
                "OA_HOOK_LISTEN",
                "OA_HOOK_REFUSE",
                "OA_HOOK_RECORD",
                "OA_HOOK_MAX_CONNECTIONS",
                "OA_HOOK_HEAD_TIMEOUT",
            ][..],
        ),
        (
            "check",
            &[
                "OA_HOOK_JUNIT",
                "OA_HOOK_ONLY",
                "OA_HOOK_SKIP",
                "OA_HOOK_CONFIG",
                "OA_HOOK_COLOR",
            ][..],
        ),
    ] {
        let help = Test::new()
            .args([command, "--help"])
            .stdout(anything())
            .run()
            .stdout;
        for variable in variables {
            assert_contains(&help, &format!("[env: {variable}="));
        }
    }
    Test::new()
        .env("OA_HOOK_TIMEOUT", "soon")
        .args(["send", "before-subscribe", "--url", "http://127.0.0.1:9/"])
        .status(2)
        .stdout(anything())
        .stderr(contains("OA_HOOK_TIMEOUT=soon is not a duration"))
        .run();
}

/// An empty token (a CI secret that is not set) is no token, in every command alike.
#[test]
fn an_empty_token_is_no_token_everywhere() {
    Test::new()
        .env("OA_HOOK_TOKEN", "")
        .arg("sign")
        .status(2)
        .stdout(anything())
        .stderr(contains("no token given"))
        .run();
    Test::new()
        .env("OA_HOOK_TOKEN", "")
        .args(["sample", "before-subscribe", "--format", "url"])
        .stdout(lacks("Sign="))
        .run();
    let serve = Test::serve().args(["-q"]).env("OA_HOOK_TOKEN", "").start();
    Test::new()
        .env("OA_HOOK_TOKEN", "")
        .args(["send", "before-subscribe", "--url", &serve.url])
        .stdout(anything())
        .stderr(contains("note: unsigned (no token)"))
        .run();
    let report = Test::new()
        .env("OA_HOOK_TOKEN", "")
        .args([
            "check", "--url", &serve.url, "--only", "bad-sign", "-o", "json",
        ])
        .run_json();
    assert_eq!(report["cases"][0]["status"], "skip");
}

/// A url in the file is all check needs, and a flag beats a file value it conflicts with.
#[tokio::test]
async fn check_takes_its_url_from_the_file_and_a_flag_overrules_a_conflicting_value() {
    let dir = tempfile::tempdir().unwrap();
    let server = rules(true).await;
    write(
        dir.path(),
        &format!(
            "url = \"{}/im\"\n[serve]\ndiscard = true\nerror_code = 120001\n",
            server.uri()
        ),
    );
    in_dir(dir.path())
        .args(["check", "--only", "before-subscribe/answer"])
        .stdout(anything())
        .stderr(anything())
        .run_off_runtime()
        .await;
    // The file says discard; --reject on the command line wins, and --error-info finds the
    // file's error_code.
    for (flags, said) in [
        (
            &["--reject", "-q"][..],
            "Chat refuses the message (ErrorCode 1)",
        ),
        (&["--error-info", "closed", "-q"], "ErrorCode 120001"),
    ] {
        let serve = Test::serve()
            .args(flags)
            .current_dir(dir.path())
            .env_remove("OA_HOOK_CONFIG")
            .start();
        Test::new()
            .args(["send", "before-send", "--url", &serve.url])
            .stdout(contains(said))
            .stderr(anything())
            .run();
    }
}

/// Scenarios take the family's event keys: a before-create named by `account_name`, a message
/// with `text`.
#[test]
fn scenarios_speak_for_every_command_of_the_family() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "[[scenario]]\nname = \"no account called Blocked\"\ncommand = \"before-create\"\naccount_name = \"Blocked\"\nexpect = \"reject\"\n\n[[scenario]]\nname = \"messages go out\"\ncommand = \"before-send\"\ntext = [\"hello\"]\nexpect = \"allow\"\n",
    );
    let serve = Test::serve().args(["--reject", "-q"]).start();
    let report = scenario_report(dir.path(), &serve.url, 1);
    let statuses: Vec<(&str, &str)> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("scenario/no account called Blocked", "pass"),
            ("scenario/messages go out", "fail")
        ],
        "{report:#}"
    );
}

/// `-q` given on the command line, in any spelling clap takes, beats `verbose = true` in the
/// file, with which it conflicts (the file was once read against a scan of the raw arguments,
/// which missed `-kq`).
#[test]
fn a_flag_given_in_any_spelling_beats_a_conflicting_file_value() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "[check]\nverbose = true\n");
    let serve = Test::serve().args(["-q", "--sdkappid", "88888888"]).start();
    let lines = |args: &[&str]| {
        let run = in_dir(dir.path())
            .args(["check", "--url", &serve.url])
            .args(args)
            .stdout(anything())
            .stderr(anything())
            .run();
        run.stdout.lines().count()
    };
    let verbose = lines(&[]);
    let quiet = lines(&["-q", "-k"]);
    assert!(quiet < verbose, "{quiet} lines quiet, {verbose} verbose");
    for spelling in [&["-kq"][..], &["-qk"], &["--quiet", "-k"]] {
        assert_eq!(lines(spelling), quiet, "{spelling:?}");
    }
    let run = in_dir(dir.path())
        .env("OA_HOOK_QUIET", "true")
        .args(["check", "--url", &serve.url])
        .stdout(anything())
        .stderr(anything())
        .run();
    assert_eq!(run.stdout.lines().count(), quiet);
}

/// The `oa-hook.toml` of the README, and the one `init` writes, are taken by `serve` alone:
/// nothing in either is for another command only.
#[test]
fn the_readme_example_and_the_init_file_serve_as_they_are() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let example = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a toml example");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), example);
    let mut serve = Test::serve()
        .current_dir(dir.path())
        .env_remove("OA_HOOK_CONFIG")
        .start();
    // The file's sdkappid reaches serve (its listen is overruled by the test's port 0).
    assert_contains(&serve.next_line(), "--sdkappid 1400000000");
    serve
        .stderr(stopped(
            "0 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();

    let fresh = tempfile::tempdir().unwrap();
    in_dir(fresh.path()).arg("init").stdout(anything()).run();
    let mut serve = Test::serve()
        .current_dir(fresh.path())
        .env_remove("OA_HOOK_CONFIG")
        .start();
    serve.next_line();
    serve
        .stderr(stopped(
            "0 callback(s) answered, 0 of them rejected as invalid",
        ))
        .interrupt();
}
