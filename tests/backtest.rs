//! The backtest agrees with the live detector. A scripted stream (several triggers, a 1-hour
//! one, a repeat inside the cooldown that a second trigger of the same mint still catches) runs
//! through the real pipeline and daemon; then `pocketwatcher backtest` on the swaps the daemon
//! stored must report exactly the alerts the daemon raised — same mints, triggers, reasons, all
//! 18 metrics and chain times — and a changed trigger file must show exactly the alerts that
//! change.
//!
//! Timing is pinned where it matters and nowhere else: the in-process engine (the same code the
//! command runs) says at which block second each alert arises; the fake Geyser holds the stream
//! just before that second until the pipeline has counted everything, then releases the second
//! and waits for the daemon's alert. Everything between gates streams freely, so an alert the
//! daemon raises that the backtest does not (or the reverse) fails the test.

mod support;

use std::time::{Duration, Instant};

use pocketwatcher::backtest::engine::{Engine, EngineConfig, MarketCaps, SetAlert};
use pocketwatcher::domain::alert_policy::AlertPolicy;
use pocketwatcher::domain::triggers::{parse_triggers_toml, TriggerSet};
use pocketwatcher::domain::{infer_swaps, InferenceConfig, QuoteAssets, Verdict};
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig, Fixtures};
use pocketwatcher::store::redis::stream::ensure_group;
use support::daemon::{Daemon, DaemonConfig};
use support::scenarios::{concentrated, mixed, slow, stealth, whale, Script, T0};
use support::workload::stored_minutes;
use support::{unique_name, TestPostgres, TestRedis};

const DEADLINE: Duration = Duration::from_secs(60);

/// The six defaults plus a 1-hour trigger that only a mint bought twice by the same few wallets
/// within the hour can match.
fn running() -> String {
    let mut text = String::new();
    for spec in TriggerSet::default_specs() {
        let conditions: Vec<String> = spec.conditions.iter().map(|c| format!("{c:?}")).collect();
        text.push_str(&format!(
            "[[triggers]]\nname = {:?}\nconditions = [{}]\n",
            spec.name,
            conditions.join(", ")
        ));
    }
    text.push_str(
        "[[triggers]]\nname = \"accumulation_again\"\n\
         conditions = [\"buy_count_1h >= 45\", \"unique_buyers_1h <= 4\"]\n",
    );
    text
}

/// The candidate: the concentration bar raised from 5 to 7 SOL.
fn candidate() -> String {
    let running = running();
    let changed = running.replace("\"buy_volume_sol_5m >= 5\"", "\"buy_volume_sol_5m >= 7\"");
    assert_ne!(changed, running);
    changed
}

fn script() -> Script {
    let first = concentrated(0, T0 + 600);
    let repeat = first.shifted(900);
    Script::new(
        vec![
            slow(0, T0 + 60),
            first,
            stealth(0, T0 + 900),
            whale(0, T0 + 1260),
            repeat,
            concentrated(99, T0 + 2700),
        ],
        mixed(1, T0, 2500, 30, 200, 800),
    )
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        policy: AlertPolicy {
            cooldown_secs: 1800,
            hot_ttl_secs: 3600,
        },
        sweep_lookback_secs: 600,
        quotes: QuoteAssets::default(),
        market: MarketCaps {
            min_mcap_sol: 500.0,
            ..MarketCaps::default()
        },
    }
}

/// An alert the engine raised, with the script positions of its block second `[first, last]`.
struct Gate {
    first: usize,
    last: usize,
    alert: SetAlert,
}

/// Replays the script in process: each alert with the block second that raised it.
fn gates(script: &Script, sets: Vec<TriggerSet>) -> Vec<Gate> {
    let config = InferenceConfig::default();
    let mut engine = Engine::new(sets, engine_config(), i64::MIN);
    let mut out = Vec::new();
    for (i, trade) in script.trades.iter().enumerate() {
        let Verdict::Swaps(swaps) = infer_swaps(&trade.transaction(i as u64), &config).unwrap()
        else {
            panic!("trade {i} is not a swap");
        };
        for swap in swaps {
            for alert in engine.push(swap, trade.at) {
                // Raised by the block second that ended just before trade i.
                let last = i - 1;
                let first = (0..=last)
                    .rev()
                    .take_while(|&j| script.trades[j].at == script.trades[last].at)
                    .last()
                    .unwrap();
                out.push(Gate { first, last, alert });
            }
        }
    }
    let n = script.trades.len();
    let first = (0..n)
        .rev()
        .take_while(|&j| script.trades[j].at == script.trades[n - 1].at)
        .last()
        .unwrap();
    for alert in engine.flush() {
        out.push(Gate {
            first,
            last: n - 1,
            alert,
        });
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    mint: String,
    trigger: String,
    reason: String,
    metrics: serde_json::Map<String, serde_json::Value>,
    chain_time: i64,
}

fn live_alerts(pg: &TestPostgres, db: &str) -> Vec<Row> {
    pg.psql(
        db,
        "SELECT json_build_array(mint, trigger_name, trigger_reason, metrics, chain_time)::text \
         FROM alerts ORDER BY id",
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        Row {
            mint: v[0].as_str().unwrap().into(),
            trigger: v[1].as_str().unwrap().into(),
            reason: v[2].as_str().unwrap().into(),
            metrics: v[3].as_object().unwrap().clone(),
            chain_time: v[4].as_i64().unwrap(),
        }
    })
    .collect()
}

