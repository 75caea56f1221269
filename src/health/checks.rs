//! The readiness checks. The store probes keep their own connection (not the pipeline's pools),
//! so a busy pool never reads as an outage and an outage is seen within one refresh. Reasons are
//! short fixed texts: never a URL, a password or a server's error message.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
use redis::aio::MultiplexedConnection;
use redis::RedisError;

use super::{Check, CheckFuture, Verdict, CHECK_TIMEOUT};
use crate::actors::context::PipelineContext;
use crate::store::redis::stream::{group_info, pending_summary};

/// How long a consumer may go without committing while it has work before it is not ready.
pub const PROGRESS_WINDOW: Duration = Duration::from_secs(30);

/// A short label for a Redis error that cannot carry a URL or a password.
pub fn redis_reason(e: &RedisError) -> String {
    if let Some(code) = e.code() {
        format!("error reply {code}")
    } else if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_io_error() {
        "connection failed".into()
    } else {
        format!("{:?}", e.kind())
    }
}

/// `PING` on a connection of its own, reconnected after any failure.
#[derive(Clone)]
pub struct RedisProbe(Arc<RedisProbeInner>);

struct RedisProbeInner {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl RedisProbe {
    /// Fails only on a malformed URL (the error names no part of it).
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| redis_reason(&e))?;
        Ok(RedisProbe(Arc::new(RedisProbeInner {
            client,
            conn: tokio::sync::Mutex::new(None),
        })))
    }

    async fn ping(inner: &RedisProbeInner) -> Verdict {
        let mut slot = inner.conn.lock().await;
        if slot.is_none() {
            let conn = tokio::time::timeout(
                CHECK_TIMEOUT,
                inner.client.get_multiplexed_async_connection(),
            )
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| redis_reason(&e))?;
            *slot = Some(conn);
        }
        let Some(conn) = slot.as_mut() else {
            return Err("not connected".into());
        };
        let pong = tokio::time::timeout(
            CHECK_TIMEOUT,
            redis::cmd("PING").query_async::<String>(conn),
        )
        .await;
        match pong {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                *slot = None;
                Err(redis_reason(&e))
            }
            Err(_) => {
                *slot = None;
                Err("PING timed out".into())
            }
        }
    }
}

impl Check for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn run(&self) -> CheckFuture {
        let inner = self.0.clone();
        Box::pin(async move { RedisProbe::ping(&inner).await })
    }
}

/// `SELECT 1` on a connection of its own, reconnected after any failure.
#[derive(Clone)]
pub struct PostgresProbe(Arc<PostgresProbeInner>);

struct PostgresProbeInner {
    url: crate::secret::Secret,
    conn: tokio::sync::Mutex<Option<AsyncPgConnection>>,
}

impl PostgresProbe {
    pub fn new(url: crate::secret::Secret) -> Self {
        PostgresProbe(Arc::new(PostgresProbeInner {
            url,
            conn: tokio::sync::Mutex::new(None),
        }))
    }

    async fn select_one(inner: &PostgresProbeInner) -> Verdict {
        // Imported here: its `load` would shadow the atomics' below.
        use diesel_async::RunQueryDsl;
        let mut slot = inner.conn.lock().await;
        if slot.is_none() {
            let conn = crate::store::postgres::pool::establish(inner.url.expose())
                .await
                .map_err(|_| "cannot connect".to_string())?;
            *slot = Some(conn);
        }
        let Some(conn) = slot.as_mut() else {
            return Err("not connected".into());
        };
        let answered =
            tokio::time::timeout(CHECK_TIMEOUT, diesel::sql_query("SELECT 1").execute(conn)).await;
        match answered {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => {
                *slot = None;
                Err("query failed".into())
            }
            Err(_) => {
                *slot = None;
                Err("SELECT 1 timed out".into())
            }
        }
    }
}

impl Check for PostgresProbe {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn run(&self) -> CheckFuture {
        let inner = self.0.clone();
        Box::pin(async move { PostgresProbe::select_one(&inner).await })
    }
}

/// The consume pipeline made progress: entries committed within [`PROGRESS_WINDOW`], or nothing
/// to do (no undelivered entries and nothing pending for this consumer).
#[derive(Clone)]
pub struct PipelineProgress {
    p: Arc<PipelineContext>,
    window: Duration,
    /// Committed count at the last change, and when it changed.
    last: Arc<Mutex<(u64, Instant)>>,
}

impl PipelineProgress {
    pub fn new(p: Arc<PipelineContext>, window: Duration) -> Self {
        let committed = p.progress.entries_committed.load(Ordering::Relaxed);
        PipelineProgress {
            p,
            window,
            last: Arc::new(Mutex::new((committed, Instant::now()))),
        }
    }

    /// Seconds since the last commit, if that is longer than the window.
    fn stalled_for(&self) -> Option<u64> {
        let committed = self.p.progress.entries_committed.load(Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if committed != last.0 {
            *last = (committed, Instant::now());
        }
        let quiet = last.1.elapsed();
        (quiet >= self.window).then_some(quiet.as_secs())
    }
}

impl Check for PipelineProgress {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn run(&self) -> CheckFuture {
        let this = self.clone();
        Box::pin(async move {
            let Some(quiet) = this.stalled_for() else {
                return Ok(());
            };
            let mut conn = this
                .p
                .redis
                .get()
                .await
                .map_err(|_| "cannot read the group: no Redis connection".to_string())?;
            let info = group_info(&mut conn)
                .await
                .map_err(|e| format!("cannot read the group: {}", redis_reason(&e)))?;
            let pending = pending_summary(&mut conn)
                .await
                .map_err(|e| format!("cannot read the group: {}", redis_reason(&e)))?;
            let mine = pending
                .by_consumer
                .iter()
                .find(|(name, _)| *name == this.p.consumer)
                .map_or(0, |(_, n)| *n);
            if info.lag == 0 && mine == 0 {
                Ok(())
            } else {
                Err(format!(
                    "nothing committed for {quiet} s with {} undelivered and {mine} pending here",
                    info.lag
                ))
            }
        })
    }
}
