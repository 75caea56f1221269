//! The tonic `Geyser` service: one session task per `Subscribe`, a shared head, a rate clock.
//!
//! **Head.** `head` counts the transactions the fake chain has produced so far (sequence numbers
//! `0..head`). With a rate, a clock task advances it by `rate` per second (in 10 ms ticks) from the
//! moment the first client subscribes; without one, a subscriber that has caught up advances it
//! itself, so it is "as fast as the reader". The limit caps it: `count`, a script's length, and
//! whatever the handle releases later (sessions and the clock wake up when it is raised).
//!
//! **Where a subscription starts.** With `from_slot`: at the first transaction of that slot (a
//! replay of what was already produced, then live); older than `retain_slots` behind the newest
//! produced slot, or before `start_slot`, it is refused with the real server's error; a slot not
//! produced yet moves the head forward to it (the chain "is already there", e.g. after a restart
//! of the fake, which forgets its head). Without `from_slot`: at the head, like a live feed; the
//! very first subscriber therefore starts at sequence 0.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};
use tonic::{Request, Response, Status, Streaming};
use yellowstone_grpc_proto::geyser::geyser_server::Geyser;
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::{
    GetBlockHeightRequest, GetBlockHeightResponse, GetLatestBlockhashRequest,
    GetLatestBlockhashResponse, GetSlotRequest, GetSlotResponse, GetVersionRequest,
    GetVersionResponse, IsBlockhashValidRequest, IsBlockhashValidResponse, PingRequest,
    PongResponse, SubscribeDeshredRequest, SubscribeGossipRequest, SubscribeReplayInfoRequest,
    SubscribeReplayInfoResponse, SubscribeRequest, SubscribeUpdate, SubscribeUpdateDeshred,
    SubscribeUpdateGossip, SubscribeUpdatePing, SubscribeUpdatePong,
};
use yellowstone_grpc_proto::prost_types::Timestamp;

use super::filter::SubscriptionFilter;
use super::traffic::Traffic;

/// Sequence numbers a session handles before it looks at its control inputs again.
const BATCH: u64 = 64;
/// The rate clock's tick.
const TICK: Duration = Duration::from_millis(10);

/// The error the real server sends when a stream is cut on shutdown.
pub(crate) fn shutdown_status() -> Status {
    Status::unavailable("server is shutting down try again later")
}

/// The real server's error for a slow reader.
fn lagged_status() -> Status {
    Status::internal("lagged to send an update")
}

/// The real server's error for a `from_slot` it no longer (or never) had.
fn from_slot_status(from_slot: u64, first_available: u64) -> Status {
    Status::internal(format!(
        "broadcast from {from_slot} is not available, last available: {first_available}"
    ))
}

/// State shared by the service, its sessions, the clock and the handle.
pub(crate) struct Shared {
    pub(crate) traffic: Arc<Traffic>,
    rate: u64,
    /// A recording's pace multiplier: the clock follows the recorded arrival times.
    pace: Option<f64>,
    /// Sequence numbers at or above this are not produced (yet): `count` or `u64::MAX`, raised
    /// by [`Shared::raise_limit`], never above a script's length.
    limit: watch::Sender<u64>,
    /// A script's length (`u64::MAX` for endless traffic).
    end: u64,
    ping_interval: Duration,
    retain_slots: u64,
    drop_after: Option<u64>,
    channel_capacity: usize,
    lag_timeout: Duration,
    head: watch::Sender<u64>,
    pub(crate) clock_start: Notify,
    sent: AtomicU64,
    pongs: AtomicU64,
    subscribers: AtomicUsize,
    last_from_slot: Mutex<Option<u64>>,
    sessions: Mutex<HashMap<u64, oneshot::Sender<Status>>>,
    next_session: AtomicU64,
    dropped_once: AtomicBool,
    shutting_down: AtomicBool,
    pub(crate) ledger: Option<Arc<super::ledger::Ledger>>,
}

/// Knobs of [`Shared`] (a subset of the public config).
pub(crate) struct SharedParams {
    pub(crate) rate: u64,
    pub(crate) pace: Option<f64>,
    pub(crate) count: u64,
    pub(crate) ping_interval: Duration,
    pub(crate) retain_slots: u64,
    pub(crate) drop_after: Option<u64>,
    pub(crate) channel_capacity: usize,
    pub(crate) lag_timeout: Duration,
    pub(crate) ledger: Option<Arc<super::ledger::Ledger>>,
}

