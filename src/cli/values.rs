//! The values of the command line: each read, or refused saying where it came from (the flag,
//! its variable, or the config file), what is wrong with it and what to give instead.

use super::{Commands, MAX_INSPECT_KEEP};
use crate::expect::Expected;
use crate::output::OutputFormat;
use crate::protocol::{CALLBACKS, Callback};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue};
use clap::parser::ValueSource;
use clap::{Arg, ValueEnum};
use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;
use url::Url;

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
pub(super) struct CallbackParser;

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

impl ValueEnum for OutputFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[OutputFormat::Human, OutputFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            OutputFormat::Human => PossibleValue::new("human").help("Lines for people"),
            OutputFormat::Json => {
                PossibleValue::new("json").help("JSON (one document; NDJSON for serve)")
            }
        })
    }
}

/// `--expect`'s values: the names of [`Expected`].
pub(super) fn decisions() -> impl TypedValueParser<Value = Expected> {
    let names = Expected::NAMES.map(|(name, _)| name);
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|name| Expected::named(&name).ok_or("is not a decision"))
}

/// The documented OptPlatform values, and the English docs' `macOS` for backends to be tested
/// with (Chat's Chinese docs, and oa-hook by default, say `Mac`).
pub(super) fn platforms() -> impl TypedValueParser<Value = String> {
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

pub(super) const HOUR: Duration = Duration::from_secs(3600);
/// Tencent's guidance: a RequestTime more than a minute off the receiver's clock is invalid.
pub(super) const DEFAULT_MAX_SKEW: &str = "60s";
/// A request head that takes longer is a slowloris, not Chat.
pub(super) const MAX_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const DAY: Duration = Duration::from_secs(24 * 3600);

/// What a value parser's error names as its argument when the value came from the config file.
pub(crate) const FROM_FILE: &str = "(config file)";

/// A value parser whose errors say where the bad value came from (the flag, or the environment
/// variable that held it, which clap's own messages do not name), what is wrong with it and
/// what to give instead. `parse` says the last two, e.g. "is not a number; give ...".
pub(crate) fn checked<T>(parse: fn(&str) -> Result<T, String>) -> Checked<T> {
    Checked { parse }
}

#[derive(Clone)]
pub(crate) struct Checked<T> {
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
            let shown = crate::output::mask_password(&text);
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

pub(super) fn parse_url(s: &str) -> Result<Url, String> {
    const GIVE: &str = "give the backend's URL in full, e.g. http://localhost:3000/im";
    // `localhost:3000/im` parses as a URL of scheme `localhost`: the scheme was left out.
    if !s.contains("://")
        && let Ok(url) = Url::parse(&format!("http://{s}"))
        && url.host().is_some()
    {
        return Err(format!(
            "has no http:// or https://; did you mean {}?",
            crate::output::masked(&url)
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

pub(super) fn parse_listen(s: &str) -> Result<SocketAddr, String> {
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

pub(super) fn parse_commands(s: &str) -> Result<Commands, String> {
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

pub(super) fn parse_error_code(s: &str) -> Result<i64, String> {
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

pub(super) fn parse_sdkappid(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| "is not a number; give the app's SDKAppID, e.g. 1400000000".to_owned())
}

pub(super) fn parse_unix_seconds(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| {
        "is not a Unix time in seconds; give a whole number, e.g. 1669872112".to_owned()
    })
}

pub(super) fn parse_event_time(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| {
        "is not a whole number of milliseconds; give a Unix time in milliseconds, e.g. 1670574414123"
            .to_owned()
    })
}

pub(super) fn parse_client_ip(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| "is not an IP address; give one such as 127.0.0.1 or ::1".to_owned())
}

pub(super) fn parse_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(status) if (200..=599).contains(&status) => Ok(status),
        _ => Err("is not an HTTP status from 200 to 599; give one such as 500 or 503".to_owned()),
    }
}

pub(super) fn parse_count(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_COUNT, "requests")
}

pub(super) fn parse_fuzz(s: &str) -> Result<u64, String> {
    whole(s, 1, 1_000_000, "callbacks per command")
}

pub(super) fn parse_concurrency(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_CONCURRENCY, "requests in flight")
}

/// A whole number of `what` from `min` to `max`.
pub(super) fn whole(s: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
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

pub(super) fn parse_rate(s: &str) -> Result<f64, String> {
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

pub(super) fn parse_percent(s: &str) -> Result<f64, String> {
    let give = "give a percent from 0 to 100, e.g. 1 or 0.5";
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        Ok(p) if p.is_nan() => Err(format!("is not a number; {give}")),
        Ok(_) => Err(format!("is not from 0 to 100; {give}")),
        Err(_) => Err(format!("is not a number; {give}")),
    }
}

pub(super) fn parse_timeout(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::from_millis(1), "1ms"), (HOUR, "1h"))
}

pub(super) fn parse_load_duration(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::from_millis(1), "1ms"), (DAY, "24h"))
}

pub(super) fn parse_max_skew(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::ZERO, "0s"), (DAY, "24h"))
}

pub(super) fn parse_delay(s: &str) -> Result<Duration, String> {
    duration(s, (Duration::ZERO, "0s"), (HOUR, "1h"))
}

pub(super) fn parse_head_timeout(s: &str) -> Result<Duration, String> {
    duration(
        s,
        (Duration::from_millis(10), "10ms"),
        (MAX_HEAD_TIMEOUT, "10s"),
    )
}

pub(super) fn parse_inspect_keep(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_INSPECT_KEEP, "events").map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) fn parse_max_connections(s: &str) -> Result<usize, String> {
    whole(s, 1, 1_000_000, "connections").map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A duration such as `500ms` or `2m 30s` from `min` to `max` (each with how it is written).
pub(super) fn duration(
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
