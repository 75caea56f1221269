//! `geyser_source` against the fake Yellowstone server over loopback: ordered delivery, block
//! metas, reconnect after dropped streams and after a server restart (resuming from the
//! checkpoint with no gap, duplicates only from the checkpoint slot on), fallback to the live head
//! when `from_slot` is gone, watchdog, ping answers, x-token and undecodable updates.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use yellowstone_grpc_client::GeyserGrpcClient;
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::SubscribeUpdateTransaction;
use yellowstone_grpc_proto::prost::Message as _;

use pocketwatcher::fake_geyser::{
    FakeGeyser, FakeGeyserConfig, FakeGeyserHandle, Fixtures, Traffic,
};
use pocketwatcher::geyser_source::{
    spawn_source, subscribe_request, GeyserSourceConfig, SourceEvent,
};
use pocketwatcher::secret::Secret;

use support::wait_until_async;

/// Deadline of every wait in this file.
const DEADLINE: Duration = Duration::from_secs(30);
const START_SLOT: u64 = 300_000_000;
const TX_PER_SLOT: u64 = 10;
const BACKOFF_MAX: Duration = Duration::from_millis(200);

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mainnet")
}

fn fake_config() -> FakeGeyserConfig {
    let mut c = FakeGeyserConfig::new(fixtures_dir());
    c.traffic.tx_per_slot = TX_PER_SLOT;
    c.traffic.wallets = 2_000;
    c.traffic.mints = 200;
    c.ping_interval = Duration::from_secs(60);
    // Small buffers: the fake produces ahead only that far (cheaper on a loaded 2-core box), and
    // only the slow-reader test wants a client cut for not reading.
    c.channel_capacity = 256;
    c.lag_timeout = DEADLINE;
    c
}

async fn start(config: FakeGeyserConfig) -> FakeGeyserHandle {
    FakeGeyser::start(config).await.expect("fake geyser starts")
}

fn source_config(endpoint: &str) -> GeyserSourceConfig {
    let mut c = GeyserSourceConfig::new(endpoint);
    c.connect_timeout = Duration::from_secs(2);
    c.request_timeout = Duration::from_secs(5);
    // Generous: a loaded test box must not look like a dead stream (the watchdog test sets its own).
    c.watchdog = Duration::from_secs(20);
    c.backoff_initial = Duration::from_millis(20);
    c.backoff_max = BACKOFF_MAX;
    c
}

/// A running source and everything the test saw from it. Every transaction is checked as it
/// arrives: it is the fake's transaction for its sequence number, sequence numbers rise within a
/// connection, and a repeat is only allowed from the first sequence number of the slot the
/// connection resumed from.
struct Run {
    rx: mpsc::Receiver<SourceEvent>,
    _source: JoinHandle<()>,
    traffic: Arc<Traffic>,
    /// Highest slot "durably written" (0: none).
    checkpoint: Arc<AtomicU64>,
    /// Every value the source's checkpoint closure returned.
    asked: Arc<Mutex<Vec<Option<u64>>>>,
    counts: HashMap<u64, u32>,
    order: Vec<u64>,
    connects: Vec<Option<u64>>,
    disconnects: Vec<(String, Duration)>,
    unavailable: Vec<u64>,
    metas: Vec<(u64, Option<i64>)>,
    undecodable: Vec<(u64, String, Vec<u8>)>,
    /// Lowest sequence number this connection may repeat, and the last one it delivered.
    floor: Option<u64>,
    last_in_connection: Option<u64>,
}

impl Run {
    fn spawn(config: GeyserSourceConfig, traffic: Arc<Traffic>, checkpoint: Option<u64>) -> Run {
        let (tx, rx) = mpsc::channel(64);
        let cp = Arc::new(AtomicU64::new(checkpoint.unwrap_or(0)));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (cp2, asked2) = (cp.clone(), asked.clone());
        let source = spawn_source(
            config,
            move || {
                let value = Some(cp2.load(Ordering::SeqCst)).filter(|&s| s != 0);
                asked2.lock().unwrap().push(value);
                value
            },
            tx,
        );
        Run {
            rx,
            _source: source,
            traffic,
            checkpoint: cp,
            asked,
            counts: HashMap::new(),
            order: Vec::new(),
            connects: Vec::new(),
            disconnects: Vec::new(),
            unavailable: Vec::new(),
            metas: Vec::new(),
            undecodable: Vec::new(),
            floor: None,
            last_in_connection: None,
        }
    }

