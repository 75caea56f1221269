//! Scripted traffic: an explicit list of transactions, streamed in order as given.
//!
//! Generated traffic cannot say "these 25 buys of one mint by four wallets within three minutes";
//! detection tests need exactly that. A script keeps every key and signature of its transactions
//! and puts each in the slot it names; slots may be sparse but never go back. The block meta sent
//! after a slot's last transaction carries the block time the script gives that slot.

use std::collections::BTreeMap;

use yellowstone_grpc_proto::prelude::{
    BlockHeight, SubscribeUpdateBlockMeta, SubscribeUpdateTransaction, UnixTimestamp,
};

use crate::domain::proto::to_update;
use crate::domain::Transaction;

use super::traffic::mix;
use super::FakeGeyserError;

/// One transaction of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedTx {
    /// Replaces the transaction's own slot; never smaller than the previous entry's.
    pub slot: u64,
    /// Block time (unix seconds) of the slot; entries of one slot must agree.
    pub block_time: i64,
    /// Sent as is, except slot, index (its position in the slot) and block time (a Yellowstone
    /// transaction update has none: the block meta brings it).
    pub tx: Transaction,
}

/// A used slot: where its transactions are and its block time.
#[derive(Debug, Clone, Copy)]
struct SlotInfo {
    /// Sequence number of its first transaction.
    first: u64,
    count: u64,
    block_time: i64,
    /// Position among the used slots (for the block height).
    ordinal: u64,
}

/// A validated script with its protobuf updates built once.
pub(crate) struct Script {
    entries: Vec<(Transaction, SubscribeUpdateTransaction)>,
    slots: BTreeMap<u64, SlotInfo>,
    /// A recording's pace: when each entry arrived, after the first (non-decreasing).
    offsets: Option<Vec<std::time::Duration>>,
}

impl Script {
    /// A recording (see [`super::recorded`]): each transaction with the update exactly as
    /// recorded, and its arrival offset, which paces `fake-geyser --recording`.
    pub(crate) fn recorded(
        list: Vec<(ScriptedTx, SubscribeUpdateTransaction, std::time::Duration)>,
    ) -> Result<Self, FakeGeyserError> {
        let mut offsets = Vec::with_capacity(list.len());
        let mut updates = Vec::with_capacity(list.len());
        let mut items = Vec::with_capacity(list.len());
        for (item, update, at) in list {
            let at = offsets
                .last()
                .map_or(at, |&last: &std::time::Duration| last.max(at));
            offsets.push(at);
            updates.push(update);
            items.push(item);
        }
        let mut script = Script::new(items)?;
        for ((tx, update), recorded) in script.entries.iter_mut().zip(updates) {
            // Keep the recorded index too: the update is sent as recorded.
            tx.index = recorded.transaction.as_ref().map(|t| t.index).or(tx.index);
            *update = recorded;
        }
        script.offsets = Some(offsets);
        Ok(script)
    }

    /// When entry `seq` arrived in the recording, after its first entry.
    pub(crate) fn offset(&self, seq: u64) -> Option<std::time::Duration> {
        self.offsets.as_ref()?.get(seq as usize).copied()
    }

