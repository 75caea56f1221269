//! Issue 11's "done when" through a running daemon: the fake Geyser streams two mints with the
//! same trades (17 buys, 6.4 SOL in 5 minutes, see `support::scenarios::ring_volume`); on the
//! JSON-RPC stand-in the five largest buyers of one are a ring funded by one fresh wallet (itself
//! funded by an exchange), those of the other have one established funder each. The daemon
//! (`--role all`, real Redis and PostgreSQL) runs one trigger, `funded_ring`, whose wallet
//! conditions read the new metrics: the ring fires, the independent wallets do not, and the alert
//! row holds the cluster, the largest-cluster share, the same-source share and the CTO score with
//! its inputs.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use pocketwatcher::domain::cto::{score, CtoInput};
use pocketwatcher::domain::Pubkey;
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig, FakeGeyserHandle, Fixtures};
use pocketwatcher::store::redis::stream::ensure_group;
use serde_json::Value;
use support::daemon::{Daemon, DaemonConfig};
use support::fake_chain_rpc::FakeChainRpc;
use support::scenarios::{
    ring_buyers, ring_volume, wallets, Model, Script, FUNDED_RING_TRIGGERS, T0,
};
use support::workload::stored_minutes;
use support::{unique_name, TestPostgres, TestRedis};

/// Deadline of every wait on the daemon.
const DEADLINE: Duration = Duration::from_secs(60);
/// A labelled exchange of config/labelled_wallets.toml (ends a trace, links nobody).
const BINANCE_2: &str = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";
const SUPPRESSED_BY_WALLETS: &str =
    "pocketwatcher_alerts_suppressed_total{reason=\"wallet_conditions\"}";

struct System {
    geyser: FakeGeyserHandle,
    conn: redis::aio::MultiplexedConnection,
    pg: TestPostgres,
    db: String,
    daemon: Daemon,
    _redis: TestRedis,
    _dir: std::path::PathBuf,
}

impl System {
    /// The daemon runs `triggers` (a trigger file) with the stand-in as its RPC provider;
    /// `enrich` is extra TOML for the `[enrich]` section.
    async fn start(
        script: &Script,
        first_release: usize,
        rpc: &FakeChainRpc,
        triggers_toml: &str,
        enrich: &str,
    ) -> System {
        let redis = TestRedis::start();
        let pg = TestPostgres::new();
        let db = unique_name("ring");
        pg.create_database(&db);
        pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();

        let mut config = FakeGeyserConfig::with_fixtures(Fixtures::Scripted(script.scripted()));
        config.count = first_release as u64;
        config.ping_interval = Duration::from_secs(1);
        let geyser = FakeGeyser::start(config).await.unwrap();

        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        ensure_group(&mut conn).await.unwrap();

        let dir = std::env::temp_dir().join(unique_name("ring-triggers"));
        std::fs::create_dir_all(&dir).unwrap();
        let triggers = dir.join("triggers.toml");
        std::fs::write(&triggers, triggers_toml).unwrap();
        let mut c = DaemonConfig::new(redis.url(), pg.url(&db));
        c.yellowstone_endpoint = geyser.endpoint();
        c.extra = format!(
            "[ingest]\nblock_time_hold_ms = 5000\nlinger_ms = 2\n\
             [detect]\neval_interval_ms = 100\nlease_ttl_ms = 2000\nlease_renew_ms = 500\n\
             triggers_file = \"{}\"\n\
             [enrich]\nrpc_url = \"{}\"\nrpc_requests_per_sec = 1000\n{enrich}\n",
            triggers.display(),
            rpc.url()
        );
        let daemon = Daemon::start(&c, "all");
        System {
            geyser,
            conn,
            pg,
            db,
            daemon,
            _redis: redis,
            _dir: dir,
        }
    }

    fn log_tail(&self) -> String {
        let log = self.daemon.log();
        log[log.len().saturating_sub(6_000)..].to_string()
    }

    async fn counted(&mut self) -> u64 {
        stored_minutes(&mut self.conn)
            .await
            .values()
            .map(|c| c.buys + c.sells)
            .sum()
    }

