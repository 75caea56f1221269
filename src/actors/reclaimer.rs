//! Pending reclaimer: every few seconds, takes over entries that some consumer — crashed, killed,
//! stalled — has held longer than `min_idle_secs`, and feeds them through the same pipeline.
//! Entries delivered more than `max_deliveries` times go to the dead-letter stream with that
//! reason, in the same atomic commit that acknowledges them. It also trims acknowledged entries,
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
use crate::store::redis::commit::{commit, script, CommitBatch, DeadLetter, NameCache};
use crate::store::redis::stream::{
    claim, group_info, pending_idle, remove_idle_consumers, trim_acknowledged, EntryId,
};

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
        if p.progress.store_errors_within(interval * 3) {
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
    Ok(())
}

async fn reclaim_once(
    p: &PipelineContext,
    parser: &Slot<RawBatch>,
    script: &redis::Script,
) -> Result<(), String> {
    let min_idle_ms = p.reclaim.min_idle_secs * 1000;
    loop {
        let mut conn = p.redis.get().await.map_err(|e| e.to_string())?;
        let rows = pending_idle(&mut conn, min_idle_ms, p.reclaim.batch)
            .await
            .map_err(|e| e.to_string())?;
        let candidates: Vec<_> = rows
            .into_iter()
            .filter(|r| !p.in_flight.contains(&r.id))
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        // An in-flight slot first, so reclaimed work respects the same bound as new work.
        let permit = tokio::select! {
            permit = p.permits.clone().acquire_owned() => permit.map_err(|e| e.to_string())?,
            _ = p.stopped() => return Ok(()),
        };
        let ids: Vec<EntryId> = candidates.iter().map(|r| r.id).collect();
        let entries = claim(&mut conn, &p.consumer, min_idle_ms, &ids)
            .await
            .map_err(|e| e.to_string())?;
        if entries.is_empty() {
            return Ok(());
        }
        let from: Vec<&str> = candidates.iter().map(|r| r.consumer.as_str()).collect();
        info!(count = entries.len(), from = ?dedup(&from), "reclaimed idle entries");
        metrics::counter!(m::ENTRIES_RECLAIMED).increment(entries.len() as u64);

        let mut exhausted = Vec::new();
        let mut retry = Vec::new();
        for e in entries {
            let deliveries = candidates
                .iter()
                .find(|r| r.id == e.id)
                .map_or(1, |r| r.deliveries + 1);
            if deliveries > p.reclaim.max_deliveries {
                exhausted.push(DeadLetter {
                    id: e.id,
                    reason: format!(
                        "{}: delivered {deliveries} times without completing",
                        dead_kind::MAX_DELIVERIES
                    ),
                    payload: e.payload.unwrap_or_default(),
                });
            } else {
                retry.push(e);
            }
        }
        if !exhausted.is_empty() {
            let batch = CommitBatch {
                consumer: &p.consumer,
                ids: exhausted.iter().map(|d| d.id).collect(),
                dead: exhausted.clone(),
                ..Default::default()
            };
            commit(
                &mut conn,
                script,
                &batch,
                &p.ttls,
                &mut NameCache::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
            for d in &exhausted {
                warn!(entry = %d.id, reason = %d.reason, "entry moved to the dead-letter stream");
            }
            metrics::counter!(m::ENTRIES_DEAD_LETTERED, "reason" => dead_kind::MAX_DELIVERIES)
                .increment(exhausted.len() as u64);
        }
        drop(conn);
        if retry.is_empty() {
            continue;
        }
        let ids: Vec<EntryId> = retry.iter().map(|e| e.id).collect();
        p.in_flight.add(ids.iter().copied());
        let sent = parser
            .send(RawBatch {
                entries: retry,
                origin: Origin::Reclaimed,
                read_at: Instant::now(),
                token: AckToken::new(permit),
            })
            .await;
        if !sent {
            p.in_flight.remove(&ids);
            return Ok(());
        }
    }
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