    pub(crate) fn new(list: Vec<ScriptedTx>) -> Result<Self, FakeGeyserError> {
        if list.is_empty() {
            return Err(FakeGeyserError::Config(
                "the script has no transactions".into(),
            ));
        }
        let mut entries = Vec::with_capacity(list.len());
        let mut slots: BTreeMap<u64, SlotInfo> = BTreeMap::new();
        let mut previous: Option<u64> = None;
        for (seq, item) in list.into_iter().enumerate() {
            let seq = seq as u64;
            if previous.is_some_and(|p| item.slot < p) {
                return Err(FakeGeyserError::Config(format!(
                    "script entry {seq}: slot {} comes after slot {}",
                    item.slot,
                    previous.unwrap_or_default()
                )));
            }
            previous = Some(item.slot);
            let ordinal = slots.len() as u64;
            let info = slots.entry(item.slot).or_insert(SlotInfo {
                first: seq,
                count: 0,
                block_time: item.block_time,
                ordinal,
            });
            if info.block_time != item.block_time {
                return Err(FakeGeyserError::Config(format!(
                    "script entry {seq}: slot {} has block time {} and {}",
                    item.slot, info.block_time, item.block_time
                )));
            }
            let mut tx = item.tx;
            tx.slot = item.slot;
            tx.index = Some(info.count);
            tx.block_time = None;
            info.count += 1;
            let update = to_update(&tx);
            entries.push((tx, update));
        }
        Ok(Script {
            entries,
            slots,
            offsets: None,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub(crate) fn first_slot(&self) -> u64 {
        *self.slots.keys().next().expect("a script is never empty")
    }

    /// The entry of `seq`; past the end, the last one (only slot lookups go there).
    fn entry(&self, seq: u64) -> &(Transaction, SubscribeUpdateTransaction) {
        let i = (seq as usize).min(self.entries.len() - 1);
        &self.entries[i]
    }

    pub(crate) fn tx(&self, seq: u64) -> &Transaction {
        &self.entry(seq).0
    }

    pub(crate) fn transaction(&self, seq: u64) -> Transaction {
        self.entry(seq).0.clone()
    }

    pub(crate) fn update(&self, seq: u64) -> SubscribeUpdateTransaction {
        self.entry(seq).1.clone()
    }

    pub(crate) fn generate(&self, seq: u64) -> (Transaction, SubscribeUpdateTransaction) {
        self.entry(seq).clone()
    }

    pub(crate) fn slot_of(&self, seq: u64) -> u64 {
        self.entry(seq).0.slot
    }

    pub(crate) fn index_of(&self, seq: u64) -> u64 {
        self.entry(seq).0.index.unwrap_or(0)
    }

    pub(crate) fn ends_slot(&self, seq: u64) -> bool {
        let slot = self.slot_of(seq);
        self.slots
            .get(&slot)
            .is_some_and(|s| s.first + s.count == seq + 1)
    }

    /// The first transaction at or after `slot` (the script's end when `slot` is past it);
    /// `None` before the first slot.
    pub(crate) fn first_seq_of_slot(&self, slot: u64) -> Option<u64> {
        if slot < self.first_slot() {
            return None;
        }
        Some(
            self.slots
                .range(slot..)
                .next()
                .map_or(self.len(), |(_, s)| s.first),
        )
    }

    pub(crate) fn seq_of(&self, slot: u64, index: u64) -> Option<u64> {
        let s = self.slots.get(&slot)?;
        (index < s.count).then_some(s.first + index)
    }

    /// The block time of `slot`, or of the closest used slot before it (the first slot's for
    /// earlier ones).
    pub(crate) fn block_time(&self, slot: u64) -> i64 {
        self.slots
            .range(..=slot)
            .next_back()
            .or_else(|| self.slots.iter().next())
            .map_or(0, |(_, s)| s.block_time)
    }

    pub(crate) fn block_meta(&self, slot: u64, seed: u64) -> SubscribeUpdateBlockMeta {
        let before = self.slots.range(..=slot).next_back();
        let (ordinal, count) = match before {
            Some((&s, info)) if s == slot => (info.ordinal, info.count),
            Some((_, info)) => (info.ordinal, 0),
            None => (0, 0),
        };
        let parent = self
            .slots
            .range(..slot)
            .next_back()
            .map_or(slot.saturating_sub(1), |(&s, _)| s);
        SubscribeUpdateBlockMeta {
            slot,
            blockhash: blockhash(seed, slot),
            rewards: None,
            block_time: Some(UnixTimestamp {
                timestamp: self.block_time(slot),
            }),
            block_height: Some(BlockHeight {
                block_height: ordinal + 1,
            }),
            parent_slot: parent,
            parent_blockhash: blockhash(seed, parent),
            executed_transaction_count: count,
            entries_count: 0,
            bank_id: 0,
        }
    }
}

/// A deterministic base58 block hash (the generated traffic's scheme).
pub(crate) fn blockhash(seed: u64, slot: u64) -> String {
    let base = mix(mix(seed, 0x4841_5348), slot);
    let mut bytes = [0u8; 32];
    for (w, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(base, w as u64).to_le_bytes());
    }
    bs58::encode(bytes).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::proto::from_update;
    use crate::domain::test_support::sample_transaction;
    use crate::domain::Signature;

    fn tx(n: u8) -> Transaction {
        let mut t = sample_transaction();
        t.signature = Signature([n; 64]);
        t
    }

    fn script() -> Script {
        let item = |n, slot, block_time| ScriptedTx {
            slot,
            block_time,
            tx: tx(n),
        };
        Script::new(vec![
            item(1, 100, 1_000),
            item(2, 100, 1_000),
            item(3, 105, 1_060),
            item(4, 200, 5_000),
            item(5, 200, 5_000),
            item(6, 200, 5_000),
        ])
        .unwrap()
    }

    #[test]
    fn keeps_order_keys_and_signatures_and_numbers_slots() {
        let s = script();
        assert_eq!(s.len(), 6);
        for seq in 0..6 {
            let t = s.transaction(seq);
            assert_eq!(t.signature, Signature([seq as u8 + 1; 64]));
            assert_eq!(t.account_keys, sample_transaction().account_keys);
            assert_eq!(t.block_time, None);
            assert_eq!(from_update(&s.update(seq)).unwrap(), t);
        }
        let slots: Vec<u64> = (0..6).map(|q| s.slot_of(q)).collect();
        assert_eq!(slots, [100, 100, 105, 200, 200, 200]);
        let indexes: Vec<u64> = (0..6).map(|q| s.index_of(q)).collect();
        assert_eq!(indexes, [0, 1, 0, 0, 1, 2]);
        let ends: Vec<bool> = (0..6).map(|q| s.ends_slot(q)).collect();
        assert_eq!(ends, [false, true, true, false, false, true]);
    }

    #[test]
    fn slot_lookups_follow_sparse_slots() {
        let s = script();
        assert_eq!(s.first_seq_of_slot(99), None);
        assert_eq!(s.first_seq_of_slot(100), Some(0));
        assert_eq!(s.first_seq_of_slot(101), Some(2), "next used slot");
        assert_eq!(s.first_seq_of_slot(200), Some(3));
        assert_eq!(s.first_seq_of_slot(201), Some(6), "past the end");
        assert_eq!(s.seq_of(200, 2), Some(5));
        assert_eq!(s.seq_of(200, 3), None);
        assert_eq!(s.seq_of(101, 0), None);
    }

    #[test]
    fn block_metas_carry_the_scripted_times() {
        let s = script();
        let meta = s.block_meta(105, 1);
        assert_eq!(meta.block_time.unwrap().timestamp, 1_060);
        assert_eq!(meta.parent_slot, 100);
        assert_eq!(meta.block_height.unwrap().block_height, 2);
        assert_eq!(meta.executed_transaction_count, 1);
        assert_eq!(meta.parent_blockhash, s.block_meta(100, 1).blockhash);
        assert_eq!(s.block_meta(200, 1).block_time.unwrap().timestamp, 5_000);
        assert_eq!(s.block_time(150), 1_060);
        assert_eq!(s.block_time(50), 1_000);
    }

    #[test]
    fn refuses_going_back_in_slots_or_two_times_for_one_slot() {
        let item = |slot, block_time| ScriptedTx {
            slot,
            block_time,
            tx: tx(1),
        };
        let err = Script::new(vec![item(10, 1), item(9, 1)]).err().unwrap();
        assert!(
            err.to_string().contains("slot 9 comes after slot 10"),
            "{err}"
        );
        let err = Script::new(vec![item(10, 1), item(10, 2)]).err().unwrap();
        assert!(err.to_string().contains("block time"), "{err}");
        assert!(Script::new(vec![]).is_err());
    }
}
