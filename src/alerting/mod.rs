//! Alerting: an alert stored in the outbox (`store::postgres::alerts`) is delivered to every
//! configured chat channel, with retries, rate limits and a recorded status per channel.
//!
//! - [`format`]: alert → Discord embed / Telegram MarkdownV2 text (pure).
//! - [`channel`]: one HTTP request per message and what its answer means; secret scrubbing.
//! - [`retry`]: backoff and the retry / fail decision (pure).
//! - [`rate_limit`]: the per-channel sliding window.
//! - [`sender`]: the loop (claim → send → record) and its supervised actor.
//! - [`sample`]: a complete alert (`alert-test`, tests).
//!
//! Wiring (the detector's side): store the alert with
//! `store::postgres::alerts::insert_alert(pool, &alert, dedup_key, &configured_channels(&cfg))`,
//! then `wake.notify_one()`; the sender built by [`children`] does the rest.

pub mod channel;
pub mod format;
pub mod freshness;
pub mod rate_limit;
pub mod retry;
pub mod sample;
pub mod sender;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{watch, Notify};

use crate::actors::messages::Heartbeat;
use crate::actors::supervisor::ChildSpec;
use crate::config::Config;
use crate::store::postgres::PgPool;

pub use channel::{configured_channels, Channel, ChatClient, Outcome};
pub use sender::{run_sender, AlertSender, DeliveryCounters, SenderSetup};

/// The sender, for the supervisor (none when no channel is configured: alerts are then only
/// recorded). It runs on its own arbiter; `leader` gates sending, `wake` is notified after an
/// alert is stored, `shutdown` stops it: a sender that was leading first sends what is due (up to
/// the shutdown deadline) and then sets `flushed`.
pub fn children(
    config: &Config,
    postgres: PgPool,
    leader: watch::Receiver<bool>,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    flushed: Arc<watch::Sender<bool>>,
    flush_after: Option<watch::Receiver<bool>>,
) -> Vec<ChildSpec> {
    if configured_channels(&config.alerts).is_empty() {
        return Vec::new();
    }
    let mut setup = SenderSetup::new(config.alerts.clone(), postgres, leader, wake, shutdown)
        .with_flush(Duration::from_secs(config.shutdown.deadline_secs), flushed);
    setup.flush_after = flush_after;
    let arbiter = Arbiter::new().handle();
    vec![ChildSpec {
        name: "alert_sender",
        start: Box::new(move || {
            let setup = setup.clone();
            AlertSender::start_in_arbiter(&arbiter, move |_| AlertSender { setup })
                .recipient::<Heartbeat>()
        }),
    }]
}
