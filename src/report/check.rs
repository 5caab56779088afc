//! `oa-hook check` results: lines for people, one JSON document, or JUnit XML.

use super::request;
use super::row::Row;
use super::send::answer_http;
use super::{Render, count};
use crate::check::fuzz::Fuzzed;
use crate::check::{Case, Counts, Exchanged, RunVerdict, Status, Stop};
use crate::output;
use crate::protocol::Finding;
use crate::veto::LostVetoes;
use colored::Colorize;
use serde_json::json;

fn mark(status: Status) -> colored::ColoredString {
    match status {
        Status::Pass => output::pass_mark(),
        Status::Fail => output::fail_mark(),
        Status::Warn => output::warn_mark(),
        Status::Skip => output::skip_mark(),
    }
}

/// The header line: what is being checked.
pub(crate) fn human_header(target: &str, sdkappid: u64, signed: bool) -> String {
    format!(
        "{} {target} (SdkAppid {sdkappid}, {})\n",
        "oa-hook check".bold(),
        if signed {
            "signed"
        } else {
            "unsigned: no token"
        }
    )
}

/// A run of the suite (or a replay) as a report; `verbose` shows every case's answer and
/// exchanges; `stop` says why the run ended early, if it did.
pub(crate) struct CheckReport<'a, R> {
    pub target: &'a str,
    pub results: &'a [R],
    pub verbose: bool,
    pub stop: Option<&'a Stop>,
}

impl<R> CheckReport<'_, R> {
    /// Whether there is anything to print for people: a run that could not start or could
    /// not reach the target says so on stderr alone.
    pub(crate) fn has_human(&self) -> bool {
        matches!(self.stop, None | Some(Stop::Interrupted { .. }))
    }
}

impl<R: Row> Render for CheckReport<'_, R> {
    fn human(&self) -> String {
        human(self.results, self.verbose, self.stop)
    }

    fn json(&self) -> serde_json::Value {
        json(self.target, self.results, self.stop)
    }
}

/// "interrupted by SIGINT after 3 of 12 cases": what ran of a run a signal stopped.
pub(crate) fn interrupted(stop: &Stop, ran: usize) -> Option<String> {
    match stop {
        Stop::Interrupted { signal, total } => Some(format!(
            "by {} after {ran} of {total}",
            signal.name(),
            total = count(*total, "case")
        )),
        _ => None,
    }
}

/// `stopped` of the JSON report: why the run ended early, in words.
fn stopped_json(stop: &Stop, ran: usize) -> serde_json::Value {
    match stop {
        Stop::Interrupted { signal, total } => json!({
            "reason": "interrupted",
            "signal": signal.name(),
            "ran": ran,
            "of": total,
            "message": interrupted(stop, ran).map(|why| format!("interrupted {why}")),
        }),
        Stop::Unreachable { case, error } => json!({
            "reason": "unreachable",
            "case": case.as_ref().map(|c| &c.id),
            "message": error.message,
            "hint": error.hint,
        }),
        Stop::Error(error) => json!({
            "reason": "error",
            "message": error.message,
            "hint": error.hint,
        }),
    }
}

/// `--list`: the cases and what each proves.
pub(crate) struct CaseList<'a>(pub &'a [Case]);

impl Render for CaseList<'_> {
    fn human(&self) -> String {
        let width = self.0.iter().map(|c| c.id.len()).max().unwrap_or(0);
        self.0
            .iter()
            .map(|c| format!("{:width$}  {}\n", c.id, c.description))
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        json!({ "cases": self.0 })
    }
}

/// One line per case (and a line per further finding), then a line per cause that two cases
/// or more share, then the counts and the verdict. What came back is shown for every case that
/// did not pass, and for every case with `verbose`, which also prints each request and answer
/// of the case.
fn human(results: &[impl Row], verbose: bool, stop: Option<&Stop>) -> String {
    let width = results.iter().map(|r| r.id().len()).max().unwrap_or(0);
    let mut text: String = results
        .iter()
        .map(|result| human_case(result, width, verbose))
        .collect();
    text.push_str(&shared_causes(results));
    text.push_str(&went_ahead_line(results));
    text.push_str(&seed_line(results));
    text.push_str(&human_summary(
        &Counts::of(results.iter().map(Row::status)),
        stop,
    ));
    text
}

