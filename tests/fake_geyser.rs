//! The fake Yellowstone server against the real `yellowstone-grpc-client` over loopback: the
//! traffic a client receives is exactly the deterministic sequence, block metas close slots,
//! `from_slot` replays byte-identical updates or fails like the real server, x-token, pings, pongs,
//! `count`, `rate`, `drop_after` and slow readers; a script streams exactly its transactions, in
//! their slots with their block times, as far as the test releases it.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tonic::{Code, Status};
use yellowstone_grpc_client::{GeyserGrpcClient, GeyserGrpcClientError, GeyserStream};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::{
    SubscribeRequest, SubscribeRequestFilterBlocksMeta, SubscribeRequestFilterTransactions,
    SubscribeRequestPing, SubscribeUpdate, SubscribeUpdateBlockMeta, SubscribeUpdateTransaction,
};
use yellowstone_grpc_proto::prost::Message as _;

use pocketwatcher::domain::curve::is_on_curve;
use pocketwatcher::domain::proto::from_update;
use pocketwatcher::domain::test_support::sample_transaction;
use pocketwatcher::domain::Signature;
use pocketwatcher::fake_geyser::{
    FakeGeyser, FakeGeyserConfig, FakeGeyserHandle, Fixtures, ScriptedTx,
};
use pocketwatcher::geyser_source::is_from_slot_unavailable;
use pocketwatcher::secret::Secret;

use support::wait_until_async;

/// Deadline of every wait in this file.
const DEADLINE: Duration = Duration::from_secs(30);
const START_SLOT: u64 = 300_000_000;
const TX_PER_SLOT: u64 = 10;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mainnet")
}

fn config() -> FakeGeyserConfig {
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

async fn client(endpoint: &str, token: Option<&str>) -> GeyserGrpcClient {
    GeyserGrpcClient::build_from_shared(endpoint.to_string())
        .unwrap()
        .x_token(token.map(str::to_string))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .max_decoding_message_size(64 * 1024 * 1024)
        .connect()
        .await
        .expect("connect to the fake")
}

/// Transactions (all, or successful only) and block metas, from `from_slot`.
fn request(from_slot: Option<u64>, failed: Option<bool>) -> SubscribeRequest {
    SubscribeRequest {
        transactions: HashMap::from([(
            "txs".to_string(),
            SubscribeRequestFilterTransactions {
                failed,
                ..Default::default()
            },
        )]),
        blocks_meta: HashMap::from([("metas".to_string(), SubscribeRequestFilterBlocksMeta {})]),
        from_slot,
        ..Default::default()
    }
}

/// What a test reads from a stream (pings and pongs are counted, not kept).
#[derive(Debug, Clone)]
enum Item {
    Tx(Box<SubscribeUpdateTransaction>),
    Meta(SubscribeUpdateBlockMeta),
}

async fn next_update(stream: &mut GeyserStream) -> Result<SubscribeUpdate, Status> {
    tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("an update within the deadline")
        .expect("the stream does not end without a status")
}

/// Reads until `n` transactions arrived, and then until `until_meta` (if any) arrived too.
async fn read_transactions(
    stream: &mut GeyserStream,
    n: usize,
    until_meta: Option<u64>,
) -> Vec<Item> {
    let mut items = Vec::new();
    let mut txs = 0;
    let mut meta_seen = until_meta.is_none();
    while txs < n || !meta_seen {
        let update = next_update(stream).await.expect("no error status");
        match update.update_oneof {
            Some(UpdateOneof::Transaction(tx)) => {
                if txs < n {
                    items.push(Item::Tx(Box::new(tx)));
                }
                txs += 1;
            }
            Some(UpdateOneof::BlockMeta(meta)) => {
                if Some(meta.slot) == until_meta {
                    meta_seen = true;
                }
                items.push(Item::Meta(meta));
            }
            _ => {}
        }
    }
    items
}

fn transactions(items: &[Item]) -> Vec<SubscribeUpdateTransaction> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Tx(t) => Some((**t).clone()),
            Item::Meta(_) => None,
        })
        .collect()
}

