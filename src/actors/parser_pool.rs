//! Parser pool: decoding and inference on rayon, never on an actor's event loop. Results come back
//! through a oneshot channel and go on to the counter writer with their ack token.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::context::PipelineContext;
use super::messages::{Heartbeat, ParsedBatch, RawBatch};
use super::slot::Slot;
use crate::metrics as m;
use crate::pipeline::parse::parse_batch;

pub struct ParserPool {
    pub ctx: Arc<PipelineContext>,
    pub next: Slot<ParsedBatch>,
}

impl Actor for ParserPool {
    type Context = Context<Self>;
}

impl Handler<Heartbeat> for ParserPool {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}

impl Handler<RawBatch> for ParserPool {
    type Result = ();

    fn handle(&mut self, batch: RawBatch, ctx: &mut Self::Context) {
        let (tx, rx) = oneshot::channel();
        let inference = self.ctx.inference.clone();
        let RawBatch {
            entries,
            read_at,
            token,
            ..
        } = batch;
        self.ctx.parser_pool.spawn(move || {
            let started = std::time::Instant::now();
            // parse_batch catches panics per entry; this outer guard only protects the pool.
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parse_batch(&entries, &inference)
            }));
            let _ = tx.send((parsed.ok(), started.elapsed()));
        });
        let next = self.next.clone();
        ctx.spawn(
            async move {
                let Ok((Some(parsed), took)) = rx.await else {
                    return;
                };
                metrics::histogram!(m::STAGE_SECONDS, "stage" => "parse")
                    .record(took.as_secs_f64());
                next.send(
                    "parser_pool",
                    ParsedBatch {
                        parsed,
                        read_at,
                        token,
                    },
                )
                .await;
            }
            .into_actor(self),
        );
    }
}
