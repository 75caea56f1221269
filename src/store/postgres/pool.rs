//! The connection pool, with every wait bounded.

use crate::error_chain::error_chain;
use std::future::Future;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::FutureExt;

use super::error::{scrub_password, PgError};
use crate::secret::redact_url;

/// The pool every PostgreSQL call of the store takes.
pub type PgPool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;

/// A connection checked out of a [`PgPool`].
pub type PgConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Longest time to establish one new connection (TCP + startup + authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time to obtain a pooled connection: waiting for a free slot, verifying an idle
/// connection with `SELECT 1`, or creating a new one.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget per statement of the store (each statement is bounded: ≤ 5,000 rows inserted or
/// deleted). Exceeding it fails the call with [`PgError::Timeout`] and discards the connection.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a pool of at most `max_size` connections to `url` and checks once, within
/// [`CHECKOUT_TIMEOUT`], that a connection can be made and answers `SELECT 1`.
///
/// Connections are made lazily after that, each within [`CONNECT_TIMEOUT`]; an idle connection
/// is verified (`SELECT 1`) before it is handed out, so a server restart costs no failed write:
/// dead connections are dropped and replaced. When the server is down every call fails fast with
/// an error and the pool recovers by itself once it is back.
pub async fn connect(url: &str, max_size: usize) -> Result<PgPool, PgError> {
    if max_size == 0 {
        return Err(PgError::InvalidArgument("pool max_size must be ≥ 1".into()));
    }
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(|url| establish_bounded(url).boxed());
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let pool = PgPool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| PgError::InvalidArgument(format!("cannot build the pool: {e}")))?;

    let connect_error = |message: String| PgError::Connect {
        target: redact_url(url),
        message: scrub_password(&message, url),
    };
    let mut conn = match tokio::time::timeout(CHECKOUT_TIMEOUT, pool.get()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(connect_error(error_chain(&e))),
        Err(_) => {
            return Err(connect_error(format!(
                "timed out after {CHECKOUT_TIMEOUT:?}"
            )))
        }
    };
    with_timeout(
        "connectivity check",
        CHECKOUT_TIMEOUT,
        diesel::sql_query("SELECT 1").execute(&mut *conn),
    )
    .await?
    .map_err(|e| connect_error(error_chain(&e)))?;
    Ok(pool)
}

/// One new connection, bounded by [`CONNECT_TIMEOUT`].
pub(crate) async fn establish(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(url)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectionError::BadConnection(format!(
            "connecting timed out after {CONNECT_TIMEOUT:?}"
        ))),
    }
}

/// Longest any statement of a pooled connection may run on the server. Above the longest client
/// budget (`4 × STATEMENT_TIMEOUT`, the swap history), so the server never cuts a statement the
/// client is still waiting for.
pub const SERVER_STATEMENT_TIMEOUT: Duration = Duration::from_secs(130);

/// One new pooled connection whose statements cannot outlive their caller on the server.
///
/// A client-side timeout drops the connection, but PostgreSQL goes on running the statement until
/// it tries to answer. The soak found outcome queries timed out at 60 s still running after
/// 5 minutes, a new one started by each pass, four at once eating the box's CPU. So the server
/// checks every 2 s whether the client is still there (`client_connection_check_interval`,
/// PostgreSQL ≥ 14; skipped on older servers) and stops any statement after
/// [`SERVER_STATEMENT_TIMEOUT`] in any case.
pub(crate) async fn establish_bounded(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = establish(url).await?;
    let bounded = tokio::time::timeout(
        CONNECT_TIMEOUT,
        conn.batch_execute(&statement_timeout_sql()),
    )
    .await;
    match bounded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ConnectionError::BadConnection(error_chain(&e))),
        Err(_) => {
            return Err(ConnectionError::BadConnection(format!(
                "setting statement_timeout timed out after {CONNECT_TIMEOUT:?}"
            )))
        }
    }
    // Older servers refuse the parameter; the statement timeout above still bounds them.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, conn.batch_execute(CLIENT_CHECK_SQL)).await;
    Ok(conn)
}

/// The session setting that bounds every statement of a store connection on the server
/// ([`SERVER_STATEMENT_TIMEOUT`]); the pooled diesel connections and the swap COPY connections
/// both run it first.
pub(crate) fn statement_timeout_sql() -> String {
    format!(
        "SET statement_timeout = {}",
        SERVER_STATEMENT_TIMEOUT.as_millis()
    )
}

/// The session setting that makes the server check every 2 s that its client is still there
/// (PostgreSQL ≥ 14; older servers refuse it and callers ignore that).
pub(crate) const CLIENT_CHECK_SQL: &str = "SET client_connection_check_interval = 2000";

/// A connection from `pool` within [`CHECKOUT_TIMEOUT`].
pub(crate) async fn checkout(pool: &PgPool) -> Result<PgConn, PgError> {
    with_timeout("connection checkout", CHECKOUT_TIMEOUT, pool.get())
        .await?
        .map_err(|e| PgError::Pool(error_chain(&e)))
}

/// The result of a bounded statement on `conn`. A connection whose statement timed out is
/// discarded (its state is unknown), never returned to the pool.
pub(crate) fn settle<T, E: Into<PgError>>(
    conn: PgConn,
    result: Result<Result<T, E>, PgError>,
) -> Result<T, PgError> {
    match result {
        Ok(done) => done.map_err(Into::into),
        Err(timeout) => {
            discard(conn);
            Err(timeout)
        }
    }
}

/// Drops `conn` for good instead of returning it to the pool: after a timeout its state is
/// unknown (a statement may still be running on it). The pool makes a new one when needed.
pub(crate) fn discard(conn: PgConn) {
    drop(PgConn::take(conn));
}

/// `fut` within `after`, or [`PgError::Timeout`] naming `operation`.
pub(crate) async fn with_timeout<F: Future>(
    operation: &'static str,
    after: Duration,
    fut: F,
) -> Result<F::Output, PgError> {
    tokio::time::timeout(after, fut)
        .await
        .map_err(|_| PgError::Timeout { operation, after })
}
