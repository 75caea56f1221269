//! Acker: the one place that decides a batch is done. It closes a batch with one atomic Redis
//! commit — counter deltas, duplicate markers, dead letters and XACK together — applied only for
//! entries still pending for this consumer. It never acknowledges anything on an error path: a
//! batch it cannot commit stays pending and is redelivered.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{debug, warn};

use super::context::{now_ms, Backoff, PipelineContext};
use super::messages::{Heartbeat, PlannedBatch};
use crate::metrics as m;
use crate::pipeline::parse::{dead_kind_of, Outcome, ParsedEntry};
use crate::pipeline::prepare::{plan, Plan};
use crate::store::redis::commit::{build, script, send, CommitBatch, CommitOutcome, NameCache};
use crate::store::redis::stream::EntryId;

pub struct Acker {
    pub ctx: Arc<PipelineContext>,
    pub script: redis::Script,
    pub names: Arc<std::sync::Mutex<NameCache>>,
}

impl Acker {
    pub fn new(ctx: Arc<PipelineContext>) -> Self {
        Acker {
            ctx,
            script: script(),
            names: Arc::new(std::sync::Mutex::new(NameCache::default())),
        }
    }
}

impl Actor for Acker {
    type Context = Context<Self>;
}

impl Handler<Heartbeat> for Acker {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

impl Handler<PlannedBatch> for Acker {
    type Result = ();

