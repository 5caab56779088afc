//! What makes up a callback (the event options, read by the table of
//! [`EVENT_OPTIONS`], and its query), and how it is signed.

use super::heading;
use super::values::*;
use crate::request::{EVENT_OPTIONS, EventFields, EventOption, Given, Slot};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Args, FromArgMatches};
use std::net::IpAddr;
use std::path::PathBuf;

/// The values that make up a callback, one option for each of [`EVENT_OPTIONS`] and
/// `--event-time`, under the heading Event. Defaults are the samples on Tencent's pages.
#[derive(Debug, Clone)]
pub(crate) struct EventArgs {
    pub query: QueryArgs,
    pub fields: EventFields,
    pub event_time: Option<i64>,
    /// The options given on the command line itself: those are refused for a command whose
    /// body has no such field, while a value from the environment or the config file (meant
    /// for every command) is left unused there.
    pub given: Vec<&'static EventOption>,
}

impl Args for EventArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        let command = QueryArgs::augment_args(command.next_help_heading(heading::EVENT));
        let command = EVENT_OPTIONS
            .iter()
            .fold(command, |command, option| command.arg(event_arg(option)));
        command.arg(
            Arg::new("event_time")
                .long("event-time")
                .env("OA_HOOK_EVENT_TIME")
                .value_name("MS")
                .value_parser(checked(parse_event_time))
                .help("EventTime in Unix milliseconds [default: now]"),
        )
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

/// The option of the command line for an event option of the table.
fn event_arg(option: &EventOption) -> Arg {
    let id = option.id();
    let arg = Arg::new(id.clone())
        .long(option.long)
        .env(format!("OA_HOOK_{}", id.to_uppercase()))
        .value_name(option.value_name)
        .help(option.help);
    match option.slot {
        Slot::Text(_) => arg.value_parser(clap::value_parser!(String)),
        Slot::Texts(_) => arg
            .value_parser(clap::value_parser!(String))
            .action(ArgAction::Append),
        Slot::Flag(_, parse) => arg.value_parser(checked(parse)),
        Slot::Number(_, parse) => arg
            .value_parser(checked(parse))
            .allow_negative_numbers(true),
    }
}

impl FromArgMatches for EventArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut fields = Vec::new();
        let mut given = Vec::new();
        for option in EVENT_OPTIONS {
            let id = option.id();
            let value = match option.slot {
                Slot::Text(_) => matches.get_one::<String>(&id).cloned().map(Given::Text),
                Slot::Texts(_) => matches
                    .get_many::<String>(&id)
                    .map(|texts| Given::Texts(texts.cloned().collect())),
                Slot::Flag(..) => matches.get_one::<bool>(&id).copied().map(Given::Flag),
                Slot::Number(..) => matches.get_one::<i64>(&id).copied().map(Given::Number),
            };
            fields.extend(value.map(|value| (option, value)));
            if matches.value_source(&id) == Some(ValueSource::CommandLine) {
                given.push(option);
            }
        }
        Ok(EventArgs {
            query: QueryArgs::from_arg_matches(matches)?,
            fields: EventFields::new(fields),
            event_time: matches.get_one::<i64>("event_time").copied(),
            given,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The query parameters of a callback besides its command and signature.
#[derive(Debug, Args, Clone)]
pub(crate) struct QueryArgs {
    /// The app's SDKAppID, sent as the SdkAppid query parameter
    #[arg(long, env = "OA_HOOK_SDKAPPID", default_value_t = 88888888, value_name = "ID", value_parser = checked(parse_sdkappid))]
    pub sdkappid: u64,
    /// The ClientIP query parameter
    #[arg(long, env = "OA_HOOK_CLIENT_IP", default_value = "127.0.0.1", value_name = "IP", value_parser = checked(parse_client_ip))]
    pub client_ip: IpAddr,
    /// The OptPlatform query parameter
    #[arg(long, env = "OA_HOOK_PLATFORM", default_value = "RESTAPI", value_parser = platforms())]
    pub platform: String,
}

/// The webhook token. Taken from the environment preferably: a flag is visible to `ps`. Each
/// command says what it does with it (`mut_arg` on its [`Command`](super::Command) variant).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = heading::AUTHENTICATION)]
pub(crate) struct TokenArgs {
    /// The webhook token set in the Chat console
    #[arg(long, env = "OA_HOOK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = heading::AUTHENTICATION)]
pub(crate) struct RequestTimeArgs {
    /// RequestTime in Unix seconds, for the Sign [default: now]
    #[arg(long, env = "OA_HOOK_REQUEST_TIME", value_name = "SECS", value_parser = checked(parse_unix_seconds))]
    pub request_time: Option<u64>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = heading::EVENT)]
pub(crate) struct BodyArgs {
    /// Use this JSON body instead of building one: a file, or - for stdin (sent byte for byte)
    #[arg(long, env = "OA_HOOK_BODY", value_name = "FILE|-")]
    pub body: Option<PathBuf>,
}
