//! Turns the event options of `sample`, `send` and `check` into the request Chat would send.

use crate::error::{Error, Result};
use crate::local::Bounded;
use crate::protocol::{
    Callback, CallbackQuery, EventValue, EventValues, Finding, MAX_BODY_BYTES, build_body,
    request_oddities, sign, subscribers_in,
};
use serde_json::Value;

mod fields;

pub(crate) use fields::{
    EVENT_OPTIONS, EventFields, EventOption, Given, MSG_KEY, SUBSCRIBER, Slot, applying_to,
};
use std::net::IpAddr;
use std::path::Path;
use url::Url;

/// The values that make up a callback, in plain terms (the event options of `sample`, `send`,
/// `check` and a scenario). A field not given: the sample on Tencent's page.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub sdkappid: u64,
    pub fields: EventFields,
    pub event_time: Option<i64>,
    pub client_ip: IpAddr,
    pub platform: String,
    /// The options given where a value is meant for this command alone (the command line, a
    /// scenario): refused where the command's body has no such field.
    pub given: Vec<&'static EventOption>,
}

/// Everything about a callback request except its RequestTime, so each send can sign afresh.
#[derive(Clone)]
pub(crate) struct Template {
    pub callback: &'static Callback,
    pub base: Url,
    pub query: CallbackQuery,
    pub body: Value,
    /// The body as sent, built once: compact JSON, or the `--body` file as read.
    pub body_bytes: Vec<u8>,
    /// The subscribers in the body, to judge refusals against.
    pub subscribers: Vec<String>,
    token: Option<String>,
}

/// One request, ready to print or send.
#[derive(Clone, Debug)]
pub(crate) struct CallbackRequest {
    pub url: Url,
    pub body: Value,
}

pub(crate) const CONTENT_TYPE: &str = "application/json";

impl Template {
    /// Builds the template from the event options (seed values where an option is absent),
    /// or from `--body` when given. `now_ms` is the default EventTime. An option given on the
    /// command line for a field the command's body does not carry is a usage error.
    pub(crate) fn new(
        callback: &'static Callback,
        base: &Url,
        event: &Event,
        body: Option<&Path>,
        token: Option<&str>,
        now_ms: i64,
    ) -> Result<Self> {
        check_options(callback, event)?;
        let template = Template::from_event(callback, base, event, token, now_ms);
        match body {
            Some(path) => {
                let (body, bytes) = read_body(path)?;
                Ok(template.with_body(body, bytes))
            }
            None => Ok(template),
        }
    }

    /// Builds the template from the event options alone; each is used where the command's
    /// body has its field.
    pub(crate) fn from_event(
        callback: &'static Callback,
        base: &Url,
        event: &Event,
        token: Option<&str>,
        now_ms: i64,
    ) -> Self {
        let values = event_values(callback, event, now_ms);
        let body = build_body(callback, &values);
        Template {
            callback,
            base: base.clone(),
            query: CallbackQuery {
                sdk_appid: event.sdkappid,
                callback_command: callback.command.to_owned(),
                client_ip: event.client_ip.to_string(),
                opt_platform: event.platform.clone(),
                signature: None,
            },
            body_bytes: serde_json::to_vec(&body).unwrap_or_default(),
            subscribers: values.subscribers,
            body,
            token: token.map(str::to_owned),
        }
    }

    /// The same request with another body (`--body`), sent byte for byte as read: a user who
    /// hands over a file means that exact text, whitespace, key order and all.
    fn with_body(self, body: Value, bytes: Vec<u8>) -> Self {
        Template {
            body_bytes: bytes,
            subscribers: subscribers_in(&body),
            body,
            ..self
        }
    }

    /// Signs with `token` instead (the suite forges Signs this way).
    pub(crate) fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// What is odd about this request's body: errors for what Chat would never send (a
    /// `--body` for another command, fields missing or mistyped), warnings for what it would
    /// hardly send (no subscribers, one named twice, a negative EventTime, ...).
    pub(crate) fn oddities(&self) -> Vec<Finding> {
        request_oddities(self.callback, &self.body, &self.body_bytes)
    }

    pub(crate) fn is_signed(&self) -> bool {
        self.token.is_some()
    }

    /// Stops signing (`--no-sign`).
    pub(crate) fn unsigned(mut self) -> Self {
        self.token = None;
        self
    }

