//! `sample` and `send`: the callback to print or send, where to, what to expect, load mode.

use super::heading;
use super::values::*;
use super::{BodyArgs, CiArgs, EventArgs, RequestTimeArgs, TokenArgs};
use crate::expect::Expected;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SampleFormat {
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
pub(crate) struct SampleArgs {
    /// The callback, by short name (or its CallbackCommand word)
    #[arg(value_parser = CallbackParser, value_name = "COMMAND", hide_possible_values = false)]
    pub callback: CallbackArg,
    /// The webhook URL configured in the Chat console
    #[arg(long, env = "OA_HOOK_URL", default_value = "https://www.example.com", value_parser = checked(parse_url))]
    pub url: Url,
    /// What to print
    #[arg(long, env = "OA_HOOK_FORMAT", short, value_enum, default_value_t = SampleFormat::Http)]
    pub format: SampleFormat,
    #[command(flatten)]
    pub request: RequestArgs,
}

pub(crate) use crate::output::OutputFormat;

/// What the request `sample` prints and `send` sends is built from: the event options,
/// `--body`, the token and `--request-time`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub body: BodyArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub request_time: RequestTimeArgs,
}

/// How to reach the target.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = heading::TARGET)]
pub(crate) struct TargetArgs {
    /// How long to wait for an answer, 1ms to 1h (Chat itself waits 2 s)
    #[arg(long, env = "OA_HOOK_TIMEOUT", default_value = "5s", value_parser = checked(parse_timeout), value_name = "DURATION")]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Which certificates a backend on HTTPS may present: for `send`, `check`, `replay` and the tap.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct TlsArgs {
    /// Accept any TLS certificate (self-signed backends)
    #[arg(long, env = "OA_HOOK_INSECURE", short = 'k')]
    pub insecure: bool,
    /// Trust the certificates in this PEM file instead of the system's, as curl does: the CA
    /// that signed the backend's certificate, or the backend's own (self-signed) certificate
    #[arg(long, env = "OA_HOOK_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = heading::EXPECTATIONS)]
pub(crate) struct ExpectArgs {
    /// Expect Chat to let the subscription go ahead (allow) or reject it whole (reject)
    #[arg(long, env = "OA_HOOK_EXPECT", value_parser = decisions(), value_name = "DECISION")]
    pub expect: Option<Expected>,
    /// Expect exactly these users refused, the rest subscribed; repeat for several
    #[arg(
        long = "expect-refused",
        env = "OA_HOOK_EXPECT_REFUSED",
        value_name = "USER",
        conflicts_with = "expect"
    )]
    pub expect_refused: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The callback, by short name (or its CallbackCommand word)
    #[arg(value_parser = CallbackParser, value_name = "COMMAND")]
    pub callback: CallbackArg,
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = heading::TARGET)]
    pub url: Url,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Send unsigned even when a token is configured
    #[arg(long, env = "OA_HOOK_NO_SIGN", help_heading = heading::AUTHENTICATION)]
    pub no_sign: bool,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Fail on warnings too (exit 1), such as a refused user who was not in the request; in
    /// load mode an answer with a warning then does not conform
    #[arg(long, env = "OA_HOOK_STRICT", help_heading = heading::EXPECTATIONS)]
    pub strict: bool,
    /// Output format
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human, help_heading = heading::OUTPUT)]
    pub output: OutputFormat,
    /// Print the verdict line alone (in load mode, without the progress bar too)
    #[arg(short, long, env = "OA_HOOK_QUIET", conflicts_with = "verbose", help_heading = heading::OUTPUT)]
    pub quiet: bool,
    /// Also print the request and the answer exactly as they crossed the wire (one request;
    /// load mode prints its summary only)
    #[arg(short, long, env = "OA_HOOK_VERBOSE", help_heading = heading::OUTPUT)]
    pub verbose: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub ci: CiArgs,
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = heading::LOAD_MODE)]
#[command(group(clap::ArgGroup::new("load-size").args(["count", "duration"]).multiple(true)))]
pub(crate) struct LoadArgs {
    /// Send N requests (load mode), each with a fresh RequestTime and Sign; N up to 1000000000
    #[arg(long, env = "OA_HOOK_COUNT", short = 'n', value_name = "N", value_parser = checked(parse_count), allow_negative_numbers = true)]
    pub count: Option<u64>,
    /// Requests in flight at once, in load mode, 1 to 10000
    #[arg(long, env = "OA_HOOK_CONCURRENCY", short = 'c', default_value_t = 1, value_name = "C", value_parser = checked(parse_concurrency), allow_negative_numbers = true)]
    pub concurrency: u64,
    /// At most R requests per second, in load mode, 0.001 to 1000000
    #[arg(long, env = "OA_HOOK_RATE", value_name = "R", value_parser = checked(parse_rate), allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Stop load mode after this long, at most 24h (alone or with --count)
    #[arg(long, env = "OA_HOOK_DURATION", value_parser = checked(parse_load_duration), value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// In load mode, a before callback's run passes with up to PCT percent of callbacks that
    /// went ahead on Chat's timeout (no answer within 2 s), 0 to 100 [default: none may]
    #[arg(long, env = "OA_HOOK_MAX_LATE", value_name = "PCT", value_parser = checked(parse_percent))]
    pub max_late: Option<f64>,
}
