//! Feeds a recording (`pocketwatcher record`) into the engine: the transactions with the block
//! times ingest would have given them ([`TimedTransactions`]), their swaps inferred by the
//! pipeline's code, in block-time order.
//!
//! A recording is in arrival order, and block times of neighbouring slots can arrive out of
//! order (a slot's meta can come late, estimates can step back); the engine needs block-time
//! order. Swaps wait in a small reorder buffer and a block second goes to the engine once the
//! newest block time seen is [`REORDER_SECS`] past it; within a second they keep arrival order
//! (the live stream's). Memory grows with the swaps of those seconds, not with the recording.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::engine::{Engine, SetAlert};
use crate::domain::{infer_swaps, InferenceConfig, Swap, Verdict};
use crate::recording::feed::{FeedStats, TimedTransactions};
use crate::recording::RecordingError;

/// How far behind the newest block time a second is held for stragglers.
pub const REORDER_SECS: i64 = 120;

/// What the pass over the recording saw, besides the alerts.
#[derive(Debug, Default, Clone)]
pub struct RecordingPass {
    pub feed: FeedStats,
    /// Transactions that are not swaps (or not decodable by the inference): skipped, as the
    /// pipeline does.
    pub not_swaps: u64,
    /// Swaps without any block time (a recording without a single block meta): skipped.
    pub no_block_time: u64,
    /// Swaps outside `[from, to)`.
    pub out_of_range: u64,
}

/// Replays the swaps of the recording at `path` with `from <= block_time < to` through
/// `engine`; `hold` is ingest's `block_time_hold_ms`. `progress(compressed bytes read, total)`
/// runs every few thousand transactions; `problem` gets each damaged file (the pass goes on).
pub fn replay(
    path: &Path,
    hold: Duration,
    inference: &InferenceConfig,
    engine: &mut Engine,
    (from, to): (i64, i64),
    progress: &mut dyn FnMut(u64, u64),
    problem: &mut dyn FnMut(&RecordingError),
) -> Result<(Vec<SetAlert>, RecordingPass), RecordingError> {
    let mut feed = TimedTransactions::open(path, hold)?;
    let total = feed.reader().total_bytes();
    let mut pass = RecordingPass::default();
    let mut waiting: BTreeMap<i64, Vec<Swap>> = BTreeMap::new();
    let mut newest = i64::MIN;
    let mut alerts = Vec::new();
    let mut seen = 0u64;
    while let Some(item) = feed.next() {
        let tx = match item {
            Ok(tx) => tx,
            Err(e) => {
                problem(&e);
                continue;
            }
        };
        seen += 1;
        if seen % 4_096 == 0 {
            progress(feed.reader().bytes_read(), total);
        }
        let Ok(Verdict::Swaps(swaps)) = infer_swaps(&tx, inference) else {
            pass.not_swaps += 1;
            continue;
        };
        let Some(t) = tx.block_time else {
            pass.no_block_time += swaps.len() as u64;
            continue;
        };
        if t < from || t >= to {
            pass.out_of_range += swaps.len() as u64;
            continue;
        }
        waiting.entry(t).or_default().extend(swaps);
        if t > newest {
            newest = t;
            while let Some(entry) = waiting.first_entry() {
                if *entry.key() > newest - REORDER_SECS {
                    break;
                }
                let (second, swaps) = entry.remove_entry();
                for swap in swaps {
                    alerts.extend(engine.push(swap, second));
                }
            }
        }
    }
    for (second, swaps) in waiting {
        for swap in swaps {
            alerts.extend(engine.push(swap, second));
        }
    }
    alerts.extend(engine.flush());
    progress(feed.reader().bytes_read(), total);
    pass.feed = feed.stats.clone();
    Ok((alerts, pass))
}
