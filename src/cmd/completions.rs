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

/// `oa-hook man`: the man page, from the same clap definition as `--help`.
pub(crate) fn man() -> Result<Outcome> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| crate::error::Error::internal(format!("cannot render the man page: {e}")))?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &page)?;
    Ok(Outcome::Pass)
}
