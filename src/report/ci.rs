//! What a CI job shows: a Markdown summary of a run (`--summary FILE`, and GitHub Actions' job
//! summary) and one workflow-command annotation per failed case (`--annotations`), for `check`,
//! `replay` and load mode.

use super::check::interrupted;
use super::count;
use super::row::Row;
use crate::check::Counts;
use crate::check::{RunVerdict, Status, Stop};
use crate::clock::micros_as_millis;
use crate::load::{Percentiles, Summary};

/// The summary a `--summary` file holds from the start until the run writes its own: a run
/// that is killed leaves a summary that says so, never an empty file.
pub(crate) fn unfinished(name: &str, target: &str) -> String {
    format!(
        "## {name}: did not finish\n\nTarget: {}\n\n{name} was stopped before it could write this summary.\n",
        code(target)
    )
}

/// A run of `check` (or `replay`, which reports as check does) as Markdown: the verdict, the
/// counts, the cases that failed or warned, and every case folded away.
pub(crate) fn check_summary(
    name: &str,
    target: &str,
    results: &[impl Row],
    stop: Option<&Stop>,
) -> String {
    let counts = Counts::of(results.iter().map(Row::status));
    let verdict = RunVerdict::of(&counts, stop).word().to_uppercase();
    let mut text = format!("## {name}: {verdict}\n\nTarget: {}\n\n", code(target));
    if let Some(stop) = stop {
        text.push_str(&format!(
            "**Stopped:** {}\n\n",
            stopped(stop, results.len())
        ));
    }
    text.push_str(&format!(
        "| passed | failed | warned | skipped | cases |\n| ---: | ---: | ---: | ---: | ---: |\n| {} | {} | {} | {} | {} |\n",
        counts.passed, counts.failed, counts.warned, counts.skipped, counts.total
    ));
    for (status, heading) in [(Status::Fail, "Failed"), (Status::Warn, "Warnings")] {
        let cases: Vec<_> = results.iter().filter(|r| r.status() == status).collect();
        if cases.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "\n### {heading}\n\n| case | finding | what happened |\n| --- | --- | --- |\n"
        ));
        for result in cases {
            let finding = result.cause().map_or(String::new(), |f| code(f.code));
            text.push_str(&format!(
                "| {} | {finding} | {} |\n",
                code(result.id()),
                cell(result.message())
            ));
        }
    }
    if !results.is_empty() {
        text.push_str(&format!(
            "\n<details><summary>All {}</summary>\n\n| case | result | what happened |\n| --- | --- | --- |\n",
            count(results.len(), "case")
        ));
        for result in results {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                code(result.id()),
                status_word(result.status()),
                cell(result.message())
            ));
        }
        text.push_str("\n</details>\n");
    }
    text
}

/// A load run as Markdown: the verdict, the counts and latencies, decisions and statuses, and
/// the failures and warnings grouped by finding.
pub(crate) fn load_summary(name: &str, summary: &Summary) -> String {
    let verdict = match summary.interrupted {
        Some(_) => "INTERRUPTED",
        None if summary.unreachable().is_some() => "UNREACHABLE",
        None if summary.passed() => "PASS",
        None => "FAIL",
    };
    let mut text = format!(
        "## {name}: {verdict}\n\nTarget: {}, concurrency {}, {} in {:.2} s\n\n",
        code(&summary.url),
        summary.concurrency,
        count(summary.sent as usize, "request"),
        summary.elapsed.as_secs_f64()
    );
    if let Some(signal) = summary.interrupted {
        text.push_str(&format!(
            "**Stopped:** interrupted by {} after {}, of {} planned; no verdict on a run cut short\n\n",
            signal.name(),
            count(summary.sent as usize, "request"),
            summary.planned
        ));
    }
    if let Some((message, hint)) = summary.unreachable() {
        text.push_str(&format!(
            "**Stopped:** no request reached the target: {} ({})\n\n",
            cell(message),
            cell(hint)
        ));
    }
    let latency = |pick: fn(&Percentiles) -> u64| {
        summary.latency.as_ref().map_or("-".to_owned(), |p| {
            format!("{:.3} ms", micros_as_millis(pick(p)))
        })
    };
    text.push_str(&format!(
        "| requests | answered | conforming | over 2 s | answers/s | p50 | p90 | p99 | max |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |\n",
        summary.sent,
        summary.answered,
        summary.conforming,
        summary.over_budget,
        summary.throughput(),
        latency(|p| p.p50),
        latency(|p| p.p90),
        latency(|p| p.p99),
        latency(|p| p.max),
    ));
    let tally = |items: Vec<String>| items.join(", ");
    if !summary.decisions.is_empty() {
        let decisions = summary
            .decisions
            .iter()
            .map(|(kind, n)| format!("{} × {n}", code(kind)))
            .collect();
        text.push_str(&format!("\nDecisions: {}\n", tally(decisions)));
    }
    if !summary.statuses.is_empty() {
        let statuses = summary
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} × {n}"))
            .collect();
        text.push_str(&format!("\nStatuses: {}\n", tally(statuses)));
    }
    let groups = [
        ("Failures", &summary.failures, "answers"),
        ("Warnings", &summary.warnings, "answers"),
    ];
    for (heading, groups, what) in groups {
        if groups.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "\n### {heading}\n\n| finding | {what} | example |\n| --- | ---: | --- |\n"
        ));
        for (finding, group) in groups {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                code(finding),
                group.count,
                cell(&group.example)
            ));
        }
    }
    if !summary.transport_errors.is_empty() {
        text.push_str(
            "\n### Transport errors\n\n| error | requests | hint |\n| --- | ---: | --- |\n",
        );
        for (message, group) in &summary.transport_errors {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(message),
                group.count,
                cell(&group.example)
            ));
        }
    }
    text
}

