//! The detector: while this process holds the lease, evaluates every mint a commit touched (soon
//! after the commit) plus a periodic sweep of recently active mints, and turns trigger matches
//! into alerts.
//!
//! A decision is claimed in Redis first (fenced by the lease, with the per-(mint, trigger)
//! cooldown and the HOT state, see [`crate::store::redis::alert_claim`]) and then moved into the
//! Postgres outbox; the alert sender delivers from there. A crash between the two leaves the
//! decision pending in Redis, and the next lease holder moves it: no alert is lost or doubled.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tracing::{error, info, warn};

use super::enrich::Enricher;
use super::evaluate::{evaluate, top_buyers, Candidate};
use super::triggers_file::Triggers;
use crate::config::DetectConfig;
use crate::domain::alert::{Alert, TopBuyer};
use crate::domain::alert_policy::{AlertPolicy, Cooldown, MCAP_RECHECK_SECS};
use crate::domain::clusters::{linked_stats, summary};
use crate::domain::counters::minute_of;
use crate::domain::cto::{score, CtoInput};
use crate::domain::windows::{MetricKind, WindowClass};
use crate::metrics as m;
use crate::store::postgres::PgPool;
use crate::store::redis::alert_claim::{self, AlertClaim, ClaimOutcome};
use crate::store::redis::detect_index;
use crate::store::redis::keys;
use crate::store::redis::lease::Lease;
use crate::store::redis::windows;

/// Touched mints taken per cycle (the rest wait for the next one, oldest first).
const TOUCHED_PER_CYCLE: usize = 20_000;

/// How long shutdown waits for decisions under way (enrichment may wait on the RPC provider).
const SHUTDOWN_DECISION_WAIT: Duration = Duration::from_secs(10);

/// Everything the detector needs; shared by its tasks.
pub struct Detector {
    pub redis: deadpool_redis::Pool,
    pub postgres: PgPool,
    pub config: DetectConfig,
    pub triggers: Triggers,
    pub enricher: Enricher,
    /// Outbox channels an alert is queued for.
    pub channels: Vec<&'static str>,
    /// Woken after an alert reaches the outbox.
    pub outbox: Arc<Notify>,
    /// The lease token while this process holds it.
    pub leader: watch::Sender<Option<String>>,
    /// The same as a flag, for the alert sender (only the lease holder sends).
    pub leader_flag: watch::Sender<bool>,
    pub holder: String,
    pub shutdown: watch::Receiver<bool>,
    /// Mints with a decision under way (enrichment does I/O; a mint is decided once at a time).
    deciding: Mutex<HashSet<String>>,
    /// Decisions under way (shutdown waits for them before storing what they claimed).
    in_flight: std::sync::atomic::AtomicUsize,
    /// Set once, at shutdown, after claimed decisions are stored and the lease is released.
    pub done: watch::Sender<bool>,
}

impl Detector {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        redis: deadpool_redis::Pool,
        postgres: PgPool,
        config: DetectConfig,
        triggers: Triggers,
        enricher: Enricher,
        channels: Vec<&'static str>,
        outbox: Arc<Notify>,
        leader: watch::Sender<Option<String>>,
        leader_flag: watch::Sender<bool>,
        holder: String,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Detector {
            redis,
            postgres,
            config,
            triggers,
            enricher,
            channels,
            outbox,
            leader,
            leader_flag,
            holder,
            shutdown,
            deciding: Mutex::new(HashSet::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            done: watch::channel(false).0,
        }
    }

    fn token(&self) -> Option<String> {
        self.leader.borrow().clone()
    }

