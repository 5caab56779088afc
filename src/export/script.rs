//! The load scripts for engines that run on many machines (Locust, k6): what they send and what
//! they make of the answers, as one JSON spec each script carries. The spec holds each
//! callback's sample body, its answer schema, and the decision the judge reads in each kind of
//! answer, found by judging one of each: the scripts count decisions as `send` load mode does.

use crate::protocol::{
    BUDGET, CUSTOM_ERROR_CODES, Callback, EventValues, Kind, Reply, answer_schema, build_body,
    decisive_fields, judge,
};
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// What a script sends, and where.
pub(crate) struct Script {
    pub url: Url,
    pub sdkappid: u64,
    pub client_ip: String,
    pub platform: String,
    pub callbacks: Vec<&'static Callback>,
}

/// The environment variable the scripts read the token from: oa-hook's own.
pub(crate) const TOKEN_ENV: &str = "OA_HOOK_TOKEN";

const LOCUST: &str = include_str!("locustfile.py");
const K6: &str = include_str!("k6.js");

impl Script {
    /// A Locust file (Python).
    pub(crate) fn locust(&self) -> String {
        self.render(LOCUST)
    }

    /// A k6 script (JavaScript).
    pub(crate) fn k6(&self) -> String {
        self.render(K6)
    }

    fn render(&self, template: &str) -> String {
        let names: Vec<&str> = self.callbacks.iter().map(|c| c.name).collect();
        template
            .replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
            .replace("{{CALLBACKS}}", &names.join(" "))
            .replace("{{URL}}", self.url.as_str())
            .replace("{{TOKEN_ENV}}", TOKEN_ENV)
            .replace("{{SPEC}}", &format!("{:#}", self.spec()))
    }

    /// The JSON both scripts carry.
    pub(crate) fn spec(&self) -> Value {
        let callbacks: Vec<Value> = self
            .callbacks
            .iter()
            .map(|callback| {
                json!({
                    "name": callback.name,
                    "command": callback.command,
                    "kind": match callback.kind {
                        Kind::Before => "before",
                        Kind::After => "after",
                    },
                    "body": build_body(callback, &EventValues::seed(callback, callback.seed.event_time)),
                    "answer": answer_schema(callback),
                    "decisive": decisive_fields(callback),
                    "decisions": decisions(callback),
                })
            })
            .collect();
        json!({
            "url": self.url.as_str(),
            "sdkappid": self.sdkappid.to_string(),
            "client_ip": self.client_ip,
            "platform": self.platform,
            "budget_ms": BUDGET.as_millis() as u64,
            "custom_codes": [CUSTOM_ERROR_CODES.start(), CUSTOM_ERROR_CODES.end()],
            "callbacks": callbacks,
        })
    }
}

/// The kind of decision the judge reads in each kind of answer to `callback`: by ActionStatus
/// and ErrorCode (`0`, `1`, `2`, `custom` for 120001-130000, `other`), `rewritten` for OK and 0
/// with a MsgBody or CloudCustomData, `failure` for an answer Chat cannot use (a status other
/// than 200, not JSON, a decisive field of the wrong type), `late` past Chat's 2 s.
fn decisions(callback: &Callback) -> Value {
    let subscribers = EventValues::seed(callback, 0).subscribers;
    let kind = |status: u16, body: &Value, latency: Duration| {
        let body = body.to_string();
        let reply = Reply {
            latency: Some(latency),
            ..Reply::new(status, body.as_bytes())
        };
        judge(callback, &subscribers, reply).decision.kind()
    };
    let in_time = Duration::ZERO;
    let answer = |status: &str, code: i64| json!({"ActionStatus": status, "ErrorCode": code, "ErrorInfo": ""});
    let codes = [
        ("0", 0),
        ("1", 1),
        ("2", 2),
        ("custom", *CUSTOM_ERROR_CODES.start()),
        ("other", 3),
    ];
    let mut table = Map::new();
    for status in ["OK", "FAIL"] {
        let by_code: Map<String, Value> = codes
            .iter()
            .map(|(key, code)| {
                (
                    (*key).to_owned(),
                    kind(200, &answer(status, *code), in_time).into(),
                )
            })
            .collect();
        table.insert(status.to_owned(), by_code.into());
    }
    let mut rewritten = answer("OK", 0);
    rewritten["MsgBody"] = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]);
    table.insert(
        "rewritten".to_owned(),
        kind(200, &rewritten, in_time).into(),
    );
    table.insert(
        "failure".to_owned(),
        kind(500, &Value::Null, in_time).into(),
    );
    let late = BUDGET + Duration::from_millis(1);
    table.insert("late".to_owned(), kind(200, &answer("OK", 0), late).into());
    table.into()
}
