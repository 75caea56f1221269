//! The reconnect loop and one subscription's read loop.

use crate::error_chain::error_chain;
use std::collections::HashMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::{Code, Status};
use yellowstone_grpc_client::{ClientTlsConfig, GeyserGrpcClient, GeyserGrpcClientError};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::{
    CommitmentLevel, SubscribeRequest, SubscribeRequestFilterBlocksMeta,
    SubscribeRequestFilterTransactions, SubscribeRequestPing, SubscribeUpdate,
};
use yellowstone_grpc_proto::prost::Message as _;

use super::backoff::Backoff;
use super::config::GeyserSourceConfig;
use crate::domain::proto::from_update;
use crate::domain::Transaction;

/// Name of our filters in the subscription.
const FILTER_NAME: &str = "pocketwatcher";
/// A connection that delivered data and stayed up this long resets the backoff.
pub const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// Longest reason text carried in an event.
const MAX_REASON: usize = 300;

/// What the source tells its consumer.
#[derive(Debug, Clone)]
// Nearly every event is a transaction: boxing it would add an allocation per transaction.
#[allow(clippy::large_enum_variant)]
pub enum SourceEvent {
    /// Subscribed; `from_slot` is what was asked for (`None`: live head).
    Connected { from_slot: Option<u64> },
    /// A decoded transaction (no block time: it comes with the slot's `BlockMeta`).
    Transaction(Transaction),
    /// A slot's block metadata; it follows the slot's transactions.
    BlockMeta { slot: u64, block_time: Option<i64> },
    /// The connection failed or ended; the next attempt comes after `retry_in`.
    Disconnected { reason: String, retry_in: Duration },
    /// The server cannot replay from `requested`: the source continues at the live head, and the
    /// slots in between are lost (the consumer counts the gap).
    FromSlotUnavailable { requested: u64 },
    /// A transaction update that does not decode. `raw` is the protobuf
    /// `SubscribeUpdateTransaction`, for the dead-letter stream.
    Undecodable {
        slot: u64,
        error: String,
        raw: Vec<u8>,
    },
}

/// What a raw source (`pocketwatcher record`) tells its consumer: the updates as received,
/// undecoded, so that a recording keeps every byte the server sent.
#[derive(Debug, Clone)]
pub enum RawEvent {
    Connected {
        from_slot: Option<u64>,
    },
    /// A transaction or block-meta update, exactly as received.
    Update(Box<SubscribeUpdate>),
    Disconnected {
        reason: String,
        retry_in: Duration,
    },
    FromSlotUnavailable {
        requested: u64,
    },
}

/// The events a source emits: decoded ([`SourceEvent`], ingest) or raw ([`RawEvent`], record).
/// One reconnect loop and one read loop serve both.
pub trait SourceItem: Send + 'static {
    fn connected(from_slot: Option<u64>) -> Self;
    fn disconnected(reason: String, retry_in: Duration) -> Self;
    fn from_slot_unavailable(requested: u64) -> Self;
    /// The event for a transaction or block-meta update (`None`: anything else, liveness only).
    fn data(message: SubscribeUpdate) -> Option<Self>
    where
        Self: Sized;
}

impl SourceItem for SourceEvent {
    fn connected(from_slot: Option<u64>) -> Self {
        SourceEvent::Connected { from_slot }
    }
    fn disconnected(reason: String, retry_in: Duration) -> Self {
        SourceEvent::Disconnected { reason, retry_in }
    }
    fn from_slot_unavailable(requested: u64) -> Self {
        SourceEvent::FromSlotUnavailable { requested }
    }
    fn data(message: SubscribeUpdate) -> Option<Self> {
        match message.update_oneof? {
            UpdateOneof::Transaction(update) => Some(match from_update(&update) {
                Ok(tx) => SourceEvent::Transaction(tx),
                Err(e) => {
                    tracing::warn!(slot = update.slot, error = %e, "geyser source: undecodable transaction");
                    SourceEvent::Undecodable {
                        slot: update.slot,
                        error: e.to_string(),
                        raw: update.encode_to_vec(),
                    }
                }
            }),
            UpdateOneof::BlockMeta(meta) => Some(SourceEvent::BlockMeta {
                slot: meta.slot,
                block_time: meta.block_time.map(|t| t.timestamp),
            }),
            _ => None,
        }
    }
}

