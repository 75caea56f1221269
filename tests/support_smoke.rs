//! Proves the test support works (and that its checks can fail): throwaway Redis and PostgreSQL
//! servers start on free ports, serve real clients, keep data across restarts when asked to, and
//! the polling helpers time out loudly.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use redis::AsyncCommands;

use support::{unique_name, wait_until, wait_until_async, TestPostgres, TestRedis};

async fn redis_conn(redis: &TestRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("redis client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to throwaway redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_set_get() {
    let redis = TestRedis::start();
    assert_ne!(redis.port(), 6379, "must never use the default Redis port");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port()));

    let mut conn = redis_conn(&redis).await;
    let () = conn.set("smoke:key", "value-1").await.unwrap();
    let got: Option<String> = conn.get("smoke:key").await.unwrap();
    assert_eq!(got.as_deref(), Some("value-1"));
    let missing: Option<String> = conn.get("smoke:absent").await.unwrap();
    assert_eq!(missing, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_persistent_survives_restart_and_kill() {
    let mut redis = TestRedis::start_persistent();
    let port = redis.port();

    let mut conn = redis_conn(&redis).await;
    let () = conn.set("smoke:graceful", "kept").await.unwrap();
    drop(conn);

    // Graceful: SIGTERM, then start again on the same port and dir.
    redis.restart();
    assert_eq!(redis.port(), port);
    let mut conn = redis_conn(&redis).await;
    let got: Option<String> = conn.get("smoke:graceful").await.unwrap();
    assert_eq!(
        got.as_deref(),
        Some("kept"),
        "AOF must survive a graceful restart"
    );

    // Crash: SIGKILL right after an acknowledged write (appendfsync always).
    let () = conn.set("smoke:crash", "also-kept").await.unwrap();
    drop(conn);
    redis.kill();
    assert!(!redis.is_running());
    redis.restart();
    let mut conn = redis_conn(&redis).await;
    let got: (Option<String>, Option<String>) = redis::pipe()
        .get("smoke:graceful")
        .get("smoke:crash")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, (Some("kept".into()), Some("also-kept".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_non_persistent_loses_data_on_restart() {
    // The counter-proof: without appendonly the same sequence loses the key, so the test above
    // really exercises persistence.
    let mut redis = TestRedis::start();
    let mut conn = redis_conn(&redis).await;
    let () = conn.set("smoke:volatile", "gone").await.unwrap();
    drop(conn);
    redis.restart();
    let mut conn = redis_conn(&redis).await;
    let got: Option<String> = conn.get("smoke:volatile").await.unwrap();
    assert_eq!(got, None);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count_rows(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("connect to throwaway postgres");
    diesel::sql_query("SELECT count(*) AS n FROM smoke")
        .get_result::<Count>(&mut conn)
        .await
        .expect("count rows")
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_create_insert_stop_start() {
    let mut pg = TestPostgres::new();
    assert_ne!(
        pg.port(),
        5432,
        "must never use the default PostgreSQL port"
    );
    let db = unique_name("smoke");
    pg.create_database(&db);
    let url = pg.url(&db);
    assert_eq!(
        url,
        format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port())
    );

    let mut conn = AsyncPgConnection::establish(&url).await.expect("connect");
    diesel::sql_query("CREATE TABLE smoke (id BIGINT PRIMARY KEY, note TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let inserted = diesel::sql_query(
        "INSERT INTO smoke (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c') ON CONFLICT DO NOTHING",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(inserted, 3);
    // Unique key: the same rows again change nothing.
    let again =
        diesel::sql_query("INSERT INTO smoke (id, note) VALUES (1, 'a') ON CONFLICT DO NOTHING")
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(again, 0);
    drop(conn);
    assert_eq!(count_rows(&url).await, 3);
    assert_eq!(
        pg.psql(&db, "SELECT string_agg(note, ',' ORDER BY id) FROM smoke"),
        "a,b,c"
    );

    pg.stop();
    assert!(!pg.is_running());
    assert!(
        AsyncPgConnection::establish(&url).await.is_err(),
        "a stopped server must refuse connections"
    );

    pg.start();
    assert_eq!(count_rows(&url).await, 3, "data must survive stop/start");
}

#[test]
fn wait_until_returns_when_condition_holds() {
    let mut calls = 0;
    wait_until("third call", Duration::from_secs(5), || {
        calls += 1;
        calls >= 3
    });
    assert_eq!(calls, 3);
}

#[test]
#[should_panic(expected = "timed out waiting for the impossible")]
fn wait_until_panics_at_deadline() {
    wait_until("the impossible", Duration::from_millis(200), || false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_until_async_polls_a_future() {
    let calls = AtomicUsize::new(0);
    wait_until_async("third poll", Duration::from_secs(5), || {
        let calls = &calls;
        async move { calls.fetch_add(1, Ordering::SeqCst) + 1 >= 3 }
    })
    .await;
    // Not `calls.load(..)`: with diesel_async::RunQueryDsl in scope that resolves to the
    // trait's `load` (it is implemented for every type and takes `self` by value).
    assert_eq!(calls.into_inner(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "timed out waiting for a future that never holds")]
async fn wait_until_async_panics_at_deadline() {
    wait_until_async(
        "a future that never holds",
        Duration::from_millis(200),
        || async { false },
    )
    .await;
}
