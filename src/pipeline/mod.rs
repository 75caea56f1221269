//! Actor-free pipeline logic: what happens to a batch at each stage, as plain functions the actors
//! call (and tests call directly).
//!
//! - [`parse`]: stream entries → per-entry outcomes (swaps, filtered, dead letter), panics caught.
//! - [`prepare`]: outcomes → counter deltas, duplicate markers and rows, for one commit.

pub mod parse;
pub mod prepare;
