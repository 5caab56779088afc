//! One integration-test binary: the real `oa-hook` executable against real loopback sockets.
#![allow(clippy::unwrap_used)]

mod broken;
mod check;
mod config;
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
