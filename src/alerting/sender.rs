//! The sender: drains the outbox into the chat channels. Claim a due delivery → send it → record
//! sent / retry later / failed; repeat while the channel's rate limit allows and rows are due;
//! then sleep until woken (the detector stored an alert), until a retry or rate-limit slot is
//! due, or for `poll_interval_ms`.
//!
//! The freshness bound: before each message, when sending the channel's due deliveries one per
//! rate-limit interval would deliver one of them later than `max_delivery_delay_secs`, all of
//! them go out as one digest instead (`freshness`), and are recorded as coalesced into it.
//!
//! It acts only while the leader flag is true (the detector-lease holder sends, so rate limits
//! hold across processes), and on shutdown it finishes the request in flight, records it, and
//! claims nothing more. Everything else is in Postgres: a sender that dies mid-send leaves a
//! claimed row that becomes due again after `claim_secs` (the message may then go twice — it
//! was in flight — but it is never lost).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tokio::sync::{watch, Notify};
use tracing::{error, info, warn};

use super::channel::{Channel, ChannelError, ChatClient, Outcome};
use super::freshness::{lookahead, must_coalesce, DigestEntry, DigestSummary};
use super::rate_limit::RateLimiter;
use super::retry::{decide, jitter, Decision, RetryPolicy};
use crate::actors::messages::Heartbeat;
use crate::config::AlertsConfig;
use crate::metrics as m;
use crate::store::postgres::alerts::{
    claim_due, pending_counts, record_delivery, record_digest, waiting_created_at, ClaimedDelivery,
    DeliveryUpdate,
};
use crate::store::postgres::{PgError, PgPool};

/// The production rate-limit window (the limits are per minute).
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Slack added to a retry's local wake-up time so that the row is due when the sender looks.
const WAKE_MARGIN: Duration = Duration::from_millis(20);

/// Most deliveries one digest covers (a larger backlog makes another digest one interval later).
const DIGEST_MAX_MEMBERS: i64 = 5_000;

/// Time allowed for one request when predicting whether an alert will be on time.
const SEND_TIME: Duration = Duration::from_millis(500);

/// Everything a sender needs; cloned for every (re)start.
#[derive(Clone)]
pub struct SenderSetup {
    pub alerts: AlertsConfig,
    /// The window `*_per_minute` applies to ([`RATE_WINDOW`]; shorter only in tests).
    pub rate_window: Duration,
    pub pool: PgPool,
    /// True while this process holds the detector lease.
    pub leader: watch::Receiver<bool>,
    /// Notified after an alert was stored.
    pub wake: Arc<Notify>,
    /// Becomes true at shutdown.
    pub shutdown: watch::Receiver<bool>,
    pub counters: Arc<DeliveryCounters>,
    /// At shutdown a sender that was leading sends what is due for up to this long (graceful
    /// stop flushes pending alerts), then sets `flushed`.
    pub flush_deadline: Duration,
    pub flushed: Option<Arc<watch::Sender<bool>>>,
    /// The final flush waits (within the deadline) until this is true: the detector has stored
    /// the decisions it claimed.
    pub flush_after: Option<watch::Receiver<bool>>,
}

impl SenderSetup {
    pub fn new(
        alerts: AlertsConfig,
        pool: PgPool,
        leader: watch::Receiver<bool>,
        wake: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        SenderSetup {
            alerts,
            rate_window: RATE_WINDOW,
            pool,
            leader,
            wake,
            shutdown,
            counters: Arc::default(),
            flush_deadline: Duration::ZERO,
            flushed: None,
            flush_after: None,
        }
    }

    /// Sends what is due at shutdown for up to `deadline`, then reports on `flushed`.
    pub fn with_flush(mut self, deadline: Duration, flushed: Arc<watch::Sender<bool>>) -> Self {
        self.flush_deadline = deadline;
        self.flushed = Some(flushed);
        self
    }
}

