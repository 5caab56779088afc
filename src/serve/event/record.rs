//! The record line (the event, then the request as received, without Sign and RequestTime;
//! the format is `crate::record`'s).

use super::Event;
use crate::protocol::{Received, ReceivedBody, ReceivedQuery, param};
use crate::record::{self, Body};
use crate::serve::REFUSED_BODY_KEPT;
use serde::Serialize;
use serde_json::value::RawValue;

/// The request's body as recorded: whole for a valid callback, to be replayed; a refused one
/// only when it is small, so that no input makes a large record line.
fn recorded_body<'a>(received: &Received, bytes: &'a [u8]) -> Body<'a> {
    if received.verdict.is_err() && bytes.len() > REFUSED_BODY_KEPT {
        Body::Omitted
    } else {
        Body::exact(bytes)
    }
}

/// One `--record` line (format version [`record::VERSION`], documented in the README): the
/// event, then the request as received: the query without `Sign` and `RequestTime`, which come
/// apart (`request_time`, `sign`) so that replay signs afresh unless told to replay them as
/// they came (`replay --as-recorded`, a replay attack); the token itself is never known here.
pub(crate) struct RecordLine<'a, A> {
    pub(crate) event: &'a Event<'a, A>,
    /// Serve's own answer judged (in tap mode the event carries the backend's).
    pub(crate) judgement: Option<&'a RawValue>,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// Every parameter but `Sign` and `RequestTime`.
    pub(crate) query: &'a ReceivedQuery<'a>,
    pub(crate) body: Kept<'a>,
    /// The size of the body as received, in bytes (`body` is `null` for a large refused one).
    pub(crate) body_bytes: usize,
    /// Whether to keep the `Sign` (`serve --record-sign`): with its RequestTime it lets whoever
    /// holds the record test guesses at the token offline, so it is kept only when asked for.
    pub(crate) keep_sign: bool,
}

/// A request's body as its record line keeps it.
pub(crate) enum Kept<'a> {
    /// The body of a callback just read as exactly its command's JSON, on one line without
    /// surrounding spaces: written as it came, without reading it again.
    Exact(&'a str),
    /// Any other body, as the record keeps one.
    Other(Body<'a>),
}

impl<'a, A: Serialize> RecordLine<'a, A> {
    pub(crate) fn new(
        event: &'a Event<'a, A>,
        method: &'a str,
        path: &'a str,
        query: &'a ReceivedQuery<'a>,
        received: &Received,
        bytes: &'a [u8],
    ) -> Self {
        let exact = matches!(received.body, ReceivedBody::Exact)
            .then(|| one_line_json(bytes))
            .flatten();
        RecordLine {
            event,
            judgement: None,
            method,
            path,
            query,
            body: exact.map_or_else(|| Kept::Other(recorded_body(received, bytes)), Kept::Exact),
            body_bytes: bytes.len(),
            keep_sign: false,
        }
    }

    /// The line, without its newline: `{"v":1,` the event's fields, then the request's. Written
    /// piece by piece, so that the event is serialized once and an exact body not at all.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        self.write().unwrap_or_default()
    }

    fn write(&self) -> serde_json::Result<Vec<u8>> {
        let mut line = Vec::with_capacity(1024);
        line.extend_from_slice(b"{\"v\":");
        serde_json::to_writer(&mut line, &record::VERSION)?;
        let event_at = line.len();
        serde_json::to_writer(&mut line, self.event)?;
        // The event is an object with fields: its braces give way to the line's.
        line[event_at] = b',';
        line.pop();
        if let Some(judgement) = self.judgement {
            line.extend_from_slice(b",\"judgement\":");
            line.extend_from_slice(judgement.get().as_bytes());
        }
        line.extend_from_slice(b",\"method\":");
        serde_json::to_writer(&mut line, self.method)?;
        line.extend_from_slice(b",\"path\":");
        serde_json::to_writer(&mut line, self.path)?;
        line.extend_from_slice(b",\"query\":");
        write_query(&mut line, &self.query.without_signature())?;
        line.extend_from_slice(b",\"request_time\":");
        serde_json::to_writer(&mut line, &self.query.get(param::REQUEST_TIME))?;
        if self.keep_sign {
            line.extend_from_slice(b",\"sign\":");
            serde_json::to_writer(&mut line, &self.query.get(param::SIGN))?;
        }
        line.extend_from_slice(b",\"body\":");
        let format = match &self.body {
            Kept::Exact(text) => {
                line.extend_from_slice(text.as_bytes());
                "json"
            }
            Kept::Other(body) => {
                serde_json::to_writer(&mut line, body)?;
                body.format()
            }
        };
        line.extend_from_slice(b",\"body_format\":");
        serde_json::to_writer(&mut line, format)?;
        line.extend_from_slice(b",\"body_bytes\":");
        serde_json::to_writer(&mut line, &self.body_bytes)?;
        line.push(b'}');
        Ok(line)
    }
}

