//! Writing a record: one line per request serve answered, and how its body is kept.

use super::{REFUSED_BODY_KEPT, VERSION};
use crate::compact;
use crate::protocol::{Received, ReceivedBody, ReceivedQuery, param, reads_back};
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
    /// JSON text, checked: written as it is.
    Json(#[serde(serialize_with = "compact::verbatim")] &'a str),
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
fn json(text: &str) -> Option<&str> {
    if text.bytes().any(|b| b == b'\n' || b == b'\r') {
        return None;
    }
    let raw = serde_json::from_str::<&RawValue>(text).ok()?;
    // The body is one level down in its record line.
    (raw.get().len() == text.len() && reads_back(text, 1)).then_some(text)
}

/// The request's body as recorded: whole for a valid callback, to be replayed; a refused one
/// only when it is small, so that no input makes a large record line.
fn recorded_body<'a>(received: &Received, bytes: &'a [u8]) -> Body<'a> {
    if received.verdict.is_err() && bytes.len() > REFUSED_BODY_KEPT {
        Body::Omitted
    } else {
        Body::exact(bytes)
    }
}

/// One `--record` line (format version [`VERSION`], documented in the README): the event
/// (serve's, an object), then the request as received: the query without `Sign` and
/// `RequestTime`, which come apart (`request_time`, `sign`) so that replay signs afresh unless
/// told to replay them as they came (`replay --as-recorded`, a replay attack); the token itself
/// is never known here.
pub(crate) struct RecordLine<'a, E> {
    pub(crate) event: &'a E,
    /// Serve's own answer judged (in tap mode the event carries the backend's).
    pub(crate) judgement: Option<&'a RawValue>,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// Every parameter but `Sign` and `RequestTime`.
    pub(crate) query: &'a ReceivedQuery<'a>,
    pub(crate) body: Body<'a>,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    pub(crate) body_bytes: usize,
    /// Whether to keep the `Sign` (`serve --record-sign`): with its RequestTime it lets whoever
    /// holds the record test guesses at the token offline, so it is kept only when asked for.
    pub(crate) keep_sign: bool,
}

impl<'a, E: Serialize> RecordLine<'a, E> {
    pub(crate) fn new(
        event: &'a E,
        method: &'a str,
        path: &'a str,
        query: &'a ReceivedQuery<'a>,
        received: &Received,
        bytes: &'a [u8],
    ) -> Self {
        // The body of a valid callback just read as exactly its command's JSON is kept as it
        // came, without reading it again, nor asking whether readers take it back. A refused
        // one is not trusted so: what is given of it may be cut short (the inspector keeps the
        // start of a large one).
        let exact = (received.verdict.is_ok() && matches!(received.body, ReceivedBody::Exact))
            .then(|| one_line_json(bytes))
            .flatten();
        RecordLine {
            event,
            judgement: None,
            method,
            path,
            query,
            body: exact.map_or_else(|| recorded_body(received, bytes), Body::Json),
            body_bytes: bytes.len(),
            keep_sign: false,
        }
    }

    /// The line, without its newline.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(128);
        self.write_json(&mut line);
        line
    }

    /// Writes the line, without its newline, into `line` (empty), whose room the caller chose.
    pub(crate) fn write_json(&self, line: &mut Vec<u8>) {
        let request = Request {
            judgement: self.judgement,
            method: self.method,
            path: self.path,
            query: Query(self.query),
            request_time: self.query.get(param::REQUEST_TIME),
            sign: self.keep_sign.then(|| self.query.get(param::SIGN)),
            body: &self.body,
            body_format: self.body.format(),
            body_bytes: self.body_bytes,
        };
        // One object: `v`, then the event's fields and the request's, each object written
        // whole and its braces taken off (as `#[serde(flatten)]` would write them, at a
        // fraction of the cost: it writes every field through a map's key and value).
        line.extend_from_slice(b"{\"v\":");
        line.extend_from_slice(itoa::Buffer::new().format(VERSION).as_bytes());
        let event = line.len();
        let written = compact::write(line, self.event).and_then(|()| {
            match &line[event..] {
                // As `#[serde(flatten)]` takes them: no fields, or none at all.
                b"{}" | b"null" => line.truncate(event),
                [b'{', .., b'}'] => {
                    line[event] = b',';
                    line.pop();
                }
                _ => return Err(serde::ser::Error::custom("an event is an object")),
            }
            let fields = line.len();
            compact::write(line, &request)?;
            line[fields] = b',';
            Ok(())
        });
        if written.is_err() {
            line.clear();
        }
    }
}

/// The request's part of a record line, after the event's fields, in this order.
#[derive(Serialize)]
struct Request<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    judgement: Option<&'a RawValue>,
    method: &'a str,
    path: &'a str,
    query: Query<'a>,
    request_time: Option<&'a str>,
    /// `Some(None)`: kept, and there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    sign: Option<Option<&'a str>>,
    body: &'a Body<'a>,
    body_format: &'static str,
    body_bytes: usize,
}

