//! Test workloads built from the mainnet fixtures: `copies` distinct transactions per fixture (a
//! fresh signature each), their wire payloads, and what the counters and rows must be afterwards,
//! computed straight from the domain (independently of the pipeline).

use std::collections::{BTreeMap, HashMap};

use pocketwatcher::cli::replay::load_transactions;
use pocketwatcher::domain::counters::{aggregate, MinuteCounts};
use pocketwatcher::domain::{infer_swaps, wire, InferenceConfig, Transaction, Verdict};

pub struct Workload {
    pub payloads: Vec<Vec<u8>>,
    /// Swap legs (rows in swap_events).
    pub swap_rows: usize,
    /// Transactions with at least one swap.
    pub swap_transactions: usize,
    /// `{mint}:{minute}` → counts.
    pub minutes: BTreeMap<String, MinuteCounts>,
}

pub fn fixtures() -> Vec<Transaction> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mainnet");
    load_transactions(&[dir.into()])
        .expect("fixtures")
        .into_iter()
        .map(|(_, t)| t.expect("fixture decodes"))
        .collect()
}

/// `copies` × every fixture, each with its own signature.
pub fn build(copies: usize) -> Workload {
    let config = InferenceConfig::default();
    let base = fixtures();
    let mut txs = Vec::with_capacity(base.len() * copies);
    for copy in 0..copies {
        for (i, tx) in base.iter().enumerate() {
            let mut t = tx.clone();
            t.signature.0[..8].copy_from_slice(&(copy as u64).to_le_bytes());
            t.signature.0[8] = i as u8;
            t.signature.0[9] = 0xEE;
            // A few fixtures carry no blockTime; give them one so expectations are exact.
            t.block_time.get_or_insert(1_700_000_000);
            txs.push(t);
        }
    }
    let mut all_swaps = Vec::new();
    let mut swap_transactions = 0;
    for t in &txs {
        if let Ok(Verdict::Swaps(s)) = infer_swaps(t, &config) {
            swap_transactions += 1;
            let time = t.block_time.expect("fixtures have block times");
            all_swaps.extend(s.into_iter().map(|s| (s, time)));
        }
    }
    let deltas = aggregate(all_swaps.iter().map(|(s, t)| (s, *t)), &config.quotes);
    let minutes = deltas
        .minutes
        .iter()
        .map(|((mint, minute), c)| (format!("{mint}:{minute}"), *c))
        .collect();
    Workload {
        payloads: txs.iter().map(wire::encode).collect(),
        swap_rows: all_swaps.len(),
        swap_transactions,
        minutes,
    }
}

/// The counters as stored in Redis (hour hashes `pw:ch:{mint}:{hour}`, fields
/// `{minute}:{counter}`), in the same shape: `{mint}:{minute}` → counts.
pub async fn stored_minutes(
    conn: &mut redis::aio::MultiplexedConnection,
) -> BTreeMap<String, MinuteCounts> {
    let mut out: BTreeMap<String, MinuteCounts> = BTreeMap::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("pw:ch:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        for key in keys {
            let mint = key
                .strip_prefix("pw:ch:")
                .and_then(|rest| rest.rsplit_once(':'))
                .map(|(mint, _hour)| mint.to_string())
                .expect("pw:ch:{mint}:{hour}");
            let h: HashMap<String, u64> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(conn)
                .await
                .unwrap();
            for (field, value) in h {
                let (minute, counter) = field.split_once(':').expect("{minute}:{counter}");
                let c = out.entry(format!("{mint}:{minute}")).or_default();
                match counter {
                    "b" => c.buys += value,
                    "s" => c.sells += value,
                    "bv" => c.buy_lamports += value,
                    "sv" => c.sell_lamports += value,
                    "bu" => c.buy_micro_usd += value,
                    "su" => c.sell_micro_usd += value,
                    other => panic!("unknown counter {other} in {key}"),
                }
            }
        }
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}
