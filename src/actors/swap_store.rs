//! Swap store: writes a batch's swaps to PostgreSQL (one transaction, ON CONFLICT DO NOTHING; a
//! large batch through COPY, a small one through one unnest INSERT per chunk) before the batch may
//! be acknowledged. While PostgreSQL is down it retries
//! with backoff and holds the batch; nothing is acknowledged that is not persisted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{info, warn};

use super::context::{Backoff, PipelineContext};
use super::messages::{Heartbeat, PlannedBatch};
use super::slot::Slot;
use crate::metrics as m;
use crate::pipeline::prepare::swaps_to_store;
use crate::store::postgres::{uses_copy, write_swaps, SwapRow, INSERT_CHUNK_ROWS};

pub struct SwapStore {
    pub ctx: Arc<PipelineContext>,
    pub next: Slot<PlannedBatch>,
}

impl Actor for SwapStore {
    type Context = Context<Self>;
}

impl Handler<Heartbeat> for SwapStore {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

impl Handler<PlannedBatch> for SwapStore {
    type Result = ();

    fn handle(&mut self, batch: PlannedBatch, ctx: &mut Self::Context) {
        let p = self.ctx.clone();
        let next = self.next.clone();
        ctx.spawn(
            async move {
                let rows: Vec<SwapRow> = swaps_to_store(&batch.parsed)
                    .into_iter()
                    .map(|(swap, time)| SwapRow::from_swap(swap, &p.inference.venues, time))
                    .collect();
                if !rows.is_empty() && !persist(&p, &rows).await {
                    return; // shutting down: the batch stays pending and is redelivered
                }
                next.send("swap_store", batch).await;
            }
            .into_actor(self),
        );
    }
}

/// Inserts until it succeeds; false only if shutdown came first.
async fn persist(p: &PipelineContext, rows: &[SwapRow]) -> bool {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut failing = false;
    loop {
        let started = Instant::now();
        match write_swaps(&p.postgres, &p.swap_copy, rows).await {
            Ok(inserted) => {
                let took = started.elapsed().as_secs_f64();
                metrics::histogram!(m::STAGE_SECONDS, "stage" => "store").record(took);
                metrics::histogram!(m::POSTGRES_SECONDS, "op" => "insert_swaps").record(took);
                metrics::counter!(m::SWAP_ROWS_INSERTED).increment(inserted);
                if uses_copy(rows.len()) {
                    // One INSERT … SELECT from the stage holds the whole batch.
                    metrics::histogram!(m::INSERT_ROWS).record(rows.len() as f64);
                } else {
                    for chunk in rows.chunks(INSERT_CHUNK_ROWS) {
                        metrics::histogram!(m::INSERT_ROWS).record(chunk.len() as f64);
                    }
                }
                if failing {
                    info!("PostgreSQL writes recovered");
                }
                return true;
            }
            Err(e) => {
                metrics::counter!(m::POSTGRES_ERRORS, "op" => "insert_swaps").increment(1);
                p.progress.store_error();
                if !failing {
                    warn!(error = %e, "PostgreSQL insert failed; holding the batch and retrying");
                    failing = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                    _ = p.stopped() => return false,
                }
            }
        }
    }
}
