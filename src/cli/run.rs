//! `pocketwatcher run`: load and validate the config, apply migrations, run the actor system.

use std::path::Path;

use anyhow::Context;

use crate::actors::{self, Role};
use crate::config::{Config, ProcessEnv};
use crate::health::checks::{PostgresProbe, RedisProbe};
use crate::health::Readiness;
use crate::secret::redact_url;
use crate::telemetry::live_stats::LiveStats;

/// Runs the daemon; returns the process exit code.
pub fn run(config_path: &Path, role: Role) -> anyhow::Result<i32> {
    let config = Config::load(config_path, &ProcessEnv)?;
    crate::logging::init(&config.log.level, &config.log.format);
    if role.consumes() || role.detects() {
        let applied = crate::store::postgres::run_migrations_blocking(config.postgres.url.expose())
            .with_context(|| {
                format!(
                    "applying migrations to {}",
                    redact_url(config.postgres.url.expose())
                )
            })?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrations applied");
        }
    }
    let system = actix::System::new();
    system.block_on(async move {
        let venues: Vec<String> = config.venues.iter().map(|v| v.name.clone()).collect();
        let telemetry = crate::telemetry::install(role, &venues)?;
        let readiness = readiness(&config, role)?;
        crate::http::start(&config.metrics.listen, telemetry.clone(), readiness.clone())?;
        let stats = LiveStats::new(role, &config.consume.consumer_name, telemetry.tallies());
        actix_rt::spawn(stats.run_forever(config.redis.url.expose().to_string()));
        actors::run(config, role, readiness).await
    })
}

/// The store probes every role needs: Redis always, PostgreSQL for the roles that write to it
/// (consume: swaps; detect: the alert outbox). The actors register the rest while wiring.
fn readiness(config: &Config, role: Role) -> anyhow::Result<Readiness> {
    let readiness = Readiness::new();
    let redis = RedisProbe::new(config.redis.url.expose())
        .map_err(|e| anyhow::anyhow!("redis.url: {e}"))?;
    readiness.register(redis);
    if role != Role::Ingest {
        readiness.register(PostgresProbe::new(config.postgres.url.clone()));
    }
    Ok(readiness)
}

/// `pocketwatcher migrate`.
pub fn migrate(config_path: &Path) -> anyhow::Result<()> {
    let config = Config::load(config_path, &ProcessEnv)?;
    let applied = crate::store::postgres::run_migrations_blocking(config.postgres.url.expose())?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in applied {
            println!("applied {name}");
        }
    }
    Ok(())
}
