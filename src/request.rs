//! Turns the event options of `sample`, `send` and `check` into the request Chat would send.

use crate::cli::{BodyArgs, EventArgs};
use crate::error::{Error, Result};
use crate::protocol::{
    Callback, CallbackQuery, Finding, build_body, request_oddities, sign, subscribers_in,
};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use url::Url;

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
    /// or from `--body` when given. `now_ms` is the default EventTime.
    pub(crate) fn new(
        callback: &'static Callback,
        base: &Url,
        event: &EventArgs,
        body: Option<&BodyArgs>,
        token: Option<&str>,
        now_ms: i64,
    ) -> Result<Self> {
        let template = Template::from_event(callback, base, event, token, now_ms);
        match body.and_then(|b| b.body.as_deref()) {
            Some(path) => {
                let (body, bytes) = read_body(path)?;
                Ok(template.with_body(body, bytes))
            }
            None => Ok(template),
        }
    }

    /// Builds the template from the event options alone.
    pub(crate) fn from_event(
        callback: &'static Callback,
        base: &Url,
        event: &EventArgs,
        token: Option<&str>,
        now_ms: i64,
    ) -> Self {
        let seed = &callback.seed;
        let subscribers = if event.subscribers.is_empty() {
            seed.subscribers.iter().map(|s| s.to_string()).collect()
        } else {
            event.subscribers.clone()
        };
        let body = build_body(
            callback,
            event
                .official_account
                .as_deref()
                .unwrap_or(seed.official_account),
            event.operator.as_deref().unwrap_or(seed.operator_account),
            &subscribers,
            event.event_time.unwrap_or(now_ms),
        );
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
            subscribers,
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
        let query = CallbackQuery {
            callback_command: callback_command.to_owned(),
            signature: self
                .token
                .as_deref()
                .map(|token| (sign(token, request_time), request_time)),
            ..self.query.clone()
        };
        query.append_to(&self.base)
    }
}

/// The body from `--body`, parsed, and the bytes as they were read.
fn read_body(path: &Path) -> Result<(Value, Vec<u8>)> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::usage(format!("cannot read the body from stdin: {e}")))?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("cannot read --body {}: {e}", path.display()))
                .hint("give a readable JSON file, or - for stdin")
        })?;
        (path.display().to_string(), text)
    };
    let value = serde_json::from_str(&text).map_err(|e| {
        Error::usage(format!("--body {name} is not JSON: {e}"))
            .hint("see samples/ for bodies that Chat sends")
    })?;
    Ok((value, text.into_bytes()))
}
