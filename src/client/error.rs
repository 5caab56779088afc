//! Why no answer came back, said one way for every sender: the transport error, its words and
//! hint, and what it comes to for the judge.

use crate::error::Error;
use crate::record::Answered;
use std::time::Duration;
use url::Url;

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// Nothing answered by the timeout: the target is up but too slow (a contract failure).
    Timeout(Duration),
    /// The target could not be reached (refused, DNS, TLS, no connection by the timeout):
    /// nothing to judge.
    Unreachable { message: String, hint: String },
    /// The target was reached, but what came back is not an HTTP answer: not HTTP at all, a
    /// head too large to read, a body cut short, the connection closed instead of an answer.
    /// A contract failure, as a wrong answer is; the sentence says what broke.
    Broken(String),
}

impl TransportError {
    /// Whether the target could not be reached at all, so that there is nothing to judge: the
    /// one error that may stop a run rather than fail a request.
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. })
    }

    /// What came back instead of an answer, as the judge takes it (nothing within the
    /// timeout, or broken HTTP); `None` when the target could not be reached, which leaves
    /// nothing to judge. The one place a transport error becomes something to judge.
    pub(crate) fn answered(&self) -> Option<Answered<'_>> {
        match self {
            TransportError::Timeout(waited) => Some(Answered::Nothing(*waited)),
            TransportError::Broken(message) => Some(Answered::Broken(message)),
            TransportError::Unreachable { .. } => None,
        }
    }

    /// Why no answer came, in words.
    pub(crate) fn message(&self) -> String {
        match self {
            TransportError::Timeout(after) => format!(
                "no answer within {} (Chat gives up after 2 s)",
                humantime::format_duration(*after)
            ),
            TransportError::Unreachable { message, .. } | TransportError::Broken(message) => {
                message.clone()
            }
        }
    }

    /// The error that stops a command whose target could not be reached. A timeout or a
    /// broken answer is judged as an answer instead; as an error it is still said as it is.
    pub(crate) fn into_error(self) -> Error {
        match self {
            TransportError::Timeout(after) => Error::unreachable(format!(
                "no answer within {}",
                humantime::format_duration(after)
            )),
            TransportError::Unreachable { message, hint } => Error::unreachable(message).hint(hint),
            TransportError::Broken(message) => Error::unreachable(message),
        }
    }

    /// What broke in an answer the backend sent (hyper's error, found among `e`'s causes).
    pub(super) fn broken(e: &(dyn std::error::Error + 'static)) -> Self {
        let hyper = causes(e).find_map(|cause| cause.downcast_ref::<hyper::Error>());
        let what = match hyper {
            Some(h) if h.is_parse_too_large() => "its status line and headers are too large",
            Some(h) if h.is_parse() => "it is not an HTTP/1.1 answer",
            Some(h) if h.is_incomplete_message() => {
                "the connection closed before a complete answer came"
            }
            _ if io_error_kind(e) == Some(std::io::ErrorKind::UnexpectedEof) => {
                "the body ended before all of it came"
            }
            _ => "the answer broke off",
        };
        let detail = match hyper {
            Some(h) => chain(h),
            None => chain(e),
        };
        TransportError::Broken(format!(
            "the backend answered with broken HTTP: {what} ({detail})"
        ))
    }

    /// A kept connection the backend closed before the request went out on it.
    pub(super) fn closed_before_sending(target: &str) -> Self {
        TransportError::Unreachable {
            message: format!("the connection to {target} closed before the request was sent"),
            hint: "the backend closed a kept-alive connection; Chat keeps connections open"
                .to_owned(),
        }
    }
}

/// Why `e` kept a request from reaching `target` (host:port), and what to do about it.
pub(super) fn explain_unreachable(
    e: &(dyn std::error::Error + 'static),
    target: &str,
) -> TransportError {
    // The outermost error only names the step (reqwest's "error sending request"); the causes
    // say what went wrong.
    let detail = e.source().map_or_else(|| e.to_string(), chain);
    let lower = detail.to_lowercase();
    let (message, hint) = if io_error_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
        (
            format!("connection refused at {target}"),
            "is the backend running and listening on that port?",
        )
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        // Told apart before DNS errors: rustls calls a certificate's names `DnsName(...)`.
        (
            format!("TLS handshake with {target} failed: {detail}"),
            "for a self-signed backend pass --cacert FILE, or --insecure",
        )
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        (
            format!("cannot resolve the host of {target}: {detail}"),
            "check the host name in --url",
        )
    } else {
        (
            format!("cannot connect to {target}: {detail}"),
            "check --url and that the backend is reachable",
        )
    };
    TransportError::Unreachable {
        message,
        hint: hint.to_owned(),
    }
}

pub(super) fn describe(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    }
}

fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    causes(e).find_map(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
    })
}

/// `e` and its causes, outermost first.
pub(super) fn causes<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |err| err.source())
}

/// The error with its causes, innermost last, without repeats.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}
