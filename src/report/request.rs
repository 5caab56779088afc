//! A callback request as HTTP text, a curl command, or a JSON object.

use crate::client::sent_headers;
use crate::request::{CONTENT_TYPE, CallbackRequest};
use serde_json::{Value, json};

/// The body pretty-printed, fields in their order.
pub(crate) fn pretty_body(body: &Value) -> String {
    serde_json::to_string_pretty(body).unwrap_or_default()
}

/// The request as oa-hook sent it: request line, every header as it went on the wire, and the
/// body byte for byte (`send -v`, `check -v`).
pub(crate) fn http_sent(url: &url::Url, body: &[u8]) -> String {
    let mut text = format!("POST {} HTTP/1.1\n", target(url));
    for (name, value) in &sent_headers(url, body.len()) {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(body));
    text
}

fn target(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The request as Chat sends it (HTTP/1.1), `body` byte for byte with its true
/// `Content-Length` (`sample`): compact JSON as built, or a `--body` file as read; headers as
/// Chat's documentation shows them.
pub(crate) fn http_exact(url: &url::Url, body: &str) -> String {
    let target = target(url);
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    format!(
        "POST {target} HTTP/1.1\nHost: {host}\nContent-Type: {CONTENT_TYPE}\nContent-Length: {}\n\n{body}",
        body.len()
    )
}

/// A curl command that sends the request, `body` byte for byte as `send` would; safe to paste
/// into a POSIX shell.
pub(crate) fn curl(url: &url::Url, body: &str) -> String {
    curl_to(&shell_quote(url.as_str()), body)
}

/// [`curl`] to a URL already written for the shell (quoted, or with a `$(...)` of its own).
pub(crate) fn curl_to(url: &str, body: &str) -> String {
    format!(
        "curl -X POST {url} \\\n  -H {} \\\n  --data-raw {}\n",
        shell_quote(&format!("Content-Type: {CONTENT_TYPE}")),
        shell_quote(body)
    )
}

/// Method, URL, headers and body as one JSON object.
pub(crate) fn json(request: &CallbackRequest) -> Value {
    json!({
        "method": "POST",
        "url": request.url.as_str(),
        "headers": { "Content-Type": CONTENT_TYPE },
        "body": request.body,
    })
}

/// Single-quotes `s` for a POSIX shell: `'` becomes `'\''`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("$HOME `x`"), "'$HOME `x`'");
    }

    #[test]
    fn http_keeps_the_port_and_the_query() {
        let url = url::Url::parse("http://127.0.0.1:3000/im?a=1").unwrap();
        assert_eq!(
            http_exact(&url, r#"{"k":1}"#),
            "POST /im?a=1 HTTP/1.1\nHost: 127.0.0.1:3000\nContent-Type: application/json\nContent-Length: 7\n\n{\"k\":1}"
        );
    }
}