    /// Lets the fake stream the first `n` trades and waits until the pipeline counted them all.
    async fn release_and_settle(&mut self, n: usize) {
        self.geyser.release(n as u64);
        let started = Instant::now();
        loop {
            let counted = self.counted().await;
            if counted == n as u64 {
                return;
            }
            assert!(counted < n as u64, "counted {counted}, streamed {n}");
            assert!(
                started.elapsed() < DEADLINE,
                "after {DEADLINE:?}: {counted} of {n} trades counted\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `(mint, trigger, cto, wallet_intel, enrichment_degraded)` of every alert row.
    fn alerts(&self) -> Vec<Value> {
        self.pg
            .psql(
                &self.db,
                "SELECT json_build_array(mint, trigger_name, cto, wallet_intel, \
                 enrichment_degraded, metrics)::text FROM alerts ORDER BY id",
            )
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("alert row JSON"))
            .collect()
    }

    async fn wait_alerts(&self, n: usize) -> Vec<Value> {
        support::wait_for_value(
            DEADLINE,
            || Some(self.alerts()).filter(|a| a.len() >= n),
            || {
                format!(
                    "{} alerts, expected {n}\n{}",
                    self.alerts().len(),
                    self.log_tail()
                )
            },
        )
        .await
    }

    /// Waits until the daemon's `/metrics` shows `series` at `at_least` or more.
    async fn wait_metric(&self, series: &str, at_least: f64) {
        let value = || -> f64 {
            self.daemon
                .metrics()
                .lines()
                .filter(|l| l.starts_with(series))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        support::wait_for_value(
            DEADLINE,
            || (value() >= at_least).then_some(()),
            || {
                format!(
                    "{series} = {}, expected >= {at_least}\n{}",
                    value(),
                    self.log_tail()
                )
            },
        )
        .await
    }

    /// `(enrichment_degraded, wallet_intel, cto, cluster_summary)` of the alert on `mint`.
    fn enrichment(&self, mint: &Pubkey) -> Option<Value> {
        let out = self.pg.psql(
            &self.db,
            &format!(
                "SELECT json_build_array(enrichment_degraded, wallet_intel, cto, \
                 cluster_summary)::text FROM alerts WHERE mint = '{mint}'"
            ),
        );
        let line = out.lines().find(|l| !l.trim().is_empty())?;
        Some(serde_json::from_str(line).expect("row JSON"))
    }

    /// `wallet → funded_by` of the traced wallets.
    fn funded_by(&self) -> HashMap<String, String> {
        self.pg
            .psql(
                &self.db,
                "SELECT address || '|' || coalesce(funded_by, '') FROM wallet_profiles \
                 WHERE funding_status IS NOT NULL",
            )
            .lines()
            .filter_map(|l| l.trim().split_once('|'))
            .map(|(w, f)| (w.to_string(), f.to_string()))
            .collect()
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "inf" => f64::INFINITY,
        other => panic!("not a number: {other}"),
    }
}

/// The ring of [`ring_buyers`] `tag` on the stand-in: one fresh source, funded by an exchange,
/// funded every buyer. Returns the source.
fn fund_ring(rpc: &FakeChainRpc, tag: u32, source_group: u32) -> Pubkey {
    let exchange: Pubkey = BINANCE_2.parse().unwrap();
    let source = wallets(source_group, 1)[0];
    rpc.fund(&exchange, &source, T0 - 86_400);
    for (i, b) in ring_buyers(tag).iter().enumerate() {
        rpc.fund(&source, b, T0 - 3_600 + i as i64);
        rpc.add_activity(b, 3);
    }
    source
}

/// The CTO score the domain gives the ring window (17 buys by 7 wallets, 6.4 SOL, 2 sells) with
/// its five top buyers in one cluster.
fn ring_cto(script: &Script, mint: &Pubkey) -> pocketwatcher::domain::cto::CtoScore {
    let model = Model::of(&script.trades);
    let m = model.metrics(mint, model.now());
    assert_eq!((m["buy_count_5m"], m["unique_buyers_5m"]), (17.0, 7.0));
    score(&CtoInput {
        top_3_share: m["top_3_buyers_volume_share_5m"],
        buy_count: m["buy_count_5m"],
        unique_buyers: m["unique_buyers_5m"],
        new_wallet_pct: m["new_wallet_pct_5m"],
        buy_sell_ratio: m["buy_sell_ratio_5m"],
        volume_sol: m["buy_volume_sol_5m"],
        top_buyers: 5,
        linked_buyers: 5,
        largest_cluster: 5,
    })
}

fn cluster_component(cto: &Value) -> f64 {
    cto["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "cluster")
        .map(|c| number(&c[1]))
        .unwrap()
}

fn strings(keys: &[Pubkey]) -> BTreeSet<String> {
    keys.iter().map(Pubkey::to_base58).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funded_ring_fires_the_cluster_trigger_and_the_same_volume_from_independents_does_not() {
    let independent = ring_volume(1, T0 + 60);
    let ring = ring_volume(2, T0 + 900);
    let script = Script::new(vec![independent.clone(), ring.clone()], Vec::new());
    let (cross_independent, cross_ring) = (script.crossing(0), script.crossing(1));
    assert_eq!(cross_ring + 1, script.trades.len());

    // On chain: the ring's buyers were all funded by one fresh wallet, which an exchange funded;
    // each independent buyer by a different established wallet (more than 200 signatures).
    let rpc = FakeChainRpc::start();
    let exchange: Pubkey = BINANCE_2.parse().unwrap();
    let ring_source = fund_ring(&rpc, 2, 7_000);
    let own_funders = wallets(7_001, 5);
    for (i, (b, f)) in ring_buyers(1).iter().zip(&own_funders).enumerate() {
        rpc.fund(&exchange, f, T0 - 90 * 86_400);
        rpc.add_activity(f, 250);
        rpc.fund(f, b, T0 - 3_600 + i as i64);
        rpc.add_activity(b, 3);
    }

    // The trace gets a generous latency budget: this test is about what it finds.
    let mut system = System::start(
        &script,
        cross_independent,
        &rpc,
        FUNDED_RING_TRIGGERS,
        "max_wait_ms = 30000",
    )
    .await;

    // The independent wallets: everything but the crossing is counted and nothing fired; the
    // crossing makes the count conditions hold, the trace finds five separate funders and the
    // wallet conditions refuse the alert.
    system.release_and_settle(cross_independent).await;
    assert!(system.alerts().is_empty());
    system.release_and_settle(cross_independent + 1).await;
    system.wait_metric(SUPPRESSED_BY_WALLETS, 1.0).await;
    let funded = system.funded_by();
    for (b, f) in ring_buyers(1).iter().zip(&own_funders) {
        assert_eq!(
            funded.get(&b.to_base58()),
            Some(&f.to_base58()),
            "independent buyer traced to its own funder: {funded:?}"
        );
    }
    let calls_independent = rpc.calls().len();
    let http_independent = rpc.http_requests();

    // The ring: the same trades by other wallets.
    system.release_and_settle(cross_ring).await;
    assert!(
        system.alerts().is_empty(),
        "nothing fired before the ring's crossing: {:?}",
        system.alerts()
    );
    system.release_and_settle(cross_ring + 1).await;
    let alerts = system.wait_alerts(1).await;
    assert_eq!(alerts.len(), 1, "only the ring alerts: {alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert[0].as_str(), Some(ring.mint.to_base58().as_str()));
    assert_eq!(alert[1].as_str(), Some("funded_ring"));
    eprintln!(
        "RPC per decision: independent {calls_independent} calls / {http_independent} HTTP \
         requests; ring {} calls / {} HTTP requests (market lookup included)",
        rpc.calls().len() - calls_independent,
        rpc.http_requests() - http_independent
    );

    // The cluster: the five ring buyers, 6 of the window's 6.4 SOL.
    let intel = &alert[3];
    let clusters = intel["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{intel:#}");
    let members: BTreeSet<String> = clusters[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(members, strings(&ring_buyers(2)));
    assert_eq!(clusters[0]["volume_lamports"].as_u64(), Some(6_000_000_000));
    assert_eq!(number(&intel["largest_cluster_share"]), 0.9375);
    assert_eq!(number(&intel["funded_by_same_source_pct"]), 1.0);
    for entry in intel["funding"].as_array().unwrap() {
        assert_eq!(entry[1], serde_json::json!([ring_source.to_base58()]));
        assert_eq!(entry[2].as_str(), Some("Binance 2"));
    }
    // The trace completed: no Limited Analysis.
    assert_eq!(intel["missing"], serde_json::json!([]));
    assert_eq!(alert[4], Value::Bool(false));

    // The CTO score stored with the alert is the domain formula on the window the model
    // predicts and the real cluster, and its inputs are stored by name.
    let want = ring_cto(&script, &ring.mint);
    let inputs: HashMap<String, f64> = intel["cto_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), number(&p[1])))
        .collect();
    assert_eq!(inputs.len(), 9);
    assert_eq!(inputs["linked_buyers"], 5.0);
    assert_eq!(inputs["largest_cluster"], 5.0);
    assert_eq!(inputs["top_buyers"], 5.0);
    assert_eq!(inputs["buy_count"], 17.0);
    let cto = &alert[2];
    assert!(
        (number(&cto["score"]) - want.total).abs() < 1e-9,
        "stored {cto:#}, expected {}",
        want.total
    );
    assert_eq!(cluster_component(cto), want.components[1].1);
    assert!(
        cluster_component(cto) > 0.0,
        "real clusters feed the CTO score"
    );
    assert!(
        !system.daemon.log().contains("chain-secret"),
        "the provider key never reaches the log"
    );
    system.geyser.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_past_max_wait_ms_goes_out_without_clusters_and_completes_the_alert_row_later() {
    let ring = ring_volume(3, T0 + 60);
    let script = Script::new(vec![ring.clone()], Vec::new());
    let crossing = script.crossing(0);
    let rpc = FakeChainRpc::start();
    let source = fund_ring(&rpc, 3, 7_010);
    // The provider does not answer signature lists until the test says so: the trace cannot
    // end within max_wait_ms, whatever the machine's load. (The provider timeout is long so the
    // held requests are answered, not abandoned.)
    rpc.hold_histories();
    let triggers = "[[triggers]]\nname = \"ring_volume\"\n\
                    conditions = [\"buy_count_5m >= 17\", \"buy_volume_sol_5m >= 6\"]\n";
    let mut system = System::start(
        &script,
        crossing,
        &rpc,
        triggers,
        "max_wait_ms = 300\nrpc_timeout_ms = 60000",
    )
    .await;
    system.release_and_settle(crossing).await;
    assert!(system.alerts().is_empty());
    system.release_and_settle(crossing + 1).await;
    let alerts = system.wait_alerts(1).await;
    assert_eq!(alerts[0][1].as_str(), Some("ring_volume"));

    // As decided: without the trace (it waits at the gate), the Limited Analysis says so, every
    // buyer is its own cluster and the CTO cluster component is 0.
    support::wait_until("the trace waits at the provider", DEADLINE, || {
        rpc.held() >= 1
    });
    let decided = system.enrichment(&ring.mint).expect("the alert row");
    assert_eq!(decided[0], Value::Bool(true), "{decided:#}");
    assert_eq!(
        decided[1]["missing"],
        serde_json::json!(["funding trace: still running after 300 ms (recorded later)"])
    );
    assert_eq!(decided[1]["clusters"].as_array().unwrap().len(), 5);
    assert_eq!(cluster_component(&decided[2]), 0.0);

    // The provider answers: the trace ends and the row gets what it found.
    rpc.release_histories();
    let started = Instant::now();
    let late = loop {
        let row = system.enrichment(&ring.mint).expect("the alert row");
        if row[0] == Value::Bool(false) {
            break row;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?} the row still lacks the trace: {row:#}\n{}",
            system.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let intel = &late[1];
    assert_eq!(intel["missing"], serde_json::json!([]));
    let clusters = intel["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{intel:#}");
    let members: BTreeSet<String> = clusters[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(members, strings(&ring_buyers(3)));
    assert_eq!(number(&intel["largest_cluster_share"]), 0.9375);
    assert_eq!(number(&intel["funded_by_same_source_pct"]), 1.0);
    for entry in intel["funding"].as_array().unwrap() {
        assert_eq!(entry[1], serde_json::json!([source.to_base58()]));
    }
    let want = ring_cto(&script, &ring.mint);
    assert!(
        (number(&late[2]["score"]) - want.total).abs() < 1e-9,
        "{:#}",
        late[2]
    );
    assert_eq!(cluster_component(&late[2]), want.components[1].1);
    assert!(cluster_component(&late[2]) > 0.0);
    assert_eq!(
        late[3].as_str(),
        Some("5 wallets in 1 cluster: Cluster A (5 wallets, 6.00 SOL)")
    );
    assert_eq!(system.alerts().len(), 1, "updated, not a second alert");
    system.geyser.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_wallets_buying_a_hot_token_are_traced_and_others_are_not() {
    use support::scenarios::{buy, mint, sol};
    let ring = ring_volume(4, T0 + 60);
    let at = ring.crossing().at;
    let cold = mint("cold", 4);
    let old = wallets(6_602, 1)[0];
    let fresh = wallets(6_600, 3);
    let elsewhere = wallets(6_601, 3);
    // The old wallet traded more than an hour before; after the alert (the ring's mint is HOT)
    // it buys the HOT mint, then three new wallets do, and three new wallets buy a cold mint.
    let mut extra = vec![
        buy(old, cold, sol(0.1), 3_000_000, T0 - 4_000),
        buy(old, ring.mint, sol(0.1), 3_000_000, at + 10),
    ];
    for (i, (f, e)) in fresh.iter().zip(&elsewhere).enumerate() {
        let t = at + 20 + 5 * i as i64;
        extra.push(buy(*f, ring.mint, sol(0.1), 3_000_000, t));
        extra.push(buy(*e, cold, sol(0.1), 3_000_000, t));
    }
    let script = Script::new(vec![ring.clone()], extra);
    let crossing = script.crossing(0);

    let rpc = FakeChainRpc::start();
    let exchange: Pubkey = BINANCE_2.parse().unwrap();
    fund_ring(&rpc, 4, 7_020);
    let funders = wallets(7_021, 7);
    for (w, f) in fresh.iter().chain(&elsewhere).chain([&old]).zip(&funders) {
        rpc.fund(&exchange, f, T0 - 86_400);
        rpc.fund(f, w, T0 - 7_200);
    }
    let triggers = "[[triggers]]\nname = \"ring_volume\"\n\
                    conditions = [\"buy_count_5m >= 17\", \"buy_volume_sol_5m >= 6\"]\n";
    let mut system = System::start(
        &script,
        crossing,
        &rpc,
        triggers,
        "max_wait_ms = 30000\nhot_trace_interval_secs = 1\nhot_trace_wallets_per_min = 600",
    )
    .await;
    system.release_and_settle(crossing).await;
    system.release_and_settle(crossing + 1).await;
    system.wait_alerts(1).await;
    system.release_and_settle(script.trades.len()).await;

    // The new buyers of the HOT mint get traced (to their funders) without any alert on them.
    let started = Instant::now();
    loop {
        let funded = system.funded_by();
        let traced: Vec<bool> = fresh
            .iter()
            .zip(&funders)
            .map(|(w, f)| funded.get(&w.to_base58()) == Some(&f.to_base58()))
            .collect();
        if traced.iter().all(|t| *t) {
            // The old wallet bought the HOT mint before them (its buy was counted first) and the
            // cold mint's buyers are as new: neither was traced.
            assert!(!funded.contains_key(&old.to_base58()), "{funded:?}");
            for e in &elsewhere {
                assert!(!funded.contains_key(&e.to_base58()), "{funded:?}");
            }
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?}: new HOT buyers traced {traced:?}: {funded:?}\n{}",
            system.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(system.alerts().len(), 1);
    system.geyser.shutdown().await;
}