impl Shared {
    pub(crate) fn new(traffic: Arc<Traffic>, p: SharedParams) -> Self {
        let end = traffic.total().unwrap_or(u64::MAX);
        let limit = if p.count == 0 { u64::MAX } else { p.count };
        Shared {
            traffic,
            rate: p.rate,
            pace: p.pace,
            limit: watch::Sender::new(limit.min(end)),
            end,
            ping_interval: p.ping_interval.max(Duration::from_millis(1)),
            retain_slots: p.retain_slots,
            drop_after: p.drop_after,
            channel_capacity: p.channel_capacity.max(1),
            lag_timeout: p.lag_timeout,
            head: watch::Sender::new(0),
            clock_start: Notify::new(),
            sent: AtomicU64::new(0),
            pongs: AtomicU64::new(0),
            subscribers: AtomicUsize::new(0),
            last_from_slot: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(0),
            dropped_once: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            ledger: p.ledger,
        }
    }

    pub(crate) fn head(&self) -> u64 {
        *self.head.borrow()
    }

    pub(crate) fn limit(&self) -> u64 {
        *self.limit.borrow()
    }

    pub(crate) fn raise_limit(&self, to: u64) {
        let to = to.min(self.end);
        self.limit.send_if_modified(|l| {
            if to > *l {
                *l = to;
                true
            } else {
                false
            }
        });
    }

    fn advance_head(&self, to: u64) {
        let to = to.min(self.limit());
        self.head.send_if_modified(|h| {
            if to > *h {
                *h = to;
                true
            } else {
                false
            }
        });
    }

    /// The newest slot with a produced transaction (`start_slot` before the first one).
    pub(crate) fn newest_slot(&self) -> u64 {
        match self.head() {
            0 => self.traffic.start_slot(),
            head => self.traffic.slot_of(head - 1),
        }
    }

    /// The oldest slot a `from_slot` may name.
    pub(crate) fn first_available_slot(&self) -> u64 {
        self.newest_slot()
            .saturating_sub(self.retain_slots)
            .max(self.traffic.start_slot())
    }

    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn pongs(&self) -> u64 {
        self.pongs.load(Ordering::Relaxed)
    }

    pub(crate) fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    pub(crate) fn last_from_slot(&self) -> Option<u64> {
        *lock(&self.last_from_slot)
    }

    /// Ends every open `Subscribe` stream with `status` (queued updates are discarded).
    pub(crate) fn kill_all(&self, status: Status) {
        let sessions: Vec<_> = lock(&self.sessions).drain().collect();
        if !sessions.is_empty() {
            tracing::info!(sessions = sessions.len(), status = %status.message(), "fake geyser: dropping streams");
        }
        for (_, kill) in sessions {
            let _ = kill.send(status.clone());
        }
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.kill_all(shutdown_status());
    }

    fn kill(&self, id: u64, status: Status) {
        if let Some(kill) = lock(&self.sessions).remove(&id) {
            let _ = kill.send(status);
        }
    }

    /// The rate clock: advances the head by `rate` per second once the first client subscribed.
    pub(crate) async fn run_clock(self: Arc<Self>) {
        if let Some(speed) = self.pace {
            return self.run_paced(speed).await;
        }
        if self.rate == 0 {
            return;
        }
        self.clock_start.notified().await;
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = Instant::now();
        // Nanoseconds × transactions-per-second not yet turned into whole transactions.
        let mut budget: u128 = 0;
        let mut limit_rx = self.limit.subscribe();
        loop {
            if self.head() >= *limit_rx.borrow_and_update() {
                // Nothing to produce until the limit is raised; time spent waiting earns nothing.
                if self.head() >= self.end || limit_rx.changed().await.is_err() {
                    return;
                }
                last = Instant::now();
                budget = 0;
                continue;
            }
            ticker.tick().await;
            let now = Instant::now();
            budget += now.duration_since(last).as_nanos() * self.rate as u128;
            last = now;
            let whole = (budget / 1_000_000_000) as u64;
            budget %= 1_000_000_000;
            if whole > 0 {
                self.advance_head(self.head().saturating_add(whole));
            }
        }
    }
}

