use crate::cli::{SampleArgs, SampleFormat};
use crate::clock::Clock;
use crate::error::{Outcome, Result};
use crate::output;
use crate::report::request as render;
use crate::request::Template;
use std::io::Write;

pub(crate) fn run(args: &SampleArgs, clock: &Clock) -> Result<Outcome> {
    let template = Template::new(
        args.callback.0,
        &args.url,
        &args.event.event(),
        args.body.body.as_deref(),
        args.token.get(),
        clock.now_ms(),
    )?;
    let request = template.at(args
        .request_time
        .request_time
        .unwrap_or_else(|| clock.now_secs()));
    // What `send` sends: compact JSON as built, or the `--body` file as read.
    let sent = String::from_utf8_lossy(&template.body_bytes);
    let text = match args.format {
        SampleFormat::Http => render::http_exact(&request.url, &sent) + "\n",
        SampleFormat::Body => render::pretty_body(&request.body) + "\n",
        SampleFormat::Url => format!("{}\n", request.url),
        SampleFormat::Curl => render::curl(&request.url, &sent),
        SampleFormat::Json => {
            serde_json::to_string_pretty(&render::json(&request)).unwrap_or_default() + "\n"
        }
    };
    output::stdout().write_all(text.as_bytes())?;
    output::written()?;
    Ok(Outcome::Pass)
}
