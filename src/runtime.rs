//! The async runtime every command that sends or serves starts, and the one `check` and
//! `replay` send on.

use crate::error::{Error, Result};
use crate::interrupt::Interrupts;

/// Runs `work` to its end on one thread, as `check` and `replay` send one request (or a few)
/// at a time, with the signals that stop it.
pub(crate) fn on_one_thread<T>(work: impl AsyncFnOnce(&Interrupts) -> T) -> Result<T> {
    let runtime = start(&mut tokio::runtime::Builder::new_current_thread())?;
    runtime.block_on(async {
        let interrupts = Interrupts::listen()
            .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
        Ok(work(&interrupts).await)
    })
}

/// Starts the async runtime `builder` describes; failing to is oa-hook's own fault (exit 4).
pub(crate) fn start(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}