/// The lines of one case, its id padded to `width`: replay prints each as it comes.
pub(crate) fn human_case(result: &impl Row, width: usize, verbose: bool) -> String {
    let mut text = String::new();
    let evidence = result
        .evidence()
        .map(|e| format!(" ({}, {:.0} ms)", e.answer.status, e.latency_ms))
        .unwrap_or_default();
    text.push_str(&format!(
        "{} {:width$}  {}{}\n",
        mark(result.status()),
        result.id(),
        result.message(),
        evidence.dimmed()
    ));
    if result.status() != Status::Pass {
        for finding in result.findings().iter().skip(1) {
            text.push_str(&format!("    {finding}\n"));
        }
    }
    if verbose || result.status() != Status::Pass {
        for (label, evidence) in [("answer", result.evidence()), ("control", result.control())] {
            if let Some(evidence) = evidence {
                text.push_str(&format!(
                    "    {}\n",
                    format!("{label}: {evidence}").dimmed()
                ));
            }
        }
    }
    text.push_str(&indent(&fuzz_lines(result)));
    for exchanged in result.transcript() {
        text.push('\n');
        text.push_str(&indent(&transcript(exchanged)));
        text.push('\n');
    }
    text
}

/// The last lines of a report for people: the counts and the verdict.
pub(crate) fn human_summary(counts: &Counts, stop: Option<&Stop>) -> String {
    let verdict = match stop.and_then(|stop| interrupted(stop, counts.total)) {
        Some(why) => format!(
            "{} {why}; the rest did not run",
            output::failed("INTERRUPTED")
        ),
        None => super::verdict_line(counts.pass(), ""),
    };
    let cases = count(counts.total, "case");
    format!(
        "\n{cases}: {} passed, {} failed, {} warned, {} skipped\n{verdict}\n",
        counts.passed, counts.failed, counts.warned, counts.skipped
    )
}

/// A line for each finding code that made two cases or more fail (then warn), with how many and
/// the first one's message: a backend with one flaw reads as one cause, not one per callback.
fn shared_causes(results: &[impl Row]) -> String {
    let mut causes: Vec<(Status, &Finding, usize)> = Vec::new();
    for result in results {
        let Some(cause) = result.cause() else {
            continue;
        };
        match causes
            .iter_mut()
            .find(|(status, first, _)| *status == result.status() && first.code == cause.code)
        {
            Some((_, _, cases)) => *cases += 1,
            None => causes.push((result.status(), cause, 1)),
        }
    }
    causes.retain(|(_, _, cases)| *cases > 1);
    causes.sort_by_key(|(status, _, _)| *status != Status::Fail);
    let mut text = String::new();
    if !causes.is_empty() {
        text.push('\n');
    }
    for (status, cause, cases) in causes {
        text.push_str(&format!(
            "{} {} in {}: {}\n",
            mark(status),
            cause.code,
            count(cases, "case"),
            cause.message
        ));
    }
    text
}

/// The before callbacks of a run, summed over its cases, and those that went ahead on Chat's
/// timeout.
pub(super) fn lost_vetoes(results: &[impl Row]) -> LostVetoes {
    let mut lost = LostVetoes::default();
    for result in results {
        lost.add(result.went_ahead());
    }
    lost
}

/// `went ahead on Chat's timeout: 1 (7.1%) of 14 before callbacks`, when any was sent.
fn went_ahead_line(results: &[impl Row]) -> String {
    let lost = lost_vetoes(results);
    if lost.before_callbacks == 0 {
        return String::new();
    }
    let line = format!(
        "{lost} of {}",
        count(lost.before_callbacks as usize, "before callback")
    );
    match lost.went_ahead {
        0 => format!("\n{line}\n"),
        _ => format!("\n{}\n", line.red()),
    }
}

