//! The alert outbox: `alerts` (what was decided) and `alert_deliveries` (one row per channel:
//! pending → sent | failed, attempts, next attempt, last error).
//!
//! A sender *claims* a due delivery by moving its `next_attempt_at` past the claim period and
//! counting the attempt, in one statement with `FOR UPDATE SKIP LOCKED`, so two senders never
//! hold the same row; a sender that dies leaves its claim to expire and the row is sent again.
//! The attempt count it claimed with is its fencing token: recording an outcome only touches the
//! row while its count is still the claimed one, so a sender whose claim expired and was taken
//! over cannot overwrite the newer attempt.

use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::error::PgError;
use super::pool::{checkout, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use crate::domain::alert::{json_to_number, number_to_json, Alert, TopBuyer};
use crate::domain::windows::WindowClass;

/// Most characters of a response kept in `last_error`.
pub const LAST_ERROR_MAX_CHARS: usize = 500;

const INSERT_ALERT_SQL: &str = "\
INSERT INTO alerts (mint, token_name, token_symbol, trigger_name, trigger_reason, metrics, \
top_buyers, cluster_summary, price_sol, mcap_sol, token_supply, venue, token_image, created_at, \
dedup_key, window_class, cto, sol_usd, wallet_intel, enrichment_degraded) \
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11::numeric, $12, $13, \
to_timestamp($14::double precision / 1000.0), $15, $16, $17::jsonb, $18, $19::jsonb, $20) \
ON CONFLICT (dedup_key) DO NOTHING RETURNING id";

/// Stores `alert` under `dedup_key` with one pending delivery per channel, in one transaction.
/// Returns the new row's id, or None when `dedup_key` was already stored (a decision replayed
/// after a crash: nothing is inserted, nothing will be sent twice). With no channels the row is
/// still the record of the alert.
pub async fn insert_alert(
    pool: &PgPool,
    alert: &Alert,
    dedup_key: &str,
    channels: &[&str],
) -> Result<Option<i64>, PgError> {
    let top_buyers = serde_json::to_string(&alert.top_buyers)
        .map_err(|e| PgError::InvalidArgument(format!("top buyers as JSON: {e}")))?;
    let metrics = alert.metrics_json().to_string();
    let cto = cto_json(alert).map(|v| v.to_string());
    let wallet_intel = alert
        .wallet_intel
        .as_ref()
        .and_then(|w| serde_json::to_string(w).ok());
    let degraded = !alert.missing_inputs().is_empty();
    let supply = alert
        .token_supply
        .as_deref()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    let channels: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());

    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "alert insert",
        STATEMENT_TIMEOUT,
        conn.transaction(async |conn| {
            let inserted: Vec<IdRow> = diesel::sql_query(INSERT_ALERT_SQL)
                .bind::<Text, _>(&alert.mint)
                .bind::<Nullable<Text>, _>(alert.token_name.as_deref())
                .bind::<Nullable<Text>, _>(alert.token_symbol.as_deref())
                .bind::<Text, _>(&alert.trigger_name)
                .bind::<Text, _>(&alert.trigger_reason)
                .bind::<Text, _>(&metrics)
                .bind::<Text, _>(&top_buyers)
                .bind::<Nullable<Text>, _>(alert.cluster_summary.as_deref())
                .bind::<Nullable<Double>, _>(finite(alert.price_sol))
                .bind::<Nullable<Double>, _>(finite(alert.mcap_sol))
                .bind::<Nullable<Text>, _>(supply.as_deref())
                .bind::<Nullable<Text>, _>(alert.venue.as_deref())
                .bind::<Nullable<Text>, _>(alert.token_image.as_deref())
                .bind::<Double, _>(alert.created_at_ms as f64)
                .bind::<Text, _>(dedup_key)
                .bind::<Text, _>(alert.window.suffix())
                .bind::<Nullable<Text>, _>(cto.as_deref())
                .bind::<Nullable<Double>, _>(finite(alert.sol_usd))
                .bind::<Nullable<Text>, _>(wallet_intel.as_deref())
                .bind::<diesel::sql_types::Bool, _>(degraded)
                .load(conn)
                .await?;
            let Some(id) = inserted.into_iter().next().map(|r| r.id) else {
                return Ok::<_, PgError>(None);
            };
            if !channels.is_empty() {
                diesel::sql_query(
                    "INSERT INTO alert_deliveries (alert_id, channel) \
                     SELECT $1, c FROM unnest($2::text[]) AS c",
                )
                .bind::<BigInt, _>(id)
                .bind::<Array<Text>, _>(&channels)
                .execute(conn)
                .await?;
            }
            Ok(Some(id))
        }),
    )
    .await;
    settle(conn, result)
}

