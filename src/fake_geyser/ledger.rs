//! The feed's own record of what it sent (`fake-geyser --ledger FILE`), for the soak test.
//!
//! Why: a soak checks "every transaction the feed sent was counted exactly once" against
//! something the pipeline did not write itself. The fake knows exactly which sequence numbers it
//! handed to a subscriber; this ledger keeps one bit per sequence number sent at least once, and
//! for each newly sent one, what the project's swap inference makes of it (swaps, or the filter
//! reason). Replays after a reconnect set no new bit, so they are not counted twice here either.
//!
//! Files: `FILE` is a JSON summary (rewritten atomically every second and at shutdown);
//! `FILE.bits` is the bitset. A restarted fake (the soak's feed outage) loads both and goes on,
//! so one ledger covers every run of the feed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::domain::{infer_swaps, InferenceConfig, Transaction, Verdict};

/// The JSON summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSummary {
    /// Distinct sequence numbers sent at least once.
    pub distinct_sent: u64,
    /// Updates sent in all, replays included.
    pub sent_total: u64,
    /// Swaps the inference finds in the distinct transactions sent.
    pub swaps: u64,
    /// Distinct transactions with at least one swap.
    pub swap_transactions: u64,
    /// Distinct transactions without a swap (vote, failed, no balance change, not a swap, …).
    pub filtered: u64,
    /// Distinct transactions the inference refuses as inconsistent (dead letters).
    pub inconsistent: u64,
    /// The highest sequence number sent, plus one.
    pub end_seq: u64,
}

struct State {
    bits: Vec<u64>,
    summary: LedgerSummary,
    dirty: bool,
}

/// A ledger bound to its files.
pub struct Ledger {
    path: PathBuf,
    inference: InferenceConfig,
    state: Mutex<State>,
}

fn bits_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".bits");
    PathBuf::from(p)
}

impl Ledger {
    /// Opens `path`, continuing an existing ledger (both files) or starting an empty one.
    pub fn open(path: &Path) -> Result<Ledger, String> {
        let summary = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("ledger {}: not a ledger summary: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LedgerSummary::default(),
            Err(e) => return Err(format!("ledger {}: {e}", path.display())),
        };
        let bits = match std::fs::read(bits_path(path)) {
            Ok(bytes) => bytes
                .chunks(8)
                .map(|c| {
                    let mut w = [0u8; 8];
                    w[..c.len()].copy_from_slice(c);
                    u64::from_le_bytes(w)
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("ledger {}: {e}", bits_path(path).display())),
        };
        Ok(Ledger {
            path: path.to_path_buf(),
            inference: InferenceConfig::default(),
            state: Mutex::new(State {
                bits,
                summary,
                dirty: true,
            }),
        })
    }

    /// Records that `seq` (decoded as `tx`) was handed to a subscriber.
    pub fn record(&self, seq: u64, tx: &Transaction) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.summary.sent_total += 1;
        s.dirty = true;
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if s.bits.len() <= word {
            s.bits.resize(word + 1, 0);
        }
        if s.bits[word] & (1 << bit) != 0 {
            return;
        }
        s.bits[word] |= 1 << bit;
        s.summary.distinct_sent += 1;
        s.summary.end_seq = s.summary.end_seq.max(seq + 1);
        match infer_swaps(tx, &self.inference) {
            Ok(Verdict::Swaps(swaps)) if !swaps.is_empty() => {
                s.summary.swaps += swaps.len() as u64;
                s.summary.swap_transactions += 1;
            }
            Ok(_) => s.summary.filtered += 1,
            Err(_) => s.summary.inconsistent += 1,
        }
    }

    pub fn summary(&self) -> LedgerSummary {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .summary
            .clone()
    }

    /// Writes both files (temp file + rename, so a reader never sees half a file) if anything
    /// changed since the last write.
    pub fn flush(&self) -> std::io::Result<()> {
        let (summary, bits) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !s.dirty {
                return Ok(());
            }
            s.dirty = false;
            let bits: Vec<u8> = s.bits.iter().flat_map(|w| w.to_le_bytes()).collect();
            (s.summary.clone(), bits)
        };
        let write = |path: &Path, bytes: &[u8]| {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, path)
        };
        // Bits first: a summary on disk never counts more than the bits beside it.
        write(&bits_path(&self.path), &bits)?;
        let json = serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other)?;
        write(&self.path, &json)
    }
}

/// Flushes `ledger` every second, for as long as the server runs (the task is detached).
pub async fn write_every_second(ledger: std::sync::Arc<Ledger>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = ledger.flush() {
            tracing::warn!(error = %e, "fake geyser: cannot write the ledger; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_geyser::{Traffic, TrafficParams};

    #[test]
    fn counts_each_sequence_once_and_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("pw-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.json");
        let fixtures = Traffic::load_fixtures(Path::new("tests/fixtures/mainnet")).unwrap();
        let traffic = Traffic::new(fixtures, TrafficParams::default()).unwrap();
        let ledger = Ledger::open(&path).unwrap();
        for seq in 0..100 {
            ledger.record(seq, &traffic.transaction(seq));
        }
        for seq in 50..100 {
            ledger.record(seq, &traffic.transaction(seq)); // a replay
        }
        let first = ledger.summary();
        assert_eq!(first.distinct_sent, 100);
        assert_eq!(first.sent_total, 150);
        assert_eq!(first.end_seq, 100);
        assert_eq!(
            first.swap_transactions + first.filtered + first.inconsistent,
            100
        );
        assert!(first.swaps >= first.swap_transactions && first.swap_transactions > 0);
        ledger.flush().unwrap();

        let again = Ledger::open(&path).unwrap();
        assert_eq!(again.summary(), first);
        again.record(99, &traffic.transaction(99));
        again.record(100, &traffic.transaction(100));
        assert_eq!(again.summary().distinct_sent, 101);
        assert_eq!(again.summary().sent_total, 152);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
