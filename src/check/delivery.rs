//! The `delivery/*` cases: what Chat's delivery does to a backend (protocol.md section 7).
//! After callbacks are retried on timeout, so the same body comes twice (Official Account
//! bodies carry no delivery id); Chat drops a connection at 2 s and goes ahead; and an after
//! callback can then come while the backend is still busy with its before callback. Opt-in
//! (`--only delivery`, or `--command all`): a duplicate reaches the backend's real data.

use super::robustness::ok_answer;
use super::{Case, Covered, Evidence, Outcome, Probe, Suite, conforming, unanswered};
use crate::client::{Abandoned, Exchange, Sender, TransportError};
use crate::protocol::{BUDGET, CALLBACKS, Callback, Decision, Finding, Kind, Severity, judge};
use crate::request::Template;
use bytes::Bytes;
use std::borrow::Cow;

/// What a delivery case rehearses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    Duplicate,
    SameDecision,
    Abandoned,
    OutOfOrder,
}

/// How many times `delivery/duplicate` sends its callback: once, once more, twice at once.
const DUPLICATES: usize = 4;

/// The delivery cases, each with the callback it sends: duplicates of the first after callback
/// covered (else after-unsubscribe), of the first before callback (else before-subscribe);
/// the abandoned callback is the first covered; out of order, after-subscribe and
/// before-subscribe.
pub(super) fn cases(covered: &Covered) -> Vec<Case> {
    let first_of = |kind: Kind, or: &str| {
        covered
            .answered
            .iter()
            .copied()
            .find(|c| c.kind == kind)
            .or_else(|| Callback::find(or).ok())
            .unwrap_or(&CALLBACKS[0])
    };
    let after = first_of(Kind::After, "after-unsubscribe");
    let before = first_of(Kind::Before, "before-subscribe");
    let first = covered.first();
    let subscribe = Callback::find("before-subscribe").unwrap_or(&CALLBACKS[0]);
    [
        (
            "delivery/duplicate",
            format!(
                "the same {} callback again right after, then twice at once, as Chat's retries deliver it (a body has no delivery id): each answer conforms and accepts it within 2 s, as the first did",
                after.name
            ),
            Delivery::Duplicate,
            after,
        ),
        (
            "delivery/same-decision",
            format!(
                "the same {} callback twice gets the same decision",
                before.name
            ),
            Delivery::SameDecision,
            before,
        ),
        (
            "delivery/abandoned",
            format!(
                "a {} callback cut off mid-body and dropped at 2 s, as Chat gives up, then the same callback again: a conforming answer within 2 s",
                first.name
            ),
            Delivery::Abandoned,
            first,
        ),
        (
            "delivery/out-of-order",
            "after-subscribe sent while before-subscribe is still unanswered (as when Chat went ahead on its timeout): both get conforming answers within 2 s, and after-subscribe is accepted as it is in order".to_owned(),
            Delivery::OutOfOrder,
            subscribe,
        ),
    ]
    .into_iter()
    .map(|(id, description, delivery, callback)| Case {
        id: Cow::Borrowed(id),
        description: Cow::Owned(description),
        probe: Probe::Delivery(delivery, callback),
    })
    .collect()
}

impl Suite {
    pub(super) async fn delivery(
        &mut self,
        delivery: Delivery,
        callback: &'static Callback,
    ) -> Result<Outcome, TransportError> {
        let template = self.template(callback, &self.event);
        match delivery {
            Delivery::Duplicate => self.duplicate(&template).await,
            Delivery::SameDecision => self.same_decision(&template).await,
            Delivery::Abandoned => self.abandoned(&template).await,
            Delivery::OutOfOrder => {
                let after = Callback::find("after-subscribe").unwrap_or(callback);
                let after = self.template(after, &self.event);
                self.out_of_order(&template, &after).await
            }
        }
    }

    /// The same callback, once, again right after, then twice at once: each answer must be
    /// what the first was, an acceptance.
    async fn duplicate(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        let first = self.send(template, self.now()).await?;
        let first = match accepted_control(template, &first, "the first callback") {
            Ok(first) => first,
            Err(outcome) => return Ok(*outcome),
        };
        let again = self.send(template, self.now()).await;
        let mut slowest = self.as_first_was(template, again, "the same callback again", &first)?;
        let (one, two) = self.in_flight_together(template, template).await?;
        for (answer, which) in [
            (one, "the first of the same callback twice at once"),
            (two, "the second of the same callback twice at once"),
        ] {
            let evidence = self.as_first_was(template, answer, which, &first)?;
            slowest = match (slowest, evidence) {
                (Ok(slowest), Ok(evidence)) if evidence.latency_ms > slowest.latency_ms => {
                    Ok(evidence)
                }
                (Err(outcome), _) | (Ok(_), Err(outcome)) => Err(outcome),
                (kept, _) => kept,
            };
        }
        let outcome = match slowest {
            Ok(slowest) => Outcome::pass(
                format!(
                    "the same callback {DUPLICATES} times got {DUPLICATES} conforming answers accepting it, the slowest in {:.0} ms: {}",
                    slowest.latency_ms, slowest.answer
                ),
                slowest,
            ),
            Err(outcome) => *outcome,
        };
        Ok(outcome.with_control(Some(first)))
    }

