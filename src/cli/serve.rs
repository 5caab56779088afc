//! `serve`: the mock backend's listener, validation, policy, tap, limits, faults and inspector.

use super::heading;
use super::values::*;
use super::{OutputFormat, TlsArgs, TokenArgs};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, env = "OA_HOOK_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR", value_parser = checked(parse_listen))]
    pub listen: SocketAddr,
    /// Refuse callbacks whose SdkAppid is not this
    #[arg(long, env = "OA_HOOK_SDKAPPID", value_name = "ID", value_parser = checked(parse_sdkappid), help_heading = heading::VALIDATION)]
    pub sdkappid: Option<u64>,
    #[command(flatten)]
    pub token: TokenArgs,
    /// How far RequestTime may be from now, either way, at most 24h
    #[arg(long, env = "OA_HOOK_MAX_SKEW", default_value = DEFAULT_MAX_SKEW, value_parser = checked(parse_max_skew), value_name = "DURATION", help_heading = heading::VALIDATION)]
    pub max_skew: Duration,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub output: ServeOutputArgs,
    #[command(flatten)]
    pub tap: TapArgs,
    #[command(flatten)]
    pub limits: LimitsArgs,
    /// The token came from `--token`, not `OA_HOOK_TOKEN` (see `crate::settings`).
    #[arg(skip)]
    pub token_on_command_line: bool,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub inspector: InspectorArgs,
}

/// How the mock answers a valid callback.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::POLICY)]
pub(crate) struct PolicyArgs {
    /// Refuse this subscriber (RefusedSubscribers_Account); repeat for several
    #[arg(long, env = "OA_HOOK_REFUSE", value_name = "USER")]
    pub refuse: Vec<String>,
    /// Reject every before callback (ErrorCode 1): no subscription, no creation (the caller
    /// gets 20006), no message (the sender gets 10016)
    #[arg(long, env = "OA_HOOK_REJECT", conflicts_with = "fail")]
    pub reject: bool,
    /// Answer ActionStatus FAIL
    #[arg(long, env = "OA_HOOK_FAIL")]
    pub fail: bool,
    /// Discard before-send's messages silently (ErrorCode 2: the sender is told it was sent)
    #[arg(long, env = "OA_HOOK_DISCARD", conflicts_with_all = ["reject", "fail", "rewrite_text", "error_code"])]
    pub discard: bool,
    /// Rewrite before-send's messages to this text (ErrorCode 0 with a TIMTextElem MsgBody)
    #[arg(long, env = "OA_HOOK_REWRITE_TEXT", value_name = "TEXT", conflicts_with_all = ["reject", "fail", "error_code"])]
    pub rewrite_text: Option<String>,
    /// Deny before-create and refuse before-send with this code of your own, 120001 to 130000
    /// (Chat passes it to the caller, with --error-info)
    #[arg(long, env = "OA_HOOK_ERROR_CODE", value_name = "N", value_parser = checked(parse_error_code), allow_negative_numbers = true, conflicts_with_all = ["reject", "fail"])]
    pub error_code: Option<i64>,
    /// The ErrorInfo that goes with --error-code [default: empty]
    #[arg(long, env = "OA_HOOK_ERROR_INFO", value_name = "TEXT")]
    pub error_info: Option<String>,
    /// Wait this long before answering, at most 1h (e.g. 2500ms, to rehearse Chat's 2 s budget)
    #[arg(long, env = "OA_HOOK_DELAY", value_parser = checked(parse_delay), value_name = "DURATION")]
    pub delay: Option<Duration>,
    /// Answer valid callbacks with this HTTP status (Chat counts anything but 200 as a failure)
    #[arg(long, env = "OA_HOOK_STATUS", value_name = "CODE", value_parser = checked(parse_status))]
    pub status: Option<u16>,
}

/// What serve prints and records.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::OUTPUT)]
pub(crate) struct ServeOutputArgs {
    /// Event lines on stdout: human, or NDJSON
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Append every callback (request without Sign, findings, answer) to FILE as NDJSON
    #[arg(long, env = "OA_HOOK_RECORD", value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --record: keep each request's Sign too, for `replay --as-recorded` (off by default:
    /// a Sign with its RequestTime lets whoever holds the record test guesses at the token)
    #[arg(long, env = "OA_HOOK_RECORD_SIGN", requires = "record")]
    pub record_sign: bool,
    /// Print no `oa-hook send` command after the `listening on` line, only the events
    #[arg(short, long, env = "OA_HOOK_QUIET")]
    pub quiet: bool,
}

