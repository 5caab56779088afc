//! `oa-hook man`: the man pages, `oa-hook(1)` and one per command (`oa-hook-send(1)`, ...), from
//! the same clap definition as `--help`.

use crate::cli::Cli;
use crate::error::{Error, Outcome, Result};
use crate::output;
use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use std::io::{self, Write};
use std::path::Path;

/// Prints the page of `command` (a subcommand's name; the main page without one), or writes
/// it, or every page without one, into `dir`.
pub(crate) fn run(command: Option<&str>, dir: Option<&Path>) -> Result<Outcome> {
    // `oa-hook help` would be listed as a page of its own, and there is none.
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    let pages: Vec<&clap::Command> = match (command, dir) {
        // Checked by clap against the same names.
        (Some(name), _) => top.find_subcommand(name).into_iter().collect(),
        (None, Some(_)) => with_subcommands(&top),
        (None, None) => vec![&top],
    };
    let Some(dir) = dir else {
        for command in pages {
            output::stdout().write_all(&page(command))?;
        }
        return Ok(Outcome::Pass);
    };
    let cannot = |path: &Path, e: io::Error| {
        Error::usage(format!("cannot write {}: {e}", path.display()))
            .hint("give --dir a directory you may write to, e.g. ~/.local/share/man/man1")
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
    for command in pages {
        let path = dir.join(format!("{}.1", name(command)));
        std::fs::write(&path, page(command)).map_err(|e| cannot(&path, e))?;
        writeln!(output::stdout(), "wrote {}", path.display())?;
    }
    Ok(Outcome::Pass)
}

/// `command` and every command under it (`oa-hook export openapi` has a page of its own, which
/// `oa-hook-export(1)` names).
fn with_subcommands(command: &clap::Command) -> Vec<&clap::Command> {
    let mut pages = vec![command];
    for sub in command.get_subcommands() {
        pages.extend(with_subcommands(sub));
    }
    pages
}

/// `oa-hook`, or `oa-hook-send` for a command (clap names each so once built).
fn name(command: &clap::Command) -> &str {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
}

/// One page in roff: clap_mangen's sections, then the text `--help` shows after the options
/// (examples, exit codes, settings) as sections of their own, and where to read on.
fn page(command: &clap::Command) -> Vec<u8> {
    let man = Man::new(command.clone())
        .title(name(command))
        // No date, written as roff's empty argument: left out, the source would take its place.
        .date("\"\"")
        .source(format!("oa-hook {}", env!("CARGO_PKG_VERSION")));
    // Every part clap_mangen renders starts with the same preamble: it is kept once.
    let preamble = Roff::new().render();
    let mut page = preamble.clone().into_bytes();
    let mut add = |render: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| {
        let mut part = Vec::new();
        // Writing to a Vec does not fail.
        let _ = render(&mut part);
        page.extend_from_slice(part.strip_prefix(preamble.as_bytes()).unwrap_or(&part));
    };
    add(&|w| man.render_title(w));
    add(&|w| man.render_name_section(w));
    add(&|w| man.render_synopsis_section(w));
    add(&|w| man.render_description_section(w));
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        add(&|w| man.render_options_section(w));
    }
    if command.has_subcommands() {
        add(&|w| man.render_subcommands_section(w));
    }
    let mut rest = Roff::new();
    if let Some(text) = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
    {
        after_help(&mut rest, &text.to_string());
    }
    if command.get_name() != "oa-hook" {
        rest.control("SH", ["SEE ALSO"])
            .text([bold("oa-hook"), roman("(1)")]);
    }
    add(&|w| rest.to_writer(w));
    if command.get_version().is_some() {
        add(&|w| man.render_version_section(w));
    }
    page
}

/// The text `--help` shows after the options, as man sections. A line `Heading:` starts a
/// section (`Heading: text`, one holding that text); under it, an indented line `KEY  text`
/// (two spaces or more after KEY) is a tagged paragraph, an example is a line of its own, and
/// the other lines are prose, filled to the reader's width rather than broken where `--help`
/// breaks them.
fn after_help(roff: &mut Roff, text: &str) {
    let mut examples = false;
    // Lines of prose, or of examples, not yet written.
    let mut pending: Vec<&str> = Vec::new();
    let flush = |roff: &mut Roff, pending: &mut Vec<&str>, examples: bool| {
        if pending.is_empty() {
            return;
        }
        if examples {
            roff.control("RS", ["4"]).control("nf", []);
            for example in pending.drain(..) {
                roff.text([roman(example)]);
            }
            roff.control("fi", []).control("RE", []);
        } else {
            roff.control("PP", []).text([roman(pending.join(" "))]);
            pending.clear();
        }
    };
    for line in text.lines() {
        let item = line.trim();
        if item.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            flush(roff, &mut pending, examples);
            let (heading, said) = line.split_once(':').unwrap_or((line, ""));
            roff.control("SH", [heading.to_uppercase().as_str()]);
            examples = heading.starts_with("Example");
            pending.extend(Some(said.trim()).filter(|said| !said.is_empty()));
        } else if let Some((key, said)) = item.split_once("  ").filter(|_| !examples) {
            flush(roff, &mut pending, examples);
            roff.control("TP", [])
                .text([bold(key)])
                .text([roman(said.trim_start())]);
        } else {
            pending.push(item);
        }
    }
    flush(roff, &mut pending, examples);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str) -> String {
        let mut roff = Roff::new();
        after_help(&mut roff, text);
        roff.to_roff()
    }

    #[test]
    fn prose_is_filled_tagged_lines_are_tagged_and_examples_kept_whole() {
        assert_eq!(
            rendered(
                "Exit codes:\n  0  all good\n  2  bad input\n\nSettings:\n  Every option can\n  come from a variable.\n  NO_COLOR      no colour"
            ),
            ".SH \"EXIT CODES\"\n.TP\n\\fB0\\fR\nall good\n.TP\n\\fB2\\fR\nbad input\n.SH SETTINGS\n.PP\nEvery option can come from a variable.\n.TP\n\\fBNO_COLOR\\fR\nno colour\n"
        );
        assert_eq!(
            rendered("Examples:\n  oa-hook send --url x\n  oa-hook man"),
            ".SH EXAMPLES\n.RS 4\n.nf\noa\\-hook send \\-\\-url x\noa\\-hook man\n.fi\n.RE\n"
        );
        assert_eq!(
            rendered("Exit status: 0 authentic, 1 not."),
            ".SH \"EXIT STATUS\"\n.PP\n0 authentic, 1 not.\n"
        );
    }
}
