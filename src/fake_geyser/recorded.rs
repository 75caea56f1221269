//! `fake-geyser --recording DIR`: a recording (`pocketwatcher record`) as the fake's traffic.
//!
//! Every decodable transaction update is sent exactly as recorded (undecodable ones cannot be
//! matched against a subscription's filters and are skipped, counted); block metas are rebuilt
//! from the recorded block times (slot and block time are all a client reads from them). The
//! recording is held in memory: meant for test and demo recordings (minutes), not for days.
//!
//! Entries are put in slot order (stable, so a slot keeps its arrival order): the fake streams
//! slots forwards only. Each keeps its arrival offset (`created_at`) for the original pace.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::SubscribeUpdateTransaction;

use super::script::ScriptedTx;
use super::FakeGeyserError;
use crate::domain::proto::from_update;
use crate::recording::RecordingReader;

/// Milliseconds per slot, to estimate the block time of a slot whose meta was not recorded.
const SLOT_MS: i64 = 400;

/// What loading a recording found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub transactions: u64,
    pub block_metas: u64,
    pub undecodable: u64,
    pub damaged_files: u64,
}

pub(crate) type Entry = (ScriptedTx, SubscribeUpdateTransaction, Duration);

/// Reads the recording at `path` into script entries.
pub(crate) fn load(path: &Path) -> Result<(Vec<Entry>, Loaded), FakeGeyserError> {
    let fixtures = |error: String| FakeGeyserError::Fixtures {
        path: path.display().to_string(),
        error,
    };
    let reader = RecordingReader::open(path).map_err(|e| fixtures(e.to_string()))?;
    let mut loaded = Loaded::default();
    let mut first: Option<SystemTime> = None;
    let mut txs: Vec<(
        SubscribeUpdateTransaction,
        crate::domain::Transaction,
        Duration,
    )> = Vec::new();
    let mut times: BTreeMap<u64, i64> = BTreeMap::new();
    for item in reader {
        let update = match item {
            Ok(u) => u,
            Err(e) => {
                loaded.damaged_files += 1;
                tracing::warn!(error = %e, "fake geyser: recording file damaged");
                continue;
            }
        };
        let at = update
            .created_at
            .and_then(|t| SystemTime::try_from(t).ok())
            .map(|t| {
                t.duration_since(*first.get_or_insert(t))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        match update.update_oneof {
            Some(UpdateOneof::Transaction(t)) => {
                loaded.transactions += 1;
                match from_update(&t) {
                    Ok(tx) => txs.push((t, tx, at)),
                    Err(_) => loaded.undecodable += 1,
                }
            }
            Some(UpdateOneof::BlockMeta(m)) => {
                loaded.block_metas += 1;
                if let Some(bt) = m.block_time {
                    times.insert(m.slot, bt.timestamp);
                }
            }
            _ => {}
        }
    }
    if txs.is_empty() {
        return Err(fixtures(
            "the recording holds no decodable transaction".into(),
        ));
    }
    if times.is_empty() {
        return Err(fixtures(
            "the recording holds no block meta with a block time (transactions need one)".into(),
        ));
    }
    let block_time = |slot: u64| -> i64 {
        if let Some(t) = times.get(&slot) {
            return *t;
        }
        let (known, time) = times
            .range(..slot)
            .next_back()
            .or_else(|| times.range(slot..).next())
            .map(|(s, t)| (*s, *t))
            .expect("times is not empty");
        time + ((slot as i64 - known as i64) * SLOT_MS).div_euclid(1000)
    };
    txs.sort_by_key(|(_, tx, _)| tx.slot);
    let entries = txs
        .into_iter()
        .map(|(update, tx, at)| {
            let slot = tx.slot;
            (
                ScriptedTx {
                    slot,
                    block_time: block_time(slot),
                    tx,
                },
                update,
                at,
            )
        })
        .collect();
    Ok((entries, loaded))
}
