//! What a load run came to: counts, failures grouped, latency percentiles and distribution,
//! and whether it passed. `report::load` shows it.

use crate::interrupt::Signal;
use crate::veto::LostVetoes;
use std::collections::BTreeMap;
use std::time::Duration;

/// Requests that went the same way: how many, and one message to show for all of them.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub count: u64,
    pub example: String,
}

/// One bar of the latency distribution: the answers up to `upto_us` microseconds (and above the
/// bucket before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub upto_us: u64,
    pub count: u64,
}

/// Latency percentiles of the answers, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug)]
pub(crate) struct Summary {
    pub url: String,
    pub concurrency: u64,
    /// Requests that completed one way or another (answered, timed out, or failed to connect).
    pub sent: u64,
    pub answered: u64,
    pub conforming: u64,
    /// Answers with an error finding (or an unmet expectation), by finding code.
    pub failures: BTreeMap<&'static str, Group>,
    /// Answers with a warning, by finding code.
    pub warnings: BTreeMap<&'static str, Group>,
    /// Requests that got no answer for a transport reason, by message; the example is the hint.
    pub transport_errors: BTreeMap<String, Group>,
    /// Requests with no complete answer within Chat's 2 s (late answers and timeouts).
    pub over_budget: u64,
    /// For a before callback: how many went ahead on Chat's timeout, of how many; `None` for
    /// an after callback, which has no veto to lose.
    pub went_ahead: Option<LostVetoes>,
    /// Requests that failed only for lateness (what `--max-late` tolerates up to its share).
    pub late_only: u64,
    /// `--max-late`: the percent of before callbacks that may go ahead on Chat's timeout.
    pub max_late: Option<f64>,
    pub elapsed: Duration,
    /// `None` when nothing was answered.
    pub latency: Option<Percentiles>,
    /// The latency distribution, fastest bucket first; empty when nothing was answered.
    pub histogram: Vec<Bucket>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Judged requests by the kind of decision Chat would take.
    pub decisions: BTreeMap<&'static str, u64>,
    /// What the run was to do, in words ("1000 requests", "20s"), for an interrupted run.
    pub planned: String,
    /// Stopped early by this signal: no pass, whatever came back.
    pub interrupted: Option<Signal>,
}

impl Summary {
    /// Every request sent got a conforming answer (or, with `--max-late`, one that was only
    /// late, and no more of them than that share), and the run was not interrupted.
    pub(crate) fn passed(&self) -> bool {
        let tolerated = match self.max_late {
            Some(_) if !self.late_within() => return false,
            Some(_) => self.late_only,
            None => 0,
        };
        self.interrupted.is_none() && self.sent > 0 && self.conforming + tolerated == self.sent
    }

    /// Whether the share that went ahead on Chat's timeout is within `--max-late`.
    pub(crate) fn late_within(&self) -> bool {
        match (self.max_late, self.went_ahead) {
            (Some(max), Some(lost)) => lost.percent() <= max,
            _ => true,
        }
    }

    /// Answers per second over the whole run.
    pub(crate) fn throughput(&self) -> f64 {
        match self.elapsed.as_secs_f64() {
            secs if secs > 0.0 => self.answered as f64 / secs,
            _ => 0.0,
        }
    }

    /// When no request got any answer and some could not connect, there is nothing to judge:
    /// the most frequent transport error, to report as the target being unreachable.
    pub(crate) fn unreachable(&self) -> Option<(&str, &str)> {
        if self.answered > 0 || !self.failures.is_empty() {
            return None;
        }
        self.transport_errors
            .iter()
            .max_by_key(|(_, group)| group.count)
            .map(|(message, group)| (message.as_str(), group.example.as_str()))
    }
}