/// One GitHub Actions workflow command per failed case (`::error`) and per warned one
/// (`::warning`), and one for a run that stopped early.
pub(crate) fn check_annotations(name: &str, results: &[impl Row], stop: Option<&Stop>) -> String {
    let mut lines = String::new();
    for result in results {
        let level = match result.status() {
            Status::Fail => "error",
            Status::Warn => "warning",
            Status::Pass | Status::Skip => continue,
        };
        let finding = result
            .cause()
            .map_or(String::new(), |f| format!(" ({})", f.code));
        lines.push_str(&annotation(
            level,
            &format!("{name}: {}", result.id()),
            &format!("{}{finding}", result.message()),
        ));
    }
    if let Some(stop) = stop {
        lines.push_str(&annotation(
            "error",
            &format!("{name}: stopped"),
            &stopped(stop, results.len()),
        ));
    }
    lines
}

/// One workflow command per group of failed answers (`::error`), of warnings (`::warning`),
/// of transport errors, and one for an interrupted run.
pub(crate) fn load_annotations(name: &str, summary: &Summary) -> String {
    let mut lines = String::new();
    for (level, groups) in [("error", &summary.failures), ("warning", &summary.warnings)] {
        for (finding, group) in groups {
            lines.push_str(&annotation(
                level,
                &format!("{name}: {finding}"),
                &format!(
                    "{} of {}: {}",
                    count(group.count as usize, "answer"),
                    summary.sent,
                    group.example
                ),
            ));
        }
    }
    for (message, group) in &summary.transport_errors {
        lines.push_str(&annotation(
            "error",
            &format!("{name}: transport"),
            &format!(
                "{message} ({}): {}",
                count(group.count as usize, "request"),
                group.example
            ),
        ));
    }
    if let Some(signal) = summary.interrupted {
        lines.push_str(&annotation(
            "error",
            &format!("{name}: stopped"),
            &format!(
                "interrupted by {} after {}; no verdict on a run cut short",
                signal.name(),
                count(summary.sent as usize, "request")
            ),
        ));
    }
    lines
}

