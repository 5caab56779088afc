use crate::cli::{CheckArgs, OutputFormat};
use crate::client::Sender;
use crate::clock::Clock;
use crate::config::Scenario;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::report::check as render;
use crate::suite::{self, Covered, Suite};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(args: &CheckArgs, clock: &Clock, scenarios: &[Scenario]) -> Result<Outcome> {
    let covered = Covered::new(&args.covered());
    let cases = suite::select(&args.only, &args.skip, scenarios, &covered);
    if args.list {
        let text = match args.output {
            OutputFormat::Human => render::list_human(&cases),
            OutputFormat::Json => format!("{:#}\n", render::list_json(&cases)),
        };
        output::stdout().write_all(text.as_bytes())?;
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
    let target = crate::report::masked(url).to_string();
    // Before anything is sent, so that a report CI collects can always be written.
    let junit = args.junit.as_deref().map(create_junit).transpose()?;
    if args.output == OutputFormat::Human && !args.quiet {
        write!(
            output::stderr(),
            "{}",
            render::human_header(&target, args.event.sdkappid, token.is_some())
        )?;
    }
    let mut suite = Suite {
        first: covered.first(),
        sender: Sender::new(&args.target, url, 1)?,
        base: url.clone(),
        event: args.event.clone(),
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
    let text = match args.output {
        OutputFormat::Human => render::human(&results, args.verbose),
        OutputFormat::Json => format!("{:#}\n", render::json(&target, &results)),
    };
    output::stdout().write_all(text.as_bytes())?;
    Ok(Outcome::from_pass(render::Counts::of(&results).pass()))
}

/// The `--junit` file, created (empty) before the run.
struct JunitFile {
    path: PathBuf,
    file: File,
}

fn create_junit(path: &Path) -> Result<JunitFile> {
    File::create(path)
        .map(|file| JunitFile {
            path: path.to_owned(),
            file,
        })
        .map_err(|e| junit_error(path, &e))
}

impl JunitFile {
    fn write(mut self, xml: &str) -> Result<()> {
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
