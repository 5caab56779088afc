//! One thin file per subcommand.

pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod export;
pub(crate) mod init;
pub(crate) mod man;
pub(crate) mod replay;
pub(crate) mod sample;
pub(crate) mod send;
pub(crate) mod serve;
pub(crate) mod sign;
pub(crate) mod verify;

use crate::error::{Error, Result};

/// Starts the async runtime `builder` describes; failing to is oa-hook's own fault (exit 4).
pub(crate) fn start_runtime(
    builder: &mut tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}
