use crate::cli::Cli;
use crate::error::{Outcome, Result};
use crate::output;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

pub(crate) fn run(shell: Shell) -> Result<Outcome> {
    let mut command = Cli::command();
    // Made whole first: clap_complete panics on a write that fails (`| head -1`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "oa-hook", &mut script);
    output::stdout().write_all(&script)?;
    output::written()?;
    Ok(Outcome::Pass)
}
