//! What the consume-side actors share: connections, settings, the in-flight bound, shutdown.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use crate::domain::InferenceConfig;
use crate::store::redis::commit::Ttls;
use crate::store::redis::stream::EntryId;

/// Counters the supervisor and tests read to see progress.
#[derive(Default)]
pub struct Progress {
    pub batches_committed: AtomicU64,
    pub entries_committed: AtomicU64,
    /// Unix ms of the last Redis or PostgreSQL error; the reclaimer holds off while errors are
    /// recent, so an outage never turns healthy entries into dead letters.
    pub last_store_error_ms: AtomicU64,
}

impl Progress {
    pub fn store_error(&self) {
        self.last_store_error_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn store_errors_within(&self, window: Duration) -> bool {
        let last = self.last_store_error_ms.load(Ordering::Relaxed);
        last != 0 && now_ms().saturating_sub(last) < window.as_millis() as u64
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Entry ids somewhere in this process's pipeline; the reclaimer leaves them alone. Also counts
/// the batches they travel in, exported as `pocketwatcher_batches_in_flight` (backpressure: at
/// `pipeline_depth` the reader waits).
#[derive(Default)]
pub struct InFlight {
    ids: Mutex<HashSet<EntryId>>,
    batches: AtomicU64,
    /// Woken whenever a batch is taken off (the reader's linger stops when the pipeline drains).
    finished: tokio::sync::Notify,
}

impl InFlight {
    /// Registers one batch of `ids`.
    pub fn add(&self, ids: impl IntoIterator<Item = EntryId>) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
        let n = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(crate::metrics::BATCHES_IN_FLIGHT).set(n as f64);
    }

    /// Takes one batch of `ids` off (acknowledged or dropped).
    pub fn remove(&self, ids: &[EntryId]) {
        let mut set = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            set.remove(id);
        }
        drop(set);
        let before = self
            .batches
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        metrics::gauge!(crate::metrics::BATCHES_IN_FLIGHT).set(before.saturating_sub(1) as f64);
        self.finished.notify_waiters();
    }

    /// Resolves the next time a batch is taken off.
    pub async fn batch_finished(&self) {
        self.finished.notified().await;
    }

    pub fn contains(&self, id: &EntryId) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    /// Batches registered and not yet taken off.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// Consume-side settings and shared handles.
pub struct PipelineContext {
    pub consumer: String,
    pub redis: deadpool_redis::Pool,
    pub postgres: crate::store::postgres::PgPool,
    /// The swap store's COPY connections for large batches (beside `postgres`).
    pub swap_copy: crate::store::postgres::CopyPool,
    pub inference: Arc<InferenceConfig>,
    pub parser_pool: Arc<rayon::ThreadPool>,
    pub ttls: Ttls,
    pub read_count: usize,
    pub block_ms: u64,
    /// How long a small batch may wait for more entries while the pipeline is busy.
    pub linger: Duration,
    pub pipeline_depth: usize,
    pub permits: Arc<Semaphore>,
    pub in_flight: InFlight,
    pub progress: Progress,
    pub shutdown: watch::Receiver<bool>,
    pub reclaim: crate::config::ReclaimConfig,
    pub started: Instant,
}

impl PipelineContext {
    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits until shutdown is signalled.
    pub async fn stopped(&self) {
        let mut rx = self.shutdown.clone();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Exponential backoff for retries inside actors.
pub struct Backoff {
    current: Duration,
    initial: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            current: initial,
            initial,
            max,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}
