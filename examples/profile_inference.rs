//! Runs decode + inference over the fixtures in a loop, for profilers (perf, callgrind).
//! `cargo run --release --example profile_inference -- 20000`

use std::path::Path;

use pocketwatcher::cli::replay::load_transactions;
use pocketwatcher::domain::{infer_swaps, wire, InferenceConfig, Verdict};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mainnet");
    let payloads: Vec<Vec<u8>> = load_transactions(&[dir])
        .expect("fixtures")
        .into_iter()
        .map(|(_, tx)| wire::encode(&tx.expect("fixture decodes")))
        .collect();
    let config = InferenceConfig::default();
    let start = std::time::Instant::now();
    let mut swaps = 0usize;
    for _ in 0..rounds {
        for p in &payloads {
            if wire::peek_filter(p).expect("header").is_some() {
                continue;
            }
            if let Ok(Verdict::Swaps(s)) = infer_swaps(&wire::decode(p).expect("payload"), &config)
            {
                swaps += s.len();
            }
        }
    }
    let n = rounds * payloads.len();
    let elapsed = start.elapsed();
    println!(
        "{n} transactions, {swaps} swaps, {:.3} µs per transaction",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}
