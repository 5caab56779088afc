//! The security cases: a forged, replayed or misdirected callback beside a genuine one.

use super::robustness::ok_answer;
use super::{Evidence, Forgery, Outcome, Suite};
use crate::client::{Exchange, TransportError};
use crate::clock::millis;
use crate::protocol::{self, BUDGET, Callback, Finding, Kind, Reply, Said, Severity, judge, param};
use crate::request::{Event, Template, shown_options};
use bytes::Bytes;
use url::Url;

/// How far off the clock the replayed callbacks are.
const SKEW_PROBE: u64 = 600;
/// How far off the clock the `window` case's callbacks are: past Tencent's 1-minute guidance,
/// short of the 10 minutes of the stale and future cases.
const WINDOW_PROBE: u64 = 90;

impl Suite {
    /// `callback` forged as `forgery` says, beside the genuine one.
    pub(super) async fn forged(
        &mut self,
        forgery: Forgery,
        callback: &'static Callback,
    ) -> Result<Outcome, TransportError> {
        let genuine = self.template(callback, &self.event);
        let now = self.now();
        let forged = match forgery {
            Forgery::WrongSdkAppid => {
                let event = Event {
                    sdkappid: self.event.sdkappid.wrapping_add(1),
                    ..self.event.clone()
                };
                Forged::refused(
                    self.template(callback, &event).url_at(now),
                    "a callback for another SdkAppid",
                    "accepted-wrong-sdkappid",
                )
            }
            Forgery::MissingSdkAppid => Forged::refused(
                genuine.url_without(param::SDK_APPID, now),
                "a callback without SdkAppid",
                "accepted-missing-sdkappid",
            ),
            Forgery::BadSign => {
                let forged_token = format!("{}-forged", self.token.as_deref().unwrap_or_default());
                Forged::refused(
                    genuine.clone().with_token(&forged_token).url_at(now),
                    "a Sign made with another token",
                    "accepted-bad-sign",
                )
            }
            Forgery::MissingSign => Forged::refused(
                genuine.clone().unsigned().url_at(now),
                "a callback without Sign",
                "accepted-missing-sign",
            ),
            Forgery::StaleRequestTime => Forged::refused(
                genuine.url_at(now.saturating_sub(SKEW_PROBE)),
                "a callback signed 10 minutes ago (a replay)",
                "accepted-stale-request-time",
            ),
            Forgery::FutureRequestTime => Forged::refused(
                genuine.url_at(now.saturating_add(SKEW_PROBE)),
                "a callback dated 10 minutes ahead",
                "accepted-future-request-time",
            ),
            Forgery::Window => {
                let ago = Forged::outside_guidance(
                    genuine.url_at(now.saturating_sub(WINDOW_PROBE)),
                    "a callback signed 90 s ago",
                );
                let ahead = Forged::outside_guidance(
                    genuine.url_at(now.saturating_add(WINDOW_PROBE)),
                    "a callback dated 90 s ahead",
                );
                let ago = self.refused(&genuine, ago).await?;
                return Ok(ago.and(self.refused(&genuine, ahead).await?));
            }
        };
        self.refused(&genuine, forged).await
    }

