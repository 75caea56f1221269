//! Sliding windows, the detector lease and alert claims against a real Redis: counters written by
//! the real commit script, read back by the real window script.

mod support;

use pocketwatcher::detect::evaluate::metrics_of;
use pocketwatcher::domain::counters::{aggregate, minute_of};
use pocketwatcher::domain::test_support::key;
use pocketwatcher::domain::{QuoteAssets, Side, Signature, Swap, Venue, WSOL_MINT};
use pocketwatcher::store::redis::alert_claim::{self, AlertClaim, ClaimOutcome};
use pocketwatcher::store::redis::commit::{
    commit, script, CommitBatch, CommitOutcome, NameCache, Ttls,
};
use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::lease::Lease;
use pocketwatcher::store::redis::windows::{read_windows, DetailParts, MintWindows};
use redis::aio::MultiplexedConnection;
use support::TestRedis;

/// A minute boundary, so tests can place trades in known buckets.
const T0: i64 = 1_700_000_040; // = 28_333_334 × 60

async fn connect(redis: &TestRedis) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

fn trade(n: u32, wallet: u8, mint: u8, side: Side, lamports: u64, at: i64) -> (Swap, i64) {
    let mut sig = [0u8; 64];
    sig[..4].copy_from_slice(&n.to_le_bytes());
    sig[4] = mint;
    (
        Swap {
            signature: Signature(sig),
            slot: 1_000 + n as u64,
            block_time: Some(at),
            leg: 0,
            wallet: key(wallet),
            fee_payer: key(wallet),
            side,
            mint: key(mint),
            amount: 1_000,
            decimals: 6,
            quote_mint: WSOL_MINT,
            quote_amount: lamports,
            quote_decimals: 9,
            sol_value_lamports: Some(lamports),
            venue: Venue::UNKNOWN,
        },
        at,
    )
}

/// Commits `trades` the way the acker does (without stream entries: counters only).
async fn count(conn: &mut MultiplexedConnection, trades: &[(Swap, i64)]) {
    let outcome = commit_trades(conn, trades).await;
    assert!(
        matches!(outcome, CommitOutcome::Committed(_)),
        "{outcome:?}"
    );
}

async fn commit_trades(conn: &mut MultiplexedConnection, trades: &[(Swap, i64)]) -> CommitOutcome {
    let deltas = aggregate(trades.iter().map(|(s, t)| (s, *t)), &QuoteAssets::default());
    let batch = CommitBatch {
        consumer: "c",
        ids: vec![],
        markers: trades.iter().map(|(s, _)| (s.slot, s.signature)).collect(),
        dead: vec![],
        deltas: Some(&deltas),
    };
    commit(
        conn,
        &script(),
        &batch,
        &Ttls::default(),
        &mut NameCache::default(),
    )
    .await
    .unwrap()
}

