//! `oa-hook export`: the engines of `crate::export`, printed or written.

use crate::cli::DocumentFormat;
use crate::error::{Error, Outcome, Result};
use crate::export;
use crate::output;
use crate::settings::Exported;
use std::io::Write;
use std::path::Path;

pub(crate) fn run(exported: &Exported) -> Result<Outcome> {
    let text = match exported {
        Exported::Openapi(format) => {
            let document = export::openapi::document();
            match format {
                DocumentFormat::Json => format!("{document:#}\n"),
                DocumentFormat::Yaml => export::yaml(&document)
                    .map_err(|e| Error::internal(format!("cannot write the YAML document: {e}")))?,
            }
        }
        Exported::Jsonschema(dir) => write_schemas(dir)?,
        Exported::Locust(script) => script.locust(),
        Exported::K6(script) => script.k6(),
    };
    output::stdout().write_all(text.as_bytes())?;
    output::written()?;
    Ok(Outcome::Pass)
}

/// Writes every schema file into `dir` (made if missing); says each path written.
fn write_schemas(dir: &Path) -> Result<String> {
    let cannot = |e: std::io::Error, what: &Path| {
        Error::usage(format!("cannot write {}: {e}", what.display()))
            .hint("give a directory that can be made or written to, e.g. schemas/")
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot(e, dir))?;
    let mut paths = String::new();
    for (name, schema) in export::schema_files() {
        let path = dir.join(name);
        std::fs::write(&path, format!("{schema:#}\n")).map_err(|e| cannot(e, &path))?;
        paths.push_str(&format!("{}\n", path.display()));
    }
    Ok(paths)
}
