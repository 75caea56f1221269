//! A real tonic Yellowstone (Geyser) gRPC server that streams copies of fixture transactions.
//!
//! Used by the integration tests and by `pocketwatcher fake-geyser` (see [`args`]). It speaks the
//! same protocol, with the same error statuses, as the real plugin's server
//! (`rpcpool/yellowstone-grpc`, `yellowstone-grpc-geyser/src/grpc.rs`):
//!
//! - transaction updates (honouring the `vote`, `failed`, `signature` and account filters), a
//!   block meta after the last transaction of each slot (when `blocks_meta` is asked for), a
//!   server `ping` every `ping_interval`, a `pong` for each client ping request;
//! - `from_slot` replay within `retain_slots`; older: `Status::internal("broadcast from {slot} is
//!   not available, last available: {first}")`, the real server's message;
//! - a slow reader is cut with `Status::internal("lagged to send an update")`, a dropped
//!   connection ends with `Status::unavailable("server is shutting down try again later")`, a
//!   missing or wrong `x-token` gets `Status::unauthenticated("No valid auth token")`.
//!
//! The traffic is deterministic ([`traffic`]): the same sequence number is always the same
//! transaction, so tests can compute what a client must receive ([`FakeGeyserHandle::expected_transactions`])
//! and a replay after a reconnect is a byte-identical duplicate. Where a subscription starts is
//! described in [`service`]. A [`script`] streams an explicit list instead (detection scenarios),
//! and [`FakeGeyserHandle::release`] lets a test hand it out piece by piece.

pub mod args;
mod filter;
pub mod ledger;
pub mod recorded;
pub mod script;
pub mod service;
pub mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Status};
use yellowstone_grpc_proto::geyser::geyser_server::GeyserServer;

use crate::domain::Transaction;
use crate::secret::Secret;

pub use args::{run, FakeGeyserArgs};
pub use script::ScriptedTx;
pub use traffic::{MintSkew, Traffic, TrafficParams};

use service::{FakeGeyserService, Shared, SharedParams};

/// How long [`FakeGeyserHandle::shutdown`] waits for connections to close before it aborts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Errors starting the fake server.
#[derive(Debug, thiserror::Error)]
pub enum FakeGeyserError {
    #[error("fixtures {path}: {error}")]
    Fixtures { path: String, error: String },
    #[error("invalid fake geyser config: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: SocketAddr, error: String },
}

/// Where the transactions come from.
#[derive(Debug, Clone)]
pub enum Fixtures {
    /// Every `*.json` file of a directory, sorted by name (RPC `getTransaction` JSON).
    Dir(PathBuf),
    /// Already decoded transactions (copied with fresh keys, like the files).
    Transactions(Vec<Transaction>),
    /// Exactly these transactions, in this order, in their slots, once (no key replacement).
    Scripted(Vec<ScriptedTx>),
    /// A recording directory (`pocketwatcher record`), sent as recorded, once.
    Recording(PathBuf),
}

/// Configuration of the fake server.
#[derive(Debug, Clone)]
pub struct FakeGeyserConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    pub fixtures: Fixtures,
    pub traffic: TrafficParams,
    /// Transactions per second; 0 = as fast as clients read.
    pub rate: u64,
    /// A recording's original pace times this (2.0: twice as fast); `None`: `rate` decides.
    pub pace: Option<f64>,
    /// Stop producing after this many transactions (streams stay open, pings only); 0 = never
    /// (a script ends with its last transaction anyway). [`FakeGeyserHandle::release`] raises it.
    pub count: u64,
    pub ping_interval: Duration,
    /// How many slots behind the newest one a `from_slot` may go.
    pub retain_slots: u64,
    /// Drop every open stream once, when this many transactions have been sent in total.
    pub drop_after: Option<u64>,
    /// When set, requests must carry this `x-token`.
    pub x_token: Option<Secret>,
    /// Updates buffered per subscriber.
    pub channel_capacity: usize,
    /// Keep the record of what was sent here ([`ledger`]).
    pub ledger: Option<PathBuf>,
    /// A subscriber whose buffer stays full this long is cut ("lagged").
    pub lag_timeout: Duration,
}

