use crate::support::{NOW, Test, anything, contains, ends, judge_200, lacks, sample_path, starts};
use oa_hook::protocol::{CALLBACKS, Callback};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SEED_EVENT_TIME: &str = "1670574414123";
const VECTOR_SIGN: &str = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";
const SEED_BODY_PRETTY: &str = r#"{
  "CallbackCommand": "OfficialAccount.CallbackBeforeAddSubscriber",
  "Official_Account": "@TOA#_test_for_penn",
  "Operator_Account": "107867",
  "SubscribeAccountList": [
    {
      "Subscriber_Account": "jared"
    },
    {
      "Subscriber_Account": "leckie"
    }
  ],
  "EventTime": 1670574414123
}"#;
/// The seed body as `send` sends it.
const SEED_BODY: &str = r#"{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123}"#;

/// Tencent's sample bodies (protocol.md section 6), compact, `//` comments removed; 60797's
/// with the two commas its page leaves out.
const TENCENT_SAMPLES: &[(&str, &str)] = &[
    (
        "before-subscribe",
        r#"{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123}"#,
    ),
    (
        "after-unsubscribe",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterDeleteSubscriber","Official_Account":"@TOA#_test_OA_for_penn","Operator_Account":"leckie","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123}"#,
    ),
    (
        "before-create",
        r#"{"CallbackCommand":"OfficialAccount.CallbackBeforeCreateOfficialAccount","Operator_Account":"107867","Owner_Account":"107867","Name":"TestOfficialAccount","EventTime":1670574414123}"#,
    ),
    (
        "after-create",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterCreateOfficialAccount","Official_Account":"@TOA#_test_OA_for_penn","Operator_Account":"107867","Owner_Account":"107867","Name":"TestOfficialAccount","EventTime":1670574414123}"#,
    ),
    (
        "after-info-change",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Official_Account":"@TOA#_test_OA_for_penn","Operator_Account":"leckie","Introduction":"NewNotification","Name":"NewName","FaceUrl":"http://this.is.newface.url","Organization":"NewOrganization","EventTime":1670574414123}"#,
    ),
    (
        "after-destroy",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountDestroyed","Official_Account":"@TOA#_test_OA_for_penn","Owner_Account":"107867","Name":"TestOfficialAccount","EventTime":1670574414123}"#,
    ),
    (
        "after-subscribe",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123}"#,
    ),
    (
        "after-full",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountFull","Official_Account":"@TOA#_test_OA_for_penn","EventTime":1670574414123}"#,
    ),
    (
        "before-send",
        r#"{"CallbackCommand":"OfficialAccount.CallbackBeforeSendMsg","Official_Account":"@TOA#_2J4SZEAEL","OnlineOnlyFlag":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"your cloud custom data","EventTime":1670574414123}"#,
    ),
    (
        "after-send",
        r#"{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg","Official_Account":"@TOA#_2J4SZEAEL","OnlineOnlyFlag":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"your cloud custom data","MsgKey":"71_1_1698741698","MsgTime":1490686222,"EventTime":1670574414123}"#,
    ),
    (
        "after-withdraw",
        r##"{"CallbackCommand":"OfficialAccount.CallbackAfterMsgWithDraw","Official_Account":"#TOA#_123","WithdrawMsgList":[{"MsgKey":"71_1_1698741698"}],"EventTime":1670574414123}"##,
    ),
];

/// Every callback's body, with the sample's EventTime, is Tencent's sample byte for byte, as
/// `send` sends it. 60805's `#TOA#_123` is given (the default is a valid `@TOA#_` ID).
#[test]
fn the_bodies_of_all_eleven_are_tencents_samples() {
    assert_eq!(TENCENT_SAMPLES.len(), CALLBACKS.len());
    for (name, sample) in TENCENT_SAMPLES {
        let mut test = Test::new().args(["sample", name, "--event-time", SEED_EVENT_TIME]);
        if *name == "after-withdraw" {
            test = test.args(["--official-account", "#TOA#_123"]);
        }
        test.stdout(ends(format!("\n{sample}\n"))).run();
    }
}

#[test]
fn an_option_for_a_field_the_body_lacks_is_a_usage_error() {
    Test::new()
        .args(["sample", "before-create", "--subscriber", "jared"])
        .status(2)
        .stderr(
            "oa-hook: error: --subscriber does not apply to before-create: its body has no such field\n  hint: before-create takes --operator, --owner, --name, --event-time and --body; see its body with `oa-hook sample before-create --format body`\n",
        )
        .run();
    Test::new()
        .args([
            "send",
            "after-send",
            "--url",
            "http://127.0.0.1:9",
            "--msg-key",
            "a",
            "--msg-key",
            "b",
        ])
        .status(2)
        .stderr(contains("after-send carries one MsgKey"))
        .run();
    // From the environment, an option meant for every command is used where it fits.
    Test::new()
        .args(["sample", "after-full", "--format", "body"])
        .env("OA_HOOK_SUBSCRIBER", "zoe")
        .env("OA_HOOK_OFFICIAL_ACCOUNT", "@TOA#_full")
        .stdout(contains("\"@TOA#_full\"").lacks("zoe"))
        .run();
}

