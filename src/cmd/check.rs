//! `oa-hook check`: the cases chosen, the suite run on them, the reports written.

use crate::check::{self, Case, Covered, Ran, Suite, fuzz};
use crate::cli::{CheckArgs, OutputFormat};
use crate::client::Sender;
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::report::outputs::Reports;
use crate::report::{self, check as render};
use crate::runtime;
use crate::veto::LostVetoes;
use std::io::Write;
use url::Url;

pub(crate) fn run(args: &CheckArgs, clock: &Clock, scenarios: &[Scenario]) -> Result<Outcome> {
    let mut covered = Covered::new(&args.covered());
    covered.fuzz = args.fuzzing.fuzz.is_some();
    let cases = check::select(&args.only, &args.skip, scenarios, &covered);
    if args.list {
        report::print(&render::CaseList(&cases), args.reports.output)?;
        return Ok(Outcome::Pass);
    }
    let Some(url) = &args.url else {
        return Err(Error::usage("--url is required")
            .hint("pass the backend's webhook URL, e.g. --url http://localhost:3000/im"));
    };
    let to = report::outputs::ReportsTo::from(&args.reports);
    let mut reports = Reports::new("oa-hook check", url, &to, args.verbose);
    let ran = reports
        .open()
        .and_then(|()| run_suite(args, clock, scenarios, &covered, &cases, url))
        .unwrap_or_else(Ran::stopped_by);
    reports.finish(&ran.results, ran.stop.as_ref())
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
            shown_url: output::masked(url),
            commands: covered.answered.clone(),
            timeout: args.target.timeout,
        }),
        fuzz_properties: Vec::new(),
        fuzzed: Vec::new(),
        scenarios: scenarios.to_vec(),
    };
    if args.reports.output == OutputFormat::Human && !args.quiet {
        let target = output::masked(url).to_string();
        write!(
            output::stderr(),
            "{}",
            render::human_header(&target, args.event.query.sdkappid, suite.token.is_some())
        )?;
    }
    runtime::on_one_thread(async |interrupts| suite.run(cases, interrupts).await)
}

/// How the user ran oa-hook, for the commands a report gives to paste: the path they ran it by,
/// or `oa-hook` when it was found on the PATH.
fn program() -> String {
    std::env::args()
        .next()
        .filter(|path| path.contains('/'))
        .unwrap_or_else(|| "oa-hook".to_owned())
}
