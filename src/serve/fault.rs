//! `serve --fault SPEC --seed N`: a slow or broken backend, rehearsed in the mock and in the tap.
//! A SPEC is rules such as `delay=2.5s@10%,reset@1%`; each request draws at most one fault, by
//! its number in order of arrival and the seed, so that the same seed and the same requests
//! give the same faults whatever the timing. The parser is pure (`spec`); the rest shapes one
//! answer.

mod spec;

pub(crate) use spec::{Spec, parse};

use super::handler::Hangup;
use super::listen::Caller;
use crate::protocol::{BUDGET, Callback};
use crate::seeded::Rng;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use serde::{Serialize, Serializer};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

/// What draws are for, so that the faults of a seed differ from its fuzz callbacks.
const STREAM: u64 = 0xFA17;

/// The fault one request drew, as its event line and record say it (`delay=2500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    Delay(Duration),
    Hang,
    Reset,
    Status(u16),
    Malformed,
    SlowBody(Duration),
}

/// The faults a `serve` draws from: the SPEC, the seed, and how many requests have arrived.
#[derive(Debug)]
pub(crate) struct Faults {
    spec: Spec,
    pub(crate) seed: u64,
    arrived: AtomicU64,
}

impl Faults {
    pub(crate) fn new(spec: Spec, seed: u64) -> Self {
        Faults {
            spec,
            seed,
            arrived: AtomicU64::new(0),
        }
    }

    /// The banner: what is rehearsed, and how to draw it again.
    pub(crate) fn banner(&self) -> String {
        format!(
            "faults: {} (--seed {}: the same seed and the same requests draw the same faults)",
            self.spec, self.seed
        )
    }

    /// The number of the request that has just arrived, counted from 0.
    pub(super) fn arrival(&self) -> u64 {
        self.arrived.fetch_add(1, Ordering::Relaxed)
    }

    /// The fault of request number `n`, of `callback` (`None`: a command serve does not model),
    /// if it drew one (see [`Spec::draw`]).
    pub(super) fn draw(&self, n: u64, callback: Option<&Callback>) -> Option<Applied> {
        self.spec
            .draw(&mut Rng::draw(self.seed, STREAM, n), callback)
    }
}

/// The fault of the request numbered `arrival`, when serve rehearses faults.
pub(super) fn drawn(
    faults: Option<&Faults>,
    arrival: Option<u64>,
    callback: Option<&Callback>,
) -> Option<Applied> {
    faults?.draw(arrival?, callback)
}

impl fmt::Display for Applied {
    /// In the SPEC's own words, with the delay drawn: `delay=2500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applied::Delay(d) => write!(f, "delay={}ms", d.as_millis()),
            Applied::Hang => f.write_str("hang"),
            Applied::Reset => f.write_str("reset"),
            Applied::Status(code) => write!(f, "status={code}"),
            Applied::Malformed => f.write_str("malformed"),
            Applied::SlowBody(d) => write!(f, "slow-body={}ms", d.as_millis()),
        }
    }
}

impl Serialize for Applied {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Applied {
    /// What the caller got instead of the answer, in words, for the event line.
    pub(super) fn says(&self) -> String {
        let late = |d: &Duration| {
            if *d > BUDGET { ", past Chat's 2 s" } else { "" }
        };
        match self {
            Applied::Delay(d) => format!(
                "fault {self}: answered {} ms late{}",
                d.as_millis(),
                late(d)
            ),
            Applied::Hang => {
                format!(
                    "fault {self}: no answer was sent; the connection was held until the caller closed it"
                )
            }
            Applied::Reset => {
                format!("fault {self}: the connection was reset instead of an answer")
            }
            Applied::Status(code) => format!("fault {self}: answered with HTTP {code}"),
            Applied::Malformed => format!("fault {self}: the body was cut in half, not JSON"),
            Applied::SlowBody(d) => format!(
                "fault {self}: the body trickled out over {} ms{}",
                d.as_millis(),
                late(d)
            ),
        }
    }
}

/// `work` (making the answer, or getting the backend's), then what the fault adds before the
/// answer goes: a delay, or for `hang` the wait until the caller gives up.
pub(super) async fn around<T>(
    fault: Option<Applied>,
    caller: &impl Hangup,
    work: impl Future<Output = T>,
) -> T {
    let done = work.await;
    match fault {
        Some(Applied::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Applied::Hang) => caller.closed().await,
        _ => {}
    }
    done
}

/// The status the caller gets.
pub(super) fn status(fault: Option<Applied>, status: u16) -> u16 {
    match fault {
        Some(Applied::Status(code)) => code,
        _ => status,
    }
}

/// The body the caller gets: `malformed` cuts it in half.
pub(super) fn body(fault: Option<Applied>, body: Bytes) -> Bytes {
    match fault {
        Some(Applied::Malformed) => body.slice(..body.len() / 2),
        _ => body,
    }
}

/// Marks `response` with its fault, for [`deliver`].
pub(super) fn mark<B>(fault: Option<Applied>, response: &mut hyper::Response<B>) {
    if let Some(fault) = fault {
        response.extensions_mut().insert(fault);
    }
}

/// The connection was dropped instead of answering (`reset`, or `hang` once the caller left).
#[derive(Debug)]
pub(crate) struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dropped by a fault")
    }
}

impl std::error::Error for Dropped {}