#[test]
fn event_options_set_the_new_fields() {
    let body = Test::new()
        .args([
            "sample",
            "before-send",
            "--format",
            "body",
            "--text",
            "hello",
            "--text",
            "world",
            "--online-only",
            "0",
            "--cloud-custom-data",
            "cc",
        ])
        .run_json();
    assert_eq!(body["OnlineOnlyFlag"], 0);
    assert_eq!(body["MsgBody"][1]["MsgContent"]["Text"], "world");
    assert_eq!(body["CloudCustomData"], "cc");
    let body = Test::new()
        .args([
            "sample",
            "after-withdraw",
            "--format",
            "body",
            "--msg-key",
            "k1",
            "--msg-key",
            "k2",
        ])
        .run_json();
    assert_eq!(body["WithdrawMsgList"][1]["MsgKey"], "k2");
    Test::new()
        .args(["sample", "before-send", "--online-only", "2"])
        .status(2)
        .stderr(contains("--online-only 2 is neither 1 nor 0"))
        .run();
}

#[test]
fn body_with_seed_values_equals_the_sample_files() {
    for callback in CALLBACKS.iter().map(|c| c.name) {
        let file =
            std::fs::read_to_string(sample_path(&format!("{callback}.request.json"))).unwrap();
        Test::new()
            .args(["sample", callback, "--format", "body"])
            .args(["--event-time", SEED_EVENT_TIME])
            .stdout(file)
            .run();
    }
}

#[test]
fn sample_request_files_are_accepted_as_bodies() {
    Test::new()
        .args(["sample", "before-subscribe", "--format", "body", "--body"])
        .arg(sample_path("before-subscribe.request.json"))
        .stdout(format!("{SEED_BODY_PRETTY}\n"))
        .run();
}

fn family(name: &str) -> &'static Callback {
    Callback::find(name).unwrap()
}

#[test]
fn sample_answers_conform() {
    let users = vec!["jared".to_owned(), "leckie".to_owned()];
    for (file, callback, decision) in [
        (
            "before-subscribe.answer-allow.json",
            &CALLBACKS[0],
            "subscribes jared, leckie",
        ),
        (
            "before-subscribe.answer-refuse-jared.json",
            &CALLBACKS[0],
            "subscribes leckie; refuses jared",
        ),
        (
            "before-subscribe.answer-reject.json",
            &CALLBACKS[0],
            "rejects the whole request (ErrorCode 1)",
        ),
        (
            "after-unsubscribe.answer.json",
            &CALLBACKS[1],
            "ignores the answer (after callback)",
        ),
        (
            "before-create.answer-allow.json",
            family("before-create"),
            "creates the Official Account",
        ),
        (
            "before-create.answer-deny.json",
            family("before-create"),
            "denies the creation (ErrorCode 1): the caller gets error 20006",
        ),
        (
            "before-create.answer-custom.json",
            family("before-create"),
            "denies the creation (ErrorCode 120001): the caller gets error 120001 and your ErrorInfo",
        ),
        (
            "before-send.answer-allow.json",
            family("before-send"),
            "sends the message as it is",
        ),
        (
            "before-send.answer-refuse.json",
            family("before-send"),
            "refuses the message (ErrorCode 1): the sender gets error 10016",
        ),
        (
            "before-send.answer-discard.json",
            family("before-send"),
            "discards the message silently: the sender is told it was sent",
        ),
        (
            "before-send.answer-rewrite.json",
            family("before-send"),
            "sends the message rewritten by your answer: MsgBody [TIMTextElem \"red packet (checked)\"], CloudCustomData \"your cloud custom data\"",
        ),
        (
            "before-send.answer-custom.json",
            family("before-send"),
            "refuses the message (ErrorCode 120002): the sender gets error 120002 and your ErrorInfo",
        ),
    ] {
        let body = std::fs::read(sample_path(file)).unwrap();
        let judgement = judge_200(callback, &users, &body);
        assert_eq!(judgement.findings, vec![], "{file}");
        assert_eq!(judgement.decision.to_string(), decision, "{file}");
    }
}

