//! The command line and `oa-hook.toml`, lowered once into what a command runs with: a flag
//! beats its `OA_HOOK_*` variable, which beats the file, which beats the default. Where a value
//! came from is clap's own record of it ([`clap::ArgMatches::value_source`]): nothing here
//! reads the raw arguments. Past this module no code knows where a value came from.

use crate::cli::error as clap_error;
use crate::cli::{Cli, FROM_FILE, checked};
use crate::config::{Config, toml_type, unknown};
use crate::error::{Error, Result};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use toml::Value;

/// What a command runs with: its options, and the scenarios of the config file.
pub(crate) struct Settings {
    pub cli: Cli,
    pub config: Config,
}

/// Why no command runs.
pub(crate) enum Stop {
    /// `--help` or `--version` (or the help `oa-hook` alone gets) was printed: exit with this.
    Shown(u8),
    /// The command line or the config file is wrong.
    Refused(Error),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Refused(error)
    }
}

/// Reads `args` (the program's name first) and the config file they name into settings.
pub(crate) fn read(args: &[OsString]) -> std::result::Result<Settings, Stop> {
    // Made afresh wherever it is needed again, which is seldom (an error, a config file), not
    // copied for the first reading to keep one unread (reading changes it): serve kept what
    // the copy had touched to the end, the allocator's pages of the main thread being reused
    // by no other (0.3 MiB of its peak RSS).
    let command = || with_engine_parsers(Cli::command());
    // An option the command line must give may come from the file instead: clap's reading
    // without that demand, then, with its refusal kept for when the file does not give it.
    let (matches, missing) = match command().try_get_matches_from(args) {
        Ok(matches) => (matches, None),
        Err(error) if error.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            let lenient = command().ignore_errors(true);
            match lenient.try_get_matches_from(args) {
                Ok(matches) => (matches, Some(error)),
                Err(_) => return Err(refused(&error)),
            }
        }
        Err(error) => return Err(refused(&error)),
    };
    let Some((name, given)) = matches.subcommand() else {
        return Err(refused(&command().error(
            clap::error::ErrorKind::MissingSubcommand,
            "no command given",
        )));
    };
    let config = Config::find(given.get_one::<PathBuf>("config").map(PathBuf::as_path))?;
    let from_file = match &config.path {
        Some(path) => file_values(&command(), name, given, &config, path)?,
        None => Vec::new(),
    };
    let lenient = missing.is_some();
    if let Some(error) = missing {
        let command = command();
        let sub = command.find_subcommand(name).unwrap_or(&command);
        let still_missing = sub.get_arguments().any(|arg| {
            arg.is_required_set()
                && !given.contains_id(arg.get_id().as_str())
                && !from_file.iter().any(|(id, _)| id == arg.get_id())
        });
        if still_missing {
            return Err(refused(&error));
        }
    }
    let matches = if from_file.is_empty() && !lenient {
        matches
    } else {
        with_file_values(command(), name, from_file, args, config.path.as_deref())?
    };
    let mut cli = Cli::from_arg_matches(&matches).map_err(|error| refused(&error))?;
    cli.note_given(&matches);
    Ok(Settings { cli, config })
}

/// `command` with the value parsers of the options whose values an engine reads: cli/ defines
/// the options, and knows no engine.
fn with_engine_parsers(command: clap::Command) -> clap::Command {
    command.mut_subcommand("serve", |serve| {
        serve.mut_arg("fault", |arg| {
            arg.value_parser(checked(|text| {
                crate::serve::fault::parse(text).map(|_| text.to_owned())
            }))
        })
    })
}

/// The command line read again with `values` (the file's, at `path`) as the defaults of the
/// options of the command `name`: clap itself, then, puts a flag or a variable above them,
/// and reads them with the same parsers. The command line was read without error already, so
/// what clap refuses now is a value of the file.
fn with_file_values(
    command: clap::Command,
    name: &str,
    values: Vec<(clap::Id, Vec<String>)>,
    args: &[OsString],
    path: Option<&Path>,
) -> std::result::Result<ArgMatches, Stop> {
    let command = command.mut_subcommand(name, |mut sub| {
        for (id, values) in values {
            // Not shown in --help: the file may hold what is not to be shown, such as a URL
            // with a password.
            sub = sub.mut_arg(id, |arg| {
                let takes_values = arg.get_action().takes_values();
                arg.required(false)
                    .default_values(values)
                    .hide_default_value(takes_values)
            });
        }
        sub
    });
    command.try_get_matches_from(args).map_err(|error| {
        let mut said = clap_error::usage_error(&error);
        let ours = error.get(clap::error::ContextKind::InvalidArg).is_some_and(
            |arg| matches!(arg, clap::error::ContextValue::String(arg) if arg == FROM_FILE),
        );
        if let (true, Some(path)) = (ours, path) {
            said.message = format!("{}: {}", path.display(), said.message);
        }
        Stop::Refused(said)
    })
}

