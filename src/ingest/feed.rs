//! The ingest actor: the gRPC feed and the Redis writer, joined by a bounded channel.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{mpsc, watch};

use super::writer::{load_checkpoint, run_writer, Checkpoint, FeedEvent, WriterConfig};
use crate::actors::messages::Heartbeat;
use crate::actors::supervisor::ChildSpec;
use crate::config::Config;
use crate::geyser_source::{spawn_source, GeyserSourceConfig, SourceEvent};
use crate::health::{Flag, Readiness};

/// The ingest actor: owns one feed connection and one writer for its lifetime. When it dies the
/// supervisor builds a new one, which resumes from the checkpoint (duplicates are absorbed by the
/// consumers' signature guard).
pub struct Ingest {
    source: GeyserSourceConfig,
    writer: WriterConfig,
    redis: deadpool_redis::Pool,
    shutdown: watch::Receiver<bool>,
    buffer: usize,
    checkpoint: Arc<Checkpoint>,
    /// Readiness: whether the gRPC subscription is up.
    connected: Flag,
}

impl Actor for Ingest {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (tx, rx) = mpsc::channel::<SourceEvent>(self.buffer);
        let (feed_tx, feed_rx) = mpsc::channel::<FeedEvent>(self.buffer);
        let checkpoint = self.checkpoint.clone();
        let redis = self.redis.clone();
        let source = self.source.clone();
        let writer = self.writer.clone();
        let shutdown = self.shutdown.clone();
        let connected = self.connected.clone();
        connected.set_failing("connecting");
        let run = async move {
            if checkpoint.get().is_none() {
                if let Some(slot) = load_checkpoint(&redis).await {
                    checkpoint.set(slot);
                }
            }
            let resume = checkpoint.clone();
            let handle = spawn_source(source, move || resume.get(), tx);
            let forward = forward(rx, feed_tx, connected);
            let write = run_writer(feed_rx, redis, writer, checkpoint, shutdown);
            tokio::join!(forward, write);
            handle.abort();
        };
        ctx.spawn(run.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl Handler<Heartbeat> for Ingest {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

/// Maps source events to writer events (the writer does not depend on the gRPC client).
async fn forward(
    mut rx: mpsc::Receiver<SourceEvent>,
    tx: mpsc::Sender<FeedEvent>,
    connected: Flag,
) {
    while let Some(event) = rx.recv().await {
        match &event {
            SourceEvent::Connected { .. } => connected.set_ok(),
            SourceEvent::Disconnected { .. } => connected.set_failing("disconnected, reconnecting"),
            _ => {}
        }
        let mapped = match event {
            SourceEvent::Transaction(t) => FeedEvent::Transaction(Box::new(t)),
            SourceEvent::BlockMeta { slot, block_time } => {
                FeedEvent::BlockMeta { slot, block_time }
            }
            SourceEvent::Connected { from_slot } => FeedEvent::Connected { from_slot },
            SourceEvent::Disconnected { reason, .. } => FeedEvent::Disconnected { reason },
            SourceEvent::FromSlotUnavailable { requested } => {
                FeedEvent::FromSlotUnavailable { requested }
            }
            SourceEvent::Undecodable { error, .. } => FeedEvent::Undecodable { error },
        };
        if tx.send(mapped).await.is_err() {
            return;
        }
    }
}

/// The feed connection the config describes (ingest and `pocketwatcher record` subscribe alike).
pub fn source_config(config: &Config) -> anyhow::Result<GeyserSourceConfig> {
    let y = &config.yellowstone;
    Ok(GeyserSourceConfig {
        endpoint: y.endpoint.clone(),
        x_token: (!y.x_token.is_empty()).then(|| y.x_token.clone()),
        programs: config.subscribed_programs(),
        commitment: y
            .commitment
            .parse()
            .map_err(|e| anyhow::anyhow!("yellowstone.commitment: {e}"))?,
        connect_timeout: Duration::from_secs(y.connect_timeout_secs),
        request_timeout: Duration::from_secs(y.connect_timeout_secs),
        keepalive_interval: Duration::from_secs(y.keepalive_secs),
        watchdog: Duration::from_secs(y.watchdog_secs),
        backoff_initial: Duration::from_millis(y.backoff_initial_ms),
        backoff_max: Duration::from_secs(y.backoff_max_secs),
        max_decoding_message_size: y.max_message_mb * 1024 * 1024,
    })
}

/// The ingest child for the supervisor.
pub fn children(
    config: &Config,
    redis: deadpool_redis::Pool,
    shutdown: watch::Receiver<bool>,
    readiness: &Readiness,
) -> anyhow::Result<Vec<ChildSpec>> {
    let connected = readiness.flag("grpc", "not connected yet");
    let source = source_config(config)?;
    let writer = WriterConfig {
        batch_size: config.ingest.batch_size,
        linger: Duration::from_millis(config.ingest.linger_ms),
        backlog_cap: config.ingest.backlog_cap,
        backlog_resume: config.ingest.backlog_resume,
        max_hold: Duration::from_millis(config.ingest.block_time_hold_ms),
    };
    let buffer = config.ingest.buffer;
    let checkpoint = Arc::new(Checkpoint::default());
    let arbiter = Arbiter::new().handle();
    Ok(vec![ChildSpec {
        name: "ingest",
        start: Box::new(move || {
            let actor = Ingest {
                source: source.clone(),
                writer: writer.clone(),
                redis: redis.clone(),
                shutdown: shutdown.clone(),
                buffer,
                checkpoint: checkpoint.clone(),
                connected: connected.clone(),
            };
            Ingest::start_in_arbiter(&arbiter, move |_| actor).recipient()
        }),
    }])
}