/// `serve --forward-to`: the backend the tap passes requests on to.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::TAP)]
pub(crate) struct TapArgs {
    /// Be a tap: pass every request on to URL as it came (method, query with Sign and
    /// RequestTime, body, content type; to URL's path), answer with what the backend answers,
    /// and judge both. Instead of the policy flags
    #[arg(long, env = "OA_HOOK_FORWARD_TO", value_name = "URL", value_parser = checked(parse_url), conflicts_with_all = ["refuse", "reject", "fail", "delay", "status"])]
    pub forward_to: Option<Url>,
    /// With --forward-to: how long the backend has to answer before the caller gets a 502,
    /// 1ms to 1h (Chat itself waits 2 s)
    #[arg(long, env = "OA_HOOK_TIMEOUT", default_value = "2s", value_parser = checked(parse_timeout), value_name = "DURATION")]
    pub timeout: Duration,
    /// With --forward-to: which certificates the backend on HTTPS may present
    #[command(flatten, next_help_heading = heading::TAP)]
    pub tls: TlsArgs,
}

/// How hostile or slow clients are bounded.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::LIMITS)]
pub(crate) struct LimitsArgs {
    /// Hold at most N connections at once, 1 to 1000000; more wait until one closes
    #[arg(long, env = "OA_HOOK_MAX_CONNECTIONS", value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = checked(parse_max_connections), allow_negative_numbers = true)]
    pub max_connections: usize,
    /// Close a connection whose request head (or body) takes longer than this to arrive, or
    /// that sits idle this long between requests, 10ms to 10s
    #[arg(long, env = "OA_HOOK_HEAD_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = checked(parse_head_timeout))]
    pub head_timeout: Duration,
    /// On Ctrl-C or SIGTERM, how long requests in flight get to finish before serve exits,
    /// 0s to 1h; a second Ctrl-C quits at once
    #[arg(long, env = "OA_HOOK_DRAIN_TIMEOUT", value_name = "DURATION", default_value = "5s", value_parser = checked(parse_delay))]
    pub drain_timeout: Duration,
}

/// `serve --inspect`: the live page of callbacks.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::INSPECTOR)]
pub(crate) struct InspectorArgs {
    /// Open the inspector on ADDR, its own port: a live page of every callback with its answer
    /// and Chat's decision (replay re-signed, edit and replay, compare, copy as `oa-hook send`
    /// or curl, download as a record), and its JSON API under /api/ [default ADDR:
    /// 127.0.0.1:4040]
    #[arg(long, env = "OA_HOOK_INSPECT", value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_INSPECT, value_parser = checked(parse_listen))]
    pub inspect: Option<SocketAddr>,
    /// With --inspect: the events the page keeps, 1 to 100000; the oldest go first, and sooner
    /// when the bodies kept pass 32 MiB in all
    #[arg(long, env = "OA_HOOK_INSPECT_KEEP", value_name = "N", default_value_t = DEFAULT_INSPECT_KEEP, value_parser = checked(parse_inspect_keep), allow_negative_numbers = true)]
    pub inspect_keep: usize,
    /// With --inspect: a token of your own that the page asks for and the API requires; needed
    /// for an address other than loopback. Never the webhook token, never printed, never read
    /// from a file
    #[arg(
        long,
        env = "OA_HOOK_INSPECT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub inspect_token: Option<String>,
}

/// `serve --fault`: a slow or broken backend, rehearsed.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::FAULTS)]
pub(crate) struct FaultArgs {
    /// Rehearse a slow or broken backend, in the mock or the tap: RULE[,RULE...], RULE being
    /// [COMMAND:]FAULT[@SHARE%] and FAULT one of delay=DURATION, delay=MIN..MAX,
    /// delay=p50:DURATION/p99:DURATION, hang, reset, status=CODE, malformed, slow-body=DURATION
    /// (e.g. delay=2.5s@10%,reset@1%); each request draws at most one
    // Checked as read by the value parser `crate::settings` gives it: cli/ knows no engine.
    #[arg(long, env = "OA_HOOK_FAULT", value_name = "SPEC")]
    pub fault: Option<String>,
    /// Draw the faults from this seed: the same seed and the same requests, in the same order,
    /// get the same faults [default: a new seed, printed]
    #[arg(long, env = "OA_HOOK_SEED", value_name = "N")]
    pub seed: Option<u64>,
}

/// The default cap on connections, when the file limit allows it.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Where `serve --inspect` listens when given no address: ngrok's inspector's port, on loopback.
pub(crate) const DEFAULT_INSPECT: &str = "127.0.0.1:4040";
/// The events `serve --inspect` keeps by default.
pub(crate) const DEFAULT_INSPECT_KEEP: usize = 1000;
/// The most events `--inspect-keep` may keep.
pub(crate) const MAX_INSPECT_KEEP: u64 = 100_000;