/// The run of a fuzz case, when there was one.
pub(super) fn fuzzed(results: &[impl Row]) -> Option<&Fuzzed> {
    results.iter().find_map(Row::fuzz)
}

/// `fuzz: 100 generated callbacks per command, seed 42 (--fuzz 100 --seed 42 makes them
/// again)`, when the run fuzzed.
fn seed_line(results: &[impl Row]) -> String {
    fuzzed(results).map_or_else(String::new, |fuzz| {
        format!(
            "fuzz: {} per command, seed {} (--fuzz {} --seed {} makes them again)\n",
            count(fuzz.per_command as usize, "generated callback"),
            fuzz.seed,
            fuzz.per_command,
            fuzz.seed
        )
    })
}

/// Under a fuzz case that failed: when it was found, the shrunk body, and what to paste to see
/// it fail again.
pub(super) fn fuzz_lines(result: &impl Row) -> String {
    let Some(shrunk) = result.fuzz().and_then(|f| f.failure.as_ref()) else {
        return String::new();
    };
    let mut text = format!(
        "found at callback {} after {:.1} s; shrunk in {} steps ({} tried, {:.1} s{})\n",
        shrunk.found_at,
        shrunk.found_after_ms / 1000.0,
        shrunk.steps,
        shrunk.tries,
        shrunk.shrink_ms / 1000.0,
        if shrunk.cut_short {
            ", cut short at the budget"
        } else {
            ""
        }
    );
    text.push_str(&format!("body: {}\n", shrunk.body));
    for file in &shrunk.files {
        text.push_str(&format!("written to {file}\n"));
    }
    text.push_str("reproduce:\n");
    for command in &shrunk.reproduce {
        text.push_str(&format!("  {command}\n"));
    }
    text
}

