//! The plain values each command takes from its options: past these, no code knows how an
//! option is spelt or where its value came from.

use crate::cli::{
    CheckArgs, Cli, ColorWhen, Command, Commands, DocumentFormat, EventArgs, ExpectArgs, Export,
    ExportArgs, FaultArgs, InspectorArgs, LoadArgs, RequestArgs, SampleArgs, SampleFormat,
    ScriptArgs, SignArgs, TargetArgs, TokenArgs, VerifyArgs,
};
use crate::cli::{CiArgs, ReportArgs};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::expect::Expectation;
use crate::export::script::Script;
use crate::protocol::{CALLBACKS, Callback};
use crate::report::outputs::{CiTo, ReportsTo};
use crate::request::Template;
use clap::ArgMatches;
use clap::parser::ValueSource;
use std::path::PathBuf;

impl Cli {
    /// Notes what the command line itself gave: serve's token (the `send` command serve
    /// prints reads it from `OA_HOOK_TOKEN`).
    pub(super) fn note_given(&mut self, matches: &ArgMatches) {
        if let (Command::Serve(args), Some((_, matches))) =
            (&mut self.command, matches.subcommand())
        {
            args.token_on_command_line =
                matches.value_source("token") == Some(ValueSource::CommandLine);
        }
    }
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

impl TokenArgs {
    /// The token, if one was given. An empty one (a CI secret that is not set) is no token, in
    /// every command alike.
    pub(crate) fn get(&self) -> Option<&str> {
        secret(self.token.as_deref())
    }
}

impl InspectorArgs {
    /// `--inspect-token`, if one was given; an empty one is none, as for the webhook token.
    pub(crate) fn inspect_token(&self) -> Option<&str> {
        secret(self.inspect_token.as_deref())
    }
}

/// A token as given: an empty one (a CI secret that is not set) is none.
fn secret(given: Option<&str>) -> Option<&str> {
    given.filter(|token| !token.is_empty())
}

/// What `sign` signs: a token given, and the RequestTime if one was.
pub(crate) struct Sign {
    pub token: String,
    pub time: Option<u64>,
}

impl SignArgs {
    pub(crate) fn sign(&self) -> Result<Sign> {
        Ok(Sign {
            token: require_token(&self.token)?,
            time: self.time,
        })
    }
}

/// What `verify` checks: the URL received, against a token given, within the skew.
pub(crate) struct Verify {
    pub url: String,
    pub token: String,
    pub max_skew: std::time::Duration,
}

impl VerifyArgs {
    pub(crate) fn verify(&self) -> Result<Verify> {
        Ok(Verify {
            url: self.url.clone(),
            token: require_token(&self.token)?,
            max_skew: self.max_skew,
        })
    }
}

/// The token, or a usage error saying how to give it.
fn require_token(token: &TokenArgs) -> Result<String> {
    token.get().map(str::to_owned).ok_or_else(|| {
        Error::usage("no token given")
            .hint("pass --token TOKEN or set OA_HOOK_TOKEN (the token set in the Chat console)")
    })
}

/// What `sample` prints: the request, signed at its RequestTime, and in which form.
pub(crate) struct Sample {
    pub template: Template,
    pub request_time: u64,
    pub format: SampleFormat,
}

impl SampleArgs {
    /// The request to print, built from the event options, `--body` and the token, at the
    /// `--request-time` given or now.
    pub(crate) fn sample(&self, clock: &Clock) -> Result<Sample> {
        Ok(Sample {
            template: self.request.template(self.callback.0, &self.url, clock)?,
            request_time: self.request.request_time(clock),
            format: self.format,
        })
    }
}

impl RequestArgs {
    /// The request for `callback` at `url`, built from the event options (seed values where
    /// one is absent) or `--body`, and the token; EventTime defaults to now.
    pub(crate) fn template(
        &self,
        callback: &'static Callback,
        url: &url::Url,
        clock: &Clock,
    ) -> Result<Template> {
        let event = self.event.event();
        let (body, token) = (self.body.body.as_deref(), self.token.get());
        Template::new(callback, url, &event, body, token, clock.now_ms())
    }

    /// `--request-time`, or now.
    pub(crate) fn request_time(&self, clock: &Clock) -> u64 {
        self.request_time
            .request_time
            .unwrap_or_else(|| clock.now_secs())
    }
}

impl FaultArgs {
    /// `--fault`'s SPEC, as the engine takes it. It was checked as it was read.
    pub(crate) fn spec(&self) -> Result<Option<crate::serve::fault::Spec>> {
        self.fault
            .as_deref()
            .map(crate::serve::fault::parse)
            .transpose()
            .map_err(|why| {
                Error::internal(format!("--fault, checked as read, is now refused: {why}"))
            })
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

impl ExpectArgs {
    pub(crate) fn expectation(&self) -> Expectation {
        Expectation {
            outcome: self.expect,
            refused: self.expect_refused.clone(),
        }
    }
}

impl LoadArgs {
    pub(crate) fn is_load(&self) -> bool {
        self.count.is_some() || self.duration.is_some()
    }
}

impl CheckArgs {
    /// The callbacks `--command` names, each once, in the table's order.
    pub(crate) fn covered(&self) -> Vec<&'static Callback> {
        named(&self.commands)
    }
}

/// The callbacks `commands` name, each once, in the table's order.
fn named(commands: &[Commands]) -> Vec<&'static Callback> {
    CALLBACKS
        .iter()
        .filter(|c| commands.iter().any(|given| given.0.contains(c)))
        .collect()
}

/// What `export` makes.
pub(crate) enum Exported {
    Openapi(DocumentFormat),
    /// The directory the schema files go into.
    Jsonschema(PathBuf),
    Locust(Script),
    K6(Script),
}

impl ExportArgs {
    pub(crate) fn exported(&self) -> Exported {
        match &self.what {
            Export::Openapi { format } => Exported::Openapi(*format),
            Export::Jsonschema { dir } => Exported::Jsonschema(dir.clone()),
            Export::Locust(args) => Exported::Locust(args.script()),
            Export::K6(args) => Exported::K6(args.script()),
        }
    }
}

impl ScriptArgs {
    /// The load script: where to, with which query, the callbacks named each once, in the
    /// table's order.
    fn script(&self) -> Script {
        Script {
            url: self.url.clone(),
            sdkappid: self.query.sdkappid,
            client_ip: self.query.client_ip.to_string(),
            platform: self.query.platform.clone(),
            callbacks: named(&self.commands),
        }
    }
}

impl From<&ReportArgs> for ReportsTo {
    fn from(args: &ReportArgs) -> Self {
        ReportsTo {
            output: args.output,
            junit: args.junit.clone(),
            ci: CiTo::from(&args.ci),
        }
    }
}

impl From<&CiArgs> for CiTo {
    fn from(args: &CiArgs) -> Self {
        CiTo {
            summary: args.summary.clone(),
            annotations: args.annotations,
        }
    }
}
