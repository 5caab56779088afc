//! One thin file per subcommand.

pub mod check;
pub mod completions;
pub mod init;
pub mod sample;
pub mod send;
pub mod serve;
pub mod sign;
pub mod verify;