impl SourceItem for RawEvent {
    fn connected(from_slot: Option<u64>) -> Self {
        RawEvent::Connected { from_slot }
    }
    fn disconnected(reason: String, retry_in: Duration) -> Self {
        RawEvent::Disconnected { reason, retry_in }
    }
    fn from_slot_unavailable(requested: u64) -> Self {
        RawEvent::FromSlotUnavailable { requested }
    }
    fn data(message: SubscribeUpdate) -> Option<Self> {
        match message.update_oneof {
            Some(UpdateOneof::Transaction(_) | UpdateOneof::BlockMeta(_)) => {
                Some(RawEvent::Update(Box::new(message)))
            }
            _ => None,
        }
    }
}

/// Starts the source on the current tokio runtime. It reconnects forever (exponential backoff
/// with jitter), each time from `checkpoint()` (the highest slot the consumer has durably
/// written; `None`: live head). It ends only when `events`' receiver is dropped, or when the
/// handle is aborted. A full `events` channel pauses reading from the server (backpressure; the
/// watchdog does not count that time).
pub fn spawn_source<F>(
    config: GeyserSourceConfig,
    checkpoint: F,
    events: mpsc::Sender<SourceEvent>,
) -> JoinHandle<()>
where
    F: Fn() -> Option<u64> + Send + 'static,
{
    tokio::spawn(run_source(config, checkpoint, events))
}

/// [`spawn_source`] without decoding: every transaction and block-meta update as received.
pub fn spawn_raw_source<F>(
    config: GeyserSourceConfig,
    checkpoint: F,
    events: mpsc::Sender<RawEvent>,
) -> JoinHandle<()>
where
    F: Fn() -> Option<u64> + Send + 'static,
{
    tokio::spawn(run_source(config, checkpoint, events))
}

/// The subscription the source sends: non-vote, successful transactions touching `programs`
/// (all transactions when empty), block metas, at the configured commitment, from `from_slot`.
pub fn subscribe_request(config: &GeyserSourceConfig, from_slot: Option<u64>) -> SubscribeRequest {
    SubscribeRequest {
        transactions: HashMap::from([(
            FILTER_NAME.to_string(),
            SubscribeRequestFilterTransactions {
                vote: Some(false),
                failed: Some(false),
                account_include: config.programs.iter().map(|p| p.to_string()).collect(),
                ..Default::default()
            },
        )]),
        blocks_meta: HashMap::from([(
            FILTER_NAME.to_string(),
            SubscribeRequestFilterBlocksMeta {},
        )]),
        commitment: Some(CommitmentLevel::from(config.commitment) as i32),
        from_slot,
        ..Default::default()
    }
}

/// How one subscription ended.
enum Outcome {
    /// The consumer is gone: stop.
    ReceiverClosed,
    /// The server refused `from_slot`.
    FromSlotUnavailable { requested: u64 },
    /// Anything else: retry after a backoff. `delivered`: data arrived before the failure.
    Failed { reason: String, delivered: bool },
}

