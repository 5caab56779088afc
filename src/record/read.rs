//! Reading a record back, one line at a time, as replay does.

use super::{MAX_LINE_BYTES, READS};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::BufRead;

/// One line of a record, as replay reads it (the fields it needs; the others are for people).
#[derive(Debug)]
pub(crate) struct Recorded {
    pub time: Option<String>,
    /// The short name, or the command word as received.
    pub command: Option<String>,
    pub operator: Option<String>,
    pub subscribers: Vec<String>,
    pub valid: bool,
    /// What serve found in the request: the errors it was refused for, or its warnings.
    pub findings: Vec<RecordedFinding>,
    /// Without `Sign` and `RequestTime`, in the order received.
    pub query: serde_json::Map<String, Value>,
    /// The `RequestTime` received.
    pub request_time: Option<String>,
    /// The `Sign` received (`Some(None)`: none was); `None` when the record did not keep it
    /// (version 1, or a line it was taken out of).
    pub sign: Option<Option<String>>,
    /// The body to send again, byte for byte; `None` when the record did not keep it.
    pub body: Option<Vec<u8>>,
    pub judgement: RecordedVerdict,
}

/// A record line as written, before its body is decoded.
#[derive(Deserialize)]
struct Written<'a> {
    time: Option<String>,
    command: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    subscribers: Vec<String>,
    valid: bool,
    #[serde(default)]
    findings: Vec<RecordedFinding>,
    query: serde_json::Map<String, Value>,
    #[serde(default)]
    request_time: Option<String>,
    #[serde(default, deserialize_with = "kept")]
    sign: Option<Option<String>>,
    #[serde(borrow)]
    body: &'a RawValue,
    body_format: BodyFormat,
    judgement: RecordedVerdict,
}

/// A field that may be `null`, told apart from one that is absent (`None`).
fn kept<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BodyFormat {
    Json,
    Text,
    Base64,
    Omitted,
}

/// A [`Verdict`](super::Verdict) as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct RecordedVerdict {
    /// Read when compared: a decision may hold a rewrite as deep as the answer it came from.
    pub decision: Option<Box<RawValue>>,
    pub says: String,
    pub accepted: bool,
    #[serde(default)]
    pub findings: Vec<RecordedFinding>,
    #[serde(default)]
    pub error_info: Option<String>,
}

impl RecordedVerdict {
    /// No errors among the recorded findings.
    pub(crate) fn conforms(&self) -> bool {
        !self.findings.iter().any(RecordedFinding::is_error)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordedFinding {
    pub severity: String,
    pub code: String,
    #[serde(default)]
    pub path: String,
}

impl RecordedFinding {
    pub(crate) fn is_error(&self) -> bool {
        self.severity == "error"
    }
}

impl Recorded {
    /// Reads one line of a record of any version this oa-hook reads; why not, in words.
    pub(crate) fn read(line: &str) -> Result<Recorded, String> {
        /// Just the version, whatever else the line holds.
        #[derive(Deserialize)]
        struct Versioned<'a> {
            #[serde(borrow)]
            v: Option<&'a RawValue>,
        }
        if !line.trim_start().starts_with('{') {
            return Err(match serde_json::from_str::<de::IgnoredAny>(line) {
                Err(e) => format!("not JSON ({e})"),
                Ok(_) => "not a JSON object, so not a record".to_owned(),
            });
        }
        let versioned = serde_json::from_str::<Versioned>(line).map_err(|e| {
            if e.is_data() {
                format!("not a record ({e})")
            } else {
                format!("not JSON ({e})")
            }
        })?;
        let Some(v) = versioned.v else {
            return Err(
                "no version field `v`: not a record of version 1 or 2 (written by an older oa-hook, or not a record)".to_owned(),
            );
        };
        if !READS.iter().any(|known| v.get() == known.to_string()) {
            return Err(format!(
                "a record of version {}; this oa-hook reads versions 1 and 2",
                v.get()
            ));
        }
        let written = serde_json::from_str::<Written>(line)
            .map_err(|e| format!("not a record of version {}: {e}", v.get()))?;
        let body = written.body.get();
        let body = match written.body_format {
            BodyFormat::Json => Some(body.as_bytes().to_vec()),
            BodyFormat::Text => Some(
                serde_json::from_str::<String>(body)
                    .map_err(|_| "`body` is not a string, as `body_format` \"text\" says")?
                    .into_bytes(),
            ),
            BodyFormat::Base64 => Some(
                serde_json::from_str::<String>(body)
                    .ok()
                    .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                    .ok_or("`body` is not base64, as `body_format` \"base64\" says")?,
            ),
            BodyFormat::Omitted => None,
        };
        Ok(Recorded {
            time: written.time,
            command: written.command,
            operator: written.operator,
            subscribers: written.subscribers,
            valid: written.valid,
            findings: written.findings,
            query: written.query,
            request_time: written.request_time,
            sign: written.sign,
            body,
            judgement: written.judgement,
        })
    }

    /// The query parameters, in the order received; a parameter repeated is a list of its
    /// values (values that are not strings are skipped: a record only ever holds strings).
    pub(crate) fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().flat_map(|(name, value)| {
            let values = match value {
                Value::Array(values) => values.as_slice(),
                one => std::slice::from_ref(one),
            };
            values
                .iter()
                .filter_map(move |value| Some((name.as_str(), value.as_str()?)))
        })
    }
}

