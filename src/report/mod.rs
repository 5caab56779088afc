//! Renderers: one file per output format or subject.

pub mod request;
