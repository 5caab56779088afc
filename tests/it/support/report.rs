//! Reading `check --output json` reports (cases looked up by id) and JUnit reports.

use super::{Expect, Test, anything};
use std::path::Path;

/// `check --url URL --only scenario --output json` in `dir`, reading the `oa-hook.toml` there as
/// a newcomer's run would, expecting exit `status`: the report.
pub fn scenario_report(dir: &Path, url: &str, status: i32) -> serde_json::Value {
    Test::new()
        .current_dir(dir)
        .env_remove("OA_HOOK_CONFIG")
        .args(["check", "--url", url, "--only", "scenario", "-o", "json"])
        .status(status)
        .stdout(anything())
        .run()
        .json()
}

/// The case `id` of a `check --output json` report.
pub fn case<'r>(report: &'r serde_json::Value, id: &str) -> &'r serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {report:#}"))
}

/// The status of each case of a `check --output json` report, by id, in order.
pub fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The ids of the cases of a `check --output json` report, in order.
pub fn case_ids(report: &serde_json::Value) -> Vec<&str> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

/// The first element named `tag` of a JUnit report, in document order.
pub fn first_element<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    tag: &str,
) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.has_tag_name(tag))
        .unwrap_or_else(|| panic!("no <{tag}> in the JUnit report"))
}

/// Asserts that the `message` of `case` (a case of a report, or a finding) meets `expect`.
#[track_caller]
pub fn assert_message(case: &serde_json::Value, expect: impl Into<Expect>) {
    let message = case["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {case:#}"));
    expect.into().assert("message", message);
}
