//! `oa-hook.toml`: option values under the command line and the environment (a flag beats its
//! `OA_HOOK_*` variable, which beats the file, which beats the default), and the team's own
//! rules as `[[scenario]]`s for `check`. The token is never read from the file.

use crate::error::{Error, Result};
use crate::expect::Expected;
use crate::local::Bounded;
use crate::protocol::Callback;
use crate::request::{EVENT_OPTIONS, EventFields, Given, Slot};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The file looked for in the current directory when neither `--config` nor `OA_HOOK_CONFIG`
/// names one.
pub(crate) const FILE_NAME: &str = "oa-hook.toml";

/// The largest config file read: settings and scenarios are a few KiB.
const MAX_CONFIG_BYTES: usize = 1 << 20;

/// A file as read: its option values (top-level keys, and `[command]` sections) and its
/// scenarios. Which option a key sets, and whether it is one, is for `crate::settings`.
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// Where it was read from; `None` when there was no file.
    pub path: Option<PathBuf>,
    pub table: Table,
    pub scenarios: Vec<Scenario>,
}

/// One `[[scenario]]`: a callback to send and what the team expects Chat to decide.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario {
    pub name: String,
    /// A callback's short name or command word.
    pub command: String,
    pub platform: Option<String>,
    pub client_ip: Option<std::net::IpAddr>,
    pub event_time: Option<i64>,
    /// The values of its event keys, each as [`EVENT_OPTIONS`]'s `scenario_key` names it
    /// (`account_name` for `--name`, since `name` names the scenario).
    #[serde(skip)]
    pub event: EventFields,
    /// A JSON body to send instead, relative to the file.
    pub body: Option<PathBuf>,
    pub expect: Option<Expected>,
    #[serde(default)]
    pub expect_refused: Vec<String>,
}

impl Scenario {
    pub(crate) fn callback(&self) -> &'static Callback {
        // Checked when the file was read.
        Callback::find(&self.command).unwrap_or(&crate::protocol::CALLBACKS[0])
    }
}

impl Config {
    /// The file `named` by `--config FILE` (or `OA_HOOK_CONFIG`), else `oa-hook.toml` in the
    /// current directory when there is one; no file is no config.
    pub(crate) fn find(named: Option<&Path>) -> Result<Config> {
        match named.filter(|name| !name.as_os_str().is_empty()) {
            Some(path) => Config::read(path),
            None if Path::new(FILE_NAME).is_file() => Config::read(Path::new(FILE_NAME)),
            None => Ok(Config::default()),
        }
    }

    fn read(path: &Path) -> Result<Config> {
        let shown = path.display();
        let bytes = Bounded {
            what: &format!("the config file {shown}"),
            limit: MAX_CONFIG_BYTES,
            hint: "give --config an existing TOML file of settings and scenarios (or unset OA_HOOK_CONFIG)",
        }
        .read(path)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::usage(format!("the config file {shown} is not UTF-8 text"))
                .hint("give --config a TOML file (or unset OA_HOOK_CONFIG)")
        })?;
        let mut table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| not_toml(path, &text, &e))?;
        let scenarios = match table.remove("scenario") {
            None => Vec::new(),
            Some(value) => scenarios(path, value)?,
        };
        Ok(Config {
            path: Some(path.to_owned()),
            table,
            scenarios,
        })
    }
}

/// A file that does not parse, said with where (line and column) and the line itself, as
/// toml says it, but never a line that names a token or is inside a string one opens: toml's
/// own message would quote it, secret and all.
fn not_toml(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let what = e.message().trim_end();
    let start = e.span().map_or(text.len(), |span| span.start);
    let before = text.get(..start).unwrap_or(text);
    let number = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or_default();
    let margin = " ".repeat(number.to_string().len());
    let message = format!(
        "{} is not valid TOML: line {number}, column {column}: {what}",
        path.display()
    );
    if secret_lines(text).contains(&number) {
        Error::usage(format!(
            "{message}\n    {number} | (not shown: it names a token)"
        ))
        .hint(format!(
            "correct line {number}; a token has no place in the file anyway: it is never read from one (use OA_HOOK_TOKEN or --token)"
        ))
    } else {
        let caret = " ".repeat(column - 1);
        Error::usage(format!(
            "{message}\n    {number} | {line}\n    {margin} | {caret}^"
        ))
        .hint(
            "a setting is key = value, one a line: text in quotes, a number, true or false, or [a, list]; `oa-hook init example.toml` writes a commented file",
        )
    }
}

