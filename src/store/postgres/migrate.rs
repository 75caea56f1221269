//! The schema: the SQL migrations in `migrations/`, embedded in the binary.

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::{scrub_password, PgError};
use super::pool::{establish, with_timeout, CONNECT_TIMEOUT, STATEMENT_TIMEOUT};
use crate::error_chain::error_chain;
use crate::secret::redact_url;

/// Every migration under `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the session advisory lock that serialises concurrent migrators (several processes
/// starting at once): the ASCII bytes of "pw-migr".
const MIGRATION_LOCK_KEY: i64 = 0x0070_772d_6d69_6772;

/// Names of all embedded migrations (`2026-11-23-000001_create_swap_events`, ...), oldest first.
pub fn migration_names() -> Vec<String> {
    let mut names: Vec<String> = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map(|ms| ms.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Applies every pending migration to the database at `url` and returns the names of those it
/// applied (empty when the schema is current: calling it again is a no-op). Each migration runs
/// in its own transaction; concurrent callers (several processes starting together) are
/// serialised with a PostgreSQL advisory lock, so exactly one of them applies each migration.
///
/// Runtime: diesel's migration harness is synchronous (it blocks on the async connection with
/// `block_in_place` + `Handle::block_on`, which needs a multi-thread runtime when called on a
/// task). It therefore runs here on tokio's blocking pool (`spawn_blocking`), which works on a
/// multi-thread runtime and on a current-thread one (actix's `System`) alike, and never stalls
/// futures joined with this one. Outside any tokio runtime, use [`run_migrations_blocking`].
pub async fn run_migrations(url: &str) -> Result<Vec<String>, PgError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(PgError::Runtime(
            "run_migrations must run inside a tokio runtime; use run_migrations_blocking".into(),
        ));
    }

    let mut conn = establish(url).await.map_err(|e| PgError::Connect {
        target: redact_url(url),
        message: scrub_password(&error_chain(&e), url),
    })?;

    // Wait for any other migrator, but not for ever (lock_timeout also bounds each migration's
    // own lock waits). The lock is released when this session ends, whatever happens.
    with_timeout(
        "migration lock",
        STATEMENT_TIMEOUT + CONNECT_TIMEOUT,
        async {
            diesel::sql_query("SET lock_timeout = '30s'")
                .execute(&mut conn)
                .await?;
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(&mut conn)
                .await
        },
    )
    .await??;

    let applied = tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        drop(harness); // closes the session: releases the advisory lock
        applied
    })
    .await
    .map_err(|e| PgError::Runtime(format!("the migration task failed: {e}")))?
    .map_err(PgError::Migration)?;

    let mut names: Vec<String> = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|e| PgError::Migration(e.to_string()))?
        .iter()
        .filter(|m| applied.contains(&m.name().version().to_string()))
        .map(|m| m.name().to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// [`run_migrations`] for synchronous callers (plain `main` before any runtime exists, a
/// command-line tool, a thread of an actix system that must not await): runs it on a fresh thread
/// with its own one-worker multi-thread runtime and blocks the calling thread until it is done.
/// Callable from anywhere, including from inside another runtime. Meant for start-up and
/// `pocketwatcher migrate`, not for a hot path.
pub fn run_migrations_blocking(url: &str) -> Result<Vec<String>, PgError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("pw-migrate")
                    .enable_all()
                    .build()
                    .map_err(|e| PgError::Runtime(format!("cannot build a tokio runtime: {e}")))?;
                runtime.block_on(run_migrations(url))
            })
            .join()
            .unwrap_or_else(|_| Err(PgError::Runtime("the migration thread panicked".into())))
    })
}
