//! The cap on wallet-keyed per-minute structures, against a real Redis: a mint-minute's top-buyer
//! set (`pw:wv:*`) keeps its largest buyers, the commit counts what it drops in
//! `pocketwatcher_wallet_cap_trimmed_total`, and the backtest's windows trim the same way.

mod support;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pocketwatcher::backtest::windows::MemoryWindows;
use pocketwatcher::domain::counters::{aggregate, CounterDeltas};
use pocketwatcher::domain::test_support::key;
use pocketwatcher::domain::{QuoteAssets, Side, Signature, Swap, Venue, WSOL_MINT};
use pocketwatcher::store::redis::commit::{
    commit, script, CommitBatch, CommitOutcome, NameCache, Ttls,
};
use pocketwatcher::store::redis::windows::{self, DetailParts};
use pocketwatcher::store::redis::{keys, stream::ensure_group};
use redis::aio::MultiplexedConnection;
use support::TestRedis;

const T: i64 = 1_700_000_040;
const CAP: usize = 3;

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("install the Prometheus recorder")
    })
}

fn trimmed_total() -> f64 {
    prometheus()
        .render()
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "pocketwatcher_wallet_cap_trimmed_total{structure=\"top_buyers_minute\"} ",
            )
        })
        .map_or(0.0, |v| v.parse().unwrap())
}

fn buy(sig: u8, wallet: u8, mint: u8, lamports: u64) -> Swap {
    Swap {
        signature: Signature([sig; 64]),
        slot: 1_000,
        block_time: Some(T),
        leg: 0,
        wallet: key(wallet),
        fee_payer: key(wallet),
        side: Side::Buy,
        mint: key(mint),
        amount: 10,
        decimals: 6,
        quote_mint: WSOL_MINT,
        quote_amount: lamports,
        quote_decimals: 9,
        sol_value_lamports: Some(lamports),
        venue: Venue::UNKNOWN,
    }
}

async fn apply(
    conn: &mut MultiplexedConnection,
    memory: &mut MemoryWindows,
    names: &mut NameCache,
    swaps: &[Swap],
) {
    let deltas: CounterDeltas = aggregate(swaps.iter().map(|s| (s, T)), &QuoteAssets::default());
    let ttls = Ttls {
        top_buyers_per_minute: CAP as u64,
        ..Ttls::default()
    };
    let batch = CommitBatch {
        consumer: "c",
        ids: vec![],
        markers: swaps.iter().map(|s| (s.slot, s.signature)).collect(),
        dead: vec![],
        deltas: Some(&deltas),
    };
    let outcome = commit(conn, &script(), &batch, &ttls, names).await.unwrap();
    assert_eq!(outcome, CommitOutcome::Committed(0));
    memory.apply(&deltas);
}

async fn members(conn: &mut MultiplexedConnection, mint: u8) -> BTreeSet<String> {
    redis::cmd("ZRANGE")
        .arg(keys::minute_wallet_volume(&key(mint).to_string(), T / 60))
        .arg(0)
        .arg(-1)
        .query_async::<Vec<String>>(conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn names(wallets: &[u8]) -> BTreeSet<String> {
    wallets.iter().map(|w| key(*w).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minutes_top_buyers_keep_the_largest_the_drops_are_counted_and_the_backtest_agrees() {
    let redis = TestRedis::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ensure_group(&mut conn).await.unwrap();
    let before = trimmed_total();
    let mut memory = MemoryWindows::with_top_buyers_per_minute(CAP);
    let mut cache = NameCache::default();

    // Five buyers of mint 50 (10…50 lamports) and two of mint 51 in one minute: 50 keeps its
    // three largest, 51 is under the cap and untouched.
    let first: Vec<Swap> = (1..=5u8)
        .map(|w| buy(w, w, 50, u64::from(w) * 10))
        .chain([buy(20, 1, 51, 7), buy(21, 2, 51, 8)])
        .collect();
    apply(&mut conn, &mut memory, &mut cache, &first).await;
    assert_eq!(members(&mut conn, 50).await, names(&[3, 4, 5]));
    assert_eq!(members(&mut conn, 51).await, names(&[1, 2]));
    assert_eq!(trimmed_total() - before, 2.0);

    // A later batch: wallet 1 comes back large (100), wallet 6 small (5). Five members again;
    // the two smallest (6 at 5, 3 at 30) go.
    let second = [buy(30, 1, 50, 100), buy(31, 6, 50, 5)];
    apply(&mut conn, &mut memory, &mut cache, &second).await;
    assert_eq!(members(&mut conn, 50).await, names(&[1, 4, 5]));
    assert_eq!(trimmed_total() - before, 4.0);

    // The live read and the backtest's windows agree on the capped set: the same top buyers,
    // and the buyers' HyperLogLog still counts every buyer (the cap is on volumes only).
    let mints = [key(50).to_string(), key(51).to_string()];
    let live = windows::read_windows(
        &mut conn,
        &windows::script(),
        T / 60,
        Some(DetailParts::ALL),
        &mints,
    )
    .await
    .unwrap();
    for (i, mint) in [key(50), key(51)].iter().enumerate() {
        let mem = memory.read(mint, T / 60, Some(DetailParts::ALL));
        assert_eq!(live[i].top_five_minutes, mem.top_five_minutes, "mint {i}");
        assert_eq!(live[i].top_one_hour, mem.top_one_hour, "mint {i}");
        assert_eq!(
            live[i].five_minutes.unique_buyers,
            mem.five_minutes.unique_buyers
        );
        assert_eq!(
            (live[i].five_minutes.buyers, live[i].five_minutes.new_buyers),
            (mem.five_minutes.buyers, mem.five_minutes.new_buyers)
        );
    }
    assert_eq!(
        live[0].top_five_minutes,
        vec![
            (key(1).to_string(), 100),
            (key(5).to_string(), 50),
            (key(4).to_string(), 40)
        ],
        "wallet 1's second buy adds to nothing kept: its first 10 was trimmed"
    );
    assert_eq!(live[0].five_minutes.unique_buyers, Some(6));
}
