//! One `send`: the request, the answer, every finding, what Chat would do, and the verdict.

use super::{Render, count, mark, request, verdict_line, verdict_word};
use crate::client::{Exchange, sent_headers};
use crate::clock::millis;
use crate::expect::Expectation;
use crate::output;
use crate::protocol::{Decision, Evidence, Finding, Judgement, with_error_info};
use crate::request::CallbackRequest;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

/// Everything one send came to.
pub(crate) struct Sent {
    pub request: CallbackRequest,
    /// The body bytes as sent.
    pub body: Vec<u8>,
    /// `None` when nothing came back by `--timeout` (the judgement says so).
    pub exchange: Option<Exchange>,
    pub judgement: Judgement,
    pub expectation: Expectation,
    /// The expectation as a failed check, when the decision does not meet it (or, under
    /// `--strict`, the first warning).
    pub unmet: Option<Finding>,
    /// What is odd about the request itself (a `--body` Chat would never send).
    pub request_findings: Vec<Finding>,
}

impl Sent {
    pub(crate) fn passed(&self) -> bool {
        self.judgement.conforms() && self.unmet.is_none()
    }
}

/// One `send` as a report: `quiet`, the verdict alone; `verbose`, the full request and answer too.
pub(crate) struct SendReport<'a> {
    pub sent: &'a Sent,
    pub verbose: bool,
    pub quiet: bool,
}

impl Render for SendReport<'_> {
    fn human(&self) -> String {
        human(self.sent, self.verbose, self.quiet)
    }

    fn json(&self) -> Value {
        json(self.sent)
    }
}

/// Lines for people. `quiet`: the verdict alone; `verbose`: the full request and answer too.
fn human(sent: &Sent, verbose: bool, quiet: bool) -> String {
    let mut lines = Vec::new();
    if !quiet {
        if verbose {
            lines.push(request::http_sent(&sent.request.url, &sent.body) + "\n");
            if let Some(exchange) = &sent.exchange {
                lines.push(answer_http(exchange));
            }
        } else {
            lines.push(format!("POST {}", sent.request.url));
        }
        for finding in &sent.request_findings {
            let never = if finding.is_error() {
                "; Chat never sends that"
            } else {
                ""
            };
            lines.push(format!("{} sent {finding}{never}", output::warn_mark()));
        }
        lines.push(match (&sent.exchange, &sent.judgement.evidence) {
            (Some(exchange), Some(evidence)) => format!(
                "HTTP {} in {:.1} ms: {}",
                status_text(exchange.status),
                millis(exchange.latency),
                evidence.body
            ),
            _ if sent
                .judgement
                .findings
                .iter()
                .any(|f| f.code == "broken-http") =>
            {
                "an answer that is not HTTP Chat can read".to_owned()
            }
            _ => "no answer".to_owned(),
        });
        let findings = &sent.judgement.findings;
        if findings.is_empty() {
            lines.push(format!("{} answer conforms", output::pass_mark()));
        }
        for finding in findings {
            lines.push(format!("{} {finding}", mark(finding.severity)));
        }
        lines.push(decision_line(&sent.judgement));
        if !sent.expectation.is_empty() || sent.unmet.is_some() {
            lines.push(match &sent.unmet {
                Some(unmet) => format!("{} {}", output::fail_mark(), unmet.message),
                None => format!("{} expected {}", output::pass_mark(), sent.expectation),
            });
        }
    }
    lines.push(verdict(sent));
    lines.join("\n") + "\n"
}

fn verdict(sent: &Sent) -> String {
    let findings = &sent.judgement.findings;
    let answer_errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - answer_errors;
    let errors = answer_errors + usize::from(sent.unmet.is_some());
    let mut detail = Vec::new();
    if errors > 0 {
        detail.push(count(errors, "error"));
    }
    if warnings > 0 {
        detail.push(count(warnings, "warning"));
    }
    verdict_line(sent.passed(), &detail.join(", "))
}

/// "Chat subscribes leckie; refuses jared"; where the docs do not say what Chat does, a label
/// instead ("Chat: undocumented: ..."). The backend's own words follow, when it gave any.
fn decision_line(judgement: &Judgement) -> String {
    let decision = &judgement.decision;
    let line = match decision {
        Decision::Undocumented { .. } => format!("Chat: {decision}"),
        _ => format!("Chat {decision}"),
    };
    with_error_info(
        line,
        judgement.evidence.as_ref().and_then(Evidence::error_info),
    )
}