    /// The request as sent at `request_time` (Unix seconds), signed if there is a token.
    pub(crate) fn at(&self, request_time: u64) -> CallbackRequest {
        CallbackRequest {
            url: self.url_at(request_time),
            body: self.body.clone(),
        }
    }

    /// The URL as sent at `request_time`, signed if there is a token.
    pub(crate) fn url_at(&self, request_time: u64) -> Url {
        self.url_for(&self.query.callback_command, request_time)
    }

    /// The URL of a callback with the same query but another command word (another module's,
    /// which Chat sends to the same URL), as sent at `request_time`.
    pub(crate) fn url_for(&self, callback_command: &str, request_time: u64) -> Url {
        self.query_at(callback_command, request_time)
            .append_to(&self.base)
    }

    /// The URL as sent at `request_time` but without the parameter `name`, which Chat always
    /// sends (the suite leaves `SdkAppid` out this way).
    pub(crate) fn url_without(&self, name: &str, request_time: u64) -> Url {
        let pairs = self
            .query_at(&self.query.callback_command, request_time)
            .pairs()
            .into_iter()
            .filter(|(param, _)| *param != name);
        let mut url = self.base.clone();
        url.query_pairs_mut().extend_pairs(pairs);
        url
    }

    fn query_at(&self, callback_command: &str, request_time: u64) -> CallbackQuery {
        CallbackQuery {
            callback_command: callback_command.to_owned(),
            signature: self
                .token
                .as_deref()
                .map(|token| (sign(token, request_time), request_time)),
            ..self.query.clone()
        }
    }
}

/// Refuses an option given on the command line that `callback`'s body has no field for, and
/// several `--msg-key`s for a body that carries one.
fn check_options(callback: &Callback, event: &Event) -> Result<()> {
    let name = callback.name;
    let foreign = EVENT_OPTIONS
        .iter()
        .filter(|option| event.given.contains(option))
        .find(|option| !option.applies_to(callback));
    if let Some(option) = foreign {
        let flags: Vec<String> = applying_to(callback).map(|o| o.to_string()).collect();
        return Err(Error::usage(format!(
            "{option} does not apply to {name}: its body has no such field"
        ))
        .hint(format!(
            "{name} takes {}, --event-time and --body; see its body with `oa-hook sample {name} --format body`",
            flags.join(", ")
        )));
    }
    if let Some(Given::Texts(keys)) = event.fields.get(MSG_KEY)
        && keys.len() > 1
        && callback.body.carries(EventValue::MsgKey)
    {
        return Err(Error::usage(format!(
            "{name} carries one MsgKey, and {MSG_KEY} was given {} times",
            keys.len()
        ))
        .hint(format!(
            "give {MSG_KEY} once; several are for after-withdraw"
        )));
    }
    Ok(())
}

/// The values of `callback`'s body: the options given, else Tencent's sample's; EventTime
/// `now_ms` unless given.
fn event_values(callback: &Callback, event: &Event, now_ms: i64) -> EventValues {
    let mut values = EventValues::seed(callback, event.event_time.unwrap_or(now_ms));
    event.fields.apply(&mut values);
    values
}

/// The values a callback was sent with, as the options that set them: `--operator 107867,
/// --subscriber jared, leckie`.
pub(crate) fn shown_options(callback: &Callback, event: &Event, now_ms: i64) -> Vec<String> {
    fields::shown(callback, &event_values(callback, event, now_ms))
}

/// The body from `--body` (or a scenario's `body`), parsed, and the bytes as they were read: at
/// most [`MAX_BODY_BYTES`], the most Chat's receivers read, from a file or stdin (`-`).
fn read_body(path: &Path) -> Result<(Value, Vec<u8>)> {
    let stdin = path == Path::new("-");
    let name = if stdin {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let bounded = Bounded {
        what: &format!("--body {name}"),
        limit: MAX_BODY_BYTES,
        hint: "give a readable JSON file of at most 1 MiB (a callback body is a few KiB), or - for stdin",
    };
    let bytes = if stdin {
        bounded.take(std::io::stdin().lock())?
    } else {
        bounded.read(path)?
    };
    let value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::usage(format!("--body {name} is not JSON: {e}"))
            .hint("see samples/ for bodies that Chat sends")
    })?;
    Ok((value, bytes))
}
