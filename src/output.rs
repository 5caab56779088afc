//! Colour and the two streams. The palette is here, once: styles come from `colored`; every
//! byte goes through `anstream`, which drops the styling per stream (not a terminal,
//! `NO_COLOR`, `--color never`).

use colored::{ColoredString, Colorize};
use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

/// Results for people, or one JSON document (NDJSON for serve's events). `--output` names them
/// (`crate::cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Human,
    Json,
}

impl OutputFormat {
    /// Where notes for people go: stdout beside human results, stderr when every stdout line
    /// must be JSON.
    pub(crate) fn notes(self) -> Box<dyn Write> {
        match self {
            OutputFormat::Human => Box::new(stdout()),
            OutputFormat::Json => Box::new(stderr()),
        }
    }
}

/// Decides colour for every stream, once (anstream's rules: terminals only, `NO_COLOR`).
pub(crate) fn init_color(choice: anstream::ColorChoice) {
    choice.write_global();
    colored::control::set_override(true);
}

/// Results go here. A closed or failing stdout stops the printing, not the run: writes to it
/// then succeed without effect, so that every command goes on to its end and exits with its
/// verdict (`check | head -1` still exits 1 for a failing backend). A closed pipe is quiet; any
/// other failure is said at the end (see [`written`]).
pub(crate) fn stdout() -> Stdout {
    Stdout(anstream::AutoStream::auto(io::stdout().lock()))
}

/// Standard output, as [`stdout`] gives it.
pub(crate) struct Stdout(anstream::AutoStream<io::StdoutLock<'static>>);

/// Why stdout stopped taking output, once it has: the first error.
static STDOUT_FAILED: OnceLock<(io::ErrorKind, String)> = OnceLock::new();

/// Whether everything written to stdout reached it, for a command whose output is its product
/// (`sample`, `man`): a closed pipe is the reader saying it has enough (exit 0, quietly, as
/// ripgrep does), any other failure (a full disk) is an error.
pub(crate) fn written() -> Result<(), crate::error::Error> {
    match STDOUT_FAILED.get() {
        Some((kind, message)) if *kind != io::ErrorKind::BrokenPipe => Err(stdout_failed(message)),
        _ => Ok(()),
    }
}

/// For a command whose exit code is a verdict: a failed stdout (other than a closed pipe) is
/// said on stderr, and the verdict stands.
pub(crate) fn note_failed_stdout() {
    if let Some((kind, message)) = STDOUT_FAILED.get()
        && *kind != io::ErrorKind::BrokenPipe
    {
        let error = stdout_failed(message);
        let _ = writeln!(
            stderr(),
            "oa-hook: {}; the exit code is still the verdict",
            error.message
        );
    }
}

fn stdout_failed(message: &str) -> crate::error::Error {
    crate::error::Error::usage(format!("cannot write to stdout: {message}"))
        .hint("redirect stdout somewhere with room, e.g. > report.txt")
}

impl Stdout {
    fn failed(&self, e: &io::Error) {
        let _ = STDOUT_FAILED.set((e.kind(), e.to_string()));
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if STDOUT_FAILED.get().is_some() {
            return Ok(buf.len());
        }
        match self.0.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.failed(&e);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if STDOUT_FAILED.get().is_none()
            && let Err(e) = self.0.flush()
        {
            self.failed(&e);
        }
        Ok(())
    }
}

/// Whether styles written to stdout reach it (rather than being stripped).
pub(crate) fn stdout_takes_color() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// Progress, logs and errors go here. A closed stderr is no reason to stop or to change the
/// verdict: its write errors are ignored.
pub(crate) fn stderr() -> Stderr {
    Stderr(anstream::AutoStream::auto(io::stderr().lock()))
}

/// Standard error, as [`stderr`] gives it.
pub(crate) struct Stderr(anstream::AutoStream<io::StderrLock<'static>>);

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

pub(crate) fn pass_mark() -> ColoredString {
    passed("✔")
}

pub(crate) fn fail_mark() -> ColoredString {
    failed("✘")
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

/// A pass: its mark, `PASS`.
pub(crate) fn passed(text: &str) -> ColoredString {
    text.green().bold()
}

/// A failure: its mark, `FAIL`, a refusal's status.
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

/// The palette as stdout takes it, worked out once, for lines written many times a second
/// (serve's event lines): a `colored` style is worked out again on every use, which cost
/// several percent of serve's time under load. Each style is empty when stdout takes no colour
/// (anstream's rules: terminal, `NO_COLOR`, `--color`).
pub(crate) struct Palette {
    pub(crate) pass: String,
    pub(crate) fail: String,
    pub(crate) warn: String,
    pub(crate) strong: Paint,
    pub(crate) failed: Paint,
    pub(crate) error: Paint,
    pub(crate) warning: Paint,
    pub(crate) dim: Paint,
}

impl Palette {
    pub(crate) fn for_stdout() -> Self {
        Palette::new(stdout_takes_color())
    }

    /// The palette in colour, or with every style empty.
    pub(crate) fn new(color: bool) -> Self {
        let plain = !color;
        let mark = |m: ColoredString| {
            if plain {
                m.input.clone()
            } else {
                m.to_string()
            }
        };
        let paint = |style: fn(&str) -> ColoredString| {
            if plain {
                Paint::default()
            } else {
                Paint::of(style)
            }
        };
        Palette {
            pass: mark(pass_mark()),
            fail: mark(fail_mark()),
            warn: mark(warn_mark()),
            strong: paint(strong),
            failed: paint(failed),
            error: paint(error),
            warning: paint(warning),
            dim: paint(dim),
        }
    }
}

/// A style of the palette as the escape codes around a text: `{paint}` opens it, `{paint:#}`
/// closes it.
#[derive(Default)]
pub(crate) struct Paint {
    on: String,
    off: String,
}

impl Paint {
    fn of(style: fn(&str) -> ColoredString) -> Self {
        const MARK: &str = "\u{1}";
        let styled = style(MARK).to_string();
        let (on, off) = styled.split_once(MARK).unwrap_or_default();
        Paint {
            on: on.to_owned(),
            off: off.to_owned(),
        }
    }

    /// Writes `text` in this style.
    pub(crate) fn push(&self, line: &mut String, text: &str) {
        self.push_with(line, |line| line.push_str(text));
    }

    /// Writes what `write` writes in this style.
    pub(crate) fn push_with(&self, line: &mut String, write: impl FnOnce(&mut String)) {
        line.push_str(&self.on);
        write(line);
        line.push_str(&self.off);
    }
}

impl fmt::Display for Paint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if f.alternate() { &self.off } else { &self.on })
    }
}