    /// The cooldown and HOT rules the backtest applies too.
    fn policy(&self) -> AlertPolicy {
        AlertPolicy {
            cooldown_secs: self.config.cooldown_secs,
            hot_ttl_secs: self.config.hot_ttl_secs,
        }
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Holds (or waits for) the lease until shutdown, then releases it so a standby takes over at once.
pub async fn lease_loop(d: Arc<Detector>) {
    let mut lease = Lease::new(d.holder.clone(), d.config.lease_ttl_ms);
    let renew = Duration::from_millis(d.config.lease_renew_ms);
    let mut shutdown = d.shutdown.clone();
    loop {
        let held_before = d.token().is_some();
        let result = match d.redis.get().await {
            Ok(mut conn) => lease.renew(&mut conn).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(true) => {
                if !held_before {
                    info!(
                        token = lease.token().unwrap_or(""),
                        "detector lease acquired"
                    );
                    metrics::counter!(m::DETECTOR_LEASE_ACQUIRED).increment(1);
                }
            }
            Ok(false) => {
                if held_before {
                    warn!("detector lease lost to another process");
                }
            }
            Err(e) => {
                metrics::counter!(m::REDIS_ERRORS, "op" => "lease").increment(1);
                warn!(error = %e, "cannot renew the detector lease; standing down");
                lease.forget();
            }
        }
        let token = lease.token().map(str::to_string);
        metrics::gauge!(m::DETECTOR_LEADER).set(if token.is_some() { 1.0 } else { 0.0 });
        d.leader_flag.send_replace(token.is_some());
        d.leader.send_replace(token);
        tokio::select! {
            _ = tokio::time::sleep(renew) => {}
            _ = shutdown.changed() => {
                if lease.token().is_some() {
                    // Decisions under way finish (bounded), and everything claimed goes to the
                    // outbox before we let go.
                    let started = Instant::now();
                    while d.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0
                        && started.elapsed() < SHUTDOWN_DECISION_WAIT
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    flush_pending(&d).await;
                    d.outbox.notify_one();
                }
                d.leader.send_replace(None);
                d.leader_flag.send_replace(false);
                metrics::gauge!(m::DETECTOR_LEADER).set(0.0);
                if let Ok(mut conn) = d.redis.get().await {
                    if let Err(e) = lease.release(&mut conn).await {
                        warn!(error = %e, "cannot release the detector lease; it expires by itself");
                    }
                }
                d.done.send_replace(true);
                return;
            }
        }
    }
}

/// Evaluates touched mints every `eval_interval_ms` and sweeps every `sweep_interval_secs`,
/// while holding the lease.
pub async fn evaluate_loop(d: Arc<Detector>, alive: Arc<std::sync::atomic::AtomicU64>) {
    let tick = Duration::from_millis(d.config.eval_interval_ms);
    let sweep_every = Duration::from_secs(d.config.sweep_interval_secs);
    let mut last_sweep: Option<Instant> = None;
    let mut was_leader = false;
    let script = windows::script();
    let mut shutdown = d.shutdown.clone();
    loop {
        alive.store(
            crate::actors::context::now_ms(),
            std::sync::atomic::Ordering::Relaxed,
        );
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        if d.stopping() {
            return;
        }
        let leader = d.token().is_some();
        if !leader {
            was_leader = false;
            continue;
        }
        if !was_leader {
            // A new term: decisions a previous holder claimed but did not store come first.
            was_leader = true;
            flush_pending(&d).await;
        }
        let started = Instant::now();
        if let Err(e) = event_cycle(&d, &script).await {
            metrics::counter!(m::REDIS_ERRORS, "op" => "detect").increment(1);
            warn!(error = %e, "detector cycle failed; the sweep picks its mints up");
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
            last_sweep = Some(Instant::now());
            if let Err(e) = sweep(&d, &script).await {
                metrics::counter!(m::REDIS_ERRORS, "op" => "detect_sweep").increment(1);
                warn!(error = %e, "detector sweep failed");
            }
        }
        metrics::histogram!(m::DETECT_CYCLE_SECONDS).record(started.elapsed().as_secs_f64());
    }
}

async fn event_cycle(d: &Arc<Detector>, script: &redis::Script) -> Result<(), String> {
    let mut conn = d.redis.get().await.map_err(|e| e.to_string())?;
    let popped = detect_index::pop_touched(&mut conn, TOUCHED_PER_CYCLE)
        .await
        .map_err(|e| e.to_string())?;
    if popped.is_empty() {
        return Ok(());
    }
    let now_ms = crate::actors::context::now_ms() as f64;
    for (_, touched_ms) in &popped {
        metrics::histogram!(m::DETECTION_DELAY_SECONDS)
            .record(((now_ms - touched_ms) / 1000.0).max(0.0));
    }
    let Some(now) = detect_index::chain_clock(&mut conn)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let mints: Vec<String> = popped.into_iter().map(|(mint, _)| mint).collect();
    evaluate_and_decide(d, &mut conn, script, now, &mints, "event").await
}

/// Re-evaluates every mint traded within the lookback, expires HOT mints, trims the active index,
/// and moves any decision still pending into the outbox.
async fn sweep(d: &Arc<Detector>, script: &redis::Script) -> Result<(), String> {
    flush_pending(d).await;
    let mut conn = d.redis.get().await.map_err(|e| e.to_string())?;
    let now_ms = crate::actors::context::now_ms();
    let (expired, hot) = detect_index::expire_hot(&mut conn, now_ms)
        .await
        .map_err(|e| e.to_string())?;
    if !expired.is_empty() {
        info!(mints = expired.len(), "HOT expired: back to COLD");
        d.enricher.mark_cold(&expired).await;
    }
    metrics::gauge!(m::HOT_TOKENS).set(hot as f64);

    let Some(now) = detect_index::chain_clock(&mut conn)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    // Mints idle for longer than the longest window (plus margin) can no longer fire.
    let mints = detect_index::active_mints(
        &mut conn,
        now - WindowClass::OneHour.seconds() - 600,
        now - d.config.sweep_lookback_secs as i64,
    )
    .await
    .map_err(|e| e.to_string())?;
    if mints.is_empty() {
        return Ok(());
    }
    evaluate_and_decide(d, &mut conn, script, now, &mints, "sweep").await
}

/// Evaluates `mints` at chain time `now` and decides their alerts (`path` labels the metric).
async fn evaluate_and_decide(
    d: &Arc<Detector>,
    conn: &mut deadpool_redis::Connection,
    script: &redis::Script,
    now: i64,
    mints: &[String],
    path: &'static str,
) -> Result<(), String> {
    metrics::counter!(m::DETECT_EVALUATIONS, "path" => path).increment(mints.len() as u64);
    let triggers = d.triggers.current();
    let candidates = evaluate(conn, script, &triggers, now, mints, d.config.mints_per_call)
        .await
        .map_err(|e| e.to_string())?;
    decide_all(d, conn, candidates, now).await
}

/// For each candidate, the first matching trigger not in cooldown is decided (in its own task:
/// enrichment does I/O and must not hold up the next cycle).
async fn decide_all(
    d: &Arc<Detector>,
    conn: &mut deadpool_redis::Connection,
    candidates: Vec<Candidate>,
    now: i64,
) -> Result<(), String> {
    if candidates.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for c in &candidates {
        for t in &c.matching {
            pipe.cmd("PTTL").arg(keys::cooldown(&c.mint, t));
        }
    }
    let pttl: Vec<i64> = pipe.query_async(conn).await.map_err(|e| e.to_string())?;
    let wall_now_ms = crate::actors::context::now_ms() as i64;
    let mut pttl = pttl.into_iter();
    for c in candidates {
        let cooldowns: Vec<Cooldown> = c
            .matching
            .iter()
            .map(|_| Cooldown::from_pttl(wall_now_ms, pttl.next().unwrap_or(-1)))
            .collect();
        let Some(i) = d.policy().select(&cooldowns, wall_now_ms) else {
            metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => "cooldown").increment(1);
            continue;
        };
        {
            let mut deciding = d.deciding.lock().unwrap_or_else(|p| p.into_inner());
            if !deciding.insert(c.mint.clone()) {
                continue;
            }
        }
        let trigger = c.matching[i].clone();
        metrics::counter!(m::TRIGGERS_FIRED, "trigger" => trigger.clone()).increment(1);
        let guard = Deciding {
            detector: d.clone(),
            mint: c.mint.clone(),
        };
        d.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        actix_rt::spawn(async move {
            decide(&guard.detector, c, &trigger, now).await;
            drop(guard);
        });
    }
    Ok(())
}

/// A decision under way: releases its mint (and the in-flight count) however the task ends,
/// a panic included.
struct Deciding {
    detector: Arc<Detector>,
    mint: String,
}

impl Drop for Deciding {
    fn drop(&mut self) {
        self.detector
            .deciding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.mint);
        self.detector
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Enriches, filters by market cap, claims and stores one alert.
async fn decide(d: &Detector, c: Candidate, trigger_name: &str, now: i64) {
    let triggers = d.triggers.current();
    let Some(trigger) = triggers.iter().find(|t| t.name == trigger_name) else {
        return; // the set was reloaded meanwhile
    };
    let window = trigger.window;
    let reason = trigger.reason(&c.metrics);
    let window_start = (minute_of(now) - window.minutes() + 1) * 60;

    let market = d.enricher.market(&c.mint).await;
    let suppressed = match market.mcap_sol {
        Some(mcap) if mcap < d.config.min_mcap_sol => Some("low_mcap"),
        None if d.config.unknown_mcap == "skip" => Some("unknown_mcap"),
        _ => None,
    };
    if let Some(reason) = suppressed {
        metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => reason).increment(1);
        // Checked again after a short pause, not at every cycle: the market cap moves slowly and
        // each check costs a full window read and two queries.
        if let Ok(mut conn) = d.redis.get().await {
            let _: redis::RedisResult<()> = redis::cmd("SET")
                .arg(keys::cooldown(&c.mint, trigger_name))
                .arg(reason)
                .arg("NX")
                .arg("EX")
                .arg(MCAP_RECHECK_SECS)
                .query_async(&mut conn)
                .await;
        }
        return;
    }