/// Records on the stored alert what a funding trace that outlived the alert's latency budget
/// found: wallet intel, CTO score and cluster line (messages already sent stay as they were).
/// Returns false when no alert has `dedup_key`.
pub async fn update_enrichment(
    pool: &PgPool,
    dedup_key: &str,
    alert: &Alert,
) -> Result<bool, PgError> {
    let cto = cto_json(alert).map(|v| v.to_string());
    let wallet_intel = alert
        .wallet_intel
        .as_ref()
        .and_then(|w| serde_json::to_string(w).ok());
    let degraded = !alert.missing_inputs().is_empty();
    let mut conn = checkout(pool).await?;
    let statement = diesel::sql_query(
        "UPDATE alerts SET wallet_intel = $1::jsonb, cto = $2::jsonb, cluster_summary = $3, \
         enrichment_degraded = $4 WHERE dedup_key = $5",
    )
    .bind::<Nullable<Text>, _>(wallet_intel.as_deref())
    .bind::<Nullable<Text>, _>(cto.as_deref())
    .bind::<Nullable<Text>, _>(alert.cluster_summary.as_deref())
    .bind::<diesel::sql_types::Bool, _>(degraded)
    .bind::<Text, _>(dedup_key)
    .execute(&mut conn);
    let result = with_timeout("alert enrichment update", STATEMENT_TIMEOUT, statement).await;
    let updated = settle(conn, result)?;
    Ok(updated == 1)
}

fn cto_json(alert: &Alert) -> Option<serde_json::Value> {
    let score = alert.cto_score?;
    let components: Vec<serde_json::Value> = alert
        .cto_components
        .iter()
        .map(|(n, v)| serde_json::json!([n, number_to_json(*v)]))
        .collect();
    Some(serde_json::json!({
        "score": number_to_json(score),
        "evidence": alert.cto_evidence,
        "components": components,
    }))
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// A delivery a sender now holds: the alert to send, the channel, and the attempt number it
/// claimed with (1 for the first try; the fencing token of every later update).
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub alert: Alert,
    pub channel: String,
    pub attempts: i32,
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    mint: String,
    #[diesel(sql_type = Nullable<Text>)]
    token_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    token_symbol: Option<String>,
    #[diesel(sql_type = Text)]
    trigger_name: String,
    #[diesel(sql_type = Text)]
    trigger_reason: String,
    #[diesel(sql_type = Text)]
    window_class: String,
    #[diesel(sql_type = Text)]
    metrics: String,
    #[diesel(sql_type = Text)]
    top_buyers: String,
    #[diesel(sql_type = Nullable<Text>)]
    cto: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    cluster_summary: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    price_sol: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    mcap_sol: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    token_supply: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    sol_usd: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    venue: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    token_image: Option<String>,
    #[diesel(sql_type = BigInt)]
    created_at_ms: i64,
    /// The trigger's alerts scored at 1 h in the 30 days before this one, and those that doubled.
    #[diesel(sql_type = BigInt)]
    scored_1h: i64,
    #[diesel(sql_type = BigInt)]
    doubled_1h: i64,
    #[diesel(sql_type = Nullable<Text>)]
    wallet_intel: Option<String>,
}