/// The request exactly as `send` sends it: the compact body and its true length.
#[test]
fn http_format_is_exact() {
    Test::new()
        .args(["sample", "before-subscribe", "--event-time", SEED_EVENT_TIME])
        .args(["--token", "xxxxyyyy", "--url", "http://127.0.0.1:3000/im?tenant=a"])
        .args(["--sdkappid", "1400000000"])
        .stdout(format!(
            "POST /im?tenant=a&SdkAppid=1400000000&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={VECTOR_SIGN}&RequestTime={NOW} HTTP/1.1\n\
             Host: 127.0.0.1:3000\nContent-Type: application/json\nContent-Length: 248\n\n{SEED_BODY}\n"
        ))
        .run();
    assert_eq!(SEED_BODY.len(), 248);
}

#[test]
fn http_and_curl_formats_show_a_body_file_byte_for_byte() {
    let file = sample_path("before-subscribe.request.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let printed = Test::new()
        .args(["sample", "before-subscribe", "--body"])
        .arg(&file)
        .stdout(anything())
        .run()
        .stdout;
    let (head, body) = printed.split_once("\n\n").unwrap();
    assert!(
        head.ends_with(&format!("\nContent-Length: {}", text.len())),
        "{head}"
    );
    assert_eq!(body, format!("{text}\n"));
    Test::new()
        .args(["sample", "before-subscribe", "-f", "curl", "--body"])
        .arg(&file)
        .stdout(ends(format!("--data-raw '{text}'\n")))
        .run();
}

#[test]
fn each_callback_defaults_to_its_own_sample() {
    let request = Test::new()
        .args(["sample", "after-unsubscribe", "-f", "json"])
        .run_json();
    assert_eq!(
        request["body"]["Official_Account"],
        "@TOA#_test_OA_for_penn"
    );
    assert_eq!(request["body"]["Operator_Account"], "leckie");
    let help = Test::new()
        .args(["sample", "--help"])
        .stdout(anything())
        .run()
        .stdout;
    for default in [
        "@TOA#_test_for_penn for before-subscribe, @TOA#_test_OA_for_penn for after-unsubscribe",
        "107867 for before-subscribe, leckie for after-unsubscribe",
    ] {
        assert!(
            help.replace("\n          ", " ").contains(default),
            "{default} in {help}"
        );
    }
}

#[test]
fn http_format_defaults_to_the_docs_example_url_unsigned() {
    Test::new()
        .args(["sample", "OfficialAccount.CallbackAfterDeleteSubscriber"])
        .stdout(
            starts("POST /?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackAfterDeleteSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI HTTP/1.1\nHost: www.example.com\n")
                // EventTime defaults to now.
                .contains(format!("\"EventTime\":{NOW}000}}"))
                .lacks("Sign="),
        )
        .run();
}

#[test]
fn url_format_is_exact() {
    Test::new()
        .args(["sample", "after-unsubscribe", "--format", "url"])
        .args(["--token", "my_token", "--request-time", "1773643904"])
        .args(["--client-ip", "10.0.0.7", "--platform", "Mac"])
        .stdout("https://www.example.com/?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackAfterDeleteSubscriber&contenttype=json&ClientIP=10.0.0.7&OptPlatform=Mac&Sign=c187855d0c55a14ae4ea6fd5c5313eed3bbd9a5621bcb0d1a57a4680871f8681&RequestTime=1773643904\n")
        .run();
}

#[test]
fn the_english_docs_macos_spelling_can_be_sent_too() {
    Test::new()
        .args([
            "sample",
            "before-subscribe",
            "-f",
            "url",
            "--platform",
            "macOS",
        ])
        .stdout(ends("&OptPlatform=macOS\n"))
        .run();
}

#[test]
fn json_format_is_exact() {
    let printed = Test::new()
        .args([
            "sample",
            "before-subscribe",
            "--format",
            "json",
            "--event-time",
            "1",
        ])
        .args(["--official-account", "@TOA#_x", "--operator", "admin"])
        .args(["--subscriber", "amy"])
        .stdout(anything())
        .run()
        .stdout;
    let expected = serde_json::json!({
        "method": "POST",
        "url": "https://www.example.com/?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI",
        "headers": {"Content-Type": "application/json"},
        "body": {
            "CallbackCommand": "OfficialAccount.CallbackBeforeAddSubscriber",
            "Official_Account": "@TOA#_x",
            "Operator_Account": "admin",
            "SubscribeAccountList": [{"Subscriber_Account": "amy"}],
            "EventTime": 1
        }
    });
    assert_eq!(
        printed,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
}

#[tokio::test]
async fn curl_format_runs_in_a_shell_and_sends_the_same_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let url = format!("{}/im", server.uri());
    let printed = Test::new()
        .args([
            "sample",
            "before-subscribe",
            "--format",
            "curl",
            "--url",
            &url,
            "--subscriber",
            "o'brien $HOME",
            "--subscriber",
            "amy",
        ])
        .env("OA_HOOK_TOKEN", "xxxxyyyy")
        // The token is never printed.
        .stdout(lacks("xxxxyyyy"))
        .run()
        .stdout;
    let status = tokio::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} --silent --show-error --output /dev/null",
                printed.trim_end()
            ),
        ])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.url.path(), "/im");
    assert_eq!(
        request.url.query().unwrap(),
        format!(
            "SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={VECTOR_SIGN}&RequestTime={NOW}"
        )
    );
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/json"
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body["SubscribeAccountList"][0]["Subscriber_Account"],
        "o'brien $HOME"
    );
    assert_eq!(body["SubscribeAccountList"][1]["Subscriber_Account"], "amy");
}

