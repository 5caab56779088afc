//! The command line. Doc comments here are the `--help` text.

use crate::expect::{Expectation, Expected};
use crate::protocol::{CALLBACKS, Callback};
use crate::request::{EVENT_OPTIONS, EventFields, EventOption, Given, Slot};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;
use url::Url;

const EXIT_CODES: &str = "\
Exit codes:
  0  everything conformed (or: authentic, printed)
  1  the target answered but broke the contract (or HTTP), was too slow, or an expectation failed
  2  usage or input error (bad flag, unreadable file, invalid URL or JSON)
  3  the target could not be reached (connection refused, DNS, TLS, no connection in time)
  4  internal error of oa-hook itself (never your input)
  130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM: check, replay and load mode report what
     ran and are never a pass; a second signal quits at once. A closed stdout (| head -1) stops
     the printing, not the run: the exit code is still the verdict

Settings:
  Every option can also come from an environment variable, OA_HOOK_ and its long name in
  capitals with _ for - (OA_HOOK_URL, OA_HOOK_TIMEOUT, OA_HOOK_MAX_SKEW, ...; each is shown
  as [env: ...] in the command's --help), and from oa-hook.toml (--config FILE, OA_HOOK_CONFIG,
  or ./oa-hook.toml): a flag beats its variable, which beats the file, which beats the default.
  OA_HOOK_TOKEN      the webhook token (instead of --token); never printed, never read from a file
  NO_COLOR           no colour unless --color always";

/// Sample, send, serve and check Tencent Cloud Chat Official Account webhooks.
///
/// Chat POSTs a signed JSON callback to your backend before and after things happen to an
/// Official Account: eleven commands, from the subscribe veto (before-subscribe: the backend
/// may refuse some or all subscribers) to creation (before-create may deny it) and messages
/// (before-send may refuse, discard or rewrite one). oa-hook shows exactly what Chat sends, fires it at your
/// backend and judges the answer, stands in for a backend, and gates CI on a conformance suite.
#[derive(Debug, Parser)]
#[command(name = "oa-hook", version, after_long_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command. `-q` and `-v` belong to the commands they change, each saying how.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// When to colour output: auto (terminals only; honours NO_COLOR), always, never
    #[arg(long, env = "OA_HOOK_COLOR", value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,
    /// Read settings and scenarios from FILE [default: oa-hook.toml in this directory, if any]
    #[arg(long, env = "OA_HOOK_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Cli {
    /// Notes what the command line itself gave: serve's token (the `send` command serve
    /// prints reads it from `OA_HOOK_TOKEN`).
    pub(crate) fn note_given(&mut self, matches: &clap::ArgMatches) {
        if let (Command::Serve(args), Some((_, matches))) =
            (&mut self.command, matches.subcommand())
        {
            args.token_on_command_line =
                matches.value_source("token") == Some(ValueSource::CommandLine);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    pub(crate) fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the request Chat would send: URL with its query (signed with a token), headers, body
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the sample carries the Sign and RequestTime made with it (the token itself is never printed)")),
        after_help = "Examples:\n  oa-hook sample before-subscribe\n  oa-hook sample after-unsubscribe --format curl --url http://localhost:3000/im --token \"$TOKEN\""
    )]
    Sample(SampleArgs),
    /// Send a signed callback to a backend and judge its answer (or load-test it)
    #[command(
        mut_arg("token", |a| a.help("The webhook token: the request carries the Sign and RequestTime made with it (unless --no-sign)")),
        after_help = "Examples:\n  oa-hook send before-subscribe --url http://localhost:3000/im --token \"$TOKEN\"\n  oa-hook send before-subscribe --url http://localhost:3000/im --expect-refused jared\n  oa-hook send before-subscribe --url http://localhost:3000/im --count 10000 --concurrency 32\n\nExit: 0 pass, 1 fail, 2 usage error, 3 unreachable; load mode 130/143 when interrupted by\nSIGINT/SIGTERM (the summary is printed, never a pass)"
    )]
    Send(SendArgs),
    /// Run a mock backend that validates callbacks and answers by policy, or a tap in front of
    /// your backend (--forward-to)
    #[command(
        mut_arg("token", |a| a.help("The webhook token: every callback must carry a fresh Sign made with it, or it is refused with 401")),
        after_help = "Examples:\n  oa-hook serve --refuse jared\n  oa-hook serve --refuse jared --inspect        # and open http://127.0.0.1:4040/\n  oa-hook serve --listen 127.0.0.1:0 --token \"$TOKEN\" --sdkappid 1400000000 --record events.ndjson\n  oa-hook serve --forward-to http://localhost:3000/im --token \"$TOKEN\" --record events.ndjson\n  oa-hook serve --fault 'delay=2.5s@10%,reset@1%' --seed 42"
    )]
    Serve(ServeArgs),
    /// Run the conformance and security suite against a backend (for CI)
    #[command(
        mut_arg("token", |a| a.help("The webhook token the backend checks: callbacks are signed with it and forgeries made against it; without it the four signature cases are skipped")),
        after_help = "Examples:\n  oa-hook check --url \"$BACKEND\" --sdkappid \"$APPID\" --token \"$TOKEN\" --junit report.xml\n  oa-hook check --url \"$BACKEND\" --token \"$TOKEN\" --only delivery\n  oa-hook check --url \"$BACKEND\" --token \"$TOKEN\" --only fuzz --fuzz 100 --seed 42\n\nExit: 0 pass, 1 a case failed, 2 usage error, 3 unreachable, 130/143 interrupted by SIGINT/SIGTERM\n(never a pass); the reports are written in every case"
    )]
    Check(CheckArgs),
    /// Re-send the callbacks of a record to a backend, and fail on every decision that changed
    #[command(
        mut_arg("token", |a| a.help("The webhook token the backend checks: each callback is signed afresh with it at the current time (without it, sent unsigned)")),
        after_help = "Examples:\n  oa-hook replay events.ndjson --url http://localhost:3000/im --token \"$TOKEN\" --junit replay.xml\n  oa-hook replay events.ndjson --url http://localhost:3000/im --as-recorded   # a replay attack\n\nExit: 0 no decision changed, 1 one did, 2 usage or record error, 3 unreachable, 130/143\ninterrupted by SIGINT/SIGTERM (never a pass); the reports are written in every case"
    )]
    Replay(ReplayArgs),
    /// Print the Sign and RequestTime Chat would add for a token
    #[command(mut_arg("token", |a| a.help("The webhook token to sign with (required)")))]
    Sign(SignArgs),
    /// Say whether a received callback URL is authentic, and if not, why
    #[command(
        mut_arg("token", |a| a.help("The webhook token the Sign is checked against (required)")),
        after_help = "Exit status: 0 authentic; 1 not authentic (a Sign made with another token, a RequestTime out of the window, a parameter twice); 2 bad input (no Sign or RequestTime, or one not as Chat writes it, such as a placeholder Sign=...)."
    )]
    Verify(VerifyArgs),
    /// Hand the protocol to other tools: an OpenAPI document, JSON Schemas, Locust and k6 scripts
    #[command(
        after_help = "Examples:\n  oa-hook export openapi > chat-webhooks.openapi.yaml\n  oa-hook export jsonschema schemas/\n  oa-hook export locust --url http://localhost:3000/im before-subscribe after-unsubscribe > locustfile.py\n  oa-hook export k6 --url http://localhost:3000/im all > load.js"
    )]
    Export(ExportArgs),
    /// Write a commented oa-hook.toml to start from (never over an existing file)
    #[command(
        after_help = "Example:\n  oa-hook init && oa-hook check --url http://localhost:3000/im"
    )]
    Init(InitArgs),
    /// Print shell completions
    #[command(after_help = "Example:\n  oa-hook completions bash > /etc/bash_completion.d/oa-hook")]
    Completions(CompletionsArgs),
    /// Print a man page (roff), or write one per command (--dir), made from the same
    /// definition as --help
    #[command(
        after_help = "Examples:\n  oa-hook man send | man -l -\n  oa-hook man --dir ~/.local/share/man/man1 && man oa-hook-send"
    )]
    Man(ManArgs),
}

