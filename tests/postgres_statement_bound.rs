//! A statement the client gave up on must not go on running on the server.
//!
//! The store bounds every statement on the client (`with_timeout`) and then discards the
//! connection, but PostgreSQL only notices a vanished client when it tries to answer: a soak saw
//! outcome queries abandoned at 60 s still running after 5 minutes, four at once. Pooled
//! connections therefore ask the server to check for their client and to stop any statement past
//! `SERVER_STATEMENT_TIMEOUT`. Against a real, throwaway PostgreSQL.

mod support;

use std::time::Duration;

use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use pocketwatcher::store::postgres::pool::{PgConn, SERVER_STATEMENT_TIMEOUT};
use pocketwatcher::store::postgres::{connect, run_migrations};
use support::{unique_name, wait_until_async, TestPostgres};

#[derive(QueryableByName)]
struct StatementTimeout {
    #[diesel(sql_type = Text)]
    statement_timeout: String,
}

fn running_sleeps(pg: &TestPostgres, db: &str) -> u64 {
    pg.psql(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
         AND query LIKE 'SELECT pg_sleep(600)%'",
    )
    .parse()
    .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_statement_stops_on_the_server_and_every_statement_is_bounded() {
    let pg = TestPostgres::new();
    let db = unique_name("bound");
    pg.create_database(&db);
    run_migrations(&pg.url(&db)).await.expect("migrations");
    let pool = connect(&pg.url(&db), 2).await.expect("connect");

    let mut conn = pool.get().await.expect("checkout");
    let shown: StatementTimeout = diesel::sql_query("SHOW statement_timeout")
        .get_result(&mut *conn)
        .await
        .expect("SHOW statement_timeout");
    assert_eq!(
        shown.statement_timeout,
        format!("{}s", SERVER_STATEMENT_TIMEOUT.as_secs()),
        "the server bounds every statement of a pooled connection"
    );

    // The client gives up after 1 s and discards the connection, as `settle` does.
    let gave_up = tokio::time::timeout(
        Duration::from_secs(1),
        diesel::sql_query("SELECT pg_sleep(600)").execute(&mut *conn),
    )
    .await;
    assert!(gave_up.is_err(), "pg_sleep(600) cannot finish within 1 s");
    let seen_running = running_sleeps(&pg, &db);
    drop(PgConn::take(conn));

    // Without the client check the server would sleep on for 10 minutes.
    wait_until_async(
        "the abandoned pg_sleep(600) to stop on the server",
        Duration::from_secs(30),
        || async { running_sleeps(&pg, &db) == 0 },
    )
    .await;
    assert_eq!(seen_running, 1, "the statement was running when abandoned");
}
