//! Writing a record: how a body is kept.

use crate::protocol::reads_back;
use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A body (of a request, or of an answer passed on by the tap) as the record keeps it: its JSON
/// exactly as received when it is JSON on one line (as Chat sends it) that any JSON reader takes
/// back, else its text, else (not UTF-8) its bytes in base64, so that replay sends the same
/// bytes. Borrowed where it can be: recording copies no body of a callback.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Body<'a> {
    Json(&'a RawValue),
    Text(Cow<'a, str>),
    Base64(String),
    /// Not kept (a large body of a refused request).
    Omitted,
}

impl<'a> Body<'a> {
    /// A request's body, kept to be sent again byte for byte.
    pub(crate) fn exact(bytes: &'a [u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => json(text).map_or(Body::Text(Cow::Borrowed(text)), Body::Json),
            Err(_) => Body::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
    }

    /// A body to show (the tap's answer): as [`Body::exact`], but text that is not UTF-8 is
    /// shown with its bad bytes replaced, as nothing sends it again.
    pub(crate) fn of(bytes: &'a [u8]) -> Self {
        match String::from_utf8_lossy(bytes) {
            Cow::Borrowed(text) => json(text).map_or(Body::Text(Cow::Borrowed(text)), Body::Json),
            owned => Body::Text(owned),
        }
    }

    /// How to read `body` back (`body_format`).
    pub(crate) fn format(&self) -> &'static str {
        match self {
            Body::Json(_) => "json",
            Body::Text(_) => "text",
            Body::Base64(_) => "base64",
            Body::Omitted => "omitted",
        }
    }
}

/// `text` as JSON to write as it is in a record line: one line, no spaces around it (they would
/// be lost), and nothing a JSON reader refuses to take back.
fn json(text: &str) -> Option<&RawValue> {
    if text.bytes().any(|b| b == b'\n' || b == b'\r') {
        return None;
    }
    let raw = serde_json::from_str::<&RawValue>(text).ok()?;
    // The body is one level down in its record line.
    (raw.get().len() == text.len() && reads_back(text, 1)).then_some(raw)
}