/// A header value as text; bytes that are not UTF-8 show as replacement characters.
fn header_text(value: &HeaderValue) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// The answer as it came over the wire: status line, headers, body as received.
pub(crate) fn answer_http(exchange: &Exchange) -> String {
    let mut text = format!("HTTP/1.1 {}\n", status_text(exchange.status));
    for (name, value) in exchange.headers.iter() {
        text.push_str(&format!("{name}: {}\n", header_text(value)));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&exchange.body));
    if exchange.truncated {
        text.push_str("… (over 1 MiB, not read further)");
    }
    text.push('\n');
    text
}

/// One JSON document; its shape is documented in the README and pinned by a test.
fn json(sent: &Sent) -> Value {
    let mut request = request::json(&sent.request);
    request["headers"] = headers_json(&sent_headers(&sent.request.url, sent.body.len()));
    json!({
        "request": request,
        "response": sent.exchange.as_ref().map(response_json),
        "request_findings": sent.request_findings,
        "findings": sent.judgement.findings,
        "evidence": sent.judgement.evidence,
        "decision": decision_json(&sent.judgement.decision),
        "expectation": (!sent.expectation.is_empty()).then(|| json!({
            "expected": sent.expectation.to_string(),
            "met": sent.unmet.is_none(),
        })),
        "verdict": verdict_word(sent.passed()),
    })
}

/// Headers as one object, repeated ones joined with `, `.
fn headers_json(map: &HeaderMap) -> Value {
    let mut headers = Map::new();
    for (name, value) in map {
        let value = header_text(value);
        let joined = match headers.get(name.as_str()).and_then(Value::as_str) {
            Some(earlier) => format!("{earlier}, {value}"),
            None => value.into_owned(),
        };
        headers.insert(name.to_string(), Value::String(joined));
    }
    Value::Object(headers)
}

fn response_json(exchange: &Exchange) -> Value {
    let headers = headers_json(&exchange.headers.to_map());
    let body = serde_json::from_slice(&exchange.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&exchange.body).into_owned()));
    json!({
        "status": exchange.status,
        "headers": headers,
        "body": body,
        "truncated": exchange.truncated,
        "latency_ms": millis(exchange.latency),
    })
}

/// The decision with its `kind` and fields, plus the sentence people read as `summary`.
fn decision_json(decision: &Decision) -> Value {
    let mut value = serde_json::to_value(decision).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("summary".into(), Value::String(decision.to_string()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_read_as_sentences() {
        let refuse = Decision::Subscribes {
            subscribed: vec!["leckie".into()],
            refused: vec!["jared".into()],
        };
        let line = |decision: &Decision| {
            decision_line(&Judgement {
                findings: Vec::new(),
                decision: decision.clone(),
                evidence: None,
            })
        };
        assert_eq!(line(&refuse), "Chat subscribes leckie; refuses jared");
        assert_eq!(
            line(&Decision::Ignored),
            "Chat ignores the answer (after callback)"
        );
        assert!(
            line(&Decision::Undocumented {
                reason: "why".into()
            })
            .starts_with("Chat: undocumented")
        );
        let said = crate::protocol::Reply::new(
            200,
            br#"{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"wrong signature"}"#,
        );
        assert_eq!(
            decision_line(&Judgement {
                findings: Vec::new(),
                decision: Decision::RejectsAll,
                evidence: Some(Evidence::of(said)),
            }),
            "Chat rejects the whole request (ErrorCode 1); ErrorInfo \"wrong signature\""
        );
        assert_eq!(
            decision_json(&refuse),
            json!({"kind": "subscribes", "subscribed": ["leckie"], "refused": ["jared"], "summary": "subscribes leckie; refuses jared"})
        );
    }

    #[test]
    fn severities_are_counted_apart() {
        let sent = Sent {
            request: CallbackRequest {
                url: url::Url::parse("http://127.0.0.1/").unwrap(),
                body: Value::Null,
            },
            body: Vec::new(),
            exchange: None,
            judgement: Judgement {
                findings: vec![
                    Finding::error("a", "x", "m"),
                    Finding::warning("b", "y", "m"),
                    Finding::warning("c", "z", "m"),
                ],
                decision: Decision::Ignored,
                evidence: None,
            },
            expectation: Expectation::default(),
            unmet: None,
            request_findings: Vec::new(),
        };
        assert!(verdict(&sent).ends_with(": 1 error, 2 warnings"));
    }
}