/// `{"SdkAppid":"88888888",...}`: the parameters as received, in order. A name that comes more
/// than once (Chat's never do; a forger's may) keeps every value, in order, in an array where
/// the name first came, so that replay sends them all.
/// Read from the query as received, not copied out of it first (a copy cost an allocation).
struct Query<'a>(&'a ReceivedQuery<'a>);

impl Serialize for Query<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs = self.0.without_signature();
        if repeats_a_name(pairs.clone()) {
            let mut grouped = serde_json::Map::new();
            for (name, value) in pairs {
                match grouped.get_mut(name) {
                    Some(serde_json::Value::Array(values)) => values.push(value.into()),
                    Some(first) => {
                        *first = serde_json::Value::Array(vec![first.take(), value.into()]);
                    }
                    None => {
                        grouped.insert(name.to_owned(), value.into());
                    }
                }
            }
            return grouped.serialize(serializer);
        }
        serializer.collect_map(pairs)
    }
}

/// Whether a name comes more than once in `pairs`: Chat's few parameters are compared with
/// each other, without the copy and sort (~0.5k instructions a line) a long query takes.
fn repeats_a_name<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> bool {
    let names = pairs.map(|(name, _)| name);
    if names.clone().nth(16).is_none() {
        return names
            .clone()
            .enumerate()
            .any(|(i, name)| names.clone().take(i).any(|before| before == name));
    }
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names.windows(2).any(|two| two[0] == two[1])
}

