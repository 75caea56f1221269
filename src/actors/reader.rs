//! Reader: pulls batches from the consumer group and hands them to the parser pool.
//!
//! It first re-reads this consumer's own pending entries (a restart of the same instance picks up
//! exactly what it had read but not finished), then new entries. It takes an in-flight slot before
//! each read, so at most `pipeline_depth` batches exist between read and acknowledgement.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{info, warn};

use super::context::{Backoff, PipelineContext};
use super::messages::{AckToken, Heartbeat, Origin, RawBatch};
use super::slot::Slot;
use crate::metrics as m;
use crate::store::redis::stream::{ensure_group, read_new, read_own_pending, EntryId};

pub struct Reader {
    pub ctx: Arc<PipelineContext>,
    pub next: Slot<RawBatch>,
}

impl Actor for Reader {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let run = read_loop(self.ctx.clone(), self.next.clone());
        ctx.spawn(run.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl Handler<Heartbeat> for Reader {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

async fn read_loop(p: Arc<PipelineContext>, next: Slot<RawBatch>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    // Our own unfinished entries first; `None` once they are all re-read.
    let mut history: Option<EntryId> = Some(EntryId { ms: 0, seq: 0 });
    loop {
        let waited = Instant::now();
        let permit = tokio::select! {
            permit = p.permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = p.stopped() => return,
        };
        // Backpressure: all `pipeline_depth` batches out means the reader waits here.
        metrics::histogram!(m::DOWNSTREAM_WAIT_SECONDS, "stage" => "in_flight_slot")
            .record(waited.elapsed().as_secs_f64());
        if p.stopping() {
            return;
        }
        let mut conn = match p.redis.get().await {
            Ok(c) => c,
            Err(e) => {
                metrics::counter!(m::REDIS_ERRORS, "op" => "connect").increment(1);
                p.progress.store_error();
                warn!(error = %e, "reader: no Redis connection");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let started = Instant::now();
        let read = match history {
            Some(after) => read_own_pending(&mut conn, &p.consumer, p.read_count, after).await,
            None => read_new(&mut conn, &p.consumer, p.read_count, p.block_ms).await,
        };
        let entries = match read {
            Ok(entries) => entries,
            Err(e) => {
                metrics::counter!(m::REDIS_ERRORS, "op" => "xreadgroup").increment(1);
                p.progress.store_error();
                if e.code() == Some("NOGROUP") {
                    if let Ok(mut c) = p.redis.get().await {
                        let _ = ensure_group(&mut c).await;
                    }
                } else {
                    warn!(error = %e, "reader: XREADGROUP failed");
                }
                // The read may have run on the server with its reply lost (connection reset):
                // those entries are now pending for us and nobody else will look at them soon.
                // Re-read our own pending history next.
                history = Some(EntryId { ms: 0, seq: 0 });
                drop(conn);
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        backoff.reset();
        // Only reads that brought entries: an empty read measures BLOCK, not Redis.
        if !entries.is_empty() {
            metrics::histogram!(m::REDIS_SECONDS, "op" => "xreadgroup")
                .record(started.elapsed().as_secs_f64());
        }
        let mut entries = entries;
        if history.is_none() && !entries.is_empty() {
            top_up(&p, &mut conn, &mut entries).await;
        }
        drop(conn);
        if let Some(after) = history {
            let last = entries.last().map(|e| e.id);
            // Our history includes batches still moving through the pipeline; leave those.
            entries.retain(|e| !p.in_flight.contains(&e.id));
            match last {
                Some(last) => {
                    history = Some(last);
                    if after.ms == 0 && after.seq == 0 {
                        info!(consumer = %p.consumer, "resuming this consumer's unfinished entries");
                    }
                }
                None => {
                    history = None;
                    continue;
                }
            }
        }
        if entries.is_empty() {
            continue;
        }
        metrics::histogram!(m::BATCH_SIZE).record(entries.len() as f64);
        let ids: Vec<EntryId> = entries.iter().map(|e| e.id).collect();
        let batch = RawBatch {
            entries,
            origin: Origin::Read,
            read_at: Instant::now(),
            token: AckToken::new(permit, ids, p.clone()),
        };
        if !next.send("reader", batch).await {
            // The parser is being rebuilt; the entries stay pending and come back.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// How often a lingering read looks for more entries (one non-blocking XREADGROUP each).
const LINGER_POLL: Duration = Duration::from_millis(5);

/// Under load, small batches waste work: the commit script, the PostgreSQL insert and every
/// distinct key cost about the same for 50 entries as for 2,000, and when reader and writer share
/// the CPU that per-batch cost is what shrinks the next batch again. So while other batches are
/// still downstream, a read that came back less than half full waits for more: until it is half
/// full, until the downstream runs dry (no other batch in flight: waiting would only leave it
/// idle), or for at most `linger`. With an idle pipeline the batch goes at once, so low load adds
/// no latency; under load an entry waits at most `linger` more.
async fn top_up(
    p: &PipelineContext,
    conn: &mut deadpool_redis::Connection,
    entries: &mut Vec<crate::store::redis::stream::StreamEntry>,
) {
    if p.linger.is_zero() {
        return;
    }
    let started = Instant::now();
    let target = p.read_count / 2;
    // This batch's token does not exist yet: every batch counted here is another one.
    while entries.len() < target && p.in_flight.batches() > 0 {
        let left = p.linger.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        tokio::select! {
            _ = p.in_flight.batch_finished() => {}
            _ = tokio::time::sleep(left.min(LINGER_POLL)) => {}
        }
        let want = p.read_count - entries.len();
        match read_new(conn, &p.consumer, want, 0).await {
            Ok(more) => entries.extend(more),
            Err(_) => break,
        }
    }
    metrics::histogram!(m::STAGE_SECONDS, "stage" => "linger")
        .record(started.elapsed().as_secs_f64());
}