impl FakeGeyserConfig {
    /// Defaults (the CLI's), on 127.0.0.1 with a free port, serving the fixtures of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_fixtures(Fixtures::Dir(dir.into()))
    }

    pub fn with_fixtures(fixtures: Fixtures) -> Self {
        FakeGeyserConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fixtures,
            traffic: TrafficParams::default(),
            rate: 0,
            pace: None,
            count: 0,
            ping_interval: Duration::from_secs(15),
            retain_slots: 100_000,
            drop_after: None,
            x_token: None,
            channel_capacity: 1_024,
            ledger: None,
            lag_timeout: Duration::from_secs(10),
        }
    }
}

/// Starts fake servers.
pub struct FakeGeyser;

impl FakeGeyser {
    /// Loads the fixtures, binds `config.listen` and serves in a tokio task until the handle is
    /// dropped or shut down.
    pub async fn start(config: FakeGeyserConfig) -> Result<FakeGeyserHandle, FakeGeyserError> {
        let traffic = match &config.fixtures {
            Fixtures::Dir(dir) => Traffic::new(Traffic::load_fixtures(dir)?, config.traffic)?,
            Fixtures::Transactions(list) => Traffic::new(list.clone(), config.traffic)?,
            Fixtures::Scripted(list) => Traffic::scripted(list.clone(), config.traffic)?,
            Fixtures::Recording(dir) => {
                let (entries, loaded) = recorded::load(dir)?;
                tracing::info!(
                    transactions = loaded.transactions,
                    block_metas = loaded.block_metas,
                    undecodable = loaded.undecodable,
                    damaged_files = loaded.damaged_files,
                    "fake geyser: recording loaded"
                );
                Traffic::recorded(entries, config.traffic)?
            }
        };
        if let Some(speed) = config.pace {
            if !(speed.is_finite() && speed > 0.0) {
                return Err(FakeGeyserError::Config(format!(
                    "speed {speed}: use a positive number (1 = the recorded pace)"
                )));
            }
        }
        let traffic = Arc::new(traffic);
        // Fill the key pools in the background, so that streaming does not pay for them.
        let warm = Arc::clone(&traffic);
        let _ = std::thread::Builder::new()
            .name("fake-geyser-pools".into())
            .spawn(move || warm.warm_up());
        let ledger = match &config.ledger {
            Some(path) => Some(Arc::new(
                ledger::Ledger::open(path).map_err(FakeGeyserError::Config)?,
            )),
            None => None,
        };
        // Only a recording has a pace to keep.
        let pace = config.pace.filter(|_| traffic.offset_of(0).is_some());
        let shared = Arc::new(Shared::new(
            traffic,
            SharedParams {
                rate: config.rate,
                pace,
                count: config.count,
                ping_interval: config.ping_interval,
                retain_slots: config.retain_slots,
                drop_after: config.drop_after,
                channel_capacity: config.channel_capacity,
                lag_timeout: config.lag_timeout,
                ledger: ledger.clone(),
            },
        ));
        if let Some(ledger) = ledger {
            tokio::spawn(ledger::write_every_second(ledger));
        }

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| FakeGeyserError::Bind {
                addr: config.listen,
                error: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| FakeGeyserError::Bind {
            addr: config.listen,
            error: e.to_string(),
        })?;
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));

        let service = GeyserServer::new(FakeGeyserService {
            shared: Arc::clone(&shared),
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(64 * 1024 * 1024);
        let token = config.x_token.clone();
        let service = InterceptedService::new(service, move |request: Request<()>| {
            check_x_token(token.as_ref(), request)
        });

        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let result = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = shutdown_rx.await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "fake geyser: server failed");
            }
        });
        let clock = tokio::spawn(Arc::clone(&shared).run_clock());
        tracing::info!(%addr, fixtures = shared.traffic.fixture_count(), "fake geyser: listening");
        Ok(FakeGeyserHandle {
            addr,
            shared,
            shutdown: Some(shutdown_tx),
            server: Some(server),
            clock: Some(clock),
        })
    }
}

