//! Counter writer: aggregates a batch's counter deltas in memory (per mint-minute, per wallet) into
//! the plan the acker commits, so Redis work grows with distinct keys, not transactions.

use std::collections::HashSet;
use std::time::Instant;

use actix::prelude::*;

use super::messages::{Heartbeat, ParsedBatch, PlannedBatch};
use super::slot::Slot;
use crate::metrics as m;
use crate::pipeline::prepare::plan;

pub struct CounterWriter {
    pub next: Slot<PlannedBatch>,
    pub quotes: std::sync::Arc<crate::domain::InferenceConfig>,
}

impl Actor for CounterWriter {
    type Context = Context<Self>;
}

impl Handler<Heartbeat> for CounterWriter {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

impl Handler<ParsedBatch> for CounterWriter {
    type Result = ();

    fn handle(&mut self, batch: ParsedBatch, ctx: &mut Self::Context) {
        let started = Instant::now();
        // Aggregation is a hash-map pass over the batch's swaps (tens of microseconds).
        let plan = plan(
            &batch.parsed,
            &HashSet::new(),
            &HashSet::new(),
            &self.quotes.quotes,
        );
        metrics::histogram!(m::STAGE_SECONDS, "stage" => "aggregate")
            .record(started.elapsed().as_secs_f64());
        let next = self.next.clone();
        let planned = PlannedBatch {
            parsed: batch.parsed,
            plan,
            read_at: batch.read_at,
            token: batch.token,
        };
        ctx.spawn(
            async move {
                next.send("counter_writer", planned).await;
            }
            .into_actor(self),
        );
    }
}
