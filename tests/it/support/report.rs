//! Reading `check --output json` reports: cases looked up by id.

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