/// The subcommands, by name: each has a man page of its own, `oa-hook-NAME(1)`.
pub(crate) const COMMAND_NAMES: &[&str] = &[
    "sample",
    "send",
    "serve",
    "check",
    "replay",
    "sign",
    "verify",
    "export",
    "init",
    "completions",
    "man",
];

/// A callback command, by short name or `CallbackCommand` word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallbackArg(pub &'static Callback);

static CALLBACK_ARGS: LazyLock<Vec<CallbackArg>> =
    LazyLock::new(|| CALLBACKS.iter().map(CallbackArg).collect());

impl ValueEnum for CallbackArg {
    fn value_variants<'a>() -> &'a [Self] {
        &CALLBACK_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(
            PossibleValue::new(self.0.name)
                .alias(self.0.command)
                .help(self.0.summary),
        )
    }
}

/// Reads a callback as clap reads any [`ValueEnum`], and says for a misspelt one which short name
/// or command word it is most like (clap's own guess knows the short names only).
#[derive(Clone)]
struct CallbackParser;

impl TypedValueParser for CallbackParser {
    type Value = CallbackArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<CallbackArg, clap::Error> {
        clap::builder::EnumValueParser::<CallbackArg>::new()
            .parse_ref(cmd, arg, value)
            .map_err(|mut error| {
                let like = value
                    .to_str()
                    .and_then(|name| Callback::find(name).err())
                    .and_then(|unknown| unknown.did_you_mean());
                if let Some(like) = like {
                    error.insert(
                        ContextKind::SuggestedValue,
                        ContextValue::String(like.to_owned()),
                    );
                }
                error
            })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            CALLBACK_ARGS
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

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
        let command = QueryArgs::augment_args(command.next_help_heading("Event"));
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
    #[arg(
        long,
        env = "OA_HOOK_SDKAPPID",
        default_value_t = 88888888,
        value_name = "ID",
        value_parser = checked(parse_sdkappid)
    )]
    pub sdkappid: u64,
    /// The ClientIP query parameter
    #[arg(
        long,
        env = "OA_HOOK_CLIENT_IP",
        default_value = "127.0.0.1",
        value_name = "IP",
        value_parser = checked(parse_client_ip)
    )]
    pub client_ip: IpAddr,
    /// The OptPlatform query parameter
    #[arg(long, env = "OA_HOOK_PLATFORM", default_value = "RESTAPI", value_parser = platforms())]
    pub platform: String,
}

/// The webhook token. Taken from the environment preferably: a flag is visible to `ps`. Each
/// command says what it does with it (`mut_arg` on its [`Command`] variant).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub(crate) struct TokenArgs {
    /// The webhook token set in the Chat console
    #[arg(
        long,
        env = "OA_HOOK_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

impl EventArgs {
    /// The plain values the request is built from.
    pub(crate) fn event(&self) -> crate::request::Event {
        crate::request::Event {
            sdkappid: self.query.sdkappid,
            fields: self.fields.clone(),
            event_time: self.event_time,
            client_ip: self.query.client_ip,
            platform: self.query.platform.clone(),
            given: self.given.clone(),
        }
    }
}

impl TargetArgs {
    /// The plain settings the client takes.
    pub(crate) fn target(&self) -> crate::client::Target {
        crate::client::Target {
            timeout: self.timeout,
            insecure: self.tls.insecure,
            cacert: self.tls.cacert.clone(),
        }
    }
}

