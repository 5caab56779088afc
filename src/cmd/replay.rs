//! `oa-hook replay`: the record read line by line, the engine in `crate::replay`, `check`'s
//! reports, each result printed for people as it comes.

use crate::check::{Counts, Stop};
use crate::cli::{OutputFormat, ReplayArgs};
use crate::client::Pool;
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::replay::{self, Choice, Compared, Input, Replay, Signing, Tally, Unread};
use crate::report::outputs::Reports;
use crate::report::{self, check::human_case};
use crate::runtime;
use colored::Colorize;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Record lines read ahead of the callbacks being replayed: enough to keep them coming, few
/// enough that memory holds a handful of lines whatever the size of the record.
const READ_AHEAD: usize = 64;

pub(crate) fn run(args: &ReplayArgs, clock: &Clock) -> Result<Outcome> {
    let to = report::outputs::ReportsTo::from(&args.reports);
    let mut reports = Reports::new("oa-hook replay", &args.url, &to, false);
    let mut shown = Shown {
        print: args.reports.output == OutputFormat::Human,
        keep: args.reports.output == OutputFormat::Json || args.reports.junit.is_some(),
        kept: Vec::new(),
        counts: Counts::default(),
    };
    let stop = reports
        .open()
        .and_then(|()| replay(args, clock, &mut shown))
        .unwrap_or_else(|error| Some(Stop::from(error)));
    if shown.print {
        reports.finish_streamed(&shown.kept, stop.as_ref(), &shown.counts)
    } else {
        reports.finish(&shown.kept, stop.as_ref())
    }
}

/// Where each result goes as it comes: printed at once for people, kept only when a document
/// (`--output json`, `--junit`) needs it, and counted.
struct Shown {
    print: bool,
    keep: bool,
    kept: Vec<Compared>,
    counts: Counts,
}

impl Shown {
    fn show(&mut self, result: Compared) {
        self.counts.add(result.outcome.status);
        if self.print {
            let _ = output::stdout().write_all(human_case(&result, 0, false).as_bytes());
        }
        if self.keep {
            self.kept.push(result);
        }
    }
}

/// The record read, chosen and replayed, until the end or a stop.
fn replay(args: &ReplayArgs, clock: &Clock, shown: &mut Shown) -> Result<Option<Stop>> {
    let name = args.file.display().to_string();
    let choice = Choice {
        all: args.all,
        skip_invalid: args.skip_invalid,
    };
    let stdin = args.file.as_os_str() == "-";
    // A regular file is read once before anything is sent, a line at a time: a line that is
    // not a record stops the replay before it starts, and the callbacks are counted. Stdin or
    // a pipe (`<(zcat events.ndjson.gz)`) is read once, as it is replayed.
    let regular = !stdin
        && std::fs::metadata(&args.file)
            .map_err(|e| cannot_read(&name, &e))?
            .is_file();
    let scanned = if regular {
        let tally = scan(&args.file, &name, choice)?;
        something_to_replay(&tally, &name)?;
        Some(tally)
    } else {
        None
    };
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let signing = match args.token.get().map(str::to_owned) {
        _ if args.as_recorded => Signing::AsRecorded,
        Some(token) => Signing::Afresh(token),
        None => Signing::Unsigned,
    };
    let replay = Arc::new(Replay {
        client: Pool::new(&args.target.target(), concurrency)?,
        base: args.url.clone(),
        signing,
        clock: *clock,
        concurrency,
        sdkappid: args.sdkappid,
    });
    if args.reports.output == OutputFormat::Human && !args.quiet {
        header(args, &name, &replay, scanned.as_ref())?;
    }
    if let Some(line) = scanned.and_then(|tally| tally.cut) {
        cut_short(&name, line)?;
    }
    let (sender, mut receiver) = mpsc::channel(READ_AHEAD);
    let path = args.file.clone();
    let limit = scanned.map(|tally| tally.lines);
    // Read on a thread of its own: a pipe that is slow to give lines never holds up the
    // callbacks in flight, nor Ctrl-C.
    std::thread::Builder::new()
        .name("read-record".into())
        .spawn(move || {
            let reader: Box<dyn BufRead> = if stdin {
                Box::new(std::io::stdin().lock())
            } else {
                match File::open(&path) {
                    Ok(file) => Box::new(BufReader::new(file)),
                    Err(e) => {
                        let _ = sender.blocking_send(Input::Unreadable(e));
                        return;
                    }
                }
            };
            let tally = replay::read(reader, choice, limit, |input| {
                sender.blocking_send(input).is_ok()
            });
            let _ = sender.blocking_send(Input::End(tally));
        })
        .map_err(|e| Error::internal(format!("cannot start a thread: {e}")))?;
    let mut each = |result| shown.show(result);
    let replayed = runtime::on_one_thread(async |interrupts| {
        replay.run(&mut receiver, interrupts, &mut each).await
    })?;
    if !regular && let Some(line) = replayed.tally.and_then(|tally| tally.cut) {
        cut_short(&name, line)?;
    }
    Ok(if let Some(signal) = replayed.interrupted {
        let total = scanned.map_or(replayed.known, |tally| tally.chosen + tally.skipped);
        Some(Stop::Interrupted { signal, total })
    } else if let Some(unreachable) = replayed.unreachable {
        Some(Stop::Unreachable {
            case: None,
            error: unreachable.into_error(),
        })
    } else if let Some(unread) = replayed.unread {
        Some(Stop::Error(match unread {
            Unread::Invalid(line, why) => invalid(&name, line, &why),
            Unread::Failed(e) => cannot_read(&name, &e),
        }))
    } else if replayed.lost > 0 {
        Some(Stop::Error(Error::internal(format!(
            "{} callback(s) of the record could not be replayed",
            replayed.lost
        ))))
    } else if let Some(tally) = replayed.tally.filter(|_| !regular) {
        something_to_replay(&tally, &name).err().map(Stop::Error)
    } else {
        None
    })
}