fn json_rows(alerts: &serde_json::Value) -> Vec<Row> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Row {
            mint: a["mint"].as_str().unwrap().into(),
            trigger: a["trigger"].as_str().unwrap().into(),
            reason: a["reason"].as_str().unwrap().into(),
            metrics: a["metrics"].as_object().unwrap().clone(),
            chain_time: a["chain_time"].as_i64().unwrap(),
        })
        .collect()
}

async fn counted(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    stored_minutes(conn)
        .await
        .values()
        .map(|c| c.buys + c.sells)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backtest_reproduces_the_live_alerts_and_shows_what_a_changed_file_changes() {
    let script = script();
    let running_set = parse_triggers_toml(&running()).unwrap();
    let gates = gates(&script, vec![running_set]);
    let fired: Vec<(String, String)> = gates
        .iter()
        .map(|g| (g.alert.alert.mint.clone(), g.alert.alert.trigger.clone()))
        .collect();
    let s = |i: usize| script.scenarios[i].mint.to_string();
    assert_eq!(
        fired,
        [
            (s(1), "concentrated_accumulation".to_string()),
            (s(2), "stealth_accumulation".into()),
            (s(3), "whale_concentration".into()),
            (s(4), "accumulation_again".into()),
            (s(0), "slow_stealth_accumulation".into()),
            (s(5), "concentrated_accumulation".into()),
        ],
        "the scenario: the repeat on mint 1 is inside concentrated_accumulation's cooldown, \
         so only the 1-hour trigger catches it"
    );

    // The live system.
    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    let db = unique_name("pw");
    pg.create_database(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();
    let mut config = FakeGeyserConfig::with_fixtures(Fixtures::Scripted(script.scripted()));
    config.count = gates[0].first as u64;
    config.ping_interval = Duration::from_secs(1);
    let geyser = FakeGeyser::start(config).await.unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    ensure_group(&mut conn).await.unwrap();
    let dir = std::env::temp_dir().join(unique_name("pw-backtest"));
    std::fs::create_dir_all(&dir).unwrap();
    let running_file = dir.join("running.toml");
    std::fs::write(&running_file, running()).unwrap();
    let candidate_file = dir.join("candidate.toml");
    std::fs::write(&candidate_file, candidate()).unwrap();
    let mut dc = DaemonConfig::new(redis.url(), pg.url(&db));
    dc.yellowstone_endpoint = geyser.endpoint();
    dc.extra = format!(
        "[ingest]\nblock_time_hold_ms = 5000\nlinger_ms = 2\n\
         [detect]\neval_interval_ms = 100\nsweep_interval_secs = 1\ntriggers_file = \"{}\"\n",
        running_file.display()
    );
    let mut daemon = Daemon::start(&dc, "all");

    let settle = |n: usize, conn: redis::aio::MultiplexedConnection| async move {
        let mut conn = conn;
        let started = Instant::now();
        loop {
            let c = counted(&mut conn).await;
            if c == n as u64 {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "{c} of {n} trades counted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let wait_alerts = |n: usize| {
        let started = Instant::now();
        loop {
            let got = live_alerts(&pg, &db);
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{} of {n} alerts: {got:#?}\n{}",
                got.len(),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut k = 0;
    while k < gates.len() {
        let gate = &gates[k];
        let together = gates[k..]
            .iter()
            .take_while(|g| g.first == gate.first)
            .count();
        geyser.release(gate.first as u64);
        settle(gate.first, conn.clone()).await;
        assert_eq!(live_alerts(&pg, &db).len(), k, "an alert before gate {k}");
        geyser.release(gate.last as u64 + 1);
        wait_alerts(k + together);
        k += together;
    }
    geyser.release(script.trades.len() as u64);
    settle(script.trades.len(), conn.clone()).await;
    // Sweeps keep looking at the recent mints after the end: give them a few rounds.
    let sweeps = |d: &Daemon| {
        d.metrics()
            .lines()
            .filter(|l| l.starts_with("pocketwatcher_detector_cycle_seconds_count"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let before = sweeps(&daemon);
    support::wait_until("three more detector cycles", DEADLINE, || {
        sweeps(&daemon) >= before + 30.0
    });
    let live = live_alerts(&pg, &db);
    daemon.terminate(Duration::from_secs(20));
    geyser.shutdown().await;

    // The command on what the daemon stored.
    let from = T0 - 60;
    let to = script.trades.last().unwrap().at + 1;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .args(["backtest", "--config"])
        .arg(&daemon.config_path)
        .arg("--triggers")
        .arg(&candidate_file)
        .args([
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let replayed = json_rows(&report["sets"][0]["alerts"]);
    assert_eq!(replayed, live, "the running set replayed = the live alerts");
    assert_eq!(report["swaps"].as_u64(), Some(script.trades.len() as u64));

    // Concentration now needs 7 SOL: both 6.2-SOL concentrated alerts go, nothing else changes.
    let changes: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().into(),
                c["mint"].as_str().unwrap().into(),
                c["trigger"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("removed".into(), s(1), "concentrated_accumulation".into()),
            ("removed".into(), s(5), "concentrated_accumulation".into()),
        ]
    );
    let by_trigger = report["by_trigger"].as_array().unwrap();
    let conc = by_trigger
        .iter()
        .find(|t| t["trigger"] == "concentrated_accumulation")
        .unwrap();
    assert_eq!(
        (
            conc["running"].as_u64(),
            conc["candidate"].as_u64(),
            conc["live"].as_u64()
        ),
        (Some(2), Some(0), Some(2))
    );
}