/// `{"SdkAppid":"88888888",...}`: the parameters as received, in order. A name that comes more
/// than once (Chat's never do; a forger's may) keeps every value, in order, in an array where
/// the name first came, so that replay sends them all.
fn write_query(line: &mut Vec<u8>, pairs: &[(&str, &str)]) -> serde_json::Result<()> {
    let mut names: Vec<&str> = pairs.iter().map(|&(name, _)| name).collect();
    names.sort_unstable();
    if names.windows(2).any(|two| two[0] == two[1]) {
        let mut grouped = serde_json::Map::new();
        for &(name, value) in pairs {
            match grouped.get_mut(name) {
                Some(serde_json::Value::Array(values)) => values.push(value.into()),
                Some(first) => *first = serde_json::Value::Array(vec![first.take(), value.into()]),
                None => {
                    grouped.insert(name.to_owned(), value.into());
                }
            }
        }
        return serde_json::to_writer(line, &grouped);
    }
    line.push(b'{');
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        serde_json::to_writer(&mut *line, name)?;
        line.push(b':');
        serde_json::to_writer(&mut *line, value)?;
    }
    line.push(b'}');
    Ok(())
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
                (Some(text), Body::Json(raw)) => assert_eq!(text, raw.get()),
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
            let mut line = Vec::new();
            write_query(&mut line, &query.without_signature()).unwrap();
            String::from_utf8(line).unwrap()
        };
        assert_eq!(written("a=1&b=%22"), r#"{"a":"1","b":"\""}"#);
        assert_eq!(written(""), "{}");
        assert_eq!(
            written("SdkAppid=1&x=y&SdkAppid=2&Sign=s&SdkAppid=3&Sign=t"),
            r#"{"SdkAppid":["1","2","3"],"x":"y"}"#
        );
    }
}

/// Whatever serve can write, replay reads back: any request body, through serve's own judging
/// and record line, comes back from replay's reader byte for byte.
#[cfg(test)]
mod replayable {
    use super::*;
    use crate::protocol::{Answer, CALLBACKS, EventValues, Inbound, Receiver, build_body};
    use crate::record::{Answered, Line, Lines, Verdict};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use std::time::Duration;

    /// Bodies for `callback` (an index in [`CALLBACKS`]): any bytes, its exact body and that
    /// body changed, JSON no reader takes back (`1e400`, 200 deep, a lone surrogate) and its
    /// near misses, and bodies either side of the size a record keeps of a refused one.
    fn bodies(callback: usize) -> impl Strategy<Value = Vec<u8>> {
        let callback = &CALLBACKS[callback];
        let exact = build_body(callback, &EventValues::seed(callback, 1_670_574_414_123))
            .to_string()
            .into_bytes();
        let changed = (
            Just(exact.clone()),
            vec((any::<usize>(), any::<u8>()), 1..4),
        )
            .prop_map(|(mut body, edits)| {
                for (at, byte) in edits {
                    let at = at % body.len();
                    body[at] = byte;
                }
                body
            });
        let refused_json = select(vec![
            r#"{"x":1e400}"#,
            r#"{"x":-1e400}"#,
            r#"[1e308,1e-400,18446744073709551616]"#,
            r#"{"x":"\ud800"}"#,
            r#"{"\udfff":0}"#,
            r#"{"x":"\ud83d\ude00"}"#,
            r#""\u0000\n""#,
            " {}",
            "{}\n",
            "{}\r\n",
        ])
        .prop_map(|text| text.as_bytes().to_vec());
        let deep = (120..260_usize)
            .prop_map(|depth| ["[".repeat(depth), "]".repeat(depth)].concat().into_bytes());
        let sized = (0..3_usize).prop_map(|more| vec![b'x'; REFUSED_BODY_KEPT - 1 + more]);
        prop_oneof![
            vec(any::<u8>(), 0..512),
            Just(exact),
            changed,
            refused_json,
            deep,
            sized,
        ]
    }

    proptest! {
        #[test]
        fn whatever_serve_records_replay_reads_back_byte_for_byte(
            (callback, body) in (0..CALLBACKS.len()).prop_flat_map(|i| (Just(i), bodies(i))),
        ) {
            let command = CALLBACKS[callback].command;
            let query = format!("SdkAppid=88888888&CallbackCommand={command}&contenttype=json&Sign=ab&RequestTime=1");
            let query = ReceivedQuery::parse(&query);
            let receiver = Receiver { sdk_appid: None, token: None, max_skew: Duration::from_secs(60) };
            let inbound = Inbound { method: "POST", query: &query, body: &body };
            let received = receiver.receive(inbound, 1_669_872_112);
            let answer = Answer::ok(Vec::new());
            let event = Event::new(0, &received, 200, &answer, Duration::ZERO);
            let verdict = Verdict::of(received.callback(), &[], Answered::Nothing(Duration::ZERO));
            let judgement = serde_json::value::to_raw_value(&verdict).unwrap();
            let line = RecordLine {
                judgement: Some(&judgement),
                keep_sign: true,
                ..RecordLine::new(&event, "POST", "/im", &query, &received, &body)
            };
            let mut line = line.to_json();
            // Any JSON reader takes the line back (serde_json's is among the strictest)...
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&line).is_ok());
            line.push(b'\n');
            // ...and replay reads the very bytes received, with the Sign and RequestTime.
            let read: Vec<_> = Lines::new(&line[..]).collect();
            let [Ok((1, Line::Record(record)))] = &read[..] else {
                return Err(TestCaseError::fail(format!("not read back: {read:?}")));
            };
            match &record.body {
                Some(kept) => prop_assert_eq!(kept, &body),
                None => prop_assert!(received.verdict.is_err() && body.len() > REFUSED_BODY_KEPT),
            }
            prop_assert_eq!(&record.sign, &Some(Some("ab".to_owned())));
            prop_assert_eq!(record.request_time.as_deref(), Some("1"));
        }
    }
}