/// "1 error", "2 warnings".
pub(crate) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// What a URL's password is printed as: it is as secret as the token, which is never printed.
const MASK: &str = "***";

/// `url` as it may be printed: `http://user:pw@host/` becomes `http://user:***@host/`.
pub(crate) fn masked(url: &url::Url) -> url::Url {
    let mut shown = url.clone();
    if url.password().is_some() {
        // Only a URL without a host has no password to set, and this one has a password.
        let _ = shown.set_password(Some(MASK));
    }
    shown
}

/// [`masked`] for text the user typed, which may not parse as a URL at all: the password of
/// `scheme://user:pw@host...` or `user:pw@host...` is masked, anything else left as it is.
pub(crate) fn mask_password(text: &str) -> std::borrow::Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return text.into();
    };
    let Some(colon) = authority[..at].find(':') else {
        return text.into();
    };
    format!(
        "{}{MASK}{}",
        &text[..start + colon + 1],
        &text[start + at..]
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let url = url::Url::parse("http://user:p%40ss@example.com:8080/im?a=1").unwrap();
        assert_eq!(
            masked(&url).as_str(),
            "http://user:***@example.com:8080/im?a=1"
        );
        let plain = url::Url::parse("http://user@example.com/").unwrap();
        assert_eq!(masked(&plain), plain);
        assert_eq!(mask_password("http://user:pw@[/im"), "http://user:***@[/im");
        assert_eq!(mask_password("u:pw@host:1/x@y"), "u:***@host:1/x@y");
        assert_eq!(mask_password("localhost:3000/im"), "localhost:3000/im");
        assert_eq!(mask_password("http://h/?a=b:c@d"), "http://h/?a=b:c@d");
    }
}
