//! Where the results of a run go: stdout, the `--junit` and `--summary` files, and what a CI
//! job shows.

use super::check as render;
use super::junit;
use super::row::Row;
use super::{ci, masked, print};
use crate::check::{Counts, Stop};
use crate::error::{Error, Outcome, Result};
use crate::output::{self, OutputFormat};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use url::Url;

/// Where a run's reports go, as the settings give them (`--output`, `--junit`, and [`CiTo`]).
pub(crate) struct ReportsTo {
    pub output: OutputFormat,
    pub junit: Option<PathBuf>,
    pub ci: CiTo,
}

/// What a CI job is given (`--summary FILE`, `--annotations`).
pub(crate) struct CiTo {
    pub summary: Option<PathBuf>,
    pub annotations: bool,
}

/// Where the results of `check` and `replay` go, in every outcome: stdout (lines or one JSON
/// document), the `--junit` file and what a CI job shows (`--summary`, `--annotations`). Once
/// the target is known, whatever happens is reported here: a CI step that collects the report
/// always finds one.
pub(crate) struct Reports<'a> {
    name: &'static str,
    target: String,
    args: &'a ReportsTo,
    verbose: bool,
    junit: Option<ReportFile>,
    ci: CiReports<'a>,
}

impl<'a> Reports<'a> {
    pub(crate) fn new(name: &'static str, url: &Url, args: &'a ReportsTo, verbose: bool) -> Self {
        Reports {
            name,
            target: masked(url).to_string(),
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
            let unfinished = junit::unfinished(self.name, &self.target);
            self.junit = Some(ReportFile::create(path, "--junit", &unfinished)?);
        }
        Ok(())
    }

    /// Writes the reports of `ran` and turns it into the exit code: the verdict, the signal's
    /// code, or the error that stopped it (said on stderr by the caller).
    pub(crate) fn finish(self, results: &[impl Row], stop: Option<&Stop>) -> Result<Outcome> {
        self.finish_with(results, stop, None)
    }

    /// As [`Reports::finish`], for a run whose results were printed for people as they came
    /// (replay: a record may hold millions of callbacks), so that only the counts and the
    /// verdict are left to print. `printed` counts every result; `results` holds them only
    /// when a document (`--output json`, `--junit`) needs them.
    pub(crate) fn finish_streamed(
        self,
        results: &[impl Row],
        stop: Option<&Stop>,
        printed: &Counts,
    ) -> Result<Outcome> {
        self.finish_with(results, stop, Some(printed))
    }

    fn finish_with(
        self,
        results: &[impl Row],
        stop: Option<&Stop>,
        printed: Option<&Counts>,
    ) -> Result<Outcome> {
        let written = match &self.junit {
            Some(junit) => junit.write(&junit::junit(self.name, &self.target, results, stop)),
            None => Ok(()),
        };
        let report = render::CheckReport {
            target: &self.target,
            results,
            verbose: self.verbose,
            stop,
        };
        let counts = printed
            .copied()
            .unwrap_or_else(|| Counts::of(results.iter().map(Row::status)));
        let human = self.args.output == OutputFormat::Human;
        match printed {
            Some(counts) if human && report.has_human() => {
                let summary = render::human_summary(counts, stop);
                output::stdout().write_all(summary.as_bytes())?;
            }
            Some(_) if human => {}
            _ if !human || report.has_human() => print(&report, self.args.output)?,
            _ => {}
        }
        let summary = ci::check_summary(self.name, &self.target, results, stop);
        let annotations = ci::check_annotations(self.name, results, stop);
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
    args: &'a CiTo,
    summary: Option<ReportFile>,
    /// Whether stdout takes annotations: not in a JSON document.
    annotate: bool,
}

/// The file GitHub Actions shows as the job's summary; each step appends to it.
const STEP_SUMMARY_ENV: &str = "GITHUB_STEP_SUMMARY";

impl<'a> CiReports<'a> {
    pub(crate) fn new(name: &'static str, args: &'a CiTo) -> Self {
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
