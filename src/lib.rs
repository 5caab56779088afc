//! oa-hook: sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
//!
//! The library is the [`protocol`] module: the contract (signing and verifying, the request and
//! answer types, judging answers, validating callbacks) with no I/O, for a Rust backend to
//! reuse. [`main`] is the whole program behind the `oa-hook` binary.

mod check;
mod clap_error;
mod cli;
mod client;
mod clock;
mod cmd;
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
mod veto;

pub use clock::FIXED_CLOCK_ENV;
pub use error::exit;

use error::{Error, Outcome};

use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, Command};
use colored::Colorize;
use config::{Config, Given};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs one parsed command line, with the scenarios of the config file.
fn run(cli: &Cli, config: &Config) -> Result<Outcome, Error> {
    let clock = clock::Clock::from_env()?;
    match &cli.command {
        Command::Init(args) => cmd::init::run(args),
        Command::Man(args) => cmd::man::run(args),
        Command::Sample(args) => cmd::sample::run(args, &clock),
        Command::Sign(args) => cmd::sign::run(args, &clock),
        Command::Verify(args) => cmd::verify::run(args, &clock),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Check(args) => cmd::check::run(args, &clock, &config.scenarios),
        Command::Send(args) => cmd::send::run(args, &clock),
        Command::Serve(args) => cmd::serve::run(args, &clock),
        Command::Replay(args) => cmd::replay::run(args, &clock),
        Command::Export(args) => cmd::export::run(args),
    }
}

/// Parses the arguments, runs, reports any error, and turns the result into an exit code.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let given = Given::of(Cli::command(), &args);
    let config = match Config::find(&given) {
        Ok(config) => config,
        Err(error) => {
            report_error(&error);
            return ExitCode::from(error.exit_code());
        }
    };
    let command = match config.apply(Cli::command(), &given) {
        Ok(command) => command,
        Err(error) => {
            report_error(&error);
            return ExitCode::from(error.exit_code());
        }
    };
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return command_line_refused(&error),
    };
    cli.note_given(&matches);
    output::init_color(cli.global.color.choice());
    let code = match run(&cli, &config) {
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

/// What clap stopped at: `--help` and `--version` are printed as clap prints them (stdout, exit
/// 0), and so is the help that `oa-hook` alone gets (stderr, exit 2); anything else is a usage
/// error, said as every error is.
fn command_line_refused(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind::{
        DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion,
    };
    if matches!(
        error.kind(),
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(if error.use_stderr() {
            exit::USAGE
        } else {
            exit::OK
        });
    }
    let error = clap_error::usage_error(error);
    report_error(&error);
    ExitCode::from(error.exit_code())
}

fn report_error(error: &Error) {
    let mut err = output::stderr();
    let _ = writeln!(err, "{} {}", "oa-hook: error:".red().bold(), error.message);
    if let Some(hint) = &error.hint {
        let _ = writeln!(err, "  {} {hint}", "hint:".cyan().bold());
    }
}
