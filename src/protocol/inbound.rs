//! A callback as a backend receives it: whether it is one Chat could have sent, and if not, the
//! HTTP status and words to refuse it with. `serve` answers with this; `check` can reuse it.

use super::answer::Answer;
use super::command::{Callback, CommandWord};
use super::event::{ReceivedEvent, read_event, read_exact_event};
use super::finding::{Finding, excerpt, json_type, missing, wrong_type};
use super::query::{ReceivedQuery, param};
use super::signature::{SignatureError, Token};
use super::{MAX_BODY_BYTES, is_known_platform};
use serde_json::Value;
use std::time::Duration;

/// The largest body that is read as a JSON tree, to explain what is wrong with it field by
/// field or to show a refused one: a tree takes many times the size of its text, and a
/// callback is a few KiB. A larger body is read only straight into its type.
const EXPLAINED_BODY_BYTES: usize = 64 << 10;

/// What the receiving backend expects of every callback.
pub struct Receiver {
    /// Its own SDKAppID; other apps' callbacks are refused (403).
    pub sdk_appid: Option<u64>,
    /// The webhook token; when set, every callback must carry a fresh, matching Sign (401).
    pub token: Option<Token>,
    /// How far RequestTime may be from now, either way.
    pub max_skew: Duration,
}

/// One HTTP request as received.
#[derive(Clone, Copy)]
pub struct Inbound<'a> {
    pub method: &'a str,
    pub query: &'a ReceivedQuery<'a>,
    /// The body, or its first bytes past [`MAX_BODY_BYTES`] when it is larger.
    pub body: &'a [u8],
}

/// What the receiver made of a request.
pub struct Received {
    /// The command word of the query, when it carries one (even if the request is refused).
    pub command: Option<CommandWord>,
    pub body: ReceivedBody,
    pub verdict: Result<Valid, Rejection>,
}

impl Received {
    /// The callback the query names, when it is one this receiver models.
    pub fn callback(&self) -> Option<&'static Callback> {
        self.command.as_ref().and_then(CommandWord::callback)
    }
}

/// The body as far as it was read.
#[derive(Debug)]
pub enum ReceivedBody {
    /// Exactly the documented shape: it is the valid event, which serializes as the body.
    Exact,
    /// Other JSON.
    Json(Value),
    /// Not JSON, or not read at all.
    Unread,
}

/// A callback Chat could have sent: answer it.
#[derive(Debug)]
pub enum Valid {
    /// A command this receiver models, with its event read.
    Event {
        callback: &'static Callback,
        event: ReceivedEvent,
        /// Odd but answerable: shown to the user, never refused.
        warnings: Vec<Finding>,
    },
    /// An authentic callback of a command this receiver does not model (another module's, as
    /// every callback of an app goes to one URL): a well-behaved backend answers it OK.
    Unmodelled { warnings: Vec<Finding> },
}

impl Valid {
    pub fn warnings(&self) -> &[Finding] {
        match self {
            Valid::Event { warnings, .. } | Valid::Unmodelled { warnings } => warnings,
        }
    }
}

/// What a well-behaved backend says of an authentic callback it does not handle, for people.
pub const UNMODELLED_NOTE: &str = "not a command this backend models: answered 200 OK/0 as a well-behaved backend does, since Chat sends every callback of an app to one URL";

/// A request Chat would never send: refuse it with `status` and a Tencent-shaped FAIL answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    /// The errors that decided the status.
    pub findings: Vec<Finding>,
}

impl Rejection {
    /// The findings are kept to a few, each cut short (see [`Finding::bounded`]), so that the
    /// answer to any input, however large or odd, stays a few KiB.
    pub fn new(status: u16, findings: Vec<Finding>) -> Self {
        Rejection {
            status,
            findings: Finding::bounded(findings),
        }
    }