    fn transactions(&self) -> usize {
        self.order.len()
    }

    fn max_seq(&self) -> Option<u64> {
        self.order.iter().copied().max()
    }

    async fn next(&mut self, what: &str) -> SourceEvent {
        let event = tokio::time::timeout(DEADLINE, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("the source never stops on its own");
        match &event {
            SourceEvent::Connected { from_slot } => {
                self.connects.push(*from_slot);
                self.floor = from_slot.map(|s| {
                    self.traffic
                        .first_seq_of_slot(s)
                        .expect("from_slot is a slot of the traffic")
                });
                self.last_in_connection = None;
            }
            SourceEvent::Transaction(tx) => {
                let seq = self
                    .traffic
                    .seq_of(tx.slot, tx.index.expect("index"))
                    .expect("a slot and index of the traffic");
                assert_eq!(*tx, self.traffic.transaction(seq), "content of seq {seq}");
                assert!(
                    !tx.failed && !tx.is_vote,
                    "filtered out by the subscription"
                );
                if let Some(last) = self.last_in_connection {
                    assert!(seq > last, "seq {seq} after {last} in one connection");
                }
                self.last_in_connection = Some(seq);
                let count = self.counts.entry(seq).or_default();
                if *count > 0 {
                    let floor = self.floor.expect("a repeat only after a resume");
                    assert!(
                        seq >= floor,
                        "seq {seq} repeated below the checkpoint slot ({floor})"
                    );
                }
                *count += 1;
                self.order.push(seq);
                self.checkpoint.fetch_max(tx.slot, Ordering::SeqCst);
            }
            SourceEvent::BlockMeta { slot, block_time } => self.metas.push((*slot, *block_time)),
            SourceEvent::Disconnected { reason, retry_in } => {
                self.disconnects.push((reason.clone(), *retry_in))
            }
            SourceEvent::FromSlotUnavailable { requested } => self.unavailable.push(*requested),
            SourceEvent::Undecodable { slot, error, raw } => {
                self.undecodable.push((*slot, error.clone(), raw.clone()))
            }
        }
        event
    }

    async fn until(&mut self, what: &str, done: impl Fn(&Run) -> bool) {
        while !done(self) {
            self.next(what).await;
        }
    }

    /// Every successful transaction from sequence 0 up to the highest received one arrived.
    fn assert_no_gap(&self) {
        let max = self.max_seq().expect("transactions arrived");
        for seq in 0..=max {
            if !self.traffic.transaction(seq).failed {
                assert!(
                    self.counts.contains_key(&seq),
                    "seq {seq} is missing (max {max})"
                );
            }
        }
    }

    fn last_asked(&self) -> Option<u64> {
        *self
            .asked
            .lock()
            .unwrap()
            .last()
            .expect("checkpoint was read")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_transactions_in_order_with_block_metas() {
    let fake = start(fake_config()).await;
    let mut run = Run::spawn(
        source_config(&fake.endpoint()),
        fake.traffic().clone(),
        None,
    );
    run.until("300 transactions", |r| r.transactions() >= 300)
        .await;

    assert_eq!(run.connects, vec![None]);
    assert!(run.disconnects.is_empty(), "{:?}", run.disconnects);
    let expected: Vec<u64> = (0..)
        .filter(|&seq| !fake.traffic().transaction(seq).failed)
        .take(300)
        .collect();
    assert_eq!(run.order, expected);
    run.assert_no_gap();

    let complete_slots = (run.max_seq().unwrap() + 1) / TX_PER_SLOT;
    assert!(run.metas.len() as u64 >= complete_slots - 1);
    for (i, (slot, block_time)) in run.metas.iter().enumerate() {
        assert_eq!(*slot, START_SLOT + i as u64);
        assert_eq!(*block_time, Some(fake.traffic().block_time(*slot)));
    }
    assert_eq!(fake.last_from_slot(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_the_checkpoint_after_dropped_connections() {
    let fake = start(fake_config()).await;
    let mut run = Run::spawn(
        source_config(&fake.endpoint()),
        fake.traffic().clone(),
        None,
    );

    for round in 1..=2 {
        let target = run.transactions() + 150;
        run.until("transactions before the drop", |r| {
            r.transactions() >= target
        })
        .await;
        fake.drop_connections();
        let disconnects = run.disconnects.len();
        run.until("Disconnected", |r| r.disconnects.len() > disconnects)
            .await;
        let (reason, retry_in) = run.disconnects.last().unwrap().clone();
        assert!(reason.contains("Unavailable"), "round {round}: {reason}");
        assert!(retry_in <= BACKOFF_MAX);
        run.until("Connected again", |r| r.connects.len() > round)
            .await;
        let from_slot = *run.connects.last().unwrap();
        assert!(from_slot.is_some(), "resumes from the checkpoint");
        assert_eq!(from_slot, run.last_asked());
        // The server reads the request after answering the call: wait for it to get there.
        wait_until_async("the server to see the from_slot", DEADLINE, || async {
            fake.last_from_slot() == from_slot
        })
        .await;
    }
    let target = run.max_seq().unwrap() + 200;
    run.until("transactions after the drops", |r| {
        r.max_seq().is_some_and(|m| m >= target)
    })
    .await;
    run.assert_no_gap();
    assert!(
        run.order.len() > run.counts.len(),
        "the overlap was replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_retrying_while_the_server_is_down_and_recovers_on_restart() {
    let config = fake_config();
    let fake = start(config.clone()).await;
    let addr = fake.addr();
    let traffic = fake.traffic().clone();
    let mut run = Run::spawn(source_config(&fake.endpoint()), traffic, None);
    run.until("transactions before the stop", |r| r.transactions() >= 100)
        .await;

    fake.shutdown().await;
    run.until("several failed reconnects", |r| r.disconnects.len() >= 4)
        .await;
    let connects_while_down = run.connects.len();
    assert_eq!(connects_while_down, 1);
    for (reason, retry_in) in &run.disconnects {
        assert!(*retry_in <= BACKOFF_MAX, "{retry_in:?}");
        assert!(!reason.is_empty());
    }
    let max_before = run.max_seq().unwrap();

    // Same address, same traffic, fresh server state.
    let mut restarted = config.clone();
    restarted.listen = addr;
    let slot: Arc<Mutex<Option<FakeGeyserHandle>>> = Arc::new(Mutex::new(None));
    wait_until_async("the port to be free again", DEADLINE, || {
        let (restarted, slot) = (restarted.clone(), slot.clone());
        async move {
            match FakeGeyser::start(restarted).await {
                Ok(handle) => {
                    *slot.lock().unwrap() = Some(handle);
                    true
                }
                Err(_) => false,
            }
        }
    })
    .await;
    let fake = slot.lock().unwrap().take().unwrap();

    run.until("Connected after the restart", |r| r.connects.len() == 2)
        .await;
    let from_slot = run.connects[1];
    assert!(from_slot.is_some());
    assert_eq!(from_slot, run.last_asked());
    run.until("transactions after the restart", |r| {
        r.max_seq().is_some_and(|m| m >= max_before + 150)
    })
    .await;
    run.assert_no_gap();
    assert_eq!(fake.last_from_slot(), from_slot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_the_live_head_when_from_slot_is_gone() {
    let mut config = fake_config();
    config.retain_slots = 5;
    let fake = start(config).await;
    // Move the head well past the retained window with a plain client, then let it go.
    {
        let mut client = GeyserGrpcClient::build_from_shared(fake.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let request = subscribe_request(&source_config(&fake.endpoint()), None);
        let (_sink, mut stream) = client.subscribe_with_request(Some(request)).await.unwrap();
        let mut txs = 0;
        while txs < 200 {
            let update = tokio::time::timeout(DEADLINE, stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if matches!(update.update_oneof, Some(UpdateOneof::Transaction(_))) {
                txs += 1;
            }
        }
    }
    wait_until_async("the priming client to leave", DEADLINE, || async {
        fake.subscribers() == 0
    })
    .await;
    let head = fake.head();

    let mut run = Run::spawn(
        source_config(&fake.endpoint()),
        fake.traffic().clone(),
        Some(START_SLOT),
    );
    run.until("FromSlotUnavailable", |r| !r.unavailable.is_empty())
        .await;
    assert_eq!(run.unavailable, vec![START_SLOT]);
    run.until("a live transaction", |r| r.transactions() >= 1)
        .await;
    assert_eq!(run.connects.last(), Some(&None), "live head: no from_slot");
    assert!(
        run.order[0] >= head,
        "live data starts at the head ({head})"
    );
    assert!(run.disconnects.is_empty(), "{:?}", run.disconnects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_reconnects_a_silent_stream() {
    let mut config = fake_config();
    config.count = 5;
    config.ping_interval = Duration::from_secs(3600);
    let fake = start(config).await;
    let mut source = source_config(&fake.endpoint());
    source.watchdog = Duration::from_millis(500);
    let mut run = Run::spawn(source, fake.traffic().clone(), None);
    run.until("the watchdog to fire", |r| !r.disconnects.is_empty())
        .await;
    assert!(run.transactions() >= 1);
    assert!(
        run.disconnects[0].0.contains("watchdog"),
        "{:?}",
        run.disconnects
    );
    run.until("Connected again", |r| r.connects.len() >= 2)
        .await;
    assert_eq!(run.connects[1], Some(START_SLOT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_are_answered_and_keep_the_stream_alive() {
    let mut config = fake_config();
    config.count = 1;
    config.ping_interval = Duration::from_millis(100);
    let fake = start(config).await;
    let mut source = source_config(&fake.endpoint());
    source.watchdog = Duration::from_millis(400);
    // Bounds the wait for the Subscribe response, not the stream's life.
    source.request_timeout = Duration::from_millis(300);
    let mut run = Run::spawn(source, fake.traffic().clone(), None);
    run.until("Connected", |r| !r.connects.is_empty()).await;
    // Ten pings take about a second: more than twice the watchdog and three request timeouts.
    wait_until_async("the source to answer ten pings", DEADLINE, || async {
        fake.pongs() >= 10
    })
    .await;
    while let Ok(event) = run.rx.try_recv() {
        assert!(
            !matches!(event, SourceEvent::Disconnected { .. }),
            "{event:?}"
        );
    }
    assert_eq!(fake.subscribers(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_token_is_sent_and_a_missing_one_is_retried_without_leaking() {
    let mut config = fake_config();
    config.x_token = Some(Secret::new("tok-5f3a9"));
    let fake = start(config).await;

    let mut without = Run::spawn(
        source_config(&fake.endpoint()),
        fake.traffic().clone(),
        None,
    );
    without
        .until("two refusals", |r| r.disconnects.len() >= 2)
        .await;
    assert!(without.connects.is_empty());
    for (reason, _) in &without.disconnects {
        assert!(reason.contains("Unauthenticated"), "{reason}");
    }

    let mut source = source_config(&fake.endpoint());
    source.x_token = Some(Secret::new("tok-5f3a9"));
    assert!(!format!("{source:?}").contains("tok-5f3a9"));
    let mut with = Run::spawn(source, fake.traffic().clone(), None);
    with.until("transactions", |r| r.transactions() >= 20).await;
    assert!(with.disconnects.is_empty(), "{:?}", with.disconnects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_updates_become_events_not_panics() {
    let good = Traffic::load_fixtures(&fixtures_dir())
        .unwrap()
        .into_iter()
        .find(|t| !t.failed && !t.pre_token_balances.is_empty())
        .unwrap();
    let mut bad = good.clone();
    bad.pre_token_balances[0].account_index = 250; // beyond the key list
    let mut config = fake_config();
    config.fixtures = Fixtures::Transactions(vec![good, bad]);
    let fake = start(config).await;

    let mut run = Run::spawn(
        source_config(&fake.endpoint()),
        fake.traffic().clone(),
        None,
    );
    run.until("good and bad updates", |r| {
        r.transactions() >= 5 && r.undecodable.len() >= 5
    })
    .await;
    assert!(run.order.iter().all(|seq| seq % 2 == 0));
    for (slot, error, raw) in &run.undecodable {
        assert!(*slot >= START_SLOT);
        assert!(error.contains("index"), "{error}");
        let update = SubscribeUpdateTransaction::decode(raw.as_slice()).expect("raw is protobuf");
        assert_eq!(update.slot, *slot);
    }
    assert!(run.disconnects.is_empty(), "{:?}", run.disconnects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_use_tls_and_a_failed_handshake_is_retried() {
    // The fake speaks plain HTTP/2: a TLS client must fail the handshake, report it, and retry
    // (no panic choosing a rustls crypto provider, no plaintext fallback).
    let fake = start(fake_config()).await;
    let endpoint = format!("https://{}", fake.addr());
    let mut run = Run::spawn(source_config(&endpoint), fake.traffic().clone(), None);
    run.until("two failed attempts", |r| r.disconnects.len() >= 2)
        .await;
    assert!(run.connects.is_empty());
    assert_eq!(fake.subscribers(), 0);
    assert!(
        run.disconnects[0].0.starts_with("connect:"),
        "{:?}",
        run.disconnects
    );
}
