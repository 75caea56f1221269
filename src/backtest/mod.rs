//! Backtests: which alerts a trigger set would have raised on stored swaps, computed in memory
//! with the live detector's window, trigger and alert-policy code (no Redis).
//!
//! - [`windows`]: the counters and window reads of Redis, in memory and exact.
//! - [`engine`]: evaluation points, matching, cooldowns and the market-cap filter.

pub mod engine;
pub mod postgres;
pub mod recording;
pub mod windows;
