//! Fake Yellowstone (a real tonic server) → daemon (`run --role all`, real gRPC client) → Redis
//! stream → parser pool → counters and PostgreSQL. Expectations come from the fake's deterministic
//! traffic and the domain, not from the pipeline.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use pocketwatcher::domain::counters::{aggregate, MinuteCounts};
use pocketwatcher::domain::{infer_swaps, InferenceConfig, Verdict};
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig, FakeGeyserHandle};
use pocketwatcher::store::redis::stream::{ensure_group, group_info};
use support::daemon::{Daemon, DaemonConfig};
use support::workload::stored_minutes;
use support::{unique_name, wait_until_async, TestPostgres, TestRedis};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mainnet");

struct Expected {
    rows: usize,
    minutes: BTreeMap<String, MinuteCounts>,
}

/// What the daemon must end up with after the fake sent sequence numbers `0..count`.
fn expected(geyser: &FakeGeyserHandle, count: u64) -> Expected {
    let config = InferenceConfig::default();
    let mut swaps = Vec::new();
    for mut tx in geyser.expected_transactions(count) {
        if tx.failed {
            continue; // the subscription asks for failed = false
        }
        let time = geyser.traffic().block_time(tx.slot);
        tx.block_time = Some(time);
        if let Ok(Verdict::Swaps(s)) = infer_swaps(&tx, &config) {
            swaps.extend(s.into_iter().map(|s| (s, time)));
        }
    }
    let deltas = aggregate(swaps.iter().map(|(s, t)| (s, *t)), &config.quotes);
    Expected {
        rows: swaps.len(),
        minutes: deltas
            .minutes
            .iter()
            .map(|((mint, minute), c)| (format!("{mint}:{minute}"), *c))
            .collect(),
    }
}

async fn run_through_the_feed(drop_after: Option<u64>) -> (Daemon, FakeGeyserHandle) {
    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    let db = unique_name("pw");
    pg.create_database(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();

    // Whole slots only (40 transactions each), so every slot's block meta arrives.
    let count = 40 * 30;
    let mut config = FakeGeyserConfig::new(FIXTURES);
    config.count = count;
    config.rate = 2_000;
    config.drop_after = drop_after;
    let geyser = FakeGeyser::start(config).await.unwrap();
    let want = expected(&geyser, count);
    assert!(want.rows > 500, "traffic has swaps");

    let mut daemon_config = DaemonConfig::new(redis.url(), pg.url(&db));
    daemon_config.yellowstone_endpoint = geyser.endpoint();
    daemon_config.extra = "[ingest]\nblock_time_hold_ms = 5000\nlinger_ms = 2\n".into();
    let daemon = Daemon::start(&daemon_config, "all");

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ensure_group(&mut conn).await.unwrap();
    let rows = || {
        pg.psql(&db, "SELECT count(*) FROM swap_events")
            .trim()
            .parse::<usize>()
            .unwrap_or(0)
    };
    let c = conn.clone();
    let expected_rows = want.rows;
    let deadline = Duration::from_secs(120);
    let started = std::time::Instant::now();
    loop {
        let info = group_info(&mut c.clone()).await.unwrap();
        if rows() == expected_rows && info.backlog() == 0 && geyser.head() >= count {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out: rows {} of {expected_rows}, backlog {}\n{}",
            rows(),
            info.backlog(),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Settled: give a duplicate replay every chance to be (wrongly) counted before checking.
    wait_until_async("the group stays drained", Duration::from_secs(10), || {
        let mut c = c.clone();
        async move { group_info(&mut c).await.unwrap().backlog() == 0 }
    })
    .await;

    let stored = stored_minutes(&mut conn).await;
    assert_eq!(rows(), want.rows, "one row per swap leg");
    assert_eq!(stored.len(), want.minutes.len());
    for (key, counts) in &want.minutes {
        assert_eq!(stored.get(key), Some(counts), "counters of {key}");
    }
    drop(pg);
    drop(redis);
    (daemon, geyser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_is_counted_exactly_once_end_to_end() {
    let (daemon, geyser) = run_through_the_feed(None).await;
    assert!(daemon
        .metrics()
        .contains("pocketwatcher_entries_ingested_total"));
    geyser.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_replaying_overlapping_slots_counts_nothing_twice() {
    let (daemon, geyser) = run_through_the_feed(Some(500)).await;
    assert!(
        geyser.last_from_slot().is_some(),
        "the ingest resumed with from_slot after the drop"
    );
    let log = daemon.log();
    assert!(log.contains("disconnected"), "{log}");
    let metrics = daemon.metrics();
    let duplicates = metric(&metrics, "pocketwatcher_duplicate_signatures_total");
    assert!(
        duplicates > 0.0,
        "the replayed overlap reached the stream and was caught:\n{metrics}"
    );
    geyser.shutdown().await;
}

/// Sum of a metric's samples in Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_backlog_cap_ingest_pauses_without_trimming_and_resumes_without_a_gap() {
    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    let db = unique_name("pw");
    pg.create_database(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();
    let count = 40 * 25;
    let mut config = FakeGeyserConfig::new(FIXTURES);
    config.count = count;
    config.lag_timeout = Duration::from_secs(2);
    let geyser = FakeGeyser::start(config).await.unwrap();
    let want = expected(&geyser, count);

    let mut ingest_config = DaemonConfig::new(redis.url(), pg.url(&db));
    ingest_config.yellowstone_endpoint = geyser.endpoint();
    ingest_config.extra = "[ingest]\nblock_time_hold_ms = 5000\nbatch_size = 50\nbacklog_cap = 200\nbacklog_resume = 100\n".into();
    let ingest = Daemon::start(&ingest_config, "ingest");

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ensure_group(&mut conn).await.unwrap();
    let gauge = |d: &Daemon| metric(&d.metrics(), "pocketwatcher_ingest_backpressure");
    let started = std::time::Instant::now();
    while gauge(&ingest) < 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never paused:\n{}",
            ingest.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Paused: the stream holds everything written, nothing was trimmed, and it stops growing
    // near the cap instead of taking the whole feed.
    let len: u64 = redis::cmd("XLEN")
        .arg("stream:tx")
        .query_async(&mut conn)
        .await
        .unwrap();
    let added: u64 = {
        let info: redis::Value = redis::cmd("XINFO")
            .arg("STREAM")
            .arg("stream:tx")
            .query_async(&mut conn)
            .await
            .unwrap();
        let text = format!("{info:?}");
        let at = text.find("entries-added").expect("entries-added");
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(len, added, "no entry was trimmed");
    assert!(
        (200..200 + 50 * 4).contains(&len),
        "stream stopped near the cap: {len}"
    );

    let mut consume_config = DaemonConfig::new(redis.url(), pg.url(&db));
    consume_config.yellowstone_endpoint = geyser.endpoint();
    let consumer = Daemon::start(&consume_config, "consume");
    let rows = || {
        pg.psql(&db, "SELECT count(*) FROM swap_events")
            .trim()
            .parse::<usize>()
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    loop {
        let info = group_info(&mut conn).await.unwrap();
        if rows() == want.rows && info.backlog() == 0 && geyser.head() >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "rows {} of {}\n{}\n---\n{}",
            rows(),
            want.rows,
            ingest.log(),
            consumer.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = stored_minutes(&mut conn).await;
    for (key, counts) in &want.minutes {
        assert_eq!(stored.get(key), Some(counts), "counters of {key}");
    }
    assert!(
        ingest.log().contains("resuming the feed"),
        "{}",
        ingest.log()
    );
    geyser.shutdown().await;
}
