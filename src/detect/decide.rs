//! One decision: a trigger match becomes an alert in the outbox, or a counted suppression.
//!
//! The facts are gathered here (market from Postgres and the RPC provider, the funding trace
//! within `enrich.max_wait_ms`, the venue); what they mean — market-cap filter, wallet
//! conditions, CTO score, the alert itself — is [`crate::domain::alert_assembly`]'s. The result is
//! claimed in Redis (fenced by the lease, cooldown and HOT in one script) and then stored in the
//! Postgres outbox; decisions left pending by a crash are stored by [`flush_pending`].

use std::sync::Arc;

use tracing::{error, info, warn};

use super::detector::Detector;
use super::enrich::LateTrace;
use super::evaluate::{top_buyers, Candidate};
use crate::domain::alert::Alert;
use crate::domain::alert_assembly::{
    assemble, dedup_key, market_cap_suppression, with_late_intel, AlertFacts, TokenFacts,
};
use crate::domain::alert_policy::MCAP_RECHECK_SECS;
use crate::domain::counters::minute_of;
use crate::domain::windows::WindowClass;
use crate::metrics as m;
use crate::store::redis::alert_claim::{self, AlertClaim, ClaimOutcome};
use crate::store::redis::detect_index;

/// Counts a match that did not alert and pauses its (mint, trigger) for a short while: the
/// market cap moves slowly, and each check costs a full window read and two queries (a wallet
/// recheck hits the trace cache then, so it costs no RPC request).
async fn suppress(d: &Detector, mint: &str, trigger: &str, reason: &'static str) {
    metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => reason).increment(1);
    if let Ok(mut conn) = d.redis.get().await {
        if let Err(e) =
            detect_index::pause_trigger(&mut conn, mint, trigger, reason, MCAP_RECHECK_SECS).await
        {
            warn!(error = %e, "cannot pause a suppressed trigger; it is checked again next cycle");
        }
    }
}

/// Enriches, filters, assembles, claims and stores one alert.
pub async fn decide(d: &Arc<Detector>, c: Candidate, trigger_name: &str, now: i64) {
    let triggers = d.triggers.current();
    let Some(trigger) = triggers.iter().find(|t| t.name == trigger_name) else {
        return; // the set was reloaded meanwhile
    };
    let window = trigger.window;
    let window_start = (minute_of(now) - window.minutes() + 1) * 60;

    let market = d.enricher.market(&c.mint).await;
    if let Some(reason) = market_cap_suppression(
        market.mcap_sol,
        d.config.min_mcap_sol,
        &d.config.unknown_mcap,
    ) {
        suppress(d, &c.mint, trigger_name, reason).await;
        return;
    }

    let top: Vec<(String, u64)> = top_buyers(&c.windows, window).to_vec();
    let wallets: Vec<String> = top.iter().map(|(w, _)| w.clone()).collect();
    let volumes: Vec<u64> = top.iter().map(|(_, v)| *v).collect();
    let window_buy_lamports = match window {
        WindowClass::FiveMinutes => c.windows.five_minutes.counts.buy_lamports,
        WindowClass::OneHour => c.windows.one_hour.counts.buy_lamports,
    };
    let (intel, late) = d
        .enricher
        .wallet_intel(
            &c.mint,
            window_start,
            &wallets,
            &volumes,
            window_buy_lamports,
        )
        .await;
    let venue = d.enricher.venue(&c.mint, window_start).await;
    let facts = AlertFacts {
        mint: &c.mint,
        trigger,
        metrics: c.metrics,
        top_buyers: &top,
        intel,
        token: TokenFacts {
            name: market.name.clone(),
            symbol: market.symbol.clone(),
            price_sol: market.price_sol,
            mcap_sol: market.mcap_sol,
            supply_raw: market.supply.as_ref().map(|s| s.raw.clone()),
        },
        sol_usd: c.windows.one_hour.sol_usd,
        venue,
        created_at_ms: crate::actors::context::now_ms() as i64,
    };
    let alert = match assemble(facts) {
        Ok(alert) => alert,
        Err(reason) => {
            suppress(d, &c.mint, trigger_name, reason).await;
            return;
        }
    };
    if claim(d, &alert, now).await {
        let key = dedup_key(&alert.mint, &alert.trigger_name, alert.created_at_ms);
        info!(mint = %c.mint, trigger = trigger_name, mcap_sol = ?market.mcap_sol, "trigger fired: alert decided");
        store(d, &key, &alert).await;
        d.enricher.mark_hot(&c.mint, &alert.trigger_reason).await;
        if let Some(late) = late {
            let d = d.clone();
            actix_rt::spawn(async move { record_late(&d, late, &key, &alert).await });
        }
    }
}

