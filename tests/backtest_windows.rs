//! The backtest's in-memory windows against a real Redis: the same batches committed by the real
//! commit script and applied in memory read back identically at every minute — counts, SOL/USD
//! price, HyperLogLog unions (bit for bit equal to `PFCOUNT`), top buyers with Redis's tie order,
//! and the new-wallet share over the 100 largest buyers, across a UTC day boundary.

mod support;

use pocketwatcher::backtest::windows::MemoryWindows;
use pocketwatcher::domain::counters::{aggregate, minute_of};
use pocketwatcher::domain::hll;
use pocketwatcher::domain::{Pubkey, QuoteAssets, Side, Signature, Swap, Venue, WSOL_MINT};
use pocketwatcher::store::redis::commit::{
    commit, script, CommitBatch, CommitOutcome, NameCache, Ttls,
};
use pocketwatcher::store::redis::windows::{read_windows, DetailParts};
use redis::aio::MultiplexedConnection;
use support::TestRedis;

/// Two hours before a UTC midnight, on a minute boundary.
const T0: i64 = 1_700_006_400 - 7_200;

/// splitmix64: a deterministic workload without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pubkey(tag: u8, n: u32) -> Pubkey {
    let mut b = [tag; 32];
    b[..4].copy_from_slice(&n.to_le_bytes());
    Pubkey(b)
}

async fn connect(redis: &TestRedis) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyperloglog_counts_equal_pfcount_bit_for_bit() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let mut rng = Rng(7);
    // Sparse and dense representations, single keys and unions of several.
    for (case, size) in [0u32, 1, 3, 40, 300, 1_000, 3_000, 12_000, 40_000]
        .into_iter()
        .enumerate()
    {
        let parts = 1 + rng.below(4) as usize;
        let mut names: Vec<Vec<String>> = vec![Vec::new(); parts];
        for i in 0..size {
            let name = pubkey(9, rng.next() as u32 ^ i).to_base58();
            names[rng.below(parts as u64) as usize].push(name);
        }
        let keys: Vec<String> = (0..parts).map(|p| format!("hll:{case}:{p}")).collect();
        let mut union = hll::Union::default();
        for (key, members) in keys.iter().zip(&names) {
            for chunk in members.chunks(1_000) {
                let _: () = redis::cmd("PFADD")
                    .arg(key)
                    .arg(chunk)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
            for m in members {
                union.add(hll::pattern(m.as_bytes()));
            }
        }
        let want: u64 = redis::cmd("PFCOUNT")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(union.count(), want, "{size} elements over {parts} keys");
    }
}

/// A workload: 5 mints (one with hundreds of buyers an hour), 600 wallets, SOL- and
/// USDC-quoted trades, SOL↔USDC price observations, amounts from a small set so that top-buyer
/// ties happen, over three hours across midnight.
fn workload() -> Vec<(Swap, i64)> {
    let quotes = QuoteAssets::default();
    let usdc = quotes.others[0].mint;
    let mut rng = Rng(42);
    let mut out = Vec::new();
    let mut t = T0;
    let mut n = 0u32;
    while t < T0 + 3 * 3_600 {
        t += rng.below(9) as i64;
        for _ in 0..1 + rng.below(3) {
            n += 1;
            let mint_n = rng.below(5) as u32;
            let wallet = if mint_n == 0 {
                rng.below(600)
            } else {
                rng.below(60)
            } as u32;
            let side = if rng.below(4) == 0 {
                Side::Sell
            } else {
                Side::Buy
            };
            let mut sig = [0u8; 64];
            sig[..4].copy_from_slice(&n.to_le_bytes());
            let mut swap = Swap {
                signature: Signature(sig),
                slot: 10_000 + n as u64,
                block_time: Some(t),
                leg: 0,
                wallet: pubkey(1, wallet),
                fee_payer: pubkey(1, wallet),
                side,
                mint: pubkey(2, mint_n),
                amount: 1_000 + rng.below(1_000_000),
                decimals: 6,
                quote_mint: WSOL_MINT,
                quote_amount: [10_000_000, 50_000_000, 100_000_000, 250_000_000]
                    [rng.below(4) as usize],
                quote_decimals: 9,
                sol_value_lamports: None,
                venue: Venue::UNKNOWN,
            };
            match rng.below(10) {
                0 => {
                    swap.quote_mint = usdc;
                    swap.quote_amount = 1_000_000 + rng.below(50_000_000);
                    swap.quote_decimals = 6;
                }
                1 => {
                    // SOL for USDC: a price observation (a "buy" of USDC).
                    swap.mint = usdc;
                    swap.side = Side::Buy;
                    swap.amount = 140_000_000 + rng.below(20_000_000);
                    swap.quote_amount = 1_000_000_000;
                }
                _ => {}
            }
            out.push((swap, t));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_windows_read_what_redis_holds_after_the_same_commits() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let quotes = QuoteAssets::default();
    let trades = workload();
    let mut memory = MemoryWindows::default();
    let mut rng = Rng(3);
    let mut names = NameCache::default();
    let mut i = 0;
    let mut checked = 0;
    let mut next_check = minute_of(T0) + 3;
    let mints: Vec<Pubkey> = (0..5).map(|m| pubkey(2, m)).collect();
    let texts: Vec<String> = mints.iter().map(|m| m.to_base58()).collect();
    let parts_choices = [
        DetailParts::ALL,
        DetailParts {
            unique: [true, false],
            top: [false, true],
            new: [false, false],
        },
        DetailParts {
            unique: [false, true],
            top: [false, false],
            new: [true, false],
        },
    ];
    while i < trades.len() {
        let n = (1 + rng.below(40) as usize).min(trades.len() - i);
        let batch = &trades[i..i + n];
        i += n;
        let deltas = aggregate(batch.iter().map(|(s, t)| (s, *t)), &quotes);
        let outcome = commit(
            &mut conn,
            &script(),
            &CommitBatch {
                consumer: "c",
                ids: vec![],
                markers: batch.iter().map(|(s, _)| (s.slot, s.signature)).collect(),
                dead: vec![],
                deltas: Some(&deltas),
            },
            &Ttls::default(),
            &mut names,
        )
        .await
        .unwrap();
        assert!(
            matches!(outcome, CommitOutcome::Committed(_)),
            "{outcome:?}"
        );
        memory.apply(&deltas);
        let now_minute = minute_of(batch[n - 1].1);
        if now_minute < next_check {
            continue;
        }
        next_check = now_minute + 4;
        memory.forget(now_minute, 4_200);
        let parts = parts_choices[checked % parts_choices.len()];
        for detail in [None, Some(parts), Some(DetailParts::ALL)] {
            let got = read_windows(
                &mut conn,
                &pocketwatcher::store::redis::windows::script(),
                now_minute,
                detail,
                &texts,
            )
            .await
            .unwrap();
            for (mint, want) in mints.iter().zip(&got) {
                let mine = memory.read(mint, now_minute, detail);
                assert_eq!(&mine, want, "minute {now_minute}, {detail:?}");
            }
        }
        checked += 1;
    }
    assert!(checked > 40, "{checked} checks");
    // The busy mint had more buyers than the new-wallet sample (dense unions are in the PFCOUNT test).
    let busy = memory.read(&mints[0], minute_of(T0 + 3 * 3_600), Some(DetailParts::ALL));
    assert_eq!(busy.one_hour.buyers, 100);
    assert!(busy.one_hour.unique_buyers.unwrap() > 150);
    assert!(busy.one_hour.new_buyers > 0 && busy.one_hour.new_buyers < 100);
}
