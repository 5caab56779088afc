//! Colour and the two streams. Styles come from `colored`; every byte goes through `anstream`,
//! which drops the styling per stream (not a terminal, `NO_COLOR`, `--color never`).

use colored::{ColoredString, Colorize};

/// Results for people, or one JSON document (NDJSON for serve's events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Lines for people
    Human,
    /// JSON (one document; NDJSON for serve)
    Json,
}

/// Decides colour for every stream, once (anstream's rules: terminals only, `NO_COLOR`).
pub(crate) fn init_color(choice: anstream::ColorChoice) {
    choice.write_global();
    colored::control::set_override(true);
}

/// Results go here.
pub(crate) fn stdout() -> anstream::AutoStream<std::io::StdoutLock<'static>> {
    anstream::AutoStream::auto(std::io::stdout().lock())
}

/// Whether styles written to stdout reach it (rather than being stripped).
pub(crate) fn stdout_takes_color() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Progress, logs and errors go here.
pub(crate) fn stderr() -> anstream::AutoStream<std::io::StderrLock<'static>> {
    anstream::AutoStream::auto(std::io::stderr().lock())
}

pub(crate) fn pass_mark() -> ColoredString {
    "✔".green().bold()
}

pub(crate) fn fail_mark() -> ColoredString {
    "✘".red().bold()
}

pub(crate) fn warn_mark() -> ColoredString {
    "!".yellow().bold()
}

pub(crate) fn skip_mark() -> ColoredString {
    "-".dimmed()
}

/// Emphasis, e.g. the command of an event line.
pub(crate) fn strong(text: &str) -> ColoredString {
    text.bold()
}

/// A refusal's status.
pub(crate) fn failed(text: &str) -> ColoredString {
    text.red().bold()
}

/// Why something failed.
pub(crate) fn error(text: &str) -> ColoredString {
    text.red()
}

/// A warning's words.
pub(crate) fn warning(text: &str) -> ColoredString {
    text.yellow()
}

/// What matters less: timings, evidence under a case.
pub(crate) fn dim(text: &str) -> ColoredString {
    text.dimmed()
}
