//! The results of one thread's load workers: counted under a lock no other thread takes,
//! merged at the end.

use super::{Bucket, Group, Percentiles, Summary};
use crate::error::{Error, Result};
use crate::interrupt::Signal;
use crate::protocol::{BUDGET, Decision, Evidence, Finding, Judgement, Severity, with_error_info};
use crate::veto::LostVetoes;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// One thread's workers' results.
pub(super) struct Tally {
    sent: u64,
    answered: u64,
    conforming: u64,
    over_budget: u64,
    latency_us: Histogram<u64>,
    failures: BTreeMap<&'static str, Group>,
    warnings: BTreeMap<&'static str, Group>,
    transport_errors: BTreeMap<String, Group>,
    /// Answers by HTTP status.
    statuses: BTreeMap<u16, u64>,
    /// Judged requests by the kind of decision Chat would take.
    decisions: BTreeMap<&'static str, u64>,
    /// Before callbacks, and those that went ahead on Chat's timeout.
    pub(super) lost: LostVetoes,
    /// Requests whose only errors say they were too late (see [`only_late`]).
    late_only: u64,
}

impl Tally {
    /// Latencies are bounded by the sender's timeout; twice that (and at least twice the
    /// budget) leaves room without resizing on the request path.
    pub(super) fn new(timeout: Duration) -> Result<Self> {
        let high =
            u64::try_from(timeout.max(BUDGET).as_micros().saturating_mul(2)).unwrap_or(u64::MAX);
        let latency_us = Histogram::new_with_bounds(1, high, 3)
            .map_err(|e| Error::internal(format!("cannot set up the latency histogram: {e}")))?;
        Ok(Tally {
            sent: 0,
            answered: 0,
            conforming: 0,
            over_budget: 0,
            latency_us,
            failures: BTreeMap::new(),
            warnings: BTreeMap::new(),
            transport_errors: BTreeMap::new(),
            statuses: BTreeMap::new(),
            decisions: BTreeMap::new(),
            lost: LostVetoes::default(),
            late_only: 0,
        })
    }

    /// Counts an answer with `status` that came after `latency`; says how many have come so far.
    pub(super) fn answered(&mut self, status: u16, latency: Duration) -> u64 {
        self.answered += 1;
        *self.statuses.entry(status).or_default() += 1;
        self.latency_us
            .saturating_record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        if latency > BUDGET {
            self.over_budget += 1;
        }
        self.answered
    }

    /// Counts a request that got no answer within `waited`.
    pub(super) fn waited(&mut self, waited: Duration) {
        if waited >= BUDGET {
            self.over_budget += 1;
        }
    }

    /// Counts a request that could not reach the target, grouped by what went wrong.
    pub(super) fn unreachable(&mut self, message: String, hint: String) {
        self.sent += 1;
        add(&mut self.transport_errors, message, || hint);
    }

    /// Counts a request by its judgement and the expectation it left unmet, if any; says
    /// whether it passed. The answer, if one came, is counted first by [`Tally::answered`].
    pub(super) fn judged(&mut self, judgement: &Judgement, unmet: Option<&Finding>) -> bool {
        self.sent += 1;
        *self.decisions.entry(judgement.decision.kind()).or_default() += 1;
        let passed = judgement.conforms() && unmet.is_none();
        if passed {
            self.conforming += 1;
        } else if unmet.is_none() && only_late(judgement) {
            self.late_only += 1;
        }
        // Groups count answers, so a code that appears twice in one answer counts once.
        let error_info = judgement.evidence.as_ref().and_then(Evidence::error_info);
        let findings = &judgement.findings;
        for (i, finding) in findings.iter().enumerate() {
            let repeated = findings[..i]
                .iter()
                .any(|f| f.code == finding.code && f.severity == finding.severity);
            if !repeated {
                self.count(finding, error_info);
            }
        }
        if let Some(unmet) = unmet {
            self.count(unmet, error_info);
        }
        passed
    }

    /// Counts `finding` in its group; the group's example quotes the backend's `ErrorInfo`
    /// when the answer had one, since it is often the only explanation a backend gives.
    fn count(&mut self, finding: &Finding, error_info: Option<&str>) {
        let groups = match finding.severity {
            Severity::Error => &mut self.failures,
            Severity::Warning => &mut self.warnings,
        };
        add(groups, finding.code, || {
            with_error_info(finding.message.clone(), error_info)
        });
    }

    pub(super) fn merge(&mut self, other: Tally) -> Result<()> {
        self.sent += other.sent;
        self.answered += other.answered;
        self.conforming += other.conforming;
        self.over_budget += other.over_budget;
        self.lost.add(other.lost);
        self.late_only += other.late_only;
        self.latency_us
            .add(&other.latency_us)
            .map_err(|e| Error::internal(format!("cannot merge latencies: {e}")))?;
        merge_groups(&mut self.failures, other.failures);
        merge_groups(&mut self.warnings, other.warnings);
        merge_groups(&mut self.transport_errors, other.transport_errors);
        merge_counts(&mut self.statuses, other.statuses);
        merge_counts(&mut self.decisions, other.decisions);
        Ok(())
    }

