//! The robustness cases: a kept connection, a body that is not JSON, another module's callback.

use super::{Evidence, Outcome, Suite, conforming, unanswered};
use crate::client::TransportError;
use crate::protocol::{self, BUDGET, Finding, OtherModuleCallback, Severity};
use crate::request::Template;
use bytes::Bytes;

const KEEP_ALIVE_REQUESTS: usize = 20;
/// The finding of a backend that closes connections, and what it costs.
const NO_KEEP_ALIVE: &str = "no-keep-alive";
const CLOSED_CONNECTIONS: &str = "each callback then waits for a new connection, out of Chat's 2 s";

impl Suite {
    /// Several callbacks over one HTTP/1.1 connection, as Chat keeps connections open. Over
    /// TLS the suite's kept-alive pool is used, which cannot prove a single connection. A
    /// backend that closes the connection still answers Chat, over a new connection each
    /// time: a warning, while an answer that does not conform fails.
    pub(super) async fn keep_alive(
        &mut self,
        template: &Template,
    ) -> Result<Outcome, TransportError> {
        let mut one = self.sender.on_one_connection().await.transpose()?;
        let over = if one.is_some() {
            "on one connection"
        } else {
            "over a kept-alive HTTPS pool"
        };
        let body = Bytes::from(template.body_bytes.clone());
        let mut last = None;
        for i in 1..=KEEP_ALIVE_REQUESTS {
            let url = template.url_at(self.now());
            let callback = format!("callback {i} of {KEEP_ALIVE_REQUESTS}");
            let exchange = match self.post_on(one.as_mut(), url, body.clone()).await {
                Ok(exchange) => exchange,
                // Once connected, the one connection closing is what this case finds.
                Err(e) if e.is_unreachable() && one.is_none() => return Err(e),
                // The connection that carried an answer failed the next callback: the backend
                // closed it in between (as `php -S` does), or broke its answer. A new
                // connection tells which.
                Err(e) if one.is_some() && i > 1 && !matches!(e, TransportError::Timeout(_)) => {
                    return self.on_a_new_connection(template, &callback, &e).await;
                }
                Err(e) => {
                    let message = format!("{callback} {over}: {}", e.message());
                    return Ok(Outcome::found(
                        unanswered(&e, Severity::Error, message),
                        last.as_ref().map(Evidence::of),
                    ));
                }
            };
            if let Err(outcome) = conforming(template, &exchange, &format!("{callback} {over}")) {
                return Ok(*outcome);
            }
            if exchange.closes_connection() {
                let finding = Finding::warning(
                    NO_KEEP_ALIVE,
                    "connection",
                    format!(
                        "{callback} was answered with `Connection: close`: {CLOSED_CONNECTIONS}"
                    ),
                );
                return Ok(Outcome::found(finding, Evidence::of(&exchange)));
            }
            last = Some(exchange);
        }
        Ok(Outcome::pass(
            format!("{KEEP_ALIVE_REQUESTS} conforming answers {over}"),
            last.as_ref().map(Evidence::of),
        ))
    }