/// What the sender did, per channel (index 0 Discord, 1 Telegram); read by tests and `status`,
/// mirrored in the Prometheus metrics.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    sent: [AtomicU64; 2],
    failed: [AtomicU64; 2],
    retried: [AtomicU64; 2],
    /// Deliveries covered by a digest that was sent.
    coalesced: [AtomicU64; 2],
    /// Digest messages sent.
    digests: [AtomicU64; 2],
    /// Outcomes not recorded because the claim had been taken over.
    claims_lost: AtomicU64,
    /// Turns of the loop (a pass over the outbox when leader, a check of the flags otherwise).
    passes: AtomicU64,
}

fn slot(channel: Channel) -> usize {
    match channel {
        Channel::Discord => 0,
        Channel::Telegram => 1,
    }
}

impl DeliveryCounters {
    pub fn sent(&self, channel: Channel) -> u64 {
        self.sent[slot(channel)].load(Ordering::Relaxed)
    }
    pub fn failed(&self, channel: Channel) -> u64 {
        self.failed[slot(channel)].load(Ordering::Relaxed)
    }
    pub fn retried(&self, channel: Channel) -> u64 {
        self.retried[slot(channel)].load(Ordering::Relaxed)
    }
    pub fn coalesced(&self, channel: Channel) -> u64 {
        self.coalesced[slot(channel)].load(Ordering::Relaxed)
    }
    pub fn digests(&self, channel: Channel) -> u64 {
        self.digests[slot(channel)].load(Ordering::Relaxed)
    }
    pub fn claims_lost(&self) -> u64 {
        self.claims_lost.load(Ordering::Relaxed)
    }
    /// Turns of the loop so far: a test waits for a few more to see that nothing happened.
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::Relaxed)
    }
}

/// Runs until shutdown (or until the shutdown sender is gone). Fails only when the HTTP client
/// cannot be built.
pub async fn run_sender(mut s: SenderSetup) -> Result<(), ChannelError> {
    let client = ChatClient::new(&s.alerts)?;
    let policy = RetryPolicy::from_config(&s.alerts);
    let bound = Duration::from_secs(s.alerts.max_delivery_delay_secs.max(1));
    let mut lanes: Vec<Lane> = client
        .channels()
        .into_iter()
        .map(|channel| {
            let per_window = match channel {
                Channel::Discord => s.alerts.discord_per_minute,
                Channel::Telegram => s.alerts.telegram_per_minute,
            };
            Lane {
                channel,
                limiter: RateLimiter::new(per_window, s.rate_window),
                bound,
            }
        })
        .collect();
    let poll = Duration::from_millis(s.alerts.poll_interval_ms.max(10));
    let claim = Duration::from_secs(s.alerts.claim_secs.max(1));
    let mut leader_alive = true;
    // Whether this sender was the acting one when shutdown came (the lease is released at once).
    let mut leading = false;
    info!(channels = ?client.channels().iter().map(|c| c.name()).collect::<Vec<_>>(), "alert sender started");
    loop {
        if *s.shutdown.borrow() {
            if leading && !s.flush_deadline.is_zero() {
                let until = Instant::now() + s.flush_deadline;
                if let Some(after) = s.flush_after.as_mut() {
                    let _ =
                        tokio::time::timeout_at(until.into(), after.wait_for(|done| *done)).await;
                }
                let pass = Pass::new(&client, &s, policy, claim, true);
                let flush = futures::future::join_all(lanes.iter_mut().map(|l| l.drain(&pass)));
                if tokio::time::timeout_at(until.into(), flush).await.is_err() {
                    warn!("shutdown: alerts still due stay in the outbox for the next sender");
                }
            }
            if let Some(flushed) = &s.flushed {
                flushed.send_replace(true);
            }
            info!("alert sender stopped (shutdown)");
            return Ok(());
        }
        let mut next = Instant::now() + poll;
        leading = *s.leader.borrow();
        if leading {
            let pass = Pass::new(&client, &s, policy, claim, false);
            let hints = futures::future::join_all(lanes.iter_mut().map(|l| l.drain(&pass))).await;
            next = hints.into_iter().flatten().fold(next, Instant::min);
            publish_pending(&s.pool, &lanes).await;
        }
        s.counters.passes.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            _ = s.wake.notified() => {}
            _ = tokio::time::sleep_until(next.into()) => {}
            changed = s.shutdown.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            changed = s.leader.changed(), if leader_alive => {
                // The flag's owner is gone: keep its last value.
                leader_alive = changed.is_ok();
            }
        }
    }
}

