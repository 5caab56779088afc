use crate::config::TEMPLATE;
use crate::error::{Error, Outcome, Result};
use crate::output;
use std::io::Write;
use std::path::Path;

/// Writes the commented template, never over a file that exists.
pub(crate) fn run(path: &Path) -> Result<Outcome> {
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::usage(format!(
                "{} exists already; init never writes over a file",
                path.display()
            ))
            .hint("edit it, or give init another file name"),
            _ => Error::usage(format!("cannot write {}: {e}", path.display()))
                .hint("give a path in a directory that exists and is writable"),
        })?;
    file.write_all(TEMPLATE.as_bytes())
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    writeln!(
        output::stdout(),
        "wrote {}: settings and two example scenarios; `oa-hook check --url URL` runs them",
        path.display()
    )?;
    output::written()?;
    Ok(Outcome::Pass)
}
