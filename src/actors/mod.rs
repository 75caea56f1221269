//! The actors and all their wiring.
//!
//! `run` builds what the role needs, hands every actor to the [`supervisor`], and then waits for
//! SIGINT/SIGTERM (drain in-flight batches within the deadline, exit 0) or for the supervisor to
//! give up (exit 1).
//!
//! - [`reader`] → [`parser_pool`] → [`counter_writer`] → [`swap_store`] → [`acker`]; [`reclaimer`]
//!   feeds reclaimed entries into the same pipeline ([`consume`] wires them).
//! - [`messages`]: the typed messages; every batch carries its ack token.
//! - [`slot`]: replaceable addresses, so a rebuilt actor is reachable again.

pub mod acker;
pub mod consume;
pub mod context;
pub mod counter_writer;
pub mod messages;
pub mod parser_pool;
pub mod reader;
pub mod reclaimer;
pub mod slot;
pub mod supervisor;
pub mod swap_store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use anyhow::Context as _;
use tokio::sync::{watch, Semaphore};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::health::checks::{PipelineProgress, PROGRESS_WINDOW};
use crate::health::Readiness;
use crate::secret::redact_url;
use crate::store::redis::commit::Ttls;
use crate::store::redis::stream::ensure_group;
use context::{PipelineContext, Progress};
use supervisor::{ChildSpec, Supervisor};

/// Which parts of the daemon this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Ingest,
    Consume,
    Detect,
}

impl Role {
    pub fn consumes(self) -> bool {
        matches!(self, Role::All | Role::Consume)
    }

    pub fn ingests(self) -> bool {
        matches!(self, Role::All | Role::Ingest)
    }

    pub fn detects(self) -> bool {
        matches!(self, Role::All | Role::Detect)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Ingest => "ingest",
            Role::Consume => "consume",
            Role::Detect => "detect",
        }
    }
}

pub fn redis_pool(config: &Config) -> anyhow::Result<deadpool_redis::Pool> {
    let cfg = deadpool_redis::Config::from_url(config.redis.url.expose());
    let redacted = || redact_url(config.redis.url.expose());
    cfg.builder()
        .map_err(|e| anyhow::anyhow!("redis config for {}: {e}", redacted()))?
        .max_size(config.redis.pool_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_redis::Runtime::Tokio1)
        // The client's default 500 ms response timeout is shorter than XREADGROUP BLOCK and than a
        // large batch commit under load; a timed-out commit would be retried for nothing.
        .post_create(deadpool_redis::Hook::sync_fn(|conn, _| {
            conn.set_response_timeout(REDIS_RESPONSE_TIMEOUT);
            Ok(())
        }))
        .build()
        .map_err(|e| anyhow::anyhow!("redis pool for {}: {e}", redacted()))
}

