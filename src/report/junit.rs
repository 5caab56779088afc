//! `check` and `replay` as JUnit XML, for CI systems.

use super::check::{fuzz_lines, fuzzed, interrupted, lost_vetoes};
use super::row::{Row, group_of};
use crate::check::{Status, Stop};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The report a `--junit` file holds from the start until the run writes its own: a run that
/// is killed (SIGKILL, a second Ctrl-C) leaves a report that fails, never an empty file.
pub(crate) fn unfinished(name: &str, target: &str) -> String {
    let mut report = Report::new(name);
    let mut suite = TestSuite::new("oa-hook");
    suite.add_property(("target", target));
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(format!(
        "{name} did not finish: it was stopped before it could write this report"
    ));
    status.set_type("unfinished");
    let mut case = TestCase::new("unfinished", status);
    case.set_classname("oa-hook.unfinished");
    suite.add_test_case(case);
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

/// JUnit XML for the report named `name` (`oa-hook check`, or `oa-hook replay`, which reports
/// as check does): one test suite per group, one test case per case. When the run ended early,
/// one more test case says why, as an error (type `unreachable`, `interrupted` or `error`), so
/// that a CI step that collects the report finds it either way.
pub(crate) fn junit(name: &str, target: &str, results: &[impl Row], stop: Option<&Stop>) -> String {
    let mut report = Report::new(name);
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in results {
        let group = result.group();
        let index = suite_index(&mut suites, group, target);
        let mut status = match result.status() {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(result.message().to_owned());
                if let Some(finding) = result.cause() {
                    status.set_type(finding.code);
                }
                status
            }
            Status::Skip => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(result.message().to_owned());
                status
            }
        };
        if result.status() == Status::Fail {
            status.set_description(details(result));
        }
        let mut case = TestCase::new(result.id(), status);
        case.set_classname(format!("oa-hook.{group}"));
        if let Some(evidence) = result.evidence() {
            case.set_time(Duration::from_secs_f64(evidence.latency_ms / 1000.0));
        }
        // A warning does not fail the run, so it stays a success, which has no element to
        // carry a `type`: its code leads its system-out instead.
        if result.status() == Status::Warn {
            let code = result
                .cause()
                .map_or(String::new(), |f| format!(" ({})", f.code));
            case.set_system_out(format!("warning{code}: {}", details(result)));
        }
        suites[index].add_test_case(case);
    }
    if let Some(stop) = stop {
        let (id, group, kind, message) = match stop {
            Stop::Unreachable { case, error } => {
                let id = case.as_ref().map_or("unreachable", |c| c.id.as_ref());
                let group = case.as_ref().map_or("oa-hook", |c| group_of(&c.id));
                let message = format!("the target could not be reached: {}", error.message);
                (id, group, "unreachable", message)
            }
            Stop::Interrupted { .. } => {
                let why = interrupted(stop, results.len()).unwrap_or_default();
                let message = format!("interrupted {why}; the rest did not run");
                ("interrupted", "oa-hook", "interrupted", message)
            }
            Stop::Error(error) => ("error", "oa-hook", "error", error.message.clone()),
        };
        let index = suite_index(&mut suites, group, target);
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(message);
        status.set_type(kind);
        let mut test_case = TestCase::new(id, status);
        test_case.set_classname(format!("oa-hook.{group}"));
        suites[index].add_test_case(test_case);
    }
    add_went_ahead(&mut suites, results);
    if let Some(fuzz) = fuzzed(results)
        && let Some(suite) = suites.iter_mut().find(|s| s.name.as_str() == "fuzz")
    {
        suite.add_property(("seed", fuzz.seed.to_string().as_str()));
        suite.add_property(("per-command", fuzz.per_command.to_string().as_str()));
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}

/// The run's lost vetoes as properties of every test suite, when a before callback was sent:
/// `went-ahead` (how many), `went-ahead-percent`, `before-callbacks`.
fn add_went_ahead(suites: &mut [TestSuite], results: &[impl Row]) {
    let lost = lost_vetoes(results);
    if lost.before_callbacks == 0 {
        return;
    }
    for suite in suites {
        let properties = [
            ("went-ahead", lost.went_ahead.to_string()),
            ("went-ahead-percent", format!("{:.3}", lost.percent())),
            ("before-callbacks", lost.before_callbacks.to_string()),
        ];
        for (name, value) in properties {
            suite.add_property((name, value.as_str()));
        }
    }
}

/// The index of `group`'s test suite, added when it is not there yet.
fn suite_index(suites: &mut Vec<TestSuite>, group: &str, target: &str) -> usize {
    if let Some(index) = suites.iter().position(|s| s.name.as_str() == group) {
        return index;
    }
    let mut suite = TestSuite::new(group);
    suite.add_property(("target", target));
    suites.push(suite);
    suites.len() - 1
}

fn details(result: &impl Row) -> String {
    let mut text = result.description().to_owned();
    text.push('\n');
    if result.findings().is_empty() {
        text.push_str(result.message());
        text.push('\n');
    }
    for finding in result.findings() {
        text.push_str(&format!("{finding}\n"));
    }
    for (label, evidence) in [("answer", result.evidence()), ("control", result.control())] {
        if let Some(evidence) = evidence {
            text.push_str(&format!("{label}: {evidence}\n"));
        }
    }
    text.push_str(&fuzz_lines(result));
    text
}