/// A request as sent and its answer as received, as `send -v` prints them.
fn transcript(exchanged: &Exchanged) -> String {
    let mut text = request::http_sent(&exchanged.url, &exchanged.body);
    text.push_str("\n\n");
    match &exchanged.answer {
        Ok(exchange) => text.push_str(&answer_http(exchange)),
        Err(e) => text.push_str(&format!("(no answer: {})\n", e.message())),
    }
    text
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

/// The whole run as one JSON document (shape documented in the README). With `-v` each case
/// also has `exchanges`: every request and answer as text.
fn json(target: &str, results: &[impl Row], stop: Option<&Stop>) -> serde_json::Value {
    let counts = Counts::of(results.iter().map(Row::status));
    let cases: Vec<serde_json::Value> = results
        .iter()
        .map(|result| {
            let mut case = serde_json::to_value(result).unwrap_or_default();
            if !result.transcript().is_empty()
                && let Some(fields) = case.as_object_mut()
            {
                let exchanges = result
                    .transcript()
                    .iter()
                    .map(|e| transcript(e).into())
                    .collect();
                fields.insert("exchanges".into(), serde_json::Value::Array(exchanges));
            }
            case
        })
        .collect();
    let mut report = json!({
        "target": target,
        "verdict": RunVerdict::of(&counts, stop).word(),
        "summary": counts,
        "cases": cases,
    });
    if let (Some(stop), Some(fields)) = (stop, report.as_object_mut()) {
        fields.insert("stopped".into(), stopped_json(stop, results.len()));
    }
    if let Some(fields) = report.as_object_mut() {
        let lost = lost_vetoes(results);
        let went_ahead = (lost.before_callbacks > 0).then(|| lost.json());
        fields.insert("went_ahead".into(), went_ahead.into());
        if let Some(fuzz) = fuzzed(results) {
            let run = json!({ "seed": fuzz.seed, "per_command": fuzz.per_command });
            fields.insert("fuzz".into(), run);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CaseResult;
    use crate::check::{Case, Covered, Evidence, select};
    use crate::protocol::{Finding, Reply};
    use crate::report::junit::junit;

    fn builtin(id: &str) -> Case {
        select(&[], &[], &[], &Covered::new(&[]))
            .into_iter()
            .find(|c| c.id == id)
            .unwrap()
    }

    fn result(id: &str, status: Status, message: &str) -> CaseResult {
        let case = builtin(id);
        let answer = crate::protocol::Evidence::of(Reply::new(
            200,
            br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#,
        ));
        CaseResult {
            case,
            status,
            message: message.to_owned(),
            findings: match status {
                Status::Fail => vec![Finding::error("accepted-bad-sign", "answer", message)],
                Status::Warn => vec![Finding::warning("other-command-refused", "answer", message)],
                Status::Pass | Status::Skip => Vec::new(),
            },
            evidence: Some(Evidence {
                answer,
                latency_ms: 1.5,
            }),
            control: None,
            transcript: Vec::new(),
            went_ahead: LostVetoes::default(),
            fuzz: None,
        }
    }

    #[test]
    fn junit_has_a_suite_per_group_and_each_outcome_in_its_element() {
        let results = [
            result("before-subscribe/answer", Status::Pass, "conforming"),
            result(
                "security/bad-sign",
                Status::Fail,
                "accepted a Sign made with another token",
            ),
            result(
                "robustness/other-command",
                Status::Warn,
                "State.StateChange got HTTP 400",
            ),
        ];
        let stop = Stop::Unreachable {
            case: Some(builtin("robustness/keep-alive")),
            error: crate::error::Error::unreachable("connection refused"),
        };
        let xml = junit(
            "oa-hook check",
            "http://127.0.0.1:1/im",
            &results,
            Some(&stop),
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suites: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .map(|n| (n.attribute("name").unwrap(), n.attribute("tests").unwrap()))
            .collect();
        assert_eq!(
            suites,
            [
                ("before-subscribe", "1"),
                ("security", "1"),
                ("robustness", "2")
            ]
        );
        let outcome = |id: &str| {
            let case = doc
                .descendants()
                .find(|n| n.attribute("name") == Some(id))
                .unwrap();
            let element = case.children().find(|c| c.is_element());
            (
                element.map(|e| e.tag_name().name().to_owned()),
                case.attribute("time").map(str::to_owned),
            )
        };
        assert_eq!(
            outcome("before-subscribe/answer"),
            (None, Some("0.002".into()))
        );
        assert_eq!(outcome("security/bad-sign").0.as_deref(), Some("failure"));
        assert_eq!(
            outcome("robustness/other-command").0.as_deref(),
            Some("system-out")
        );
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(failure.attribute("type"), Some("accepted-bad-sign"));
        let out = doc
            .descendants()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        assert!(
            out.text()
                .unwrap()
                .starts_with("warning (other-command-refused): "),
            "{xml}"
        );
        assert_eq!(outcome("robustness/keep-alive").0.as_deref(), Some("error"));
        assert!(xml.contains("answer: HTTP 200, ActionStatus OK, ErrorCode 0 in 1.5 ms"));
    }

    #[test]
    fn the_summary_names_each_cause_two_cases_or_more_share_failures_first() {
        let results = [
            result("robustness/other-command", Status::Warn, "got 400"),
            result("security/bad-sign", Status::Fail, "accepted"),
            result("robustness/malformed-body", Status::Warn, "got 400"),
            result("security/missing-sign", Status::Fail, "accepted"),
            result("security/wrong-sdkappid", Status::Pass, "refused"),
        ];
        let text = shared_causes(&results);
        assert_eq!(
            text,
            format!(
                "\n{} accepted-bad-sign in 2 cases: accepted\n{} other-command-refused in 2 cases: got 400\n",
                mark(Status::Fail),
                mark(Status::Warn)
            )
        );
        assert_eq!(shared_causes(&results[..2]), "");
    }
}