/// The first error status of a subscription, whether the call or the stream carries it.
async fn subscribe_error(client: &mut GeyserGrpcClient, request: SubscribeRequest) -> Status {
    match client.subscribe_with_request(Some(request)).await {
        Err(GeyserGrpcClientError::TonicStatus(status)) => status,
        Err(e) => panic!("unexpected client error {e}"),
        Ok((_sink, mut stream)) => loop {
            match next_update(&mut stream).await {
                Err(status) => break status,
                Ok(update) => match update.update_oneof {
                    Some(UpdateOneof::Ping(_)) | Some(UpdateOneof::Pong(_)) => continue,
                    other => panic!("expected an error, got {other:?}"),
                },
            }
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_the_expected_transactions_and_closes_slots_with_block_metas() {
    let fake = start(config()).await;
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    let last_slot = START_SLOT + 200 / TX_PER_SLOT - 1;
    let items = read_transactions(&mut stream, 200, Some(last_slot)).await;

    let decoded: Vec<_> = transactions(&items)
        .iter()
        .map(|u| from_update(u).expect("every update decodes"))
        .collect();
    let expected = fake.expected_transactions(200);
    assert_eq!(decoded.len(), 200);
    for (seq, (got, want)) in decoded.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "transaction {seq}");
        assert_eq!(got.slot, START_SLOT + seq as u64 / TX_PER_SLOT);
        assert_eq!(got.index, Some(seq as u64 % TX_PER_SLOT));
    }

    let signatures: HashSet<_> = decoded.iter().map(|t| t.signature).collect();
    assert_eq!(signatures.len(), 200, "signatures are unique");
    let fixtures = fake.traffic().fixture_count();
    let mut same_payer_as_next_copy = 0;
    for (seq, tx) in decoded.iter().enumerate() {
        let fixture = fake.traffic().fixture(seq as u64);
        assert_ne!(tx.signature, fixture.signature);
        assert_ne!(
            tx.account_keys[0], fixture.account_keys[0],
            "fee payer replaced"
        );
        assert!(tx.signers().iter().all(is_on_curve), "signers are wallets");
        for b in tx.pre_token_balances.iter().chain(&tx.post_token_balances) {
            let original_owner_on_curve = fixture
                .pre_token_balances
                .iter()
                .chain(&fixture.post_token_balances)
                .any(|o| o.account_index == b.account_index && is_on_curve(&o.owner));
            if original_owner_on_curve {
                assert!(is_on_curve(&b.owner));
            }
        }
        // Two copies of one fixture are different transactions, mostly with different wallets.
        if let Some(other) = decoded.get(seq + fixtures) {
            assert_ne!(tx.signature, other.signature);
            if tx.account_keys[0] == other.account_keys[0] {
                same_payer_as_next_copy += 1;
            }
        }
    }
    assert!(same_payer_as_next_copy <= 5, "{same_payer_as_next_copy}");

    // One block meta per complete slot, right after the slot's last transaction.
    let mut current_slot = START_SLOT;
    let mut in_slot = 0;
    let mut metas = 0;
    for item in &items {
        match item {
            Item::Tx(t) => {
                assert_eq!(t.slot, current_slot, "no transaction of a closed slot");
                in_slot += 1;
            }
            Item::Meta(m) => {
                assert_eq!(m.slot, current_slot);
                assert_eq!(
                    in_slot, TX_PER_SLOT,
                    "meta after the slot's last transaction"
                );
                assert_eq!(m.executed_transaction_count, TX_PER_SLOT);
                assert_eq!(m.parent_slot, m.slot - 1);
                let offset = (m.slot - START_SLOT) as i64;
                let block_time = m.block_time.as_ref().unwrap().timestamp;
                assert_eq!(block_time, 1_700_000_000 + (offset * 4 + 5) / 10);
                assert!(!m.blockhash.is_empty());
                metas += 1;
                current_slot += 1;
                in_slot = 0;
            }
        }
    }
    assert_eq!(metas, 20);
    assert_eq!(fake.last_from_slot(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_transactions_are_skipped_when_the_filter_says_so() {
    let fake = start(config()).await;
    let expected = fake.expected_transactions(300);
    let wanted: Vec<_> = expected.iter().filter(|t| !t.failed).cloned().collect();
    assert!(
        wanted.len() < expected.len(),
        "the fixtures include failed transactions"
    );
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, Some(false))))
        .await
        .unwrap();
    let items = read_transactions(&mut stream, wanted.len(), None).await;
    let decoded: Vec<_> = transactions(&items)
        .iter()
        .map(|u| from_update(u).unwrap())
        .collect();
    // Skipped sequence numbers leave their slot index unused: numbering stays deterministic.
    assert_eq!(decoded, wanted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_slot_replays_byte_identical_updates() {
    let fake = start(config()).await;
    let mut first = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = first
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    let seen = transactions(&read_transactions(&mut stream, 100, None).await);
    let replay_slot = seen[35].slot;

    let mut second = client(&fake.endpoint(), None).await;
    let (_sink2, mut replay) = second
        .subscribe_with_request(Some(request(Some(replay_slot), None)))
        .await
        .unwrap();
    let replayed = transactions(&read_transactions(&mut replay, 80, None).await);
    assert_eq!(fake.last_from_slot(), Some(replay_slot));

    let first_seq = ((replay_slot - START_SLOT) * TX_PER_SLOT) as usize;
    assert_eq!(replayed[0].slot, replay_slot);
    assert_eq!(replayed[0].transaction.as_ref().unwrap().index, 0);
    let overlap = seen.len() - first_seq;
    assert!(overlap >= 60, "overlap {overlap}");
    for i in 0..overlap {
        assert_eq!(
            replayed[i].encode_to_vec(),
            seen[first_seq + i].encode_to_vec(),
            "replayed update {i} differs"
        );
    }
    // After the overlap the replay continues with the next sequence numbers.
    let expected = fake.expected_transactions((first_seq + replayed.len()) as u64);
    for (i, update) in replayed.iter().enumerate() {
        assert_eq!(from_update(update).unwrap(), expected[first_seq + i]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_subscribers_without_from_slot_start_at_the_head() {
    let fake = start(config()).await;
    let mut first = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = first
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    read_transactions(&mut stream, 100, None).await;
    let head = fake.head();
    assert!(head >= 100);

    let mut second = client(&fake.endpoint(), None).await;
    let (_sink2, mut live) = second
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    let got = transactions(&read_transactions(&mut live, 1, None).await);
    let tx = from_update(&got[0]).unwrap();
    let seq = fake
        .traffic()
        .seq_of(tx.slot, tx.index.unwrap())
        .expect("a sequence number");
    assert!(
        seq >= head,
        "live subscriber starts at the head: {seq} < {head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_from_slot_too_old_fails_like_the_real_server() {
    let mut c = config();
    c.retain_slots = 3;
    let fake = start(c).await;
    {
        let mut first = client(&fake.endpoint(), None).await;
        let (_sink, mut stream) = first
            .subscribe_with_request(Some(request(None, None)))
            .await
            .unwrap();
        read_transactions(&mut stream, 100, None).await;
    }
    // The first client is gone, so the head stops moving.
    wait_until_async("the first subscription to close", DEADLINE, || async {
        fake.subscribers() == 0
    })
    .await;
    let newest = fake.newest_slot();
    assert!(newest >= START_SLOT + 9);

    let mut client = client(&fake.endpoint(), None).await;
    for too_old in [START_SLOT, START_SLOT - 1, newest - 4] {
        let status = subscribe_error(&mut client, request(Some(too_old), None)).await;
        assert_eq!(status.code(), Code::Internal, "{status:?}");
        assert_eq!(
            status.message(),
            format!(
                "broadcast from {too_old} is not available, last available: {}",
                newest - 3
            )
        );
        assert!(is_from_slot_unavailable(&status));
    }
    // The oldest retained slot still works.
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(Some(newest - 3), None)))
        .await
        .unwrap();
    let got = transactions(&read_transactions(&mut stream, 1, None).await);
    assert_eq!(got[0].slot, newest - 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_token_is_enforced_when_configured() {
    let mut c = config();
    c.x_token = Some(Secret::new("s3cret-token"));
    let fake = start(c).await;

    for token in [None, Some("wrong")] {
        let mut client = client(&fake.endpoint(), token).await;
        let status = subscribe_error(&mut client, request(None, None)).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(status.message(), "No valid auth token");
    }
    let mut client = client(&fake.endpoint(), Some("s3cret-token")).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    assert_eq!(read_transactions(&mut stream, 3, None).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered_and_the_server_pings() {
    let mut c = config();
    c.ping_interval = Duration::from_millis(100);
    let fake = start(c).await;
    let mut client = client(&fake.endpoint(), None).await;
    // No filters at all: only pings and pongs flow.
    let (mut sink, mut stream) = client
        .subscribe_with_request(Some(SubscribeRequest::default()))
        .await
        .unwrap();
    sink.send(SubscribeRequest {
        ping: Some(SubscribeRequestPing { id: 7 }),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut pong = None;
    let mut server_pings = 0;
    while pong.is_none() || server_pings < 3 {
        match next_update(&mut stream).await.unwrap().update_oneof {
            Some(UpdateOneof::Pong(p)) => pong = Some(p.id),
            Some(UpdateOneof::Ping(_)) => server_pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pong, Some(7));
    assert_eq!(fake.pongs(), 1);
    assert_eq!(fake.sent(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_stops_production_but_keeps_the_stream_open() {
    let mut c = config();
    c.count = 25;
    c.ping_interval = Duration::from_millis(100);
    let fake = start(c).await;
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    let mut txs = 0;
    let mut pings_after_last = 0;
    while pings_after_last < 3 {
        match next_update(&mut stream).await.unwrap().update_oneof {
            Some(UpdateOneof::Transaction(_)) => {
                txs += 1;
                pings_after_last = 0;
            }
            Some(UpdateOneof::Ping(_)) if txs == 25 => pings_after_last += 1,
            _ => {}
        }
    }
    assert_eq!(txs, 25);
    assert_eq!(fake.sent(), 25);
    assert_eq!(fake.head(), 25);
    assert_eq!(fake.subscribers(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_production() {
    let mut c = config();
    c.rate = 400;
    let fake = start(c).await;
    let mut client = client(&fake.endpoint(), None).await;
    let started = Instant::now();
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    read_transactions(&mut stream, 200, None).await;
    let elapsed = started.elapsed();
    // 200 transactions at 400/s take half a second (only a lower bound: a loaded box is slower).
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_connections_and_drop_after_end_streams_like_a_restart() {
    let mut c = config();
    c.drop_after = Some(30);
    let fake = start(c).await;
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    let mut txs = 0;
    let status = loop {
        match next_update(&mut stream).await {
            Ok(u) if matches!(u.update_oneof, Some(UpdateOneof::Transaction(_))) => txs += 1,
            Ok(_) => {}
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(txs <= 30, "{txs}");
    wait_until_async("the dropped session to end", DEADLINE, || async {
        fake.subscribers() == 0
    })
    .await;

    // drop_after fires once; drop_connections cuts whatever is open.
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    read_transactions(&mut stream, 50, None).await;
    assert_eq!(fake.subscribers(), 1);
    fake.drop_connections();
    let status = loop {
        if let Err(status) = next_update(&mut stream).await {
            break status;
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_cut_as_lagged() {
    let mut c = config();
    c.channel_capacity = 8;
    c.lag_timeout = Duration::from_millis(300);
    let fake = start(c).await;
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();
    // Not reading: the server fills the HTTP/2 window and its buffer, then gives up.
    wait_until_async("the server to cut the slow reader", DEADLINE, || async {
        fake.subscribers() == 0
    })
    .await;
    let status = loop {
        if let Err(status) = next_update(&mut stream).await {
            break status;
        }
    };
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "lagged to send an update");
}

/// `(slot, block time)` of each transaction of the test script: sparse slots, several
/// transactions in some, block times chosen freely.
const SCRIPT: [(u64, i64); 7] = [
    (500, 1_000),
    (500, 1_000),
    (503, 1_090),
    (510, 2_000),
    (510, 2_000),
    (510, 2_000),
    (520, 9_999),
];

fn script() -> Vec<ScriptedTx> {
    SCRIPT
        .iter()
        .enumerate()
        .map(|(i, &(slot, block_time))| {
            let mut tx = sample_transaction();
            tx.signature = Signature([i as u8 + 1; 64]);
            ScriptedTx {
                slot,
                block_time,
                tx,
            }
        })
        .collect()
}

/// Reads until `pings` server pings arrived in a row with nothing else in between.
async fn read_until_quiet(stream: &mut GeyserStream, pings: usize) -> Vec<Item> {
    let mut items = Vec::new();
    let mut quiet = 0;
    while quiet < pings {
        match next_update(stream).await.unwrap().update_oneof {
            Some(UpdateOneof::Transaction(t)) => {
                items.push(Item::Tx(Box::new(t)));
                quiet = 0;
            }
            Some(UpdateOneof::BlockMeta(m)) => {
                items.push(Item::Meta(m));
                quiet = 0;
            }
            Some(UpdateOneof::Ping(_)) => quiet += 1,
            _ => {}
        }
    }
    items
}

/// `T<seq>` for a transaction (its first signature byte − 1), `M<slot>@<time>` for a meta.
fn describe(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Item::Tx(t) => {
                let tx = from_update(t).unwrap();
                format!("T{}", tx.signature.0[0] - 1)
            }
            Item::Meta(m) => format!("M{}@{}", m.slot, m.block_time.as_ref().unwrap().timestamp),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_streams_exactly_its_transactions_as_far_as_released() {
    let mut c = FakeGeyserConfig::with_fixtures(Fixtures::Scripted(script()));
    c.ping_interval = Duration::from_millis(100);
    c.count = 3;
    let fake = start(c).await;
    assert_eq!(fake.traffic().total(), Some(7));
    let mut client = client(&fake.endpoint(), None).await;
    let (_sink, mut stream) = client
        .subscribe_with_request(Some(request(None, None)))
        .await
        .unwrap();

    let first = read_until_quiet(&mut stream, 3).await;
    assert_eq!(
        describe(&first),
        ["T0", "T1", "M500@1000", "T2", "M503@1090"]
    );
    assert_eq!(fake.head(), 3);

    // Part of a slot: its meta waits for the slot's last transaction.
    fake.release(5);
    let second = read_until_quiet(&mut stream, 3).await;
    assert_eq!(describe(&second), ["T3", "T4"]);

    // Releasing past the end stops at the script's end.
    fake.release(1_000);
    let third = read_until_quiet(&mut stream, 3).await;
    assert_eq!(describe(&third), ["T5", "M510@2000", "T6", "M520@9999"]);
    assert_eq!((fake.head(), fake.sent(), fake.limit()), (7, 7, 7));

    // Transactions are the script's, as given, in their slots at their positions.
    let all: Vec<Item> = first.into_iter().chain(second).chain(third).collect();
    let decoded: Vec<_> = transactions(&all)
        .iter()
        .map(|u| from_update(u).unwrap())
        .collect();
    assert_eq!(decoded, fake.expected_transactions(100));
    let positions: Vec<(u64, Option<u64>)> = decoded.iter().map(|t| (t.slot, t.index)).collect();
    assert_eq!(
        positions,
        [
            (500, Some(0)),
            (500, Some(1)),
            (503, Some(0)),
            (510, Some(0)),
            (510, Some(1)),
            (510, Some(2)),
            (520, Some(0)),
        ]
    );
    for (tx, item) in decoded.iter().zip(script()) {
        assert_eq!(tx.account_keys, item.tx.account_keys, "no key replacement");
        assert_eq!(tx.signature, item.tx.signature);
        assert_eq!(tx.block_time, None, "updates carry no block time");
    }
    let metas: Vec<SubscribeUpdateBlockMeta> = all
        .iter()
        .filter_map(|i| match i {
            Item::Meta(m) => Some(m.clone()),
            Item::Tx(_) => None,
        })
        .collect();
    let parents: Vec<(u64, u64)> = metas.iter().map(|m| (m.slot, m.parent_slot)).collect();
    assert_eq!(parents, [(500, 499), (503, 500), (510, 503), (520, 510)]);

    // A reconnect from an unused slot resumes at the next used one.
    let (_sink2, mut replay) = client
        .subscribe_with_request(Some(request(Some(505), None)))
        .await
        .unwrap();
    let items = read_until_quiet(&mut replay, 3).await;
    assert_eq!(
        describe(&items),
        ["T3", "T4", "T5", "M510@2000", "T6", "M520@9999"]
    );
    assert_eq!(fake.last_from_slot(), Some(505));
}