    pub(super) fn into_summary(
        self,
        url: String,
        concurrency: u64,
        elapsed: Duration,
        planned: String,
        interrupted: Option<Signal>,
    ) -> Summary {
        let latency = &self.latency_us;
        Summary {
            url,
            concurrency,
            sent: self.sent,
            answered: self.answered,
            conforming: self.conforming,
            over_budget: self.over_budget,
            went_ahead: (self.lost.before_callbacks > 0).then_some(self.lost),
            late_only: self.late_only,
            max_late: None,
            elapsed,
            latency: (self.answered > 0).then(|| Percentiles {
                p50: latency.value_at_quantile(0.5),
                p90: latency.value_at_quantile(0.9),
                p99: latency.value_at_quantile(0.99),
                max: latency.max(),
            }),
            histogram: histogram(latency),
            statuses: self.statuses,
            decisions: self.decisions,
            planned,
            interrupted,
            failures: self.failures,
            warnings: self.warnings,
            transport_errors: self.transport_errors,
        }
    }
}

/// Whether a judgement fails only for lateness: Chat went ahead on its timeout, and nothing
/// else was wrong (what `--max-late` tolerates up to a share).
fn only_late(judgement: &Judgement) -> bool {
    matches!(judgement.decision, Decision::TimedOut { .. })
        && judgement
            .findings
            .iter()
            .filter(|f| f.is_error())
            .all(|f| matches!(f.code, "too-slow" | "timeout"))
}

/// Counts one more in `key`'s group, taking the example from the first.
fn add<K: Ord>(groups: &mut BTreeMap<K, Group>, key: K, example: impl FnOnce() -> String) {
    groups
        .entry(key)
        .or_insert_with(|| Group {
            count: 0,
            example: example(),
        })
        .count += 1;
}

fn merge_counts<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (key, count) in from {
        *into.entry(key).or_default() += count;
    }
}

/// How many buckets the latency distribution is drawn with.
const BUCKETS: u32 = 8;

/// The latencies in [`BUCKETS`] buckets spaced evenly on a log scale from the fastest answer to
/// the slowest, each with its upper bound (microseconds) and count; empty when nothing came.
fn histogram(latency: &Histogram<u64>) -> Vec<Bucket> {
    if latency.is_empty() {
        return Vec::new();
    }
    let (low, high) = (latency.min().max(1), latency.max().max(1));
    let ratio = (high as f64 / low as f64).powf(1.0 / f64::from(BUCKETS));
    let mut bounds: Vec<u64> = (1..BUCKETS)
        .map(|i| (low as f64 * ratio.powi(i as i32)).round() as u64)
        .chain([high])
        .collect();
    bounds.dedup();
    let mut buckets: Vec<Bucket> = bounds
        .into_iter()
        .map(|upto_us| Bucket { upto_us, count: 0 })
        .collect();
    // Each recorded value once, into the first bucket that holds it: the counts add up.
    for value in latency.iter_recorded() {
        let at = value.value_iterated_to();
        let i = buckets
            .iter()
            .position(|b| at <= b.upto_us)
            .unwrap_or(buckets.len() - 1);
        buckets[i].count += value.count_at_value();
    }
    buckets
}