/// `bytes` as text when it is JSON already read whole (the caller knows) that the record can
/// keep as it is: one line, no spaces around it, as [`Body::exact`] would keep it.
fn one_line_json(bytes: &[u8]) -> Option<&str> {
    let spaced = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b' ' | b'\t'));
    if spaced(bytes.first())
        || spaced(bytes.last())
        || memchr::memchr2(b'\n', b'\r', bytes).is_some()
    {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_body_is_kept_as_body_of_keeps_it() {
        // Bodies that are JSON, as the caller of one_line_json guarantees.
        let bodies: [&[u8]; 8] = [
            br#"{"a":1}"#,
            br#"{"a":"x\ny","b":[1, 2]}"#,
            b" {\"a\":1}",
            b"{\"a\":1} ",
            b"\t{\"a\":1}",
            b"{\"a\":\n1}",
            b"{\"a\":1}\r\n",
            "{\"ü\":\"é\"}".as_bytes(),
        ];
        for body in bodies {
            match (one_line_json(body), Body::exact(body)) {
                (Some(text), Body::Json(json)) => assert_eq!(text, json),
                (None, Body::Text(_)) => {}
                (kept, _) => panic!(
                    "{:?}: one_line_json says {kept:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
    }

    #[test]
    fn a_repeated_query_parameter_keeps_every_value_in_order() {
        let written = |query: &str| {
            let query = ReceivedQuery::parse(query);
            serde_json::to_string(&Query(&query)).unwrap()
        };
        assert_eq!(written("a=1&b=%22"), r#"{"a":"1","b":"\""}"#);
        assert_eq!(written(""), "{}");
        // Past the names compared one with another: sorted.
        let many: Vec<String> = (0..20).map(|n| format!("p{n}={n}")).collect();
        for repeated in [false, true] {
            let query = many.join("&") + if repeated { "&p3=again" } else { "" };
            let line = written(&query);
            assert_eq!(line.contains(r#""p3":["3","again"]"#), repeated, "{line}");
        }
        // Among them: the last name again at each place before it.
        for at in 0..15 {
            let mut pairs: Vec<String> = (0..16).map(|n| format!("p{n}=v")).collect();
            pairs[at] = "p15=w".to_owned();
            let line = written(&pairs.join("&"));
            assert!(line.contains(r#""p15":["w","v"]"#), "{line}");
        }
        assert_eq!(
            written("SdkAppid=1&x=y&SdkAppid=2&Sign=s&SdkAppid=3&Sign=t"),
            r#"{"SdkAppid":["1","2","3"],"x":"y"}"#
        );
    }

    /// Stands in for serve's event: the line starts with its fields, whatever they are.
    #[derive(Serialize)]
    struct Event {
        time: &'static str,
        command: Option<&'static str>,
        latency_ms: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<&'static str>,
    }

    fn line(query: &str, body: &[u8], judged: bool, keep_sign: bool) -> String {
        use crate::protocol::{Inbound, Receiver};
        let query = ReceivedQuery::parse(query);
        let receiver = Receiver {
            sdk_appid: None,
            token: None,
            max_skew: std::time::Duration::from_secs(60),
        };
        let inbound = Inbound {
            method: "POST",
            query: &query,
            body,
        };
        let received = receiver.receive(inbound, 1_669_872_112);
        let event = Event {
            time: "2022-12-01T05:21:52.000Z",
            command: received.callback().map(|c| c.name),
            latency_ms: 0.25,
            note: None,
        };
        let judgement = RawValue::from_string(r#"{"says":"x","accepted":true}"#.into()).unwrap();
        let line = RecordLine {
            judgement: judged.then_some(&*judgement),
            keep_sign,
            ..RecordLine::new(&event, "POST", "/im", &query, &received, body)
        };
        String::from_utf8(line.to_json()).unwrap()
    }

    /// A refused request read as exactly its command's JSON (a tap's request that came back
    /// to it), given cut short as the inspector keeps a large one: not written as JSON.
    #[test]
    fn a_refused_body_given_cut_short_is_left_out() {
        use crate::protocol::Rejection;
        let whole = format!("{{\"a\":\"{}\"}}", "x".repeat(REFUSED_BODY_KEPT + 10));
        let cut = &whole.as_bytes()[..=REFUSED_BODY_KEPT];
        let received = Received {
            command: None,
            body: ReceivedBody::Exact,
            verdict: Err(Rejection::new(508, Vec::new())),
        };
        let query = ReceivedQuery::parse("");
        let event = serde_json::json!({"status": 508});
        let line = RecordLine::new(&event, "POST", "/im", &query, &received, cut).to_json();
        let line: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(line["body"], serde_json::Value::Null);
        assert_eq!(line["body_format"], "omitted");
    }

    /// An event of no fields (or `null`) leaves `v` and the request's; one that is neither an
    /// object nor `null`, nothing: as `#[serde(flatten)]` wrote them.
    #[test]
    fn an_event_with_no_fields_or_none_at_all() {
        let received = Received {
            command: None,
            body: ReceivedBody::Unread,
            verdict: Err(crate::protocol::Rejection::new(400, Vec::new())),
        };
        let query = ReceivedQuery::parse("");
        let line = |event: &serde_json::Value| {
            let line = RecordLine::new(event, "POST", "/", &query, &received, b"");
            String::from_utf8(line.to_json()).unwrap()
        };
        assert_eq!(
            line(&serde_json::json!({})),
            r#"{"v":2,"method":"POST","path":"/","query":{},"request_time":null,"body":"","body_format":"text","body_bytes":0}"#
        );
        assert_eq!(line(&serde_json::Value::Null), line(&serde_json::json!({})),);
        assert_eq!(line(&serde_json::json!("x")), "");
        assert_eq!(line(&serde_json::json!([])), "");
    }

    /// The bytes of a record line, as the version 2 writer has always written them.
    #[test]
    fn a_record_line_is_written_as_it_always_was() {
        let callback = crate::protocol::Callback::find("before-subscribe").unwrap();
        let values = crate::protocol::EventValues::seed(callback, 1_670_574_414_123);
        let exact = crate::protocol::build_body(callback, &values).to_string();
        let exact = exact.as_bytes();
        let command = format!(
            "SdkAppid=88888888&CallbackCommand={}&contenttype=json&Sign=ab&RequestTime=1",
            callback.command
        );
        let command = command.as_str();
        let cases: [(&str, &[u8], bool, bool, &str); 4] = [
            (
                command,
                exact,
                true,
                true,
                r#"{"v":2,"time":"2022-12-01T05:21:52.000Z","command":"before-subscribe","latency_ms":0.25,"judgement":{"says":"x","accepted":true},"method":"POST","path":"/im","query":{"SdkAppid":"88888888","CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","contenttype":"json"},"request_time":"1","sign":"ab","body":{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123},"body_format":"json","body_bytes":248}"#,
            ),
            (
                command,
                exact,
                false,
                false,
                r#"{"v":2,"time":"2022-12-01T05:21:52.000Z","command":"before-subscribe","latency_ms":0.25,"method":"POST","path":"/im","query":{"SdkAppid":"88888888","CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","contenttype":"json"},"request_time":"1","body":{"CallbackCommand":"OfficialAccount.CallbackBeforeAddSubscriber","Official_Account":"@TOA#_test_for_penn","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123},"body_format":"json","body_bytes":248}"#,
            ),
            (
                "a=1&a=2&Sign=s&RequestTime=x",
                b"not json \xff",
                true,
                false,
                r#"{"v":2,"time":"2022-12-01T05:21:52.000Z","command":null,"latency_ms":0.25,"judgement":{"says":"x","accepted":true},"method":"POST","path":"/im","query":{"a":["1","2"]},"request_time":"x","body":"bm90IGpzb24g/w==","body_format":"base64","body_bytes":10}"#,
            ),
            (
                "",
                b"{\n}",
                false,
                true,
                r#"{"v":2,"time":"2022-12-01T05:21:52.000Z","command":null,"latency_ms":0.25,"method":"POST","path":"/im","query":{},"request_time":null,"sign":null,"body":"{\n}","body_format":"text","body_bytes":3}"#,
            ),
        ];
        let written: Vec<String> = cases
            .iter()
            .map(|&(query, body, judged, keep_sign, _)| line(query, body, judged, keep_sign))
            .collect();
        let expected: Vec<&str> = cases.iter().map(|case| case.4).collect();
        assert_eq!(written, expected, "\n{}\n", written.join("\n"));
    }
}