/// Longest a Redis command may take before the connection reports an error.
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the daemon until a signal (exit 0 after draining) or a supervisor give-up (exit 1).
/// Must run inside the actix system. Registers the role's readiness checks on `readiness`.
pub async fn run(config: Config, role: Role, readiness: Readiness) -> anyhow::Result<i32> {
    let redis = redis_pool(&config)?;
    let mut conn = wait_for_redis(&redis).await?;
    ensure_group(&mut conn)
        .await
        .context("creating the consumer group")?;
    drop(conn);

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (give_up_tx, mut give_up_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut specs: Vec<ChildSpec> = Vec::new();
    let mut pipeline: Option<Arc<PipelineContext>> = None;
    let mut alerts_flushed: Option<watch::Receiver<bool>> = None;
    let mut detector_done: Option<watch::Receiver<bool>> = None;

    let postgres = if role.consumes() || role.detects() {
        Some(
            crate::store::postgres::connect(
                config.postgres.url.expose(),
                config.postgres.pool_size,
            )
            .await
            .with_context(|| {
                format!("connecting to {}", redact_url(config.postgres.url.expose()))
            })?,
        )
    } else {
        None
    };

    if let (true, Some(postgres)) = (role.consumes(), postgres.clone()) {
        let threads = match config.consume.parser_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let parser_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("parser-{i}"))
            .build()
            .context("parser thread pool")?;
        let p = Arc::new(PipelineContext {
            consumer: config.consume.consumer_name.clone(),
            redis: redis.clone(),
            postgres,
            swap_copy: crate::store::postgres::CopyPool::new(
                config.postgres.url.expose(),
                config.postgres.pool_size,
            )?,
            inference: Arc::new(config.inference()),
            parser_pool: Arc::new(parser_pool),
            ttls: Ttls {
                counter_secs: config.counters.counter_ttl_secs,
                dedup_secs: config.counters.dedup_ttl_secs,
                top_buyers_per_minute: config.counters.top_buyers_per_minute,
                ..Ttls::default()
            },
            read_count: config.consume.read_count,
            block_ms: config.consume.block_ms,
            linger: Duration::from_millis(config.consume.linger_ms),
            pipeline_depth: config.consume.pipeline_depth,
            permits: Arc::new(Semaphore::new(config.consume.pipeline_depth)),
            in_flight: Default::default(),
            progress: Progress::default(),
            shutdown: shutdown_rx.clone(),
            reclaim: config.reclaim.clone(),
            started: Instant::now(),
        });
        specs.extend(consume::children(
            p.clone(),
            config.swap_store.retention_days,
            Duration::from_secs(config.swap_store.retention_interval_secs),
        ));
        readiness.register(PipelineProgress::new(p.clone(), PROGRESS_WINDOW));
        pipeline = Some(p);
        info!(consumer = %config.consume.consumer_name, threads, "consuming stream:tx");
    }
    if let (true, Some(postgres)) = (role.detects(), postgres.clone()) {
        let detect = crate::detect::children(
            &config,
            redis.clone(),
            postgres.clone(),
            shutdown_rx.clone(),
        )?;
        specs.extend(detect.specs);
        specs.push(crate::outcomes::filler::child(
            crate::outcomes::filler::Filler::from_config(&config, postgres.clone()),
            detect.leader.clone(),
            shutdown_rx.clone(),
        ));
        detector_done = Some(detect.done.clone());
        let (flushed_tx, flushed_rx) = watch::channel(false);
        let sender = crate::alerting::children(
            &config,
            postgres,
            detect.leader,
            detect.outbox,
            shutdown_rx.clone(),
            Arc::new(flushed_tx),
            Some(detect.done),
        );
        if !sender.is_empty() {
            alerts_flushed = Some(flushed_rx);
        }
        specs.extend(sender);
        info!(
            channels = ?crate::alerting::configured_channels(&config.alerts),
            "detecting (acting while holding the detector lease)"
        );
    } else {
        ignore_hangup();
    }
    if role.ingests() {
        specs.extend(crate::ingest::children(
            &config,
            redis.clone(),
            shutdown_rx.clone(),
            &readiness,
        )?);
    }

    let _supervisor = Supervisor::new(
        specs,
        config.supervisor.clone(),
        give_up_tx,
        shutdown_rx.clone(),
    )
    .start();
    readiness.mark_started();

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let code = tokio::select! {
        _ = tokio::signal::ctrl_c() => { info!("SIGINT: shutting down"); 0 }
        _ = sigterm.recv() => { info!("SIGTERM: shutting down"); 0 }
        reason = give_up_rx.recv() => {
            error!(reason = reason.as_deref().unwrap_or("unknown"), "supervisor gave up");
            1
        }
    };
    let _ = shutdown_tx.send(true);
    if code == 0 {
        let deadline = Duration::from_secs(config.shutdown.deadline_secs);
        if let Some(p) = pipeline {
            drain(&p, deadline).await;
        }
        if let Some(mut done) = detector_done {
            if tokio::time::timeout(deadline, done.wait_for(|d| *d))
                .await
                .is_err()
            {
                warn!("shutdown deadline reached before the detector stored its decisions; they stay pending in Redis");
            }
        }
        if let Some(mut flushed) = alerts_flushed {
            match tokio::time::timeout(deadline, flushed.wait_for(|done| *done)).await {
                Ok(Ok(_)) => info!("due alerts sent"),
                _ => warn!("shutdown deadline reached before due alerts were sent; they stay in the outbox"),
            }
        }
    }
    Ok(code)
}

/// Waits until every in-flight batch has been acknowledged (all slots returned), or the deadline.
async fn drain(p: &PipelineContext, deadline: Duration) {
    let started = Instant::now();
    let all = p.pipeline_depth as u32;
    match tokio::time::timeout(deadline, p.permits.acquire_many(all)).await {
        Ok(Ok(_)) => info!(took = ?started.elapsed(), "in-flight batches drained"),
        _ => warn!(
            ?deadline,
            "shutdown deadline reached with batches in flight; they stay pending and are redelivered"
        ),
    }
}

/// SIGHUP reloads the triggers in detecting roles; elsewhere it must not stop the process (its
/// default action).
fn ignore_hangup() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => {
            actix_rt::spawn(async move {
                while hangup.recv().await.is_some() {
                    info!("SIGHUP ignored: this role has no triggers to reload");
                }
            });
        }
        Err(e) => warn!(error = %e, "cannot listen for SIGHUP"),
    }
}

async fn wait_for_redis(pool: &deadpool_redis::Pool) -> anyhow::Result<deadpool_redis::Connection> {
    let mut delay = Duration::from_millis(100);
    let started = Instant::now();
    loop {
        match pool.get().await {
            Ok(c) => return Ok(c),
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                warn!(error = %e, "waiting for Redis");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(anyhow::anyhow!("Redis unreachable for 30 s: {e}")),
        }
    }
}
