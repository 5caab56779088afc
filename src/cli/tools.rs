//! The commands around the others: `sign`, `verify`, `export`, `init`, `man`, `completions`.

use super::values::*;
use super::{COMMAND_NAMES, Commands, QueryArgs, TokenArgs};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub token: TokenArgs,
    /// RequestTime in Unix seconds [default: now]
    #[arg(long, env = "OA_HOOK_TIME", value_name = "SECS", value_parser = checked(parse_unix_seconds))]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The callback URL as received (or just its path and query)
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub token: TokenArgs,
    /// How far RequestTime may be from now, either way, at most 24h
    #[arg(long, env = "OA_HOOK_MAX_SKEW", default_value = DEFAULT_MAX_SKEW, value_parser = checked(parse_max_skew), value_name = "DURATION")]
    pub max_skew: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(subcommand)]
    pub what: Export,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Export {
    /// Print an OpenAPI 3.1 document: a webhook for each of the eleven callbacks, with its query,
    /// Sign and RequestTime as security schemes, its body and answer schemas, Tencent's sample
    /// and sample answers
    Openapi {
        /// The document's format
        #[arg(long, short, value_enum, default_value_t = DocumentFormat::Yaml)]
        format: DocumentFormat,
    },
    /// Write one JSON Schema (2020-12) file per body and per answer into DIR (made if missing):
    /// NAME.request.schema.json and NAME.answer.schema.json
    Jsonschema {
        /// The directory to write into
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print a Locust file (Python) that sends the callbacks, signing every request afresh with
    /// the token of OA_HOOK_TOKEN, and fails on every answer Chat could not use in 2 s
    Locust(ScriptArgs),
    /// Print a k6 script (JavaScript) that sends the callbacks, signing every request afresh
    /// with the token of OA_HOOK_TOKEN, with thresholds on the answers and Chat's 2 s
    K6(ScriptArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocumentFormat {
    Yaml,
    Json,
}

/// What a load script sends, and where. The token is never an option: the script reads it
/// from the environment where it runs.
#[derive(Debug, Args)]
pub(crate) struct ScriptArgs {
    /// The callbacks to send, each in turn (short name or CallbackCommand word), or all
    #[arg(value_name = "COMMAND", required = true, value_parser = checked(parse_commands))]
    pub commands: Vec<Commands>,
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url))]
    pub url: Url,
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to write it
    #[arg(value_name = "FILE", default_value = crate::config::FILE_NAME)]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, e.g. send [default: the main page, oa-hook(1)]
    #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(COMMAND_NAMES))]
    pub command: Option<String>,
    /// Write the pages into DIR instead of printing one: oa-hook.1 and one per command
    /// (oa-hook-send.1, ...), or COMMAND's alone; DIR is made if it does not exist
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
