//! The PostgreSQL swap store against a real, throwaway PostgreSQL: migrations, idempotent batched
//! inserts, exact u64 amounts, all-or-nothing batches, retention, and recovery from an outage —
//! through the unnest INSERT and through the COPY path of large batches.

mod support;

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pocketwatcher::store::postgres::{
    connect, delete_swaps_before, insert_swaps, insert_swaps_within, migration_names,
    run_migrations, run_migrations_blocking, uses_copy, write_swaps, CopyPool, PgError, PgPool,
    SwapRow, CHECKOUT_TIMEOUT, CONNECT_TIMEOUT, COPY_MIN_ROWS, INSERT_CHUNK_ROWS,
};

use pocketwatcher::domain::Side;
use support::{free_port, unique_name, TestPostgres};

/// A fresh database with the schema applied, and a pool on it.
async fn migrated_db(pg: &TestPostgres) -> (String, PgPool) {
    let db = unique_name("swaps");
    pg.create_database(&db);
    let applied = run_migrations(&pg.url(&db)).await.expect("migrations");
    assert_eq!(applied, migration_names());
    let pool = connect(&pg.url(&db), 4).await.expect("connect");
    (db, pool)
}

fn row(signature: &str, leg: i16, block_time: i64) -> SwapRow {
    SwapRow {
        signature: signature.to_string(),
        leg,
        slot: 300_000_000 + block_time,
        block_time,
        venue: "pump.fun".to_string(),
        user_wallet: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".to_string(),
        fee_payer: "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA".to_string(),
        side: if leg % 2 == 0 { Side::Buy } else { Side::Sell },
        base_mint: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".to_string(),
        base_amount: 1_000_000 + leg as u64,
        base_decimals: 6,
        quote_mint: "So11111111111111111111111111111111111111112".to_string(),
        quote_amount: 5_000_000_000,
        quote_decimals: 9,
        sol_value_lamports: Some(5_000_000_000),
    }
}

/// `n` single-leg rows with signatures `{prefix}00000000`, `{prefix}00000001`, ...
fn rows(prefix: &str, n: usize, block_time: i64) -> Vec<SwapRow> {
    (0..n)
        .map(|i| row(&format!("{prefix}{i:08}"), 0, block_time))
        .collect()
}

fn count(pg: &TestPostgres, db: &str, filter: &str) -> u64 {
    pg.psql(db, &format!("SELECT count(*) FROM swap_events {filter}"))
        .parse()
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_and_reapply_as_noop() {
    let pg = TestPostgres::new();
    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);

    let names = migration_names();
    // Every directory under migrations/ is embedded (each wave adds its own).
    let dirs = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(names.len(), dirs, "{names:?}");
    assert_eq!(run_migrations(&url).await.unwrap(), names);
    assert_eq!(run_migrations(&url).await.unwrap(), Vec::<String>::new());
    assert_eq!(run_migrations(&url).await.unwrap(), Vec::<String>::new());

    let tables = pg.psql(
        &db,
        "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_%'",
    );
    for table in [
        "alert_deliveries",
        "alerts",
        "swap_events",
        "token_profiles",
        "wallet_profiles",
    ] {
        assert!(tables.split(',').any(|t| t == table), "{table} in {tables}");
    }
    let swap_indexes = pg.psql(
        &db,
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'swap_events'",
    );
    assert_eq!(swap_indexes, "3", "primary key + two secondary indexes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrators_apply_each_migration_once() {
    let pg = TestPostgres::new();
    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);

    // As separate tasks (like separate processes) and joined on one task: neither may stall.
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { run_migrations(&url).await })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(
            task.await
                .unwrap()
                .expect("every concurrent migrator succeeds"),
        );
    }
    all.sort();
    assert_eq!(all, migration_names());

    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        run_migrations(&url),
        run_migrations(&url),
        run_migrations(&url)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut all: Vec<String> = [a, b, c]
        .into_iter()
        .flat_map(|r| r.expect("every joined migrator succeeds"))
        .collect();
    all.sort();
    assert_eq!(all, migration_names());
}