impl Shared {
    /// Whether sessions advance the head themselves (no clock: as fast as the reader).
    fn unlimited(&self) -> bool {
        self.rate == 0 && self.pace.is_none()
    }

    /// The recording clock: transaction `seq` is produced `offset(seq) / speed` after the first
    /// client subscribed. Time spent held at the limit ([`Shared::raise_limit`]) does not count.
    async fn run_paced(self: Arc<Self>, speed: f64) {
        self.clock_start.notified().await;
        let mut start = Instant::now();
        let mut limit_rx = self.limit.subscribe();
        loop {
            let head = self.head();
            if head >= *limit_rx.borrow_and_update() {
                if head >= self.end {
                    return;
                }
                let held = Instant::now();
                if limit_rx.changed().await.is_err() {
                    return;
                }
                start += held.elapsed();
                continue;
            }
            let Some(offset) = self.traffic.offset_of(head) else {
                self.advance_head(self.end);
                return;
            };
            let due = start + offset.div_f64(speed);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                changed = limit_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
            }
            // Everything due by now, at once (a burst recorded within one tick stays a burst).
            let elapsed = Instant::now().duration_since(start).mul_f64(speed);
            let mut next = head + 1;
            while next < self.end && self.traffic.offset_of(next).is_some_and(|o| o <= elapsed) {
                next += 1;
            }
            self.advance_head(next);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> Option<Timestamp> {
    Some(Timestamp::from(SystemTime::now()))
}

fn update(filters: Vec<String>, oneof: UpdateOneof) -> SubscribeUpdate {
    SubscribeUpdate {
        filters,
        update_oneof: Some(oneof),
        created_at: now(),
    }
}

/// The tonic service.
pub(crate) struct FakeGeyserService {
    pub(crate) shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Geyser for FakeGeyserService {
    type SubscribeStream = SessionStream;
    type SubscribeDeshredStream = futures::stream::Empty<Result<SubscribeUpdateDeshred, Status>>;
    type SubscribeGossipStream = futures::stream::Empty<Result<SubscribeUpdateGossip, Status>>;

    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let shared = &self.shared;
        if shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Status::unavailable("server is shutting down"));
        }
        let id = shared.next_session.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(shared.channel_capacity);
        let (kill_tx, kill_rx) = oneshot::channel();
        lock(&shared.sessions).insert(id, kill_tx);
        shared.subscribers.fetch_add(1, Ordering::Relaxed);
        tracing::info!(session = id, peer = ?request.remote_addr(), "fake geyser: subscribe");
        let session = Session {
            shared: Arc::clone(shared),
            id,
            tx,
        };
        tokio::spawn(session.run(request.into_inner()));
        Ok(Response::new(SessionStream {
            rx,
            kill: Some(kill_rx),
            done: false,
        }))
    }

    async fn subscribe_deshred(
        &self,
        _request: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented(
            "SubscribeDeshred is not available on this server",
        ))
    }

    async fn subscribe_gossip(
        &self,
        _request: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented(
            "SubscribeGossip is not available on this server",
        ))
    }

    async fn subscribe_replay_info(
        &self,
        _request: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        Ok(Response::new(SubscribeReplayInfoResponse {
            first_available: Some(self.shared.first_available_slot()),
        }))
    }

    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse {
            count: request.get_ref().count,
        }))
    }

    async fn get_latest_blockhash(
        &self,
        _request: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        let slot = self.shared.newest_slot();
        let height = self.block_height(slot);
        Ok(Response::new(GetLatestBlockhashResponse {
            slot,
            blockhash: self.shared.traffic.blockhash(slot),
            last_valid_block_height: height + 150,
        }))
    }

    async fn get_block_height(
        &self,
        _request: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Ok(Response::new(GetBlockHeightResponse {
            block_height: self.block_height(self.shared.newest_slot()),
        }))
    }

    async fn get_slot(
        &self,
        _request: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Ok(Response::new(GetSlotResponse {
            slot: self.shared.newest_slot(),
        }))
    }

    async fn is_blockhash_valid(
        &self,
        _request: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented("method disabled"))
    }

    async fn get_version(
        &self,
        _request: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Ok(Response::new(GetVersionResponse {
            version: format!(
                "{{\"package\":\"pocketwatcher-fake-geyser\",\"version\":\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
        }))
    }
}

