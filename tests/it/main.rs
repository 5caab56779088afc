//! One integration-test binary: the real `oa-hook` executable against real loopback sockets.
// The helpers are `pub` for the modules of this one binary; nothing here is a library.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod broken;
mod check;
mod config;
mod delivery;
mod family;
mod fault;
mod figures;
mod fuzz;
mod gate;
mod help;
mod hostile;
mod input;
mod load;
mod replay;
mod sample;
mod send;
mod serve;
mod sign;
mod support;
mod tap;
mod tls;
mod traffic;
