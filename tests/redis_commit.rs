//! The batch commit against a real Redis: exactly-once under reclaim, duplicates and dead letters.

mod support;

use pocketwatcher::domain::counters::aggregate;
use pocketwatcher::domain::test_support::key;
use pocketwatcher::domain::{QuoteAssets, Side, Signature, Swap, Venue, WSOL_MINT};
use pocketwatcher::store::redis::commit::{
    build_at, commit, script, send, CommitBatch, CommitOutcome, DeadLetter, NameCache, Ttls,
    EXPIRY_BUCKET_SECS,
};
use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::stream::{append, autoclaim, ensure_group, group_info, read_new};
use redis::aio::MultiplexedConnection;
use support::TestRedis;

async fn connect(redis: &TestRedis) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ensure_group(&mut conn).await.unwrap();
    conn
}

fn buy(sig: u8, wallet: u8, lamports: u64) -> Swap {
    Swap {
        signature: Signature([sig; 64]),
        slot: 1_000,
        block_time: Some(1_700_000_040),
        leg: 0,
        wallet: key(wallet),
        fee_payer: key(wallet),
        side: Side::Buy,
        mint: key(50),
        amount: 10,
        decimals: 6,
        quote_mint: WSOL_MINT,
        quote_amount: lamports,
        quote_decimals: 9,
        sol_value_lamports: Some(lamports),
        venue: Venue::UNKNOWN,
    }
}

