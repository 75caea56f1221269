//! The Redis half of ingest: turns feed events into pipelined XADD batches, keeps the slot
//! checkpoint, and pauses the feed at the backlog cap.
//!
//! Nothing is dropped: a batch that fails to write is retried until it succeeds (or shutdown, after
//! which the feed resumes from the checkpoint and replays it). The stream is never trimmed here;
//! backpressure is the only answer to a slow consumer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::slots::SlotBuffer;
use crate::domain::{wire, Transaction};
use crate::metrics as m;
use crate::store::redis::keys;
use crate::store::redis::stream::{append, group_info};

/// Slots the persisted checkpoint stays behind the newest complete slot.
pub const CHECKPOINT_MARGIN_SLOTS: u64 = 32;

/// What the feed reports to the writer.
#[derive(Debug)]
pub enum FeedEvent {
    Transaction(Box<Transaction>),
    BlockMeta {
        slot: u64,
        block_time: Option<i64>,
    },
    Connected {
        from_slot: Option<u64>,
    },
    Disconnected {
        reason: String,
    },
    /// The server no longer had the checkpoint slot; the feed restarted at the live head.
    FromSlotUnavailable {
        requested: u64,
    },
    Undecodable {
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub linger: Duration,
    pub backlog_cap: u64,
    pub backlog_resume: u64,
    pub max_hold: Duration,
}

/// Shared between the writer and the feed: the slot to resume from after a reconnect.
#[derive(Default)]
pub struct Checkpoint(AtomicU64);

impl Checkpoint {
    pub fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }

    pub fn set(&self, slot: u64) {
        self.0.fetch_max(slot, Ordering::Relaxed);
    }
}

/// Reads the persisted checkpoint (a restarted ingest resumes where the last one stopped).
pub async fn load_checkpoint(redis: &deadpool_redis::Pool) -> Option<u64> {
    let mut conn = redis.get().await.ok()?;
    redis::cmd("GET")
        .arg(keys::INGEST_CHECKPOINT)
        .query_async::<Option<u64>>(&mut conn)
        .await
        .ok()
        .flatten()
}

struct State {
    pending: Vec<Transaction>,
    first_pending: Option<Instant>,
    slots: SlotBuffer,
    /// Newest slot with its block meta seen, all of whose transactions were released.
    complete_upto: Option<u64>,
    paused_since: Option<Instant>,
    last_backlog_check: Instant,
    /// Oldest slot this feed delivered: the checkpoint never goes below it (an earlier slot may
    /// never have existed on the server, which would refuse it as unavailable).
    first_slot: Option<u64>,
    /// Backlog at the last check plus what was written since: between checks the cap is
    /// enforced against this estimate, so a fast feed cannot overshoot it by a whole interval.
    backlog_estimate: u64,
}