const CLAIM_SQL: &str = "\
WITH due AS ( \
    SELECT alert_id, channel FROM alert_deliveries \
    WHERE status = 'pending' AND next_attempt_at <= now() AND channel = ANY($1::text[]) \
    ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED \
), claimed AS ( \
    UPDATE alert_deliveries d \
    SET next_attempt_at = now() + make_interval(secs => $3), attempts = d.attempts + 1 \
    FROM due WHERE d.alert_id = due.alert_id AND d.channel = due.channel \
    RETURNING d.alert_id, d.channel, d.attempts, d.next_attempt_at \
) \
SELECT a.id, c.channel, c.attempts, a.mint, a.token_name, a.token_symbol, a.trigger_name, \
    a.trigger_reason, a.window_class, a.metrics::text AS metrics, \
    a.top_buyers::text AS top_buyers, a.cto::text AS cto, a.cluster_summary, a.price_sol, \
    a.mcap_sol, a.token_supply::text AS token_supply, a.sol_usd, a.venue, a.token_image, \
    (extract(epoch FROM a.created_at) * 1000)::bigint AS created_at_ms, \
    a.wallet_intel::text AS wallet_intel, \
    tr.scored_1h, tr.doubled_1h \
FROM claimed c JOIN alerts a ON a.id = c.alert_id \
LEFT JOIN LATERAL ( \
    SELECT count(o.max_runup_1h) AS scored_1h, \
        count(*) FILTER (WHERE o.max_runup_1h >= 1) AS doubled_1h \
    FROM alert_outcomes o \
    WHERE o.trigger_name = a.trigger_name AND o.alert_id <> a.id \
      AND o.alert_time >= coalesce(a.chain_time, extract(epoch FROM a.created_at)::bigint) - 2592000 \
      AND o.alert_time < coalesce(a.chain_time, extract(epoch FROM a.created_at)::bigint) \
) tr ON true \
ORDER BY c.next_attempt_at, a.id";

/// Claims up to `limit` due pending deliveries of `channels` for `claim` (after which another
/// sender may take them, as from a sender that died), counting one attempt on each, and returns
/// them with their alerts, oldest due first.
pub async fn claim_due(
    pool: &PgPool,
    channels: &[&str],
    limit: i64,
    claim: Duration,
) -> Result<Vec<ClaimedDelivery>, PgError> {
    let channels: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "delivery claim",
        STATEMENT_TIMEOUT,
        diesel::sql_query(CLAIM_SQL)
            .bind::<Array<Text>, _>(&channels)
            .bind::<BigInt, _>(limit)
            .bind::<Double, _>(claim.as_secs_f64())
            .load(&mut conn),
    )
    .await;
    let rows: Vec<ClaimRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(ClaimRow::into_claimed).collect())
}

impl ClaimRow {
    fn into_claimed(self) -> ClaimedDelivery {
        let metrics = serde_json::from_str(&self.metrics)
            .map(|v| Alert::metrics_from_json(&v))
            .unwrap_or_default();
        let top_buyers: Vec<TopBuyer> = serde_json::from_str(&self.top_buyers).unwrap_or_default();
        let cto: Option<serde_json::Value> = self
            .cto
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok());
        let cto_score = cto
            .as_ref()
            .and_then(|c| c.get("score"))
            .and_then(json_to_number);
        let cto_evidence = cto
            .as_ref()
            .and_then(|c| c.get("evidence"))
            .and_then(|e| serde_json::from_value::<Vec<String>>(e.clone()).ok())
            .unwrap_or_default();
        let cto_components = cto
            .as_ref()
            .and_then(|c| c.get("components"))
            .and_then(|c| c.as_array())
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|p| {
                        let name = p.get(0)?.as_str()?.to_string();
                        Some((name, json_to_number(p.get(1)?)?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let window = if self.window_class == "1h" {
            WindowClass::OneHour
        } else {
            WindowClass::FiveMinutes
        };
        ClaimedDelivery {
            alert: Alert {
                id: Some(self.id),
                mint: self.mint,
                token_name: self.token_name,
                token_symbol: self.token_symbol,
                trigger_name: self.trigger_name,
                trigger_reason: self.trigger_reason,
                window,
                metrics,
                top_buyers,
                cto_score,
                cto_evidence,
                cto_components,
                cluster_summary: self.cluster_summary,
                price_sol: self.price_sol,
                mcap_sol: self.mcap_sol,
                token_supply: self.token_supply,
                sol_usd: self.sol_usd,
                venue: self.venue,
                token_image: self.token_image,
                created_at_ms: self.created_at_ms,
                test: false,
                track_record: crate::domain::outcome::HitRate {
                    hits: self.doubled_1h.max(0) as u64,
                    scored: self.scored_1h.max(0) as u64,
                }
                .line(),
                wallet_intel: self
                    .wallet_intel
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok()),
            },
            channel: self.channel,
            attempts: self.attempts,
        }
    }
}

/// How a claimed attempt ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryUpdate {
    Sent,
    /// Try again after `after`; `error` says why (never a URL or token).
    Retry {
        after: Duration,
        error: String,
    },
    /// Give up; `error` holds the status and response.
    Failed {
        error: String,
    },
}

