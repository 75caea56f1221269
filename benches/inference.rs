//! Decode a wire payload and infer its swaps, per transaction, over the mainnet fixture set.
//!
//! This is the parser pool's whole per-entry CPU cost (prefilter byte, msgpack decode, deltas,
//! curve checks, inference, venue). Run: `cargo bench --bench inference`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use pocketwatcher::cli::replay::load_transactions;
use pocketwatcher::domain::{infer_swaps, wire, InferenceConfig, Verdict};

fn fixture_payloads() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mainnet");
    load_transactions(&[dir])
        .expect("fixture directory")
        .into_iter()
        .map(|(_, tx)| wire::encode(&tx.expect("fixtures decode")))
        .collect()
}

/// Decodes and infers every payload; returns the number of swaps so nothing is optimised away.
fn process_all(payloads: &[Vec<u8>], config: &InferenceConfig) -> usize {
    let mut swaps = 0;
    for p in payloads {
        if wire::peek_filter(p).expect("valid header").is_some() {
            continue;
        }
        let tx = wire::decode(p).expect("valid payload");
        if let Ok(Verdict::Swaps(s)) = infer_swaps(&tx, config) {
            swaps += s.len();
        }
    }
    swaps
}

fn bench(c: &mut Criterion) {
    let payloads = fixture_payloads();
    let config = InferenceConfig::default();
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("decode_and_infer_fixture_set", |b| {
        b.iter(|| process_all(black_box(&payloads), &config))
    });
    // Swaps only: the expensive path, without the prefiltered transactions diluting the average.
    let swap_payloads: Vec<Vec<u8>> = payloads
        .iter()
        .filter(|p| wire::peek_filter(p).unwrap().is_none())
        .cloned()
        .collect();
    group.throughput(Throughput::Elements(swap_payloads.len() as u64));
    group.bench_function("decode_and_infer_candidates_only", |b| {
        b.iter(|| process_all(black_box(&swap_payloads), &config))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