struct Pass<'a> {
    client: &'a ChatClient,
    pool: &'a PgPool,
    policy: RetryPolicy,
    claim: Duration,
    counters: &'a DeliveryCounters,
    shutdown: &'a watch::Receiver<bool>,
    leader: &'a watch::Receiver<bool>,
    /// The last pass at shutdown: claims regardless of the flags (bounded by the deadline).
    final_flush: bool,
}

impl<'a> Pass<'a> {
    fn new(
        client: &'a ChatClient,
        s: &'a SenderSetup,
        policy: RetryPolicy,
        claim: Duration,
        final_flush: bool,
    ) -> Self {
        Pass {
            client,
            pool: &s.pool,
            policy,
            claim,
            counters: &s.counters,
            shutdown: &s.shutdown,
            leader: &s.leader,
            final_flush,
        }
    }

    fn may_claim(&self) -> bool {
        self.final_flush || (!*self.shutdown.borrow() && *self.leader.borrow())
    }
}

/// One channel's queue.
struct Lane {
    channel: Channel,
    limiter: RateLimiter,
    /// `alerts.max_delivery_delay_secs`.
    bound: Duration,
}

impl Lane {
    /// Sends due deliveries one at a time until none is due, the rate limit says wait, or the
    /// sender should stop claiming. Returns when it wants to run again (a slot or retry time).
    async fn drain(&mut self, pass: &Pass<'_>) -> Option<Instant> {
        let mut wake: Option<Instant> = None;
        let earliest = |a: Option<Instant>, b: Instant| Some(a.map_or(b, |a| a.min(b)));
        loop {
            if !pass.may_claim() {
                return wake;
            }
            if let Some(at) = self.limiter.next_slot(Instant::now()) {
                return earliest(wake, at);
            }
            match self.needs_digest(pass).await {
                Ok(true) => {
                    if let Some(retry_at) = self.send_digest(pass).await {
                        wake = earliest(wake, retry_at);
                    }
                    continue;
                }
                Ok(false) => {}
                Err(e) => postgres_error("waiting_deliveries", &e),
            }
            let claimed = match claim_due(pass.pool, &[self.channel.name()], 1, pass.claim).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    postgres_error("claim_deliveries", &e);
                    return wake;
                }
            };
            let Some(delivery) = claimed.into_iter().next() else {
                return wake;
            };
            let started = Instant::now();
            self.limiter.record(started);
            let outcome = pass.client.send(self.channel, &delivery.alert).await;
            let attempt = u32::try_from(delivery.attempts.max(1)).unwrap_or(u32::MAX);
            let decision = decide(&outcome, attempt, &pass.policy, jitter());
            let now = Instant::now();
            if let Outcome::RateLimited { retry_after, .. } = &outcome {
                self.limiter.pause_until(now + *retry_after);
            }
            let update = self.account(&delivery, &outcome, &decision);
            let recorded = record_with_retries(pass.pool, &delivery, &update).await;
            if let Decision::RetryAfter(after) = decision {
                // The row is due `after` from the database's clock at the update, which ran
                // just now: wake a little after that rather than a poll interval late.
                wake = earliest(wake, Instant::now() + after + WAKE_MARGIN);
            }
            match recorded {
                Ok(true) => {}
                Ok(false) => {
                    pass.counters.claims_lost.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        alert_id = delivery.alert.id,
                        channel = self.channel.name(),
                        "delivery outcome not recorded: its claim expired and was taken over \
                         (claim_secs is shorter than a send)"
                    );
                }
                Err(e) => {
                    postgres_error("record_delivery", &e);
                    warn!(
                        alert_id = delivery.alert.id,
                        channel = self.channel.name(),
                        error = %e,
                        "delivery outcome not recorded; the row is retried after its claim expires"
                    );
                }
            }
            match update {
                DeliveryUpdate::Sent => {
                    pass.counters.sent[slot(self.channel)].fetch_add(1, Ordering::Relaxed)
                }
                DeliveryUpdate::Retry { .. } => {
                    pass.counters.retried[slot(self.channel)].fetch_add(1, Ordering::Relaxed)
                }
                DeliveryUpdate::Failed { .. } => {
                    pass.counters.failed[slot(self.channel)].fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    /// Whether sending the channel's due deliveries one per interval would deliver one of them
    /// later than the freshness bound.
    async fn needs_digest(&self, pass: &Pass<'_>) -> Result<bool, PgError> {
        let interval = self.limiter.interval();
        let limit = i64::try_from(lookahead(interval, self.bound)).unwrap_or(i64::MAX);
        let created = waiting_created_at(pass.pool, self.channel.name(), limit).await?;
        let now = now_ms();
        let ages: Vec<Duration> = created
            .iter()
            .map(|c| Duration::from_millis(u64::try_from(now.saturating_sub(*c)).unwrap_or(0)))
            .collect();
        Ok(must_coalesce(&ages, interval, self.bound, SEND_TIME))
    }

    /// Claims every due delivery of the channel and sends them as one digest message (one
    /// rate-limit slot). Sent: the deliveries become 'coalesced' into the digest. Not sent: each
    /// delivery gets the retry or failure the digest's answer calls for, as a message of its own
    /// would. Returns when to look again for a retry.
    async fn send_digest(&mut self, pass: &Pass<'_>) -> Option<Instant> {
        let channel = self.channel.name();
        let members = match claim_due(pass.pool, &[channel], DIGEST_MAX_MEMBERS, pass.claim).await {
            Ok(members) => members,
            Err(e) => {
                postgres_error("claim_deliveries", &e);
                return None;
            }
        };
        if members.is_empty() {
            return None;
        }
        let entries: Vec<DigestEntry> = members
            .iter()
            .map(|m| DigestEntry {
                alert_id: m.alert.id.unwrap_or_default(),
                mint: m.alert.mint.clone(),
                symbol: m.alert.token_symbol.clone(),
                trigger: m.alert.trigger_name.clone(),
                created_at_ms: m.alert.created_at_ms,
            })
            .collect();
        let summary = DigestSummary::of(&entries);
        self.limiter.record(Instant::now());
        let outcome = pass.client.send_digest(self.channel, &summary).await;
        if let Outcome::RateLimited { retry_after, .. } = &outcome {
            self.limiter.pause_until(Instant::now() + *retry_after);
        }
        if outcome == Outcome::Sent {
            let recorded = record_digest_with_retries(pass.pool, channel, &members).await;
            let now = now_ms();
            match recorded {
                Ok((digest_id, covered)) => {
                    metrics::counter!(m::ALERT_DIGESTS, "channel" => channel).increment(1);
                    metrics::counter!(m::ALERTS, "channel" => channel, "status" => "coalesced")
                        .increment(covered as u64);
                    for member in &members {
                        let age_ms = now.saturating_sub(member.alert.created_at_ms).max(0);
                        metrics::histogram!(m::ALERT_DELIVERY_SECONDS, "channel" => channel)
                            .record(age_ms as f64 / 1000.0);
                    }
                    pass.counters.digests[slot(self.channel)].fetch_add(1, Ordering::Relaxed);
                    pass.counters.coalesced[slot(self.channel)]
                        .fetch_add(covered as u64, Ordering::Relaxed);
                    info!(
                        channel,
                        digest_id,
                        alerts = covered,
                        oldest_age_s = (now - summary.oldest_ms) / 1000,
                        "waiting alerts sent as one digest (freshness bound)"
                    );
                }
                Err(e) => {
                    postgres_error("record_digest", &e);
                    warn!(channel, error = %e, "digest sent but not recorded; its alerts are retried after their claims expire");
                }
            }
            return None;
        }
        // Not sent: every member is answered as its own message would be.
        let mut wake = None;
        for member in &members {
            let attempt = u32::try_from(member.attempts.max(1)).unwrap_or(u32::MAX);
            let decision = decide(&outcome, attempt, &pass.policy, jitter());
            if let Decision::RetryAfter(after) = decision {
                let at = Instant::now() + after + WAKE_MARGIN;
                wake = Some(wake.map_or(at, |w: Instant| w.min(at)));
            }
            let update = self.account(member, &outcome, &decision);
            if let Err(e) = record_with_retries(pass.pool, member, &update).await {
                postgres_error("record_delivery", &e);
            }
        }
        wake
    }

    /// Metrics and logs of one attempt; the row update it calls for.
    fn account(
        &self,
        delivery: &ClaimedDelivery,
        outcome: &Outcome,
        decision: &Decision,
    ) -> DeliveryUpdate {
        let channel = self.channel.name();
        let error = outcome.error().unwrap_or("").to_string();
        match decision {
            Decision::Sent => {
                metrics::counter!(m::ALERTS, "channel" => channel, "status" => "sent").increment(1);
                let age_ms = now_ms().saturating_sub(delivery.alert.created_at_ms).max(0);
                metrics::histogram!(m::ALERT_DELIVERY_SECONDS, "channel" => channel)
                    .record(age_ms as f64 / 1000.0);
                info!(
                    alert_id = delivery.alert.id,
                    channel,
                    attempts = delivery.attempts,
                    mint = %delivery.alert.mint,
                    "alert delivered"
                );
                DeliveryUpdate::Sent
            }
            Decision::RetryAfter(after) => {
                let reason = match outcome {
                    Outcome::RateLimited { .. } => "rate_limited",
                    Outcome::Transient { reason, .. } => reason.label(),
                    _ => "other",
                };
                metrics::counter!(m::WEBHOOK_RETRIES, "channel" => channel, "reason" => reason)
                    .increment(1);
                warn!(
                    alert_id = delivery.alert.id,
                    channel,
                    attempts = delivery.attempts,
                    retry_in = ?after,
                    error = %error,
                    "alert delivery will be retried"
                );
                DeliveryUpdate::Retry {
                    after: *after,
                    error,
                }
            }
            Decision::Fail => {
                metrics::counter!(m::ALERTS, "channel" => channel, "status" => "failed")
                    .increment(1);
                error!(
                    alert_id = delivery.alert.id,
                    channel,
                    attempts = delivery.attempts,
                    error = %error,
                    "alert delivery failed for good"
                );
                DeliveryUpdate::Failed { error }
            }
        }
    }
}

/// A recorded outcome matters (a lost "sent" means sending again): a few quick retries ride out
/// a brief database blip.
async fn record_with_retries(
    pool: &PgPool,
    delivery: &ClaimedDelivery,
    update: &DeliveryUpdate,
) -> Result<bool, PgError> {
    let mut delay = Duration::from_millis(200);
    let mut tries = 0;
    loop {
        match record_delivery(pool, delivery, update).await {
            Err(e) if e.is_retryable() && tries < 4 => {
                postgres_error("record_delivery", &e);
                tries += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            result => return result,
        }
    }
}

async fn record_digest_with_retries(
    pool: &PgPool,
    channel: &str,
    members: &[ClaimedDelivery],
) -> Result<(i64, usize), PgError> {
    let mut delay = Duration::from_millis(200);
    let mut tries = 0;
    loop {
        match record_digest(pool, channel, members).await {
            Err(e) if e.is_retryable() && tries < 4 => {
                postgres_error("record_digest", &e);
                tries += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            result => return result,
        }
    }
}

async fn publish_pending(pool: &PgPool, lanes: &[Lane]) {
    match pending_counts(pool).await {
        Ok(counts) => {
            for lane in lanes {
                let name = lane.channel.name();
                let pending = counts
                    .iter()
                    .find(|(c, _)| c == name)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(m::ALERT_DELIVERIES_PENDING, "channel" => name).set(pending as f64);
            }
        }
        Err(e) => postgres_error("pending_deliveries", &e),
    }
}

fn postgres_error(op: &'static str, e: &PgError) {
    metrics::counter!(m::POSTGRES_ERRORS, "op" => op).increment(1);
    warn!(op, error = %e, "outbox query failed");
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The supervised actor around [`run_sender`]. It stops when the loop ends (shutdown, or an
/// HTTP client that cannot be built — then the supervisor rebuilds it and eventually gives up).
pub struct AlertSender {
    pub setup: SenderSetup,
}

impl Actor for AlertSender {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let setup = self.setup.clone();
        let run = async move {
            if let Err(e) = run_sender(setup).await {
                error!(error = %e, "alert sender cannot start");
            }
        };
        ctx.spawn(run.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }
}

impl Handler<Heartbeat> for AlertSender {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}