impl TokenArgs {
    /// The token, if one was given. An empty one (a CI secret that is not set) is no token, in
    /// every command alike.
    pub(crate) fn get(&self) -> Option<&str> {
        self.token.as_deref().filter(|token| !token.is_empty())
    }
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Authentication")]
pub(crate) struct RequestTimeArgs {
    /// RequestTime in Unix seconds, for the Sign [default: now]
    #[arg(long, env = "OA_HOOK_REQUEST_TIME", value_name = "SECS", value_parser = checked(parse_unix_seconds))]
    pub request_time: Option<u64>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Event")]
pub(crate) struct BodyArgs {
    /// Use this JSON body instead of building one: a file, or - for stdin (sent byte for byte)
    #[arg(long, env = "OA_HOOK_BODY", value_name = "FILE|-")]
    pub body: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SampleFormat {
    /// The request as sent: request line with the full query, headers, the body byte for byte
    Http,
    /// The JSON body, pretty
    Body,
    /// The full URL with the query
    Url,
    /// A curl command that sends it
    Curl,
    /// Method, url, headers and body as one JSON object
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct SampleArgs {
    /// The callback, by short name (or its CallbackCommand word)
    #[arg(value_parser = CallbackParser, value_name = "COMMAND", hide_possible_values = false)]
    pub callback: CallbackArg,
    /// The webhook URL configured in the Chat console
    #[arg(long, env = "OA_HOOK_URL", default_value = "https://www.example.com", value_parser = checked(parse_url))]
    pub url: Url,
    /// What to print
    #[arg(long, env = "OA_HOOK_FORMAT", short, value_enum, default_value_t = SampleFormat::Http)]
    pub format: SampleFormat,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub body: BodyArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub request_time: RequestTimeArgs,
}

pub(crate) use crate::output::OutputFormat;

/// How to reach the target.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Target")]
pub(crate) struct TargetArgs {
    /// How long to wait for an answer, 1ms to 1h (Chat itself waits 2 s)
    #[arg(long, env = "OA_HOOK_TIMEOUT", default_value = "5s", value_parser = checked(parse_timeout), value_name = "DURATION")]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Which certificates a backend on HTTPS may present: for `send`, `check`, `replay` and the tap.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct TlsArgs {
    /// Accept any TLS certificate (self-signed backends)
    #[arg(long, env = "OA_HOOK_INSECURE", short = 'k')]
    pub insecure: bool,
    /// Trust the certificates in this PEM file instead of the system's, as curl does: the CA
    /// that signed the backend's certificate, or the backend's own (self-signed) certificate
    #[arg(long, env = "OA_HOOK_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Expectations")]
pub(crate) struct ExpectArgs {
    /// Expect Chat to let the subscription go ahead (allow) or reject it whole (reject)
    #[arg(long, env = "OA_HOOK_EXPECT", value_parser = decisions(), value_name = "DECISION")]
    pub expect: Option<Expected>,
    /// Expect exactly these users refused, the rest subscribed; repeat for several
    #[arg(
        long = "expect-refused",
        env = "OA_HOOK_EXPECT_REFUSED",
        value_name = "USER",
        conflicts_with = "expect"
    )]
    pub expect_refused: Vec<String>,
}

impl ExpectArgs {
    pub(crate) fn expectation(&self) -> Expectation {
        Expectation {
            outcome: self.expect,
            refused: self.expect_refused.clone(),
        }
    }
}

/// `--expect`'s values: the names of [`Expected`].
fn decisions() -> impl TypedValueParser<Value = Expected> {
    let names = Expected::NAMES.map(|(name, _)| name);
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|name| Expected::named(&name).ok_or("is not a decision"))
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The callback, by short name (or its CallbackCommand word)
    #[arg(value_parser = CallbackParser, value_name = "COMMAND")]
    pub callback: CallbackArg,
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = "Target")]
    pub url: Url,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Send unsigned even when a token is configured
    #[arg(long, env = "OA_HOOK_NO_SIGN", help_heading = "Authentication")]
    pub no_sign: bool,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Fail on warnings too (exit 1), such as a refused user who was not in the request; in
    /// load mode an answer with a warning then does not conform
    #[arg(long, env = "OA_HOOK_STRICT", help_heading = "Expectations")]
    pub strict: bool,
    /// Output format
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Output")]
    pub output: OutputFormat,
    /// Print the verdict line alone (in load mode, without the progress bar too)
    #[arg(
        short,
        long,
        env = "OA_HOOK_QUIET",
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub quiet: bool,
    /// Also print the request and the answer exactly as they crossed the wire (one request;
    /// load mode prints its summary only)
    #[arg(short, long, env = "OA_HOOK_VERBOSE", help_heading = "Output")]
    pub verbose: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub ci: CiArgs,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub body: BodyArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub request_time: RequestTimeArgs,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Load mode")]
#[command(group(clap::ArgGroup::new("load-size").args(["count", "duration"]).multiple(true)))]
pub(crate) struct LoadArgs {
    /// Send N requests (load mode), each with a fresh RequestTime and Sign; N up to 1000000000
    #[arg(long, env = "OA_HOOK_COUNT", short = 'n', value_name = "N", value_parser = checked(parse_count), allow_negative_numbers = true)]
    pub count: Option<u64>,
    /// Requests in flight at once, in load mode, 1 to 10000
    #[arg(long, env = "OA_HOOK_CONCURRENCY", short = 'c', default_value_t = 1, value_name = "C", value_parser = checked(parse_concurrency), allow_negative_numbers = true)]
    pub concurrency: u64,
    /// At most R requests per second, in load mode, 0.001 to 1000000
    #[arg(long, env = "OA_HOOK_RATE", value_name = "R", value_parser = checked(parse_rate), allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Stop load mode after this long, at most 24h (alone or with --count)
    #[arg(long, env = "OA_HOOK_DURATION", value_parser = checked(parse_load_duration), value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// In load mode, a before callback's run passes with up to PCT percent of callbacks that
    /// went ahead on Chat's timeout (no answer within 2 s), 0 to 100 [default: none may]
    #[arg(long, env = "OA_HOOK_MAX_LATE", value_name = "PCT", value_parser = checked(parse_percent))]
    pub max_late: Option<f64>,
}

impl LoadArgs {
    pub(crate) fn is_load(&self) -> bool {
        self.count.is_some() || self.duration.is_some()
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, env = "OA_HOOK_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR", value_parser = checked(parse_listen))]
    pub listen: SocketAddr,
    /// Refuse callbacks whose SdkAppid is not this
    #[arg(
        long,
        env = "OA_HOOK_SDKAPPID",
        value_name = "ID",
        value_parser = checked(parse_sdkappid),
        help_heading = "Validation"
    )]
    pub sdkappid: Option<u64>,
    #[command(flatten)]
    pub token: TokenArgs,
    /// How far RequestTime may be from now, either way, at most 24h
    #[arg(long, env = "OA_HOOK_MAX_SKEW", default_value = DEFAULT_MAX_SKEW, value_parser = checked(parse_max_skew), value_name = "DURATION", help_heading = "Validation")]
    pub max_skew: Duration,
    /// Refuse this subscriber (RefusedSubscribers_Account); repeat for several
    #[arg(
        long,
        env = "OA_HOOK_REFUSE",
        value_name = "USER",
        help_heading = "Policy"
    )]
    pub refuse: Vec<String>,
    /// Reject every before callback (ErrorCode 1): no subscription, no creation (the caller
    /// gets 20006), no message (the sender gets 10016)
    #[arg(
        long,
        env = "OA_HOOK_REJECT",
        help_heading = "Policy",
        conflicts_with = "fail"
    )]
    pub reject: bool,
    /// Answer ActionStatus FAIL
    #[arg(long, env = "OA_HOOK_FAIL", help_heading = "Policy")]
    pub fail: bool,
    /// Discard before-send's messages silently (ErrorCode 2: the sender is told it was sent)
    #[arg(long, env = "OA_HOOK_DISCARD", help_heading = "Policy", conflicts_with_all = ["reject", "fail", "rewrite_text", "error_code"])]
    pub discard: bool,
    /// Rewrite before-send's messages to this text (ErrorCode 0 with a TIMTextElem MsgBody)
    #[arg(long, env = "OA_HOOK_REWRITE_TEXT", value_name = "TEXT", help_heading = "Policy", conflicts_with_all = ["reject", "fail", "error_code"])]
    pub rewrite_text: Option<String>,
    /// Deny before-create and refuse before-send with this code of your own, 120001 to 130000
    /// (Chat passes it to the caller, with --error-info)
    #[arg(long, env = "OA_HOOK_ERROR_CODE", value_name = "N", value_parser = checked(parse_error_code), allow_negative_numbers = true, help_heading = "Policy", conflicts_with_all = ["reject", "fail"])]
    pub error_code: Option<i64>,
    /// The ErrorInfo that goes with --error-code [default: empty]
    #[arg(
        long,
        env = "OA_HOOK_ERROR_INFO",
        value_name = "TEXT",
        help_heading = "Policy"
    )]
    pub error_info: Option<String>,
    /// Wait this long before answering, at most 1h (e.g. 2500ms, to rehearse Chat's 2 s budget)
    #[arg(long, env = "OA_HOOK_DELAY", value_parser = checked(parse_delay), value_name = "DURATION", help_heading = "Policy")]
    pub delay: Option<Duration>,
    /// Answer valid callbacks with this HTTP status (Chat counts anything but 200 as a failure)
    #[arg(long, env = "OA_HOOK_STATUS", value_name = "CODE", value_parser = checked(parse_status), help_heading = "Policy")]
    pub status: Option<u16>,
    /// Event lines on stdout: human, or NDJSON
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Output")]
    pub output: OutputFormat,
    /// Append every callback (request without Sign, findings, answer) to FILE as NDJSON
    #[arg(
        long,
        env = "OA_HOOK_RECORD",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub record: Option<PathBuf>,
    /// With --record: keep each request's Sign too, for `replay --as-recorded` (off by default:
    /// a Sign with its RequestTime lets whoever holds the record test guesses at the token)
    #[arg(
        long,
        env = "OA_HOOK_RECORD_SIGN",
        requires = "record",
        help_heading = "Output"
    )]
    pub record_sign: bool,
    /// Print no `oa-hook send` command after the `listening on` line, only the events
    #[arg(short, long, env = "OA_HOOK_QUIET", help_heading = "Output")]
    pub quiet: bool,
    /// Be a tap: pass every request on to URL as it came (method, query with Sign and
    /// RequestTime, body, content type; to URL's path), answer with what the backend answers,
    /// and judge both. Instead of the policy flags
    #[arg(
        long,
        env = "OA_HOOK_FORWARD_TO",
        value_name = "URL",
        value_parser = checked(parse_url),
        conflicts_with_all = ["refuse", "reject", "fail", "delay", "status"],
        help_heading = "Tap"
    )]
    pub forward_to: Option<Url>,
    /// With --forward-to: how long the backend has to answer before the caller gets a 502,
    /// 1ms to 1h (Chat itself waits 2 s)
    #[arg(long, env = "OA_HOOK_TIMEOUT", default_value = "2s", value_parser = checked(parse_timeout), value_name = "DURATION", help_heading = "Tap")]
    pub timeout: Duration,
    /// With --forward-to: which certificates the backend on HTTPS may present
    #[command(flatten, next_help_heading = "Tap")]
    pub tls: TlsArgs,
    /// Hold at most N connections at once, 1 to 1000000; more wait until one closes
    #[arg(long, env = "OA_HOOK_MAX_CONNECTIONS", value_name = "N", default_value_t = crate::serve::listen::DEFAULT_MAX_CONNECTIONS, value_parser = checked(parse_max_connections), allow_negative_numbers = true, help_heading = "Limits")]
    pub max_connections: usize,
    /// Close a connection whose request head (or body) takes longer than this to arrive, or
    /// that sits idle this long between requests, 10ms to 10s
    #[arg(long, env = "OA_HOOK_HEAD_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = checked(parse_head_timeout), help_heading = "Limits")]
    pub head_timeout: Duration,
    /// On Ctrl-C or SIGTERM, how long requests in flight get to finish before serve exits,
    /// 0s to 1h; a second Ctrl-C quits at once
    #[arg(long, env = "OA_HOOK_DRAIN_TIMEOUT", value_name = "DURATION", default_value = "5s", value_parser = checked(parse_delay), help_heading = "Limits")]
    pub drain_timeout: Duration,
    /// The token came from `--token`, not `OA_HOOK_TOKEN` (see [`Cli::note_given`]).
    #[arg(skip)]
    pub token_on_command_line: bool,
    #[command(flatten)]
    pub faults: FaultArgs,
    /// Open the inspector on ADDR, its own port: a live page of every callback with its answer
    /// and Chat's decision (replay re-signed, edit and replay, compare, copy as `oa-hook send`
    /// or curl, download as a record), and its JSON API under /api/ [default ADDR:
    /// 127.0.0.1:4040]
    #[arg(
        long,
        env = "OA_HOOK_INSPECT",
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_INSPECT,
        value_parser = checked(parse_listen),
        help_heading = "Inspector"
    )]
    pub inspect: Option<SocketAddr>,
    /// With --inspect: the events the page keeps, 1 to 100000; the oldest go first, and sooner
    /// when the bodies kept pass 32 MiB in all
    #[arg(long, env = "OA_HOOK_INSPECT_KEEP", value_name = "N", default_value_t = DEFAULT_INSPECT_KEEP, value_parser = checked(parse_inspect_keep), allow_negative_numbers = true, help_heading = "Inspector")]
    pub inspect_keep: usize,
    /// With --inspect: a token of your own that the page asks for and the API requires; needed
    /// for an address other than loopback. Never the webhook token, never printed, never read
    /// from a file
    #[arg(
        long,
        env = "OA_HOOK_INSPECT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = "Inspector"
    )]
    pub inspect_token: Option<String>,
}