#[tokio::test] // current-thread runtime, like actix's
async fn migrations_on_a_current_thread_runtime() {
    let pg = TestPostgres::new();
    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);
    assert_eq!(run_migrations(&url).await.unwrap(), migration_names());
    assert!(run_migrations(&url).await.unwrap().is_empty());

    // The blocking variant, called from inside this runtime.
    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);
    assert_eq!(run_migrations_blocking(&url).unwrap(), migration_names());
    assert!(run_migrations_blocking(&url).unwrap().is_empty());
}

#[test]
fn migrations_without_a_runtime() {
    let pg = TestPostgres::new();
    let db = unique_name("migr");
    pg.create_database(&db);
    let url = pg.url(&db);
    let err = futures::executor::block_on(run_migrations(&url)).unwrap_err();
    assert!(matches!(err, PgError::Runtime(_)), "{err}");
    assert_eq!(run_migrations_blocking(&url).unwrap(), migration_names());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserting_a_batch_twice_stores_it_once() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    // More than one statement's worth, so the multi-chunk transaction path runs too.
    let batch = rows("dup", INSERT_CHUNK_ROWS * 2 + 17, 1_700_000_000);
    assert_eq!(
        insert_swaps(&pool, &batch).await.unwrap(),
        batch.len() as u64
    );
    assert_eq!(insert_swaps(&pool, &batch).await.unwrap(), 0);
    assert_eq!(count(&pg, &db, ""), batch.len() as u64);

    // A batch overlapping the stored rows inserts only the new ones; a row repeated within one
    // batch is stored once.
    let mut mixed = rows("dup", 10, 1_700_000_000);
    mixed.extend(rows("new", 5, 1_700_000_000));
    mixed.push(row("new00000000", 0, 1_700_000_000));
    assert_eq!(insert_swaps(&pool, &mixed).await.unwrap(), 5);
    assert_eq!(count(&pg, &db, ""), batch.len() as u64 + 5);

    // Single-chunk path too.
    let small = rows("small", 3, 1_700_000_000);
    assert_eq!(insert_swaps(&pool, &small).await.unwrap(), 3);
    assert_eq!(insert_swaps(&pool, &small).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn u64_max_amounts_round_trip_exactly() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    let mut max = row("max", 0, 1_700_000_000);
    max.base_amount = u64::MAX;
    max.quote_amount = u64::MAX;
    max.sol_value_lamports = Some(u64::MAX);
    let mut zero = row("zero", 0, 1_700_000_000);
    zero.base_amount = 0;
    zero.quote_amount = 0;
    zero.sol_value_lamports = None;
    zero.fee_payer = zero.user_wallet.clone();
    assert_eq!(insert_swaps(&pool, &[max, zero]).await.unwrap(), 2);

    // Each row keeps its own fee payer (a bundle's payer, or the wallet itself).
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(signature || '=' || fee_payer, ',' ORDER BY signature) \
             FROM swap_events"
        ),
        "max=Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA,\
         zero=9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
    );

    assert_eq!(
        pg.psql(
            &db,
            "SELECT base_amount::text || '|' || quote_amount::text || '|' || \
             sol_value_lamports::text FROM swap_events WHERE signature = 'max'"
        ),
        "18446744073709551615|18446744073709551615|18446744073709551615"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT base_amount::text || '|' || quote_amount::text || '|' || \
             coalesce(sol_value_lamports::text, 'NULL') FROM swap_events WHERE signature = 'zero'"
        ),
        "0|0|NULL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_legs_of_one_signature_are_two_rows() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    let legs = [
        row("routed", 0, 1_700_000_000),
        row("routed", 1, 1_700_000_000),
    ];
    assert_eq!(insert_swaps(&pool, &legs).await.unwrap(), 2);
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(leg::text || ':' || side, ',' ORDER BY leg) FROM swap_events \
             WHERE signature = 'routed'"
        ),
        "0:buy,1:sell"
    );
    assert_eq!(insert_swaps(&pool, &legs[1..]).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_is_a_noop() {
    let mut pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    assert_eq!(insert_swaps(&pool, &[]).await.unwrap(), 0);
    assert_eq!(count(&pg, &db, ""), 0);
    // It does not even need the server.
    pg.stop();
    assert_eq!(insert_swaps(&pool, &[]).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chunk_rolls_back_the_whole_batch() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    let mut batch = rows("atomic", INSERT_CHUNK_ROWS + 10, 1_700_000_000);
    // PostgreSQL text cannot hold NUL: this row (sorted last, in the second statement) fails.
    batch.push(row("zzz\0bad", 0, 1_700_000_000));
    let err = insert_swaps(&pool, &batch).await.unwrap_err();
    assert!(matches!(err, PgError::Query(_)), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(
        count(&pg, &db, ""),
        0,
        "the first statement was rolled back"
    );

    // The connection that saw the error is usable again.
    batch.pop();
    assert_eq!(
        insert_swaps(&pool, &batch).await.unwrap(),
        batch.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_rows_older_than_the_cutoff() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    // 100 distinct block times, 3 rows each (one signature with two legs + one other).
    let mut batch = Vec::new();
    for t in 1_000..1_100i64 {
        batch.push(row(&format!("a{t}"), 0, t));
        batch.push(row(&format!("a{t}"), 1, t));
        batch.push(row(&format!("b{t}"), 0, t));
    }
    assert_eq!(insert_swaps(&pool, &batch).await.unwrap(), 300);

    let err = delete_swaps_before(&pool, 1_050, 0).await.unwrap_err();
    assert!(matches!(err, PgError::InvalidArgument(_)), "{err}");

    // Cutoff 1_050: block times 1_000..=1_049 go (150 rows), in batches of 7 (not a divisor).
    assert_eq!(delete_swaps_before(&pool, 1_050, 7).await.unwrap(), 150);
    assert_eq!(count(&pg, &db, ""), 150);
    assert_eq!(count(&pg, &db, "WHERE block_time < 1050"), 0);
    assert_eq!(
        pg.psql(&db, "SELECT min(block_time) FROM swap_events"),
        "1050"
    );
    // Nothing left to delete: a no-op.
    assert_eq!(delete_swaps_before(&pool, 1_050, 7).await.unwrap(), 0);
    // A cutoff past everything empties the table in one batch larger than it.
    assert_eq!(
        delete_swaps_before(&pool, i64::MAX, 10_000).await.unwrap(),
        150
    );
    assert_eq!(count(&pg, &db, ""), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_gives_a_bounded_error_and_the_pool_recovers() {
    let mut pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    assert_eq!(
        insert_swaps(&pool, &rows("before", 10, 1_700_000_000))
            .await
            .unwrap(),
        10
    );

    pg.stop();
    let during = rows("during", 10, 1_700_000_000);
    let bound = CHECKOUT_TIMEOUT + Duration::from_secs(5);
    let started = Instant::now();
    let result = tokio::time::timeout(bound, insert_swaps(&pool, &during))
        .await
        .expect("insert_swaps must not hang while PostgreSQL is down");
    let err = result.expect_err("insert_swaps must fail while PostgreSQL is down");
    assert!(err.is_retryable(), "{err}");
    assert!(started.elapsed() <= CHECKOUT_TIMEOUT + Duration::from_secs(1));
    // Again (the pool has no live connection left now).
    assert!(tokio::time::timeout(bound, insert_swaps(&pool, &during))
        .await
        .expect("bounded")
        .is_err());

    pg.start();
    assert_eq!(insert_swaps(&pool, &during).await.unwrap(), 10);
    assert_eq!(count(&pg, &db, ""), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_statement_times_out_and_a_retry_stores_the_batch_once() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;

    // Another session holds the table: the insert blocks on its lock, as on a stuck server.
    let mut locker = AsyncPgConnection::establish(&pg.url(&db)).await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .await
        .unwrap();
    diesel::sql_query("LOCK TABLE swap_events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();

    let batch = rows("stuck", 100, 1_700_000_000);
    let started = Instant::now();
    let err = insert_swaps_within(&pool, &batch, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PgError::Timeout { .. }) && err.is_retryable(),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The abandoned statement may still commit once the lock is gone ("timed out" means
    // "unknown"); a retry is safe either way and the batch ends up stored exactly once.
    diesel::sql_query("COMMIT")
        .execute(&mut locker)
        .await
        .unwrap();
    let retried = insert_swaps(&pool, &batch).await.unwrap();
    assert!(retried == 0 || retried == 100, "{retried}");
    support::wait_until_async("the batch is stored", Duration::from_secs(10), || async {
        count(&pg, &db, "") == 100
    })
    .await;
    assert_eq!(insert_swaps(&pool, &batch).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_never_show_the_password() {
    // Nothing listens on this port.
    let url = format!(
        "postgres://postgres:sup3rs3cret@127.0.0.1:{}/nope",
        free_port()
    );
    let Err(err) = connect(&url, 2).await else {
        panic!("connect to a closed port must fail")
    };
    let shown = format!("{err} / {err:?}");
    assert!(matches!(err, PgError::Connect { .. }), "{shown}");
    assert!(!shown.contains("sup3rs3cret"), "{shown}");
    assert!(shown.contains("postgres:***@127.0.0.1"), "{shown}");

    let err = run_migrations(&url).await.unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("sup3rs3cret"), "{shown}");

    let Err(err) = connect(&url, 0).await else {
        panic!("a pool of size 0 must be refused")
    };
    assert!(matches!(err, PgError::InvalidArgument(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_outbox_schema_enforces_its_contract() {
    let pg = TestPostgres::new();
    let (db, _pool) = migrated_db(&pg).await;

    let insert = |key: &str, top_buyers: &str| {
        format!(
            "INSERT INTO alerts (mint, trigger_name, trigger_reason, metrics, top_buyers, \
             token_supply, dedup_key) VALUES ('M', 't', 'r', \
             '{{\"buy_count_5m\": 12, \"unique_buyers_5m\": 1e12, \"buy_volume_sol_5m\": 3.5, \
             \"buy_sell_ratio_5m\": \"inf\"}}', '{top_buyers}', 99999999999999999999999, '{key}') \
             ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
        )
    };
    let id = pg.psql(&db, &insert("k1", r#"[{"wallet":"W","volume_sol":1.5}]"#));
    assert!(!id.is_empty());
    // A replayed decision inserts nothing.
    assert_eq!(pg.psql(&db, &insert("k1", "[]")), "");
    // Derived reference columns: numbers in range only, never a failed insert.
    assert_eq!(
        pg.psql(
            &db,
            "SELECT buy_count_5m || '|' || coalesce(unique_buyers_5m::text, 'NULL') || '|' || \
             volume_sol_5m || '|' || coalesce(buy_sell_ratio_5m::text, 'NULL') FROM alerts"
        ),
        "12|NULL|3.5|NULL"
    );
    // top_buyers must be a JSON array.
    let bad = std::panic::catch_unwind(|| pg.psql(&db, &insert("k2", r#"{"not":"an array"}"#)));
    assert!(bad.is_err(), "a non-array top_buyers must be rejected");

    pg.psql(
        &db,
        &format!("INSERT INTO alert_deliveries (alert_id, channel) VALUES ({id}, 'discord')"),
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT status || '|' || attempts FROM alert_deliveries WHERE channel = 'discord'"
        ),
        "pending|0"
    );
}

// ---- The COPY path (large batches): same contract as the unnest INSERT. ----

/// Every column of `swap_events` but `created_at`, one line per row in key order.
fn stored_rows(pg: &TestPostgres, db: &str) -> String {
    pg.psql(
        db,
        "SELECT string_agg(concat_ws('|', signature, leg, slot, block_time, venue, user_wallet, \
         side, base_mint, base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, \
         coalesce(sol_value_lamports::text, 'NULL'), fee_payer), E'\\n' ORDER BY signature, leg) \
         FROM swap_events",
    )
}

/// Rows that exercise every column: both sides, several legs, u64::MAX and 0 amounts, amounts
/// whose low base-10000 digit groups are zero, NULL and non-NULL SOL values, own and other fee
/// payers, distinct block times and slots.
fn varied_rows(n: usize) -> Vec<SwapRow> {
    let amounts = [
        u64::MAX,
        0,
        1,
        10_000,
        100_000_000,
        1_000_000_000_000,
        10_000_000_000_000_000_000,
        9_999,
        123_456_789_012_345,
    ];
    (0..n)
        .map(|i| {
            let mut r = row(
                &format!("var{:06}", i / 2),
                (i % 2) as i16,
                1_700_000_000 + i as i64,
            );
            r.slot = 312_000_000 + i as i64 * 7;
            r.base_amount = amounts[i % amounts.len()];
            r.quote_amount = amounts[(i + 3) % amounts.len()];
            r.base_decimals = (i % 10) as i16;
            r.quote_decimals = 9;
            r.sol_value_lamports = match i % 3 {
                0 => None,
                1 => Some(u64::MAX),
                _ => Some(amounts[(i + 5) % amounts.len()]),
            };
            if i % 4 == 0 {
                r.fee_payer = r.user_wallet.clone();
            }
            r.venue = ["pump.fun", "raydium", "unknown"][i % 3].to_string();
            r
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_inserts_only_the_new_rows_and_a_replay_inserts_nothing() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;
    let copy = CopyPool::new(&pg.url(&db), 2).unwrap();

    // 300 rows already stored (by the unnest INSERT), then a batch of those plus 700 new ones, one
    // of them repeated within the batch.
    let stored = rows("cp", 300, 1_700_000_000);
    assert_eq!(insert_swaps(&pool, &stored).await.unwrap(), 300);
    let mut batch = rows("cp", 1_000, 1_700_000_000);
    batch.push(row("cp00000999", 0, 1_700_000_000));
    batch.reverse(); // the stage's ORDER BY, not the caller, sets the write order
    assert_eq!(copy.insert_swaps(&batch).await.unwrap(), 700);
    assert_eq!(count(&pg, &db, ""), 1_000);

    // A replayed batch inserts nothing, on the same (reused) connection and on a new one.
    assert_eq!(copy.insert_swaps(&batch).await.unwrap(), 0);
    let other = CopyPool::new(&pg.url(&db), 1).unwrap();
    assert_eq!(other.insert_swaps(&batch).await.unwrap(), 0);
    assert_eq!(count(&pg, &db, ""), 1_000);

    // More than one 5,000-row statement's worth in one COPY.
    let big = rows("big", INSERT_CHUNK_ROWS + 17, 1_700_000_000);
    assert_eq!(copy.insert_swaps(&big).await.unwrap(), big.len() as u64);
    assert_eq!(copy.insert_swaps(&big).await.unwrap(), 0);
    assert_eq!(copy.insert_swaps(&[]).await.unwrap(), 0);
    assert!(CopyPool::new(&pg.url(&db), 0).is_err(), "size 0 is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_and_insert_store_identical_rows_for_every_column() {
    let pg = TestPostgres::new();
    let (by_copy, _) = migrated_db(&pg).await;
    let (by_insert, pool) = migrated_db(&pg).await;
    let batch = varied_rows(600);

    let copy = CopyPool::new(&pg.url(&by_copy), 1).unwrap();
    assert_eq!(copy.insert_swaps(&batch).await.unwrap(), 600);
    assert_eq!(insert_swaps(&pool, &batch).await.unwrap(), 600);
    let copied = stored_rows(&pg, &by_copy);
    assert_eq!(copied.lines().count(), 600);
    assert_eq!(copied, stored_rows(&pg, &by_insert));

    // And the values are the rows' own, not merely the same on both paths.
    let mut expected: Vec<String> = batch
        .iter()
        .map(|r| {
            let sol = r
                .sol_value_lamports
                .map_or("NULL".to_string(), |v| v.to_string());
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{sol}|{}",
                r.signature,
                r.leg,
                r.slot,
                r.block_time,
                r.venue,
                r.user_wallet,
                r.side.as_str(),
                r.base_mint,
                r.base_amount,
                r.base_decimals,
                r.quote_mint,
                r.quote_amount,
                r.quote_decimals,
                r.fee_payer
            )
        })
        .collect();
    expected.sort();
    assert_eq!(copied, expected.join("\n"));
    assert!(copied.contains("|18446744073709551615|"), "u64::MAX amount");
    assert!(
        copied.contains("|10000000000000000000|"),
        "trailing zero groups"
    );
    assert!(copied.contains("|NULL|"), "NULL SOL value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_swaps_copies_batches_from_the_threshold_up() {
    let pg = TestPostgres::new();
    let (db, pool) = migrated_db(&pg).await;
    let copy = CopyPool::new(&pg.url(&db), 1).unwrap();
    // The stage table exists (in some session) once a COPY connection has been made.
    let stage_tables = || {
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'swap_stage' AND relpersistence = 't'",
        )
    };

    assert!(!uses_copy(COPY_MIN_ROWS - 1) && uses_copy(COPY_MIN_ROWS));
    let below = rows("below", COPY_MIN_ROWS - 1, 1_700_000_000);
    assert_eq!(
        write_swaps(&pool, &copy, &below).await.unwrap(),
        below.len() as u64
    );
    assert_eq!(
        stage_tables(),
        "0",
        "below the threshold: the unnest INSERT"
    );

    let at = rows("at", COPY_MIN_ROWS, 1_700_000_000);
    assert_eq!(
        write_swaps(&pool, &copy, &at).await.unwrap(),
        at.len() as u64
    );
    assert_eq!(stage_tables(), "1", "at the threshold: COPY");
    assert_eq!(write_swaps(&pool, &copy, &at).await.unwrap(), 0);
    assert_eq!(count(&pg, &db, ""), (2 * COPY_MIN_ROWS - 1) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_copy_rolls_back_and_the_next_call_succeeds() {
    let pg = TestPostgres::new();
    let (db, _pool) = migrated_db(&pg).await;
    let copy = CopyPool::new(&pg.url(&db), 1).unwrap();

    let mut batch = rows("cpatomic", 800, 1_700_000_000);
    // PostgreSQL text cannot hold NUL: the COPY fails after the other rows were staged.
    batch.push(row("zzz\0bad", 0, 1_700_000_000));
    let err = copy.insert_swaps(&batch).await.unwrap_err();
    assert!(matches!(err, PgError::Copy { .. }), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(count(&pg, &db, ""), 0, "nothing of the batch was stored");

    batch.pop();
    assert_eq!(copy.insert_swaps(&batch).await.unwrap(), 800);
    assert_eq!(count(&pg, &db, ""), 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_fails_bounded_while_postgres_is_down_and_reconnects_after_a_restart() {
    let mut pg = TestPostgres::new();
    let (db, _pool) = migrated_db(&pg).await;
    let copy = CopyPool::new(&pg.url(&db), 2).unwrap();
    assert_eq!(
        copy.insert_swaps(&rows("before", 600, 1_700_000_000))
            .await
            .unwrap(),
        600
    );

    // The idle connection's server goes away under it.
    pg.stop();
    let during = rows("during", 600, 1_700_000_000);
    let bound = CONNECT_TIMEOUT + Duration::from_secs(5);
    for _ in 0..2 {
        let result = tokio::time::timeout(bound, copy.insert_swaps(&during))
            .await
            .expect("the COPY path must not hang while PostgreSQL is down");
        let err = result.expect_err("the COPY path must fail while PostgreSQL is down");
        assert!(err.is_retryable(), "{err}");
    }

    pg.start();
    assert_eq!(copy.insert_swaps(&during).await.unwrap(), 600);
    assert_eq!(copy.insert_swaps(&during).await.unwrap(), 0);
    assert_eq!(count(&pg, &db, ""), 1_200);

    // A restart while connections are idle: the next call reconnects instead of failing.
    pg.restart();
    let after = rows("after", 600, 1_700_000_000);
    let mut inserted = None;
    for _ in 0..2 {
        // At most one call may see the dead connection (its close not noticed yet).
        match copy.insert_swaps(&after).await {
            Ok(n) => {
                inserted = Some(n);
                break;
            }
            Err(e) => assert!(e.is_retryable(), "{e}"),
        }
    }
    assert_eq!(inserted, Some(600));
    assert_eq!(count(&pg, &db, ""), 1_800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_connection_errors_never_show_the_password() {
    let url = format!(
        "postgres://postgres:sup3rs3cret@127.0.0.1:{}/nope",
        free_port()
    );
    let copy = CopyPool::new(&url, 1).unwrap();
    let err = copy
        .insert_swaps(&rows("x", 1, 1_700_000_000))
        .await
        .unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(matches!(err, PgError::Connect { .. }), "{shown}");
    assert!(err.is_retryable(), "{shown}");
    assert!(!shown.contains("sup3rs3cret"), "{shown}");
    assert!(shown.contains("postgres:***@127.0.0.1"), "{shown}");
}