    /// What went wrong, in words: the `ErrorInfo` of the answer.
    pub fn info(&self) -> String {
        self.findings
            .iter()
            .map(Finding::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"<why>"}`.
    pub fn answer(&self) -> Answer {
        Answer::fail(self.info())
    }

    /// Whether the request was refused as not authentic, so that a backend must refuse it too
    /// whatever else it holds: its `Sign` or `RequestTime` missing, wrong or not fresh (401),
    /// another app's `SdkAppid` (403), or one of `Sign`, `RequestTime` and `SdkAppid` given
    /// twice (400: which copy a backend checks is ambiguous, protocol.md section 7).
    pub fn is_forgery(&self) -> bool {
        let authenticating = |path: &str| {
            path.strip_prefix(QUERY).is_some_and(|name| {
                [param::SIGN, param::REQUEST_TIME, param::SDK_APPID].contains(&name)
            })
        };
        matches!(self.status, 401 | 403)
            || self
                .findings
                .iter()
                .any(|f| f.code == SignatureError::REPEATED && authenticating(&f.path))
    }
}

impl Receiver {
    /// Judges one request. The checks run in the order a careful backend runs them: method and
    /// size before reading anything, an unambiguous query and authentication before trusting
    /// it, the query before the body it announces.
    pub fn receive(&self, request: Inbound<'_>, now_secs: u64) -> Received {
        self.receive_expecting(request, now_secs, |_, sign| sign())
    }

    /// [`Receiver::receive`], with the Sign expected for the request's RequestTime given by
    /// `expected` (see [`Token::verify`]).
    pub fn receive_expecting(
        &self,
        request: Inbound<'_>,
        now_secs: u64,
        expected: impl FnOnce(u64, &dyn Fn() -> [u8; 64]) -> [u8; 64],
    ) -> Received {
        let query = request.query;
        let command = query.get(param::CALLBACK_COMMAND).map(CommandWord::read);
        if let Some(rejection) = unreadable(request) {
            return Received {
                command,
                body: ReceivedBody::Unread,
                verdict: Err(rejection),
            };
        }
        let mut body = ReceivedBody::Unread;
        let verdict = self.judge(request, command.as_ref(), &mut body, now_secs, expected);
        // A refused request is still shown and recorded with its body, when it is small.
        if let ReceivedBody::Unread = body
            && request.body.len() <= EXPLAINED_BODY_BYTES
            && let Ok(value) = serde_json::from_slice(request.body)
        {
            body = ReceivedBody::Json(value);
        }
        Received {
            command,
            body,
            verdict,
        }
    }

    fn judge(
        &self,
        request: Inbound<'_>,
        command: Option<&CommandWord>,
        body: &mut ReceivedBody,
        now_secs: u64,
        expected: impl FnOnce(u64, &dyn Fn() -> [u8; 64]) -> [u8; 64],
    ) -> Result<Valid, Rejection> {
        let (query, raw) = (request.query, request.body);
        let mut warnings = Vec::new();
        if let Some((name, times)) = query.repeated() {
            let e = SignatureError::Repeated { name, times };
            return Err(Rejection::new(
                400,
                vec![Finding::error(e.code(), query_path(name), e.to_string())],
            ));
        }
        if let Some(token) = &self.token {
            let verified = token
                .verify(
                    query.get(param::SIGN),
                    query.get(param::REQUEST_TIME),
                    now_secs,
                    self.max_skew,
                    expected,
                )
                .map_err(|e| {
                    let path = match e {
                        SignatureError::MissingSign
                        | SignatureError::MalformedSign(_)
                        | SignatureError::Mismatch => param::SIGN,
                        SignatureError::MissingRequestTime
                        | SignatureError::MalformedRequestTime(_)
                        | SignatureError::Stale { .. }
                        | SignatureError::Future { .. } => param::REQUEST_TIME,
                        SignatureError::Repeated { name, .. } => name,
                    };
                    Rejection::new(
                        401,
                        vec![Finding::error(e.code(), query_path(path), e.to_string())],
                    )
                })?;
            if verified.upper_case {
                warnings.push(Finding::warning(
                    "upper-case-sign",
                    query_path(param::SIGN),
                    "Sign is upper-case hex; Chat sends lower case (accepted)",
                ));
            }
        }
        let (command, sdk_appid) = read_query(query, command, &mut warnings)?;
        if let Some(expected) = self.sdk_appid
            && sdk_appid != expected
        {
            return Err(Rejection::new(
                403,
                vec![Finding::error(
                    "wrong-sdkappid",
                    query_path(param::SDK_APPID),
                    format!(
                        "SdkAppid {sdk_appid} is not this backend's ({expected}): a callback meant for another app"
                    ),
                )],
            ));
        }
        let callback = match command {
            CommandWord::Modelled(callback) => callback,
            CommandWord::Other(word) if raw.len() > EXPLAINED_BODY_BYTES => {
                return unmodelled_large(word, raw, warnings);
            }
            CommandWord::Other(word) => {
                let value = read_json(raw)?;
                let verdict = unmodelled(word, &value, warnings);
                *body = ReceivedBody::Json(value);
                return verdict;
            }
        };
        if let Some((event, oddities)) = read_exact_event(callback, raw) {
            *body = ReceivedBody::Exact;
            warnings.extend(oddities);
            return Ok(Valid::Event {
                callback,
                event,
                warnings,
            });
        }
        if raw.len() > EXPLAINED_BODY_BYTES {
            return Err(Rejection::new(
                400,
                vec![Finding::error(
                    "body-not-exact",
                    "body",
                    format!(
                        "the body is {} KiB and not exactly a {} body; a callback is a few KiB (100 subscribers take about 5), and a body over {} KiB is not explained field by field",
                        raw.len() >> 10,
                        callback.command,
                        EXPLAINED_BODY_BYTES >> 10
                    ),
                )],
            ));
        }
        let value = read_json(raw)?;
        let (event, findings) = read_event(callback, &value, raw);
        *body = ReceivedBody::Json(value);
        let (errors, body_warnings): (Vec<_>, Vec<_>) =
            findings.into_iter().partition(Finding::is_error);
        warnings.extend(body_warnings);
        match event {
            Some(event) if errors.is_empty() => Ok(Valid::Event {
                callback,
                event,
                warnings,
            }),
            _ => Err(Rejection::new(400, errors)),
        }
    }
}

fn read_json(raw: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice::<Value>(raw).map_err(|e| {
        Rejection::new(
            400,
            vec![Finding::error(
                "not-json",
                "body",
                format!("the body is not JSON ({e})"),
            )],
        )
    })
}

/// [`unmodelled`] for a body too large to read as a tree: only its `CallbackCommand` is read.
fn unmodelled_large(word: &str, raw: &[u8], warnings: Vec<Finding>) -> Result<Valid, Rejection> {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "CallbackCommand")]
        callback_command: Option<Value>,
    }
    let named: Named = serde_json::from_slice(raw).map_err(|e| {
        Rejection::new(
            400,
            vec![Finding::error(
                "not-json",
                "body",
                format!("the body is not a JSON object ({e})"),
            )],
        )
    })?;
    let mut object = serde_json::Map::new();
    if let Some(command) = named.callback_command {
        object.insert("CallbackCommand".to_owned(), command);
    }
    unmodelled(word, &Value::Object(object), warnings)
}

/// An authentic callback of a command not modelled here: whatever its body, it must be a JSON
/// object that names the same command, as every callback Chat sends does.
fn unmodelled(word: &str, body: &Value, warnings: Vec<Finding>) -> Result<Valid, Rejection> {
    const FIELD: &str = "CallbackCommand";
    let Some(object) = body.as_object() else {
        return Err(Rejection::new(
            400,
            vec![Finding::error(
                "not-object",
                "body",
                format!("the body is {}, not a JSON object", json_type(body)),
            )],
        ));
    };
    match object.get(FIELD) {
        Some(Value::String(said)) if said == word => Ok(Valid::Unmodelled { warnings }),
        Some(Value::String(said)) => Err(Rejection::new(
            400,
            vec![Finding::error(
                "command-mismatch",
                FIELD,
                format!(
                    "the body says `{}` but the query says `{word}`",
                    excerpt(said.as_bytes(), 64)
                ),
            )],
        )),
        Some(other) => Err(Rejection::new(
            400,
            vec![wrong_type(
                FIELD,
                other,
                "the command word, as in the query",
            )],
        )),
        None => Err(Rejection::new(
            400,
            vec![missing(FIELD, "the command word, as in the query")],
        )),
    }
}

/// A request whose body is not worth reading: not a POST, or too large.
fn unreadable(request: Inbound<'_>) -> Option<Rejection> {
    if request.method != "POST" {
        return Some(Rejection::new(
            405,
            vec![Finding::error(
                "method-not-allowed",
                "method",
                format!("Chat sends callbacks with POST, not {}", request.method),
            )],
        ));
    }
    (request.body.len() > MAX_BODY_BYTES).then(|| {
        Rejection::new(
            413,
            vec![Finding::error(
                "body-too-large",
                "body",
                format!(
                    "the body is over {} MiB; a callback is a few hundred bytes",
                    MAX_BODY_BYTES >> 20
                ),
            )],
        )
    })
}

/// Checks the query parameters Chat always sends; every problem at once, so one answer says
/// all that needs fixing.
fn read_query<'c>(
    query: &ReceivedQuery<'_>,
    command: Option<&'c CommandWord>,
    warnings: &mut Vec<Finding>,
) -> Result<(&'c CommandWord, u64), Rejection> {
    let mut errors = Vec::new();
    match command {
        None => errors.push(missing_parameter(param::CALLBACK_COMMAND)),
        Some(word) if !word.is_well_formed() => errors.push(Finding::error(
            "unknown-command",
            query_path(param::CALLBACK_COMMAND),
            format!(
                "`{}` is not a callback command word (Module.Name, e.g. OfficialAccount.CallbackBeforeAddSubscriber)",
                word.name()
            ),
        )),
        Some(_) => {}
    }
    match query.get(param::CONTENT_TYPE) {
        Some("json") => {}
        None => errors.push(missing_parameter(param::CONTENT_TYPE)),
        Some(other) => errors.push(Finding::error(
            "bad-content-type",
            query_path(param::CONTENT_TYPE),
            format!(
                "is `{}`; Chat always sends `json`",
                excerpt(other.as_bytes(), 64)
            ),
        )),
    }
    let sdk_appid = match query.get(param::SDK_APPID) {
        None => {
            errors.push(missing_parameter(param::SDK_APPID));
            None
        }
        Some(raw) => {
            let id = raw.parse::<u64>().ok();
            if id.is_none() {
                errors.push(Finding::error(
                    "bad-sdkappid",
                    query_path(param::SDK_APPID),
                    format!(
                        "`{}` is not a numeric SDKAppID",
                        excerpt(raw.as_bytes(), 64)
                    ),
                ));
            }
            id
        }
    };
    match query.get(param::OPT_PLATFORM) {
        Some(platform) if !is_known_platform(platform) => warnings.push(Finding::warning(
            "unknown-platform",
            query_path(param::OPT_PLATFORM),
            format!(
                "`{}` is not an OptPlatform Chat documents",
                excerpt(platform.as_bytes(), 64)
            ),
        )),
        _ => {}
    }
    match (command, sdk_appid) {
        (Some(command), Some(id)) if errors.is_empty() => Ok((command, id)),
        _ => Err(Rejection::new(400, errors)),
    }
}

/// How the path of a finding about a query parameter begins.
const QUERY: &str = "query.";

fn query_path(name: &str) -> String {
    format!("{QUERY}{name}")
}

fn missing_parameter(name: &str) -> Finding {
    Finding::error(
        "missing-parameter",
        query_path(name),
        "required query parameter is missing; Chat always sends it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CALLBACKS, sign};
    use serde_json::json;

    const TOKEN: &str = "xxxxyyyy";
    const NOW: u64 = 1_669_872_112;
    const BEFORE: &str = "OfficialAccount.CallbackBeforeAddSubscriber";

    fn receiver() -> Receiver {
        Receiver {
            sdk_appid: Some(88888888),
            token: Some(Token::new(TOKEN.into())),
            max_skew: Duration::from_secs(60),
        }
    }

    fn signed_query(extra: &str) -> String {
        format!(
            "SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign={}&RequestTime={NOW}{extra}",
            sign(TOKEN, NOW)
        )
    }

    fn seed_body() -> Vec<u8> {
        json!({
            "CallbackCommand": BEFORE,
            "Official_Account": "@TOA#_test_for_penn",
            "Operator_Account": "107867",
            "SubscribeAccountList": [{"Subscriber_Account": "jared"}, {"Subscriber_Account": "leckie"}],
            "EventTime": 1670574414123_i64
        })
        .to_string()
        .into_bytes()
    }

    fn receive_with(receiver: &Receiver, method: &str, query: &str, body: &[u8]) -> Received {
        let query = ReceivedQuery::parse(query);
        receiver.receive(
            Inbound {
                method,
                query: &query,
                body,
            },
            NOW,
        )
    }

    fn rejection(method: &str, query: &str, body: &[u8]) -> Rejection {
        receive_with(&receiver(), method, query, body)
            .verdict
            .unwrap_err()
    }

    fn status_and_codes(r: &Rejection) -> (u16, Vec<&str>) {
        (r.status, r.findings.iter().map(|f| f.code).collect())
    }

    #[test]
    fn a_signed_seed_callback_is_valid() {
        let received = receive_with(&receiver(), "POST", &signed_query(""), &seed_body());
        assert_eq!(received.callback(), Some(&CALLBACKS[0]));
        assert!(matches!(received.body, ReceivedBody::Exact));
        let Ok(Valid::Event {
            event, warnings, ..
        }) = received.verdict
        else {
            panic!("valid")
        };
        assert_eq!(event.subscribers(), ["jared", "leckie"]);
        assert_eq!(warnings, vec![]);
    }

    #[test]
    fn without_token_or_sdkappid_nothing_is_checked_for_them() {
        let open = Receiver {
            sdk_appid: None,
            token: None,
            max_skew: Duration::from_secs(60),
        };
        let query = format!("SdkAppid=1&CallbackCommand={BEFORE}&contenttype=json");
        assert!(
            receive_with(&open, "POST", &query, &seed_body())
                .verdict
                .is_ok()
        );
    }

    #[test]
    fn method_and_size_come_first() {
        let r = rejection("GET", "", b"");
        assert_eq!(status_and_codes(&r), (405, vec!["method-not-allowed"]));
        assert_eq!(r.info(), "method: Chat sends callbacks with POST, not GET");
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let r = rejection("POST", &signed_query(""), &big);
        assert_eq!(status_and_codes(&r), (413, vec!["body-too-large"]));
        assert!(matches!(
            receive_with(&receiver(), "POST", &signed_query(""), &big).body,
            ReceivedBody::Unread
        ));
    }

    #[test]
    fn each_signature_problem_is_a_401() {
        let base = format!("SdkAppid=88888888&CallbackCommand={BEFORE}&contenttype=json");
        let good = sign(TOKEN, NOW);
        let cases = [
            (base.clone(), "missing-sign"),
            (format!("{base}&Sign={good}"), "missing-request-time"),
            (
                format!("{base}&Sign={}&RequestTime={NOW}", sign("other", NOW)),
                "bad-sign",
            ),
            (
                format!(
                    "{base}&Sign={}&RequestTime={}",
                    sign(TOKEN, NOW - 61),
                    NOW - 61
                ),
                "stale-request-time",
            ),
            (
                format!(
                    "{base}&Sign={}&RequestTime={}",
                    sign(TOKEN, NOW + 61),
                    NOW + 61
                ),
                "future-request-time",
            ),
        ];
        for (query, code) in cases {
            let r = rejection("POST", &query, &seed_body());
            assert_eq!(status_and_codes(&r), (401, vec![code]), "{query}");
        }
        let r = rejection("POST", &base, &seed_body());
        assert!(r.info().starts_with("query.Sign: the query has no Sign"));
        let stale = format!("{base}&Sign={}&RequestTime={}", sign(TOKEN, 1), 1);
        assert!(
            rejection("POST", &stale, &seed_body())
                .info()
                .starts_with("query.RequestTime: RequestTime is ")
        );
    }

    #[test]
    fn an_upper_case_sign_is_accepted_with_a_warning() {
        let query = signed_query("").replace(&sign(TOKEN, NOW), &sign(TOKEN, NOW).to_uppercase());
        let valid = receive_with(&receiver(), "POST", &query, &seed_body())
            .verdict
            .unwrap();
        assert_eq!(valid.warnings()[0].code, "upper-case-sign");
    }

    #[test]
    fn query_problems_are_400s_reported_together() {
        let good = sign(TOKEN, NOW);
        let query = format!("SdkAppid=abc&contenttype=xml&Sign={good}&RequestTime={NOW}");
        let r = rejection("POST", &query, &seed_body());
        assert_eq!(
            status_and_codes(&r),
            (
                400,
                vec!["missing-parameter", "bad-content-type", "bad-sdkappid"]
            )
        );
        let unknown = signed_query("").replace(BEFORE, "Callback%20Nope");
        let r = rejection("POST", &unknown, &seed_body());
        assert_eq!(status_and_codes(&r), (400, vec!["unknown-command"]));
        assert!(
            r.info()
                .contains("`Callback Nope` is not a callback command word")
        );
    }

    #[test]
    fn another_apps_callback_is_a_403() {
        let query = signed_query("").replace("SdkAppid=88888888", "SdkAppid=1400000000");
        let r = rejection("POST", &query, &seed_body());
        assert_eq!(status_and_codes(&r), (403, vec!["wrong-sdkappid"]));
        assert_eq!(
            r.info(),
            "query.SdkAppid: SdkAppid 1400000000 is not this backend's (88888888): a callback meant for another app"
        );
    }

    #[test]
    fn body_problems_are_400s_naming_the_field() {
        let r = rejection("POST", &signed_query(""), b"{not json");
        assert_eq!(status_and_codes(&r), (400, vec!["not-json"]));
        let mut body: Value = serde_json::from_slice(&seed_body()).unwrap();
        body["EventTime"] = json!("soon");
        body["Extra"] = json!(1);
        let r = rejection("POST", &signed_query(""), body.to_string().as_bytes());
        assert_eq!(status_and_codes(&r), (400, vec!["wrong-type"]));
        assert!(r.info().starts_with("EventTime: is a string"));
        let after = seed_body();
        let text = String::from_utf8(after)
            .unwrap()
            .replace(BEFORE, "OfficialAccount.CallbackAfterDeleteSubscriber");
        let r = rejection("POST", &signed_query(""), text.as_bytes());
        assert_eq!(status_and_codes(&r), (400, vec!["command-mismatch"]));
    }

    #[test]
    fn oddities_are_answered_with_warnings() {
        let mut body: Value = serde_json::from_slice(&seed_body()).unwrap();
        body["EventTime"] = json!(1670574414);
        let query = signed_query("").replace("OptPlatform=RESTAPI", "OptPlatform=Amiga");
        let valid = receive_with(&receiver(), "POST", &query, body.to_string().as_bytes())
            .verdict
            .unwrap();
        let codes: Vec<&str> = valid.warnings().iter().map(|f| f.code).collect();
        assert_eq!(codes, ["unknown-platform", "event-time-seconds"]);
    }

    #[test]
    fn the_answer_is_tencent_shaped() {
        let r = rejection("GET", "", b"");
        assert_eq!(
            serde_json::to_value(r.answer()).unwrap(),
            json!({"ActionStatus": "FAIL", "ErrorInfo": r.info(), "ErrorCode": 1})
        );
    }

    #[test]
    fn a_repeated_parameter_is_a_400_naming_it() {
        for name in ["Sign", "RequestTime", "SdkAppid", "CallbackCommand"] {
            let query = signed_query("");
            let value = ReceivedQuery::parse(&query).get(name).unwrap().to_owned();
            let doubled = format!("{query}&{name}={}", value.replace('#', "%23"));
            let r = rejection("POST", &doubled, &seed_body());
            assert_eq!(
                status_and_codes(&r),
                (400, vec!["repeated-parameter"]),
                "{name}"
            );
            assert!(
                r.info()
                    .starts_with(&format!("query.{name}: {name} appears 2 times"))
            );
            assert_eq!(r.is_forgery(), name != "CallbackCommand", "{name}");
        }
    }

    #[test]
    fn refusals_for_the_signature_or_the_app_are_forgeries_and_others_not() {
        let query = signed_query("");
        let forged = query.replace(&sign(TOKEN, NOW), &sign("forged", NOW));
        let unsigned = query.split("&Sign=").next().unwrap().to_owned();
        let other_app = query.replace("SdkAppid=88888888", "SdkAppid=1");
        for forgery in [forged, unsigned, other_app] {
            assert!(
                rejection("POST", &forgery, &seed_body()).is_forgery(),
                "{forgery}"
            );
        }
        assert!(!rejection("POST", &query, b"not json").is_forgery());
        assert!(!rejection("GET", &query, b"").is_forgery());
    }

    #[test]
    fn an_authentic_callback_of_another_module_is_valid_but_unmodelled() {
        let body = json!({"CallbackCommand": "State.StateChange", "EventTime": 1629883332497_i64,
            "Info": {"Action": "Login", "To_Account": "u1", "Reason": "Register"}});
        let query = signed_query("").replace(BEFORE, "State.StateChange");
        let received = receive_with(&receiver(), "POST", &query, body.to_string().as_bytes());
        assert_eq!(
            received.command.as_ref().map(CommandWord::name),
            Some("State.StateChange")
        );
        assert!(matches!(received.body, ReceivedBody::Json(_)));
        assert!(matches!(received.verdict, Ok(Valid::Unmodelled { .. })));
        let forged = query.replace(&sign(TOKEN, NOW), &sign("forged", NOW));
        let r = rejection("POST", &forged, body.to_string().as_bytes());
        assert_eq!(status_and_codes(&r), (401, vec!["bad-sign"]));
        let other_app = query.replace("SdkAppid=88888888", "SdkAppid=1");
        let r = rejection("POST", &other_app, body.to_string().as_bytes());
        assert_eq!(status_and_codes(&r), (403, vec!["wrong-sdkappid"]));
        let r = rejection("POST", &query, b"not json");
        assert_eq!(status_and_codes(&r), (400, vec!["not-json"]));
        let r = rejection("POST", &query, &seed_body());
        assert_eq!(status_and_codes(&r), (400, vec!["command-mismatch"]));
        let r = rejection("POST", &query, b"[1]");
        assert_eq!(status_and_codes(&r), (400, vec!["not-object"]));
    }
}