/// clap's refusal of the command line: help and version printed as clap prints them (stdout,
/// exit 0; the help `oa-hook` alone gets on stderr, exit 2), anything else a usage error.
fn refused(error: &clap::Error) -> Stop {
    use clap::error::ErrorKind::{
        DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion,
    };
    if matches!(
        error.kind(),
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        let code = if error.use_stderr() {
            crate::exit::USAGE
        } else {
            crate::exit::OK
        };
        return Stop::Shown(code);
    }
    Stop::Refused(clap_error::usage_error(error))
}

/// The values the file at `path` gives the options of the command `name`, as clap reads them
/// from the command line, each by the option's id, a later one for the same option winning:
/// top-level keys for every command that has that option, then `[serve]`, `[send]`, ... keys
/// for that command alone, which beat a top-level key wherever either stands in the file. Every key is checked, for any command. A value
/// gives way to an option `given` on the command line or by its variable (that option, or one
/// it conflicts with): a flag beats the file.
fn file_values(
    command: &clap::Command,
    name: &str,
    given: &ArgMatches,
    config: &Config,
    path: &Path,
) -> Result<Vec<(clap::Id, Vec<String>)>> {
    let commands: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    let mut values = Vec::new();
    // A section's values come after the top-level ones, so that they win: TOML tables are not
    // read in the file's order.
    let mut sectioned = Vec::new();
    for (key, value) in &config.table {
        match value {
            Value::Table(section) if commands.contains(&key.as_str()) => {
                for (option, value) in section {
                    let place = format!("[{key}] {option}");
                    let file = File {
                        path,
                        place: &place,
                    };
                    sectioned.extend(file.set(command, Some(key), option, value, name)?);
                }
            }
            Value::Table(_) => {
                return Err(unknown(
                    path,
                    key,
                    &format!(
                        "`[{key}]` is not a section of oa-hook.toml; sections are named after commands ({})",
                        commands.join(", ")
                    ),
                ));
            }
            _ => {
                let file = File { path, place: key };
                values.extend(file.set(command, None, key, value, name)?);
            }
        }
    }
    values.extend(sectioned);
    let Some(sub) = command.find_subcommand(name) else {
        return Ok(Vec::new());
    };
    let is_given = |id: &clap::Id| {
        matches!(
            given.value_source(id.as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    values.retain(|(id, _)| {
        let Some(arg) = sub.get_arguments().find(|a| a.get_id() == id) else {
            return false;
        };
        // Either side may declare the conflict.
        let overruled = sub.get_arguments().any(|other| {
            is_given(other.get_id())
                && (other.get_id() == id
                    || sub
                        .get_arg_conflicts_with(arg)
                        .iter()
                        .any(|c| c.get_id() == other.get_id())
                    || sub
                        .get_arg_conflicts_with(other)
                        .iter()
                        .any(|c| c.get_id() == id))
        });
        !overruled
    });
    Ok(values)
}

/// Where in the config file a key is, for what is said about it.
struct File<'a> {
    path: &'a Path,
    /// `timeout`, or `[serve] timeout`.
    place: &'a str,
}

impl File<'_> {
    /// The value `key = value` gives the option of that long name in `only` (a command name) or
    /// in every command that has it, checked for each; the value itself when `name` has it.
    fn set(
        &self,
        command: &clap::Command,
        only: Option<&str>,
        key: &str,
        value: &Value,
        name: &str,
    ) -> Result<Option<(clap::Id, Vec<String>)>> {
        let (path, place) = (self.path, self.place);
        if matches!(key, "token" | "inspect_token") {
            let flag = key.replace('_', "-");
            return Err(Error::usage(format!(
                "{}: `{place}`: the token is a secret and is never read from a file",
                path.display()
            ))
            .hint(format!(
                "remove it from the file; use OA_HOOK_{} (or --{flag})",
                key.to_uppercase()
            )));
        }
        if key == "config" {
            return Err(unknown(
                path,
                key,
                &format!("`{place}`: a config file cannot name another"),
            ));
        }
        let long = key.replace('_', "-");
        let mut found = None;
        let subs = command
            .get_subcommands()
            .filter(|sub| only.is_none_or(|only| only == sub.get_name()));
        for sub in subs {
            let Some(arg) = sub
                .get_arguments()
                .find(|a| a.get_long() == Some(long.as_str()))
            else {
                continue;
            };
            let values = values_for(arg.get_action(), value).map_err(|expected| {
                Error::usage(format!(
                    "{}: `{place}` is {}; expected {expected}",
                    path.display(),
                    toml_type(value)
                ))
            })?;
            let mine = (sub.get_name() == name).then(|| (arg.get_id().clone(), values));
            found = Some(found.flatten().or(mine));
        }
        found.ok_or_else(|| {
            let of = only.map_or_else(|| "any command".to_owned(), |c| format!("`oa-hook {c}`"));
            unknown(path, key, &format!("`{place}` is not an option of {of}"))
        })
    }
}

/// The option's values for `value`, as given on the command line, or what the option expects
/// instead.
fn values_for(action: &ArgAction, value: &Value) -> std::result::Result<Vec<String>, &'static str> {
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Float(x) => Some(x.to_string()),
        _ => None,
    };
    match (action, value) {
        (ArgAction::SetTrue | ArgAction::SetFalse, Value::Boolean(on)) => Ok(vec![on.to_string()]),
        (ArgAction::SetTrue | ArgAction::SetFalse, _) => Err("true or false"),
        (ArgAction::Append, Value::Array(items)) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .ok_or("an array of strings or numbers"),
        (ArgAction::Append, value) => scalar(value)
            .map(|v| vec![v])
            .ok_or("a string, a number, or an array of them"),
        (_, value) => scalar(value).map(|v| vec![v]).ok_or("a string or a number"),
    }
}

