//! One integration-test binary: the real `oa-hook` executable against real loopback sockets.
// The helpers are `pub` for the modules of this one binary; nothing here is a library.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod broken;
mod browser;
mod check;
mod config;
mod delivery;
mod export;
mod family;
mod fault;
mod figures;
mod files;
mod fuzz;
mod gate;
mod help;
mod hostile;
mod input;
mod inspect;
mod load;
mod man;
mod replay;
mod sample;
mod send;
mod serve;
mod sign;
mod summary;
mod support;
mod tap;
mod tls;
mod traffic;
mod webdriver;
