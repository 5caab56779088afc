use crate::cli::{CheckArgs, CiArgs, OutputFormat, ReportArgs};
use crate::client::Sender;
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::interrupt::Interrupts;
use crate::output;
use crate::report::{self, check as render, ci};
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
            render::human_header(&target, args.event.query.sdkappid, suite.token.is_some())
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
    super::start_runtime(&mut tokio::runtime::Builder::new_current_thread())
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
/// document), the `--junit` file and what a CI job shows (`--summary`, `--annotations`). Once
/// the target is known, whatever happens is reported here: a CI step that collects the report
/// always finds one.
pub(crate) struct Reports<'a> {
    name: &'static str,
    target: String,
    args: &'a ReportArgs,
    verbose: bool,
    junit: Option<ReportFile>,
    ci: CiReports<'a>,
}

impl<'a> Reports<'a> {
    pub(crate) fn new(name: &'static str, url: &Url, args: &'a ReportArgs, verbose: bool) -> Self {
        Reports {
            name,
            target: report::masked(url).to_string(),
            args,
            verbose,
            junit: None,
            ci: CiReports::new(name, &args.ci),
        }
    }

    /// Creates the `--junit` and `--summary` files before anything is sent, each holding a
    /// report that fails until the run writes its own: a run killed outright leaves a failing
    /// report, not an empty file.
    pub(crate) fn open(&mut self) -> Result<()> {
        self.ci.open(&self.target, self.args.output)?;
        if let Some(path) = &self.args.junit {
            let unfinished = render::junit_unfinished(self.name, &self.target);
            self.junit = Some(ReportFile::create(path, "--junit", &unfinished)?);
        }
        Ok(())
    }

    /// Writes the reports of `ran` and turns it into the exit code: the verdict, the signal's
    /// code, or the error that stopped it (said on stderr by the caller).
    pub(crate) fn finish(self, ran: &Ran) -> Result<Outcome> {
        self.finish_with(ran, None)
    }

    /// As [`Reports::finish`], for a run whose results were printed for people as they came
    /// (replay: a record may hold millions of callbacks), so that only the counts and the
    /// verdict are left to print. `printed` counts every result; `ran.results` holds them only
    /// when a document (`--output json`, `--junit`) needs them.
    pub(crate) fn finish_streamed(self, ran: &Ran, printed: &render::Counts) -> Result<Outcome> {
        self.finish_with(ran, Some(printed))
    }

    fn finish_with(self, ran: &Ran, printed: Option<&render::Counts>) -> Result<Outcome> {
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
        let counts = printed
            .copied()
            .unwrap_or_else(|| render::Counts::of(&ran.results));
        let human = self.args.output == OutputFormat::Human;
        match printed {
            Some(counts) if human && report.has_human() => {
                let summary = render::human_summary(counts, stop);
                output::stdout().write_all(summary.as_bytes())?;
            }
            Some(_) if human => {}
            _ if !human || report.has_human() => report::print(&report, self.args.output)?,
            _ => {}
        }
        let summary = ci::check_summary(self.name, &self.target, &ran.results, stop);
        let annotations = ci::check_annotations(self.name, &ran.results, stop);
        let ci_written = self.ci.finish(&summary, &annotations);
        let outcome = match stop {
            Some(stop) => stop.outcome()?,
            None => Outcome::from_pass(counts.pass()),
        };
        // A report asked for and not written is an error whatever the verdict.
        written?;
        ci_written?;
        Ok(outcome)
    }
}

/// What a CI job shows of a run (`check`, `replay`, load mode): the `--summary` file, the job
/// summary of GitHub Actions, and the `--annotations` on stdout.
pub(crate) struct CiReports<'a> {
    name: &'static str,
    args: &'a CiArgs,
    summary: Option<ReportFile>,
    /// Whether stdout takes annotations: not in a JSON document.
    annotate: bool,
}

/// The file GitHub Actions shows as the job's summary; each step appends to it.
const STEP_SUMMARY_ENV: &str = "GITHUB_STEP_SUMMARY";

impl<'a> CiReports<'a> {
    pub(crate) fn new(name: &'static str, args: &'a CiArgs) -> Self {
        CiReports {
            name,
            args,
            summary: None,
            annotate: false,
        }
    }

    /// Refuses what cannot be done, and creates the `--summary` file with a summary that says
    /// the run did not finish, before anything is sent.
    pub(crate) fn open(&mut self, target: &str, output: OutputFormat) -> Result<()> {
        if self.args.annotations && output == OutputFormat::Json {
            return Err(Error::usage(
                "--annotations prints workflow commands on stdout, where --output json prints one JSON document",
            )
            .hint("drop one of them; --summary FILE and --junit FILE are reports of their own"));
        }
        self.annotate = self.args.annotations;
        if let Some(path) = &self.args.summary {
            let unfinished = ci::unfinished(self.name, target);
            self.summary = Some(ReportFile::create(path, "--summary", &unfinished)?);
        }
        Ok(())
    }

    /// Writes `summary` (Markdown) to the `--summary` file and GitHub's job summary, and prints
    /// `annotations` with `--annotations`. A `--summary` not written is an error; GitHub's file
    /// not written is said on stderr, and the verdict stands.
    pub(crate) fn finish(&self, summary: &str, annotations: &str) -> Result<()> {
        if self.annotate {
            output::stdout().write_all(annotations.as_bytes())?;
        }
        if let Some(path) = std::env::var_os(STEP_SUMMARY_ENV).filter(|p| !p.is_empty()) {
            let appended = File::options()
                .append(true)
                .create(true)
                .open(&path)
                .and_then(|mut file| writeln!(file, "{summary}"));
            if let Err(e) = appended {
                let _ = writeln!(
                    output::stderr(),
                    "oa-hook: cannot append the summary to ${STEP_SUMMARY_ENV} ({}): {e}",
                    Path::new(&path).display()
                );
            }
        }
        match &self.summary {
            Some(file) => file.write(summary),
            None => Ok(()),
        }
    }
}

/// A report file asked for with `flag` (`--junit FILE`, `--summary FILE`).
pub(crate) struct ReportFile {
    path: PathBuf,
    flag: &'static str,
}

impl ReportFile {
    /// Creates (or empties) the file at once with `text`: a path that cannot be written is
    /// said before anything is sent.
    fn create(path: &Path, flag: &'static str, text: &str) -> Result<Self> {
        let file = ReportFile {
            path: path.to_owned(),
            flag,
        };
        file.write(text)?;
        Ok(file)
    }

    fn write(&self, text: &str) -> Result<()> {
        File::create(&self.path)
            .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.flush()))
            .map_err(|e| {
                Error::usage(format!(
                    "cannot write {} {}: {e}",
                    self.flag,
                    self.path.display()
                ))
                .hint("give a path in a directory that exists and is writable")
            })
    }
}
