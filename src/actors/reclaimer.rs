//! Pending reclaimer: every few seconds, takes over entries that some consumer — crashed, killed,
//! stalled — has held longer than `min_idle_secs`, and feeds them through the same pipeline.
//! Entries delivered more than `max_deliveries` times are parsed in a batch of their own (a poison
//! entry cannot take healthy ones down) and dead-lettered if parsing fails; past three times the
//! limit they are dead-lettered unparsed, in an atomic commit that also acknowledges them. It also trims acknowledged entries,
//! forgets idle consumers, and samples the group gauges.
//!
//! It uses `XPENDING … IDLE` + `XCLAIM` (rather than `XAUTOCLAIM`) so it can skip entries that are
//! still moving through this process and read delivery counts in the same call; and it holds off
//! while Redis or PostgreSQL errors are recent, so an outage never turns healthy entries into dead
//! letters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{info, warn};

use super::context::PipelineContext;
use super::messages::{AckToken, Heartbeat, Origin, RawBatch};
use super::slot::Slot;
use crate::metrics as m;
use crate::pipeline::parse::dead_kind;
use crate::store::redis::commit::{
    commit, script, CommitBatch, CommitOutcome, DeadLetter, NameCache,
};
use crate::store::redis::stream::{
    claim, group_info, pending_idle, remove_idle_consumers, trim_acknowledged, EntryId,
};

/// How long after a Redis or PostgreSQL error the reclaimer leaves idle entries alone.
pub const STORE_ERROR_HOLDOFF: Duration = Duration::from_secs(30);

pub struct Reclaimer {
    pub ctx: Arc<PipelineContext>,
    pub parser: Slot<RawBatch>,
}

impl Actor for Reclaimer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let run = reclaim_loop(self.ctx.clone(), self.parser.clone());
        ctx.spawn(run.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl Handler<Heartbeat> for Reclaimer {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

async fn reclaim_loop(p: Arc<PipelineContext>, parser: Slot<RawBatch>) {
    let interval = Duration::from_secs(p.reclaim.interval_secs);
    let mut last_housekeeping = Instant::now() - Duration::from_secs(3600);
    let script = script();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = p.stopped() => return,
        }
        if let Err(e) = sample_gauges(&p).await {
            metrics::counter!(m::REDIS_ERRORS, "op" => "xinfo").increment(1);
            warn!(error = %e, "cannot read group state");
            continue;
        }
        // During an outage the slow consumers are not dead: leave their entries alone for a while.
        if p.progress
            .store_errors_within(STORE_ERROR_HOLDOFF.max(interval * 3))
        {
            continue;
        }
        if let Err(e) = reclaim_once(&p, &parser, &script).await {
            metrics::counter!(m::REDIS_ERRORS, "op" => "reclaim").increment(1);
            warn!(error = %e, "reclaim pass failed");
        }
        if last_housekeeping.elapsed() > Duration::from_secs(60) {
            last_housekeeping = Instant::now();
            housekeeping(&p).await;
        }
    }
}

async fn sample_gauges(p: &PipelineContext) -> Result<(), String> {
    let mut conn = p.redis.get().await.map_err(|e| e.to_string())?;
    let info = group_info(&mut conn).await.map_err(|e| e.to_string())?;
    let len: u64 = redis::cmd("XLEN")
        .arg(crate::store::redis::keys::STREAM)
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    metrics::gauge!(m::PENDING_ENTRIES).set(info.pending as f64);
    metrics::gauge!(m::GROUP_LAG).set(info.lag as f64);
    metrics::gauge!(m::STREAM_LENGTH).set(len as f64);
    let dead: u64 = redis::cmd("XLEN")
        .arg(crate::store::redis::keys::DEAD_STREAM)
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    metrics::gauge!(m::DEAD_LETTER_LENGTH).set(dead as f64);
    Ok(())
}