/// The real server's check: the `x-token` metadata must equal the configured token.
fn check_x_token(token: Option<&Secret>, request: Request<()>) -> Result<Request<()>, Status> {
    let Some(token) = token else {
        return Ok(request);
    };
    match request.metadata().get("x-token") {
        Some(given) if given.as_bytes() == token.expose().as_bytes() => Ok(request),
        _ => Err(Status::unauthenticated("No valid auth token")),
    }
}

/// A running fake server. Dropping it stops the server (streams end with `unavailable`).
pub struct FakeGeyserHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    clock: Option<JoinHandle<()>>,
}

impl FakeGeyserHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Ends every open `Subscribe` stream with `unavailable`, like a server restart (the server
    /// itself keeps running and accepts new subscriptions).
    pub fn drop_connections(&self) {
        self.shared.kill_all(service::shutdown_status());
    }

    /// Transaction updates sent so far, over all subscriptions.
    pub fn sent(&self) -> u64 {
        self.shared.sent()
    }

    /// Client ping requests answered with a pong, over all subscriptions.
    pub fn pongs(&self) -> u64 {
        self.shared.pongs()
    }

    /// Open `Subscribe` streams.
    pub fn subscribers(&self) -> usize {
        self.shared.subscribers()
    }

    /// The `from_slot` of the latest subscription (`None` if it had none, or no subscription yet).
    pub fn last_from_slot(&self) -> Option<u64> {
        self.shared.last_from_slot()
    }

    /// Transactions produced so far (sequence numbers `0..head`).
    pub fn head(&self) -> u64 {
        self.shared.head()
    }

    /// Lets the server produce up to `count` transactions in total (the config's `count` is the
    /// first such cap; 0 there means none). Never lowers the cap; a script still ends with its
    /// last transaction. Tests use it to stream part of a script, check, then stream the rest.
    pub fn release(&self, count: u64) {
        self.shared.raise_limit(count);
    }

    /// The current cap on produced transactions (`u64::MAX` when there is none).
    pub fn limit(&self) -> u64 {
        self.shared.limit()
    }

    /// The newest produced slot.
    pub fn newest_slot(&self) -> u64 {
        self.shared.newest_slot()
    }

    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.shared.traffic
    }

    /// The transactions of sequence numbers `0..n`, exactly as a client decodes them with
    /// `domain::proto::from_update` (no block time). A subscription that filters out failed or
    /// vote transactions skips those sequence numbers. A script has no more than its length.
    pub fn expected_transactions(&self, n: u64) -> Vec<Transaction> {
        let n = self.shared.traffic.total().map_or(n, |len| n.min(len));
        (0..n)
            .map(|seq| self.shared.traffic.transaction(seq))
            .collect()
    }

    /// Stops the server and waits (a few seconds at most) until it no longer listens, so the
    /// same address can be bound again.
    pub async fn shutdown(mut self) {
        self.shared.begin_shutdown();
        if let Some(ledger) = &self.shared.ledger {
            if let Err(e) = ledger.flush() {
                tracing::error!(error = %e, "fake geyser: cannot write the ledger");
            }
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                server.abort();
                let _ = server.await;
            }
        }
        if let Some(clock) = self.clock.take() {
            clock.abort();
        }
    }
}

impl Drop for FakeGeyserHandle {
    fn drop(&mut self) {
        self.shared.begin_shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(clock) = self.clock.take() {
            clock.abort();
        }
    }
}