/// The lines (numbered from 1) an error message must not quote: every line that says `token`
/// (as a key, or anywhere: which part of a broken line is the key is not known), and the
/// lines of a multi-line string that one of them opens.
fn secret_lines(text: &str) -> Vec<usize> {
    let mut secret = Vec::new();
    let mut open: Option<&str> = None;
    for (number, line) in (1..).zip(text.lines()) {
        match open {
            Some(delimiter) => {
                secret.push(number);
                if line.contains(delimiter) {
                    open = None;
                }
            }
            None if line.to_lowercase().contains("token") => {
                secret.push(number);
                open = ["\"\"\"", "'''"]
                    .into_iter()
                    .find(|delimiter| line.matches(delimiter).count() % 2 == 1);
            }
            None => {}
        }
    }
    // Still open at the end: where toml stops, past the last line, is inside it too.
    if open.is_some() {
        secret.push(text.lines().count() + 1);
    }
    secret
}

pub(crate) fn unknown(path: &Path, key: &str, why: &str) -> Error {
    Error::usage(format!("{}: {why}", path.display())).hint(format!(
        "remove or correct `{key}`; keys are the long option names with _ for -, e.g. max_skew"
    ))
}

/// What a TOML value is, in words: `timeout` is a string.
pub(crate) fn toml_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// The `[[scenario]]`s, each checked: known keys of the right types, a name and a command,
/// names unique, the command known, expectations that can hold together.
fn scenarios(path: &Path, value: Value) -> Result<Vec<Scenario>> {
    let shown = path.display();
    let Value::Array(items) = value else {
        return Err(Error::usage(format!(
            "{shown}: `scenario` is {}; write each as a [[scenario]] table",
            toml_type(&value)
        )));
    };
    let mut scenarios: Vec<Scenario> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let number = i + 1;
        let refused = |e: toml::de::Error| {
            let keys: Vec<&str> = EVENT_OPTIONS.iter().map(|o| o.scenario_key).collect();
            Error::usage(format!(
                "{shown}: scenario {number}: {}",
                e.message().trim_end()
            ))
            .hint(format!("a scenario takes name, command, the event keys ({}, platform, client_ip, event_time) or body, and expect and expect_refused", keys.join(", ")))
        };
        let (item, event) = event_keys(item).map_err(refused)?;
        let scenario: Scenario = item.try_into().map_err(refused)?;
        let scenario = Scenario { event, ..scenario };
        let named = format!("{shown}: scenario {number} (`{}`)", scenario.name);
        if scenario.name.trim().is_empty() {
            return Err(Error::usage(format!(
                "{shown}: scenario {number} has an empty name"
            )));
        }
        if let Err(unknown) = Callback::find(&scenario.command) {
            return Err(Error::usage(format!(
                "{named}: `{}` is not a callback command",
                scenario.command
            ))
            .hint(unknown.did_you_mean().map_or_else(
                || {
                    "use a short name such as before-subscribe, or a CallbackCommand word"
                        .to_owned()
                },
                |like| format!("did you mean '{like}'?"),
            )));
        }
        let callback = scenario.callback();
        if let Some(option) = scenario
            .event
            .options()
            .find(|option| !option.applies_to(callback))
        {
            return Err(Error::usage(format!(
                "{named}: `{}` does not apply to {}: its body has no such field",
                option.scenario_key, callback.name
            ))
            .hint(format!(
                "see the body of {0} with `oa-hook sample {0} --format body`",
                callback.name
            )));
        }
        if scenario.expect == Some(Expected::Reject) && !scenario.expect_refused.is_empty() {
            return Err(Error::usage(format!(
                "{named}: expect = \"reject\" and expect_refused cannot both hold"
            )));
        }
        if scenarios.iter().any(|s| s.name == scenario.name) {
            return Err(
                Error::usage(format!("{named}: another scenario has the same name")).hint(
                    "give each scenario its own name: it is the id of its case, scenario/<name>",
                ),
            );
        }
        let body = scenario.body.as_ref().map(|body| {
            path.parent()
                .filter(|dir| !dir.as_os_str().is_empty() && body.is_relative())
                .map_or_else(|| body.clone(), |dir| dir.join(body))
        });
        scenarios.push(Scenario { body, ..scenario });
    }
    Ok(scenarios)
}

