//! Detection: sliding windows → triggers → alert decisions, by one leader at a time.
//!
//! - [`detector`]: the detector's shared state; [`loops`]: the lease and the evaluation cycles
//!   (touched mints, periodic sweep); [`decide`]: one match into an alert (the assembly itself is
//!   [`crate::domain::alert_assembly`]).
//! - [`evaluate`]: window reads in two depths and trigger matching.
//! - [`enrich`]: price, market cap, venue, name, linked buyers; [`rpc`]: the JSON-RPC provider;
//!   [`funding`]: the funding trace; [`hot_trace`]: tracing new buyers of HOT tokens.
//! - [`triggers_file`]: the running trigger set and its hot reload.

pub mod decide;
pub mod detector;
pub mod enrich;
pub mod evaluate;
pub mod funding;
pub mod hot_trace;
pub mod loops;
pub mod rpc;
pub mod triggers_file;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{watch, Notify};

use crate::actors::context::now_ms;
use crate::actors::messages::Heartbeat;
use crate::actors::supervisor::ChildSpec;
use crate::config::Config;
use crate::store::postgres::PgPool;
use detector::Detector;
use triggers_file::Triggers;

/// An evaluation loop silent for this long is considered stuck and rebuilt by the supervisor.
const STUCK_AFTER: Duration = Duration::from_secs(120);

/// The detector as a supervised actor: its loops run inside it and stop with it.
pub struct DetectorActor {
    detector: Arc<Detector>,
    alive: Arc<AtomicU64>,
}

impl Actor for DetectorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.alive.store(now_ms(), Ordering::Relaxed);
        let lease = loops::lease_loop(self.detector.clone());
        ctx.spawn(lease.into_actor(self).map(|_, _, ctx| ctx.stop()));
        let eval = loops::evaluate_loop(self.detector.clone(), self.alive.clone());
        ctx.spawn(eval.into_actor(self).map(|_, _, ctx| ctx.stop()));
        // Ends at once when HOT tracing is off; never stops the actor.
        ctx.spawn(hot_trace::hot_trace_loop(self.detector.clone()).into_actor(self));
    }
}

impl Handler<Heartbeat> for DetectorActor {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, ctx: &mut Self::Context) {
        let silent = now_ms().saturating_sub(self.alive.load(Ordering::Relaxed));
        if silent > STUCK_AFTER.as_millis() as u64 {
            tracing::error!(
                silent_ms = silent,
                "detector loop stuck; stopping for a rebuild"
            );
            ctx.stop();
        }
    }
}

/// What the rest of the process needs from detection.
pub struct DetectHandles {
    pub specs: Vec<ChildSpec>,
    /// True while this process holds the detector lease.
    pub leader: watch::Receiver<bool>,
    /// Notified after an alert reaches the outbox.
    pub outbox: Arc<Notify>,
    /// True once, at shutdown, the detector has stored its claimed decisions and released the
    /// lease.
    pub done: watch::Receiver<bool>,
}

/// Builds the detector (and starts the trigger-file watcher) for a detect-capable role.
pub fn children(
    config: &Config,
    redis: deadpool_redis::Pool,
    postgres: PgPool,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<DetectHandles> {
    let loaded = triggers_file::fingerprint_of(&config.detect.triggers_file);
    let triggers = Triggers::new(triggers_file::load(&config.detect.triggers_file)?);
    actix_rt::spawn(triggers_file::watch(
        config.detect.triggers_file.clone(),
        triggers.clone(),
        Duration::from_secs(config.detect.reload_poll_secs.max(1)),
        shutdown.clone(),
        loaded,
    ));
    let outbox = Arc::new(Notify::new());
    let (leader_tx, _) = watch::channel(None);
    let (flag_tx, flag_rx) = watch::channel(false);
    let holder = format!("{}-{}", config.consume.consumer_name, std::process::id());
    let detector = Arc::new(Detector::new(
        redis.clone(),
        postgres.clone(),
        config.detect.clone(),
        triggers,
        enrich::Enricher::new(postgres, redis, &config.enrich),
        crate::alerting::configured_channels(&config.alerts),
        outbox.clone(),
        leader_tx,
        flag_tx,
        holder,
        shutdown,
    ));
    let done = detector.done.subscribe();
    let alive = Arc::new(AtomicU64::new(now_ms()));
    let spec = ChildSpec {
        name: "detector",
        start: Box::new(move || {
            DetectorActor {
                detector: detector.clone(),
                alive: alive.clone(),
            }
            .start()
            .recipient()
        }),
    };
    Ok(DetectHandles {
        specs: vec![spec],
        leader: flag_rx,
        outbox,
        done,
    })
}