/// `serve --fault`: a slow or broken backend, rehearsed.
#[derive(Debug, Args)]
#[command(next_help_heading = "Faults")]
pub(crate) struct FaultArgs {
    /// Rehearse a slow or broken backend, in the mock or the tap: RULE[,RULE...], RULE being
    /// [COMMAND:]FAULT[@SHARE%] and FAULT one of delay=DURATION, delay=MIN..MAX,
    /// delay=p50:DURATION/p99:DURATION, hang, reset, status=CODE, malformed, slow-body=DURATION
    /// (e.g. delay=2.5s@10%,reset@1%); each request draws at most one
    #[arg(long, env = "OA_HOOK_FAULT", value_name = "SPEC", value_parser = checked(crate::serve::fault::parse))]
    pub fault: Option<crate::serve::fault::Spec>,
    /// Draw the faults from this seed: the same seed and the same requests, in the same order,
    /// get the same faults [default: a new seed, printed]
    #[arg(long, env = "OA_HOOK_SEED", value_name = "N")]
    pub seed: Option<u64>,
}

/// Where `serve --inspect` listens when given no address: ngrok's inspector's port, on loopback.
pub(crate) const DEFAULT_INSPECT: &str = "127.0.0.1:4040";
/// The events `serve --inspect` keeps by default.
pub(crate) const DEFAULT_INSPECT_KEEP: usize = 1000;
/// The most events `--inspect-keep` may keep.
pub(crate) const MAX_INSPECT_KEEP: u64 = 100_000;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The backend's webhook URL; Chat's query parameters are appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = "Target")]
    pub url: Option<Url>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Cover this callback in the answer and security cases (short name or CallbackCommand
    /// word); repeat for several, or `all` for the eleven [default: before-subscribe and
    /// after-unsubscribe, with the security cases for before-subscribe]
    #[arg(
        long = "command",
        env = "OA_HOOK_COMMAND",
        value_name = "NAME",
        value_parser = checked(parse_commands),
        help_heading = "Cases"
    )]
    pub commands: Vec<Commands>,
    /// Run only the cases whose id contains PATTERN (repeatable); the delivery/* cases
    /// (duplicates, an abandoned callback, out-of-order ones) run only when asked for so, or
    /// with --command all
    #[arg(
        long,
        env = "OA_HOOK_ONLY",
        value_name = "PATTERN",
        help_heading = "Cases"
    )]
    pub only: Vec<String>,
    /// Skip the cases whose id contains PATTERN (repeatable)
    #[arg(
        long,
        env = "OA_HOOK_SKIP",
        value_name = "PATTERN",
        help_heading = "Cases"
    )]
    pub skip: Vec<String>,
    /// List the cases and exit
    #[arg(long, help_heading = "Cases")]
    pub list: bool,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Print no header line on stderr, only the results
    #[arg(
        short,
        long,
        env = "OA_HOOK_QUIET",
        conflicts_with = "verbose",
        help_heading = "Reports"
    )]
    pub quiet: bool,
    /// Show what came back for every case, and print every request and answer as sent
    #[arg(short, long, env = "OA_HOOK_VERBOSE", help_heading = "Reports")]
    pub verbose: bool,
    #[command(flatten)]
    pub fuzzing: FuzzingArgs,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub token: TokenArgs,
}