/// What one line of a record holds.
#[derive(Debug)]
pub(crate) enum Line {
    Record(Box<Recorded>),
    /// Not a record this oa-hook reads, and why.
    Invalid(String),
    /// The last line, without its newline and not whole: cut short as it was written (serve
    /// killed mid-line, or the disk full).
    Cut,
}

/// The lines of a record, read one at a time: memory holds one line, of at most
/// [`MAX_LINE_BYTES`], whatever the size of the record. Blank lines are skipped.
pub(crate) struct Lines<R> {
    reader: R,
    number: usize,
    buffer: Vec<u8>,
    /// The rest of a line over [`MAX_LINE_BYTES`] is still to be read past.
    rest_of_long_line: bool,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Lines {
            reader,
            number: 0,
            buffer: Vec::new(),
            rest_of_long_line: false,
        }
    }

    /// The next line into the buffer: whether it ended with a newline, or `None` at the end.
    /// A line longer than [`MAX_LINE_BYTES`] is given as soon as it is known to be, with its
    /// first bytes (its rest is read past, without keeping it, only if another line is asked
    /// for: a source without newlines such as `/dev/zero` is never read to its end).
    fn next_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buffer.clear();
        if self.rest_of_long_line {
            self.rest_of_long_line = false;
            while self.consume_until_newline(false)? == Some(false) {}
        }
        let mut started = false;
        loop {
            match self.consume_until_newline(true)? {
                None => return Ok(started.then_some(false)),
                Some(ended) => {
                    started = true;
                    if self.buffer.len() > MAX_LINE_BYTES {
                        self.rest_of_long_line = !ended;
                        return Ok(Some(ended));
                    }
                    if ended {
                        return Ok(Some(true));
                    }
                }
            }
        }
    }

    /// Reads what the reader has at hand, up to a newline, into the buffer when `keep`:
    /// whether the newline came (`Some(true)`), or `None` at the end.
    fn consume_until_newline(&mut self, keep: bool) -> std::io::Result<Option<bool>> {
        let available = loop {
            match self.reader.fill_buf() {
                Ok(available) => break available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if available.is_empty() {
            return Ok(None);
        }
        let newline = memchr::memchr(b'\n', available);
        let part = &available[..newline.unwrap_or(available.len())];
        if keep {
            let room = (MAX_LINE_BYTES + 1).saturating_sub(self.buffer.len());
            self.buffer.extend_from_slice(&part[..part.len().min(room)]);
        }
        let used = part.len() + usize::from(newline.is_some());
        self.reader.consume(used);
        Ok(Some(newline.is_some()))
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// The line's number (from 1) and what it holds.
    type Item = std::io::Result<(usize, Line)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let ended = match self.next_line() {
                Ok(Some(ended)) => ended,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            self.number += 1;
            let line = if self.buffer.len() > MAX_LINE_BYTES {
                Line::Invalid(format!(
                    "longer than {}, so not a line serve writes",
                    crate::local::size(MAX_LINE_BYTES)
                ))
            } else {
                let bytes = self.buffer.strip_suffix(b"\r").unwrap_or(&self.buffer);
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => match Recorded::read(text) {
                        Ok(record) => Line::Record(Box::new(record)),
                        // Only a line cut short is not JSON and has no newline.
                        Err(_)
                            if !ended && serde_json::from_str::<de::IgnoredAny>(text).is_err() =>
                        {
                            Line::Cut
                        }
                        Err(why) => Line::Invalid(why),
                    },
                    Err(_) if !ended => Line::Cut,
                    Err(_) => Line::Invalid("not UTF-8 text, so not a record".to_owned()),
                }
            };
            return Some(Ok((self.number, line)));
        }
    }
}
