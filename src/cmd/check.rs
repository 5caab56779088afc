use crate::cli::{CheckArgs, OutputFormat};
use crate::client::Sender;
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::report::{self, check as render};
use crate::suite::{self, Covered, Suite};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn run(args: &CheckArgs, clock: &Clock, scenarios: &[Scenario]) -> Result<Outcome> {
    let covered = Covered::new(&args.covered());
    let cases = suite::select(&args.only, &args.skip, scenarios, &covered);
    if args.list {
        report::print(&render::CaseList(&cases), args.reports.output)?;
        return Ok(Outcome::Pass);
    }
    let Some(url) = &args.url else {
        return Err(Error::usage("--url is required")
            .hint("pass the backend's webhook URL, e.g. --url http://localhost:3000/im"));
    };
    if cases.is_empty() {
        return Err(Error::usage("--only/--skip left no case to run")
            .hint("see the case ids with `oa-hook check --list`"));
    }
    let token = args.token.get().map(str::to_owned);
    let target = report::masked(url).to_string();
    // Before anything is sent, so that a report CI collects can always be written.
    let junit = create_junit(args.reports.junit.as_deref())?;
    if args.reports.output == OutputFormat::Human && !args.quiet {
        write!(
            output::stderr(),
            "{}",
            render::human_header(&target, args.event.sdkappid, token.is_some())
        )?;
    }
    let mut suite = Suite {
        first: covered.first(),
        sender: Sender::new(&args.target.target(), url, 1)?,
        base: url.clone(),
        event: args.event.event(),
        token,
        expectation: args.expect.expectation(),
        clock: *clock,
        verbose: args.verbose,
        transcript: Vec::new(),
        scenarios: scenarios.to_vec(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let results = match runtime.block_on(suite.run(&cases)) {
        Ok(results) => results,
        Err(stopped) => {
            if let Some(junit) = junit {
                let stop = Some((&stopped.case, stopped.message.as_str()));
                junit.write(&render::junit(&target, &stopped.results, stop))?;
            }
            return Err(stopped.error);
        }
    };
    if let Some(junit) = junit {
        junit.write(&render::junit(&target, &results, None))?;
    }
    let report = render::CheckReport {
        target: &target,
        results: &results,
        verbose: args.verbose,
    };
    report::print(&report, args.reports.output)?;
    Ok(Outcome::from_pass(render::Counts::of(&results).pass()))
}

/// The `--junit` file, created (empty) before the run.
pub(crate) struct JunitFile {
    path: PathBuf,
    file: File,
}

/// The `--junit` file when one is asked for, created at once.
pub(crate) fn create_junit(path: Option<&Path>) -> Result<Option<JunitFile>> {
    path.map(|path| {
        File::create(path)
            .map(|file| JunitFile {
                path: path.to_owned(),
                file,
            })
            .map_err(|e| junit_error(path, &e))
    })
    .transpose()
}

impl JunitFile {
    pub(crate) fn write(mut self, xml: &str) -> Result<()> {
        self.file
            .write_all(xml.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| junit_error(&self.path, &e))
    }
}

fn junit_error(path: &Path, e: &std::io::Error) -> Error {
    Error::usage(format!("cannot write --junit {}: {e}", path.display()))
        .hint("give a path in a directory that exists and is writable")
}