    /// A forged, replayed or misdirected callback must not be accepted, while the genuine one,
    /// sent just before it, is: a backend that refuses both proves nothing (protocol.md
    /// section 4), so that is inconclusive, never a pass.
    async fn refused(
        &mut self,
        genuine: &Template,
        forged: Forged,
    ) -> Result<Outcome, TransportError> {
        let what = forged.what;
        let (control, malformed) = match self.send(genuine, self.now()).await {
            Err(e) if !e.is_unreachable() => (None, None),
            answer => {
                let (control, malformed) = control_of(genuine, &answer?);
                (Some(control), malformed)
            }
        };
        // A before callback answered after Chat's budget goes ahead as if unanswered: a late
        // refusal refuses nothing, and a late acceptance of the genuine one is no acceptance.
        let before = genuine.callback.kind == Kind::Before;
        let in_time = |evidence: &Evidence| !before || evidence.latency_ms <= millis(BUDGET);
        let body = Bytes::from(genuine.body_bytes.clone());
        let forgery = match self.post(forged.url.clone(), body).await {
            Err(e) if !e.is_unreachable() => match e {
                TransportError::Broken(message) => Err(message),
                _ => {
                    let gets_through = if before {
                        "Chat gives up after 2 s and a before callback then goes ahead, so the forgery would get through"
                    } else {
                        "whether the backend acted on it is unknown"
                    };
                    let finding = Finding::error(
                        "no-refusal",
                        "latency",
                        format!(
                            "{what} got {}; {gets_through}: answer 401 or ActionStatus FAIL at once",
                            e.message()
                        ),
                    );
                    return Ok(Outcome::found(finding, None).with_control(control));
                }
            },
            answer => Ok(Evidence::of(&answer?)),
        };
        // A 5xx or broken HTTP refuses, but by the backend crashing on what it was sent.
        let (refusal, crashed) = match &forgery {
            Ok(forgery) if forgery.answer.accepted() => {
                let finding = forged.accepted(&forgery.answer);
                return Ok(Outcome::found(finding, Some(forgery.clone())).with_control(control));
            }
            Ok(forgery) if !in_time(forgery) => {
                let finding = Finding::error(
                    "refused-too-late",
                    "latency",
                    format!(
                        "refused {what} only after {:.0} ms: {}; Chat gives up after 2 s and a before callback then goes ahead, so the forgery would get through",
                        forgery.latency_ms, forgery.answer
                    ),
                );
                return Ok(Outcome::found(finding, Some(forgery.clone())).with_control(control));
            }
            Ok(forgery) => (forgery.answer.to_string(), forgery.answer.status >= 500),
            Err(message) => (message.clone(), true),
        };
        let evidence = forgery.ok();
        let outcome = match control
            .as_ref()
            .filter(|c| c.answer.accepted() && in_time(c))
        {
            Some(accepted) if crashed => Outcome::found(
                Finding::warning(
                    "refused-by-crashing",
                    "status",
                    format!(
                        "refused {what} by crashing: {refusal}; the genuine callback was accepted: {}; answer a forgery with 401 or ActionStatus FAIL, not a server error",
                        accepted.answer
                    ),
                ),
                evidence,
            ),
            Some(accepted) => Outcome::pass(
                format!(
                    "refused {what}: {refusal}; the genuine callback was accepted: {}",
                    accepted.answer
                ),
                evidence,
            ),
            None => Outcome::found(
                self.inconclusive(genuine.callback, control.as_ref(), malformed, what),
                evidence,
            ),
        };
        Ok(outcome.with_control(control))
    }

    /// Why a security case proves nothing: the genuine callback beside it was not accepted in
    /// time. Says what its answer showed and what to change: a malformed answer is fixed first,
    /// a command the backend says it does not handle is swapped for one it does, and a refusal
    /// of the values it was sent with is met by changing them.
    fn inconclusive(
        &self,
        callback: &Callback,
        control: Option<&Evidence>,
        malformed: Option<Finding>,
        what: &str,
    ) -> Finding {
        let proves_nothing = format!("so refusing {what} proves nothing");
        let message = match (control, malformed) {
            (None, _) => format!(
                "inconclusive: the genuine callback got no answer, {proves_nothing}; make the backend answer a genuine callback ({}), then run again",
                self.accepted_values(callback)
            ),
            (Some(c), _) if c.answer.accepted() => format!(
                "inconclusive: the genuine callback was accepted only after {:.0} ms, past Chat's 2 s budget, {proves_nothing}; make the backend answer within 2 s, then run again",
                c.latency_ms
            ),
            (Some(_), Some(finding)) => format!(
                "inconclusive: the genuine callback got an answer that does not conform ({finding}), {proves_nothing}; the security cases need a conforming answer to a genuine callback first (see {}/answer)",
                callback.name
            ),
            (Some(c), None) if says_unhandled(&c.answer) => format!(
                "inconclusive: the genuine callback was refused too: {}, which says {} is not handled, {proves_nothing}; pass --command with a callback the backend handles, or answer every authentic callback it does not handle with HTTP 200 {}: Chat sends every callback of an app to one URL",
                c.answer,
                callback.command,
                ok_answer()
            ),
            (Some(c), None) => format!(
                "inconclusive: the genuine callback was refused too: {}, {proves_nothing}; make the backend accept a genuine callback ({}), then run again",
                c.answer,
                self.accepted_values(callback)
            ),
        };
        Finding::error("inconclusive", "control", message)
    }

