//! The Yellowstone client side of ingest: subscribe, decode, reconnect forever. No Redis, no actors.
//!
//! [`spawn_source`] runs one task that connects with `yellowstone-grpc-client` (TLS for `https://`
//! endpoints, HTTP/2 keep-alive, timeouts), subscribes to non-vote, successful transactions of the
//! configured programs plus block metas, from the consumer's checkpoint slot, and turns what
//! arrives into [`SourceEvent`]s on a bounded channel (a full channel pauses the read).
//!
//! - It answers the server's pings, and a watchdog reconnects when nothing at all arrives for
//!   `watchdog` (any message counts).
//! - It reconnects forever, with exponential backoff and jitter (`backoff_initial` → `backoff_max`),
//!   reset after a healthy connection ([`HEALTHY_AFTER`]); each attempt resumes from `checkpoint()`.
//!   (The client library's own reconnect gives up after ~100 ms: not used.)
//! - If the server cannot replay from the checkpoint, it says so ([`SourceEvent::FromSlotUnavailable`])
//!   and resumes at the live head.
//! - An undecodable update becomes [`SourceEvent::Undecodable`], never a panic. The x-token is
//!   never logged, and endpoints are logged without path or query.

mod backoff;
mod config;
mod source;

pub use config::{redact_endpoint, Commitment, GeyserSourceConfig, UnknownCommitment};
pub use source::{
    is_from_slot_unavailable, spawn_raw_source, spawn_source, subscribe_request, RawEvent,
    SourceEvent, SourceItem, HEALTHY_AFTER,
};
