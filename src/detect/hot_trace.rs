//! Tracing new wallets that buy a HOT token (issue 11): while this process holds the lease,
//! every `enrich.hot_trace_interval_secs` the buyers of HOT tokens in the last 5 minutes that are
//! new (first seen within the hour, the `new_wallet_pct_1h` definition) and not yet traced are
//! handed to the funding tracer, at most `hot_trace_wallets_per_min` and within
//! `hot_trace_budget_pct` of the daily RPC budget. The results wait in the `wallet_profiles`
//! cache: the next alert on such a token finds its buyers traced and costs no request for them.

use std::collections::HashSet;
use std::sync::Arc;

use tracing::warn;

use super::detector::Detector;
use crate::domain::counters::minute_of;
use crate::domain::first_seen::{is_new, today, FIRST_SEEN_DAYS};
use crate::store::redis::detect_index;

/// Buyers looked at per round (HOT tokens are few; this bounds a round's Redis reads).
const BUYERS_PER_ROUND: usize = 2_000;
/// Buyer minutes looked back (the 5-minute window).
const LOOKBACK_MINUTES: i64 = 5;
/// Wallets remembered as done (traced or cached) before the memory is cleared.
const DONE_MEMORY: usize = 200_000;

pub async fn hot_trace_loop(d: Arc<Detector>) {
    let Some(every) = d.enricher.hot_trace_every() else {
        return;
    };
    let mut shutdown = d.shutdown.clone();
    let mut done: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if d.stopping() {
            return;
        }
        if d.token().is_none() {
            continue;
        }
        if done.len() > DONE_MEMORY {
            done.clear();
        }
        if let Err(e) = round(&d, &mut done).await {
            metrics::counter!(crate::metrics::REDIS_ERRORS, "op" => "hot_trace").increment(1);
            warn!(error = %e, "HOT-token tracing round failed; the next round retries");
        }
    }
}

async fn round(d: &Detector, done: &mut HashSet<String>) -> Result<(), String> {
    let mut conn = d.redis.get().await.map_err(|e| e.to_string())?;
    let Some(now) = detect_index::chain_clock(&mut conn)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let hot = detect_index::hot_mints(&mut conn, crate::actors::context::now_ms())
        .await
        .map_err(|e| e.to_string())?;
    if hot.is_empty() {
        return Ok(());
    }
    let now_minute = minute_of(now);
    let buyers: Vec<String> = detect_index::recent_buyers(
        &mut conn,
        &hot,
        now_minute,
        LOOKBACK_MINUTES,
        BUYERS_PER_ROUND,
    )
    .await
    .map_err(|e| e.to_string())?
    .into_iter()
    .filter(|w| !done.contains(w))
    .collect();
    let day = today(now_minute);
    let records = detect_index::first_seen_records(&mut conn, &buyers, day, FIRST_SEEN_DAYS)
        .await
        .map_err(|e| e.to_string())?;
    drop(conn);
    let hour_ago = (now_minute - 59) * 60;
    let new: Vec<String> = buyers
        .into_iter()
        .zip(records)
        .filter(|(_, r)| is_new(r.iter().copied(), hour_ago, day))
        .map(|(w, _)| w)
        .collect();
    done.extend(d.enricher.trace_hot_buyers(&new).await);
    Ok(())
}