/// Sends `response` as its fault says: whole; trickling; or not at all, the connection
/// dropped (reset for `reset`).
pub(super) async fn deliver(
    response: hyper::Response<Full<Bytes>>,
    caller: &Caller,
) -> Result<hyper::Response<Delivered>, Dropped> {
    match response.extensions().get::<Applied>().copied() {
        Some(Applied::Reset) => {
            caller.reset();
            Err(Dropped)
        }
        Some(Applied::Hang) => Err(Dropped),
        Some(Applied::SlowBody(over)) => {
            let (parts, body) = response.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            Ok(hyper::Response::from_parts(
                parts,
                Delivered::Drip(Drip::new(bytes, over)),
            ))
        }
        _ => Ok(response.map(Delivered::Whole)),
    }
}

/// The body of an answer, whole or trickling.
pub(crate) enum Delivered {
    Whole(Full<Bytes>),
    Drip(Drip),
}

/// A body sent in pieces spread over a time.
pub(crate) struct Drip {
    rest: Bytes,
    length: u64,
    piece: usize,
    every: Duration,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// How many pieces a trickling body is sent in, at most.
const PIECES: usize = 10;

impl Drip {
    fn new(bytes: Bytes, over: Duration) -> Self {
        let pieces = bytes.len().clamp(1, PIECES);
        Drip {
            length: bytes.len() as u64,
            piece: bytes.len().div_ceil(pieces).max(1),
            every: over / pieces as u32,
            rest: bytes,
            wait: None,
        }
    }
}

impl Body for Delivered {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let drip = match self.get_mut() {
            Delivered::Whole(full) => return Pin::new(full).poll_frame(cx),
            Delivered::Drip(drip) => drip,
        };
        if drip.rest.is_empty() {
            return Poll::Ready(None);
        }
        let every = drip.every;
        let wait = drip
            .wait
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
        ready!(wait.as_mut().poll(cx));
        drip.wait = None;
        let piece = drip.rest.split_to(drip.piece.min(drip.rest.len()));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Delivered::Whole(full) => full.is_end_stream(),
            Delivered::Drip(drip) => drip.rest.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Delivered::Whole(full) => full.size_hint(),
            Delivered::Drip(drip) => SizeHint::with_exact(drip.length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn faults(spec: &str, seed: u64) -> Faults {
        Faults::new(parse(spec).unwrap(), seed)
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_in_any_order() {
        let before = Callback::find("before-subscribe").ok();
        let spec = "delay=10ms..2s@30%,reset@5%,before-subscribe:status=503@20%";
        let one = faults(spec, 42);
        let forwards: Vec<_> = (0..200).map(|n| one.draw(n, before)).collect();
        let backwards: Vec<_> = (0..200).rev().map(|n| one.draw(n, before)).collect();
        assert_eq!(forwards, backwards.into_iter().rev().collect::<Vec<_>>());
        let other: Vec<_> = (0..200).map(|n| faults(spec, 43).draw(n, before)).collect();
        assert_ne!(forwards, other);
    }

    #[test]
    fn shares_are_kept_and_rules_hit_only_their_command() {
        let before = Callback::find("before-subscribe").ok();
        let after = Callback::find("after-unsubscribe").ok();
        let spec = faults("reset@10%,before-subscribe:hang@30%", 7);
        let count = |callback, fault| {
            (0..10_000)
                .filter(|n| spec.draw(*n, callback) == Some(fault))
                .count()
        };
        assert!((800..1200).contains(&count(before, Applied::Reset)));
        assert!((2700..3300).contains(&count(before, Applied::Hang)));
        assert!((800..1200).contains(&count(after, Applied::Reset)));
        assert_eq!(count(after, Applied::Hang), 0);
        assert_eq!(count(None, Applied::Hang), 0);
    }

    #[test]
    fn delays_come_from_their_range_or_shape() {
        let uniform = faults("delay=100ms..200ms", 1);
        for n in 0..1000 {
            let Some(Applied::Delay(d)) = uniform.draw(n, None) else {
                panic!("no delay");
            };
            assert!((ms(100)..=ms(200)).contains(&d), "{d:?}");
        }
        let tail = faults("delay=p50:100ms/p99:2s", 1);
        let mut drawn: Vec<Duration> = (0..10_000)
            .filter_map(|n| match tail.draw(n, None) {
                Some(Applied::Delay(d)) => Some(d),
                _ => None,
            })
            .collect();
        drawn.sort();
        let (p50, p99) = (drawn[5000], drawn[9900]);
        assert!((ms(90)..=ms(110)).contains(&p50), "{p50:?}");
        assert!((ms(1600)..=ms(2500)).contains(&p99), "{p99:?}");
    }

    #[test]
    fn applied_faults_are_said_in_the_specs_words() {
        let said: Vec<String> = [
            Applied::Delay(ms(2500)),
            Applied::Hang,
            Applied::Reset,
            Applied::Status(503),
            Applied::Malformed,
            Applied::SlowBody(ms(3000)),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            said,
            [
                "delay=2500ms",
                "hang",
                "reset",
                "status=503",
                "malformed",
                "slow-body=3000ms"
            ]
        );
        assert_eq!(
            serde_json::to_string(&Applied::Delay(ms(5))).unwrap(),
            "\"delay=5ms\""
        );
        assert_eq!(
            body(Some(Applied::Malformed), Bytes::from_static(b"{\"a\":1}")),
            Bytes::from_static(b"{\"a")
        );
    }
}
