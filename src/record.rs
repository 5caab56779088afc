//! The record format: what `serve --record` writes, one JSON object per line, and what `replay`
//! reads back. Versioned by its `v` field; every field is documented in the README ("The record
//! format"), and a change to what a field means is a new version. Whatever serve writes, replay
//! reads back: a body is kept as JSON only when any JSON reader takes it back.

use crate::protocol::{
    Callback, Decision, Evidence, Finding, Judgement, Rejection, Reply, judge, judge_broken,
    judge_no_answer, reads_back,
};
use base64::Engine as _;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::BufRead;
use std::time::Duration;

/// The version this oa-hook writes.
pub(crate) const VERSION: u64 = 2;

/// The versions this oa-hook reads: version 1 has no `sign` and no `base64` bodies, and kept
/// as JSON some bodies that JSON readers refuse (replay reads those too).
const READS: [u64; 2] = [1, VERSION];

/// The longest record line replay reads. Serve writes none longer: a body of at most 1 MiB
/// (as text, escaped, at most 6 MiB) and in tap mode an answer of at most as much.
pub(crate) const MAX_LINE_BYTES: usize = 16 << 20;

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

/// What an answer means, as the record keeps it and replay compares it: the decision Chat
/// takes, in data and in words, whether it accepts the callback, and the findings.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    /// `null` for a command oa-hook does not model (it cannot say what Chat does with it).
    pub decision: Option<Decision>,
    /// The decision in words; for a command oa-hook does not model, what the answer said.
    pub says: String,
    /// HTTP 200 with `ActionStatus` OK and `ErrorCode` 0.
    pub accepted: bool,
    pub findings: Vec<Finding>,
    /// The backend's own words (a non-empty `ErrorInfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_info: Option<String>,
}

/// What came back for a callback.
#[derive(Clone, Copy)]
pub(crate) enum Answered<'a> {
    Reply(Reply<'a>),
    /// Nothing within this long.
    Nothing(Duration),
    /// Broken HTTP, as the sentence says.
    Broken(&'a str),
}

impl Answered<'_> {
    /// Judges what came back for a callback of `callback` naming `subscribers`.
    pub(crate) fn judge(self, callback: &Callback, subscribers: &[String]) -> Judgement {
        match self {
            Answered::Reply(reply) => judge(callback, subscribers, reply),
            Answered::Nothing(waited) => judge_no_answer(callback, subscribers, waited),
            Answered::Broken(message) => judge_broken(callback, message),
        }
    }
}

impl Verdict {
    /// Judges what came back for a callback of `callback` (`None`: a command oa-hook does not
    /// model) naming `subscribers`, as `send` judges it.
    pub(crate) fn of(
        callback: Option<&Callback>,
        subscribers: &[String],
        answered: Answered<'_>,
    ) -> Self {
        let Some(callback) = callback else {
            let evidence = match answered {
                Answered::Reply(reply) => Some(Evidence::of(reply)),
                Answered::Nothing(_) | Answered::Broken(_) => None,
            };
            let says = match (answered, &evidence) {
                (Answered::Nothing(waited), _) => {
                    format!("no answer within {}", humantime::format_duration(waited))
                }
                (Answered::Broken(message), _) => message.to_owned(),
                (Answered::Reply(_), Some(evidence)) => evidence.to_string(),
                (Answered::Reply(_), None) => String::new(),
            };
            return Verdict {
                decision: None,
                says,
                accepted: evidence.as_ref().is_some_and(Evidence::accepted),
                findings: Vec::new(),
                error_info: evidence
                    .as_ref()
                    .and_then(Evidence::error_info)
                    .map(str::to_owned),
            };
        };
        // The judgement reads the answer once, evidence included.
        let Judgement {
            findings,
            decision,
            evidence,
        } = answered.judge(callback, subscribers);
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted: evidence.as_ref().is_some_and(Evidence::accepted),
            findings,
            error_info: evidence
                .as_ref()
                .and_then(Evidence::error_info)
                .map(str::to_owned),
        }
    }

    /// Judges the backend's `reply` to a request that is not authentic (refused by the
    /// receiver as `forgery` says): accepting it is a security failure (`forgery-accepted`);
    /// any refusal is right, whatever its shape, so the rules for answers to Chat do not apply.
    pub(crate) fn of_forgery(
        callback: Option<&Callback>,
        subscribers: &[String],
        reply: Reply<'_>,
        forgery: &Rejection,
    ) -> Self {
        let verdict = Verdict::of(callback, subscribers, Answered::Reply(reply));
        let evidence = Evidence::of(reply);
        if !verdict.accepted {
            return Verdict {
                says: format!("refused, as it should: {evidence}"),
                findings: Vec::new(),
                ..verdict
            };
        }
        let codes: Vec<&str> = forgery.findings.iter().map(|f| f.code).collect();
        let finding = Finding::error(
            FORGERY_ACCEPTED,
            "answer",
            format!(
                "a security failure: the backend accepted a callback that is not authentic ({}): {evidence}; it must refuse it (401, ActionStatus FAIL or ErrorCode 1), or anyone who can reach its URL can act as Chat",
                codes.join(", ")
            ),
        );
        Verdict {
            says: "accepted it".to_owned(),
            findings: vec![finding],
            ..verdict
        }
    }

    pub(crate) fn conforms(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
}

