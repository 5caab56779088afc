//! `check` and `replay`: the cases to run, against what, and the reports they write.

use super::heading;
use super::values::*;
use super::{EventArgs, ExpectArgs, OutputFormat, TargetArgs, TokenArgs};
use crate::protocol::Callback;
use clap::Args;
use std::path::PathBuf;
use url::Url;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = heading::TARGET)]
    pub url: Option<Url>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Cover this callback in the answer and security cases (short name or CallbackCommand
    /// word); repeat for several, or `all` for the eleven [default: before-subscribe and
    /// after-unsubscribe, with the security cases for before-subscribe]
    #[arg(long = "command", env = "OA_HOOK_COMMAND", value_name = "NAME", value_parser = checked(parse_commands), help_heading = heading::CASES)]
    pub commands: Vec<Commands>,
    /// Run only the cases whose id contains PATTERN (repeatable); the delivery/* cases
    /// (duplicates, an abandoned callback, out-of-order ones) run only when asked for so, or
    /// with --command all
    #[arg(long, env = "OA_HOOK_ONLY", value_name = "PATTERN", help_heading = heading::CASES)]
    pub only: Vec<String>,
    /// Skip the cases whose id contains PATTERN (repeatable)
    #[arg(long, env = "OA_HOOK_SKIP", value_name = "PATTERN", help_heading = heading::CASES)]
    pub skip: Vec<String>,
    /// List the cases and exit
    #[arg(long, help_heading = heading::CASES)]
    pub list: bool,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Print no header line on stderr, only the results
    #[arg(short, long, env = "OA_HOOK_QUIET", conflicts_with = "verbose", help_heading = heading::REPORTS)]
    pub quiet: bool,
    /// Show what came back for every case, and print every request and answer as sent
    #[arg(short, long, env = "OA_HOOK_VERBOSE", help_heading = heading::REPORTS)]
    pub verbose: bool,
    #[command(flatten)]
    pub fuzzing: FuzzingArgs,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub token: TokenArgs,
}

/// `check --fuzz`: generated callbacks, and what becomes of a failure.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::FUZZING)]
pub(crate) struct FuzzingArgs {
    /// Also send N callbacks generated per command, within and at the edges of the documented
    /// limits (UserIDs of up to 32 bytes of any Unicode, 1 to 100 subscribers, names at their
    /// byte limits, any EventTime, every kind of message element), signed and fresh, and check
    /// four properties, a case each (fuzz/*): no 5xx; a conforming answer within 2 s; refused
    /// subscribers among those sent; a decision that does not change with the subscribers'
    /// order, ClientIP or OptPlatform. A failure is shrunk to a minimal body, written to
    /// --fuzz-dir, and printed with the `oa-hook send` command that reproduces it. N from 1 to
    /// 1000000 [default: 100]
    #[arg(long, env = "OA_HOOK_FUZZ", value_name = "N", num_args = 0..=1, default_missing_value = "100", value_parser = checked(parse_fuzz))]
    pub fuzz: Option<u64>,
    /// Generate from this seed: the same seed gives the same callbacks [default: a new seed,
    /// given in every report]
    #[arg(long, env = "OA_HOOK_SEED", value_name = "S")]
    pub seed: Option<u64>,
    /// Write the shrunk body of a failure here, as FUZZ-DIR/COMMAND-PROPERTY-seedS.json
    #[arg(
        long,
        env = "OA_HOOK_FUZZ_DIR",
        value_name = "DIR",
        default_value = "oa-hook-fuzz"
    )]
    pub fuzz_dir: PathBuf,
}

/// The callbacks one `--command` names: one, or the whole family for `all`.
#[derive(Debug, Clone)]
pub(crate) struct Commands(pub Vec<&'static Callback>);

/// The reports `check` and `replay` write: one test case per case, or per callback replayed.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::REPORTS)]
pub(crate) struct ReportArgs {
    /// Write a JUnit XML report to FILE
    #[arg(long, env = "OA_HOOK_JUNIT", value_name = "FILE", help_heading = heading::REPORTS)]
    pub junit: Option<PathBuf>,
    /// Output format on stdout
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human, help_heading = heading::REPORTS)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub ci: CiArgs,
}

/// What a CI job shows of a run: `check`, `replay` and load mode.
#[derive(Debug, Args)]
#[command(next_help_heading = heading::REPORTS)]
pub(crate) struct CiArgs {
    /// Write a Markdown summary of the run to FILE, in every outcome (it is also appended to
    /// $GITHUB_STEP_SUMMARY when that is set, as in GitHub Actions)
    #[arg(long, env = "OA_HOOK_SUMMARY", value_name = "FILE", help_heading = heading::REPORTS)]
    pub summary: Option<PathBuf>,
    /// Print GitHub Actions workflow commands on stdout, after the results: an `::error` line
    /// per failed case (in load mode, per kind of failure), a `::warning` line per warned one
    #[arg(long, env = "OA_HOOK_ANNOTATIONS", help_heading = heading::REPORTS)]
    pub annotations: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The record to replay (written by `serve --record`), or - for stdin
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// The backend's webhook URL; each callback's recorded query is appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = heading::TARGET)]
    pub url: Url,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Replay the requests serve refused too (by default only the callbacks Chat could have sent)
    #[arg(long, env = "OA_HOOK_ALL", help_heading = heading::CALLBACKS)]
    pub all: bool,
    /// Send each callback with the Sign and RequestTime it was recorded with, unchanged: a replay
    /// attack, which a backend must refuse once the callback is over 60 s old (the token is not
    /// used)
    #[arg(long, env = "OA_HOOK_AS_RECORDED", help_heading = heading::CALLBACKS)]
    pub as_recorded: bool,
    /// Send this SdkAppid instead of the recorded one: replay a record made for one app against
    /// a backend configured for another
    #[arg(long, env = "OA_HOOK_SDKAPPID", value_name = "ID", value_parser = checked(parse_sdkappid), help_heading = heading::CALLBACKS)]
    pub sdkappid: Option<u64>,
    /// Skip the lines that are not records (each one reported as a skipped case) instead of
    /// stopping at the first with exit 2
    #[arg(long, env = "OA_HOOK_SKIP_INVALID", help_heading = heading::CALLBACKS)]
    pub skip_invalid: bool,
    /// Callbacks in flight at once, 1 to 10000
    #[arg(long, env = "OA_HOOK_CONCURRENCY", short = 'c', default_value_t = 1, value_name = "C", value_parser = checked(parse_concurrency), allow_negative_numbers = true, help_heading = heading::CALLBACKS)]
    pub concurrency: u64,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Print no header line on stderr, only the results
    #[arg(short, long, env = "OA_HOOK_QUIET", help_heading = heading::REPORTS)]
    pub quiet: bool,
    #[command(flatten)]
    pub token: TokenArgs,
}
