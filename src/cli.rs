//! The command line. Doc comments here are the `--help` text.

use crate::protocol::{CALLBACKS, Callback, Expectation, Expected};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;
use url::Url;

const EXIT_CODES: &str = "\
Exit codes:
  0  everything conformed (or: authentic, printed)
  1  the target answered but broke the contract, was too slow, or an expectation failed
  2  usage or input error (bad flag, unreadable file, invalid URL or JSON)
  3  the target could not be reached (connection refused, DNS, TLS)

Environment:
  OA_HOOK_TOKEN      the webhook token (instead of --token); never printed
  OA_HOOK_SDKAPPID   the SDKAppID (instead of --sdkappid)
  NO_COLOR           no colour unless --color always";

/// Sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
///
/// Chat POSTs a signed JSON callback to your backend before users subscribe to an Official
/// Account (before-subscribe: the backend may refuse some or all of them) and after users
/// unsubscribe (after-unsubscribe). oa-hook shows exactly what Chat sends, fires it at your
/// backend and judges the answer, stands in for a backend, and gates CI on a conformance suite.
#[derive(Debug, Parser)]
#[command(name = "oa-hook", version, after_long_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command. `-q` and `-v` belong to the commands they change, each saying how.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour output: auto (terminals only; honours NO_COLOR), always, never
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the request Chat would send: URL with its query (signed with a token), headers, body
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the sample carries the Sign and RequestTime made with it (the token itself is never printed)")),
        after_help = "Examples:\n  oa-hook sample before-subscribe\n  oa-hook sample after-unsubscribe --format curl --url http://localhost:3000/im --token \"$TOKEN\""
    )]
    Sample(SampleArgs),
    /// Send a signed callback to a backend and judge its answer (or load-test it)
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the request carries the Sign and RequestTime made with it (unless --no-sign)")),
        after_help = "Examples:\n  oa-hook send before-subscribe --url http://localhost:3000/im --token \"$TOKEN\"\n  oa-hook send before-subscribe --url http://localhost:3000/im --expect-refused jared\n  oa-hook send before-subscribe --url http://localhost:3000/im --count 10000 --concurrency 32"
    )]
    Send(SendArgs),
    /// Run a mock backend that validates callbacks and answers by policy
    #[command(
        mut_arg("token", |a| a.help("The webhook token: every callback must carry a fresh Sign made with it, or it is refused with 401")),
        after_help = "Examples:\n  oa-hook serve --refuse jared\n  oa-hook serve --listen 127.0.0.1:0 --token \"$TOKEN\" --sdkappid 1400000000 --record events.ndjson"
    )]
    Serve(ServeArgs),
    /// Run the conformance and security suite against a backend (for CI)
    #[command(
        mut_arg("token", |a| a.help("The webhook token the backend checks: callbacks are signed with it and forgeries made against it; without it the four signature cases are skipped")),
        after_help = "Example:\n  oa-hook check --url \"$BACKEND\" --sdkappid \"$APPID\" --token \"$TOKEN\" --junit report.xml"
    )]
    Check(CheckArgs),
    /// Print the Sign and RequestTime Chat would add for a token
    #[command(mut_arg("token", |a| a.help("The webhook token to sign with (required)")))]
    Sign(SignArgs),
    /// Say whether a received callback URL is authentic, and if not, why
    #[command(
        mut_arg("token", |a| a.help("The webhook token the Sign is checked against (required)")),
        after_help = "Exit status: 0 authentic, 1 not authentic, 2 bad input."
    )]
    Verify(VerifyArgs),
    /// Print shell completions
    #[command(after_help = "Example:\n  oa-hook completions bash > /etc/bash_completion.d/oa-hook")]
    Completions(CompletionsArgs),
}