    let top: Vec<(String, u64)> = top_buyers(&c.windows, window).to_vec();
    let wallets: Vec<String> = top.iter().map(|(w, _)| w.clone()).collect();
    let volumes: Vec<u64> = top.iter().map(|(_, v)| *v).collect();
    let window_buy_lamports = match window {
        WindowClass::FiveMinutes => c.windows.five_minutes.counts.buy_lamports,
        WindowClass::OneHour => c.windows.one_hour.counts.buy_lamports,
    };
    let intel = d
        .enricher
        .wallet_intel(
            &c.mint,
            window_start,
            &wallets,
            &volumes,
            window_buy_lamports,
        )
        .await;
    let clusters = intel.clusters.clone();
    let (linked, largest) = linked_stats(&clusters);
    let mut full_metrics = c.metrics;
    for values in [&mut full_metrics.five_minutes, &mut full_metrics.one_hour] {
        values.largest_cluster_share = intel.largest_cluster_share;
        values.funded_by_same_source_pct = intel.funded_by_same_source_pct;
    }
    if trigger.needs_wallets() && !trigger.matches(&full_metrics) {
        // The wallet conditions do not hold (or are unknown): no alert; checked again after a
        // short pause (the trace is cached by then, so the recheck costs no RPC request).
        metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => "wallet_conditions").increment(1);
        if let Ok(mut conn) = d.redis.get().await {
            let _: redis::RedisResult<()> = redis::cmd("SET")
                .arg(keys::cooldown(&c.mint, trigger_name))
                .arg("wallet_conditions")
                .arg("NX")
                .arg("EX")
                .arg(MCAP_RECHECK_SECS)
                .query_async(&mut conn)
                .await;
        }
        return;
    }
    let reason = if trigger.needs_wallets() {
        trigger.reason(&full_metrics)
    } else {
        reason
    };
    let values = c.metrics.window(window);
    let cto_input = CtoInput {
        top_3_share: values.get(MetricKind::Top3BuyersVolumeShare),
        buy_count: values.get(MetricKind::BuyCount),
        unique_buyers: values.get(MetricKind::UniqueBuyers),
        new_wallet_pct: values.get(MetricKind::NewWalletPct),
        buy_sell_ratio: values.get(MetricKind::BuySellRatio),
        volume_sol: values.get(MetricKind::BuyVolumeSol),
        top_buyers: top.len(),
        linked_buyers: linked,
        largest_cluster: largest,
    };
    let cto = score(&cto_input);
    let mut intel = intel;
    intel.cto_inputs = cto_input.named();
    let venue = d.enricher.venue(&c.mint, window_start).await;
    let created_at_ms = crate::actors::context::now_ms() as i64;
    let alert = Alert {
        id: None,
        mint: c.mint.clone(),
        token_name: market.name.clone(),
        token_symbol: market.symbol.clone(),
        trigger_name: trigger_name.to_string(),
        trigger_reason: reason.clone(),
        window,
        metrics: c.metrics.named(),
        top_buyers: top
            .iter()
            .map(|(wallet, lamports)| TopBuyer {
                wallet: wallet.clone(),
                volume_lamports: *lamports,
            })
            .collect(),
        cto_score: Some(cto.total),
        cto_evidence: cto.evidence.clone(),
        cto_components: cto
            .components
            .iter()
            .map(|(n, v)| (n.to_string(), *v))
            .collect(),
        cluster_summary: Some(summary(&clusters)),
        price_sol: market.price_sol,
        mcap_sol: market.mcap_sol,
        token_supply: market.supply.as_ref().map(|s| s.raw.clone()),
        sol_usd: c.windows.one_hour.sol_usd,
        venue,
        token_image: None,
        created_at_ms,
        test: false,
        track_record: None,
        wallet_intel: Some(intel),
    };
    let dedup_key = format!("{}:{}:{}", c.mint, trigger_name, created_at_ms);
    let payload = match rmp_serde::to_vec_named(&alert) {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "cannot encode an alert decision");
            return;
        }
    };
    let Some(token) = d.token() else {
        return;
    };
    let hot_until_ms = d.policy().hot_until_ms(created_at_ms).max(0) as u64;
    let claim = AlertClaim {
        lease_token: &token,
        mint: &c.mint,
        trigger: trigger_name,
        dedup_key: &dedup_key,
        cooldown_secs: d.policy().cooldown_secs() as u64,
        hot_until_ms,
        chain_now: now,
        payload: &payload,
    };
    let outcome = match d.redis.get().await {
        Ok(mut conn) => alert_claim::claim(&mut conn, &alert_claim::script(), &claim).await,
        Err(e) => {
            warn!(error = %e, "cannot claim an alert decision");
            return;
        }
    };
    match outcome {
        Ok(ClaimOutcome::Claimed) => {}
        Ok(ClaimOutcome::Cooldown) => {
            metrics::counter!(m::ALERTS_SUPPRESSED, "reason" => "cooldown").increment(1);
            return;
        }
        Ok(ClaimOutcome::Fenced) => {
            info!(mint = %c.mint, "lease lost before the alert was claimed; the new holder decides");
            return;
        }
        Err(e) => {
            metrics::counter!(m::REDIS_ERRORS, "op" => "alert_claim").increment(1);
            warn!(error = %e, "cannot claim an alert decision");
            return;
        }
    }
    info!(mint = %c.mint, trigger = trigger_name, mcap_sol = ?market.mcap_sol, "trigger fired: alert decided");
    store(d, &dedup_key, &alert).await;
    d.enricher.mark_hot(&c.mint, &reason).await;
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
async fn flush_pending(d: &Detector) {
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
