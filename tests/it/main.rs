//! One integration-test binary: the real `oa-hook` executable against real loopback sockets.
#![allow(clippy::unwrap_used)]

mod broken;
mod check;
mod config;
mod family;
mod help;
mod hostile;
mod input;
mod load;
mod sample;
mod send;
mod serve;
mod sign;
mod support;
mod tls;
