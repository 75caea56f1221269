//! Holds transactions until their slot's block time is known, and tracks which slots are complete.
//!
//! A Yellowstone transaction update carries no block time; `blocks_meta` announces it once the
//! block is done, i.e. after its transactions. Two modes:
//! - `max_hold` = 0 (default): estimate at once from the newest known slot (400 ms per slot, error
//!   about a second), so ingest adds no latency. The estimate is written into the payload, so the
//!   counters are still a pure function of the stream (a replay gives the same numbers).
//! - `max_hold` > 0: wait up to that long for the slot's own block time (exact, but adds up to a
//!   slot of latency). A slot whose meta never comes is released with an estimate.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::domain::Transaction;

/// Milliseconds per slot, for estimates only.
const SLOT_MS: i64 = 400;

pub struct SlotBuffer {
    waiting: BTreeMap<u64, (Instant, Vec<Transaction>)>,
    /// Recent slot → block time, from blocks_meta.
    times: BTreeMap<u64, i64>,
    max_hold: Duration,
    /// Newest slot announced by blocks_meta (the chain tip we see).
    pub tip: Option<u64>,
}

impl SlotBuffer {
    pub fn new(max_hold: Duration) -> Self {
        SlotBuffer {
            waiting: BTreeMap::new(),
            times: BTreeMap::new(),
            max_hold,
            tip: None,
        }
    }

    /// Adds a transaction; returns it at once if its block time is already known.
    pub fn push(&mut self, mut tx: Transaction, now: Instant) -> Option<Transaction> {
        if tx.block_time.is_none() {
            tx.block_time = self.times.get(&tx.slot).copied();
        }
        if tx.block_time.is_some() {
            return Some(tx);
        }
        if self.max_hold.is_zero() {
            if let Some(estimate) = self.estimate(tx.slot) {
                tx.block_time = Some(estimate);
                return Some(tx);
            }
        }
        self.waiting
            .entry(tx.slot)
            .or_insert_with(|| (now, Vec::new()))
            .1
            .push(tx);
        None
    }

    /// Records a block time; returns the slot's held transactions, now complete.
    pub fn block_meta(&mut self, slot: u64, block_time: Option<i64>) -> Vec<Transaction> {
        self.tip = Some(self.tip.map_or(slot, |t| t.max(slot)));
        let Some(time) = block_time else {
            return Vec::new();
        };
        self.times.insert(slot, time);
        while self.times.len() > 10_000 {
            self.times.pop_first();
        }
        let mut out = self
            .waiting
            .remove(&slot)
            .map(|(_, txs)| txs)
            .unwrap_or_default();
        for tx in &mut out {
            tx.block_time = Some(time);
        }
        out
    }

    /// Releases slots held longer than `max_hold`, with estimated block times.
    pub fn expire(&mut self, now: Instant) -> Vec<Transaction> {
        // Without hold, transactions wait only for a first reference time (or 3 s at startup).
        let hold = match (self.max_hold.is_zero(), self.times.is_empty()) {
            (true, true) => Duration::from_secs(3),
            (true, false) => Duration::ZERO,
            (false, _) => self.max_hold,
        };
        let stale: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (since, _))| now.duration_since(*since) >= hold)
            .map(|(slot, _)| *slot)
            .collect();
        let mut out = Vec::new();
        for slot in stale {
            let estimate = self.estimate(slot);
            if let Some((_, txs)) = self.waiting.remove(&slot) {
                out.extend(txs.into_iter().map(|mut tx| {
                    tx.block_time = estimate;
                    tx
                }));
            }
        }
        out
    }

    fn estimate(&self, slot: u64) -> Option<i64> {
        let before = self.times.range(..=slot).next_back();
        let after = self.times.range(slot..).next();
        let (known, time) = match (before, after) {
            (Some(b), Some(a)) if slot - b.0 <= a.0 - slot => b,
            (Some(b), None) => b,
            (_, Some(a)) => a,
            (None, None) => return None,
        };
        let offset_ms = (slot as i64 - *known as i64) * SLOT_MS;
        Some(time + offset_ms.div_euclid(1000))
    }

    /// The oldest slot still held (its transactions are not in the stream yet).
    pub fn oldest_held(&self) -> Option<u64> {
        self.waiting.keys().next().copied()
    }

    pub fn held(&self) -> usize {
        self.waiting.values().map(|(_, v)| v.len()).sum()
    }

    /// Everything held, with estimates (shutdown).
    pub fn drain(&mut self) -> Vec<Transaction> {
        let slots: Vec<u64> = self.waiting.keys().copied().collect();
        let mut out = Vec::new();
        for slot in slots {
            let estimate = self.estimate(slot);
            if let Some((_, txs)) = self.waiting.remove(&slot) {
                out.extend(txs.into_iter().map(|mut tx| {
                    tx.block_time = estimate;
                    tx
                }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample_transaction;

    fn tx(slot: u64) -> Transaction {
        let mut t = sample_transaction();
        t.slot = slot;
        t.block_time = None;
        t
    }

    #[test]
    fn transactions_wait_for_their_block_time() {
        let mut b = SlotBuffer::new(Duration::from_secs(2));
        let now = Instant::now();
        assert!(b.push(tx(10), now).is_none());
        assert_eq!(b.held(), 1);
        let released = b.block_meta(10, Some(1_700_000_000));
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].block_time, Some(1_700_000_000));
        // Later transactions of a known slot pass straight through.
        assert_eq!(b.push(tx(10), now).unwrap().block_time, Some(1_700_000_000));
    }

    #[test]
    fn a_slot_without_meta_is_released_with_an_estimate() {
        let mut b = SlotBuffer::new(Duration::from_millis(10));
        let start = Instant::now();
        b.block_meta(100, Some(1_000));
        assert!(b.push(tx(105), start).is_none());
        assert!(b.expire(start).is_empty());
        let out = b.expire(start + Duration::from_millis(20));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].block_time, Some(1_002), "5 slots × 0.4 s later");
        assert_eq!(b.oldest_held(), None);
    }

    #[test]
    fn without_hold_block_times_are_estimated_at_once() {
        let mut b = SlotBuffer::new(Duration::ZERO);
        let now = Instant::now();
        // Nothing known yet: held until the first meta gives a reference.
        assert!(b.push(tx(12), now).is_none());
        let released = b.block_meta(10, Some(1_000));
        assert!(released.is_empty());
        assert_eq!(
            b.expire(now).first().and_then(|t| t.block_time),
            Some(1_000)
        );
        assert_eq!(b.push(tx(15), now).unwrap().block_time, Some(1_002));
    }

    #[test]
    fn the_tip_is_the_newest_announced_slot() {
        let mut b = SlotBuffer::new(Duration::from_secs(1));
        b.block_meta(7, None);
        b.block_meta(5, Some(1));
        assert_eq!(b.tip, Some(7));
    }
}
