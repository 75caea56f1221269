//! The detector's loops: the lease (held or waited for until shutdown), and the evaluation
//! cycles — touched mints soon after each commit, a periodic sweep of recently active mints —
//! that hand each trigger match to a decision ([`super::decide`]) in its own task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::decide::{decide, flush_pending};
use super::detector::Detector;
use super::evaluate::{evaluate, Candidate};
use crate::domain::alert_policy::Cooldown;
use crate::domain::windows::WindowClass;
use crate::metrics as m;
use crate::store::redis::detect_index::{self, DetailMemo};
use crate::store::redis::lease::Lease;
use crate::store::redis::windows;

/// Touched mints taken per cycle (the rest wait for the next one, oldest first).
const TOUCHED_PER_CYCLE: usize = 20_000;

/// How long the in-play filter may reuse a mint's window detail (see [`DetailMemo`]): an alert
/// can come at most this much later; a match is always confirmed on a fresh read.
const DETAIL_REUSE: Duration = Duration::from_secs(1);

/// How long shutdown waits for decisions under way (enrichment may wait on the RPC provider).
const SHUTDOWN_DECISION_WAIT: Duration = Duration::from_secs(10);

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
                    while d.decisions_in_flight() > 0 && started.elapsed() < SHUTDOWN_DECISION_WAIT
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
pub async fn evaluate_loop(d: Arc<Detector>, alive: Arc<AtomicU64>) {
    let tick = Duration::from_millis(d.config.eval_interval_ms);
    let sweep_every = Duration::from_secs(d.config.sweep_interval_secs);
    let mut last_sweep: Option<Instant> = None;
    let mut was_leader = false;
    let script = windows::script();
    let mut memo = DetailMemo::new(DETAIL_REUSE);
    let mut shutdown = d.shutdown.clone();
    loop {
        alive.store(crate::actors::context::now_ms(), Ordering::Relaxed);
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
        if let Err(e) = event_cycle(&d, &script, &mut memo).await {
            metrics::counter!(m::REDIS_ERRORS, "op" => "detect").increment(1);
            warn!(error = %e, "detector cycle failed; the sweep picks its mints up");
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
            last_sweep = Some(Instant::now());
            if let Err(e) = sweep(&d, &script, &mut memo).await {
                metrics::counter!(m::REDIS_ERRORS, "op" => "detect_sweep").increment(1);
                warn!(error = %e, "detector sweep failed");
            }
        }
        metrics::histogram!(m::DETECT_CYCLE_SECONDS).record(started.elapsed().as_secs_f64());
    }
}

async fn event_cycle(
    d: &Arc<Detector>,
    script: &redis::Script,
    memo: &mut DetailMemo,
) -> Result<(), String> {
    let mut conn = d.redis.get().await.map_err(|e| e.to_string())?;
    let popped = detect_index::pop_touched(&mut conn, TOUCHED_PER_CYCLE)
        .await
        .map_err(|e| e.to_string())?;
    // Mints ruled out on a remembered detail come back without a new touch.
    let deferred = memo.take_deferred();
    if popped.is_empty() && deferred.is_empty() {
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
    let mut mints: Vec<String> = popped.into_iter().map(|(mint, _)| mint).collect();
    let touched: std::collections::HashSet<String> = mints.iter().cloned().collect();
    mints.extend(deferred.into_iter().filter(|m| !touched.contains(m)));
    evaluate_and_decide(d, &mut conn, script, now, &mints, "event", memo).await
}

/// Re-evaluates every mint traded within the lookback, expires HOT mints, trims the active index,
/// and moves any decision still pending into the outbox.
async fn sweep(
    d: &Arc<Detector>,
    script: &redis::Script,
    memo: &mut DetailMemo,
) -> Result<(), String> {
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
    evaluate_and_decide(d, &mut conn, script, now, &mints, "sweep", memo).await
}

/// Evaluates `mints` at chain time `now` and decides their alerts (`path` labels the metric).
async fn evaluate_and_decide(
    d: &Arc<Detector>,
    conn: &mut deadpool_redis::Connection,
    script: &redis::Script,
    now: i64,
    mints: &[String],
    path: &'static str,
    memo: &mut DetailMemo,
) -> Result<(), String> {
    metrics::counter!(m::DETECT_EVALUATIONS, "path" => path).increment(mints.len() as u64);
    let triggers = d.triggers.current();
    let per_call = d.config.mints_per_call;
    let candidates = evaluate(conn, script, &triggers, now, mints, per_call, memo)
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
    let pairs: Vec<(&str, &str)> = candidates
        .iter()
        .flat_map(|c| c.matching.iter().map(|t| (c.mint.as_str(), t.as_str())))
        .collect();
    let pttl = detect_index::cooldown_pttls(conn, &pairs)
        .await
        .map_err(|e| e.to_string())?;
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
        let Some(guard) = d.begin_decision(&c.mint) else {
            continue;
        };
        let trigger = c.matching[i].clone();
        metrics::counter!(m::TRIGGERS_FIRED, "trigger" => trigger.clone()).increment(1);
        actix_rt::spawn(async move {
            decide(guard.detector(), c, &trigger, now).await;
            drop(guard);
        });
    }
    Ok(())
}
