//! `oa-hook replay`: the record read and chosen, the engine in `crate::replay`, `check`'s reports.

use crate::cli::{OutputFormat, ReplayArgs};
use crate::client::Pool;
use crate::clock::Clock;
use crate::cmd::check::{Reports, runtime};
use crate::error::{Error, Outcome, Result};
use crate::interrupt::Interrupts;
use crate::output;
use crate::record::{self, Recorded};
use crate::replay::Replay;
use crate::report;
use crate::suite::{Ran, Stop};
use colored::Colorize;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn run(args: &ReplayArgs, clock: &Clock) -> Result<Outcome> {
    let mut reports = Reports::new("oa-hook replay", &args.url, &args.reports, false);
    let ran = reports
        .open()
        .and_then(|()| replay(args, clock))
        .unwrap_or_else(Ran::stopped_by);
    reports.finish(&ran)
}

/// The record read, chosen and replayed, until the end or a stop.
fn replay(args: &ReplayArgs, clock: &Clock) -> Result<Ran> {
    let name = args.file.display().to_string();
    let records = read_records(&args.file, &name)?;
    let total = records.len();
    let chosen: Vec<(usize, Recorded)> = records
        .into_iter()
        .filter(|(_, record)| args.all || record.valid)
        .collect();
    if chosen.is_empty() {
        return Err(if total == 0 {
            Error::usage(format!("{name} holds no record"))
                .hint("record callbacks with `oa-hook serve --record FILE`")
        } else {
            Error::usage(format!(
                "nothing to replay: none of the {total} record(s) in {name} is a callback Chat could have sent"
            ))
            .hint("pass --all to replay the requests serve refused too")
        });
    }
    let token = args.token.token.clone().filter(|t| !t.is_empty());
    let target = report::masked(&args.url).to_string();
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let replay = Arc::new(Replay {
        client: Pool::new(&args.target.target(), concurrency)?,
        base: args.url.clone(),
        token,
        clock: *clock,
        concurrency,
    });
    if args.reports.output == OutputFormat::Human && !args.quiet {
        writeln!(
            output::stderr(),
            "{} {name} to {target} ({} callback(s), {})",
            "oa-hook replay".bold(),
            chosen.len(),
            if replay.token.is_some() {
                "signed afresh"
            } else {
                "unsigned: no token"
            }
        )?;
    }
    let callbacks = chosen.len();
    let replayed = runtime()?.block_on(async {
        let interrupts = Interrupts::listen()
            .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
        Ok::<_, Error>(replay.run(chosen, &interrupts).await)
    })?;
    let stop = if let Some(signal) = replayed.interrupted {
        Some(Stop::Interrupted {
            signal,
            total: callbacks,
        })
    } else if let Some(unreachable) = replayed.unreachable {
        Some(Stop::Unreachable {
            case: None,
            error: unreachable.into_error(),
        })
    } else if replayed.lost > 0 {
        Some(Stop::Error(Error::internal(format!(
            "{} callback(s) of the record could not be replayed",
            replayed.lost
        ))))
    } else {
        None
    };
    Ok(Ran {
        results: replayed.results,
        stop,
    })
}

/// Every record of `path` (`-`: stdin), each with its line number; anything unreadable is a
/// usage error naming the line.
fn read_records(path: &Path, name: &str) -> Result<Vec<(usize, Recorded)>> {
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes).map(drop))
    };
    read.map_err(|e| {
        Error::usage(format!("cannot read {name}: {e}"))
            .hint("give a record written by `oa-hook serve --record FILE`, or - for stdin")
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        Error::usage(format!("{name}:{line}: not UTF-8 text, so not a record"))
    })?;
    record::read(&text).map_err(|e| {
        Error::usage(format!("{name}:{}: {}", e.line, e.why))
            .hint("a record is what `oa-hook serve --record FILE` writes, one JSON object a line")
    })
}
