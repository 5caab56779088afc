//! What a handled request leaves: its event line, its answer's bytes, its record line and the
//! judgement of its answer, each kept for the next request where they repeat (the memos).

use super::Server;
use crate::compact;
use crate::memo::ReplyTo;
use crate::output::{OutputFormat, Palette};
use crate::protocol::{
    Answer, Callback, Inbound, Received, ReceivedBody, ReceivedQuery, Reply, Valid, subscribers_in,
};
use crate::record::{Answered, RecordLine, Verdict};
use crate::serve::event::Event;
use crate::serve::head::Head;
use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;

impl Server {
    /// `event`'s line on stdout, in the output format chosen: `human` for people, or JSON.
    pub(in crate::serve) fn line<E: Serialize>(
        &self,
        event: &E,
        human: fn(&E, &Palette) -> String,
    ) -> String {
        match self.format {
            OutputFormat::Human => human(event, &self.palette),
            OutputFormat::Json => compact::to_string(event).unwrap_or_default(),
        }
    }

    /// Whether events are written as JSON (the output format, or a record): only then is an
    /// event's every field read.
    pub(in crate::serve) fn writes_json(&self) -> bool {
        self.format == OutputFormat::Json || self.record.is_some()
    }

    /// What serve makes of `request`, judged now (RequestTime against the time the whole
    /// request is in).
    pub(super) fn receive(&self, request: Inbound<'_>) -> Received {
        let now = self.clock.now_secs();
        self.receiver
            .receive_expecting(request, now, |time, work_out| {
                self.kept.sign.get(|&kept| kept == time, || time, work_out)
            })
    }

    /// `answer` as JSON, kept while the answer repeats. An answer with a `MsgBody` is always
    /// written afresh: its JSON maps compare equal whatever the order of their keys, which the
    /// JSON keeps.
    pub(super) fn written(&self, answer: &Answer) -> Bytes {
        if !answer.msg_body.is_empty() {
            return written(answer);
        }
        self.kept
            .written
            .get(|kept| kept == answer, || answer.clone(), || written(answer))
    }

    /// [`judged`], kept while serve's answers and the callbacks they answer repeat.
    /// With `--record`, queues the record line of `event`, the request as received (`head`,
    /// `query`, `bytes`) and the `judgement` of the answer where there is one to keep.
    pub(in crate::serve) fn record<A: Serialize>(
        &self,
        event: &Event<'_, A>,
        head: &Head,
        query: &ReceivedQuery<'_>,
        received: &Received,
        bytes: &[u8],
        judgement: impl FnOnce() -> Option<Arc<RawValue>>,
    ) {
        let Some(record) = &self.record else {
            return;
        };
        let judgement = judgement();
        let line = RecordLine {
            judgement: judgement.as_deref(),
            keep_sign: self.record_sign,
            ..RecordLine::new(
                event,
                head.method().as_str(),
                head.path(),
                query,
                received,
                bytes,
            )
        };
        record.record(&line);
    }

    pub(in crate::serve) fn judged(&self, received: &Received, reply: Reply<'_>) -> Arc<RawValue> {
        let subscribers = subscribers_of(received);
        let key = ReplyTo {
            callback: received.callback(),
            subscribers: &subscribers,
            reply,
        };
        self.kept.judged.get(
            |kept| key.is(kept),
            || key.kept(),
            || judged(received, reply),
        )
    }

    /// [`Verdict::of`] a `reply` from the tap's backend to a `callback` sent with
    /// `subscribers`, kept while the backend's answers and the callbacks they answer repeat.
    pub(in crate::serve) fn verdict(
        &self,
        callback: Option<&Callback>,
        subscribers: &[String],
        reply: Reply<'_>,
    ) -> Arc<Verdict> {
        let key = ReplyTo {
            callback,
            subscribers,
            reply,
        };
        self.kept.verdict.get(
            |kept| key.is(kept),
            || key.kept(),
            || Arc::new(Verdict::of(callback, subscribers, Answered::Reply(reply))),
        )
    }
}

/// `answer` as JSON.
fn written(answer: &Answer) -> Bytes {
    let mut json = Vec::with_capacity(128);
    let _ = serde_json::to_writer(&mut json, answer);
    Bytes::from(json)
}

/// The judgement of serve's own `reply` to `received`, as a JSON object.
pub(in crate::serve) fn judged(received: &Received, reply: Reply<'_>) -> Arc<RawValue> {
    let callback = received.callback();
    let verdict = Verdict::of(callback, &subscribers_of(received), Answered::Reply(reply));
    Arc::from(
        serde_json::value::to_raw_value(&verdict).unwrap_or_else(|_| RawValue::NULL.to_owned()),
    )
}

/// The subscribers a callback names: a valid one's, or those its JSON body names when it was
/// refused (an answer is judged against them).
pub(in crate::serve) fn subscribers_of(received: &Received) -> Cow<'_, [String]> {
    match (&received.verdict, &received.body) {
        (Ok(Valid::Event { event, .. }), _) => Cow::Borrowed(event.subscribers()),
        (_, ReceivedBody::Json(body)) => Cow::Owned(subscribers_in(body)),
        _ => Cow::Borrowed(&[]),
    }
}
