use crate::cli::VerifyArgs;
use crate::clock::Clock;
use crate::cmd::sign::require_token;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{ReceivedQuery, SignatureError, param, verify_query};
use std::io::Write;

pub(crate) fn run(args: &VerifyArgs, clock: &Clock) -> Result<Outcome> {
    let token = require_token(args.token.get())?;
    let Some((_, query)) = args.url.split_once('?') else {
        return Err(Error::usage(format!("`{}` has no query string", args.url))
            .hint("pass the callback URL as received, e.g. '/im?SdkAppid=...&Sign=...&RequestTime=...'"));
    };
    let query = ReceivedQuery::parse(query.split('#').next().unwrap_or_default());
    let result = verify_query(token, &query, clock.now_secs(), args.max_skew);
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
        Err(SignatureError::MissingSign) => Err(Error::usage(format!(
            "the URL has no {} parameter, so there is nothing to verify",
            param::SIGN
        ))
        .hint("webhook authentication is off, or the query was cut; Chat appends &Sign=...&RequestTime=...")),
        Err(reason) => {
            writeln!(out, "{} not authentic: {reason}", output::fail_mark())?;
            Ok(Outcome::Fail)
        }
    }
}