/// Records the outcome of the attempt `claimed` made. Returns false when the row was no longer
/// held by that attempt (its claim expired and another sender took it over, or it was already
/// finished): nothing is changed then.
pub async fn record_delivery(
    pool: &PgPool,
    claimed: &ClaimedDelivery,
    update: &DeliveryUpdate,
) -> Result<bool, PgError> {
    let alert_id = claimed.alert.id.ok_or_else(|| {
        PgError::InvalidArgument("a claimed delivery always has an alert id".into())
    })?;
    const HELD: &str =
        "WHERE alert_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'";
    let query = |sql: String| {
        diesel::sql_query(sql)
            .bind::<BigInt, _>(alert_id)
            .bind::<Text, _>(claimed.channel.clone())
            .bind::<Integer, _>(claimed.attempts)
    };
    let mut conn = checkout(pool).await?;
    let statement = async {
        match update {
            DeliveryUpdate::Sent => {
                query(format!(
                    "UPDATE alert_deliveries SET status = 'sent', sent_at = now(), \
                     last_error = NULL {HELD}"
                ))
                .execute(&mut conn)
                .await
            }
            DeliveryUpdate::Retry { after, error } => {
                query(format!(
                    "UPDATE alert_deliveries SET last_error = $4, \
                     next_attempt_at = now() + make_interval(secs => $5) {HELD}"
                ))
                .bind::<Text, _>(truncate(error, LAST_ERROR_MAX_CHARS))
                .bind::<Double, _>(after.as_secs_f64())
                .execute(&mut conn)
                .await
            }
            DeliveryUpdate::Failed { error } => {
                query(format!(
                    "UPDATE alert_deliveries SET status = 'failed', last_error = $4 {HELD}"
                ))
                .bind::<Text, _>(truncate(error, LAST_ERROR_MAX_CHARS))
                .execute(&mut conn)
                .await
            }
        }
    };
    let result = with_timeout("delivery update", STATEMENT_TIMEOUT, statement).await;
    let updated = settle(conn, result)?;
    Ok(updated == 1)
}

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = BigInt)]
    pending: i64,
}

/// Pending deliveries per channel (channels with none are absent).
pub async fn pending_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "pending deliveries",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT channel, count(*) AS pending FROM alert_deliveries \
             WHERE status = 'pending' GROUP BY channel ORDER BY channel",
        )
        .load(&mut conn),
    )
    .await;
    let rows: Vec<PendingRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(|r| (r.channel, r.pending)).collect())
}

/// One delivery row as stored (for `status` and tests).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = BigInt)]
    pub alert_id: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    /// Unix milliseconds.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sent_at_ms: Option<i64>,
}