/// Runs until `events` closes or shutdown; flushes what it holds before returning.
pub async fn run_writer(
    mut events: mpsc::Receiver<FeedEvent>,
    redis: deadpool_redis::Pool,
    config: WriterConfig,
    checkpoint: Arc<Checkpoint>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut s = State {
        pending: Vec::with_capacity(config.batch_size),
        first_pending: None,
        slots: SlotBuffer::new(config.max_hold),
        complete_upto: None,
        paused_since: None,
        last_backlog_check: Instant::now() - Duration::from_secs(10),
        backlog_estimate: 0,
        first_slot: None,
    };
    let tick = Duration::from_millis(50).min(config.linger.max(Duration::from_millis(1)));
    loop {
        if *shutdown.borrow() {
            break;
        }
        if backpressure(&redis, &config, &mut s).await {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let next = tokio::select! {
            e = events.recv() => match e {
                Some(e) => Next::Event(e),
                None => Next::Closed,
            },
            _ = tokio::time::sleep(tick) => Next::Tick,
            _ = shutdown.changed() => Next::Stop,
        };
        let now = Instant::now();
        match next {
            Next::Event(event) => handle(event, &mut s, now),
            Next::Tick => {}
            Next::Closed | Next::Stop => break,
        }
        for tx in s.slots.expire(now) {
            queue(&mut s, tx, now);
        }
        let due = s
            .first_pending
            .is_some_and(|t| now.duration_since(t) >= config.linger);
        let full = s.pending.len() >= config.batch_size;
        if (full || (due && !s.pending.is_empty()))
            && !flush(&redis, &mut s, &checkpoint, &shutdown).await
        {
            return;
        }
    }
    // Shutdown: write what we hold (estimated block times for slots without meta).
    for tx in s.slots.drain() {
        let now = Instant::now();
        queue(&mut s, tx, now);
    }
    if !s.pending.is_empty() {
        let _ = flush(&redis, &mut s, &checkpoint, &shutdown).await;
    }
}

enum Next {
    Event(FeedEvent),
    Tick,
    Closed,
    Stop,
}

fn handle(event: FeedEvent, s: &mut State, now: Instant) {
    match event {
        FeedEvent::Transaction(tx) => {
            s.first_slot = Some(s.first_slot.map_or(tx.slot, |f| f.min(tx.slot)));
            if let Some(tx) = s.slots.push(*tx, now) {
                queue(s, tx, now);
            }
        }
        FeedEvent::BlockMeta { slot, block_time } => {
            for tx in s.slots.block_meta(slot, block_time) {
                queue(s, tx, now);
            }
            if block_time.is_some() {
                s.complete_upto = Some(s.complete_upto.map_or(slot, |c| c.max(slot)));
            }
            metrics::gauge!(m::CHAIN_TIP_SLOT).set(slot as f64);
        }
        FeedEvent::Connected { from_slot } => info!(?from_slot, "feed connected"),
        FeedEvent::Disconnected { reason } => {
            metrics::counter!(m::INGEST_RECONNECTS).increment(1);
            warn!(%reason, "feed disconnected; reconnecting");
        }
        FeedEvent::FromSlotUnavailable { requested } => {
            metrics::counter!(m::INGEST_SLOT_GAPS).increment(1);
            warn!(
                requested,
                "the feed no longer has the checkpoint slot; resuming at the live head (gap counted)"
            );
        }
        FeedEvent::Undecodable { error } => {
            metrics::counter!(m::INGEST_UNDECODABLE).increment(1);
            warn!(%error, "undecodable feed update skipped");
        }
    }
}

fn queue(s: &mut State, tx: Transaction, now: Instant) {
    if s.pending.is_empty() {
        s.first_pending = Some(now);
    }
    s.pending.push(tx);
}

/// Writes the pending batch and advances the checkpoint; false if shutdown interrupted a retry.
async fn flush(
    redis: &deadpool_redis::Pool,
    s: &mut State,
    checkpoint: &Checkpoint,
    shutdown: &watch::Receiver<bool>,
) -> bool {
    let payloads: Vec<Vec<u8>> = s.pending.iter().map(wire::encode).collect();
    let newest = s.pending.iter().map(|t| t.slot).max();
    let mut delay = Duration::from_millis(50);
    loop {
        let written = match redis.get().await {
            Ok(mut conn) => {
                let started = Instant::now();
                let appended = append(&mut conn, &payloads).await;
                if appended.is_ok() {
                    metrics::histogram!(m::REDIS_SECONDS, "op" => "xadd")
                        .record(started.elapsed().as_secs_f64());
                }
                appended.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(_) => break,
            Err(e) => {
                metrics::counter!(m::REDIS_ERRORS, "op" => "xadd").increment(1);
                warn!(error = %e, "XADD failed; retrying the batch");
                if *shutdown.borrow() {
                    return false;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    metrics::counter!(m::ENTRIES_INGESTED).increment(payloads.len() as u64);
    s.backlog_estimate += payloads.len() as u64;
    s.pending.clear();
    s.first_pending = None;
    if let Some(newest) = newest {
        metrics::gauge!(m::INGESTED_SLOT).set(newest as f64);
        if let Some(tip) = s.slots.tip {
            metrics::gauge!(m::SLOT_LAG).set(tip.saturating_sub(newest) as f64);
        }
    }
    // Every slot up to here is in the stream unless some older slot is still held.
    let safe = match (s.complete_upto, s.slots.oldest_held()) {
        (Some(c), Some(held)) => Some(c.min(held.saturating_sub(1))),
        (Some(c), None) => Some(c),
        _ => None,
    };
    // Geyser does not promise that a slot's transactions all arrive before its block meta; resume
    // a few slots early and let the consumers' duplicate guard absorb the overlap.
    let resume = safe.map(|c| {
        let early = c.saturating_sub(CHECKPOINT_MARGIN_SLOTS);
        s.first_slot.map_or(early, |first| early.max(first))
    });
    if let Some(slot) = resume {
        checkpoint.set(slot);
        if let Ok(mut conn) = redis.get().await {
            let _: Result<(), _> = redis::cmd("SET")
                .arg(keys::INGEST_CHECKPOINT)
                .arg(checkpoint.get().unwrap_or(slot))
                .query_async(&mut conn)
                .await;
        }
    }
    true
}

/// Checks the group backlog (at most every 250 ms); true while ingest must pause.
async fn backpressure(redis: &deadpool_redis::Pool, config: &WriterConfig, s: &mut State) -> bool {
    let near_cap = s.paused_since.is_none() && s.backlog_estimate >= config.backlog_cap;
    if !near_cap && s.last_backlog_check.elapsed() < Duration::from_millis(250) {
        return s.paused_since.is_some();
    }
    s.last_backlog_check = Instant::now();
    let Ok(mut conn) = redis.get().await else {
        return s.paused_since.is_some();
    };
    let Ok(info) = group_info(&mut conn).await else {
        return s.paused_since.is_some();
    };
    let backlog = info.backlog();
    s.backlog_estimate = backlog;
    match s.paused_since {
        None if backlog >= config.backlog_cap => {
            warn!(
                backlog,
                cap = config.backlog_cap,
                "backlog at its cap: pausing the feed"
            );
            metrics::gauge!(m::INGEST_BACKPRESSURE).set(1.0);
            s.paused_since = Some(Instant::now());
            true
        }
        Some(since) if backlog <= config.backlog_resume => {
            let paused = since.elapsed();
            metrics::counter!(m::INGEST_BACKPRESSURE_SECONDS).increment(paused.as_secs());
            metrics::gauge!(m::INGEST_BACKPRESSURE).set(0.0);
            info!(backlog, ?paused, "backlog drained: resuming the feed");
            s.paused_since = None;
            false
        }
        Some(_) => true,
        None => false,
    }
}