    /// The values `callback` was sent with, as options to change them by.
    fn accepted_values(&self, callback: &Callback) -> String {
        let mut options = vec![format!("--sdkappid {}", self.event.sdkappid)];
        options.extend(shown_options(callback, &self.event, self.clock.now_ms()));
        format!(
            "it was sent with {}{}",
            options.join(", "),
            if self.token.is_some() {
                " and the --token given"
            } else {
                " and no token"
            }
        )
    }
}

/// A forged request of a security case, and what its acceptance means.
struct Forged {
    url: Url,
    /// What it is, in the report's words: "a Sign made with another token".
    what: &'static str,
    /// The code of the finding when it is accepted.
    code: &'static str,
    severity: Severity,
    /// What to do about its acceptance.
    advice: &'static str,
}

impl Forged {
    /// A callback Chat never sends: accepting it fails the case.
    fn refused(url: Url, what: &'static str, code: &'static str) -> Self {
        Forged {
            url,
            what,
            code,
            severity: Severity::Error,
            advice: "answer a non-200 status, ActionStatus FAIL or ErrorCode 1",
        }
    }

    /// A callback past Tencent's 1-minute guidance on RequestTime but close to it: accepting
    /// it is a warning.
    fn outside_guidance(url: Url, what: &'static str) -> Self {
        Forged {
            url,
            what,
            code: "wide-window",
            severity: Severity::Warning,
            advice: "the window is wider than Tencent's 1-minute guidance: refuse a RequestTime more than 60 s from your clock",
        }
    }

    /// The finding when `answer` accepted it.
    fn accepted(&self, answer: &protocol::Evidence) -> Finding {
        Finding {
            severity: self.severity,
            code: self.code,
            path: "answer".to_owned(),
            message: format!("accepted {}: {answer}; {}", self.what, self.advice),
        }
    }
}

/// The genuine callback's answer, and its first error when it came with HTTP 200 but does not
/// conform: a malformed answer, told apart from a refusal (which has another status, or says
/// FAIL or an ErrorCode in the documented way). Lateness is said on its own, so it is no error
/// here.
fn control_of(genuine: &Template, exchange: &Exchange) -> (Evidence, Option<Finding>) {
    let reply = Reply {
        latency: None,
        ..exchange.reply()
    };
    let mut judgement = judge(genuine.callback, &genuine.subscribers, reply);
    let malformed = match exchange.status {
        200 => judgement.findings.iter().find(|f| f.is_error()).cloned(),
        _ => None,
    };
    (Evidence::judged(&mut judgement, exchange), malformed)
}

/// Words with which backends refuse a command they do not handle, in lower case.
const UNHANDLED: &[&str] = &[
    "unknown command",
    "unknown callback",
    "invalid command",
    "invalid callback command",
    "unsupported",
    "not supported",
    "unhandled",
    "not handled",
    "no handler",
    "not implemented",
    "unrecognized",
    "unrecognised",
];

/// Whether a refusal says that the command is not handled: HTTP 404 or 501, or an `ErrorInfo`
/// (or a body that is not JSON) in those words.
fn says_unhandled(answer: &protocol::Evidence) -> bool {
    if matches!(answer.status, 404 | 501) {
        return true;
    }
    let said = match &answer.body {
        Said::NotJson(text) => Some(text.as_str()),
        _ => answer.error_info(),
    };
    said.is_some_and(|said| {
        let said = said.to_lowercase();
        UNHANDLED.iter().any(|words| said.contains(words))
    })
}
