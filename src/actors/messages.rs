//! Typed messages between actors. Every message that carries work carries its ack token, so
//! completion travels with the data: when a batch is dropped anywhere (an actor died, shutdown),
//! its token returns the in-flight slot, and its entries stay pending in Redis for redelivery.

use std::time::Instant;

use actix::Message;
use tokio::sync::OwnedSemaphorePermit;

use std::sync::Arc;

use super::context::PipelineContext;
use crate::pipeline::parse::ParsedEntry;
use crate::pipeline::prepare::Plan;
use crate::store::redis::stream::EntryId;
use crate::store::redis::stream::StreamEntry;

/// Liveness probe from the supervisor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Heartbeat;

/// One of the pipeline's in-flight slots. Dropping it — acknowledged, or lost anywhere on the way
/// (an actor died, a send failed, shutdown) — returns the slot and takes the batch's ids off the
/// in-flight set, so the reclaimer can see them again.
pub struct AckToken {
    _permit: OwnedSemaphorePermit,
    ids: Vec<EntryId>,
    pipeline: Arc<PipelineContext>,
}

impl AckToken {
    /// Registers `ids` as in flight until the token is dropped.
    pub fn new(
        permit: OwnedSemaphorePermit,
        ids: Vec<EntryId>,
        pipeline: Arc<PipelineContext>,
    ) -> Self {
        pipeline.in_flight.add(ids.iter().copied());
        AckToken {
            _permit: permit,
            ids,
            pipeline,
        }
    }
}

impl Drop for AckToken {
    fn drop(&mut self) {
        self.pipeline.in_flight.remove(&self.ids);
    }
}

/// Where a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// New entries (`XREADGROUP >`) or this consumer's own history after a restart.
    Read,
    /// Taken over from an idle consumer.
    Reclaimed,
}

/// Entries read from the stream, to parse.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RawBatch {
    pub entries: Vec<StreamEntry>,
    pub origin: Origin,
    pub read_at: Instant,
    pub token: AckToken,
}

/// Parsed entries, to aggregate.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ParsedBatch {
    pub parsed: Vec<ParsedEntry>,
    pub read_at: Instant,
    pub token: AckToken,
}

/// A batch with its commit plan, to persist and then commit.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlannedBatch {
    pub parsed: Vec<ParsedEntry>,
    pub plan: Plan,
    pub read_at: Instant,
    pub token: AckToken,
}
