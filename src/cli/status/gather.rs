//! What `status` reads: Redis (stream, group, consumers, pending, checkpoint, HOT set, live
//! stats) and PostgreSQL (the last alerts with their delivery status per channel). Reads only.

use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use redis::aio::MultiplexedConnection;
use serde::Serialize;

use crate::actors::context::now_ms;
use crate::health::checks::redis_reason;
use crate::store::postgres::alerts::{DeliveryCount, DELIVERY_COUNTS_SQL};
use crate::store::redis::keys;
use crate::store::redis::stream::{
    consumers, group_info, oldest_unacknowledged, pending_summary, stream_info,
};
use crate::telemetry::live_stats::HOT_MINTS;

/// Most HOT tokens and alerts listed.
pub const MAX_HOT: usize = 100;
pub const MAX_ALERTS: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Unix seconds.
    pub taken_at: f64,
    /// Redacted URLs of what was read.
    pub redis: String,
    pub postgres: Option<String>,
    pub stream: StreamStatus,
    pub group: GroupStatus,
    pub pending: PendingStatus,
    pub consumers: Vec<ConsumerStatus>,
    pub processing: Processing,
    pub ingest: IngestStatus,
    pub hot_tokens_total: u64,
    pub hot_tokens: Vec<HotToken>,
    pub alerts: Vec<AlertStatus>,
    /// Per channel: how many alerts were delivered alone, coalesced into digests, are waiting,
    /// or failed for good (every alert stays in PostgreSQL; this is where nothing is hidden).
    pub channels: Vec<ChannelDeliveries>,
    /// The merged `pocketwatcher:live_stats` object, if any process keeps it.
    pub live_stats: Option<serde_json::Value>,
    /// What could not be read (short, secret-free).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamStatus {
    pub name: &'static str,
    pub length: u64,
    pub dead_letters: u64,
    pub entries_added: u64,
    /// Since the last XADD (from the newest id's time).
    pub last_entry_age_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupStatus {
    pub name: &'static str,
    pub consumers: u64,
    /// Entries not yet delivered to any consumer.
    pub lag: u64,
    /// Delivered, not acknowledged.
    pub pending: u64,
    pub entries_read: u64,
    pub acknowledged: u64,
    pub last_delivered_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PendingStatus {
    pub total: u64,
    pub oldest_id: Option<String>,
    pub newest_id: Option<String>,
    pub oldest_age_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsumerStatus {
    pub name: String,
    pub pending: u64,
    pub idle_seconds: f64,
    pub inactive_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Processing {
    /// Acknowledged entries per second over the last 60 s (live stats), or between two samples.
    pub tx_per_second: Option<f64>,
    /// `live_stats` or `sampled`.
    pub rate_source: Option<&'static str>,
    /// Age of the oldest entry the group has not acknowledged (0: caught up).
    pub lag_seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestStatus {
    pub checkpoint_slot: Option<u64>,
    /// From the ingest process's live stats, when one runs.
    pub chain_tip_slot: Option<u64>,
    pub ingested_slot: Option<u64>,
    pub slot_lag: Option<u64>,
    pub tx_per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotToken {
    pub mint: String,
    pub hot_until_ms: u64,
    pub expires_in_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertStatus {
    pub id: i64,
    /// Unix seconds.
    pub created_at: f64,
    pub mint: String,
    pub symbol: Option<String>,
    pub trigger: String,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Delivery {
    pub channel: String,
    pub status: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChannelDeliveries {
    pub channel: String,
    /// Sent as their own message.
    pub delivered: i64,
    /// Covered by a digest message (`alerts.max_delivery_delay_secs`).
    pub coalesced: i64,
    /// Still in the outbox (first try or retry backoff).
    pub waiting: i64,
    /// Given up after the last retry, or refused by the service.
    pub failed: i64,
    /// Digest messages sent.
    pub digests: i64,
    /// Age of the oldest waiting alert (from its creation), if any waits.
    pub oldest_waiting_seconds: Option<f64>,
}

/// Folds the store's (channel, status, count) rows into one row per channel, sorted by channel.
/// A status not known here (a newer schema) is ignored rather than miscounted.
pub fn fold_delivery_counts(rows: &[DeliveryCount]) -> Vec<ChannelDeliveries> {
    let mut out: Vec<ChannelDeliveries> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|c| c.channel == r.channel) {
            Some(i) => i,
            None => {
                out.push(ChannelDeliveries {
                    channel: r.channel.clone(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        match r.status.as_str() {
            "sent" => c.delivered += r.count,
            "coalesced" => c.coalesced += r.count,
            "pending" => c.waiting += r.count,
            "failed" => c.failed += r.count,
            _ => {}
        }
    }
    out.sort_by(|a, b| a.channel.cmp(&b.channel));
    out
}

/// Where to read, and how the URLs may be shown.
pub struct Sources<'a> {
    pub redis: &'a mut MultiplexedConnection,
    pub redis_shown: String,
    pub postgres: Option<&'a mut AsyncPgConnection>,
    pub postgres_shown: Option<String>,
    /// Why PostgreSQL is not there, if it is not.
    pub postgres_problem: Option<String>,
}

fn seconds_since_ms(ms: u64) -> f64 {
    now_ms().saturating_sub(ms) as f64 / 1000.0
}

/// Reads everything once. Redis errors fail the call (there is nothing to show without Redis);
/// PostgreSQL errors become `problems`. `previous` (an earlier status) gives a sampled rate when
/// no process publishes live stats.
pub async fn gather(src: Sources<'_>, previous: Option<&Status>) -> Result<Status, String> {
    let conn = src.redis;
    let fail = |what: &str, e: redis::RedisError| format!("redis {what}: {}", redis_reason(&e));
    let stream = stream_info(conn, keys::STREAM)
        .await
        .map_err(|e| fail("XINFO STREAM", e))?;
    let dead = stream_info(conn, keys::DEAD_STREAM)
        .await
        .map_err(|e| fail("XINFO STREAM", e))?;
    let group = group_info(conn)
        .await
        .map_err(|e| fail("XINFO GROUPS", e))?;
    let summary = pending_summary(conn)
        .await
        .map_err(|e| fail("XPENDING", e))?;
    let members = consumers(conn)
        .await
        .map_err(|e| fail("XINFO CONSUMERS", e))?;
    let oldest = oldest_unacknowledged(conn)
        .await
        .map_err(|e| fail("XRANGE", e))?;
    let checkpoint: Option<u64> = redis::cmd("GET")
        .arg(keys::INGEST_CHECKPOINT)
        .query_async(conn)
        .await
        .map_err(|e| fail("GET", e))?;
    let live: Option<String> = redis::cmd("GET")
        .arg(keys::LIVE_STATS)
        .query_async(conn)
        .await
        .map_err(|e| fail("GET", e))?;
    let now = now_ms();
    let hot: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
        .arg(HOT_MINTS)
        .arg(format!("({now}"))
        .arg("+inf")
        .arg("WITHSCORES")
        .arg("LIMIT")
        .arg(0)
        .arg(MAX_HOT)
        .query_async(conn)
        .await
        .map_err(|e| fail("ZRANGEBYSCORE", e))?;
    let hot_total: u64 = redis::cmd("ZCOUNT")
        .arg(HOT_MINTS)
        .arg(format!("({now}"))
        .arg("+inf")
        .query_async(conn)
        .await
        .map_err(|e| fail("ZCOUNT", e))?;

    let live_stats: Option<serde_json::Value> =
        live.and_then(|text| serde_json::from_str(&text).ok());
    let live_field = |name: &str| live_stats.as_ref().and_then(|v| v.get(name)?.as_f64());
    let mut problems = Vec::new();
    let taken_at = now as f64 / 1000.0;
    let acknowledged = group.acknowledged();

    let (tx_per_second, rate_source) = match (live_field("tx_per_second"), previous) {
        (Some(rate), _) => (Some(rate), Some("live_stats")),
        (None, Some(p)) if taken_at > p.taken_at => (
            Some(
                acknowledged.saturating_sub(p.group.acknowledged) as f64 / (taken_at - p.taken_at),
            ),
            Some("sampled"),
        ),
        _ => (None, None),
    };
    let ingest_running = live_field("transactions_ingested").is_some();
    let slot = |name: &str| {
        live_field(name)
            .filter(|v| ingest_running && *v > 0.0)
            .map(|v| v as u64)
    };

    let (alerts, channels) = match src.postgres {
        Some(pg) => match last_alerts(pg).await {
            Ok(alerts) => match channel_deliveries(pg).await {
                Ok(channels) => (alerts, channels),
                Err(e) => {
                    problems.push(format!("postgres: {e}"));
                    (alerts, Vec::new())
                }
            },
            Err(e) => {
                problems.push(format!("postgres: {e}"));
                (Vec::new(), Vec::new())
            }
        },
        None => {
            if let Some(p) = src.postgres_problem {
                problems.push(format!("postgres: {p}"));
            }
            (Vec::new(), Vec::new())
        }
    };

    Ok(Status {
        taken_at,
        redis: src.redis_shown,
        postgres: src.postgres_shown,
        stream: StreamStatus {
            name: keys::STREAM,
            length: stream.length,
            dead_letters: dead.length,
            entries_added: stream.entries_added,
            last_entry_age_seconds: stream.last_generated.map(|id| seconds_since_ms(id.ms)),
        },
        group: GroupStatus {
            name: keys::GROUP,
            consumers: group.consumers,
            lag: group.lag,
            pending: group.pending,
            entries_read: group.entries_read,
            acknowledged,
            last_delivered_id: group
                .last_delivered
                .filter(|id| id.ms > 0 || id.seq > 0)
                .map(|id| id.to_string()),
        },
        pending: PendingStatus {
            total: summary.total,
            oldest_id: summary.oldest.map(|id| id.to_string()),
            newest_id: summary.newest.map(|id| id.to_string()),
            oldest_age_seconds: summary.oldest.map(|id| seconds_since_ms(id.ms)),
        },
        consumers: members
            .into_iter()
            .map(|c| ConsumerStatus {
                name: c.name,
                pending: c.pending,
                idle_seconds: c.idle_ms as f64 / 1000.0,
                inactive_seconds: c.inactive_ms.map(|ms| ms as f64 / 1000.0),
            })
            .collect(),
        processing: Processing {
            tx_per_second,
            rate_source,
            lag_seconds: oldest.map_or(0.0, |id| seconds_since_ms(id.ms)),
        },
        ingest: IngestStatus {
            checkpoint_slot: checkpoint,
            chain_tip_slot: slot("chain_tip_slot"),
            ingested_slot: slot("ingested_slot"),
            slot_lag: live_field("ingest_slot_lag")
                .filter(|_| ingest_running)
                .map(|v| v as u64),
            tx_per_second: live_field("ingest_tx_per_second").filter(|_| ingest_running),
        },
        hot_tokens_total: hot_total,
        hot_tokens: hot
            .into_iter()
            .map(|(mint, until)| HotToken {
                mint,
                hot_until_ms: until as u64,
                expires_in_seconds: (until - now as f64).max(0.0) / 1000.0,
            })
            .collect(),
        alerts,
        channels,
        live_stats,
        problems,
    })
}

#[derive(QueryableByName)]
struct AlertRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Double)]
    created_at: f64,
    #[diesel(sql_type = Text)]
    mint: String,
    #[diesel(sql_type = Nullable<Text>)]
    token_symbol: Option<String>,
    #[diesel(sql_type = Text)]
    trigger_name: String,
    #[diesel(sql_type = Text)]
    deliveries: String,
}

/// The newest alerts with each channel's delivery status (never `last_error`: it is free text).
const LAST_ALERTS: &str = "\
SELECT a.id, extract(epoch FROM a.created_at)::float8 AS created_at, a.mint, a.token_symbol, \
a.trigger_name, coalesce((SELECT json_agg(json_build_object('channel', d.channel, 'status', \
d.status, 'attempts', d.attempts) ORDER BY d.channel) FROM alert_deliveries d \
WHERE d.alert_id = a.id), '[]')::text AS deliveries \
FROM alerts a ORDER BY a.created_at DESC, a.id DESC LIMIT $1";

async fn last_alerts(pg: &mut AsyncPgConnection) -> Result<Vec<AlertStatus>, String> {
    let rows: Vec<AlertRow> = diesel::sql_query(LAST_ALERTS)
        .bind::<BigInt, _>(MAX_ALERTS)
        .load(pg)
        .await
        .map_err(|e| format!("reading alerts: {e}"))?;
    Ok(rows
        .into_iter()
        .map(|r| AlertStatus {
            id: r.id,
            created_at: r.created_at,
            mint: r.mint,
            symbol: r.token_symbol,
            trigger: r.trigger_name,
            deliveries: serde_json::from_str(&r.deliveries).unwrap_or_default(),
        })
        .collect())
}

#[derive(QueryableByName)]
struct ChannelExtra {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = BigInt)]
    digests: i64,
    #[diesel(sql_type = Nullable<Double>)]
    oldest_waiting_seconds: Option<f64>,
}

/// Per channel: digests sent, and the age of the oldest waiting alert (the freshness to watch).
const CHANNEL_EXTRA: &str = "\
SELECT c.channel, \
(SELECT count(*) FROM alert_digests g WHERE g.channel = c.channel) AS digests, \
(SELECT extract(epoch FROM now() - min(a.created_at))::float8 FROM alert_deliveries d \
 JOIN alerts a ON a.id = d.alert_id WHERE d.channel = c.channel AND d.status = 'pending') \
 AS oldest_waiting_seconds \
FROM (SELECT DISTINCT channel FROM alert_deliveries) c ORDER BY c.channel";

async fn channel_deliveries(pg: &mut AsyncPgConnection) -> Result<Vec<ChannelDeliveries>, String> {
    let counts: Vec<DeliveryCount> = diesel::sql_query(DELIVERY_COUNTS_SQL)
        .load(pg)
        .await
        .map_err(|e| format!("reading delivery counts: {e}"))?;
    let extra: Vec<ChannelExtra> = diesel::sql_query(CHANNEL_EXTRA)
        .load(pg)
        .await
        .map_err(|e| format!("reading delivery counts: {e}"))?;
    let mut channels = fold_delivery_counts(&counts);
    for c in &mut channels {
        if let Some(x) = extra.iter().find(|x| x.channel == c.channel) {
            c.digests = x.digests;
            c.oldest_waiting_seconds = x.oldest_waiting_seconds.map(|s| s.max(0.0));
        }
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(channel: &str, status: &str, count: i64) -> DeliveryCount {
        DeliveryCount {
            channel: channel.into(),
            status: status.into(),
            count,
        }
    }

    #[test]
    fn delivery_counts_fold_into_one_row_per_channel() {
        let rows = [
            row("telegram", "sent", 4),
            row("discord", "coalesced", 7),
            row("discord", "pending", 2),
            row("discord", "sent", 5),
            row("telegram", "failed", 1),
            row("discord", "unknown_future_status", 9),
        ];
        let folded = fold_delivery_counts(&rows);
        assert_eq!(folded.len(), 2);
        assert_eq!(
            folded[0],
            ChannelDeliveries {
                channel: "discord".into(),
                delivered: 5,
                coalesced: 7,
                waiting: 2,
                failed: 0,
                digests: 0,
                oldest_waiting_seconds: None,
            }
        );
        assert_eq!(folded[1].channel, "telegram");
        assert_eq!((folded[1].delivered, folded[1].failed), (4, 1));
    }
}