/// `::LEVEL title=TITLE::MESSAGE`, escaped as GitHub reads workflow commands: `%`, CR and LF
/// in both, and `:` and `,` in the title too.
fn annotation(level: &str, title: &str, message: &str) -> String {
    let data = |text: &str| {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = data(title).replace(':', "%3A").replace(',', "%2C");
    format!("::{level} title={property}::{}\n", data(message))
}

/// Why a run stopped before its end, in a sentence.
fn stopped(stop: &Stop, ran: usize) -> String {
    match stop {
        Stop::Interrupted { .. } => format!(
            "interrupted {}; the rest did not run",
            interrupted(stop, ran).unwrap_or_default()
        ),
        Stop::Unreachable { case, error } => format!(
            "the target could not be reached{}: {}",
            case.as_ref()
                .map_or(String::new(), |c| format!(" (in {})", c.id)),
            error.message
        ),
        Stop::Error(error) => error.message.clone(),
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "**fail**",
        Status::Warn => "warn",
        Status::Skip => "skip",
    }
}

/// `text` as inline code, whatever backticks it holds.
fn code(text: &str) -> String {
    let ticks = if text.contains('`') { "``" } else { "`" };
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{}{pad}{ticks}", text.replace('|', "\\|"))
}

/// `text` as a table cell: one line, no column break, no HTML.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::Signal;
    use crate::load::Group;
    use crate::protocol::Finding;
    use crate::replay::{Compared, Outcome};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn result(id: &str, status: Status, message: &str, code: &'static str) -> Compared {
        Compared {
            id: id.to_owned(),
            description: format!("what {id} proves"),
            outcome: Outcome {
                status,
                message: message.to_owned(),
                findings: match status {
                    Status::Fail => vec![Finding::error(code, "answer", message)],
                    Status::Warn => vec![Finding::warning(code, "answer", message)],
                    Status::Pass | Status::Skip => Vec::new(),
                },
                evidence: None,
            },
            went_ahead: Default::default(),
        }
    }

    /// The summary as a golden file pins it; `OA_HOOK_BLESS=1 cargo test` writes it anew.
    fn golden(name: &str, text: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("OA_HOOK_BLESS").is_some() {
            std::fs::write(&path, text).unwrap();
        }
        let pinned = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text, pinned, "{} differs", path.display());
    }

    #[test]
    fn a_check_summary_is_pinned() {
        let results = [
            result(
                "before-subscribe/answer",
                Status::Pass,
                "conforming answer",
                "",
            ),
            result(
                "security/bad-sign",
                Status::Fail,
                "accepted a Sign made with another token | twice\nover <two> lines",
                "accepted-bad-sign",
            ),
            result(
                "robustness/other-command",
                Status::Warn,
                "State.StateChange got HTTP 400",
                "other-command-refused",
            ),
            result(
                "before-subscribe/decision",
                Status::Skip,
                "no expectation given",
                "",
            ),
        ];
        let stop = Stop::Interrupted {
            signal: Signal::Interrupt,
            total: 12,
        };
        golden(
            "check-summary.md",
            &check_summary(
                "oa-hook check",
                "http://user:***@127.0.0.1:3000/im",
                &results,
                None,
            ),
        );
        golden(
            "check-summary-interrupted.md",
            &check_summary(
                "oa-hook check",
                "http://127.0.0.1:3000/im",
                &results[..1],
                Some(&stop),
            ),
        );
        assert_eq!(
            check_annotations("oa-hook check", &results, Some(&stop)),
            "::error title=oa-hook check%3A security/bad-sign::accepted a Sign made with another token | twice%0Aover <two> lines (accepted-bad-sign)\n\
             ::warning title=oa-hook check%3A robustness/other-command::State.StateChange got HTTP 400 (other-command-refused)\n\
             ::error title=oa-hook check%3A stopped::interrupted by SIGINT after 4 of 12 cases; the rest did not run\n"
        );
    }

    #[test]
    fn a_load_summary_is_pinned() {
        let group = |count, example: &str| Group {
            count,
            example: example.to_owned(),
        };
        let summary = Summary {
            went_ahead: None,
            late_only: 0,
            max_late: None,
            url: "http://127.0.0.1:3000/im".to_owned(),
            concurrency: 32,
            sent: 10_000,
            answered: 9_990,
            conforming: 9_480,
            failures: BTreeMap::from([(
                "wrong-type",
                group(
                    500,
                    "ErrorCode: is the string \"0\"; expected the integer 0 (no quotes)",
                ),
            )]),
            warnings: BTreeMap::from([(
                "unknown-field",
                group(
                    20,
                    "`Extra` is not a documented answer field; Chat ignores it",
                ),
            )]),
            transport_errors: BTreeMap::from([(
                "connection reset".to_owned(),
                group(10, "the backend closed the connection mid-answer"),
            )]),
            over_budget: 3,
            elapsed: Duration::from_millis(2_500),
            latency: Some(Percentiles {
                p50: 970,
                p90: 1_301,
                p99: 1_962,
                max: 2_100_000,
            }),
            histogram: Vec::new(),
            statuses: BTreeMap::from([(200, 9_980), (503, 10)]),
            decisions: BTreeMap::from([
                ("subscribes", 9_480),
                ("undocumented", 507),
                ("timed-out", 3),
            ]),
            planned: "10000 requests".to_owned(),
            interrupted: None,
        };
        golden("load-summary.md", &load_summary("oa-hook send", &summary));
        assert_eq!(
            load_annotations("oa-hook send", &summary),
            "::error title=oa-hook send%3A wrong-type::500 answers of 10000: ErrorCode: is the string \"0\"; expected the integer 0 (no quotes)\n\
             ::warning title=oa-hook send%3A unknown-field::20 answers of 10000: `Extra` is not a documented answer field; Chat ignores it\n\
             ::error title=oa-hook send%3A transport::connection reset (10 requests): the backend closed the connection mid-answer\n"
        );
    }

    #[test]
    fn workflow_commands_escape_what_github_reads() {
        assert_eq!(
            annotation("error", "a: b, c%", "50% done\r\nnext: x"),
            "::error title=a%3A b%2C c%25::50%25 done%0D%0Anext: x\n"
        );
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(cell("a|b<c>\nd\\"), "a\\|b&lt;c> d\\\\");
    }
}