/// The finding of a backend that accepted a callback that is not authentic.
const FORGERY_ACCEPTED: &str = "forgery-accepted";

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

/// A [`Verdict`] as read back.
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

/// Whether a verdict now takes the same decision as the recorded one: the same kind, and the
/// same users subscribed and refused (in any order). Reasons in words may differ. For a command
/// oa-hook does not model, whether the answer accepts it.
pub(crate) fn same_decision(was: &RecordedVerdict, now: &Verdict) -> bool {
    match (&was.decision, &now.decision) {
        (None, None) => was.accepted == now.accepted,
        (Some(was), Some(now)) => {
            let was = serde_json::from_str::<Value>(was.get()).map(decision_key);
            let now = serde_json::to_value(now).map(decision_key);
            matches!((was, now), (Ok(was), Ok(now)) if was == now)
        }
        _ => false,
    }
}

/// A decision as data to compare: every field but the words (`reason`), with the users in
/// any order, so that a changed custom code, rewrite or refusal is a change.
fn decision_key(mut key: Value) -> Value {
    if let Some(fields) = key.as_object_mut() {
        fields.remove("reason");
        for field in ["subscribed", "refused"] {
            if let Some(Value::Array(users)) = fields.get_mut(field) {
                users.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_kept_as_json_only_when_that_gives_the_same_bytes() {
        let compact = br#"{"a":1,"b":[true]}"#;
        assert_eq!(Body::of(compact).format(), "json");
        assert_eq!(Body::exact(compact).format(), "json");
        for other in [&b"{\n  \"a\": 1\n}"[..], b" {}", b"not json", b""] {
            assert_eq!(Body::of(other).format(), "text", "{other:?}");
            assert_eq!(Body::exact(other).format(), "text", "{other:?}");
        }
        assert_eq!(Body::of(b"\xff\xfe").format(), "text");
        assert_eq!(Body::exact(b"\xff\xfe").format(), "base64");
    }

    #[test]
    fn json_that_readers_refuse_is_kept_as_text() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for refused in [
            r#"{"x":1e400}"#.to_owned(),
            "-1e400".to_owned(),
            format!("1{}", "0".repeat(400)),
            r#"{"x":"\ud800"}"#.to_owned(),
            r#"{"\udfff":1}"#.to_owned(),
            deep(127),
            deep(200),
        ] {
            assert!(!reads_back(&refused, 1), "{refused}");
            assert_eq!(
                Body::exact(refused.as_bytes()).format(),
                "text",
                "{refused}"
            );
        }
        for taken in [
            r#"{"x":1e300,"y":-1e-400,"z":18446744073709551616}"#.to_owned(),
            r#"{"x":"\ud83d\ude00"}"#.to_owned(),
            deep(126),
        ] {
            assert!(reads_back(&taken, 1), "{taken}");
            assert_eq!(Body::exact(taken.as_bytes()).format(), "json", "{taken}");
        }
        // The deepest body kept as JSON leaves its record line within serde_json's own limit.
        let line = format!("{{\"body\":{}}}", deep(126));
        assert!(serde_json::from_str::<Value>(&line).is_ok());
        let line = format!("{{\"body\":{}}}", deep(127));
        assert!(serde_json::from_str::<Value>(&line).is_err());
    }

    /// A verdict as the record kept it.
    fn was(decision: Value) -> RecordedVerdict {
        RecordedVerdict {
            decision: RawValue::from_string(decision.to_string()).ok(),
            says: String::new(),
            accepted: true,
            findings: Vec::new(),
            error_info: None,
        }
    }

    /// A verdict as replay reaches it now.
    fn now(decision: Decision) -> Verdict {
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted: true,
            findings: Vec::new(),
            error_info: None,
        }
    }

    #[test]
    fn decisions_compare_by_kind_and_users_not_words() {
        let subscribes = |subscribed: &[&str], refused: &[&str]| Decision::Subscribes {
            subscribed: subscribed.iter().map(|u| (*u).to_owned()).collect(),
            refused: refused.iter().map(|u| (*u).to_owned()).collect(),
        };
        let recorded = serde_json::to_value(subscribes(&["a", "b"], &["c"])).unwrap();
        assert!(same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["b", "a"], &["c"]))
        ));
        assert!(!same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["a"], &["b", "c"]))
        ));
        assert!(!same_decision(&was(recorded), &now(Decision::RejectsAll)));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.into(),
        };
        assert!(same_decision(
            &was(serde_json::to_value(undocumented("in 5 ms")).unwrap()),
            &now(undocumented("in 7 ms"))
        ));
    }

    /// What [`Lines`] makes of `text`: each line's number, and its record's command or why not.
    fn lines(text: &[u8]) -> Vec<(usize, String)> {
        Lines::new(text)
            .map(|line| {
                let (number, line) = line.unwrap();
                let said = match line {
                    Line::Record(record) => record.command.unwrap_or_default(),
                    Line::Invalid(why) => why,
                    Line::Cut => "cut".to_owned(),
                };
                (number, said)
            })
            .collect()
    }

    const V1: &str = r#"{"v":1,"time":null,"command":"before-subscribe","valid":true,"query":{},"body":{"x":1e400},"body_format":"json","judgement":{"decision":null,"says":"","accepted":true}}"#;

    #[test]
    fn lines_of_another_version_or_not_json_are_named() {
        let v3 = V1.replace(r#"{"v":1,"#, r#"{"v":3,"#);
        let text = [
            format!("{V1}\n\n{{\n[1]\n{v3}\n{{\"time\":\"x\"}}\n{{\"v\":1,\"valid\":true}}\n")
                .as_bytes(),
            b"\xff\n",
            "x".repeat(MAX_LINE_BYTES + 1).as_bytes(),
            format!("\n{V1}\r\n{{\"v\":2,").as_bytes(),
        ]
        .concat();
        let said = lines(&text);
        let expected: Vec<(usize, &str)> = vec![
            (1, "before-subscribe"),
            (
                3,
                "not JSON (EOF while parsing an object at line 1 column 1)",
            ),
            (4, "not a JSON object, so not a record"),
            (
                5,
                "a record of version 3; this oa-hook reads versions 1 and 2",
            ),
            (
                6,
                "no version field `v`: not a record of version 1 or 2 (written by an older oa-hook, or not a record)",
            ),
            (
                7,
                "not a record of version 1: missing field `query` at line 1 column 20",
            ),
            (8, "not UTF-8 text, so not a record"),
            (9, "longer than 16 MiB, so not a line serve writes"),
            (10, "before-subscribe"),
            (11, "cut"),
        ];
        let said: Vec<(usize, &str)> = said.iter().map(|(n, s)| (*n, s.as_str())).collect();
        assert_eq!(said, expected);
        // A last line without its newline is read when it is whole.
        assert_eq!(lines(V1.as_bytes()), [(1, "before-subscribe".to_owned())]);
        assert!(lines(b"\n \n").is_empty());
    }

    #[test]
    fn a_version_1_body_that_readers_refuse_is_read_back_byte_for_byte() {
        let record = Recorded::read(V1).unwrap();
        assert_eq!(record.body.as_deref(), Some(&br#"{"x":1e400}"#[..]));
        assert_eq!(record.sign, None);
        let v2 = V1.replace(r#"{"v":1,"#, r#"{"v":2,"sign":null,"#).replace(
            r#""body":{"x":1e400},"body_format":"json""#,
            r#""body":"//4=","body_format":"base64""#,
        );
        let record = Recorded::read(&v2).unwrap();
        assert_eq!(record.body.as_deref(), Some(&b"\xff\xfe"[..]));
        assert_eq!(record.sign, Some(None));
        let wrong = v2.replace(r#""//4=""#, "1");
        assert_eq!(
            Recorded::read(&wrong).unwrap_err(),
            "`body` is not base64, as `body_format` \"base64\" says"
        );
    }

    #[test]
    fn a_changed_code_or_rewrite_is_a_changed_decision_and_words_are_not() {
        let refuses = |code| Decision::RefusesMessage {
            error_code: code,
            caller_code: code,
        };
        let recorded = serde_json::to_value(refuses(120001)).unwrap();
        assert!(same_decision(&was(recorded.clone()), &now(refuses(120001))));
        assert!(!same_decision(&was(recorded), &now(refuses(120002))));
        let rewrite = |text: &str| Decision::SendsRewritten {
            msg_body: None,
            cloud_custom_data: Some(text.to_owned()),
        };
        let recorded = serde_json::to_value(rewrite("hello")).unwrap();
        assert!(!same_decision(&was(recorded), &now(rewrite("different"))));
        let subscribes = |users: [&str; 2]| Decision::Subscribes {
            subscribed: users.map(str::to_owned).to_vec(),
            refused: Vec::new(),
        };
        let recorded = serde_json::to_value(subscribes(["a", "b"])).unwrap();
        assert!(same_decision(&was(recorded), &now(subscribes(["b", "a"]))));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.to_owned(),
        };
        let recorded = serde_json::to_value(undocumented("old words")).unwrap();
        assert!(same_decision(
            &was(recorded),
            &now(undocumented("new words"))
        ));
    }
}
