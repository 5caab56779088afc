use crate::cli::SignArgs;
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::protocol::{param, sign};
use std::io::Write;

pub(crate) fn run(args: &SignArgs, clock: &Clock) -> Result<Outcome> {
    let token = require_token(args.token.get())?;
    let request_time = args.time.unwrap_or_else(|| clock.now_secs());
    let signature = sign(token, request_time);
    writeln!(
        output::stdout(),
        "Sign         {signature}\nRequestTime  {request_time}\nquery        &{}={signature}&{}={request_time}",
        param::SIGN,
        param::REQUEST_TIME,
    )?;
    output::written()?;
    Ok(Outcome::Pass)
}

/// The token, or a usage error saying how to give it.
pub(crate) fn require_token(token: Option<&str>) -> Result<&str> {
    token.ok_or_else(|| {
        Error::usage("no token given")
            .hint("pass --token TOKEN or set OA_HOOK_TOKEN (the token set in the Chat console)")
    })
}
