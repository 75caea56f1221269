//! The consume side assembled: reader → parser pool → counter writer → swap store → acker, plus
//! the pending reclaimer and the retention task, each on its own arbiter (thread) so a slow stage
//! never stalls another's event loop.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{info, warn};

use super::acker::Acker;
use super::context::PipelineContext;
use super::counter_writer::CounterWriter;
use super::messages::{Heartbeat, ParsedBatch, PlannedBatch, RawBatch};
use super::parser_pool::ParserPool;
use super::reader::Reader;
use super::reclaimer::Reclaimer;
use super::slot::Slot;
use super::supervisor::ChildSpec;
use super::swap_store::SwapStore;
use crate::metrics as m;
use crate::store::postgres::delete_swaps_before;

/// The consume-side children for the supervisor. Arbiters live as long as the process.
pub fn children(
    p: Arc<PipelineContext>,
    retention_days: u64,
    retention_every: Duration,
) -> Vec<ChildSpec> {
    let parser_slot: Slot<RawBatch> = Slot::default();
    let writer_slot: Slot<ParsedBatch> = Slot::default();
    let store_slot: Slot<PlannedBatch> = Slot::default();
    let acker_slot: Slot<PlannedBatch> = Slot::default();

    let arbiter = || Arbiter::new().handle();
    let (reader_arb, parser_arb, writer_arb, store_arb, acker_arb, reclaim_arb) = (
        arbiter(),
        arbiter(),
        arbiter(),
        arbiter(),
        arbiter(),
        arbiter(),
    );

    let mut specs = Vec::new();
    {
        let (p, next) = (p.clone(), parser_slot.clone());
        specs.push(ChildSpec {
            name: "reader",
            start: Box::new(move || {
                let (p, next) = (p.clone(), next.clone());
                Reader::start_in_arbiter(&reader_arb, move |_| Reader { ctx: p, next })
                    .recipient::<Heartbeat>()
            }),
        });
    }
    {
        let (p, next, slot) = (p.clone(), writer_slot.clone(), parser_slot.clone());
        specs.push(ChildSpec {
            name: "parser_pool",
            start: Box::new(move || {
                let (p, next) = (p.clone(), next.clone());
                let addr =
                    ParserPool::start_in_arbiter(&parser_arb, move |_| ParserPool { ctx: p, next });
                slot.set(addr.clone().recipient());
                addr.recipient()
            }),
        });
    }
    {
        let (next, slot) = (store_slot.clone(), writer_slot.clone());
        let quotes = p.inference.clone();
        specs.push(ChildSpec {
            name: "counter_writer",
            start: Box::new(move || {
                let (next, quotes) = (next.clone(), quotes.clone());
                let addr = CounterWriter::start_in_arbiter(&writer_arb, move |_| CounterWriter {
                    next,
                    quotes,
                });
                slot.set(addr.clone().recipient());
                addr.recipient()
            }),
        });
    }
    {
        let (p, next, slot) = (p.clone(), acker_slot.clone(), store_slot.clone());
        specs.push(ChildSpec {
            name: "swap_store",
            start: Box::new(move || {
                let (p, next) = (p.clone(), next.clone());
                let addr =
                    SwapStore::start_in_arbiter(&store_arb, move |_| SwapStore { ctx: p, next });
                slot.set(addr.clone().recipient());
                addr.recipient()
            }),
        });
    }
    {
        let (p, slot) = (p.clone(), acker_slot.clone());
        let arb = acker_arb.clone();
        specs.push(ChildSpec {
            name: "acker",
            start: Box::new(move || {
                let p = p.clone();
                let addr = Acker::start_in_arbiter(&arb, move |_| Acker::new(p));
                slot.set(addr.clone().recipient());
                addr.recipient()
            }),
        });
    }
    {
        let (p, parser) = (p.clone(), parser_slot.clone());
        specs.push(ChildSpec {
            name: "reclaimer",
            start: Box::new(move || {
                let (p, parser) = (p.clone(), parser.clone());
                Reclaimer::start_in_arbiter(&reclaim_arb, move |_| Reclaimer { ctx: p, parser })
                    .recipient()
            }),
        });
    }
    {
        let p = p.clone();
        specs.push(ChildSpec {
            name: "retention",
            start: Box::new(move || {
                let p = p.clone();
                Retention::start_in_arbiter(&acker_arb, move |_| Retention {
                    ctx: p,
                    days: retention_days,
                    every: retention_every,
                })
                .recipient()
            }),
        });
    }
    specs
}

/// Deletes swap rows older than the retention period, periodically.
struct Retention {
    ctx: Arc<PipelineContext>,
    days: u64,
    every: Duration,
}

impl Actor for Retention {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.every, |act, ctx| {
            let p = act.ctx.clone();
            let cutoff = (super::context::now_ms() / 1000) as i64 - (act.days * 86_400) as i64;
            ctx.spawn(
                async move {
                    match delete_swaps_before(&p.postgres, cutoff, 10_000).await {
                        Ok(0) => {}
                        Ok(n) => {
                            metrics::counter!(m::RETENTION_DELETED).increment(n);
                            info!(deleted = n, "retention removed old swap rows");
                        }
                        Err(e) => {
                            metrics::counter!(m::POSTGRES_ERRORS, "op" => "retention").increment(1);
                            warn!(error = %e, "retention failed; will retry");
                        }
                    }
                }
                .into_actor(act),
            );
        });
    }
}

impl Handler<Heartbeat> for Retention {
    type Result = ();
    fn handle(&mut self, _: Heartbeat, _: &mut Self::Context) {}
}
