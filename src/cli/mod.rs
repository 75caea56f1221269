//! Command implementations (the daemon's own logic lives in `actors`).

pub mod alert_test;
pub mod backtest;
pub mod bench;
pub mod bench_cost;
pub mod outcomes;
pub mod parse;
pub mod progress;
pub mod record;
pub mod replay;
pub mod run;
pub mod status;
pub mod when;