async fn reclaim_once(
    p: &Arc<PipelineContext>,
    parser: &Slot<RawBatch>,
    script: &redis::Script,
) -> Result<(), String> {
    let min_idle_ms = p.reclaim.min_idle_secs * 1000;
    let mut start = "-".to_string();
    loop {
        let mut conn = p.redis.get().await.map_err(|e| e.to_string())?;
        let rows = pending_idle(&mut conn, min_idle_ms, p.reclaim.batch, &start)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        start = format!("({}", last.id);
        let full_page = rows.len() >= p.reclaim.batch;
        // Entries still moving through this process are not idle, only slow: leave them.
        let candidates: Vec<_> = rows
            .into_iter()
            .filter(|r| !p.in_flight.contains(&r.id))
            .collect();
        if candidates.is_empty() {
            if full_page {
                continue;
            }
            return Ok(());
        }
        let ids: Vec<EntryId> = candidates.iter().map(|r| r.id).collect();
        let entries = claim(&mut conn, &p.consumer, min_idle_ms, &ids)
            .await
            .map_err(|e| e.to_string())?;
        if entries.is_empty() {
            continue;
        }
        let from: Vec<&str> = candidates.iter().map(|r| r.consumer.as_str()).collect();
        info!(count = entries.len(), from = ?dedup(&from), "reclaimed idle entries");
        metrics::counter!(m::ENTRIES_RECLAIMED).increment(entries.len() as u64);

        // Delivery counts also rise without any failure (a restarted reader re-reads its own
        // pending entries; a slow store), so a high count alone never condemns an entry: it is
        // parsed like any other, in a batch of its own so that a poison entry cannot take healthy
        // ones down with it, and dead-lettered only if parsing says so. Past three times the
        // limit it is dead-lettered unparsed: it has been killing whoever touched it.
        let hard_limit = p.reclaim.max_deliveries * 3;
        let deliveries = |id: &EntryId| {
            candidates
                .iter()
                .find(|r| r.id == *id)
                .map_or(1, |r| r.deliveries + 1)
        };
        let mut hopeless = Vec::new();
        let mut suspect = Vec::new();
        let mut ordinary = Vec::new();
        for e in entries {
            let n = deliveries(&e.id);
            if n > hard_limit {
                hopeless.push(DeadLetter {
                    id: e.id,
                    reason: format!(
                        "{}: delivered {n} times without completing",
                        dead_kind::MAX_DELIVERIES
                    ),
                    payload: e.payload.unwrap_or_default(),
                });
            } else if n > p.reclaim.max_deliveries {
                suspect.push(e);
            } else {
                ordinary.push(e);
            }
        }
        if !hopeless.is_empty() {
            dead_letter(p, &mut conn, script, hopeless).await?;
        }
        drop(conn);
        for group in [ordinary, suspect] {
            if group.is_empty() {
                continue;
            }
            let permit = tokio::select! {
                permit = p.permits.clone().acquire_owned() => permit.map_err(|e| e.to_string())?,
                _ = p.stopped() => return Ok(()),
            };
            let ids: Vec<EntryId> = group.iter().map(|e| e.id).collect();
            let sent = parser
                .send(
                    "reclaimer",
                    RawBatch {
                        entries: group,
                        origin: Origin::Reclaimed,
                        read_at: Instant::now(),
                        token: AckToken::new(permit, ids, p.clone()),
                    },
                )
                .await;
            if !sent {
                return Ok(());
            }
        }
    }
}

/// Dead-letters entries that keep killing their consumers, in one atomic commit (reason, payload,
/// XACK together); only what this consumer still owns is moved.
async fn dead_letter(
    p: &PipelineContext,
    conn: &mut deadpool_redis::Connection,
    script: &redis::Script,
    mut letters: Vec<DeadLetter>,
) -> Result<(), String> {
    loop {
        let batch = CommitBatch {
            consumer: &p.consumer,
            ids: letters.iter().map(|d| d.id).collect(),
            dead: letters.clone(),
            ..Default::default()
        };
        let outcome = commit(conn, script, &batch, &p.ttls, &mut NameCache::default())
            .await
            .map_err(|e| e.to_string())?;
        match outcome {
            CommitOutcome::Committed(_) => break,
            CommitOutcome::NotOwned(lost) => letters.retain(|d| !lost.contains(&d.id)),
            CommitOutcome::Duplicates(_) => return Err("dead letters carry no markers".into()),
        }
        if letters.is_empty() {
            return Ok(());
        }
    }
    for d in &letters {
        warn!(entry = %d.id, reason = %d.reason, "entry moved to the dead-letter stream");
    }
    metrics::counter!(m::ENTRIES_DEAD_LETTERED, "reason" => dead_kind::MAX_DELIVERIES)
        .increment(letters.len() as u64);
    Ok(())
}

fn dedup<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = names.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

async fn housekeeping(p: &PipelineContext) {
    let Ok(mut conn) = p.redis.get().await else {
        return;
    };
    match trim_acknowledged(&mut conn).await {
        Ok(n) if n > 0 => info!(removed = n, "trimmed acknowledged stream entries"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "stream trim failed"),
    }
    match remove_idle_consumers(&mut conn, p.reclaim.consumer_idle_delete_secs * 1000).await {
        Ok(removed) if !removed.is_empty() => info!(?removed, "removed idle consumers"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "consumer cleanup failed"),
    }
}
