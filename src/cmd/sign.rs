use crate::clock::Clock;
use crate::error::{Outcome, Result};
use crate::output;
use crate::protocol::{param, sign};
use crate::settings::Sign;
use std::io::Write;

pub(crate) fn run(args: &Sign, clock: &Clock) -> Result<Outcome> {
    let request_time = args.time.unwrap_or_else(|| clock.now_secs());
    let signature = sign(&args.token, request_time);
    writeln!(
        output::stdout(),
        "Sign         {signature}\nRequestTime  {request_time}\nquery        &{}={signature}&{}={request_time}",
        param::SIGN,
        param::REQUEST_TIME,
    )?;
    output::written()?;
    Ok(Outcome::Pass)
}
