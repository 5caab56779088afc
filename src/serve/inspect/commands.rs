//! "Copy as": a row as an `oa-hook send` command and as a curl command, each sending the request
//! again to serve's webhook URL, so that pasting it makes the row again. The token is referred
//! to by its variable, `$OA_HOOK_TOKEN`, as serve's banner does: it is never written out.

use super::kept::Seen;
use crate::protocol::{PLATFORMS, param};
use crate::report::request::{curl_to, shell_quote};
use serde::Serialize;
use std::net::IpAddr;
use url::Url;

/// The commands for one row.
#[derive(Debug, Serialize)]
pub(super) struct Commands {
    /// `null` when `oa-hook send` cannot send this request (see `send_note`).
    send: Option<String>,
    /// How the `send` command differs from the request, or why there is none.
    send_note: Option<String>,
    curl: String,
}

/// The query parameters `oa-hook send` makes itself, from its options.
const MADE_BY_SEND: [&str; 7] = [
    param::SDK_APPID,
    param::CALLBACK_COMMAND,
    param::CONTENT_TYPE,
    param::CLIENT_IP,
    param::OPT_PLATFORM,
    param::SIGN,
    param::REQUEST_TIME,
];

/// The commands that send `seen` again to `webhook` (serve's own URL), signed with
/// `$OA_HOOK_TOKEN` when serve checks a token.
pub(super) fn commands(seen: &Seen, webhook: &Url, signed: bool) -> Commands {
    let mut url = webhook.clone();
    url.set_path(seen.path());
    let query = seen.query_shown();
    let (send, send_note) = match send(seen, &url, &query, signed) {
        Ok((command, note)) => (Some(command), note),
        Err(why) => (None, Some(why)),
    };
    Commands {
        send,
        send_note,
        curl: curl(seen, url, &query, signed),
    }
}

fn curl(seen: &Seen, mut url: Url, query: &[(String, String)], signed: bool) -> String {
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let target = if signed {
        // A fresh Sign and RequestTime, made when the command runs: `&Sign=...&RequestTime=...`.
        let joiner = if query.is_empty() { "?" } else { "" };
        format!(
            r#"{}"$(oa-hook sign | sed -n 's/^query *//p')""#,
            shell_quote(&format!("{url}{joiner}"))
        )
    } else {
        shell_quote(url.as_str())
    };
    curl_to(&target, &seen.body_text())
}

/// The `send` command, and how it differs from the request; or why there is none.
fn send(
    seen: &Seen,
    url: &Url,
    query: &[(String, String)],
    signed: bool,
) -> Result<(String, Option<String>), String> {
    let use_curl = "copy it as curl";
    let Some(callback) = seen.callback() else {
        return Err(format!(
            "oa-hook send sends the eleven Official Account callbacks, and this request's CallbackCommand is {}: {use_curl}",
            seen.command().unwrap_or("missing")
        ));
    };
    let body = std::str::from_utf8(seen.body())
        .ok()
        .filter(|text| serde_json::from_str::<serde_json::Value>(text).is_ok())
        .ok_or_else(|| {
            format!("oa-hook send --body takes JSON, and this body is not: {use_curl}")
        })?;
    let value = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    };
    let mut command = format!(
        "printf '%s' {} | oa-hook send {} --url {}",
        shell_quote(body),
        callback.name,
        shell_quote(url.as_str())
    );
    let mut differs = Vec::new();
    match value(param::SDK_APPID).map(str::parse::<u64>) {
        Some(Ok(id)) => command.push_str(&format!(" --sdkappid {id}")),
        _ => differs.push("its SdkAppid"),
    }
    match value(param::CLIENT_IP).map(str::parse::<IpAddr>) {
        Some(Ok(ip)) => command.push_str(&format!(" --client-ip {ip}")),
        _ => differs.push("its ClientIP"),
    }
    match value(param::OPT_PLATFORM) {
        Some(platform) if PLATFORMS.contains(&platform) || platform == "macOS" => {
            command.push_str(&format!(" --platform {platform}"));
        }
        _ => differs.push("its OptPlatform"),
    }
    if value(param::CONTENT_TYPE) != Some("json") {
        differs.push("its contenttype");
    }
    if query
        .iter()
        .any(|(name, _)| !MADE_BY_SEND.contains(&name.as_str()))
    {
        differs.push("the query parameters of its own");
    }
    command.push_str(" --body -");
    if signed {
        command.push_str(r#" --token "$OA_HOOK_TOKEN""#);
    }
    let note = (!differs.is_empty()).then(|| {
        format!(
            "oa-hook send makes {} as Chat does, not as this request had it: {use_curl} for the request as it was",
            differs.join(", ")
        )
    });
    Ok((command, note))
}
