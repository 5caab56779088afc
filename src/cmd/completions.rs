use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Outcome, Result};
use crate::output;
use clap::CommandFactory;

pub(crate) fn run(args: &CompletionsArgs) -> Result<Outcome> {
    let mut command = Cli::command();
    let mut out = output::stdout();
    clap_complete::generate(args.shell, &mut command, "oa-hook", &mut out);
    Ok(Outcome::Pass)
}
