//! The engine behind `oa-hook serve`: connections and their limits, and the writers of event
//! lines and of the record.

pub mod listen;
pub mod writers;
