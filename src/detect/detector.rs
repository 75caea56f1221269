//! The detector's shared state: what its loops ([`super::loops`]) and decisions
//! ([`super::decide`]) need, and which mints have a decision under way.
//!
//! While this process holds the lease, the loops evaluate every mint a commit touched (soon
//! after the commit) plus a periodic sweep of recently active mints, and hand each trigger match
//! to a decision. A decision is claimed in Redis first (fenced by the lease, with the
//! per-(mint, trigger) cooldown and the HOT state, see [`crate::store::redis::alert_claim`]) and
//! then moved into the Postgres outbox; the alert sender delivers from there. A crash between the
//! two leaves the decision pending in Redis, and the next lease holder moves it: no alert is lost
//! or doubled.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use super::enrich::Enricher;
use super::triggers_file::Triggers;
use crate::config::DetectConfig;
use crate::domain::alert_policy::AlertPolicy;
use crate::store::postgres::PgPool;

/// Everything the detector needs; shared by its tasks.
pub struct Detector {
    pub redis: deadpool_redis::Pool,
    pub postgres: PgPool,
    pub config: DetectConfig,
    pub triggers: Triggers,
    pub enricher: Enricher,
    /// Outbox channels an alert is queued for.
    pub channels: Vec<&'static str>,
    /// Woken after an alert reaches the outbox.
    pub outbox: Arc<Notify>,
    /// The lease token while this process holds it.
    pub leader: watch::Sender<Option<String>>,
    /// The same as a flag, for the alert sender (only the lease holder sends).
    pub leader_flag: watch::Sender<bool>,
    pub holder: String,
    pub shutdown: watch::Receiver<bool>,
    /// Mints with a decision under way (enrichment does I/O; a mint is decided once at a time).
    deciding: Mutex<HashSet<String>>,
    /// Decisions under way (shutdown waits for them before storing what they claimed).
    in_flight: AtomicUsize,
    /// Set once, at shutdown, after claimed decisions are stored and the lease is released.
    pub done: watch::Sender<bool>,
}

impl Detector {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        redis: deadpool_redis::Pool,
        postgres: PgPool,
        config: DetectConfig,
        triggers: Triggers,
        enricher: Enricher,
        channels: Vec<&'static str>,
        outbox: Arc<Notify>,
        leader: watch::Sender<Option<String>>,
        leader_flag: watch::Sender<bool>,
        holder: String,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Detector {
            redis,
            postgres,
            config,
            triggers,
            enricher,
            channels,
            outbox,
            leader,
            leader_flag,
            holder,
            shutdown,
            deciding: Mutex::new(HashSet::new()),
            in_flight: AtomicUsize::new(0),
            done: watch::channel(false).0,
        }
    }

    /// The lease token, while this process holds the lease.
    pub fn token(&self) -> Option<String> {
        self.leader.borrow().clone()
    }

    /// The cooldown and HOT rules the backtest applies too.
    pub fn policy(&self) -> AlertPolicy {
        AlertPolicy {
            cooldown_secs: self.config.cooldown_secs,
            hot_ttl_secs: self.config.hot_ttl_secs,
        }
    }

    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Starts a decision on `mint`, unless one is already under way (then None). The guard ends
    /// it however the decision's task ends, a panic included.
    pub fn begin_decision(self: &Arc<Self>, mint: &str) -> Option<Deciding> {
        let mut deciding = self.deciding.lock().unwrap_or_else(|p| p.into_inner());
        if !deciding.insert(mint.to_string()) {
            return None;
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Some(Deciding {
            detector: self.clone(),
            mint: mint.to_string(),
        })
    }

    /// Decisions under way.
    pub fn decisions_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// A decision under way: releases its mint (and the in-flight count) when dropped.
pub struct Deciding {
    detector: Arc<Detector>,
    mint: String,
}

impl Deciding {
    pub fn detector(&self) -> &Arc<Detector> {
        &self.detector
    }
}

impl Drop for Deciding {
    fn drop(&mut self) {
        self.detector
            .deciding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.mint);
        self.detector.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
