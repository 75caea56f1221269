//! Stage 1: stream entries → per-entry outcomes. Pure CPU work, run on the rayon pool.
//!
//! Nothing an entry contains can stop the batch: a missing payload, an unknown wire version, an
//! undecodable or inconsistent transaction, even a panic in inference, each become a dead letter
//! with its reason, and the other entries go on.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rayon::prelude::*;

use crate::domain::{infer_swaps, wire, FilterReason, InferenceConfig, Signature, Swap, Verdict};
use crate::store::redis::commit::DeadLetter;
use crate::store::redis::stream::{EntryId, StreamEntry};

/// What one entry turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Swaps {
        slot: u64,
        signature: Signature,
        /// Block time, or the entry's XADD time when the feed gave none.
        block_time: i64,
        swaps: Vec<Swap>,
    },
    Filtered(FilterReason),
    Dead(DeadLetter),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    pub id: EntryId,
    pub outcome: Outcome,
}

/// Kinds of dead letter, a bounded metric label each.
pub mod dead_kind {
    pub const MISSING_PAYLOAD: &str = "missing_payload";
    pub const UNDECODABLE: &str = "undecodable";
    pub const INCONSISTENT: &str = "inconsistent";
    pub const PANIC: &str = "panic";
    pub const MAX_DELIVERIES: &str = "max_deliveries";
}

/// The label of a dead letter's reason (the text before the first colon).
pub fn dead_kind_of(reason: &str) -> &'static str {
    use dead_kind::*;
    for kind in [
        MISSING_PAYLOAD,
        UNDECODABLE,
        INCONSISTENT,
        PANIC,
        MAX_DELIVERIES,
    ] {
        if reason.starts_with(kind) {
            return kind;
        }
    }
    UNDECODABLE
}

fn dead(id: EntryId, kind: &str, detail: impl std::fmt::Display, payload: &[u8]) -> Outcome {
    Outcome::Dead(DeadLetter {
        id,
        reason: format!("{kind}: {detail}"),
        payload: payload.to_vec(),
    })
}

/// Parses one entry; never panics (a panic inside is caught and becomes a dead letter).
pub fn parse_entry(entry: &StreamEntry, config: &InferenceConfig) -> ParsedEntry {
    let id = entry.id;
    let Some(payload) = entry.payload.as_deref() else {
        return ParsedEntry {
            id,
            outcome: dead(
                id,
                dead_kind::MISSING_PAYLOAD,
                "entry has no `data` field",
                &[],
            ),
        };
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| match wire::peek_filter(payload) {
        Err(e) => dead(id, dead_kind::UNDECODABLE, e, payload),
        Ok(Some(reason)) => Outcome::Filtered(reason),
        Ok(None) => match wire::decode(payload) {
            Err(e) => dead(id, dead_kind::UNDECODABLE, e, payload),
            Ok(tx) => match infer_swaps(&tx, config) {
                Err(e) => dead(id, dead_kind::INCONSISTENT, e, payload),
                Ok(Verdict::Filtered(f)) => Outcome::Filtered(f.reason),
                Ok(Verdict::Swaps(swaps)) => Outcome::Swaps {
                    slot: tx.slot,
                    signature: tx.signature,
                    block_time: tx.block_time.unwrap_or((id.ms / 1000) as i64),
                    swaps,
                },
            },
        },
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        dead(id, dead_kind::PANIC, message, payload)
    });
    ParsedEntry { id, outcome }
}

/// Parses a batch on the current rayon pool, keeping entry order. Stable-quoted swaps keep
/// `sol_value_lamports = None`: their value depends on a price, which is applied when windows are
/// read, never baked into counters or rows (so a replay or a restart gives the same numbers).
pub fn parse_batch(entries: &[StreamEntry], config: &InferenceConfig) -> Vec<ParsedEntry> {
    entries
        .par_iter()
        .with_min_len(64)
        .map(|e| parse_entry(e, config))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample_transaction;

    fn entry(seq: u64, payload: Option<Vec<u8>>) -> StreamEntry {
        StreamEntry {
            id: EntryId {
                ms: 1_700_000_000_000,
                seq,
            },
            payload,
        }
    }

    #[test]
    fn poison_entries_become_dead_letters_and_the_rest_is_parsed() {
        let good = wire::encode(&sample_transaction());
        let mut unknown_version = good.clone();
        unknown_version[0] = 77;
        let entries = vec![
            entry(0, Some(good.clone())),
            entry(1, None),
            entry(2, Some(unknown_version)),
            entry(3, Some(vec![1, 0, 0xc1])),
            entry(4, Some(good)),
        ];
        let out = parse_batch(&entries, &InferenceConfig::default());
        assert!(matches!(out[0].outcome, Outcome::Swaps { .. }));
        assert!(matches!(out[4].outcome, Outcome::Swaps { .. }));
        let reason = |i: usize| match &out[i].outcome {
            Outcome::Dead(d) => d.reason.clone(),
            other => panic!("entry {i} should be dead: {other:?}"),
        };
        assert!(reason(1).starts_with("missing_payload"), "{}", reason(1));
        assert!(
            reason(2).contains("unknown wire format version 77"),
            "{}",
            reason(2)
        );
        assert!(reason(3).starts_with("undecodable"), "{}", reason(3));
        assert_eq!(
            out.iter().map(|p| p.id.seq).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn inconsistent_transactions_are_dead_letters() {
        let mut tx = sample_transaction();
        tx.post_lamports.pop();
        // Encode bypasses validation on purpose: the consumer must not trust the producer.
        let payload = wire::encode(&tx);
        let out = parse_entry(&entry(0, Some(payload)), &InferenceConfig::default());
        match out.outcome {
            Outcome::Dead(d) => assert!(
                d.reason.starts_with("undecodable") || d.reason.starts_with("inconsistent"),
                "{}",
                d.reason
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_block_time_falls_back_to_the_entry_time() {
        let mut tx = sample_transaction();
        tx.block_time = None;
        let out = parse_entry(
            &entry(0, Some(wire::encode(&tx))),
            &InferenceConfig::default(),
        );
        match out.outcome {
            Outcome::Swaps { block_time, .. } => assert_eq!(block_time, 1_700_000_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dead_kinds_are_bounded_labels() {
        assert_eq!(dead_kind_of("panic: boom"), dead_kind::PANIC);
        assert_eq!(dead_kind_of("whatever"), dead_kind::UNDECODABLE);
    }
}