async fn run_source<E, F>(config: GeyserSourceConfig, checkpoint: F, events: mpsc::Sender<E>)
where
    E: SourceItem,
    F: Fn() -> Option<u64> + Send + 'static,
{
    let endpoint = config.endpoint_for_logs();
    let mut backoff = Backoff::new(config.backoff_initial, config.backoff_max);
    let mut live_head = false;
    loop {
        let from_slot = if std::mem::take(&mut live_head) {
            None
        } else {
            checkpoint()
        };
        let started = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = events.closed() => Outcome::ReceiverClosed,
            outcome = session(&config, from_slot, &events) => outcome,
        };
        match outcome {
            Outcome::ReceiverClosed => {
                tracing::info!(%endpoint, "geyser source: consumer gone, stopping");
                return;
            }
            Outcome::FromSlotUnavailable { requested } => {
                tracing::warn!(
                    %endpoint,
                    requested,
                    "geyser source: server cannot replay from the checkpoint; resuming at the live head"
                );
                if events
                    .send(E::from_slot_unavailable(requested))
                    .await
                    .is_err()
                {
                    return;
                }
                live_head = true;
            }
            Outcome::Failed { reason, delivered } => {
                if delivered && started.elapsed() >= HEALTHY_AFTER {
                    backoff.reset();
                }
                let retry_in = backoff.next_delay();
                tracing::warn!(
                    %endpoint,
                    %reason,
                    retry_in_ms = retry_in.as_millis() as u64,
                    failures = backoff.failures(),
                    "geyser source: disconnected"
                );
                let event = E::disconnected(reason, retry_in);
                if events.send(event).await.is_err() {
                    return;
                }
                tokio::select! {
                    biased;
                    _ = events.closed() => return,
                    _ = tokio::time::sleep(retry_in) => {}
                }
            }
        }
    }
}

async fn connect(config: &GeyserSourceConfig) -> Result<GeyserGrpcClient, String> {
    let mut builder = GeyserGrpcClient::build_from_shared(config.endpoint.clone())
        .map_err(|e| format!("invalid endpoint: {e}"))?
        .x_token(config.x_token.as_ref().map(|t| t.expose().to_string()))
        .map_err(|_| "x-token is not a valid ASCII header value".to_string())?
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .http2_keep_alive_interval(config.keepalive_interval)
        .keep_alive_while_idle(true)
        .tcp_nodelay(true)
        .max_decoding_message_size(config.max_decoding_message_size);
    if config.endpoint.starts_with("https://") {
        // rustls with the platform's roots; the crypto provider is rustls' only compiled-in one
        // (aws-lc-rs, see stack/STACK.md).
        builder = builder
            .tls_config(ClientTlsConfig::new().with_native_roots())
            .map_err(|e| format!("tls config: {}", error_chain(&e)))?;
    }
    // `connect` is bounded by connect_timeout; the outer bound also covers a stalled handshake.
    match tokio::time::timeout(config.connect_timeout * 2, builder.connect()).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("connect: {}", error_chain(&e))),
        Err(_) => Err(format!(
            "connect: timed out after {:?}",
            config.connect_timeout
        )),
    }
}

