//! The command line. Doc comments here are the `--help` text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod check;
pub(crate) mod error;
mod event;
mod send;
mod serve;
mod tools;
mod values;

pub(crate) use check::*;
pub(crate) use event::*;
pub(crate) use send::*;
pub(crate) use serve::*;
pub(crate) use tools::*;
pub(crate) use values::{FROM_FILE, checked};

/// The sections of `--help`, each named once: a misspelt one would make a section of its own.
pub(crate) mod heading {
    /// The token, and the signature made with it.
    pub(crate) const AUTHENTICATION: &str = "Authentication";
    /// Which recorded callbacks are replayed, and how.
    pub(crate) const CALLBACKS: &str = "Callbacks";
    /// Which cases run.
    pub(crate) const CASES: &str = "Cases";
    /// What the callback's body and query carry.
    pub(crate) const EVENT: &str = "Event";
    /// What the answer must say.
    pub(crate) const EXPECTATIONS: &str = "Expectations";
    /// The faults rehearsed.
    pub(crate) const FAULTS: &str = "Faults";
    /// Generated callbacks.
    pub(crate) const FUZZING: &str = "Fuzzing";
    /// The live page of callbacks.
    pub(crate) const INSPECTOR: &str = "Inspector";
    /// How clients are bounded.
    pub(crate) const LIMITS: &str = "Limits";
    /// Many requests, and what they must achieve.
    pub(crate) const LOAD_MODE: &str = "Load mode";
    /// What is printed, and how.
    pub(crate) const OUTPUT: &str = "Output";
    /// How the mock answers.
    pub(crate) const POLICY: &str = "Policy";
    /// The reports written, and what a CI job shows.
    pub(crate) const REPORTS: &str = "Reports";
    /// The backend the tap passes requests on to.
    pub(crate) const TAP: &str = "Tap";
    /// Where the backend is, and how to reach it.
    pub(crate) const TARGET: &str = "Target";
    /// What serve checks of a callback.
    pub(crate) const VALIDATION: &str = "Validation";
}

const EXIT_CODES: &str = "\
Exit codes:
  0  everything conformed (or: authentic, printed)
  1  the target answered but broke the contract (or HTTP), was too slow, or an expectation failed
  2  usage or input error (bad flag, unreadable file, invalid URL or JSON)
  3  the target could not be reached (connection refused, DNS, TLS, no connection in time)
  4  internal error of oa-hook itself (never your input)
  130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM: check, replay and load mode report what
     ran and are never a pass; a second signal quits at once. A closed stdout (| head -1) stops
     the printing, not the run: the exit code is still the verdict

Settings:
  Every option can also come from an environment variable, OA_HOOK_ and its long name in
  capitals with _ for - (OA_HOOK_URL, OA_HOOK_TIMEOUT, OA_HOOK_MAX_SKEW, ...; each is shown
  as [env: ...] in the command's --help), and from oa-hook.toml (--config FILE, OA_HOOK_CONFIG,
  or ./oa-hook.toml): a flag beats its variable, which beats the file, which beats the default.
  OA_HOOK_TOKEN      the webhook token (instead of --token); never printed, never read from a file
  NO_COLOR           no colour unless --color always";

/// Sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
///
/// Chat POSTs a signed JSON callback to your backend before and after things happen to an
/// Official Account: eleven commands, from the subscribe veto (before-subscribe: the backend
/// may refuse some or all subscribers) to creation (before-create may deny it) and messages
/// (before-send may refuse, discard or rewrite one). oa-hook shows exactly what Chat sends, fires it at your
/// backend and judges the answer, stands in for a backend, and gates CI on a conformance suite.
#[derive(Debug, Parser)]
#[command(name = "oa-hook", version, after_long_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command. `-q` and `-v` belong to the commands they change, each saying how.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// When to colour output: auto (terminals only; honours NO_COLOR), always, never
    #[arg(long, env = "OA_HOOK_COLOR", value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,
    /// Read settings and scenarios from FILE [default: oa-hook.toml in this directory, if any]
    #[arg(long, env = "OA_HOOK_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the request Chat would send: URL with its query (signed with a token), headers, body
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the sample carries the Sign and RequestTime made with it (the token itself is never printed)")),
        after_help = "Examples:\n  oa-hook sample before-subscribe\n  oa-hook sample after-unsubscribe --format curl --url http://localhost:3000/im --token \"$TOKEN\""
    )]
    Sample(SampleArgs),
    /// Send a signed callback to a backend and judge its answer (or load-test it)
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the request carries the Sign and RequestTime made with it (unless --no-sign)")),
        after_help = "Examples:\n  oa-hook send before-subscribe --url http://localhost:3000/im --token \"$TOKEN\"\n  oa-hook send before-subscribe --url http://localhost:3000/im --expect-refused jared\n  oa-hook send before-subscribe --url http://localhost:3000/im --count 10000 --concurrency 32\n\nExit: 0 pass, 1 fail, 2 usage error, 3 unreachable; load mode 130/143 when interrupted by\nSIGINT/SIGTERM (the summary is printed, never a pass)"
    )]
    Send(SendArgs),
    /// Run a mock backend that validates callbacks and answers by policy, or a tap in front of
    /// your backend (--forward-to)
    #[command(
        mut_arg("token", |a| a.help("The webhook token: every callback must carry a fresh Sign made with it, or it is refused with 401")),
        after_help = "Examples:\n  oa-hook serve --refuse jared\n  oa-hook serve --refuse jared --inspect        # and open http://127.0.0.1:4040/\n  oa-hook serve --listen 127.0.0.1:0 --token \"$TOKEN\" --sdkappid 1400000000 --record events.ndjson\n  oa-hook serve --forward-to http://localhost:3000/im --token \"$TOKEN\" --record events.ndjson\n  oa-hook serve --fault 'delay=2.5s@10%,reset@1%' --seed 42"
    )]
    Serve(ServeArgs),
    /// Run the conformance and security suite against a backend (for CI)
    #[command(
        mut_arg("token", |a| a.help("The webhook token the backend checks: callbacks are signed with it and forgeries made against it; without it the four signature cases are skipped")),
        after_help = "Examples:\n  oa-hook check --url \"$BACKEND\" --sdkappid \"$APPID\" --token \"$TOKEN\" --junit report.xml\n  oa-hook check --url \"$BACKEND\" --token \"$TOKEN\" --only delivery\n  oa-hook check --url \"$BACKEND\" --token \"$TOKEN\" --only fuzz --fuzz 100 --seed 42\n\nExit: 0 pass, 1 a case failed, 2 usage error, 3 unreachable, 130/143 interrupted by SIGINT/SIGTERM\n(never a pass); the reports are written in every case"
    )]
    Check(CheckArgs),
    /// Re-send the callbacks of a record to a backend, and fail on every decision that changed
    #[command(
        mut_arg("token", |a| a.help("The webhook token the backend checks: each callback is signed afresh with it at the current time (without it, sent unsigned)")),
        after_help = "Examples:\n  oa-hook replay events.ndjson --url http://localhost:3000/im --token \"$TOKEN\" --junit replay.xml\n  oa-hook replay events.ndjson --url http://localhost:3000/im --as-recorded   # a replay attack\n\nExit: 0 no decision changed, 1 one did, 2 usage or record error, 3 unreachable, 130/143\ninterrupted by SIGINT/SIGTERM (never a pass); the reports are written in every case"
    )]
    Replay(ReplayArgs),
    /// Print the Sign and RequestTime Chat would add for a token
    #[command(mut_arg("token", |a| a.help("The webhook token to sign with (required)")))]
    Sign(SignArgs),
    /// Say whether a received callback URL is authentic, and if not, why
    #[command(
        mut_arg("token", |a| a.help("The webhook token the Sign is checked against (required)")),
        after_help = "Exit status: 0 authentic; 1 not authentic (a Sign made with another token, a RequestTime out of the window, a parameter twice); 2 bad input (no Sign or RequestTime, or one not as Chat writes it, such as a placeholder Sign=...)."
    )]
    Verify(VerifyArgs),
    /// Hand the protocol to other tools: an OpenAPI document, JSON Schemas, Locust and k6 scripts
    #[command(
        after_help = "Examples:\n  oa-hook export openapi > chat-webhooks.openapi.yaml\n  oa-hook export jsonschema schemas/\n  oa-hook export locust --url http://localhost:3000/im before-subscribe after-unsubscribe > locustfile.py\n  oa-hook export k6 --url http://localhost:3000/im all > load.js"
    )]
    Export(ExportArgs),
    /// Write a commented oa-hook.toml to start from (never over an existing file)
    #[command(
        after_help = "Example:\n  oa-hook init && oa-hook check --url http://localhost:3000/im"
    )]
    Init(InitArgs),
    /// Print shell completions
    #[command(after_help = "Example:\n  oa-hook completions bash > /etc/bash_completion.d/oa-hook")]
    Completions(CompletionsArgs),
    /// Print a man page (roff), or write one per command (--dir), made from the same
    /// definition as --help
    #[command(
        after_help = "Examples:\n  oa-hook man send | man -l -\n  oa-hook man --dir ~/.local/share/man/man1 && man oa-hook-send"
    )]
    Man(ManArgs),
}

/// The subcommands, by name: each has a man page of its own, `oa-hook-NAME(1)`.
pub(crate) const COMMAND_NAMES: &[&str] = &[
    "sample",
    "send",
    "serve",
    "check",
    "replay",
    "sign",
    "verify",
    "export",
    "init",
    "completions",
    "man",
];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_is_named_for_its_man_page() {
        let command = Cli::command().disable_help_subcommand(true);
        let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(names, COMMAND_NAMES);
    }
}
