//! oa-hook: sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
//!
//! The [`protocol`] module is the contract (signing, request and answer types, validation)
//! with no I/O; a Rust backend can reuse it. [`run`] is the whole program behind `main`.

pub mod cli;
mod client;
mod clock;
mod cmd;
mod error;
mod load;
mod output;
pub mod protocol;
mod report;
mod request;
mod serve;
mod suite;

pub use clock::FIXED_CLOCK_ENV;
pub use error::{Error, ErrorKind, Outcome, exit};

use clap::Parser;
use cli::{Cli, Command};
use colored::Colorize;
use std::io::Write;
use std::process::ExitCode;

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<Outcome, Error> {
    let clock = clock::Clock::from_env()?;
    match &cli.command {
        Command::Sample(args) => cmd::sample::run(args, &clock),
        Command::Sign(args) => cmd::sign::run(args, &clock),
        Command::Verify(args) => cmd::verify::run(args, &clock),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Check(args) => cmd::check::run(args, &clock),
        Command::Send(args) => cmd::send::run(args, &clock),
        Command::Serve(args) => cmd::serve::run(args, &clock),
    }
}

/// Parses the arguments, runs, reports any error, and turns the result into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_color(cli.global.color);
    let code = match run(&cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            report_error(&error);
            error.exit_code()
        }
    };
    ExitCode::from(code)
}

fn report_error(error: &Error) {
    if error.kind == ErrorKind::BrokenPipe {
        return;
    }
    let mut err = output::stderr();
    let _ = writeln!(err, "{} {}", "oa-hook: error:".red().bold(), error.message);
    if let Some(hint) = &error.hint {
        let _ = writeln!(err, "  {} {hint}", "hint:".cyan().bold());
    }
}
