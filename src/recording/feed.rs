//! A recording as the stream ingest would have written from it: decoded transactions with the
//! block times ingest's [`SlotBuffer`] gives them (same hold, same estimates), in the order
//! they would have been released. `replay` writes these to Redis; `backtest --source DIR`
//! infers their swaps.
//!
//! Ingest's slot buffer runs on the wall clock (a slot without its meta is released after the
//! hold); here the clock is the recorded arrival time (`created_at`), so the replay releases at
//! the same points however fast it runs.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::SubscribeUpdate;

use super::{RecordingError, RecordingReader};
use crate::domain::proto::from_update;
use crate::domain::Transaction;
use crate::ingest::slots::SlotBuffer;

/// What a pass over a recording saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FeedStats {
    pub updates: u64,
    pub transactions: u64,
    pub block_metas: u64,
    /// Transaction updates that do not decode (ingest counts and skips them too).
    pub undecodable: u64,
    /// Files with a torn tail (crash) or corrupt content; reported, then skipped past.
    pub damaged_files: u64,
}

/// Iterates over the transactions of a recording, block times filled.
pub struct TimedTransactions {
    reader: RecordingReader,
    slots: SlotBuffer,
    ready: VecDeque<Transaction>,
    /// Virtual clock: `base` is the first update's arrival.
    base: Instant,
    first_arrival: Option<SystemTime>,
    now: Instant,
    drained: bool,
    pub stats: FeedStats,
}

impl TimedTransactions {
    /// `hold`: ingest's `block_time_hold_ms` (0: estimate at once, as ingest does by default).
    pub fn open(path: &Path, hold: Duration) -> Result<Self, RecordingError> {
        let base = Instant::now();
        Ok(TimedTransactions {
            reader: RecordingReader::open(path)?,
            slots: SlotBuffer::new(hold),
            ready: VecDeque::new(),
            base,
            first_arrival: None,
            now: base,
            drained: false,
            stats: FeedStats::default(),
        })
    }

    pub fn reader(&self) -> &RecordingReader {
        &self.reader
    }

    fn advance_clock(&mut self, update: &SubscribeUpdate) {
        let Some(at) = update
            .created_at
            .as_ref()
            .and_then(|t| SystemTime::try_from(*t).ok())
        else {
            return;
        };
        let first = *self.first_arrival.get_or_insert(at);
        let offset = at.duration_since(first).unwrap_or_default();
        self.now = self.now.max(self.base + offset);
    }

    fn take(&mut self, update: SubscribeUpdate) {
        self.stats.updates += 1;
        self.advance_clock(&update);
        match update.update_oneof {
            Some(UpdateOneof::Transaction(t)) => {
                self.stats.transactions += 1;
                match from_update(&t) {
                    Ok(tx) => {
                        if let Some(tx) = self.slots.push(tx, self.now) {
                            self.ready.push_back(tx);
                        }
                    }
                    Err(_) => self.stats.undecodable += 1,
                }
            }
            Some(UpdateOneof::BlockMeta(meta)) => {
                self.stats.block_metas += 1;
                let released = self
                    .slots
                    .block_meta(meta.slot, meta.block_time.map(|t| t.timestamp));
                self.ready.extend(released);
            }
            _ => {}
        }
        let expired = self.slots.expire(self.now);
        self.ready.extend(expired);
    }
}

impl Iterator for TimedTransactions {
    /// `Err`: a damaged file (reported; the iteration goes on with the next file).
    type Item = Result<Transaction, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(tx) = self.ready.pop_front() {
                return Some(Ok(tx));
            }
            if self.drained {
                return None;
            }
            match self.reader.next() {
                Some(Ok(update)) => self.take(*update),
                Some(Err(e)) => {
                    self.stats.damaged_files += 1;
                    return Some(Err(e));
                }
                None => {
                    // The end of the recording is ingest's shutdown: what is held goes out
                    // with estimates.
                    self.drained = true;
                    let rest = self.slots.drain();
                    self.ready.extend(rest);
                }
            }
        }
    }
}