/// One connection: subscribe, then read until something goes wrong.
async fn session<E: SourceItem>(
    config: &GeyserSourceConfig,
    from_slot: Option<u64>,
    events: &mpsc::Sender<E>,
) -> Outcome {
    let failed = |reason: String, delivered: bool| Outcome::Failed {
        reason: truncate(reason),
        delivered,
    };
    let mut client = match connect(config).await {
        Ok(client) => client,
        Err(reason) => return failed(reason, false),
    };
    let request = subscribe_request(config, from_slot);
    let subscribed = tokio::time::timeout(
        config.request_timeout,
        client.subscribe_with_request(Some(request)),
    )
    .await;
    let (mut sink, mut stream) = match subscribed {
        Ok(Ok(pair)) => pair,
        Ok(Err(GeyserGrpcClientError::TonicStatus(status))) => {
            if let Some(requested) = from_slot.filter(|_| is_from_slot_unavailable(&status)) {
                return Outcome::FromSlotUnavailable { requested };
            }
            return failed(format!("subscribe: {}", describe_status(&status)), false);
        }
        Ok(Err(e)) => return failed(format!("subscribe: {}", error_chain(&e)), false),
        Err(_) => {
            return failed(
                format!("subscribe: no response within {:?}", config.request_timeout),
                false,
            )
        }
    };
    tracing::info!(
        endpoint = %config.endpoint_for_logs(),
        ?from_slot,
        commitment = %config.commitment,
        programs = config.programs.len(),
        "geyser source: subscribed"
    );
    if events.send(E::connected(from_slot)).await.is_err() {
        return Outcome::ReceiverClosed;
    }

    let mut delivered = false;
    let mut sink_open = true;
    loop {
        let message = match tokio::time::timeout(config.watchdog, stream.next()).await {
            Err(_) => {
                return failed(
                    format!("watchdog: no message for {:?}", config.watchdog),
                    delivered,
                )
            }
            Ok(None) => return failed("stream ended by the server".into(), delivered),
            Ok(Some(Err(status))) => {
                if let Some(requested) = from_slot.filter(|_| is_from_slot_unavailable(&status)) {
                    return Outcome::FromSlotUnavailable { requested };
                }
                return failed(describe_status(&status), delivered);
            }
            Ok(Some(Ok(message))) => message,
        };
        if let Some(UpdateOneof::Ping(_)) = message.update_oneof {
            let pong = SubscribeRequest {
                ping: Some(SubscribeRequestPing { id: 1 }),
                ..Default::default()
            };
            // A failed reply means the call is closing: the stream still holds what the
            // server sent before it, and ends with the server's status, which is the reason
            // worth reporting (the watchdog covers a stream that would not end).
            if sink_open {
                if let Err(e) = sink.send(pong).await {
                    tracing::debug!(error = %e, "geyser source: cannot answer a ping; reading on");
                    sink_open = false;
                }
            }
            continue;
        }
        // Pongs and anything we did not ask for: liveness only.
        let Some(event) = E::data(message) else {
            continue;
        };
        delivered = true;
        if events.send(event).await.is_err() {
            return Outcome::ReceiverClosed;
        }
    }
}

/// The real server refuses an unavailable `from_slot` with
/// `internal("broadcast from {slot} is not available, last available: {first}")`, and a server
/// without replay with `internal("from_slot is not supported")`; other servers use other codes.
pub fn is_from_slot_unavailable(status: &Status) -> bool {
    let message = status.message().to_ascii_lowercase();
    matches!(
        status.code(),
        Code::Internal
            | Code::Unknown
            | Code::OutOfRange
            | Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::Unimplemented
    ) && (message.contains("is not available") || message.contains("from_slot"))
}

fn describe_status(status: &Status) -> String {
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(source) = std::error::Error::source(status) {
        text.push_str(": ");
        text.push_str(&error_chain(source));
    }
    text
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Pubkey;

    #[test]
    fn recognises_the_real_servers_from_slot_errors() {
        assert!(is_from_slot_unavailable(&Status::internal(
            "broadcast from 100 is not available, last available: 250"
        )));
        assert!(is_from_slot_unavailable(&Status::internal(
            "from_slot is not supported"
        )));
        assert!(is_from_slot_unavailable(&Status::out_of_range(
            "from_slot is gone"
        )));
        assert!(!is_from_slot_unavailable(&Status::internal(
            "lagged to send an update"
        )));
        assert!(!is_from_slot_unavailable(&Status::unavailable(
            "server is shutting down try again later"
        )));
    }

    #[test]
    fn request_asks_for_successful_non_vote_transactions_and_block_metas() {
        let mut config = GeyserSourceConfig::new("http://127.0.0.1:1");
        let program: Pubkey = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
            .parse()
            .unwrap();
        config.programs = vec![program];
        config.commitment = super::super::Commitment::Processed;
        let r = subscribe_request(&config, Some(42));
        let t = &r.transactions[FILTER_NAME];
        assert_eq!((t.vote, t.failed), (Some(false), Some(false)));
        assert_eq!(t.account_include, vec![program.to_string()]);
        assert!(r.blocks_meta.contains_key(FILTER_NAME));
        assert_eq!(r.commitment, Some(CommitmentLevel::Processed as i32));
        assert_eq!(r.from_slot, Some(42));
        assert!(r.ping.is_none());
    }

    #[test]
    fn reasons_are_bounded() {
        let long = "é".repeat(400);
        let t = truncate(long);
        assert!(t.len() <= MAX_REASON + '…'.len_utf8());
    }
}