mod lower;

pub(crate) use lower::{Exported, Sample, Sign, Verify};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    /// `check`'s quiet and verbose as read from `args` with `file` as the config file.
    fn quiet_and_verbose(file: &str, args: &[&str]) -> (bool, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oa-hook.toml");
        std::fs::write(&path, file).unwrap();
        let mut line: Vec<OsString> = vec!["oa-hook".into(), "--config".into(), path.into()];
        line.extend(["check", "--url", "http://127.0.0.1:9/"].map(OsString::from));
        line.extend(args.iter().map(OsString::from));
        let Ok(settings) = read(&line) else {
            panic!("{args:?} refused");
        };
        match settings.cli.command {
            Command::Check(check) => (check.quiet, check.verbose),
            other => panic!("{other:?} read for check"),
        }
    }

    #[test]
    fn a_file_value_gives_way_to_a_flag_it_conflicts_with_in_any_spelling() {
        let file = "[check]\nverbose = true\n";
        assert_eq!(quiet_and_verbose(file, &[]), (false, true));
        for spelling in [&["-q", "-k"][..], &["-kq"], &["-qk"], &["--quiet"]] {
            assert_eq!(
                quiet_and_verbose(file, spelling),
                (true, false),
                "{spelling:?}"
            );
        }
        assert_eq!(quiet_and_verbose("", &["-v"]), (false, true));
    }

    #[test]
    fn a_value_the_command_line_must_give_may_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oa-hook.toml");
        let args = |path: &Path| -> Vec<OsString> {
            ["oa-hook", "--config"]
                .map(OsString::from)
                .into_iter()
                .chain([path.as_os_str().to_owned()])
                .chain(["send", "before-subscribe"].map(OsString::from))
                .collect()
        };
        std::fs::write(&path, "sdkappid = 1\n").unwrap();
        let Err(Stop::Refused(missing)) = read(&args(&path)) else {
            panic!("send without a url read");
        };
        assert_eq!(missing.message, "missing --url <URL>");
        std::fs::write(&path, "url = \"http://file.example/im\"\n").unwrap();
        let Ok(Settings { cli, .. }) = read(&args(&path)) else {
            panic!("the file's url not taken");
        };
        let Command::Send(send) = cli.command else {
            panic!("not send");
        };
        assert_eq!(send.url.as_str(), "http://file.example/im");
    }

    #[test]
    fn a_command_section_beats_a_top_level_key_wherever_it_stands() {
        // "url" sorts after "send" and "platform" before it: neither order may decide.
        let file = "url = \"http://top.example/\"\nplatform = \"iOS\"\n[send]\nurl = \"http://section.example/\"\nplatform = \"Android\"\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oa-hook.toml");
        std::fs::write(&path, file).unwrap();
        let line: Vec<OsString> = ["oa-hook", "--config"]
            .map(OsString::from)
            .into_iter()
            .chain([path.into_os_string()])
            .chain(["send", "before-subscribe"].map(OsString::from))
            .collect();
        let Ok(Settings { cli, .. }) = read(&line) else {
            panic!("the file refused");
        };
        let Command::Send(send) = cli.command else {
            panic!("not send");
        };
        assert_eq!(send.url.as_str(), "http://section.example/");
        assert_eq!(
            format!("{:?}", send).matches("Android").count(),
            1,
            "{send:?}"
        );
    }
}