/// Reads the record at `path` once, a line at a time: how its lines come out, or the first
/// that is not a record (unless `--skip-invalid`).
fn scan(path: &Path, name: &str, choice: Choice) -> Result<Tally> {
    let file = File::open(path).map_err(|e| cannot_read(name, &e))?;
    let mut stopped = None;
    let tally = replay::read(BufReader::new(file), choice, None, |input| match input {
        Input::Invalid(line, why) => {
            stopped = Some(invalid(name, line, &why));
            false
        }
        Input::Unreadable(e) => {
            stopped = Some(cannot_read(name, &e));
            false
        }
        _ => true,
    });
    stopped.map_or(Ok(tally), Err)
}

/// An error unless the record has a callback to replay.
fn something_to_replay(tally: &Tally, name: &str) -> Result<()> {
    if tally.chosen > 0 {
        return Ok(());
    }
    Err(if tally.records == 0 {
        Error::usage(format!("{name} holds no record"))
            .hint("record callbacks with `oa-hook serve --record FILE`")
    } else {
        Error::usage(format!(
            "nothing to replay: none of the {} record(s) in {name} is a callback Chat could have sent",
            tally.records
        ))
        .hint("pass --all to replay the requests serve refused too")
    })
}

/// `oa-hook replay events.ndjson to URL (3 callback(s), signed afresh)` on stderr.
fn header(args: &ReplayArgs, name: &str, replay: &Replay, scanned: Option<&Tally>) -> Result<()> {
    let mut what = Vec::new();
    if let Some(tally) = scanned {
        what.push(format!("{} callback(s)", tally.chosen));
        if tally.skipped > 0 {
            what.push(format!(
                "{} line(s) that are not records skipped",
                tally.skipped
            ));
        }
    }
    what.push(
        match replay.signing {
            Signing::Afresh(_) => "signed afresh",
            Signing::Unsigned => "unsigned: no token",
            Signing::AsRecorded => "as recorded: their Sign and RequestTime unchanged",
        }
        .to_owned(),
    );
    if let Some(id) = args.sdkappid {
        what.push(format!("SdkAppid {id}"));
    }
    writeln!(
        output::stderr(),
        "{} {name} to {} ({})",
        "oa-hook replay".bold(),
        output::masked(&args.url),
        what.join(", ")
    )?;
    Ok(())
}

/// The warning for a last line cut short as it was written: it is skipped.
fn cut_short(name: &str, line: usize) -> Result<()> {
    writeln!(
        output::stderr(),
        "{} {name}:{line}: the last line is cut short (no newline at its end, and not whole), as when serve is killed while writing it; skipped",
        output::warning("oa-hook: warning:")
    )?;
    Ok(())
}

fn invalid(name: &str, line: usize, why: &str) -> Error {
    Error::usage(format!("{name}:{line}: {why}")).hint(
        "a record is what `oa-hook serve --record FILE` writes, one JSON object a line; pass --skip-invalid to replay the other lines",
    )
}

fn cannot_read(name: &str, e: &std::io::Error) -> Error {
    Error::usage(format!("cannot read {name}: {e}"))
        .hint("give a record written by `oa-hook serve --record FILE`, or - for stdin")
}
