//! One thin file per subcommand.

pub mod check;
pub mod completions;
pub mod init;
pub mod load;
pub mod replay;
pub mod sample;
pub mod send;
pub mod serve;
pub mod sign;
pub mod verify;