async fn buys_in_minute(conn: &mut MultiplexedConnection) -> Option<u64> {
    let minute = 1_700_000_040 / 60;
    redis::cmd("HGET")
        .arg(keys::hour_counts(&key(50).to_string(), minute))
        .arg(keys::minute_field(minute, "b"))
        .query_async(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_counted_and_acknowledged_in_one_commit() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    append(&mut conn, &[b"a".to_vec(), b"b".to_vec()])
        .await
        .unwrap();
    let entries = read_new(&mut conn, "c1", 10, 100).await.unwrap();
    assert_eq!(entries.len(), 2);

    let swaps = [buy(1, 1, 100), buy(2, 2, 50)];
    let deltas = aggregate(
        swaps.iter().map(|s| (s, 1_700_000_040)),
        &QuoteAssets::default(),
    );
    let batch = CommitBatch {
        consumer: "c1",
        ids: entries.iter().map(|e| e.id).collect(),
        markers: swaps.iter().map(|s| (s.slot, s.signature)).collect(),
        dead: vec![],
        deltas: Some(&deltas),
    };
    let outcome = commit(
        &mut conn,
        &script(),
        &batch,
        &Ttls::default(),
        &mut NameCache::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, CommitOutcome::Committed(2));
    assert_eq!(group_info(&mut conn).await.unwrap().pending, 0);
    assert_eq!(buys_in_minute(&mut conn).await, Some(2));
    let volume: f64 = redis::cmd("ZSCORE")
        .arg(keys::minute_wallet_volume(
            &key(50).to_string(),
            1_700_000_040 / 60,
        ))
        .arg(key(1).to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(volume, 100.0);
    let buyers: u64 = redis::cmd("PFCOUNT")
        .arg(keys::minute_buyers(
            &key(50).to_string(),
            1_700_000_040 / 60,
        ))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(buyers, 2);
    let ttl: i64 = redis::cmd("TTL")
        .arg(keys::hour_counts(&key(50).to_string(), 1_700_000_040 / 60))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0, "counters expire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reclaimed_batch_is_applied_once_by_its_new_owner() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    append(&mut conn, &[b"a".to_vec()]).await.unwrap();
    let entries = read_new(&mut conn, "slow", 10, 100).await.unwrap();
    // Another consumer reclaims the entry while "slow" is still working on it.
    let claimed = autoclaim(&mut conn, "fast", 0, "0-0", 10).await.unwrap();
    assert_eq!(claimed.entries.len(), 1);

    let swaps = [buy(1, 1, 100)];
    let deltas = aggregate(
        swaps.iter().map(|s| (s, 1_700_000_040)),
        &QuoteAssets::default(),
    );
    let mut batch = CommitBatch {
        consumer: "slow",
        ids: entries.iter().map(|e| e.id).collect(),
        markers: vec![(1_000, swaps[0].signature)],
        dead: vec![],
        deltas: Some(&deltas),
    };
    let (ttls, mut names) = (Ttls::default(), NameCache::default());
    let outcome = commit(&mut conn, &script(), &batch, &ttls, &mut names)
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::NotOwned(vec![entries[0].id]));
    assert_eq!(buys_in_minute(&mut conn).await, None, "nothing applied");

    batch.consumer = "fast";
    let outcome = commit(&mut conn, &script(), &batch, &ttls, &mut names)
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Committed(1));
    assert_eq!(buys_in_minute(&mut conn).await, Some(1));

    // The slow consumer finishing late changes nothing.
    batch.consumer = "slow";
    let outcome = commit(&mut conn, &script(), &batch, &ttls, &mut names)
        .await
        .unwrap();
    assert!(matches!(outcome, CommitOutcome::NotOwned(_)));
    assert_eq!(buys_in_minute(&mut conn).await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_arriving_twice_is_counted_once() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let (ttls, mut names) = (Ttls::default(), NameCache::default());
    let swaps = [buy(7, 1, 100)];
    let deltas = aggregate(
        swaps.iter().map(|s| (s, 1_700_000_040)),
        &QuoteAssets::default(),
    );
    for round in 0..2 {
        append(&mut conn, &[b"same tx".to_vec()]).await.unwrap();
        let entries = read_new(&mut conn, "c1", 10, 100).await.unwrap();
        let batch = CommitBatch {
            consumer: "c1",
            ids: entries.iter().map(|e| e.id).collect(),
            markers: vec![(1_000, swaps[0].signature)],
            dead: vec![],
            deltas: Some(&deltas),
        };
        let outcome = commit(&mut conn, &script(), &batch, &ttls, &mut names)
            .await
            .unwrap();
        if round == 0 {
            assert_eq!(outcome, CommitOutcome::Committed(1));
        } else {
            assert_eq!(outcome, CommitOutcome::Duplicates(vec![swaps[0].signature]));
            assert_eq!(
                group_info(&mut conn).await.unwrap().pending,
                1,
                "not acked yet"
            );
            // The caller drops the duplicate's counters and acknowledges it.
            let ack_only = CommitBatch {
                consumer: "c1",
                ids: batch.ids.clone(),
                ..Default::default()
            };
            let outcome = commit(&mut conn, &script(), &ack_only, &ttls, &mut names)
                .await
                .unwrap();
            assert_eq!(outcome, CommitOutcome::Committed(1));
        }
    }
    assert_eq!(buys_in_minute(&mut conn).await, Some(1));
    assert_eq!(group_info(&mut conn).await.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_keep_reason_and_payload_and_are_acknowledged() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    append(&mut conn, &[b"\x09garbage".to_vec()]).await.unwrap();
    let entries = read_new(&mut conn, "c1", 10, 100).await.unwrap();
    let batch = CommitBatch {
        consumer: "c1",
        ids: vec![entries[0].id],
        dead: vec![DeadLetter {
            id: entries[0].id,
            reason: "unknown wire format version 9".into(),
            payload: b"\x09garbage".to_vec(),
        }],
        ..Default::default()
    };
    let outcome = commit(
        &mut conn,
        &script(),
        &batch,
        &Ttls::default(),
        &mut NameCache::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, CommitOutcome::Committed(1));
    let dead: redis::Value = redis::cmd("XRANGE")
        .arg(keys::DEAD_STREAM)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let text = format!("{dead:?}");
    assert!(text.contains("unknown wire format version 9"), "{text}");
    assert!(text.contains(&entries[0].id.to_string()), "{text}");
    assert_eq!(group_info(&mut conn).await.unwrap().pending, 0);
}

/// Bucketed TTLs: within one wall-clock minute a consumer gives each key one EXPIRE (with the
/// bucket added to the TTL); later batches of the minute skip it, a refused commit's keys are sent
/// again, and the next minute sends them again. The keys keep their TTL throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_are_sent_once_per_key_per_minute_and_only_remembered_when_applied() {
    let redis = TestRedis::start();
    let mut conn = connect(&redis).await;
    let (ttls, mut names, script) = (Ttls::default(), NameCache::default(), script());
    let t0 = 1_800_000_000 / EXPIRY_BUCKET_SECS * EXPIRY_BUCKET_SECS;
    let hour_key = keys::hour_counts(&key(50).to_string(), 1_700_000_040 / 60);
    let mut sizes = Vec::new();
    let next = t0 + EXPIRY_BUCKET_SECS;
    for (round, (at, consumer, applied)) in [
        (t0, "c1", true),
        (t0 + 10, "c1", true),
        (next, "someone-else", false),
        (next + 10, "c1", true),
        (next + 20, "c1", true),
    ]
    .into_iter()
    .enumerate()
    {
        let sig = round as u8 + 2;
        append(&mut conn, &[vec![sig]]).await.unwrap();
        let entries = read_new(&mut conn, "c1", 10, 100).await.unwrap();
        assert_eq!(entries.len(), 1);
        let swaps = [buy(sig, 1, 100)];
        let deltas = aggregate(
            swaps.iter().map(|s| (s, 1_700_000_040)),
            &QuoteAssets::default(),
        );
        let batch = CommitBatch {
            consumer,
            ids: entries.iter().map(|e| e.id).collect(),
            markers: swaps.iter().map(|s| (s.slot, s.signature)).collect(),
            dead: vec![],
            deltas: Some(&deltas),
        };
        let (cmd, ticket) = build_at(&script, &batch, &ttls, &mut names, at);
        sizes.push(ticket.len());
        if !ticket.is_empty() {
            assert!(ticket.keys().contains(&hour_key), "{:?}", ticket.keys());
        }
        let outcome = send(&mut conn, &script, &cmd).await.unwrap();
        if applied {
            assert_eq!(outcome, CommitOutcome::Committed(1));
            names.confirm(ticket);
        } else {
            assert!(matches!(outcome, CommitOutcome::NotOwned(_)), "{outcome:?}");
            // Not ours: hand the entry to c1 for good (acknowledge it without effects).
            let ack = CommitBatch {
                consumer: "c1",
                ids: entries.iter().map(|e| e.id).collect(),
                ..Default::default()
            };
            let (cmd, _) = build_at(&script, &ack, &ttls, &mut NameCache::default(), at);
            send(&mut conn, &script, &cmd).await.unwrap();
        }
        let ttl: i64 = redis::cmd("TTL")
            .arg(&hour_key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let most = (ttls.counter_secs + EXPIRY_BUCKET_SECS) as i64;
        assert!(ttl > 0 && ttl <= most, "TTL {ttl} of {hour_key}");
    }
    let first = sizes[0];
    assert!(
        first >= 3,
        "counters, buyers, wallet volume, first seen: {sizes:?}"
    );
    assert_eq!(
        sizes,
        [first, 0, first, first, 0],
        "sent once per key per minute; a refused commit's keys are sent again: {sizes:?}"
    );
    assert_eq!(buys_in_minute(&mut conn).await, Some(4), "4 applied buys");
}