#[test]
fn the_token_never_appears_in_any_format_or_in_help() {
    for format in ["http", "body", "url", "curl", "json"] {
        Test::new()
            .args(["sample", "before-subscribe", "--format", format])
            .args(["--token", "s3cr3t-t0ken"])
            .stdout(lacks("s3cr3t-t0ken"))
            .run();
    }
    Test::new()
        .args(["sample", "--help"])
        .env("OA_HOOK_TOKEN", "s3cr3t-t0ken")
        .stdout(lacks("s3cr3t-t0ken").contains("OA_HOOK_TOKEN"))
        .run();
}

#[test]
fn bad_input_exits_2_with_one_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sample", "before-unsubscribe"],
            "oa-hook: error: invalid value 'before-unsubscribe' for '<COMMAND>'\n  hint: did you mean 'before-subscribe'?\n",
        ),
        (
            &["sample", "before-subscribe", "--event-time", "soon"],
            "oa-hook: error: --event-time soon is not a whole number of milliseconds\n  hint: give a Unix time in milliseconds, e.g. 1670574414123\n",
        ),
        (
            &["sample", "before-subscribe", "--request-time=-5"],
            "oa-hook: error: --request-time -5 is not a Unix time in seconds\n  hint: give a whole number, e.g. 1669872112\n",
        ),
        (
            &["sample", "before-subscribe", "--sdkappid", "app"],
            "--sdkappid app is not a number\n  hint: give the app's SDKAppID",
        ),
        (
            &["sample", "before-subscribe", "--url", "localhost:3000"],
            "did you mean http://localhost:3000/?",
        ),
        (
            &["sample", "before-subscribe", "--url", "not a url"],
            "is not a URL",
        ),
        (
            &["sample", "before-subscribe", "--platform", "Linux"],
            "oa-hook: error: invalid value 'Linux' for '--platform <PLATFORM>'\n  hint: give one of: ",
        ),
        (
            &["sample", "before-subscribe", "--client-ip", "localhost"],
            "oa-hook: error: --client-ip localhost is not an IP address\n  hint: give one such as 127.0.0.1 or ::1\n",
        ),
        (
            &[
                "sample",
                "before-subscribe",
                "--body",
                "/nonexistent/body.json",
            ],
            "oa-hook: error: cannot read --body /nonexistent/body.json",
        ),
    ];
    for (args, message) in cases {
        Test::new()
            .args(*args)
            .status(2)
            .stderr(contains(*message).lacks("panicked"))
            .run();
    }
}

#[test]
fn a_body_that_is_not_json_exits_2() {
    Test::new()
        .args(["sample", "before-subscribe", "--body", "-"])
        .stdin("{\"CallbackCommand\": ")
        .status(2)
        .stderr("oa-hook: error: --body stdin is not JSON: EOF while parsing a value at line 1 column 20\n  hint: see samples/ for bodies that Chat sends\n")
        .run();
}

#[test]
fn colour_only_when_asked() {
    let wrong = format!("/?Sign={}&RequestTime=1", "0".repeat(64));
    let args = ["verify", "--token", "xxxxyyyy", &wrong];
    let verify = || Test::new().args(args).status(1);
    verify().stdout(lacks("\u{1b}[")).run();
    verify()
        .arg("--color=always")
        .stdout(contains("\u{1b}["))
        .run();
    verify()
        .arg("--color=always")
        .env("NO_COLOR", "1")
        .stdout(contains("\u{1b}["))
        .run();
    verify()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .stdout(lacks("\u{1b}["))
        .run();
}

#[test]
fn completions_cover_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        Test::new()
            .args(["completions", shell])
            .stdout(contains("before-subscribe").contains("sdkappid"))
            .run();
    }
}