/// `check --fuzz`: generated callbacks, and what becomes of a failure.
#[derive(Debug, Args)]
#[command(next_help_heading = "Fuzzing")]
pub(crate) struct FuzzingArgs {
    /// Also send N callbacks generated per command, within and at the edges of the documented
    /// limits (UserIDs of up to 32 bytes of any Unicode, 1 to 100 subscribers, names at their
    /// byte limits, any EventTime, every kind of message element), signed and fresh, and check
    /// four properties, a case each (fuzz/*): no 5xx; a conforming answer within 2 s; refused
    /// subscribers among those sent; a decision that does not change with the subscribers'
    /// order, ClientIP or OptPlatform. A failure is shrunk to a minimal body, written to
    /// --fuzz-dir, and printed with the `oa-hook send` command that reproduces it. N from 1 to
    /// 1000000 [default: 100]
    #[arg(long, env = "OA_HOOK_FUZZ", value_name = "N", num_args = 0..=1, default_missing_value = "100", value_parser = checked(parse_fuzz))]
    pub fuzz: Option<u64>,
    /// Generate from this seed: the same seed gives the same callbacks [default: a new seed,
    /// given in every report]
    #[arg(long, env = "OA_HOOK_SEED", value_name = "S")]
    pub seed: Option<u64>,
    /// Write the shrunk body of a failure here, as FUZZ-DIR/COMMAND-PROPERTY-seedS.json
    #[arg(
        long,
        env = "OA_HOOK_FUZZ_DIR",
        value_name = "DIR",
        default_value = "oa-hook-fuzz"
    )]
    pub fuzz_dir: PathBuf,
}

