//! Pocketwatcher watches Solana DEX trading and alerts when a token is being accumulated by a small
//! coordinated group or in stealth.
//!
//! Layout — each module has one job:
//! - [`domain`]: pure logic (transactions, balance deltas, swap inference, wire format). No I/O.
//! - [`detect`]: sliding windows → triggers → alert decisions (one leader, via a Redis lease).
//! - [`error_chain`]: one line from an error and its sources.
//! - [`fake_geyser`]: a real Yellowstone gRPC server streaming deterministic fixture traffic (tests, demos).
//! - [`geyser_source`]: the Yellowstone client: subscribe, decode, reconnect forever from a checkpoint.
//! - [`backtest`]: replays stored swaps through the detector's windows, triggers and cooldowns in
//!   memory.
//! - [`outcomes`]: the detect role's filler of alert outcomes (what each alert's token did next).
//! - [`alerting`]: the alert outbox's sender: message formats, Discord/Telegram delivery, retries.
//! - [`actors`]: the actix actors and all their wiring (ingest, parser pool, counter writer, swap
//!   store, acker, reclaimer, supervisor).
//! - [`ingest`]: Yellowstone feed events → batched XADDs with block times, checkpoint, backpressure.
//! - [`health`]: readiness checks, refreshed in the background; [`http`]: `/metrics`, `/healthz`,
//!   `/readyz`.
//! - [`cli`]: the commands (`run`, `migrate`, `replay`, `parse`, `status`, `bench`).
//! - [`config`]: the typed, validated configuration.
//! - [`logging`]: tracing setup (human or JSON).
//! - [`metrics`]: the metric catalogue.
//! - [`pipeline`]: what each stage does to a batch, as plain functions.
//! - [`secret`]: the redacting wrapper every credential travels in.
//! - [`store`]: Redis and PostgreSQL access (no actors).
//! - [`telemetry`]: the metrics recorder, process metrics, and the `pocketwatcher:live_stats` key.

pub mod actors;
pub mod alerting;
pub mod backtest;
pub mod cli;
pub mod config;
pub mod detect;
pub mod domain;
pub mod error_chain;
pub mod fake_geyser;
pub mod geyser_source;
pub mod health;
pub mod http;
pub mod ingest;
pub mod logging;
pub mod metrics;
pub mod outcomes;
pub mod pipeline;
pub mod recording;
pub mod secret;
pub mod store;
pub mod telemetry;
