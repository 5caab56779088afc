//! Renderers: one file per output format or subject.

pub mod check;
pub mod request;
