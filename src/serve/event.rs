//! What serve says of each callback: the event, shown on stdout (as a line for people in
//! `line`, or NDJSON) and at the start of its record line (`record`).

mod line;

use super::fault::Applied;
use crate::clock::millis;
use crate::protocol::{Answer, CommandWord, EventValue, Finding, Received, UNMODELLED_NOTE, Valid};
use crate::record::Verdict;
use serde::{Serialize, Serializer};
use std::time::{Duration, UNIX_EPOCH};

/// One callback, as shown on stdout (`--output json`) and at the start of each record line.
/// `A` is the answer given: serve's own, or in tap mode the body passed back to the caller.
#[derive(Serialize)]
pub(super) struct Event<'a, A = &'a Answer> {
    /// When the request arrived, in ms since the epoch: RFC 3339 in JSON.
    #[serde(rename = "time", serialize_with = "rfc3339")]
    at_ms: i64,
    /// The callback's short name when serve models it, else the command word as received.
    command: Option<&'a str>,
    operator: Option<&'a str>,
    subscribers: &'a [String],
    /// Whether the callback's body has a subscriber list, to show on the line.
    #[serde(skip)]
    listed: bool,
    /// A callback Chat could have sent, answered by policy; else rejected with a 4xx.
    valid: bool,
    status: u16,
    answer: A,
    /// Warnings of a valid callback, or the errors a rejected one was refused for.
    findings: &'a [Finding],
    /// Said of an authentic callback of a command serve does not model (and answers itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<&'static str>,
    /// Refused as not authentic: in tap mode, the backend must refuse it too.
    #[serde(skip)]
    forged: bool,
    latency_ms: f64,
    /// Tap mode: what the backend did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backend: Option<Backend>,
    /// Tap mode: the backend's answer judged (in serve mode only the record has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) judgement: Option<&'a Verdict>,
    /// When the caller closed its side of the connection before the answer, in ms after the
    /// request arrived: a caller that hung up (Chat gives up after 2 s) never gets the answer;
    /// one that only half-closed still does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) caller_closed_ms: Option<f64>,
    /// Serve stopped before the answer was ready (a second Ctrl-C cut the drain short): the
    /// answer is serve's own 503.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) cut: bool,
    /// The fault `serve --fault` applied to this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fault: Option<Applied>,
}

/// What the backend did with a callback the tap passed on.
#[derive(Clone, Serialize)]
pub(super) struct Backend {
    /// `null` when no answer came.
    pub(super) status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) content_type: Option<String>,
    /// Why no answer came, or why it was not passed back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
    pub(super) latency_ms: f64,
}

impl<'a, A> Event<'a, A> {
    pub(super) fn new(
        now_ms: i64,
        received: &'a Received,
        status: u16,
        answer: A,
        latency: Duration,
    ) -> Self {
        let (operator, subscribers, findings, note) = match &received.verdict {
            Ok(Valid::Event {
                event, warnings, ..
            }) => (
                event.operator(),
                event.subscribers(),
                warnings.as_slice(),
                None,
            ),
            Ok(Valid::Unmodelled { warnings }) => {
                (None, &[][..], warnings.as_slice(), Some(UNMODELLED_NOTE))
            }
            Err(rejection) => (None, &[][..], rejection.findings.as_slice(), None),
        };
        Event {
            at_ms: now_ms,
            command: received.command.as_ref().map(CommandWord::name),
            operator,
            subscribers,
            // Only a callback whose body was read names its subscribers.
            listed: received.verdict.is_ok()
                && received
                    .callback()
                    .is_some_and(|callback| callback.body.carries(EventValue::Subscribers)),
            valid: received.verdict.is_ok(),
            forged: received
                .verdict
                .as_ref()
                .is_err_and(crate::protocol::Rejection::is_forgery),
            status,
            answer,
            findings,
            note,
            latency_ms: millis(latency),
            backend: None,
            judgement: None,
            caller_closed_ms: None,
            cut: false,
            fault: None,
        }
    }
}

/// `at_ms` (ms since the epoch; none before it) in RFC 3339, to the millisecond.
fn rfc3339_millis(at_ms: i64) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(
        UNIX_EPOCH + Duration::from_millis(at_ms.max(0).unsigned_abs()),
    )
}
fn rfc3339<S: Serializer>(at_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&rfc3339_millis(*at_ms))
}

/// Whatever serve can write, replay reads back: any request body, through serve's own judging
/// and record line, comes back from replay's reader byte for byte.
#[cfg(test)]
mod replayable {
    use super::*;
    use crate::protocol::{CALLBACKS, EventValues, Inbound, ReceivedQuery, Receiver, build_body};
    use crate::record::{Answered, Line, Lines};
    use crate::record::{REFUSED_BODY_KEPT, RecordLine};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

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
