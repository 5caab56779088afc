use crate::cli::{CheckArgs, OutputFormat, ReportArgs};
use crate::client::Sender;
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::interrupt::Interrupts;
use crate::output;
use crate::report::{self, check as render};
use crate::suite::{self, Case, Covered, Ran, Stop, Suite, fuzz};
use crate::veto::LostVetoes;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use url::Url;

pub(crate) fn run(args: &CheckArgs, clock: &Clock, scenarios: &[Scenario]) -> Result<Outcome> {
    let mut covered = Covered::new(&args.covered());
    covered.fuzz = args.fuzzing.fuzz.is_some();
    let cases = suite::select(&args.only, &args.skip, scenarios, &covered);
    if args.list {
        report::print(&render::CaseList(&cases), args.reports.output)?;
        return Ok(Outcome::Pass);
    }
    let Some(url) = &args.url else {
        return Err(Error::usage("--url is required")
            .hint("pass the backend's webhook URL, e.g. --url http://localhost:3000/im"));
    };
    let mut reports = Reports::new("oa-hook check", url, &args.reports, args.verbose);
    let ran = reports
        .open()
        .and_then(|()| run_suite(args, clock, scenarios, &covered, &cases, url))
        .unwrap_or_else(Ran::stopped_by);
    reports.finish(&ran)
}

/// The suite from the header on: what is sent, until the end or a stop.
fn run_suite(
    args: &CheckArgs,
    clock: &Clock,
    scenarios: &[Scenario],
    covered: &Covered,
    cases: &[Case],
    url: &Url,
) -> Result<Ran> {
    if cases.is_empty() {
        return Err(Error::usage("--only/--skip left no case to run")
            .hint("see the case ids with `oa-hook check --list`"));
    }
    let token = args.token.get().map(str::to_owned);
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
        lost: LostVetoes::default(),
        fuzz_plan: args.fuzzing.fuzz.map(|per_command| fuzz::Plan {
            per_command,
            seed: args.fuzzing.seed.unwrap_or_else(crate::seeded::fresh_seed),
            dir: args.fuzzing.fuzz_dir.clone(),
            program: program(),
            commands: covered.answered.clone(),
            timeout: args.target.timeout,
        }),
        fuzz_properties: Vec::new(),
        fuzzed: Vec::new(),
        scenarios: scenarios.to_vec(),
    };
    if args.reports.output == OutputFormat::Human && !args.quiet {
        let target = report::masked(url).to_string();
        write!(
            output::stderr(),
            "{}",
            render::human_header(&target, args.event.sdkappid, suite.token.is_some())
        )?;
    }
    runtime()?.block_on(async {
        let interrupts = Interrupts::listen()
            .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
        Ok(suite.run(cases, &interrupts).await)
    })
}

/// How the user ran oa-hook, for the commands a report gives to paste: the path they ran it by,
/// or `oa-hook` when it was found on the PATH.
fn program() -> String {
    std::env::args()
        .next()
        .filter(|path| path.contains('/'))
        .unwrap_or_else(|| "oa-hook".to_owned())
}

/// The runtime `check` and `replay` send on: one thread, as their requests go one (or a few)
/// at a time.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

impl Ran {
    /// A run that sent nothing, because of `error`.
    pub(crate) fn stopped_by(error: Error) -> Self {
        let stop = match error.kind {
            ErrorKind::Unreachable => Stop::Unreachable { case: None, error },
            _ => Stop::Error(error),
        };
        Ran {
            results: Vec::new(),
            stop: Some(stop),
        }
    }
}

/// Where the results of `check` and `replay` go, in every outcome: stdout (lines or one JSON
/// document) and the `--junit` file. Once the target is known, whatever happens is reported
/// here: a CI step that collects the report always finds one.
pub(crate) struct Reports<'a> {
    name: &'static str,
    target: String,
    args: &'a ReportArgs,
    verbose: bool,
    junit: Option<JunitFile>,
}

impl<'a> Reports<'a> {
    pub(crate) fn new(name: &'static str, url: &Url, args: &'a ReportArgs, verbose: bool) -> Self {
        Reports {
            name,
            target: report::masked(url).to_string(),
            args,
            verbose,
            junit: None,
        }
    }

    /// Creates the `--junit` file before anything is sent, holding a report that fails until
    /// the run writes its own: a run killed outright leaves a failing report, not an empty
    /// file.
    pub(crate) fn open(&mut self) -> Result<()> {
        if let Some(path) = &self.args.junit {
            let unfinished = render::junit_unfinished(self.name, &self.target);
            self.junit = Some(JunitFile::create(path, &unfinished)?);
        }
        Ok(())
    }

    /// Writes the reports of `ran` and turns it into the exit code: the verdict, the signal's
    /// code, or the error that stopped it (said on stderr by the caller).
    pub(crate) fn finish(self, ran: &Ran) -> Result<Outcome> {
        let stop = ran.stop.as_ref();
        let written = match &self.junit {
            Some(junit) => junit.write(&render::junit(self.name, &self.target, &ran.results, stop)),
            None => Ok(()),
        };
        let report = render::CheckReport {
            target: &self.target,
            results: &ran.results,
            verbose: self.verbose,
            stop,
        };
        if self.args.output == OutputFormat::Json || report.has_human() {
            report::print(&report, self.args.output)?;
        }
        let outcome = match stop {
            Some(stop) => stop.outcome()?,
            None => Outcome::from_pass(render::Counts::of(&ran.results).pass()),
        };
        // A report asked for and not written is an error whatever the verdict.
        written?;
        Ok(outcome)
    }
}

/// The `--junit` file.
pub(crate) struct JunitFile {
    path: PathBuf,
}

impl JunitFile {
    /// Creates (or empties) the file at once with `xml`: a path that cannot be written is
    /// said before anything is sent.
    fn create(path: &Path, xml: &str) -> Result<Self> {
        let junit = JunitFile {
            path: path.to_owned(),
        };
        junit.write(xml)?;
        Ok(junit)
    }

    fn write(&self, xml: &str) -> Result<()> {
        File::create(&self.path)
            .and_then(|mut file| file.write_all(xml.as_bytes()).and_then(|()| file.flush()))
            .map_err(|e| junit_error(&self.path, &e))
    }
}

fn junit_error(path: &Path, e: &std::io::Error) -> Error {
    Error::usage(format!("cannot write --junit {}: {e}", path.display()))
        .hint("give a path in a directory that exists and is writable")
}