/// A callback command, by short name or `CallbackCommand` word.
#[derive(Debug, Clone, Copy)]
pub struct CallbackArg(pub &'static Callback);

static CALLBACK_ARGS: LazyLock<Vec<CallbackArg>> =
    LazyLock::new(|| CALLBACKS.iter().map(CallbackArg).collect());

impl ValueEnum for CallbackArg {
    fn value_variants<'a>() -> &'a [Self] {
        &CALLBACK_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(
            PossibleValue::new(self.0.name)
                .alias(self.0.command)
                .help(self.0.summary),
        )
    }
}

/// The values that make up a callback. Defaults are the samples on Tencent's pages.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Event")]
pub struct EventArgs {
    /// The app's SDKAppID, sent as the SdkAppid query parameter
    #[arg(
        long,
        env = "OA_HOOK_SDKAPPID",
        default_value_t = 88888888,
        value_name = "ID"
    )]
    pub sdkappid: u64,
    /// The Official Account's ID [default: Tencent's sample's: @TOA#_test_for_penn for
    /// before-subscribe, @TOA#_test_OA_for_penn for after-unsubscribe]
    #[arg(long, value_name = "ID")]
    pub official_account: Option<String>,
    /// The UserID who made the change [default: Tencent's sample's: 107867 for before-subscribe,
    /// leckie for after-unsubscribe]
    #[arg(long, value_name = "USER")]
    pub operator: Option<String>,
    /// A subscriber's UserID; repeat for several [default: jared, leckie]
    #[arg(long = "subscriber", value_name = "USER")]
    pub subscribers: Vec<String>,
    /// EventTime in Unix milliseconds [default: now]
    #[arg(long, value_name = "MS")]
    pub event_time: Option<i64>,
    /// The ClientIP query parameter
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub client_ip: IpAddr,
    /// The OptPlatform query parameter
    #[arg(long, default_value = "RESTAPI", value_parser = platforms())]
    pub platform: String,
}

/// The webhook token. Taken from the environment preferably: a flag is visible to `ps`. Each
/// command says what it does with it (`mut_arg` on its [`Command`] variant).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub struct TokenArgs {
    /// The webhook token set in the Chat console
    #[arg(
        long,
        env = "OA_HOOK_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub struct RequestTimeArgs {
    /// RequestTime in Unix seconds, for the Sign [default: now]
    #[arg(long, value_name = "SECS")]
    pub request_time: Option<u64>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Event")]
pub struct BodyArgs {
    /// Use this JSON body instead of building one: a file, or - for stdin (sent byte for byte)
    #[arg(long, value_name = "FILE|-")]
    pub body: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleFormat {
    /// The request as sent: request line with the full query, headers, the body byte for byte
    Http,
    /// The JSON body, pretty
    Body,
    /// The full URL with the query
    Url,
    /// A curl command that sends it
    Curl,
    /// Method, url, headers and body as one JSON object
    Json,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The callback: before-subscribe or after-unsubscribe (or its CallbackCommand word)
    #[arg(value_enum, value_name = "COMMAND", hide_possible_values = false)]
    pub callback: CallbackArg,
    /// The webhook URL configured in the Chat console
    #[arg(long, default_value = "https://www.example.com", value_parser = parse_url)]
    pub url: Url,
    /// What to print
    #[arg(long, short, value_enum, default_value_t = SampleFormat::Http)]
    pub format: SampleFormat,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub body: BodyArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub request_time: RequestTimeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people
    Human,
    /// JSON (one document; NDJSON for serve)
    Json,
}

/// How to reach the target.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// How long to wait for an answer (Chat itself waits 2 s)
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// Accept any TLS certificate (self-signed backends)
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Trust this PEM CA certificate as well
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Expectations")]
pub struct ExpectArgs {
    /// Expect Chat to let the subscription go ahead (allow) or reject it whole (reject)
    #[arg(long, value_enum, value_name = "DECISION")]
    pub expect: Option<ExpectedArg>,
    /// Expect exactly these users refused, the rest subscribed; repeat for several
    #[arg(
        long = "expect-refused",
        value_name = "USER",
        conflicts_with = "expect"
    )]
    pub expect_refused: Vec<String>,
}