/// The deliveries of `alert_id`, by channel.
pub async fn deliveries(pool: &PgPool, alert_id: i64) -> Result<Vec<DeliveryRow>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "deliveries",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT alert_id, channel, status, attempts, last_error, \
             (extract(epoch FROM sent_at) * 1000)::bigint AS sent_at_ms \
             FROM alert_deliveries WHERE alert_id = $1 ORDER BY channel",
        )
        .bind::<BigInt, _>(alert_id)
        .load(&mut conn),
    )
    .await;
    let rows = settle(conn, result)?;
    Ok(rows)
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

#[derive(QueryableByName)]
struct AgeRow {
    #[diesel(sql_type = BigInt)]
    created_at_ms: i64,
}

/// When the first `limit` due pending deliveries of `channel` were decided (Unix ms), in the
/// order a sender claims them: what the freshness bound looks at.
pub async fn waiting_created_at(
    pool: &PgPool,
    channel: &str,
    limit: i64,
) -> Result<Vec<i64>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "waiting deliveries",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT (extract(epoch FROM a.created_at) * 1000)::bigint AS created_at_ms \
             FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND d.channel = $1 \
             ORDER BY d.next_attempt_at, d.alert_id LIMIT $2",
        )
        .bind::<Text, _>(channel)
        .bind::<BigInt, _>(limit)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<AgeRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(|r| r.created_at_ms).collect())
}

/// Records that a digest covering `members` (claimed deliveries of `channel`) was sent: one
/// `alert_digests` row, and each member still held by its claim becomes 'coalesced' into it, in
/// one transaction. Returns the digest's id and how many deliveries it covered (a member whose
/// claim was taken over meanwhile is left to its new holder).
pub async fn record_digest(
    pool: &PgPool,
    channel: &str,
    members: &[ClaimedDelivery],
) -> Result<(i64, usize), PgError> {
    let ids: Vec<i64> = members.iter().filter_map(|m| m.alert.id).collect();
    let attempts: Vec<i32> = members.iter().map(|m| m.attempts).collect();
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "digest record",
        STATEMENT_TIMEOUT,
        conn.transaction(async |conn| {
            let digest: Vec<IdRow> = diesel::sql_query(
                "INSERT INTO alert_digests (channel, alert_count) VALUES ($1, 0) RETURNING id",
            )
            .bind::<Text, _>(channel)
            .load(conn)
            .await?;
            let id =
                digest.into_iter().next().map(|r| r.id).ok_or_else(|| {
                    PgError::InvalidArgument("digest insert returned no id".into())
                })?;
            let covered = diesel::sql_query(
                "UPDATE alert_deliveries d SET status = 'coalesced', digest_id = $1, \
                 sent_at = now(), last_error = NULL \
                 FROM unnest($2::bigint[], $3::integer[]) AS m(alert_id, attempts) \
                 WHERE d.alert_id = m.alert_id AND d.attempts = m.attempts \
                 AND d.channel = $4 AND d.status = 'pending'",
            )
            .bind::<BigInt, _>(id)
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<Integer>, _>(&attempts)
            .bind::<Text, _>(channel)
            .execute(conn)
            .await?;
            diesel::sql_query("UPDATE alert_digests SET alert_count = $2 WHERE id = $1")
                .bind::<BigInt, _>(id)
                .bind::<Integer, _>(i32::try_from(covered).unwrap_or(i32::MAX))
                .execute(conn)
                .await?;
            Ok::<_, PgError>((id, covered))
        }),
    )
    .await;
    settle(conn, result)
}

/// Deliveries per (channel, status): what `status` shows as delivered / coalesced / waiting /
/// failed.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct DeliveryCount {
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

pub const DELIVERY_COUNTS_SQL: &str = "SELECT channel, status, count(*) AS count \
    FROM alert_deliveries GROUP BY channel, status ORDER BY channel, status";

pub async fn delivery_counts(pool: &PgPool) -> Result<Vec<DeliveryCount>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "delivery counts",
        STATEMENT_TIMEOUT,
        diesel::sql_query(DELIVERY_COUNTS_SQL).load(&mut conn),
    )
    .await;
    settle(conn, result)
}
