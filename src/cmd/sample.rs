//! `oa-hook sample`: the request Chat would send, printed.

use crate::cli::SampleFormat;
use crate::error::{Outcome, Result};
use crate::output;
use crate::report::request as render;
use crate::settings::Sample;
use std::io::Write;

pub(crate) fn run(sample: &Sample) -> Result<Outcome> {
    let request = sample.template.at(sample.request_time);
    // What `send` sends: compact JSON as built, or the `--body` file as read.
    let sent = String::from_utf8_lossy(&sample.template.body_bytes);
    let text = match sample.format {
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