async fn windows_at(conn: &mut MultiplexedConnection, now: i64, mint: u8) -> MintWindows {
    let mints = vec![key(mint).to_string()];
    read_windows(
        conn,
        &pocketwatcher::store::redis::windows::script(),
        minute_of(now),
        Some(DetailParts::ALL),
        &mints,
    )
    .await
    .unwrap()
    .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_slide_by_minute_and_union_their_buyers() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    const SOL: u64 = 1_000_000_000;
    // Minute 0: wallets 1 and 2 buy; minute 3: wallet 1 buys again, wallet 3 sells;
    // minute 30: wallet 4 buys. Another mint (9) trades meanwhile and must not leak in.
    let trades = vec![
        trade(1, 1, 7, Side::Buy, 2 * SOL, T0),
        trade(2, 2, 7, Side::Buy, SOL, T0 + 59),
        trade(3, 1, 7, Side::Buy, SOL, T0 + 180),
        trade(4, 3, 7, Side::Sell, 5 * SOL, T0 + 185),
        trade(5, 4, 7, Side::Buy, SOL / 2, T0 + 1800),
        trade(6, 5, 9, Side::Buy, 100 * SOL, T0 + 60),
    ];
    count(&mut conn, &trades).await;

    // At minute 4 the 5-minute window holds minutes 0..=4: everything but wallet 4.
    let w = windows_at(&mut conn, T0 + 4 * 60, 7).await;
    let m = metrics_of(&w);
    let five = m.five_minutes;
    assert_eq!((five.buy_count, five.sell_count), (3.0, 1.0));
    assert_eq!(five.buy_volume_sol, 4.0, "sells are not buy volume");
    assert_eq!(
        five.unique_buyers, 2.0,
        "wallet 1 bought in two minutes: a union, not a sum or a max"
    );
    assert_eq!(five.unique_sellers, 1.0);
    assert_eq!(five.buy_sell_ratio, 3.0);
    assert!((five.avg_buy_size - 4.0 / 3.0).abs() < 1e-12);
    assert_eq!(
        w.top_five_minutes,
        vec![(key(1).to_string(), 3 * SOL), (key(2).to_string(), SOL)]
    );
    assert_eq!(five.top_3_buyers_volume_share, 1.0);
    assert_eq!(
        five.new_wallet_pct, 1.0,
        "both buyers were first seen inside the window"
    );

    // At minute 5, minute 0 has slid out of the 5-minute window but not out of the hour.
    let m = metrics_of(&windows_at(&mut conn, T0 + 5 * 60, 7).await);
    assert_eq!(m.five_minutes.buy_count, 1.0);
    assert_eq!(m.five_minutes.unique_buyers, 1.0);
    assert_eq!(
        m.five_minutes.new_wallet_pct, 0.0,
        "wallet 1 was first seen before the window"
    );
    assert!(m.five_minutes.buy_sell_ratio.is_finite());
    assert_eq!(m.one_hour.buy_count, 3.0);

    // At minute 30: the 5-minute window holds only wallet 4's buy, no sells → infinite ratio.
    let m = metrics_of(&windows_at(&mut conn, T0 + 30 * 60, 7).await);
    assert_eq!(m.five_minutes.buy_count, 1.0);
    assert!(m.five_minutes.buy_sell_ratio.is_infinite());
    assert_eq!(m.one_hour.buy_count, 4.0);
    assert_eq!(m.one_hour.unique_buyers, 3.0);
    assert_eq!(m.one_hour.buy_volume_sol, 4.5);
    assert!((m.one_hour.top_3_buyers_volume_share - 1.0).abs() < 1e-12);
    assert!((m.one_hour.new_wallet_pct - 1.0).abs() < 1e-12);

    // 1 h eviction: at minute 60 minute 0 is out of the hour; at minute 89 only wallet 4 is left.
    let m = metrics_of(&windows_at(&mut conn, T0 + 60 * 60, 7).await);
    assert_eq!(m.one_hour.buy_count, 2.0);
    let m = metrics_of(&windows_at(&mut conn, T0 + 89 * 60, 7).await);
    assert_eq!(
        (
            m.one_hour.buy_count,
            m.one_hour.sell_count,
            m.one_hour.buy_volume_sol
        ),
        (1.0, 0.0, 0.5)
    );
    let m = metrics_of(&windows_at(&mut conn, T0 + 90 * 60, 7).await);
    assert_eq!(m.one_hour.buy_count, 0.0);
    assert_eq!(
        m.one_hour.buy_sell_ratio, 0.0,
        "no trades at all: ratio 0, not infinite"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_swaps_replayed_give_identical_windows() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let trades: Vec<(Swap, i64)> = (0..40u32)
        .map(|n| {
            let side = if n % 4 == 0 { Side::Sell } else { Side::Buy };
            trade(
                n,
                (n % 7) as u8 + 1,
                7,
                side,
                10_000_000 * (n as u64 + 1),
                T0 + n as i64 * 20,
            )
        })
        .collect();
    count(&mut conn, &trades).await;
    let now = T0 + 40 * 20;
    let first = windows_at(&mut conn, now, 7).await;
    // The same signatures again (a replay): the duplicate guard refuses them, nothing changes.
    let outcome = commit_trades(&mut conn, &trades).await;
    assert!(
        matches!(outcome, CommitOutcome::Duplicates(_)),
        "{outcome:?}"
    );
    let second = windows_at(&mut conn, now, 7).await;
    assert_eq!(first, second);
    assert_eq!(metrics_of(&first), metrics_of(&second));
    assert!(metrics_of(&first).one_hour.buy_count > 0.0);

    // And a fresh Redis fed the same swaps gives the same numbers.
    let other = TestRedis::start();
    let mut conn2 = connect(&other).await;
    count(&mut conn2, &trades).await;
    assert_eq!(windows_at(&mut conn2, now, 7).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_mark_touched_mints_and_advance_the_chain_clock() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    count(&mut conn, &[trade(1, 1, 7, Side::Buy, 5, T0 + 100)]).await;
    count(&mut conn, &[trade(2, 1, 8, Side::Buy, 5, T0 + 50)]).await;
    let clock: f64 = redis::cmd("ZSCORE")
        .arg(keys::CHAIN_CLOCK)
        .arg(keys::CHAIN_CLOCK_MEMBER)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(clock as i64, T0 + 100, "the clock never goes back");
    let touched: Vec<String> = redis::cmd("ZRANGE")
        .arg(keys::TOUCHED_MINTS)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(touched.len(), 2);
    assert!(touched.contains(&key(7).to_string()) && touched.contains(&key(8).to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lease_holder_at_a_time_and_a_deposed_holder_is_fenced() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let mut a = Lease::new("a", 400);
    let mut b = Lease::new("b", 400);
    assert!(a.renew(&mut conn).await.unwrap());
    assert!(
        !b.renew(&mut conn).await.unwrap(),
        "b must wait while a holds it"
    );
    assert!(a.renew(&mut conn).await.unwrap(), "a extends its own lease");
    let a_token = a.token().unwrap().to_string();

    let claim = |token: &'static str, key: &'static str| AlertClaim {
        lease_token: token,
        mint: "MINT",
        trigger: "t",
        dedup_key: key,
        cooldown_secs: 60,
        hot_until_ms: 1,
        chain_now: 1_000,
        payload: b"x",
    };
    let claim_script = alert_claim::script();
    let leaked: &'static str = Box::leak(a_token.clone().into_boxed_str());
    assert_eq!(
        alert_claim::claim(&mut conn, &claim_script, &claim(leaked, "k1"))
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        alert_claim::claim(&mut conn, &claim_script, &claim(leaked, "k2"))
            .await
            .unwrap(),
        ClaimOutcome::Cooldown,
        "the same (mint, trigger) within its cooldown"
    );

    // a stops renewing (paused, dead): b takes over once the lease expires.
    support::wait_until_async(
        "b takes the lease",
        std::time::Duration::from_secs(10),
        || {
            let client = redis::Client::open(redis.url()).unwrap();
            let mut b2 = Lease::new("b", 400);
            async move {
                let mut c = client.get_multiplexed_async_connection().await.unwrap();
                b2.renew(&mut c).await.unwrap()
            }
        },
    )
    .await;
    let held: String = redis::cmd("GET")
        .arg(keys::DETECTOR_LEASE)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(held.starts_with("b:"), "{held}");
    assert_ne!(held, a_token, "a new epoch");
    // a wakes up and tries to act on its old decision: fenced.
    let mut c = claim(leaked, "k3");
    c.trigger = "other";
    assert_eq!(
        alert_claim::claim(&mut conn, &claim_script, &c)
            .await
            .unwrap(),
        ClaimOutcome::Fenced
    );
    assert!(!a.renew(&mut conn).await.unwrap(), "a cannot take it back");
    let pending = alert_claim::pending(&mut conn).await.unwrap();
    assert_eq!(pending, vec![("k1".to_string(), b"x".to_vec())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_also_holds_in_chain_time_so_a_stalled_clock_never_realerts() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let mut lease = Lease::new("a", 10_000);
    assert!(lease.renew(&mut conn).await.unwrap());
    let token = lease.token().unwrap().to_string();
    let script = alert_claim::script();
    let claim = |key: &'static str, chain_now: i64| AlertClaim {
        lease_token: "",
        mint: "MINT",
        trigger: "t",
        dedup_key: key,
        cooldown_secs: 60,
        hot_until_ms: 1,
        payload: b"x",
        chain_now,
    };
    let mut first = claim("k1", 1_000);
    first.lease_token = &token;
    assert_eq!(
        alert_claim::claim(&mut conn, &script, &first)
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
    // Wall-clock cooldown over (the daemon was down, or ingest stalled) but the chain clock did
    // not move: the same windows must not alert again.
    let _: () = redis::cmd("DEL")
        .arg(keys::cooldown("MINT", "t"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut stalled = claim("k2", 1_030);
    stalled.lease_token = &token;
    assert_eq!(
        alert_claim::claim(&mut conn, &script, &stalled)
            .await
            .unwrap(),
        ClaimOutcome::Cooldown
    );
    // Once chain time passed the cooldown too, it alerts.
    let mut later = claim("k3", 1_060);
    later.lease_token = &token;
    assert_eq!(
        alert_claim::claim(&mut conn, &script, &later)
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_mints_read_in_short_scripts_give_each_mint_its_own_windows() {
    use pocketwatcher::store::redis::windows::DETAIL_MINTS_PER_SCRIPT;
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    // More mints than one script reads, each with its own buyers and volumes, so a row given to
    // the wrong mint (or a chunk dropped) shows.
    let mint_count = (DETAIL_MINTS_PER_SCRIPT * 2 + 3) as u8;
    let mut trades = Vec::new();
    let mut n = 0;
    for mint in 1..=mint_count {
        for buyer in 0..(mint % 5 + 1) {
            n += 1;
            let lamports = 1_000_000 * (mint as u64 * 10 + buyer as u64 + 1);
            trades.push(trade(n, 100 + buyer, mint, Side::Buy, lamports, T0 + 30));
        }
    }
    count(&mut conn, &trades).await;
    let now = T0 + 60;
    let mints: Vec<String> = (1..=mint_count).map(|m| key(m).to_string()).collect();
    let together = read_windows(
        &mut conn,
        &pocketwatcher::store::redis::windows::script(),
        minute_of(now),
        Some(DetailParts::ALL),
        &mints,
    )
    .await
    .unwrap();
    assert_eq!(together.len(), mints.len());
    for (i, mint) in (1..=mint_count).enumerate() {
        let alone = windows_at(&mut conn, now, mint).await;
        assert_eq!(together[i], alone, "mint {mint}");
        assert_eq!(
            alone.top_five_minutes.len(),
            (mint % 5 + 1) as usize,
            "mint {mint} has its own buyers"
        );
    }
}