/// The callbacks one `--command` names: one, or the whole family for `all`.
#[derive(Debug, Clone)]
pub(crate) struct Commands(pub Vec<&'static Callback>);

impl CheckArgs {
    /// The callbacks `--command` names, each once, in the table's order.
    pub(crate) fn covered(&self) -> Vec<&'static Callback> {
        CALLBACKS
            .iter()
            .filter(|c| self.commands.iter().any(|given| given.0.contains(c)))
            .collect()
    }
}

/// The reports `check` and `replay` write: one test case per case, or per callback replayed.
#[derive(Debug, Args)]
#[command(next_help_heading = "Reports")]
pub(crate) struct ReportArgs {
    /// Write a JUnit XML report to FILE
    #[arg(
        long,
        env = "OA_HOOK_JUNIT",
        value_name = "FILE",
        help_heading = "Reports"
    )]
    pub junit: Option<PathBuf>,
    /// Output format on stdout
    #[arg(long, env = "OA_HOOK_OUTPUT", short, value_enum, default_value_t = OutputFormat::Human, help_heading = "Reports")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub ci: CiArgs,
}

/// What a CI job shows of a run: `check`, `replay` and load mode.
#[derive(Debug, Args)]
#[command(next_help_heading = "Reports")]
pub(crate) struct CiArgs {
    /// Write a Markdown summary of the run to FILE, in every outcome (it is also appended to
    /// $GITHUB_STEP_SUMMARY when that is set, as in GitHub Actions)
    #[arg(
        long,
        env = "OA_HOOK_SUMMARY",
        value_name = "FILE",
        help_heading = "Reports"
    )]
    pub summary: Option<PathBuf>,
    /// Print GitHub Actions workflow commands on stdout, after the results: an `::error` line
    /// per failed case (in load mode, per kind of failure), a `::warning` line per warned one
    #[arg(long, env = "OA_HOOK_ANNOTATIONS", help_heading = "Reports")]
    pub annotations: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The record to replay (written by `serve --record`), or - for stdin
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// The backend's webhook URL; each callback's recorded query is appended to it
    #[arg(long, env = "OA_HOOK_URL", value_parser = checked(parse_url), help_heading = "Target")]
    pub url: Url,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Replay the requests serve refused too (by default only the callbacks Chat could have sent)
    #[arg(long, env = "OA_HOOK_ALL", help_heading = "Callbacks")]
    pub all: bool,
    /// Send each callback with the Sign and RequestTime it was recorded with, unchanged: a replay
    /// attack, which a backend must refuse once the callback is over 60 s old (the token is not
    /// used)
    #[arg(long, env = "OA_HOOK_AS_RECORDED", help_heading = "Callbacks")]
    pub as_recorded: bool,
    /// Send this SdkAppid instead of the recorded one: replay a record made for one app against
    /// a backend configured for another
    #[arg(
        long,
        env = "OA_HOOK_SDKAPPID",
        value_name = "ID",
        value_parser = checked(parse_sdkappid),
        help_heading = "Callbacks"
    )]
    pub sdkappid: Option<u64>,
    /// Skip the lines that are not records (each one reported as a skipped case) instead of
    /// stopping at the first with exit 2
    #[arg(long, env = "OA_HOOK_SKIP_INVALID", help_heading = "Callbacks")]
    pub skip_invalid: bool,
    /// Callbacks in flight at once, 1 to 10000
    #[arg(long, env = "OA_HOOK_CONCURRENCY", short = 'c', default_value_t = 1, value_name = "C", value_parser = checked(parse_concurrency), allow_negative_numbers = true, help_heading = "Callbacks")]
    pub concurrency: u64,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Print no header line on stderr, only the results
    #[arg(short, long, env = "OA_HOOK_QUIET", help_heading = "Reports")]
    pub quiet: bool,
    #[command(flatten)]
    pub token: TokenArgs,
}

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

impl ScriptArgs {
    /// The callbacks named, each once, in the table's order.
    pub(crate) fn callbacks(&self) -> Vec<&'static Callback> {
        CALLBACKS
            .iter()
            .filter(|c| self.commands.iter().any(|given| given.0.contains(c)))
            .collect()
    }
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

/// The documented OptPlatform values, and the English docs' `macOS` for backends to be tested
/// with (Chat's Chinese docs, and oa-hook by default, say `Mac`).
fn platforms() -> impl TypedValueParser<Value = String> {
    let values = crate::protocol::PLATFORMS.iter().copied().chain(["macOS"]);
    clap::builder::PossibleValuesParser::new(values).map(String::from)
}

/// The most requests one load run sends.
pub(crate) const MAX_COUNT: u64 = 1_000_000_000;
/// The most requests load mode keeps in flight at once.
pub(crate) const MAX_CONCURRENCY: u64 = 10_000;
/// Load mode's slowest and fastest `--rate`, in requests per second: slower than one request
/// in 1000 s is no load, and faster than a million a second no machine sends.
pub(crate) const RATE_RANGE: (f64, f64) = (0.001, 1_000_000.0);

const HOUR: Duration = Duration::from_secs(3600);
/// Tencent's guidance: a RequestTime more than a minute off the receiver's clock is invalid.
const DEFAULT_MAX_SKEW: &str = "60s";
/// A request head that takes longer is a slowloris, not Chat.
const MAX_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// What a value parser's error names as its argument when the value came from the config file.
pub(crate) const FROM_FILE: &str = "(config file)";

/// A value parser whose errors say where the bad value came from (the flag, or the environment
/// variable that held it, which clap's own messages do not name), what is wrong with it and
/// what to give instead. `parse` says the last two, e.g. "is not a number; give ...".
fn checked<T>(parse: fn(&str) -> Result<T, String>) -> Checked<T> {
    Checked { parse }
}