    fn handle(&mut self, batch: PlannedBatch, ctx: &mut Self::Context) {
        let p = self.ctx.clone();
        let script = self.script.clone();
        let names = self.names.clone();
        ctx.spawn(
            async move {
                close(&p, &script, &names, &batch.parsed, batch.plan).await;
                metrics::histogram!(m::STAGE_SECONDS, "stage" => "pipeline")
                    .record(batch.read_at.elapsed().as_secs_f64());
                drop(batch.token);
            }
            .into_actor(self),
        );
    }
}

/// Commits until done, replanning when entries were taken over or signatures already counted.
async fn close(
    p: &PipelineContext,
    script: &redis::Script,
    names: &std::sync::Mutex<NameCache>,
    parsed: &[ParsedEntry],
    mut current: Plan,
) {
    let mut not_owned: HashSet<EntryId> = HashSet::new();
    let mut counted: HashSet<crate::domain::Signature> = HashSet::new();
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
    loop {
        if current.ids.is_empty() {
            return;
        }
        let batch = CommitBatch {
            consumer: &p.consumer,
            ids: current.ids.clone(),
            markers: current.markers.clone(),
            dead: current.dead.clone(),
            deltas: Some(&current.deltas),
        };
        let started = Instant::now();
        let result = match p.redis.get().await {
            Ok(mut conn) => {
                let (cmd, ticket) = {
                    let mut cache = names.lock().unwrap_or_else(|e| e.into_inner());
                    build(script, &batch, &p.ttls, &mut cache)
                };
                let sent = Instant::now();
                metrics::histogram!(m::COMMIT_ENTRIES).record(batch.ids.len() as f64);
                let reply = send(&mut conn, script, &cmd).await;
                if reply.is_ok() {
                    metrics::histogram!(m::REDIS_SECONDS, "op" => "commit")
                        .record(sent.elapsed().as_secs_f64());
                }
                // Bucketed TTLs: remember the keys given a TTL only once the commit is applied;
                // after an error Redis may have lost keys, so forget them all.
                let mut cache = names.lock().unwrap_or_else(|e| e.into_inner());
                match &reply {
                    Ok(CommitOutcome::Committed(_)) => cache.confirm(ticket),
                    Ok(_) => {}
                    Err(_) => cache.forget_expiries(),
                }
                drop(cache);
                reply.map_err(|e| e.to_string())
            }
            Err(e) => {
                names
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .forget_expiries();
                Err(e.to_string())
            }
        };
        match result {
            Ok(CommitOutcome::Committed(n)) => {
                metrics::histogram!(m::STAGE_SECONDS, "stage" => "commit")
                    .record(started.elapsed().as_secs_f64());
                record_committed(p, parsed, &current, &not_owned, n);
                return;
            }
            Ok(CommitOutcome::NotOwned(ids)) => {
                metrics::counter!(m::COMMIT_CONFLICTS, "kind" => "not_owned").increment(1);
                debug!(
                    count = ids.len(),
                    "entries taken over by another consumer; leaving them to it"
                );
                not_owned.extend(ids);
                current = plan(parsed, &not_owned, &counted, &p.inference.quotes);
            }
            Ok(CommitOutcome::Duplicates(sigs)) => {
                metrics::counter!(m::COMMIT_CONFLICTS, "kind" => "duplicate").increment(1);
                counted.extend(sigs);
                current = plan(parsed, &not_owned, &counted, &p.inference.quotes);
            }
            Err(e) => {
                metrics::counter!(m::REDIS_ERRORS, "op" => "commit").increment(1);
                p.progress.store_error();
                warn!(error = %e, "batch commit failed; retrying (nothing acknowledged)");
                if p.stopping() {
                    // Shutting down with Redis unavailable: the entries stay pending and are
                    // redelivered after the restart.
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                    _ = p.stopped() => {}
                }
            }
        }
    }
}

fn record_committed(
    p: &PipelineContext,
    parsed: &[ParsedEntry],
    plan: &Plan,
    not_owned: &HashSet<EntryId>,
    acked: u64,
) {
    p.progress.batches_committed.fetch_add(1, Ordering::Relaxed);
    p.progress
        .entries_committed
        .fetch_add(acked, Ordering::Relaxed);
    metrics::counter!(m::ENTRIES_PROCESSED).increment(acked);
    for (reason, n) in &plan.filtered {
        metrics::counter!(m::ENTRIES_FILTERED, "reason" => reason.as_str()).increment(*n);
    }
    for d in &plan.dead {
        metrics::counter!(m::ENTRIES_DEAD_LETTERED, "reason" => dead_kind_of(&d.reason))
            .increment(1);
        warn!(entry = %d.id, reason = %d.reason, "entry moved to the dead-letter stream");
    }
    if plan.duplicates > 0 {
        metrics::counter!(m::DUPLICATES).increment(plan.duplicates);
    }
    let marked: HashSet<_> = plan.markers.iter().map(|(_, s)| *s).collect();
    let mut newest_block_time = None;
    for e in parsed.iter().filter(|e| !not_owned.contains(&e.id)) {
        if let Outcome::Swaps {
            signature,
            swaps,
            block_time,
            ..
        } = &e.outcome
        {
            if !marked.contains(signature) {
                continue;
            }
            newest_block_time = newest_block_time.max(Some(*block_time));
            for s in swaps {
                metrics::counter!(m::SWAPS, "side" => s.side.as_str(), "venue" => p.inference.venues.name(s.venue).to_string())
                    .increment(1);
            }
        }
    }
    record_latencies(&plan.ids);
    if let Some(t) = newest_block_time {
        metrics::gauge!(m::BLOCK_TIME_LAG_SECONDS).set((now_ms() / 1000) as f64 - t as f64);
    }
}

/// End-to-end latency (XADD by ingest → this commit) of every entry, bucketed here so the
/// histogram sees one call per bucket rather than one per entry.
fn record_latencies(ids: &[EntryId]) {
    let now = now_ms();
    let buckets = m::LATENCY_BUCKETS;
    let mut counts = vec![0usize; buckets.len()];
    let histogram = metrics::histogram!(m::END_TO_END_SECONDS);
    for id in ids {
        let seconds = now.saturating_sub(id.ms) as f64 / 1000.0;
        match buckets.iter().position(|le| seconds <= *le) {
            Some(i) => counts[i] += 1,
            None => histogram.record(seconds),
        }
    }
    for (le, n) in buckets.iter().zip(counts) {
        if n > 0 {
            histogram.record_many(*le, n);
        }
    }
}
