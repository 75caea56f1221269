//! `pocketwatcher status`: backlog, pending per consumer, group lag, dead letters, processing
//! rate, ingest position, HOT tokens and the last alerts, read from Redis and PostgreSQL only, so
//! it works from any host against a running daemon. `--watch` redraws the screen until Ctrl-C;
//! `--json` prints one object per refresh for scripts. URLs are shown redacted.

pub mod gather;
pub mod render;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use redis::aio::MultiplexedConnection;

use crate::config::{Config, ProcessEnv};
use crate::health::checks::redis_reason;
use crate::secret::redact_url;
use gather::{gather, Sources, Status};

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Config file (for the Redis and PostgreSQL URLs); the `POCKETWATCHER_*` variables also work.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Refresh every SECS seconds (default 2) until Ctrl-C.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2")]
    pub watch: Option<u64>,
    /// Print JSON (one object per refresh) instead of the screen.
    #[arg(long)]
    pub json: bool,
}

/// Longest wait for a connection or a reply.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the command; the exit code is 1 when Redis cannot be read.
pub fn run(args: StatusArgs) -> anyhow::Result<i32> {
    let config = match &args.config {
        Some(path) => Config::load(path, &ProcessEnv)?,
        None => Config::from_toml("", "defaults", &ProcessEnv)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(&config, &args))
}

struct Connections {
    redis: Option<MultiplexedConnection>,
    postgres: Option<AsyncPgConnection>,
}

async fn run_async(config: &Config, args: &StatusArgs) -> anyhow::Result<i32> {
    let redis_url = config.redis.url.expose();
    let client = redis::Client::open(redis_url).map_err(|e| {
        anyhow::anyhow!("redis.url {}: {}", redact_url(redis_url), redis_reason(&e))
    })?;
    let mut conns = Connections {
        redis: None,
        postgres: None,
    };
    let mut previous: Option<Status> = None;
    loop {
        let result = once(config, &client, &mut conns, previous.as_ref()).await;
        // Without live stats, a one-shot status samples the rate over one second.
        let result = match result {
            Ok(s) if args.watch.is_none() && s.processing.tx_per_second.is_none() => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                once(config, &client, &mut conns, Some(&s)).await
            }
            other => other,
        };
        let code = match &result {
            Ok(status) => {
                print(status, args)?;
                0
            }
            Err(e) => {
                if args.watch.is_some() && !args.json {
                    print!("\x1b[2J\x1b[H");
                }
                eprintln!("pocketwatcher status: {e}");
                1
            }
        };
        let Some(every) = args.watch else {
            return Ok(code);
        };
        if let Ok(s) = result {
            previous = Some(s);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            _ = tokio::time::sleep(Duration::from_secs(every.max(1))) => {}
        }
    }
}

fn print(status: &Status, args: &StatusArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, status)?;
        writeln!(out)?;
    } else {
        if args.watch.is_some() {
            write!(out, "\x1b[2J\x1b[H")?;
        }
        write!(out, "{}", render::render(status))?;
    }
    out.flush()?;
    Ok(())
}

/// One status, (re)connecting as needed; a failed connection is retried at the next call.
async fn once(
    config: &Config,
    client: &redis::Client,
    conns: &mut Connections,
    previous: Option<&Status>,
) -> Result<Status, String> {
    if conns.redis.is_none() {
        let conn = tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| "redis: connect timed out".to_string())?
            .map_err(|e| format!("redis: {}", redis_reason(&e)))?;
        conns.redis = Some(conn);
    }
    let pg_url = config.postgres.url.expose();
    let mut postgres_problem = None;
    if conns.postgres.is_none() && !pg_url.is_empty() {
        match crate::store::postgres::pool::establish(pg_url).await {
            Ok(c) => conns.postgres = Some(c),
            Err(_) => postgres_problem = Some("cannot connect".to_string()),
        }
    }
    let Some(redis) = conns.redis.as_mut() else {
        return Err("redis: not connected".into());
    };
    let sources = Sources {
        redis,
        redis_shown: redact_url(config.redis.url.expose()),
        postgres: conns.postgres.as_mut(),
        postgres_shown: (!pg_url.is_empty()).then(|| redact_url(pg_url)),
        postgres_problem,
    };
    let result = tokio::time::timeout(TIMEOUT * 2, gather(sources, previous))
        .await
        .unwrap_or_else(|_| Err("timed out reading Redis and PostgreSQL".into()));
    match result {
        Ok(status) => {
            // A PostgreSQL read error may mean a broken connection: make a new one next time.
            if status
                .problems
                .iter()
                .any(|p| p.starts_with("postgres: reading"))
            {
                conns.postgres = None;
            }
            Ok(status)
        }
        Err(e) => {
            conns.redis = None;
            Err(e)
        }
    }
}
