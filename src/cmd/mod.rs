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