impl FakeGeyserService {
    fn block_height(&self, slot: u64) -> u64 {
        self.shared
            .traffic
            .block_meta(slot)
            .block_height
            .map_or(0, |h| h.block_height)
    }
}

/// The response stream of one subscription: the session's updates, unless the session was
/// killed (dropped connection, slow reader), in which case the kill status comes first and ends it.
pub struct SessionStream {
    rx: mpsc::Receiver<Result<SubscribeUpdate, Status>>,
    kill: Option<oneshot::Receiver<Status>>,
    done: bool,
}

impl Stream for SessionStream {
    type Item = Result<SubscribeUpdate, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(kill) = this.kill.as_mut() {
            match Pin::new(kill).poll(cx) {
                Poll::Ready(Ok(status)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(status)));
                }
                Poll::Ready(Err(_)) => this.kill = None,
                Poll::Pending => {}
            }
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(Err(status))) => {
                this.done = true;
                Poll::Ready(Some(Err(status)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// Why a session stopped.
enum End {
    /// The client went away (its stream was dropped).
    ClientGone,
    /// The client did not read for `lag_timeout` with the buffer full.
    Lagged,
    /// An error was already queued for the client.
    Refused,
}

/// One subscription.
struct Session {
    shared: Arc<Shared>,
    id: u64,
    tx: mpsc::Sender<Result<SubscribeUpdate, Status>>,
}

/// Unregisters a session and stops its request reader, however the session ends.
struct SessionGuard {
    shared: Arc<Shared>,
    id: u64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.reader.abort();
        lock(&self.shared.sessions).remove(&self.id);
        self.shared.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Session {
    async fn run(self, mut requests: Streaming<SubscribeRequest>) {
        let (req_tx, mut req_rx) = mpsc::channel::<Result<SubscribeRequest, Status>>(16);
        let reader = tokio::spawn(async move {
            loop {
                match requests.message().await {
                    Ok(Some(r)) => {
                        if req_tx.send(Ok(r)).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(status) => {
                        let _ = req_tx.send(Err(status)).await;
                        break;
                    }
                }
            }
        });
        let _guard = SessionGuard {
            shared: Arc::clone(&self.shared),
            id: self.id,
            reader,
        };
        let end = self.serve(&mut req_rx).await;
        match end {
            End::Lagged => {
                tracing::warn!(session = self.id, "fake geyser: client lagged, stream cut");
                self.shared.kill(self.id, lagged_status());
            }
            End::ClientGone => tracing::info!(session = self.id, "fake geyser: client gone"),
            End::Refused => tracing::info!(session = self.id, "fake geyser: request refused"),
        }
    }

    async fn serve(&self, req_rx: &mut mpsc::Receiver<Result<SubscribeRequest, Status>>) -> End {
        let shared = &self.shared;
        let traffic = &shared.traffic;
        let unlimited = shared.unlimited();
        let mut head_rx = shared.head.subscribe();
        let mut limit_rx = shared.limit.subscribe();
        let mut ping = tokio::time::interval(shared.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut requests_open = true;
        let mut filter: Option<SubscriptionFilter> = None;
        let mut cursor: u64 = 0;

        loop {
            let head = *head_rx.borrow_and_update();
            let limit = *limit_rx.borrow_and_update();
            // A subscription that wants neither transactions nor block metas only gets pings.
            let wants = filter
                .as_ref()
                .is_some_and(|f| f.wants_transactions() || !f.block_meta_filters().is_empty());
            let more = wants && cursor < limit;
            let can_send = more && (unlimited || cursor < head);
            let wait_head = more && !can_send;
            let wait_limit = wants && !more && cursor < shared.end;
            tokio::select! {
                biased;
                _ = self.tx.closed() => return End::ClientGone,
                request = req_rx.recv(), if requests_open => match request {
                    // Half-close: keep streaming, as the real server does.
                    None => requests_open = false,
                    Some(Err(_)) => return End::ClientGone,
                    Some(Ok(request)) => {
                        if let Some(ping) = request.ping {
                            let pong = update(vec![], UpdateOneof::Pong(SubscribeUpdatePong { id: ping.id }));
                            if let Err(end) = self.push(pong).await {
                                return end;
                            }
                            shared.pongs.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let new_filter = match SubscriptionFilter::parse(&request) {
                            Ok(f) => f,
                            Err(e) => {
                                let status = Status::invalid_argument(format!("failed to create filter: {e}"));
                                let _ = self.tx.send(Err(status)).await;
                                return End::Refused;
                            }
                        };
                        if filter.is_none() {
                            *lock(&shared.last_from_slot) = request.from_slot;
                            match self.start_at(request.from_slot) {
                                Ok(start) => cursor = start,
                                Err(status) => {
                                    tracing::info!(session = self.id, from_slot = ?request.from_slot, "fake geyser: from_slot refused");
                                    let _ = self.tx.send(Err(status)).await;
                                    return End::Refused;
                                }
                            }
                            shared.clock_start.notify_one();
                        }
                        filter = Some(new_filter);
                    }
                },
                _ = ping.tick() => {
                    if let Err(end) = self.push(update(vec![], UpdateOneof::Ping(SubscribeUpdatePing {}))).await {
                        return end;
                    }
                }
                changed = head_rx.changed(), if wait_head => {
                    if changed.is_err() {
                        return End::ClientGone;
                    }
                }
                changed = limit_rx.changed(), if wait_limit => {
                    if changed.is_err() {
                        return End::ClientGone;
                    }
                }
                _ = std::future::ready(()), if can_send => {
                    let Some(filter) = filter.as_ref() else { continue };
                    let head = if unlimited {
                        shared.advance_head(cursor.saturating_add(BATCH));
                        shared.head()
                    } else {
                        head
                    };
                    let end = head.min(cursor.saturating_add(BATCH)).min(limit);
                    while cursor < end {
                        let seq = cursor;
                        cursor += 1;
                        if let Err(end) = self.send_seq(filter, seq).await {
                            return end;
                        }
                        let names = filter.block_meta_filters();
                        if traffic.ends_slot(seq) && !names.is_empty() {
                            let meta = traffic.block_meta(traffic.slot_of(seq));
                            if let Err(end) = self.push(update(names.to_vec(), UpdateOneof::BlockMeta(meta))).await {
                                return end;
                            }
                        }
                    }
                    // Sends that never wait (a fast reader, or a filter that matches nothing)
                    // must still let pings, requests and other tasks run.
                    tokio::task::consume_budget().await;
                }
            }
        }
    }

    /// The first sequence number of a new subscription (see the module docs).
    fn start_at(&self, from_slot: Option<u64>) -> Result<u64, Status> {
        let shared = &self.shared;
        let Some(from_slot) = from_slot else {
            return Ok(shared.head());
        };
        let first_available = shared.first_available_slot();
        if from_slot < first_available {
            return Err(from_slot_status(from_slot, first_available));
        }
        let first = shared
            .traffic
            .first_seq_of_slot(from_slot)
            .ok_or_else(|| from_slot_status(from_slot, first_available))?;
        // A slot the fake has not produced yet: the chain is already there.
        shared.advance_head(first);
        Ok(first)
    }

    /// Sends transaction `seq` if the filter wants it.
    async fn send_seq(&self, filter: &SubscriptionFilter, seq: u64) -> Result<(), End> {
        if !filter.wants_transactions() {
            return Ok(());
        }
        let (tx, transaction) = self.shared.traffic.generate(seq);
        let names = filter.transaction_filters(&tx);
        if names.is_empty() {
            return Ok(());
        }
        self.push(update(names, UpdateOneof::Transaction(transaction)))
            .await?;
        if let Some(ledger) = &self.shared.ledger {
            ledger.record(seq, &tx);
        }
        let sent = self.shared.sent.fetch_add(1, Ordering::Relaxed) + 1;
        if Some(sent) == self.shared.drop_after
            && !self.shared.dropped_once.swap(true, Ordering::SeqCst)
        {
            tracing::info!(
                sent,
                "fake geyser: drop_after reached, dropping every stream once"
            );
            self.shared.kill_all(shutdown_status());
        }
        Ok(())
    }

    /// Queues an update; a buffer that stays full for `lag_timeout` means a slow reader.
    async fn push(&self, update: SubscribeUpdate) -> Result<(), End> {
        match self.tx.try_send(Ok(update)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(End::ClientGone),
            Err(mpsc::error::TrySendError::Full(item)) => {
                match tokio::time::timeout(self.shared.lag_timeout, self.tx.send(item)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(End::ClientGone),
                    Err(_) => Err(End::Lagged),
                }
            }
        }
    }
}