fn merge_groups<K: Ord>(into: &mut BTreeMap<K, Group>, from: BTreeMap<K, Group>) {
    for (key, group) in from {
        into.entry(key)
            .and_modify(|g| g.count += group.count)
            .or_insert(group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Callback, Reply, judge, judge_broken};

    fn before() -> &'static Callback {
        Callback::find("before-subscribe").unwrap()
    }

    /// The judgement of an answer with `body` to a before-subscribe callback.
    fn answer(body: &str) -> Judgement {
        let reply = Reply {
            latency: Some(Duration::from_millis(1)),
            ..Reply::new(200, body.as_bytes())
        };
        judge(before(), &["jared".to_owned()], reply)
    }

    const OK: &str = r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#;

    fn summary(tally: Tally) -> Summary {
        tally.into_summary(
            "http://h/im".to_owned(),
            2,
            Duration::from_secs(1),
            "10 requests".to_owned(),
            None,
        )
    }

    fn groups<K: Ord + Clone>(groups: &BTreeMap<K, Group>) -> Vec<(K, u64, String)> {
        groups
            .iter()
            .map(|(key, g)| (key.clone(), g.count, g.example.clone()))
            .collect()
    }

    #[test]
    fn every_request_is_counted_once_and_answers_by_their_latency() {
        let mut tally = Tally::new(Duration::from_secs(5)).unwrap();
        assert_eq!(tally.answered(200, Duration::from_millis(10)), 1);
        assert!(tally.judged(&answer(OK), None));
        assert_eq!(tally.answered(200, Duration::from_millis(2500)), 2);
        assert!(!tally.judged(&answer("not json"), None));
        tally.waited(Duration::from_secs(5));
        assert!(!tally.judged(&judge_broken(before(), "no answer"), None));
        tally.waited(Duration::from_secs(1));
        assert!(!tally.judged(&judge_broken(before(), "no answer"), None));
        tally.unreachable("refused".to_owned(), "start it".to_owned());
        let summary = summary(tally);
        assert_eq!(
            (
                summary.sent,
                summary.answered,
                summary.conforming,
                summary.over_budget
            ),
            (5, 2, 1, 2)
        );
        let latency = summary.latency.unwrap();
        assert!((9_990..=10_010).contains(&latency.p50), "{latency:?}");
        assert!(
            (2_499_000..=2_501_000).contains(&latency.max),
            "{latency:?}"
        );
        assert_eq!(
            groups(&summary.transport_errors),
            [("refused".to_owned(), 1, "start it".to_owned())]
        );
    }

    #[test]
    fn without_an_answer_there_are_no_percentiles() {
        let mut tally = Tally::new(Duration::from_secs(5)).unwrap();
        tally.unreachable("refused".to_owned(), "start it".to_owned());
        assert!(summary(tally).latency.is_none());
    }

    #[test]
    fn findings_are_grouped_by_code_once_per_answer_with_the_first_example() {
        let mut tally = Tally::new(Duration::from_secs(5)).unwrap();
        let twice = Judgement {
            findings: vec![
                Finding::error("odd", "a", "first"),
                Finding::error("odd", "b", "second"),
                Finding::warning("odd", "c", "a warning"),
            ],
            ..judge_broken(before(), "unused")
        };
        assert!(!tally.judged(&twice, None));
        assert!(!tally.judged(&twice, None));
        let unmet = Finding::error("expectation", "decision", "expected a rejection");
        let refusal = r#"{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"bad sign"}"#;
        assert!(!tally.judged(&answer(refusal), Some(&unmet)));
        let summary = summary(tally);
        assert_eq!(
            groups(&summary.failures),
            [
                (
                    "expectation",
                    1,
                    r#"expected a rejection; ErrorInfo "bad sign""#.to_owned()
                ),
                ("odd", 2, "first".to_owned()),
            ]
        );
        assert_eq!(
            groups(&summary.warnings),
            [("odd", 2, "a warning".to_owned())]
        );
        assert_eq!(summary.conforming, 0);
    }

    #[test]
    fn merged_tallies_add_up() {
        let mut one = Tally::new(Duration::from_secs(5)).unwrap();
        one.answered(200, Duration::from_millis(1));
        one.judged(&judge_broken(before(), "first"), None);
        one.unreachable("refused".to_owned(), "start it".to_owned());
        let mut other = Tally::new(Duration::from_secs(5)).unwrap();
        other.answered(503, Duration::from_millis(3));
        other.judged(&answer(OK), None);
        other.judged(&judge_broken(before(), "second"), None);
        other.unreachable("refused".to_owned(), "another hint".to_owned());
        other.unreachable("reset".to_owned(), "look".to_owned());
        one.merge(other).unwrap();
        let summary = summary(one);
        assert_eq!(
            (summary.sent, summary.answered, summary.conforming),
            (6, 2, 1)
        );
        let latency = summary.latency.unwrap();
        assert_eq!((latency.p50, latency.max), (1000, 3001));
        let broken = &summary.failures["broken-http"];
        assert_eq!(broken.count, 2);
        assert_contains(&broken.example, "first");
        assert_eq!(
            groups(&summary.transport_errors),
            [
                ("refused".to_owned(), 2, "start it".to_owned()),
                ("reset".to_owned(), 1, "look".to_owned()),
            ]
        );
    }

    fn assert_contains(text: &str, part: &str) {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }

    #[test]
    fn the_distribution_has_every_answer_once_fastest_first() {
        let mut latency = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
        for us in [120, 130, 900, 5_000, 5_001, 2_000_000] {
            latency.record(us).unwrap();
        }
        let buckets = histogram(&latency);
        assert!(buckets.len() <= BUCKETS as usize);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 6);
        assert!(buckets.windows(2).all(|w| w[0].upto_us < w[1].upto_us));
        assert_eq!(buckets[0].count, 2);
        assert_eq!(buckets.last().map(|b| b.count), Some(1));
        assert!(histogram(&Histogram::<u64>::new(3).unwrap()).is_empty());
    }
}
