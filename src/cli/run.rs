//! `pocketwatcher run`: load and validate the config, apply migrations, run the actor system.

use std::path::Path;

use anyhow::Context;

use crate::actors::{self, Role};
use crate::config::{Config, ProcessEnv};
use crate::secret::redact_url;

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
        actors::install_metrics(&config.metrics.listen)?;
        actors::run(config, role).await
    })
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
