//! `oa-hook serve`: the settings, then the engine in `crate::serve`.

use crate::cli::ServeArgs;
use crate::client::Forwarder;
use crate::client::Target;
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::protocol::{Receiver, Token};
use crate::serve::fault::Faults;
use crate::serve::writers::{Destination, open_record};
use crate::serve::{self, InspectSettings, Policy, Settings, Tap};
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Idle connections kept open to the backend: Chat keeps connections open, so does the tap.
const TAP_POOL: usize = 64;

/// The shortest `--inspect-token`: a page reachable from elsewhere deserves more than a word.
const MIN_INSPECT_TOKEN: usize = 8;

/// How much longer than serve's own answer may take a replay from the page waits for it.
const REPLAY_MARGIN: Duration = Duration::from_secs(10);

pub(crate) fn run(args: &ServeArgs, clock: &Clock) -> Result<Outcome> {
    // Checked here rather than by clap, which would not count an error_code from oa-hook.toml.
    if args.policy.error_info.is_some() && args.policy.error_code.is_none() {
        return Err(Error::usage("--error-info goes with --error-code")
            .hint("add --error-code N (120001 to 130000), the code your ErrorInfo explains"));
    }
    let record = match &args.output.record {
        Some(path) => Some((path.clone(), record_destination(path)?)),
        None => None,
    };
    let settings = Settings {
        listen: args.listen,
        receiver: Receiver {
            sdk_appid: args.sdkappid,
            token: args.token.get().map(|token| Token::new(token.to_owned())),
            max_skew: args.max_skew,
        },
        policy: Policy {
            refuse: args.policy.refuse.clone(),
            reject: args.policy.reject,
            fail: args.policy.fail,
            discard: args.policy.discard,
            rewrite_text: args.policy.rewrite_text.clone(),
            error_code: args
                .policy
                .error_code
                .map(|code| (code, args.policy.error_info.clone().unwrap_or_default())),
            delay: args.policy.delay,
            status: args.policy.status.unwrap_or(200),
        },
        output: args.output.output,
        quiet: args.output.quiet,
        token_on_command_line: args.token_on_command_line,
        record,
        record_sign: args.output.record_sign,
        max_connections: args.limits.max_connections,
        head_timeout: args.limits.head_timeout,
        drain_timeout: args.limits.drain_timeout,
        tap: args
            .tap
            .forward_to
            .as_ref()
            .map(|url| tap(url, args))
            .transpose()?,
        faults: args.faults.spec()?.map(|spec| {
            let seed = args.faults.seed.unwrap_or_else(crate::seeded::fresh_seed);
            Faults::new(spec, seed)
        }),
        inspect: inspect(args)?,
    };
    // The first of serve's cores: the connections are spread over it and the others
    // (`runtime::Cores`), and what serves them all (accepting, signals, the page) runs here.
    let runtime = crate::runtime::start(&mut tokio::runtime::Builder::new_current_thread())?;
    runtime.block_on(serve::run(settings, *clock))
}

/// The tap's client: kept-alive connections to the backend, each request bounded by
/// --timeout, with --cacert and --insecure as `send` takes them.
fn tap(url: &Url, args: &ServeArgs) -> Result<Tap> {
    let target = Target {
        timeout: args.tap.timeout,
        insecure: args.tap.tls.insecure,
        cacert: args.tap.tls.cacert.clone(),
    };
    Ok(Tap::new(Forwarder::new(&target, url.clone(), TAP_POOL)?))
}

/// `--inspect` and its options, checked: off loopback the page needs a token of its own, and
/// that token is never the webhook token, which never reaches the page.
fn inspect(args: &ServeArgs) -> Result<Option<InspectSettings>> {
    let token = args.inspector.inspect_token().map(str::to_owned);
    let Some(listen) = args.inspector.inspect else {
        return match token {
            Some(_) => Err(Error::usage("--inspect-token goes with --inspect")
                .hint("add --inspect (the page on 127.0.0.1:4040) or --inspect ADDR")),
            None => Ok(None),
        };
    };
    if listen.port() != 0 && listen.port() == args.listen.port() {
        return Err(Error::usage(format!(
            "--inspect {listen} and --listen {} name the same port",
            args.listen
        ))
        .hint("give the page a port of its own (Chat posts to any path of the webhook port), e.g. --inspect 127.0.0.1:4040"));
    }
    if let Some(token) = &token {
        if args.token.get() == Some(token.as_str()) {
            return Err(Error::usage("--inspect-token is the webhook token").hint(
                "give the page a token of its own: the webhook token never reaches the page",
            ));
        }
        if token.chars().count() < MIN_INSPECT_TOKEN {
            return Err(Error::usage(format!(
                "--inspect-token is shorter than {MIN_INSPECT_TOKEN} characters"
            ))
            .hint("give a longer one, e.g. from `openssl rand -hex 16`"));
        }
    } else if !listen.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--inspect {listen} is not a loopback address, and the page shows every callback and replays them"
        ))
        .hint("give --inspect-token TOKEN (or OA_HOOK_INSPECT_TOKEN), a token of your own that the page asks for; or keep the page on this machine with --inspect 127.0.0.1:4040"));
    }
    // A replay waits for serve's answer: its --delay, or the backend's within the tap's --timeout.
    let answered_within = match &args.tap.forward_to {
        Some(_) => args.tap.timeout,
        None => args.policy.delay.unwrap_or_default(),
    };
    let target = Target {
        timeout: answered_within.saturating_add(REPLAY_MARGIN),
        insecure: false,
        cacert: None,
    };
    Ok(Some(InspectSettings {
        listen,
        keep: args.inspector.inspect_keep,
        token,
        signing: args.token.get().map(str::to_owned),
        replays: target,
    }))
}

/// The record, opened now so that a bad path is said before serve starts; a FIFO is opened by
/// its writer, since opening one waits for a reader.
fn record_destination(path: &Path) -> Result<Destination> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
            return Ok(Destination::Special);
        }
    }
    open_record(path).map(Destination::Opened).map_err(|e| {
        Error::usage(format!("cannot open --record {}: {e}", path.display()))
            .hint("give a file in a writable directory; events are appended to it")
    })
}