/// A scenario's event keys taken out of `item`, by [`EVENT_OPTIONS`]; an empty list is none.
fn event_keys(item: Value) -> Result<(Value, EventFields), toml::de::Error> {
    let Value::Table(mut table) = item else {
        return Ok((item, EventFields::default()));
    };
    let mut given = Vec::new();
    for option in EVENT_OPTIONS {
        let Some(value) = table.remove(option.scenario_key) else {
            continue;
        };
        let value = match option.slot {
            Slot::Text(_) => Given::Text(value.try_into()?),
            Slot::Texts(_) => Given::Texts(value.try_into()?),
            Slot::Flag(..) => Given::Flag(value.try_into()?),
            Slot::Number(..) => Given::Number(value.try_into()?),
        };
        if value != Given::Texts(Vec::new()) {
            given.push((option, value));
        }
    }
    Ok((Value::Table(table), EventFields::new(given)))
}

/// A commented `oa-hook.toml` to start from (`oa-hook init`).
pub(crate) const TEMPLATE: &str = r#"# oa-hook.toml: settings and your own rules for oa-hook.
# Keys are the long option names with _ for -. A flag beats its OA_HOOK_* environment
# variable, which beats this file, which beats the default.
# The token is never read from this file: use OA_HOOK_TOKEN (or --token).

# For send, check (and every command that has the option):
# url = "http://127.0.0.1:3000/im"
# sdkappid = 1400000000
# timeout = "5s"

[serve]
# listen = "127.0.0.1:8080"
# refuse = ["jared"]

[check]
# junit = "oa-hook.xml"

# Your own rules: `oa-hook check` runs each as the case scenario/<name>.
# Event keys: official_account, operator, subscribers, platform, client_ip, event_time,
# or body = "file.json" (relative to this file). Expectations: expect = "allow" | "reject",
# expect_refused = [...] (exactly these refused, the others subscribed).

[[scenario]]
name = "banned users are refused"
command = "before-subscribe"
subscribers = ["banned_bob", "alice"]
expect_refused = ["banned_bob"]

[[scenario]]
name = "a closed account takes no subscribers"
command = "before-subscribe"
official_account = "@TOA#_closed"
expect = "reject"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_valid_toml_with_two_scenarios() {
        let mut table: Table = TEMPLATE.parse().unwrap();
        let scenarios =
            scenarios(Path::new("oa-hook.toml"), table.remove("scenario").unwrap()).unwrap();
        assert_eq!(scenarios.len(), 2);
        assert_eq!(scenarios[0].expect_refused, ["banned_bob"]);
        assert_eq!(scenarios[1].expect, Some(Expected::Reject));
    }

    #[test]
    fn lines_that_name_a_token_are_secret_with_the_strings_they_open() {
        let text =
            "url = \"x\"\ntoken = \"\"\"s3cr3t\nmore\n\"\"\"\nsdkappid = 1\n[serve] TOKEN = 'a'\n";
        assert_eq!(secret_lines(text), vec![2, 3, 4, 6]);
        assert_eq!(
            secret_lines("token = \"\"\"s3cr3t\ns3cr3t\n"),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_parse_error_says_where_and_shows_the_line_unless_it_is_secret() {
        let said = |text: &str| {
            let e = text.parse::<Table>().unwrap_err();
            let error = not_toml(Path::new("oa-hook.toml"), text, &e);
            format!("{}\n{}", error.message, error.hint.unwrap_or_default())
        };
        let plain = said("sdkappid = 1\nurl = [1\n");
        assert!(
            plain.starts_with("oa-hook.toml is not valid TOML: line 2, column 9: "),
            "{plain}"
        );
        assert!(
            plain.contains("\n    2 | url = [1\n      |         ^\n"),
            "{plain}"
        );
        for secret in [
            "token = \"s3cr3t",
            "token = s3cr3t",
            "url = \"a\" token = \"s3cr3t\"",
            "token = \"s3cr3t\"\ntoken = \"s3cr3t\"",
            "[serve]\ntoken = \"\"\"s3cr3t\ns3cr3t",
        ] {
            let error = said(secret);
            assert!(!error.contains("s3cr3t"), "{secret:?}: {error}");
            assert!(error.contains("(not shown: it names a token)"), "{error}");
        }
    }
}