/// Waits for a funding trace that outlived the alert's latency budget, then records on the
/// stored alert what it found (clusters, wallet metrics, CTO score). The trace itself fills the
/// `wallet_profiles` cache either way; this only completes the alert row. Not awaited at
/// shutdown: a row left incomplete still says its trace was "recorded later" in the cache.
async fn record_late(d: &Detector, late: LateTrace, key: &str, alert: &Alert) {
    let Some(intel) = d.enricher.finish_late(late).await else {
        return;
    };
    let Some(updated) = with_late_intel(alert, intel) else {
        return;
    };
    match crate::store::postgres::alerts::update_enrichment(&d.postgres, key, &updated).await {
        Ok(true) => {
            info!(mint = %alert.mint, trigger = %alert.trigger_name, "late funding trace recorded on the alert")
        }
        Ok(false) => warn!(
            dedup_key = key,
            "late funding trace: the alert is not stored (yet); the cache has it"
        ),
        Err(e) => {
            metrics::counter!(m::POSTGRES_ERRORS, "op" => "update_enrichment").increment(1);
            warn!(error = %e, "cannot record the late funding trace on the alert; the cache has it");
        }
    }
}

/// Claims the alert in Redis (lease-fenced, with its cooldown and HOT time); true when claimed.
async fn claim(d: &Detector, alert: &Alert, now: i64) -> bool {
    let payload = match rmp_serde::to_vec_named(alert) {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "cannot encode an alert decision");
            return false;
        }
    };
    let Some(token) = d.token() else {
        return false;
    };
    let key = dedup_key(&alert.mint, &alert.trigger_name, alert.created_at_ms);
    let hot_until_ms = d.policy().hot_until_ms(alert.created_at_ms).max(0) as u64;
    let claim = AlertClaim {
        lease_token: &token,
        mint: &alert.mint,
        trigger: &alert.trigger_name,
        dedup_key: &key,
        cooldown_secs: d.policy().cooldown_secs() as u64,
        hot_until_ms,
        chain_now: now,
        payload: &payload,
    };
    let outcome = match d.redis.get().await {
        Ok(mut conn) => alert_claim::claim(&mut conn, &alert_claim::script(), &claim).await,
        Err(e) => {
            warn!(error = %e, "cannot claim an alert decision");
            return false;
        }
    };
    match outcome {
        Ok(ClaimOutcome::Claimed) => true,
        Ok(ClaimOutcome::Cooldown) => {
            metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => "cooldown").increment(1);
            false
        }
        Ok(ClaimOutcome::Fenced) => {
            info!(mint = %alert.mint, "lease lost before the alert was claimed; the new holder decides");
            false
        }
        Err(e) => {
            metrics::counter!(m::REDIS_ERRORS, "op" => "alert_claim").increment(1);
            warn!(error = %e, "cannot claim an alert decision");
            false
        }
    }
}

/// Moves one claimed decision into the outbox; on failure it stays pending in Redis.
async fn store(d: &Detector, dedup_key: &str, alert: &Alert) -> bool {
    match crate::store::postgres::alerts::insert_alert(&d.postgres, alert, dedup_key, &d.channels)
        .await
    {
        Ok(inserted) => {
            if inserted.is_some() {
                metrics::counter!(m::ALERTS_CREATED, "trigger" => alert.trigger_name.clone())
                    .increment(1);
            }
            if let Ok(mut conn) = d.redis.get().await {
                if let Err(e) = alert_claim::forget_pending(&mut conn, dedup_key).await {
                    warn!(error = %e, "alert stored; its pending copy stays until the next sweep");
                }
            }
            d.outbox.notify_one();
            true
        }
        Err(e) if e.is_retryable() => {
            metrics::counter!(m::POSTGRES_ERRORS, "op" => "insert_alert").increment(1);
            warn!(error = %e, "alert decided but not yet stored; retried at the next sweep");
            false
        }
        Err(e) => {
            // Postgres refuses this row for good: keep it for operators rather than retrying it
            // for ever.
            metrics::counter!(m::POSTGRES_ERRORS, "op" => "insert_alert").increment(1);
            error!(error = %e, dedup_key, "alert refused by PostgreSQL; kept in pw:alerts:dead");
            if let Ok(mut conn) = d.redis.get().await {
                let _ = alert_claim::bury_pending(&mut conn, dedup_key, &e.to_string()).await;
            }
            false
        }
    }
}

/// Stores every decision still pending in Redis (claimed by us or by a previous lease holder).
pub async fn flush_pending(d: &Detector) {
    let pending = match d.redis.get().await {
        Ok(mut conn) => alert_claim::pending(&mut conn).await,
        Err(e) => {
            warn!(error = %e, "cannot read pending alert decisions");
            return;
        }
    };
    let pending = match pending {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "cannot read pending alert decisions");
            return;
        }
    };
    for (dedup_key, payload) in pending {
        match rmp_serde::from_slice::<Alert>(&payload) {
            Ok(alert) => {
                store(d, &dedup_key, &alert).await;
            }
            Err(e) => {
                warn!(error = %e, dedup_key, "undecodable pending alert decision dropped");
                if let Ok(mut conn) = d.redis.get().await {
                    let _ = alert_claim::forget_pending(&mut conn, &dedup_key).await;
                }
            }
        }
    }
}
