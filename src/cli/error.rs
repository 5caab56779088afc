//! clap's errors of the command line (an unknown flag, a missing or invalid value), said as
//! every error of oa-hook is: what is wrong, and a hint with clap's "did you mean" and tips.

use crate::error::Error;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// `error` as a usage error (exit 2). Help and version are not errors: see `crate::settings`.
pub(crate) fn usage_error(error: &clap::Error) -> Error {
    let context = |kind| error.get(kind).map(text);
    let quoted = |kind| context(kind).map(|text| format!("'{text}'"));
    let arg = quoted(ContextKind::InvalidArg).unwrap_or_default();
    // Only some of clap's errors carry the usage line, which names the command.
    let see = context(ContextKind::Usage).map_or_else(
        || "the command's --help says what it takes".to_owned(),
        |usage| format!("`{}` says what it takes", command_of(usage) + " --help"),
    );
    let one_of = context(ContextKind::ValidValue)
        .filter(|values| !values.is_empty())
        .map(|values| format!("give one of: {values}"));
    let mut tips = context(ContextKind::Suggested).filter(|tips| !tips.is_empty());
    let (message, hint) = match error.kind() {
        ErrorKind::UnknownArgument => (
            format!("unexpected argument {arg}"),
            quoted(ContextKind::SuggestedArg).map(|arg| format!("did you mean {arg}?")),
        ),
        ErrorKind::InvalidSubcommand => (
            format!(
                "unrecognized command {}",
                quoted(ContextKind::InvalidSubcommand).unwrap_or_default()
            ),
            quoted(ContextKind::SuggestedSubcommand)
                .map(|command| format!("did you mean {command}?"))
                .or_else(|| Some("`oa-hook --help` lists the commands".to_owned())),
        ),
        ErrorKind::InvalidValue => match context(ContextKind::InvalidValue) {
            Some(value) if !value.is_empty() => (
                format!("invalid value '{value}' for {arg}"),
                quoted(ContextKind::SuggestedValue)
                    .map(|value| format!("did you mean {value}?"))
                    .or(one_of),
            ),
            _ => (format!("{arg} needs a value"), one_of),
        },
        ErrorKind::ArgumentConflict => match context(ContextKind::PriorArg) {
            Some(prior) if format!("'{prior}'") == arg => (
                format!("{arg} is given more than once"),
                Some("give it once".to_owned()),
            ),
            Some(prior) => (
                format!("{arg} cannot be used with '{prior}'"),
                Some("give one or the other".to_owned()),
            ),
            None => (format!("{arg} cannot be used here"), None),
        },
        ErrorKind::MissingRequiredArgument => (
            format!("missing {}", arg.trim_matches('\'')),
            context(ContextKind::Usage).map(|usage| format!("usage: {}", usage_line(&usage))),
        ),
        ErrorKind::MissingSubcommand => (
            "no command given".to_owned(),
            context(ContextKind::ValidSubcommand).map(|commands| {
                format!("give one of: {commands} (`oa-hook --help` says what each does)")
            }),
        ),
        // Every value parser that can refuse is `checked` (cli/values.rs): what to give is its tip.
        ErrorKind::ValueValidation => (said(error), tips.take()),
        _ => (said(error), None),
    };
    let hint = match (hint, tips) {
        (Some(hint), Some(tips)) => format!("{hint}; {tips}"),
        (Some(hint), None) => hint,
        (None, Some(tips)) => format!("{see}; {tips}"),
        (None, None) => see,
    };
    Error::usage(message).hint(hint)
}

/// A piece of context as plain text; a list as `a, b, c`.
fn text(value: &ContextValue) -> String {
    match value {
        ContextValue::String(text) => text.clone(),
        ContextValue::Strings(list) => list.join(", "),
        ContextValue::StyledStr(text) => text.to_string(),
        ContextValue::StyledStrs(list) => list
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        ContextValue::Number(n) => n.to_string(),
        ContextValue::Bool(on) => on.to_string(),
        _ => String::new(),
    }
}

/// `oa-hook send [OPTIONS] --url <URL> <COMMAND>` of clap's `Usage: ...`.
fn usage_line(usage: &str) -> &str {
    usage.trim().strip_prefix("Usage:").unwrap_or(usage).trim()
}

/// The command a usage line is for, `oa-hook send`: its words up to the first option or value.
fn command_of(usage: String) -> String {
    usage_line(&usage)
        .split_whitespace()
        .take_while(|word| !word.starts_with(['[', '<', '-']))
        .collect::<Vec<_>>()
        .join(" ")
}

/// clap's own sentence, without its `error: ` and what it adds below it.
fn said(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    fn said_for(args: &[&str]) -> (String, Option<String>) {
        let error = Cli::command()
            .try_get_matches_from(args)
            .expect_err("refused");
        let said = usage_error(&error);
        (said.message, said.hint)
    }

    #[test]
    fn a_usage_line_names_its_command() {
        assert_eq!(
            command_of("Usage: oa-hook send [OPTIONS] --url <URL> <COMMAND>".to_owned()),
            "oa-hook send"
        );
        assert_eq!(command_of("Usage: oa-hook <COMMAND>".to_owned()), "oa-hook");
    }

    #[test]
    fn each_kind_says_what_is_wrong_and_what_to_give() {
        let cases: &[(&[&str], &str, &str)] = &[
            (
                &["serve", "--fail", "--reject"],
                "'--fail' cannot be used with '--reject'",
                "give one or the other",
            ),
            (
                &["serve", "-q", "-q"],
                "'--quiet' is given more than once",
                "give it once",
            ),
            (
                &["--color", "never"],
                "no command given",
                "give one of: sample, send, serve, check, replay, sign, verify, export, init, completions, man, help (`oa-hook --help` says what each does)",
            ),
            (
                &["serve", "--status", "99"],
                "--status 99 is not an HTTP status from 200 to 599",
                "give one such as 500 or 503",
            ),
            (
                &["sign", "--bogus"],
                "unexpected argument '--bogus'",
                "`oa-hook sign --help` says what it takes",
            ),
            (
                &["check", "--url"],
                "'--url <URL>' needs a value",
                "the command's --help says what it takes",
            ),
        ];
        for (args, message, hint) in cases {
            let line: Vec<&str> = ["oa-hook"].iter().chain(*args).copied().collect();
            assert_eq!(
                said_for(&line),
                ((*message).to_owned(), Some((*hint).to_owned())),
                "{args:?}"
            );
        }
    }
}
