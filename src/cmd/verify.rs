use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{ReceivedQuery, SignatureError, verify_query};
use crate::settings::Verify;
use std::io::Write;

pub(crate) fn run(args: &Verify, clock: &Clock) -> Result<Outcome> {
    let Some((_, query)) = args.url.split_once('?') else {
        return Err(Error::usage(format!("`{}` has no query string", args.url))
            .hint("pass the callback URL as received, e.g. '/im?SdkAppid=...&Sign=...&RequestTime=...'"));
    };
    let query = ReceivedQuery::parse(query.split('#').next().unwrap_or_default());
    let result = verify_query(&args.token, &query, clock.now_secs(), args.max_skew);
    let mut out = output::stdout();
    match result {
        Ok(verified) => {
            let when = match verified.age {
                0 => "now".to_owned(),
                age if age > 0 => format!("{age} s ago"),
                age => format!("{} s ahead of this clock", -age),
            };
            writeln!(
                out,
                "{} authentic: Sign matches the token; RequestTime {} is {when}",
                output::pass_mark(),
                verified.request_time
            )?;
            if verified.upper_case {
                writeln!(
                    out,
                    "{} Sign is upper-case hex; Chat sends lower case (accepted)",
                    output::warn_mark()
                )?;
            }
            Ok(Outcome::Pass)
        }
        Err(reason) if reason.is_malformed() => Err(not_a_callback(&reason)),
        Err(reason) => {
            writeln!(out, "{} not authentic: {reason}", output::fail_mark())?;
            Ok(Outcome::Fail)
        }
    }
}

/// A URL that cannot be checked (see [`SignatureError::is_malformed`]): input to correct, not a
/// callback found not authentic.
fn not_a_callback(reason: &SignatureError) -> Error {
    let cut = "webhook authentication is off, or the query was cut (quote the URL: a shell ends the command at &); Chat appends &Sign=...&RequestTime=...";
    let as_received = "paste the callback URL exactly as your backend received it, in quotes; a placeholder such as Sign=... is not one";
    let (message, hint) = match reason {
        SignatureError::MissingSign => (
            "the URL has no Sign parameter, so there is nothing to verify".to_owned(),
            cut,
        ),
        SignatureError::MissingRequestTime => (
            "the URL has a Sign but no RequestTime, so the Sign cannot be checked".to_owned(),
            cut,
        ),
        SignatureError::MalformedSign(sign) => (
            format!("Sign `{sign}` is not a real Sign: Chat's is 64 hex digits (a SHA-256 digest)"),
            as_received,
        ),
        SignatureError::MalformedRequestTime(time) => (
            format!(
                "RequestTime `{time}` is not a real RequestTime: Chat's is a Unix time in seconds, digits only (no sign, no leading zero, at most 19)"
            ),
            as_received,
        ),
        other => (other.to_string(), as_received),
    };
    Error::usage(message).hint(hint)
}
