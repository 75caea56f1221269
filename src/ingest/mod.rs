//! Ingest: Yellowstone → Redis stream. The gRPC half ([`crate::geyser_source`]) reconnects forever
//! and resumes from the checkpoint; the Redis half ([`writer`]) batches XADDs, fills block times
//! ([`slots`]) and applies backpressure. They are joined by a bounded channel, so a slow Redis
//! slows the gRPC read instead of growing memory.

pub mod feed;
pub mod slots;
pub mod writer;

pub use feed::{children, source_config};
