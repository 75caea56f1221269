//! `pocketwatcher:live_stats`: the JSON summary people read with `redis-cli GET` (reference
//! §11.1), kept current by every running process.
//!
//! Each process writes its own part, every [`EVERY`], into the hash
//! `pocketwatcher:live_stats:parts` (field `<role>@<consumer name>`), and the same Lua call merges
//! all fresh parts into `pocketwatcher:live_stats` (EX 30): rates and totals add up over processes,
//! levels (lag, stream length, HOT tokens, uptime) take the largest report, and parts not
//! refreshed for [`STALE`] are dropped. So an `ingest` and two `consume` processes never clobber
//! each other, and a dead process stops counting within half a minute.
//!
//! Fields of a part, by role (`all` writes every one):
//! - every role: `uptime_seconds`, `stream_length`;
//! - consume: `transactions_processed`, `tx_per_second` (over the last 60 s), `swaps_detected`,
//!   `processing_lag_seconds` (age of the oldest entry the group has not acknowledged);
//! - ingest: `transactions_ingested`, `ingest_tx_per_second`, `chain_tip_slot`, `ingested_slot`,
//!   `ingest_slot_lag`;
//! - detect: `hot_tokens_current`, `alerts_sent`.
//!
//! The merged key holds the reference's fields (0 when no process reports them), the extra
//! fields above, `processes` (the parts merged) and `updated_at` (unix seconds, server clock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use redis::RedisError;
use serde_json::{json, Map, Value};
use tracing::{info, warn};

use super::rate::WindowRate;
use super::tap::Tallies;
use crate::actors::context::now_ms;
use crate::actors::Role;
use crate::health::checks::redis_reason;
use crate::store::redis::keys;
use crate::store::redis::stream::{oldest_unacknowledged, stream_info};

/// How often each process refreshes its part.
pub const EVERY: Duration = Duration::from_secs(5);
/// A part older than this is dropped from the merge; also the merged key's TTL.
pub const STALE: Duration = Duration::from_secs(30);
/// Width of the `tx_per_second` window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

const MERGE: &str = include_str!("live_stats.lua");

/// The detector's HOT set (mint → HOT until, unix ms); the detector owns the key.
pub use crate::store::redis::keys::HOT_MINTS;

/// What one process reports.
pub struct LiveStats {
    role: Role,
    name: String,
    tallies: Arc<Tallies>,
    started: Instant,
    processed: WindowRate,
    ingested: WindowRate,
}

impl LiveStats {
    /// `instance` names this process among those of its role (the consumer name).
    pub fn new(role: Role, instance: &str, tallies: Arc<Tallies>) -> Self {
        LiveStats {
            role,
            name: format!("{}@{instance}", super::role_name(role)),
            tallies,
            started: Instant::now(),
            processed: WindowRate::new(RATE_WINDOW),
            ingested: WindowRate::new(RATE_WINDOW),
        }
    }

    /// The hash field of this process's part.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn consumes(&self) -> bool {
        matches!(self.role, Role::All | Role::Consume)
    }

    fn ingests(&self) -> bool {
        matches!(self.role, Role::All | Role::Ingest)
    }

    fn detects(&self) -> bool {
        matches!(self.role, Role::All | Role::Detect)
    }

    /// This process's part now: its own totals and rates, and what Redis says about the stream.
    pub async fn part<C: ConnectionLike>(
        &mut self,
        conn: &mut C,
    ) -> Result<Map<String, Value>, RedisError> {
        let now = Instant::now();
        let mut part = Map::new();
        part.insert(
            "uptime_seconds".into(),
            json!(round3(self.started.elapsed().as_secs_f64())),
        );
        let stream = stream_info(conn, keys::STREAM).await?;
        part.insert("stream_length".into(), json!(stream.length));
        if self.consumes() {
            let processed = Tallies::get(&self.tallies.processed);
            self.processed.observe(now, processed);
            let lag = oldest_unacknowledged(conn)
                .await?
                .map_or(0.0, |id| now_ms().saturating_sub(id.ms) as f64 / 1000.0);
            part.insert("transactions_processed".into(), json!(processed));
            part.insert(
                "tx_per_second".into(),
                json!(round3(self.processed.per_second())),
            );
            part.insert(
                "swaps_detected".into(),
                json!(Tallies::get(&self.tallies.swaps)),
            );
            part.insert("processing_lag_seconds".into(), json!(round3(lag)));
        }
        if self.ingests() {
            let ingested = Tallies::get(&self.tallies.ingested);
            self.ingested.observe(now, ingested);
            let tip = Tallies::get(&self.tallies.chain_tip_slot);
            let written = Tallies::get(&self.tallies.ingested_slot);
            part.insert("transactions_ingested".into(), json!(ingested));
            part.insert(
                "ingest_tx_per_second".into(),
                json!(round3(self.ingested.per_second())),
            );
            part.insert("chain_tip_slot".into(), json!(tip));
            part.insert("ingested_slot".into(), json!(written));
            part.insert(
                "ingest_slot_lag".into(),
                json!(if written > 0 {
                    tip.saturating_sub(written)
                } else {
                    0
                }),
            );
        }
        if self.detects() {
            let hot: u64 = redis::cmd("ZCOUNT")
                .arg(HOT_MINTS)
                .arg(format!("({}", now_ms()))
                .arg("+inf")
                .query_async(conn)
                .await?;
            part.insert("hot_tokens_current".into(), json!(hot));
            part.insert(
                "alerts_sent".into(),
                json!(Tallies::get(&self.tallies.alerts_sent)),
            );
        }
        Ok(part)
    }

    /// Refreshes this process's part and the merged key; returns how many processes it merged.
    pub async fn publish<C: ConnectionLike>(&mut self, conn: &mut C) -> Result<u64, RedisError> {
        let part = self.part(conn).await?;
        merge(conn, &self.name, &part).await
    }

    /// Publishes every [`EVERY`] until the process ends. Redis errors are logged once per
    /// outage; the next round tries again on a new connection.
    pub async fn run_forever(mut self, redis_url: String) {
        let client = match redis::Client::open(redis_url) {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %redis_reason(&e), "live stats disabled: bad Redis URL");
                return;
            }
        };
        let mut conn = None;
        let mut failing = false;
        loop {
            if conn.is_none() {
                conn = client.get_multiplexed_async_connection().await.ok();
            }
            let result = match conn.as_mut() {
                Some(c) => tokio::time::timeout(EVERY, self.publish(c))
                    .await
                    .unwrap_or_else(|_| Err(timed_out())),
                None => Err(RedisError::from(std::io::Error::from(
                    std::io::ErrorKind::NotConnected,
                ))),
            };
            match result {
                Ok(_) if failing => {
                    failing = false;
                    info!("live stats: writing again");
                }
                Ok(_) => {}
                Err(e) => {
                    conn = None;
                    if !failing {
                        failing = true;
                        warn!(error = %redis_reason(&e), "live stats: cannot write pocketwatcher:live_stats");
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    }
}

/// Writes `part` as `name`'s and rebuilds the merged key (one script call).
pub async fn merge<C: ConnectionLike>(
    conn: &mut C,
    name: &str,
    part: &Map<String, Value>,
) -> Result<u64, RedisError> {
    redis::Script::new(MERGE)
        .key(keys::LIVE_STATS_PARTS)
        .key(keys::LIVE_STATS)
        .arg(name)
        .arg(Value::Object(part.clone()).to_string())
        .arg(STALE.as_secs())
        .arg(STALE.as_secs())
        .invoke_async(conn)
        .await
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
