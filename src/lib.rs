//! Pocketwatcher watches Solana DEX trading and alerts when a token is being accumulated by a small
//! coordinated group or in stealth.
//!
//! Layout — each module has one job:
//! - [`domain`]: pure logic (transactions, balance deltas, swap inference, wire format). No I/O.
//! - [`cli`]: the command-line commands that are not the daemon (`parse`).
//! - [`config`]: the typed, validated configuration.
//! - [`metrics`]: the metric catalogue.
//! - [`pipeline`]: what each stage does to a batch, as plain functions.
//! - [`secret`]: the redacting wrapper every credential travels in.
//! - [`store`]: Redis and PostgreSQL access (no actors).

pub mod cli;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod pipeline;
pub mod secret;
pub mod store;
