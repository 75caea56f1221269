//! The consume pipeline end to end, against a real Redis, a real PostgreSQL and the real binary:
//! every swap counted once, every row stored once, nothing left pending — also across SIGKILLs,
//! duplicates, poison entries, a second consumer, a stalled consumer, and SIGTERM.

mod support;

use std::time::Duration;

use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::stream::{append, ensure_group, group_info};
use redis::aio::MultiplexedConnection;
use support::daemon::{Daemon, DaemonConfig};
use support::workload::{build, stored_minutes, Workload};
use support::{unique_name, wait_until_async, TestPostgres, TestRedis};

struct Env {
    redis: TestRedis,
    pg: TestPostgres,
    db: String,
}

impl Env {
    fn new() -> Env {
        Env::with_redis(TestRedis::start())
    }

    fn with_redis(redis: TestRedis) -> Env {
        let pg = TestPostgres::new();
        let db = unique_name("pw");
        pg.create_database(&db);
        pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).expect("migrations");
        Env { redis, pg, db }
    }

    fn daemon_config(&self) -> DaemonConfig {
        DaemonConfig::new(self.redis.url(), self.pg.url(&self.db))
    }

    async fn conn(&self) -> MultiplexedConnection {
        let client = redis::Client::open(self.redis.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        ensure_group(&mut c).await.unwrap();
        c
    }

    fn rows(&self) -> usize {
        self.pg
            .psql(&self.db, "SELECT count(*) FROM swap_events")
            .trim()
            .parse()
            .unwrap_or(0)
    }

    fn distinct_rows(&self) -> usize {
        self.pg
            .psql(
                &self.db,
                "SELECT count(DISTINCT (signature, leg)) FROM swap_events",
            )
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

async fn push(conn: &mut MultiplexedConnection, payloads: &[Vec<u8>]) {
    for chunk in payloads.chunks(500) {
        append(conn, chunk).await.unwrap();
    }
}

async fn dead_letters(conn: &mut MultiplexedConnection) -> Vec<String> {
    let v: redis::Value = redis::cmd("XRANGE")
        .arg(keys::DEAD_STREAM)
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await
        .unwrap();
    match v {
        redis::Value::Array(entries) => entries.iter().map(|e| format!("{e:?}")).collect(),
        _ => vec![],
    }
}

/// Waits until the group has nothing pending or undelivered and the rows are all there.
async fn wait_done(
    env: &Env,
    conn: &mut MultiplexedConnection,
    rows: usize,
    daemons: &[&Daemon],
    within: Duration,
) {
    let mut c = conn.clone();
    let what = format!("all entries acknowledged and {rows} rows stored");
    let logs = || {
        daemons
            .iter()
            .map(|d| d.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let deadline = std::time::Instant::now() + within;
    loop {
        let info = group_info(&mut c).await.unwrap();
        let stored = env.rows();
        if info.pending == 0 && info.lag == 0 && stored == rows {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}: pending {} lag {} rows {stored}\n{}",
                info.pending,
                info.lag,
                logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_exact(env: &Env, conn: &mut MultiplexedConnection, w: &Workload) {
    assert_eq!(env.rows(), w.swap_rows, "one row per swap leg");
    assert_eq!(env.distinct_rows(), w.swap_rows, "no duplicate rows");
    let stored = stored_minutes(conn).await;
    assert_eq!(stored.len(), w.minutes.len(), "same mint-minute keys");
    for (key, expected) in &w.minutes {
        assert_eq!(stored.get(key), Some(expected), "counters of {key}");
    }
    assert!(dead_letters(conn).await.is_empty(), "nothing dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_swap_is_counted_and_stored_once_and_duplicates_change_nothing() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(10);
    assert!(w.swap_rows > 300, "workload has swaps");
    let daemon = Daemon::start(&env.daemon_config(), "consume");
    // Then the same transactions again, as new entries (an ingest reconnect overlap, a second
    // source): the totals must not move.
    for _ in 0..2 {
        push(&mut conn, &w.payloads).await;
        wait_done(
            &env,
            &mut conn,
            w.swap_rows,
            &[&daemon],
            Duration::from_secs(60),
        )
        .await;
        assert_exact(&env, &mut conn, &w).await;
    }
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("pocketwatcher_duplicate_signatures_total"),
        "duplicates are counted in a metric"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_entries_are_dead_lettered_with_reasons_and_the_rest_is_processed() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(1);
    let mut unknown_version = w.payloads[0].clone();
    unknown_version[0] = 99;
    let mut inconsistent_tx = support::workload::fixtures()[30].clone();
    inconsistent_tx.post_lamports.pop();
    inconsistent_tx.signature.0[0] ^= 0xFF;
    let inconsistent = pocketwatcher::domain::wire::encode(&inconsistent_tx);
    push(&mut conn, &w.payloads[..20]).await;
    push(
        &mut conn,
        &[
            unknown_version,
            b"\x01\x00not msgpack".to_vec(),
            inconsistent,
        ],
    )
    .await;
    let _: String = redis::cmd("XADD")
        .arg(keys::STREAM)
        .arg("*")
        .arg("other")
        .arg("no data field")
        .query_async(&mut conn)
        .await
        .unwrap();
    push(&mut conn, &w.payloads[20..]).await;

    let daemon = Daemon::start(&env.daemon_config(), "consume");
    wait_done(
        &env,
        &mut conn,
        w.swap_rows,
        &[&daemon],
        Duration::from_secs(60),
    )
    .await;
    let dead = dead_letters(&mut conn).await;
    assert_eq!(dead.len(), 4, "{dead:#?}");
    let all = dead.join("\n");
    for reason in [
        "unknown wire format version 99",
        "undecodable",
        "inconsistent",
        "missing_payload",
    ] {
        assert!(all.contains(reason), "dead letters name `{reason}`:\n{all}");
    }
    let stored = stored_minutes(&mut conn).await;
    for (key, expected) in &w.minutes {
        assert_eq!(stored.get(key), Some(expected), "counters of {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_counts_nothing_twice() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(150);
    // The workload goes in slices, the next one only when the daemon has drained what it has:
    // a fast daemon can then never run out of work before the kills are done, so every kill
    // finds entries read but not yet acknowledged.
    let slice = w.payloads.len().div_ceil(12);
    let mut slices = w.payloads.chunks(slice);
    push(&mut conn, slices.next().unwrap()).await;
    let mut daemon = Daemon::start(&env.daemon_config(), "consume");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut kills_mid_batch = 0;
    let mut slices_left_at_last_kill = 0;
    for _ in 0..6 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_at = std::time::Instant::now() + Duration::from_millis(seed % 300);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let info = group_info(&mut conn).await.unwrap();
            if info.pending > 0 && std::time::Instant::now() >= kill_at {
                break;
            }
            if info.pending == 0 && info.lag == 0 {
                match slices.next() {
                    Some(next) => push(&mut conn, next).await,
                    None => panic!("the whole workload was drained before six kills"),
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for the daemon to hold unacknowledged entries (lag {})\n{}",
                info.lag,
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        daemon.kill9();
        // Nothing reads the group while the daemon is dead: what is pending now is exactly what
        // the killed process had read and not acknowledged.
        if group_info(&mut conn).await.unwrap().pending > 0 {
            kills_mid_batch += 1;
        }
        daemon.respawn();
        slices_left_at_last_kill = slices.len();
    }
    assert!(
        kills_mid_batch >= 5,
        "only {kills_mid_batch} kills hit a batch in flight"
    );
    assert!(
        slices_left_at_last_kill > 0,
        "the kills happened before the whole workload was in the stream"
    );
    for rest in slices {
        push(&mut conn, rest).await;
    }
    wait_done(
        &env,
        &mut conn,
        w.swap_rows,
        &[&daemon],
        Duration::from_secs(120),
    )
    .await;
    assert_exact(&env, &mut conn, &w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_give_the_same_totals_as_one_and_a_stalled_one_is_taken_over() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(40);
    let mut first = env.daemon_config();
    first.instance = "a".into();
    first.reclaim_idle_secs = 2;
    let mut second = env.daemon_config();
    second.instance = "b".into();
    second.reclaim_idle_secs = 2;
    let a = Daemon::start(&first, "consume");
    let b = Daemon::start(&second, "consume");
    push(&mut conn, &w.payloads[..w.payloads.len() / 2]).await;
    // Stall `a` mid-run (SIGSTOP) past the reclaim idle time; `b` takes its entries over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.stop_signal();
    push(&mut conn, &w.payloads[w.payloads.len() / 2..]).await;
    let mut c = conn.clone();
    wait_until_async("b reclaims a's entries", Duration::from_secs(60), || {
        let mut c = c.clone();
        async move {
            let pending: redis::Value = redis::cmd("XPENDING")
                .arg(keys::STREAM)
                .arg(keys::GROUP)
                .query_async(&mut c)
                .await
                .unwrap();
            let info = group_info(&mut c).await.unwrap();
            // Nothing left except what a still holds without its having been reclaimed.
            info.lag == 0 && !format!("{pending:?}").contains("test-a")
        }
    })
    .await;
    a.cont_signal();
    wait_done(
        &env,
        &mut c,
        w.swap_rows,
        &[&a, &b],
        Duration::from_secs(90),
    )
    .await;
    assert_exact(&env, &mut conn, &w).await;
    assert!(
        b.log().contains("reclaimed idle entries"),
        "b reclaimed:\n{}",
        b.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_work_and_exits_zero() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(40);
    push(&mut conn, &w.payloads).await;
    let mut daemon = Daemon::start(&env.daemon_config(), "consume");
    let c = conn.clone();
    wait_until_async("some batches acknowledged", Duration::from_secs(60), || {
        let mut c = c.clone();
        let total = w.payloads.len() as u64;
        async move {
            let info = group_info(&mut c).await.unwrap();
            info.lag < total
        }
    })
    .await;
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}\n{}", daemon.log());
    let info = group_info(&mut conn).await.unwrap();
    assert_eq!(
        info.pending, 0,
        "everything it had read was acknowledged before exiting"
    );
    assert!(daemon.log().contains("drained"), "{}", daemon.log());
}

/// The value of the unlabelled series `name` in Prometheus text (0 when absent).
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_metrics_account_for_every_entry_and_row_and_in_flight_returns_to_zero() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(20);
    // Preloaded: the reader finds a backlog, so batches overlap in the pipeline.
    push(&mut conn, &w.payloads).await;
    let daemon = Daemon::start(&env.daemon_config(), "consume");
    wait_done(
        &env,
        &mut conn,
        w.swap_rows,
        &[&daemon],
        Duration::from_secs(90),
    )
    .await;
    assert_exact(&env, &mut conn, &w).await;
    let entries = w.payloads.len() as f64;
    // The token is dropped just after the XACK: wait for the gauge rather than race it.
    let mut text = String::new();
    wait_until_async("no batch in flight", Duration::from_secs(30), || {
        text = daemon.metrics();
        let idle = text.contains("pocketwatcher_batches_in_flight 0\n");
        async move { idle }
    })
    .await;
    let conflicts = text
        .lines()
        .filter(|l| l.starts_with("pocketwatcher_commit_conflicts_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    let committed = series(&text, "pocketwatcher_commit_entries_sum");
    let commits = series(&text, "pocketwatcher_commit_entries_count");
    if conflicts == 0.0 {
        assert_eq!(
            committed, entries,
            "every entry closed by exactly one commit call\n{text}"
        );
    } else {
        assert!(committed >= entries, "{committed} < {entries}\n{text}");
    }
    // read_count is 200 in the test config: more than one batch, none above the read size.
    assert!(
        commits >= (entries / 200.0).ceil(),
        "{commits} commits\n{text}"
    );
    assert_eq!(
        series(&text, "pocketwatcher_insert_rows_sum"),
        w.swap_rows as f64,
        "every row sent to PostgreSQL once\n{text}"
    );
    assert!(
        series(&text, "pocketwatcher_insert_rows_count") >= 1.0,
        "{text}"
    );
    let slot_waits = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("pocketwatcher_downstream_wait_seconds_count{stage=\"in_flight_slot\"} ")
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        slot_waits >= 1.0,
        "the reader's wait for a slot is measured\n{text}"
    );
    assert!(
        text.contains("pocketwatcher_downstream_wait_seconds_count{stage=\"parser_pool\"}"),
        "{text}"
    );
}

/// Entries the group has acknowledged so far.
async fn acknowledged(conn: &mut MultiplexedConnection) -> u64 {
    group_info(conn).await.unwrap().acknowledged()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_for_20_seconds_acknowledges_nothing_unpersisted_and_catches_up() {
    let mut env = Env::new();
    let mut conn = env.conn().await;
    let w = build(60);
    let mut daemon = Daemon::start(&env.daemon_config(), "consume");
    push(&mut conn, &w.payloads[..w.payloads.len() / 3]).await;
    let c = conn.clone();
    wait_until_async("the first third processed", Duration::from_secs(60), || {
        let mut c = c.clone();
        async move { group_info(&mut c).await.unwrap().backlog() == 0 }
    })
    .await;

    env.pg.stop();
    push(&mut conn, &w.payloads[w.payloads.len() / 3..]).await;
    let acked_at_outage = acknowledged(&mut conn).await;
    assert!(acked_at_outage > 0, "the first third was acknowledged");
    let outage = std::time::Instant::now();
    while outage.elapsed() < Duration::from_secs(20) {
        assert_eq!(
            acknowledged(&mut conn).await,
            acked_at_outage,
            "an entry was acknowledged while PostgreSQL was down"
        );
        assert!(
            daemon.is_running(),
            "daemon died during the outage:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        group_info(&mut conn).await.unwrap().backlog() > 0,
        "work was held during the outage"
    );
    env.pg.start();
    wait_done(
        &env,
        &mut conn,
        w.swap_rows,
        &[&daemon],
        Duration::from_secs(90),
    )
    .await;
    assert_exact(&env, &mut conn, &w).await;
    assert!(daemon.is_running());
    assert!(daemon
        .metrics()
        .contains("pocketwatcher_postgres_errors_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_loses_nothing() {
    let mut env = Env::with_redis(TestRedis::start_persistent());
    let mut conn = env.conn().await;
    let w = build(60);
    push(&mut conn, &w.payloads).await;
    let mut daemon = Daemon::start(&env.daemon_config(), "consume");
    let c = conn.clone();
    let total = w.payloads.len() as u64;
    wait_until_async("processing under way", Duration::from_secs(60), || {
        let mut c = c.clone();
        async move { group_info(&mut c).await.unwrap().lag < total }
    })
    .await;
    env.redis.restart();
    let mut conn = env.conn().await;
    wait_done(
        &env,
        &mut conn,
        w.swap_rows,
        &[&daemon],
        Duration::from_secs(90),
    )
    .await;
    assert_exact(&env, &mut conn, &w).await;
    assert!(daemon.is_running(), "{}", daemon.log());
}
