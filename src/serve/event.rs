//! What serve says of each callback: the event, shown on stdout (as a line for people in
//! `line`, or NDJSON) and at the start of its record line (`record`).

mod line;

use super::fault::Applied;
use crate::clock::millis;
use crate::protocol::{Answer, CommandWord, EventValue, Finding, Received, UNMODELLED_NOTE, Valid};
use crate::record::Verdict;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use std::cell::Cell;
use std::time::Duration;

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

/// Serve's own answer with the JSON it went out as, which an event writes as it is rather
/// than writing the answer again: both are serde_json's writing of the answer, so the bytes
/// are the same, and a line is spared a dozen strings (~1.3k instructions of a record line).
#[derive(Clone, Copy)]
pub(super) struct WrittenAnswer<'a> {
    answer: &'a Answer,
    /// `None` if `json` was not text (never: serde_json writes UTF-8): the answer is written.
    json: Option<&'a str>,
}

impl<'a> WrittenAnswer<'a> {
    /// `answer`, which was written as `json` ([`Server::written`](super::handler::Server)).
    pub(super) fn new(answer: &'a Answer, json: &'a [u8]) -> Self {
        WrittenAnswer {
            answer,
            json: std::str::from_utf8(json).ok(),
        }
    }
}

impl std::ops::Deref for WrittenAnswer<'_> {
    type Target = Answer;

    fn deref(&self) -> &Answer {
        self.answer
    }
}

impl Serialize for WrittenAnswer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.json {
            Some(json) => crate::compact::verbatim(json, serializer),
            None => self.answer.serialize(serializer),
        }
    }
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

/// The most RFC 3339 holds: the end of year 9999, in ms since the epoch.
const AFTER_YEAR_9999_MS: i64 = 253_402_300_800_000;

thread_local! {
    /// This thread's last second written by [`rfc3339_millis`], and how: a line for people and
    /// a record line each write the time, and under load many callbacks share a second.
    static SECOND: Cell<(i64, [u8; 24])> = const { Cell::new((-1, [0; 24])) };
}

/// `at_ms` (ms since the epoch; none before it) in RFC 3339, to the millisecond:
/// `2022-12-01T05:21:52.000Z`; `None` past year 9999 (serve's clock ends in 2106). Written
/// digit by digit: every event has one, and through `fmt` (humantime, then serde_json's
/// `collect_str`) it was ~1.9k instructions of a record line and ~0.6k of a line for people;
/// within the second last written, only the milliseconds are.
fn rfc3339_millis(at_ms: i64) -> Option<[u8; 24]> {
    let at_ms = at_ms.max(0);
    if at_ms >= AFTER_YEAR_9999_MS {
        return None;
    }
    let (second, mut text) = SECOND.get();
    if second == at_ms / 1000 {
        let millis = at_ms % 1000;
        text[20] = b'0' + (millis / 100) as u8;
        text[21] = b'0' + (millis / 10 % 10) as u8;
        text[22] = b'0' + (millis % 10) as u8;
        return Some(text);
    }
    let text = rfc3339_of(at_ms);
    SECOND.set((at_ms / 1000, text));
    Some(text)
}

/// `at_ms` (from 0 to the end of year 9999) in RFC 3339, to the millisecond.
fn rfc3339_of(at_ms: i64) -> [u8; 24] {
    let (days, of_day) = (at_ms / 86_400_000, at_ms % 86_400_000);
    // The civil date of a day count (Howard Hinnant's `civil_from_days`), in 400-year eras
    // from 0000-03-01, so that a leap day ends its year.
    let from_march = days + 719_468;
    let (era, of_era) = (from_march / 146_097, from_march % 146_097);
    let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
    let day_of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut n: i64| {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3_600_000);
    put(14, 2, of_day / 60_000 % 60);
    put(17, 2, of_day / 1000 % 60);
    put(20, 3, of_day % 1000);
    text
}

fn rfc3339<S: Serializer>(at_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    let text = rfc3339_millis(*at_ms).ok_or_else(|| S::Error::custom("a time past year 9999"))?;
    serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
}

#[cfg(test)]
mod time {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    fn by_humantime(at_ms: i64) -> String {
        let at = UNIX_EPOCH + Duration::from_millis(at_ms.max(0).unsigned_abs());
        humantime::format_rfc3339_millis(at).to_string()
    }

    fn written(at_ms: i64) -> String {
        String::from_utf8(rfc3339_millis(at_ms).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn the_edges_of_days_years_and_eras_are_written_as_humantime_writes_them() {
        for at_ms in [
            i64::MIN,
            -1,
            0,
            86_399_999,
            951_782_400_000,   // 2000-02-29
            951_868_799_999,   // 2000-02-29T23:59:59.999
            4_107_542_400_000, // 2100-03-01
            4_294_967_295_999, // serve's last second, 2106
            AFTER_YEAR_9999_MS - 1,
        ] {
            assert_eq!(written(at_ms), by_humantime(at_ms), "{at_ms}");
        }
        assert_eq!(rfc3339_millis(AFTER_YEAR_9999_MS), None);
    }

    proptest! {
        #[test]
        fn any_time_is_written_as_humantime_writes_it(at_ms in 0..AFTER_YEAR_9999_MS) {
            prop_assert_eq!(written(at_ms), by_humantime(at_ms));
        }

        /// Times in the second last written, and in the seconds around it, in any order.
        #[test]
        fn times_near_the_last_are_written_as_humantime_writes_them(
            at_ms in 0..AFTER_YEAR_9999_MS - 2000,
            steps in proptest::collection::vec(-1500i64..1500, 1..8),
        ) {
            prop_assert_eq!(written(at_ms), by_humantime(at_ms));
            for step in steps {
                let near = (at_ms + step).max(0);
                prop_assert_eq!(written(near), by_humantime(near));
            }
        }
    }
}

#[cfg(test)]
mod written_answer {
    use super::*;
    use crate::protocol::{MessageElement, ReceivedBody, Rejection};

    #[test]
    fn an_event_writes_an_answer_as_it_went_out_as_it_would_write_the_answer() {
        let received = Received {
            command: None,
            body: ReceivedBody::Unread,
            verdict: Err(Rejection::new(400, Vec::new())),
        };
        let answers = [
            Answer::ok(Vec::new()),
            Answer::ok(vec!["jared".into(), "\"quoted\"\n".into()]),
            Answer::code(2, "discard"),
            Answer::fail("signature: \u{1F}é"),
            Answer::rewrite(vec![MessageElement::text("hi")]),
        ];
        for answer in &answers {
            let json = serde_json::to_vec(answer).unwrap();
            let line = |given| {
                let event = Event::new(1, &received, 200, given, Duration::ZERO);
                crate::compact::to_string(&event).unwrap()
            };
            let as_answer = {
                let event = Event::new(1, &received, 200, answer, Duration::ZERO);
                crate::compact::to_string(&event).unwrap()
            };
            assert_eq!(line(WrittenAnswer::new(answer, &json)), as_answer);
            assert!(as_answer.contains(std::str::from_utf8(&json).unwrap()));
            // Bytes that are not text (never written) give way to the answer itself.
            assert_eq!(line(WrittenAnswer::new(answer, b"\xff")), as_answer);
        }
    }
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
