//! `oa-hook replay`: the record read and chosen, the engine in `crate::replay`, `check`'s reports.

use crate::cli::{OutputFormat, ReplayArgs};
use crate::client::Pool;
use crate::clock::Clock;
use crate::cmd::check::create_junit;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::record::{self, Recorded};
use crate::replay::Replay;
use crate::report::{self, check as render};
use colored::Colorize;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn run(args: &ReplayArgs, clock: &Clock) -> Result<Outcome> {
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
    // Before anything is sent, so that a report CI collects can always be written.
    let junit = create_junit(args.reports.junit.as_deref())?;
    if args.reports.output == OutputFormat::Human && !args.quiet {
        writeln!(
            output::stderr(),
            "{} {name} to {target} ({} callback(s), {})",
            "oa-hook replay".bold(),
            chosen.len(),
            if token.is_some() {
                "signed afresh"
            } else {
                "unsigned: no token"
            }
        )?;
    }
    let replay = Arc::new(Replay {
        client: Pool::new(
            &args.target.target(),
            usize::try_from(args.concurrency).unwrap_or(1),
        )?,
        base: args.url.clone(),
        token,
        clock: *clock,
        concurrency: usize::try_from(args.concurrency).unwrap_or(1),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let replayed = runtime.block_on(replay.run(chosen));
    let results = replayed.results;
    if let Some(junit) = junit {
        junit.write(&render::junit_of("oa-hook replay", &target, &results, None))?;
    }
    if let Some(unreachable) = replayed.unreachable {
        return Err(unreachable.into_error());
    }
    if replayed.lost > 0 {
        return Err(Error::internal(format!(
            "{} callback(s) of the record could not be replayed",
            replayed.lost
        )));
    }
    let report = render::CheckReport {
        target: &target,
        results: &results,
        verbose: false,
    };
    report::print(&report, args.reports.output)?;
    Ok(Outcome::from_pass(render::Counts::of(&results).pass()))
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