#[derive(Clone)]
struct Checked<T> {
    parse: fn(&str) -> Result<T, String>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        self.parse_ref_(cmd, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        cmd: &clap::Command,
        arg: Option<&Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        let result = match value.to_str() {
            Some(text) => (self.parse)(text),
            None => Err("is not UTF-8 text".to_owned()),
        };
        result.map_err(|why| {
            // A URL's password is as secret as the token: never echoed.
            let shown = crate::report::mask_password(&text);
            let env = arg.and_then(Arg::get_env).map(OsStr::to_string_lossy);
            let long = arg.and_then(Arg::get_long);
            // What is wrong, and what to give: the hint.
            let (what, give) = why.split_once("; ").unwrap_or((&why, ""));
            let (message, give) = match (source, env) {
                (ValueSource::EnvVariable, Some(env)) => (
                    format!("{env}={shown} {what}"),
                    format!("{give}, or unset {env}"),
                ),
                // Built-in defaults are valid: a default that is not came from the config file,
                // which `crate::settings` names in front of this.
                (ValueSource::DefaultValue, _) => {
                    let key = long.unwrap_or_default().replace('-', "_");
                    (format!("{key} = \"{shown}\" {what}"), give.to_owned())
                }
                _ => {
                    let flag = match arg.and_then(Arg::get_long) {
                        Some(long) => format!("--{long}"),
                        None => arg
                            .and_then(|a| a.get_value_names()?.first().cloned())
                            .map_or_else(|| "a value:".to_owned(), |name| format!("<{name}>")),
                    };
                    (format!("{flag} {shown} {what}"), give.to_owned())
                }
            };
            let mut error =
                clap::Error::raw(clap::error::ErrorKind::ValueValidation, message + "\n")
                    .with_cmd(cmd);
            error.insert(
                ContextKind::Suggested,
                ContextValue::StyledStrs(vec![give.into()]),
            );
            if source == ValueSource::DefaultValue {
                error.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(FROM_FILE.into()),
                );
            }
            error
        })
    }
}

fn parse_url(s: &str) -> Result<Url, String> {
    const GIVE: &str = "give the backend's URL in full, e.g. http://localhost:3000/im";
    // `localhost:3000/im` parses as a URL of scheme `localhost`: the scheme was left out.
    if !s.contains("://")
        && let Ok(url) = Url::parse(&format!("http://{s}"))
        && url.host().is_some()
    {
        return Err(format!(
            "has no http:// or https://; did you mean {}?",
            crate::report::masked(&url)
        ));
    }
    let url = Url::parse(s).map_err(|e| format!("is not a URL ({e}); {GIVE}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("has no host; {GIVE}")),
        other => Err(format!(
            "has the scheme `{other}`; use http:// or https://, e.g. http://localhost:3000/im"
        )),
    }
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = s.parse() {
        return Ok(address);
    }
    let give = "give an address and a port, e.g. 127.0.0.1:8080 (port 0 picks a free one)";
    let port = s
        .strip_prefix(':')
        .or_else(|| s.strip_prefix("localhost:"))
        .unwrap_or(s);
    match port.parse::<u16>() {
        Ok(port) if s.starts_with(':') => Err(format!(
            "has no address; did you mean 127.0.0.1:{port} (this machine only) or 0.0.0.0:{port} (every interface)?"
        )),
        Ok(port) if s.starts_with("localhost:") => Err(format!(
            "names a host, and serve listens on an address; did you mean 127.0.0.1:{port}?"
        )),
        Ok(port) => Err(format!("is a port alone; did you mean 127.0.0.1:{port}?")),
        Err(_) => Err(format!("is not an address and port; {give}")),
    }
}

fn parse_commands(s: &str) -> Result<Commands, String> {
    if s == "all" {
        return Ok(Commands(CALLBACKS.iter().collect()));
    }
    Callback::find(s)
        .map(|c| Commands(vec![c]))
        .map_err(|unknown| match unknown.did_you_mean() {
            Some(like) => format!("is not a callback; did you mean '{like}'?"),
            None => {
                let names: Vec<&str> = CALLBACKS.iter().map(|c| c.name).collect();
                format!(
                    "is not a callback; give one of {}, a CallbackCommand word, or all",
                    names.join(", ")
                )
            }
        })
}

fn parse_error_code(s: &str) -> Result<i64, String> {
    let codes = crate::protocol::CUSTOM_ERROR_CODES;
    let give = format!(
        "give a code of your own from {} to {}, which Chat passes to the caller",
        codes.start(),
        codes.end()
    );
    match s.parse::<i64>() {
        Ok(code) if codes.contains(&code) => Ok(code),
        Ok(_) => Err(format!("is not a code of your own; {give}")),
        Err(_) => Err(format!("is not a whole number; {give}")),
    }
}

fn parse_sdkappid(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| "is not a number; give the app's SDKAppID, e.g. 1400000000".to_owned())
}

fn parse_unix_seconds(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| {
        "is not a Unix time in seconds; give a whole number, e.g. 1669872112".to_owned()
    })
}

fn parse_event_time(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| {
        "is not a whole number of milliseconds; give a Unix time in milliseconds, e.g. 1670574414123"
            .to_owned()
    })
}

fn parse_client_ip(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| "is not an IP address; give one such as 127.0.0.1 or ::1".to_owned())
}

fn parse_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(status) if (200..=599).contains(&status) => Ok(status),
        _ => Err("is not an HTTP status from 200 to 599; give one such as 500 or 503".to_owned()),
    }
}

fn parse_count(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_COUNT, "requests")
}

fn parse_fuzz(s: &str) -> Result<u64, String> {
    whole(s, 1, 1_000_000, "callbacks per command")
}

fn parse_concurrency(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_CONCURRENCY, "requests in flight")
}

