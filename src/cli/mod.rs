//! Commands other than the daemon itself.

pub mod parse;
