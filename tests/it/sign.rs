use crate::support::{NOW, Test, contains, starts};
use oa_hook::protocol::sign;

const TOKEN: &str = "xxxxyyyy";
const SIGN: &str = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";

#[test]
fn sign_prints_the_vectors() {
    for (token, time, sign) in [
        (TOKEN, "1669872112", SIGN),
        (
            "my_token",
            "1773643904",
            "c187855d0c55a14ae4ea6fd5c5313eed3bbd9a5621bcb0d1a57a4680871f8681",
        ),
        (
            "callback-auth-token",
            "1786334400",
            "9f594528a57139de47912d068d560344c59fc654e7ec39e7d37b1c5fee39d8ff",
        ),
    ] {
        Test::new()
            .args(["sign", "--time", time])
            .env("OA_HOOK_TOKEN", token)
            .stdout(format!("Sign         {sign}\nRequestTime  {time}\nquery        &Sign={sign}&RequestTime={time}\n"))
            .run();
    }
}

#[test]
fn sign_defaults_to_now_and_needs_a_token() {
    Test::new()
        .args(["sign", "--token", TOKEN])
        .stdout(format!(
            "Sign         {SIGN}\nRequestTime  {NOW}\nquery        &Sign={SIGN}&RequestTime={NOW}\n"
        ))
        .run();
    Test::new()
        .arg("sign")
        .status(2)
        .stderr("oa-hook: error: no token given\n  hint: pass --token TOKEN or set OA_HOOK_TOKEN (the token set in the Chat console)\n")
        .run();
}

/// `oa-hook verify --token TOKEN URL` with the clock at `now`.
fn verify(url: &str, now: u64) -> Test {
    Test::new()
        .args(["verify", "--token", TOKEN, url])
        .env("OA_HOOK_NOW", now.to_string())
}

fn url(sign: &str, time: u64) -> String {
    format!(
        "https://www.example.com/im?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={sign}&RequestTime={time}"
    )
}

#[test]
fn verify_fresh_and_within_the_window() {
    verify(&url(SIGN, NOW), NOW)
        .stdout(format!(
            "✔ authentic: Sign matches the token; RequestTime {NOW} is now\n"
        ))
        .run();
    verify(&url(SIGN, NOW), NOW + 60)
        .stdout(format!(
            "✔ authentic: Sign matches the token; RequestTime {NOW} is 60 s ago\n"
        ))
        .run();
}

#[test]
fn verify_accepts_upper_case_hex_and_says_so() {
    verify(&url(&SIGN.to_uppercase(), NOW), NOW).stdout(format!(
        "✔ authentic: Sign matches the token; RequestTime {NOW} is now\n! Sign is upper-case hex; Chat sends lower case (accepted)\n"
    ))
        .run();
}

#[test]
fn verify_refuses_stale_and_future_times() {
    verify(&url(SIGN, NOW), NOW + 61).status(1).stdout(
        "✘ not authentic: RequestTime is 61 s old, beyond the 60 s freshness window: a replayed or delayed callback\n",
    )
        .run();
    verify(&url(SIGN, NOW), NOW - 300).status(1).stdout(
        "✘ not authentic: RequestTime is 300 s in the future, beyond the 60 s freshness window: check the sender's clock\n",
    )
        .run();
    verify(&url(SIGN, NOW), NOW + 599)
        .args(["--max-skew", "10m"])
        .stdout(format!(
            "✔ authentic: Sign matches the token; RequestTime {NOW} is 599 s ago\n"
        ))
        .run();
}

#[test]
fn verify_refuses_a_wrong_token() {
    Test::new()
        .args(["verify", "--token", "xxxyyy", &url(SIGN, NOW)])
        .status(1)
        .stdout("✘ not authentic: Sign does not match SHA-256(token + RequestTime): the token differs, or the Sign was computed another way\n")
        .run();
}

#[test]
fn verify_of_a_url_that_is_no_callback_is_an_input_error() {
    let as_received = "  hint: paste the callback URL exactly as your backend received it, in quotes; a placeholder such as Sign=... is not one\n";
    for placeholder in ["...", "<sign>", "SIGN", "zz", &SIGN[1..]] {
        verify(&url(placeholder, NOW), NOW)
            .status(2)
            .stdout("")
            .stderr(format!(
                "oa-hook: error: Sign `{placeholder}` is not a real Sign: Chat's is 64 hex digits (a SHA-256 digest)\n{as_received}"
            ))
            .run();
    }
    verify("/im?SdkAppid=...&Sign=...&RequestTime=...", NOW)
        .status(2)
        .stdout("")
        .stderr(format!(
            "oa-hook: error: RequestTime `...` is not a real RequestTime: Chat's is a Unix time in seconds, digits only (no sign, no leading zero, at most 19)\n{as_received}"
        ))
        .run();
    verify(&format!("/im?Sign={SIGN}"), NOW)
        .status(2)
        .stdout("")
        .stderr(starts(
            "oa-hook: error: the URL has a Sign but no RequestTime, so the Sign cannot be checked\n  hint: webhook authentication is off, or the query was cut (quote the URL",
        ))
        .run();
}

#[test]
fn verify_without_sign_is_an_input_error() {
    verify("/im?SdkAppid=1&RequestTime=1669872112", NOW)
        .status(2)
        .stdout("")
        .stderr(starts("oa-hook: error: the URL has no Sign parameter"))
        .run();
    verify("https://www.example.com/im", NOW)
        .status(2)
        .stderr(contains("has no query string"))
        .run();
}

#[test]
fn verify_never_takes_a_far_future_request_time_for_a_fresh_one() {
    let ahead = NOW + (1 << 63);
    verify(&url(&sign(TOKEN, ahead), ahead), NOW)
        .status(1)
        .stdout(format!(
            "✘ not authentic: RequestTime is {} s in the future, beyond the 60 s freshness window: check the sender's clock\n",
            1_u64 << 63
        ))
        .run();
}

#[test]
fn verify_refuses_a_request_time_that_is_not_canonical() {
    let signed = url(SIGN, NOW).replace(
        &format!("RequestTime={NOW}"),
        &format!("RequestTime=0{NOW}"),
    );
    verify(&signed, NOW).status(2).stdout("").stderr(starts(format!(
        "oa-hook: error: RequestTime `0{NOW}` is not a real RequestTime: Chat's is a Unix time in seconds, digits only (no sign, no leading zero, at most 19)\n"
    )))
        .run();
    let plus = url(SIGN, NOW).replace(
        &format!("RequestTime={NOW}"),
        &format!("RequestTime=%2B{NOW}"),
    );
    verify(&plus, NOW)
        .status(2)
        .stderr(contains(format!("RequestTime `+{NOW}` is not")))
        .run();
}

#[test]
fn verify_refuses_a_repeated_parameter_by_name() {
    for (name, value) in [
        ("Sign", SIGN.to_owned()),
        ("RequestTime", NOW.to_string()),
        ("SdkAppid", "1".to_owned()),
        ("CallbackCommand", "State.StateChange".to_owned()),
    ] {
        let twice = format!("{}&{name}={value}", url(SIGN, NOW));
        verify(&twice, NOW).status(1).stdout(format!(
            "✘ not authentic: {name} appears 2 times in the query; Chat sends it once, and which one counts would be ambiguous\n"
        ))
            .run();
    }
}