/// A whole number of `what` from `min` to `max`.
fn whole(s: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
    let give = format!("give a whole number of {what}, at least {min} and at most {max}");
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("is not a whole number; {give}"));
    }
    // Too many digits for a u64 is as much too many as u64::MAX is.
    let n = digits.parse::<u64>().unwrap_or(u64::MAX);
    if s.starts_with('-') && n > 0 || n < min {
        Err(format!("is less than {min}; {give}"))
    } else if n > max {
        Err(format!("is more than {max}; {give}"))
    } else {
        Ok(n)
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let (slowest, fastest) = RATE_RANGE;
    let give = format!("give requests per second from {slowest} to {fastest}, e.g. 100 or 0.5");
    match s.parse::<f64>() {
        Ok(rate) if rate.is_nan() => Err(format!("is not a number; {give}")),
        Ok(rate) if rate < slowest => Err(format!("is less than {slowest}; {give}")),
        Ok(rate) if rate > fastest => Err(format!("is more than {fastest}; {give}")),
        Ok(rate) => Ok(rate),
        Err(_) => Err(format!("is not a number; {give}")),
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let give = "give a percent from 0 to 100, e.g. 1 or 0.5";
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        Ok(p) if p.is_nan() => Err(format!("is not a number; {give}")),
        Ok(_) => Err(format!("is not from 0 to 100; {give}")),
        Err(_) => Err(format!("is not a number; {give}")),
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::from_millis(1), "1ms"), (HOUR, "1h"))
}

fn parse_load_duration(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::from_millis(1), "1ms"), (DAY, "24h"))
}

fn parse_max_skew(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::ZERO, "0s"), (DAY, "24h"))
}

fn parse_delay(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::ZERO, "0s"), (HOUR, "1h"))
}

fn parse_head_timeout(s: &str) -> Result<Duration, String> {
    duration(
        s,
        (Duration::from_millis(10), "10ms"),
        (MAX_HEAD_TIMEOUT, "10s"),
    )
}

fn parse_inspect_keep(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_INSPECT_KEEP, "events").map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

fn parse_max_connections(s: &str) -> Result<usize, String> {
    whole(s, 1, 1_000_000, "connections").map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A duration such as `500ms` or `2m 30s` from `min` to `max` (each with how it is written).
fn duration(
    s: &str,
    (min, min_text): (Duration, &str),
    (max, max_text): (Duration, &str),
) -> Result<Duration, String> {
    let give = format!("give a duration from {min_text} to {max_text}, e.g. 500ms, 30s or 5m");
    if s.trim_start().starts_with('-') {
        return Err(format!("is negative; {give}"));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d < min => Err(format!("is less than {min_text}; {give}")),
        Ok(d) if d > max => Err(format!("is more than {max_text}; {give}")),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => {
            Err(format!("is more than {max_text}; {give}"))
        }
        Err(e) => Err(format!("is not a duration ({e}); {give}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_is_named_for_its_man_page() {
        let command = Cli::command().disable_help_subcommand(true);
        let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(names, COMMAND_NAMES);
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("http://localhost:3000/im").is_ok());
        assert_eq!(
            parse_url("localhost:3000/im").unwrap_err(),
            "has no http:// or https://; did you mean http://localhost:3000/im?"
        );
        assert_eq!(
            parse_url("user:secret@localhost:3000").unwrap_err(),
            "has no http:// or https://; did you mean http://user:***@localhost:3000/?"
        );
        assert!(
            parse_url("ftp://x")
                .unwrap_err()
                .contains("use http:// or https://")
        );
        assert!(parse_url("not a url").unwrap_err().contains("is not a URL"));
    }

    #[test]
    fn whole_numbers_are_bounded_and_say_why() {
        assert_eq!(parse_count("10"), Ok(10));
        assert_eq!(parse_count("+10"), Ok(10));
        let give = "give a whole number of requests, at least 1 and at most 1000000000";
        assert_eq!(parse_count("-1"), Err(format!("is less than 1; {give}")));
        assert_eq!(parse_count("0"), Err(format!("is less than 1; {give}")));
        assert_eq!(parse_count("-0"), Err(format!("is less than 1; {give}")));
        assert_eq!(
            parse_count("99999999999999999999999"),
            Err(format!("is more than 1000000000; {give}"))
        );
        assert_eq!(
            parse_count("1.5"),
            Err(format!("is not a whole number; {give}"))
        );
        assert_eq!(
            parse_count(""),
            Err(format!("is not a whole number; {give}"))
        );
    }

    #[test]
    fn percents_are_from_0_to_100() {
        assert_eq!(parse_percent("1"), Ok(1.0));
        assert_eq!(parse_percent("0.5%"), Ok(0.5));
        for bad in ["-1", "101", "NaN", "some"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_and_durations_are_bounded() {
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["1e-300", "0", "-1", "NaN", "inf", "1e7", "fast"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_load_duration("24h"), Ok(DAY));
        assert_eq!(
            parse_load_duration("18446744073709551615s").unwrap_err(),
            "is more than 24h; give a duration from 1ms to 24h, e.g. 500ms, 30s or 5m"
        );
        assert!(parse_load_duration("99999999999999999999999s").is_err());
        assert!(parse_load_duration("0s").is_err());
        assert_eq!(parse_max_skew("0s"), Ok(Duration::ZERO));
        assert!(parse_timeout("2h").is_err());
        assert!(
            parse_delay("5")
                .unwrap_err()
                .starts_with("is not a duration (")
        );
    }

    #[test]
    fn a_listen_address_without_its_host_gets_a_suggestion() {
        assert_eq!(
            parse_listen("127.0.0.1:0"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert_eq!(
            parse_listen("3000").unwrap_err(),
            "is a port alone; did you mean 127.0.0.1:3000?"
        );
        assert!(
            parse_listen(":3000")
                .unwrap_err()
                .contains("127.0.0.1:3000")
        );
        assert!(
            parse_listen("localhost:3000")
                .unwrap_err()
                .contains("127.0.0.1:3000?")
        );
        assert!(
            parse_listen("99999")
                .unwrap_err()
                .starts_with("is not an address and port")
        );
    }
}