    /// `callback` again, on a new connection, after the kept one failed it with `failed`: a
    /// conforming answer shows the backend closed the kept one (a warning).
    async fn on_a_new_connection(
        &mut self,
        template: &Template,
        callback: &str,
        failed: &TransportError,
    ) -> Result<Outcome, TransportError> {
        let url = template.url_at(self.now());
        let body = Bytes::from(template.body_bytes.clone());
        let again = match self.sender.on_one_connection().await {
            Some(Ok(mut fresh)) => self.post_on(Some(&mut fresh), url, body).await,
            Some(Err(e)) => Err(e),
            None => self.post(url, body).await,
        };
        let closed = format!("{callback} on the kept connection: {}", failed.message());
        let exchange = match again {
            Ok(exchange) => exchange,
            Err(e) => {
                let message = format!("{closed}; on a new connection: {}", e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Error, message),
                    None,
                ));
            }
        };
        if let Err(outcome) = conforming(
            template,
            &exchange,
            &format!("{closed}; on a new connection"),
        ) {
            return Ok(*outcome);
        }
        let finding = Finding::warning(
            NO_KEEP_ALIVE,
            "connection",
            format!(
                "the backend closed the connection after an answer: {closed}; on a new connection it got a conforming answer: {CLOSED_CONNECTIONS}"
            ),
        );
        Ok(Outcome::found(finding, Evidence::of(&exchange)))
    }

    pub(super) async fn malformed_body(
        &mut self,
        template: &Template,
    ) -> Result<Outcome, TransportError> {
        // The callback's own body cut in half: JSON that breaks off, for the command's URL.
        let whole = &template.body_bytes;
        let body = Bytes::copy_from_slice(&whole[..whole.len() / 2]);
        let url = template.url_at(self.now());
        let exchange = match self.post(url, body).await {
            Err(e) if !e.is_unreachable() => {
                let message = format!("invalid JSON got no answer: {}", e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Warning, message),
                    None,
                ));
            }
            answer => answer?,
        };
        let evidence = Evidence::of(&exchange);
        Ok(if exchange.status >= 500 {
            let finding = Finding::warning(
                "server-error",
                "status",
                format!(
                    "invalid JSON got {}: a client mistake should get a 4xx or a FAIL answer, not a server error",
                    evidence.answer
                ),
            );
            Outcome::found(finding, evidence)
        } else if exchange.latency > BUDGET {
            let message = format!(
                "invalid JSON was answered in {} ms, over Chat's 2 s budget",
                exchange.latency.as_millis()
            );
            Outcome::found(over_budget(message), evidence)
        } else {
            Outcome::pass(format!("invalid JSON got {}", evidence.answer), evidence)
        })
    }

    /// An app has one callback URL for every callback: an authentic callback of another
    /// module must get 200 OK/0, or the backend fails (or, for a before callback, vetoes)
    /// events it does not even handle.
    pub(super) async fn other_command(
        &mut self,
        template: &Template,
    ) -> Result<Outcome, TransportError> {
        let now = self.now();
        let other = OtherModuleCallback::STATE_CHANGE;
        let url = template.url_for(other.command, now);
        let body = Bytes::from(other.body(self.clock.now_ms()).to_string());
        let exchange = match self.post(url, body).await {
            Err(e) if !e.is_unreachable() => {
                let message = format!("{} got no answer: {}", other.command, e.message());
                return Ok(Outcome::found(
                    unanswered(&e, Severity::Warning, message),
                    None,
                ));
            }
            answer => answer?,
        };
        let evidence = Evidence::of(&exchange);
        Ok(if !evidence.answer.accepted() {
            let finding = Finding::warning(
                "other-command-refused",
                "answer",
                format!(
                    "{} got {}; Chat sends every callback of an app to one URL, so answer an authentic callback you do not handle with HTTP 200 {}: a FAIL or ErrorCode 1 to another module's before callback vetoes that event, and anything but 200 is logged as a webhook failure",
                    other.command,
                    evidence.answer,
                    ok_answer()
                ),
            );
            Outcome::found(finding, evidence)
        } else if exchange.latency > BUDGET {
            let message = format!(
                "{} was answered in {} ms, over Chat's 2 s budget",
                other.command,
                exchange.latency.as_millis()
            );
            Outcome::found(over_budget(message), evidence)
        } else {
            Outcome::pass(
                format!("{} got {}", other.command, evidence.answer),
                evidence,
            )
        })
    }
}

/// `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`: what to answer a callback one does not
/// handle.
pub(super) fn ok_answer() -> String {
    serde_json::to_string(&protocol::Answer::ok(Vec::new())).unwrap_or_default()
}

/// An answer past Chat's 2 s to a request whose answer Chat does not act on: a warning.
fn over_budget(message: String) -> Finding {
    Finding::warning("too-slow", "latency", message)
}
