//! Fills `alert_outcomes` as each horizon passes.
//!
//! The clock is chain time — the newest block time in `swap_events` — not the wall clock: a
//! horizon is due once the stored swaps reach it (plus `settle_secs` for swaps still on their way),
//! so a pipeline running behind never scores an alert on swaps it has not stored yet. All state is
//! in PostgreSQL (`horizons_done` per alert), so a restart or a new leader carries on where the last
//! one stopped, and a point is only ever written forward. Only the detector lease holder fills;
//! the statements are idempotent anyway.

use std::time::Duration;

use actix::prelude::*;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::actors::messages::Heartbeat;
use crate::actors::supervisor::ChildSpec;
use crate::config::Config;
use crate::metrics as m;
use crate::store::postgres::outcomes::{self, QuoteMints};
use crate::store::postgres::{PgError, PgPool};

/// What one filler needs.
#[derive(Clone)]
pub struct Filler {
    pub pool: PgPool,
    pub quotes: QuoteMints,
    pub every: Duration,
    pub settle_secs: i64,
    pub batch: i64,
    /// Alerts younger than this get an outcome row (older ones' swaps are gone).
    pub register_days: i64,
}

impl Filler {
    pub fn from_config(config: &Config, pool: PgPool) -> Filler {
        Filler {
            pool,
            quotes: QuoteMints::of(&config.inference().quotes),
            every: Duration::from_secs(config.outcomes.fill_interval_secs),
            settle_secs: config.outcomes.settle_secs as i64,
            batch: config.outcomes.batch as i64,
            register_days: config.swap_store.retention_days as i64,
        }
    }

    /// One pass: register new alerts, then fill every due point in batches. Returns how many
    /// outcomes moved forward.
    pub async fn pass(&self) -> Result<u64, PgError> {
        outcomes::register_new(&self.pool, self.register_days).await?;
        let Some(now) = outcomes::chain_now(&self.pool).await? else {
            return Ok(0);
        };
        let mut moved = 0;
        loop {
            let n =
                outcomes::fill(&self.pool, now, self.settle_secs, self.batch, &self.quotes).await?;
            moved += n;
            if n < self.batch as u64 {
                return Ok(moved);
            }
        }
    }
}

/// Passes every `every` while this process leads, until shutdown.
async fn fill_loop(
    filler: Filler,
    leader: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(filler.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        if !*leader.borrow() {
            continue;
        }
        match filler.pass().await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!(m::OUTCOMES_FILLED).increment(n);
                debug!(outcomes = n, "alert outcomes filled");
            }
            Err(e) => {
                metrics::counter!(m::POSTGRES_ERRORS, "op" => "outcomes").increment(1);
                warn!(error = %e, "filling alert outcomes failed; will retry");
            }
        }
    }
}

struct FillerActor {
    filler: Filler,
    leader: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
}

impl Actor for FillerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let run = fill_loop(
            self.filler.clone(),
            self.leader.clone(),
            self.shutdown.clone(),
        );
        ctx.spawn(run.into_actor(self));
    }
}

impl Handler<Heartbeat> for FillerActor {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

/// The supervised filler of a detect-capable role.
pub fn child(
    filler: Filler,
    leader: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) -> ChildSpec {
    ChildSpec {
        name: "outcomes",
        start: Box::new(move || {
            FillerActor {
                filler: filler.clone(),
                leader: leader.clone(),
                shutdown: shutdown.clone(),
            }
            .start()
            .recipient()
        }),
    }
}