    /// `answer`, to a duplicate of a callback whose first answer was `first` (an acceptance):
    /// its evidence when it conforms and accepts within 2 s too, else why not. Only a target
    /// that cannot be reached is an error.
    fn as_first_was(
        &self,
        template: &Template,
        answer: Result<Exchange, TransportError>,
        which: &str,
        first: &Evidence,
    ) -> Result<Result<Evidence, Box<Outcome>>, TransportError> {
        let exchange = match answer {
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) => {
                let message = format!("{which} got {}", e.message());
                let finding = unanswered(&e, Severity::Error, message);
                return Ok(Err(Box::new(Outcome::found(finding, None))));
            }
            Ok(exchange) => exchange,
        };
        let judgement = judge(template.callback, &template.subscribers, exchange.reply());
        let evidence = Evidence::of(&exchange);
        if judgement.conforms() && evidence.answer.accepted() {
            return Ok(Ok(evidence));
        }
        let refused = Finding::error(
            "duplicate-refused",
            "answer",
            format!(
                "{which}, as Chat retries an after callback, got {evidence} where the first got {}: answer a callback you have seen before as you answered it the first time (Official Account bodies carry no delivery id: know one again by its command, account, EventTime and users)",
                first.answer
            ),
        );
        let mut outcome = Outcome::found(refused, evidence);
        outcome
            .findings
            .extend(judgement.findings.into_iter().filter(Finding::is_error));
        Ok(Err(Box::new(outcome)))
    }

    /// The same before callback twice, one after the other: the same decision both times.
    async fn same_decision(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        let (first, control) = match self.decided(template, "the first callback").await? {
            Ok(decided) => decided,
            Err(outcome) => return Ok(*outcome),
        };
        let (second, evidence) = match self.decided(template, "the same callback again").await? {
            Ok(decided) => decided,
            Err(outcome) => return Ok(*outcome),
        };
        let outcome = if first.same_as(&second) {
            Outcome::pass(
                format!("the same callback twice: Chat {first} both times"),
                evidence,
            )
        } else {
            let finding = Finding::error(
                "decision-changed",
                "decision",
                format!(
                    "the same {} callback twice: the first time Chat {first}, the second time Chat {second}; a callback delivered again must get the decision it got the first time",
                    template.callback.name
                ),
            );
            Outcome::found(finding, evidence)
        };
        Ok(outcome.with_control(Some(control)))
    }

    /// `template` sent once more: the decision of its conforming answer, or the outcome of one
    /// that does not conform (`which` says which callback it was).
    async fn decided(
        &mut self,
        template: &Template,
        which: &str,
    ) -> Result<Result<(Decision, Evidence), Box<Outcome>>, TransportError> {
        let exchange = self.send(template, self.now()).await?;
        Ok(conforming(template, &exchange, which)
            .map(|judgement| (judgement.decision, Evidence::of(&exchange))))
    }

    /// A callback cut off mid-body and dropped at 2 s, then the same callback whole: its answer
    /// must come within 2 s, whatever the backend holds for the abandoned one.
    async fn abandoned(&mut self, template: &Template) -> Result<Outcome, TransportError> {
        let url = template.url_at(self.now());
        let Some(abandoned) = self
            .sender
            .abandon(&url, &template.body_bytes, BUDGET)
            .await
        else {
            return Ok(Outcome::skip(
                "over https oa-hook cannot leave a request half sent: run this case against the backend's plain-HTTP address",
            ));
        };
        let abandoned = match abandoned? {
            Abandoned::Waiting => "it was still waiting for the rest".to_owned(),
            Abandoned::Answered(line, after) => {
                format!("it answered `{line}` after {} ms", after.as_millis())
            }
            Abandoned::Closed(after) => {
                format!("it closed the connection after {} ms", after.as_millis())
            }
        };
        let cut = format!(
            "a callback cut off mid-body was dropped at 2 s ({abandoned}); the same callback, sent whole right after"
        );
        let exchange = match self.send(template, self.now()).await {
            Err(e) if !e.is_unreachable() => {
                let finding = Finding::error(
                    "stuck-after-abandoned",
                    "latency",
                    format!(
                        "{cut}, got {}: the backend seems to hold something (a lock, a worker, a connection) for the request Chat abandoned",
                        e.message()
                    ),
                );
                return Ok(Outcome::found(finding, None));
            }
            answer => answer?,
        };
        let judgement = match conforming(template, &exchange, &cut) {
            Ok(judgement) => judgement,
            Err(outcome) => return Ok(*outcome),
        };
        let evidence = Evidence::of(&exchange);
        Ok(Outcome::pass(
            format!("{cut}, got {evidence}: Chat {}", judgement.decision),
            evidence,
        ))
    }

    /// before-subscribe, then its after-subscribe, in order (the control), then both at once:
    /// the after callback comes while the before callback is still unanswered, as when Chat
    /// went ahead on its timeout.
    async fn out_of_order(
        &mut self,
        before: &Template,
        after: &Template,
    ) -> Result<Outcome, TransportError> {
        let exchange = self.send(before, self.now()).await?;
        if let Err(outcome) = conforming(before, &exchange, "before-subscribe, in order") {
            return Ok(*outcome);
        }
        let exchange = self.send(after, self.now()).await?;
        let in_order = match accepted_control(after, &exchange, "after-subscribe, in order") {
            Ok(in_order) => in_order,
            Err(outcome) => return Ok(*outcome),
        };
        let (first, second) = self.in_flight_together(before, after).await?;
        let late_before = "before-subscribe, answered while its after-subscribe was in flight";
        let exchange = match first {
            Ok(exchange) => exchange,
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) => {
                let message = format!("{late_before}, got {}", e.message());
                let finding = unanswered(&e, Severity::Error, message);
                return Ok(Outcome::found(finding, None).with_control(Some(in_order)));
            }
        };
        if let Err(outcome) = conforming(before, &exchange, late_before) {
            return Ok((*outcome).with_control(Some(in_order)));
        }
        let decided = format!("before-subscribe got {}", Evidence::of(&exchange));
        let which = "after-subscribe, sent while before-subscribe was still unanswered (as when Chat went ahead on its timeout),";
        let outcome = match self.as_first_was(after, second, which, &in_order)? {
            Ok(evidence) => Outcome::pass(
                format!("{which} got {evidence}, as in order; {decided}"),
                evidence,
            ),
            Err(outcome) => {
                let mut outcome = *outcome;
                if let Some(finding) = outcome.findings.first_mut()
                    && finding.code == "duplicate-refused"
                {
                    finding.code = "out-of-order-refused";
                    finding.message = format!(
                        "{which} got {}, where in order it got {}: accept an after callback whose before callback you have not finished (Chat went ahead without your answer)",
                        outcome
                            .evidence
                            .as_ref()
                            .map_or_else(String::new, ToString::to_string),
                        in_order.answer
                    );
                    outcome.message = finding.message.clone();
                }
                outcome
            }
        };
        Ok(outcome.with_control(Some(in_order)))
    }

    /// `first`, then `second` as soon as `first` has gone out, each on a connection of its own
    /// opened beforehand: `second` is sent while `first` is still unanswered, and reaches the
    /// backend after it.
    async fn in_flight_together(
        &mut self,
        first: &Template,
        second: &Template,
    ) -> Result<
        (
            Result<Exchange, TransportError>,
            Result<Exchange, TransportError>,
        ),
        TransportError,
    > {
        let (mut one, mut two) = (self.opened().await?, self.opened().await?);
        let now = self.now();
        let (url_one, url_two) = (first.url_at(now), second.url_at(now));
        let body_one = Bytes::from(first.body_bytes.clone());
        let body_two = Bytes::from(second.body_bytes.clone());
        let (a, b) = {
            let first_post = one.post(&url_one, body_one.clone());
            tokio::pin!(first_post);
            // Started, then given a turn, in which its connection writes it out.
            let answered = tokio::select! {
                biased;
                answer = &mut first_post => Some(answer),
                () = tokio::task::yield_now() => None,
            };
            let first_answer = async {
                match answered {
                    Some(answer) => answer,
                    None => first_post.await,
                }
            };
            tokio::join!(first_answer, two.post(&url_two, body_two.clone()))
        };
        Ok((
            self.noted(url_one, &body_one, a),
            self.noted(url_two, &body_two, b),
        ))
    }

    /// A sender with a connection of its own, open now over plain HTTP (the kept-alive pool
    /// over HTTPS).
    async fn opened(&self) -> Result<Sender, TransportError> {
        match self.sender.on_one_connection().await {
            Some(opened) => opened,
            None => Ok(self.sender.another()),
        }
    }
}

/// The answer a delivery case compares the others with: conforming and accepted, or the case's
/// outcome, since what a backend that does not accept the callback at all does with it again
/// proves nothing (never a pass).
fn accepted_control(
    template: &Template,
    exchange: &Exchange,
    which: &str,
) -> Result<Evidence, Box<Outcome>> {
    conforming(template, exchange, which)?;
    let evidence = Evidence::of(exchange);
    if evidence.answer.accepted() {
        return Ok(evidence);
    }
    let finding = Finding::error(
        "inconclusive",
        "control",
        format!(
            "inconclusive: {which} was not accepted: {}, so what the backend does with it again proves nothing; make the backend accept it (HTTP 200 {}), then run again",
            evidence.answer,
            ok_answer()
        ),
    );
    Err(Box::new(Outcome::found(finding, evidence)))
}
