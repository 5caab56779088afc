//! oa-hook: sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
//!
//! The library is the [`protocol`] module: the contract, with no I/O, for a Rust backend to
//! reuse. It signs and verifies callbacks ([`protocol::sign`], [`protocol::verify`]), names
//! the eleven callbacks and their bodies ([`protocol::Callback`], [`protocol::CALLBACKS`]), and
//! judges an answer the way Chat would ([`protocol::judge`], [`protocol::Decision`]).
//!
//! A backend checks that a callback is authentic before it acts on it:
//!
//! ```
//! use oa_hook::protocol::{FRESHNESS, SignatureError, sign, verify};
//!
//! let now = 1_700_000_000;
//! let sign = sign("my-token", now);
//! let verified = verify("my-token", Some(&sign), Some("1700000000"), now, FRESHNESS).unwrap();
//! assert_eq!(verified.request_time, now);
//! // Made with another token: refused.
//! let forged = verify("guess", Some(&sign), Some("1700000000"), now, FRESHNESS);
//! assert_eq!(forged, Err(SignatureError::Mismatch));
//! ```
//!
//! and can see, before it ships, what Chat makes of its answer:
//!
//! ```
//! use oa_hook::protocol::{Callback, Decision, Reply, judge};
//!
//! let callback = Callback::find("before-subscribe").unwrap();
//! let subscribers = ["jared".to_owned(), "leckie".to_owned()];
//! let answer = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#;
//! let judgement = judge(callback, &subscribers, Reply::new(200, answer));
//! assert!(judgement.conforms());
//! assert_eq!(
//!     judgement.decision,
//!     Decision::Subscribes { subscribed: vec!["leckie".into()], refused: vec!["jared".into()] }
//! );
//! ```
//!
//! [`main`] is the whole program behind the `oa-hook` binary; [`exit`] holds its documented
//! exit codes, and [`FIXED_CLOCK_ENV`] the variable that fixes its clock for tests.

mod check;
mod cli;
mod client;
mod clock;
mod cmd;
mod compact;
mod config;
mod error;
mod expect;
mod export;
mod fuzz;
mod interrupt;
mod load;
mod local;
mod memo;
mod output;
pub mod protocol;
mod record;
mod replay;
mod report;
mod request;
mod runtime;
mod seeded;
mod serve;
mod settings;
mod socket;
mod veto;

pub use clock::FIXED_CLOCK_ENV;
pub use error::exit;

use error::{Error, Outcome};

use cli::Command;
use colored::Colorize;
use settings::{Settings, Stop};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs one command with its settings.
fn run(settings: &Settings) -> Result<Outcome, Error> {
    let clock = clock::Clock::from_env()?;
    match &settings.cli.command {
        Command::Init(args) => cmd::init::run(&args.file),
        Command::Man(args) => cmd::man::run(args.command.as_deref(), args.dir.as_deref()),
        Command::Sample(args) => cmd::sample::run(&args.sample(&clock)?),
        Command::Sign(args) => cmd::sign::run(&args.sign()?, &clock),
        Command::Verify(args) => cmd::verify::run(&args.verify()?, &clock),
        Command::Completions(args) => cmd::completions::run(args.shell),
        Command::Check(args) => cmd::check::run(args, &clock, &settings.config.scenarios),
        Command::Send(args) => cmd::send::run(args, &clock),
        Command::Serve(args) => cmd::serve::run(args, &clock),
        Command::Replay(args) => cmd::replay::run(args, &clock),
        Command::Export(args) => cmd::export::run(&args.exported()),
    }
}

/// Reads the command line and the config file, runs, reports any error, and turns the result
/// into an exit code.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let settings = match settings::read(&args) {
        Ok(settings) => settings,
        Err(Stop::Shown(code)) => return ExitCode::from(code),
        Err(Stop::Refused(error)) => {
            report_error(&error);
            return ExitCode::from(error.exit_code());
        }
    };
    output::init_color(settings.cli.global.color.choice());
    let code = match run(&settings) {
        Ok(outcome) => {
            output::note_failed_stdout();
            outcome.exit_code()
        }
        Err(error) => {
            report_error(&error);
            error.exit_code()
        }
    };
    ExitCode::from(code)
}

fn report_error(error: &Error) {
    let mut err = output::stderr();
    let _ = writeln!(err, "{} {}", "oa-hook: error:".red().bold(), error.message);
    if let Some(hint) = &error.hint {
        let _ = writeln!(err, "  {} {hint}", "hint:".cyan().bold());
    }
}
