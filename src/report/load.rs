//! The summary of a load run: counts, failures grouped, throughput, latency percentiles.

use super::{Render, count, mark, verdict_line, verdict_word};
use crate::clock::{micros_as_millis, millis};
use crate::interrupt::Signal;
use crate::load::{Bucket, Group, Summary};
use crate::output;
use crate::protocol::{BUDGET, Severity};
use crate::veto::percent;
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl Summary {
    fn verdict(&self) -> String {
        if let Some(signal) = self.interrupted {
            return format!(
                "{} by {} after {} in {:.2} s, of {} planned; no verdict on a run cut short",
                output::failed("INTERRUPTED"),
                signal.name(),
                count(self.sent as usize, "request"),
                self.elapsed.as_secs_f64(),
                self.planned
            );
        }
        let over_max_late = match (self.max_late, self.went_ahead) {
            (Some(max), Some(lost)) if !self.late_within() => {
                Some(format!("{lost}, over --max-late {}", percent(max)))
            }
            _ => None,
        };
        let detail = if let Some(over) = over_max_late {
            over
        } else if self.passed() && self.late_only > 0 {
            format!(
                "{} conforming, {} only late, within --max-late {}",
                count(self.conforming as usize, "answer"),
                self.late_only,
                percent(self.max_late.unwrap_or_default())
            )
        } else if self.passed() {
            format!("{} conforming", count(self.conforming as usize, "answer"))
        } else if self.sent == 0 {
            "no request completed".to_owned()
        } else {
            format!(
                "{} of {} requests failed",
                self.sent - self.conforming,
                self.sent
            )
        };
        verdict_line(self.passed(), &detail)
    }
}

/// A load run as a report; `quiet`: the verdict alone.
pub(crate) struct LoadReport<'a> {
    pub summary: &'a Summary,
    pub quiet: bool,
}

impl Render for LoadReport<'_> {
    fn human(&self) -> String {
        human(self.summary, self.quiet)
    }

    fn json(&self) -> Value {
        json(self.summary)
    }
}

/// Lines for people; `quiet`: the verdict alone.
fn human(summary: &Summary, quiet: bool) -> String {
    let mut lines = Vec::new();
    if !quiet {
        lines.push(format!(
            "{} to {}, concurrency {}, in {:.2} s{}",
            count(summary.sent as usize, "request"),
            summary.url,
            summary.concurrency,
            summary.elapsed.as_secs_f64(),
            if summary.interrupted.is_some() {
                " (interrupted)"
            } else {
                ""
            }
        ));
        lines.push(format!("answered     {}", summary.answered));
        lines.push(format!("conforming   {}", summary.conforming));
        for (severity, groups) in [
            (Severity::Error, &summary.failures),
            (Severity::Warning, &summary.warnings),
        ] {
            for (code, group) in groups {
                lines.push(format!(
                    "  {} {code} in {}: {}",
                    mark(severity),
                    count(group.count as usize, "answer"),
                    group.example
                ));
            }
        }
        for (message, group) in &summary.transport_errors {
            lines.push(format!(
                "  {} {message} ({}): {}",
                output::fail_mark(),
                count(group.count as usize, "request"),
                group.example
            ));
        }
        lines.push(format!(
            "throughput   {:.1} answers/s",
            summary.throughput()
        ));
        if let Some(p) = summary.latency {
            lines.push(format!(
                "latency      p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                micros_as_millis(p.p50),
                micros_as_millis(p.p90),
                micros_as_millis(p.p99),
                micros_as_millis(p.max)
            ));
        }
        lines.push(format!(
            "over budget  {} (no answer within Chat's {} s)",
            summary.over_budget,
            BUDGET.as_secs()
        ));
        if let Some(lost) = summary.went_ahead {
            lines.push(lost.to_string());
        }
        lines.extend(bars(&summary.histogram));
        lines.extend(tally("statuses    ", &summary.statuses));
        lines.extend(tally("decisions   ", &summary.decisions));
    }
    lines.push(summary.verdict());
    lines.join("\n") + "\n"
}

/// `statuses     200 × 9, 500 × 1`: each value and how often it came; no line when none did.
fn tally<K: std::fmt::Display>(label: &str, counts: &BTreeMap<K, u64>) -> Option<String> {
    let each: Vec<String> = counts.iter().map(|(k, n)| format!("{k} × {n}")).collect();
    (!each.is_empty()).then(|| format!("{label} {}", each.join(", ")))
}

/// One JSON document; its shape is documented in the README and pinned by a test.
fn json(summary: &Summary) -> Value {
    json!({
        "url": summary.url,
        "concurrency": summary.concurrency,
        "requests": summary.sent,
        "answered": summary.answered,
        "conforming": summary.conforming,
        "failures": groups_json(&summary.failures, "code", "example"),
        "warnings": groups_json(&summary.warnings, "code", "example"),
        "transport_errors": groups_json(&summary.transport_errors, "message", "hint"),
        "over_budget": summary.over_budget,
        "went_ahead": summary.went_ahead.map(|lost| lost.json()),
        "max_late": summary.max_late,
        "elapsed_ms": millis(summary.elapsed),
        "throughput": (summary.throughput() * 10.0).round() / 10.0,
        "latency_ms": summary.latency.map(|p| json!({
            "p50": micros_as_millis(p.p50),
            "p90": micros_as_millis(p.p90),
            "p99": micros_as_millis(p.p99),
            "max": micros_as_millis(p.max),
        })),
        "histogram": summary.histogram.iter().map(|b| json!({
            "le_ms": micros_as_millis(b.upto_us),
            "count": b.count,
        })).collect::<Vec<_>>(),
        "statuses": summary.statuses.iter().map(|(status, n)| (status.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "decisions": summary.decisions,
        "interrupted": summary.interrupted.is_some(),
        "signal": summary.interrupted.map(Signal::name),
        "verdict": match summary.interrupted {
            Some(_) => "interrupted",
            None => verdict_word(summary.passed()),
        },
    })
}

/// The latency distribution as bars, the longest 30 characters wide.
fn bars(histogram: &[Bucket]) -> Vec<String> {
    const BAR: u64 = 30;
    let most = histogram.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut lines = Vec::with_capacity(histogram.len() + 1);
    if !histogram.is_empty() {
        lines.push("distribution".to_owned());
    }
    for bucket in histogram {
        let width = (bucket.count * BAR).div_ceil(most) as usize;
        lines.push(format!(
            "  ≤ {:>9.3} ms  {:<30}  {}",
            micros_as_millis(bucket.upto_us),
            "█".repeat(width),
            bucket.count
        ));
    }
    lines
}

fn groups_json<K: AsRef<str>>(groups: &BTreeMap<K, Group>, key: &str, example: &str) -> Value {
    groups
        .iter()
        .map(|(k, group)| json!({ key: k.as_ref(), "count": group.count, example: group.example }))
        .collect()
}