impl ExpectArgs {
    pub fn expectation(&self) -> Expectation {
        Expectation {
            outcome: self.expect.map(|e| match e {
                ExpectedArg::Allow => Expected::Allow,
                ExpectedArg::Reject => Expected::Reject,
            }),
            refused: self.expect_refused.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectedArg {
    Allow,
    Reject,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The callback: before-subscribe or after-unsubscribe (or its CallbackCommand word)
    #[arg(value_enum, value_name = "COMMAND")]
    pub callback: CallbackArg,
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, value_parser = parse_url, help_heading = "Target")]
    pub url: Url,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Send unsigned even when a token is configured
    #[arg(long, help_heading = "Authentication")]
    pub no_sign: bool,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Output")]
    pub output: OutputFormat,
    /// Print the verdict line alone (in load mode, without the progress bar too)
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,
    /// Also print the request and the answer exactly as they crossed the wire (one request;
    /// load mode prints its summary only)
    #[arg(short, long, help_heading = "Output")]
    pub verbose: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub body: BodyArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub request_time: RequestTimeArgs,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Load mode")]
#[command(group(clap::ArgGroup::new("load-size").args(["count", "duration"]).multiple(true)))]
pub struct LoadArgs {
    /// Send N requests (load mode), each with a fresh RequestTime and Sign
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Requests in flight at once, in load mode
    #[arg(long, short = 'c', default_value_t = 1, value_name = "C", value_parser = clap::value_parser!(u64).range(1..=10_000), requires = "load-size")]
    pub concurrency: u64,
    /// At most R requests per second, in load mode
    #[arg(long, value_name = "R", value_parser = parse_rate, requires = "load-size")]
    pub rate: Option<f64>,
    /// Stop load mode after this long (alone or with --count)
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
}

impl LoadArgs {
    pub fn is_load(&self) -> bool {
        self.count.is_some() || self.duration.is_some()
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Refuse callbacks whose SdkAppid is not this
    #[arg(
        long,
        env = "OA_HOOK_SDKAPPID",
        value_name = "ID",
        help_heading = "Validation"
    )]
    pub sdkappid: Option<u64>,
    #[command(flatten)]
    pub token: TokenArgs,
    /// How far RequestTime may be from now, either way
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, value_name = "DURATION", help_heading = "Validation")]
    pub max_skew: Duration,
    /// Refuse this subscriber (RefusedSubscribers_Account); repeat for several
    #[arg(long, value_name = "USER", help_heading = "Policy")]
    pub refuse: Vec<String>,
    /// Reject whole before-subscribe requests (ErrorCode 1)
    #[arg(long, help_heading = "Policy", conflicts_with = "fail")]
    pub reject: bool,
    /// Answer ActionStatus FAIL
    #[arg(long, help_heading = "Policy")]
    pub fail: bool,
    /// Wait this long before answering (e.g. 2500ms, to rehearse Chat's 2 s budget)
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION", help_heading = "Policy")]
    pub delay: Option<Duration>,
    /// Answer valid callbacks with this HTTP status (Chat counts anything but 200 as a failure)
    #[arg(long, value_name = "CODE", value_parser = clap::value_parser!(u16).range(200..=599), help_heading = "Policy")]
    pub status: Option<u16>,
    /// Event lines on stdout: human, or NDJSON
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Output")]
    pub output: OutputFormat,
    /// Append every callback (request without Sign, findings, answer) to FILE as NDJSON
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub record: Option<PathBuf>,
    /// Print no `oa-hook send` command after the `listening on` line, only the events
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, value_parser = parse_url, required_unless_present = "list", help_heading = "Target")]
    pub url: Option<Url>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Run only the cases whose id contains PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN", help_heading = "Cases")]
    pub only: Vec<String>,
    /// Skip the cases whose id contains PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN", help_heading = "Cases")]
    pub skip: Vec<String>,
    /// List the cases and exit
    #[arg(long, help_heading = "Cases")]
    pub list: bool,
    /// Write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub junit: Option<PathBuf>,
    /// Output format on stdout
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Reports")]
    pub output: OutputFormat,
    /// Print no header line on stderr, only the results
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Reports")]
    pub quiet: bool,
    /// Show the start of the answer for every case that did not pass, not only for failures
    #[arg(short, long, help_heading = "Reports")]
    pub verbose: bool,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub token: TokenArgs,
    /// RequestTime in Unix seconds [default: now]
    #[arg(long, value_name = "SECS")]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The callback URL as received (or just its path and query)
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub token: TokenArgs,
    /// How far RequestTime may be from now, either way
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_skew: Duration,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The documented OptPlatform values, and the English docs' `macOS` for backends to be tested
/// with (Chat's Chinese docs, and oa-hook by default, say `Mac`).
fn platforms() -> impl TypedValueParser<Value = String> {
    let values = crate::protocol::PLATFORMS.iter().copied().chain(["macOS"]);
    clap::builder::PossibleValuesParser::new(values).map(String::from)
}

fn parse_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| {
        format!("`{s}` is not a URL ({e}); write it in full, e.g. http://localhost:3000/im")
    })?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("`{s}` has no host")),
        other => Err(format!(
            "`{other}` URLs are not supported; use http:// or https://"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{s}` is not a rate; give requests per second above 0, e.g. 100 or 0.5"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("http://localhost:3000/im").is_ok());
        assert!(parse_url("localhost:3000").is_err());
        assert!(
            parse_url("ftp://x")
                .unwrap_err()
                .contains("use http:// or https://")
        );
        assert!(parse_url("not a url").unwrap_err().contains("is not a URL"));
    }
}
