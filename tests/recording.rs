//! Record and replay of the live feed, end to end with the real binary.
//!
//! A scripted fake Geyser (a real tonic server) feeds a daemon and `pocketwatcher record` at the
//! same time. The recording then goes through the daemon twice more, each time into a fresh
//! Redis and database: served by `fake-geyser --recording DIR --as-fast-as-possible` over gRPC,
//! and written straight to the stream by `pocketwatcher replay DIR`. Each must leave exactly the
//! Redis counters and `swap_events` rows of the direct run. `backtest --source DIR` must report
//! what `backtest --source postgres` reports on the direct run's stored swaps. A recording with
//! a torn tail (a killed recorder) gives a clear message and a clean exit from `replay`,
//! `backtest` and a restarted `record`, never a panic. A paced `fake-geyser --recording` keeps
//! the recorded gaps (scaled by `--speed`) between transactions.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pocketwatcher::domain::counters::MinuteCounts;
use pocketwatcher::domain::proto::to_update;
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig, Fixtures};
use pocketwatcher::geyser_source::{spawn_source, GeyserSourceConfig, SourceEvent};
use pocketwatcher::recording::RecordingWriter;
use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::stream::ensure_group;
use support::daemon::{Daemon, DaemonConfig};
use support::scenarios::{concentrated, mixed, stealth, whale, Script, FIRST_SLOT, T0};
use support::workload::stored_minutes;
use support::{free_port, unique_name, TestPostgres, TestRedis};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::prelude::{SubscribeUpdate, SubscribeUpdateBlockMeta, UnixTimestamp};

const DEADLINE: Duration = Duration::from_secs(90);
const BIN: &str = env!("CARGO_BIN_EXE_pocketwatcher");

fn script() -> Script {
    Script::new(
        vec![
            concentrated(0, T0 + 300),
            stealth(0, T0 + 700),
            whale(0, T0 + 1100),
        ],
        mixed(3, T0, 1500, 20, 150, 600),
    )
}

const EXTRA: &str = "[ingest]\nblock_time_hold_ms = 5000\nlinger_ms = 2\n\
                     [detect]\neval_interval_ms = 100\nsweep_interval_secs = 1\n";

/// One run's results: the Redis counters and the swap rows.
#[derive(Debug, PartialEq)]
struct Results {
    minutes: BTreeMap<String, MinuteCounts>,
    rows: Vec<String>,
}

fn swap_rows(pg: &TestPostgres, db: &str) -> Vec<String> {
    pg.psql(
        db,
        "SELECT concat_ws('|', signature, leg, slot, block_time, venue, user_wallet, side, \
         base_mint, base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, \
         coalesce(sol_value_lamports::text, 'null'), coalesce(fee_payer, 'null')) \
         FROM swap_events ORDER BY signature, leg",
    )
    .lines()
    .map(|l| l.trim().to_string())
    .filter(|l| !l.is_empty())
    .collect()
}

async fn redis_conn(redis: &TestRedis) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Waits until the daemon has counted `trades` trades and stored as many swap rows.
async fn settled(
    conn: &mut redis::aio::MultiplexedConnection,
    pg: &TestPostgres,
    db: &str,
    trades: usize,
    daemon: &Daemon,
) -> Results {
    let started = Instant::now();
    loop {
        let minutes = stored_minutes(conn).await;
        let counted: u64 = minutes.values().map(|c| c.buys + c.sells).sum();
        let rows = swap_rows(pg, db);
        if counted == trades as u64 && rows.len() == trades {
            return Results { minutes, rows };
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{counted} of {trades} trades counted, {} rows\n{}",
            rows.len(),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fresh_database(pg: &TestPostgres) -> String {
    let db = unique_name("pw");
    pg.create_database(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();
    db
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for p in paths {
        command.arg(p);
    }
    command.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Not killed by a panic (exit 101) or a signal.
fn no_panic(o: &Output, what: &str) {
    assert!(
        o.status.code().is_some_and(|c| c != 101) && !stderr(o).contains("panicked"),
        "{what}: {:?}\n{}",
        o.status,
        stderr(o)
    );
}

fn backtest_alerts(config: &Path, triggers: &Path, source: &str) -> serde_json::Value {
    let from = (T0 - 60).to_string();
    let to = (T0 + 3 * 3600).to_string();
    let out = Command::new(BIN)
        .args(["backtest", "--config"])
        .arg(config)
        .arg("--triggers")
        .arg(triggers)
        .args(["--from", &from, "--to", &to, "--source", source, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "backtest --source {source}: {}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::json!({
        "swaps": report["swaps"],
        "running": report["sets"][0]["alerts"].as_array().unwrap().iter().map(|a| {
            serde_json::json!([a["mint"], a["trigger"], a["chain_time"], a["metrics"]])
        }).collect::<Vec<_>>(),
    })
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replayed_gives_the_counters_and_rows_of_the_live_run() {
    let script = script();
    let trades = script.trades.len();
    let pg = TestPostgres::new();
    let dir = std::env::temp_dir().join(unique_name("pw-recording"));
    let recording = dir.join("rec");

    // Direct run; the recorder subscribes first, from the live head (sequence 0), the daemon from
    // a checkpoint at the first slot, then the whole script is released.
    let redis_a = TestRedis::start();
    let db_a = fresh_database(&pg);
    let mut config = FakeGeyserConfig::with_fixtures(Fixtures::Scripted(script.scripted()));
    config.count = 1;
    config.ping_interval = Duration::from_secs(1);
    let geyser = FakeGeyser::start(config).await.unwrap();
    let mut conn_a = redis_conn(&redis_a).await;
    ensure_group(&mut conn_a).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(keys::INGEST_CHECKPOINT)
        .arg(FIRST_SLOT)
        .query_async(&mut conn_a)
        .await
        .unwrap();
    let mut dc = DaemonConfig::new(redis_a.url(), pg.url(&db_a));
    dc.yellowstone_endpoint = geyser.endpoint();
    dc.extra = EXTRA.into();
    let config_a = dir.join("direct.toml");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        &config_a,
        format!(
            "[redis]\nurl = \"{}\"\n[postgres]\nurl = \"{}\"\n[yellowstone]\nendpoint = \"{}\"\n{EXTRA}",
            redis_a.url(),
            pg.url(&db_a),
            geyser.endpoint()
        ),
    )
    .unwrap();
    // One transaction and one block meta per slot. The recorder subscribes first (the live head
    // is sequence 0 until the first subscriber reads it).
    let updates = (2 * trades).to_string();
    let mut recorder = Command::new(BIN)
        .args(["record", "--config"])
        .arg(&config_a)
        .arg("--out")
        .arg(&recording)
        .args(["--count", &updates, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    support::wait_until("the recorder subscribed", DEADLINE, || {
        geyser.subscribers() == 1
    });
    let mut daemon = Daemon::start(&dc, "all");
    support::wait_until("the daemon subscribed", DEADLINE, || {
        geyser.subscribers() == 2
    });
    geyser.release(trades as u64);
    let direct = settled(&mut conn_a, &pg, &db_a, trades, &daemon).await;
    let started = Instant::now();
    while recorder.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = recorder.kill();
            let out = recorder.wait_with_output().unwrap();
            panic!("the recorder did not reach --count: {}", stderr(&out));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recorded = recorder.wait_with_output().unwrap();
    assert!(recorded.status.success(), "record: {}", stderr(&recorded));
    let summary: serde_json::Value = serde_json::from_slice(&recorded.stdout).unwrap();
    assert_eq!(
        summary["updates"].as_u64(),
        Some(2 * trades as u64),
        "{summary}"
    );
    assert_eq!(summary["transactions"].as_u64(), Some(trades as u64));
    assert_eq!(summary["block_metas"].as_u64(), Some(trades as u64));
    assert_eq!(summary["first_slot"].as_u64(), Some(FIRST_SLOT));
    assert_eq!(summary["stopped_by"], "--count reached");
    let files = summary["files"].as_array().unwrap();
    assert!(
        !files.is_empty() && files.len() <= 2,
        "one file per UTC hour: {files:?}"
    );
    assert!(summary["compressed_bytes"].as_u64().unwrap() < summary["bytes"].as_u64().unwrap());
    daemon.terminate(Duration::from_secs(20));
    geyser.shutdown().await;

    // The recording served over gRPC.
    let redis_b = TestRedis::start();
    let db_b = fresh_database(&pg);
    let port = free_port();
    let served = KillOnDrop(
        Command::new(BIN)
            .args(["fake-geyser", "--recording"])
            .arg(&recording)
            .args([
                "--as-fast-as-possible",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut dc = DaemonConfig::new(redis_b.url(), pg.url(&db_b));
    dc.yellowstone_endpoint = format!("http://127.0.0.1:{port}");
    dc.extra = EXTRA.into();
    let mut daemon_b = Daemon::start(&dc, "all");
    let mut conn_b = redis_conn(&redis_b).await;
    let via_grpc = settled(&mut conn_b, &pg, &db_b, trades, &daemon_b).await;
    daemon_b.terminate(Duration::from_secs(20));
    drop(served);
    assert_eq!(
        via_grpc.rows, direct.rows,
        "swap_events via fake-geyser --recording"
    );
    assert_eq!(
        via_grpc.minutes, direct.minutes,
        "counters via fake-geyser --recording"
    );

    // The recording written straight to the stream (no feed: ingest has nothing to reach).
    let redis_c = TestRedis::start();
    let db_c = fresh_database(&pg);
    let dc = {
        let mut dc = DaemonConfig::new(redis_c.url(), pg.url(&db_c));
        dc.extra = EXTRA.into();
        dc
    };
    let mut daemon_c = Daemon::start(&dc, "all");
    let replayed = run(
        &["replay", "--config", daemon_c.config_path.to_str().unwrap()],
        &[&recording],
    );
    assert!(replayed.status.success(), "replay: {}", stderr(&replayed));
    assert!(
        stderr(&replayed).contains(&format!("{trades} transactions written to stream:tx")),
        "{}",
        stderr(&replayed)
    );
    let mut conn_c = redis_conn(&redis_c).await;
    let via_replay = settled(&mut conn_c, &pg, &db_c, trades, &daemon_c).await;
    daemon_c.terminate(Duration::from_secs(20));
    assert_eq!(via_replay.rows, direct.rows, "swap_events via replay DIR");
    assert_eq!(
        via_replay.minutes, direct.minutes,
        "counters via replay DIR"
    );

    // Backtest: the recording as the source = the direct run's stored swaps.
    let triggers = dir.join("triggers.toml");
    std::fs::write(&triggers, "").unwrap();
    std::fs::write(
        &triggers,
        pocketwatcher::domain::triggers::TriggerSet::default_specs()
            .iter()
            .map(|spec| {
                let c: Vec<String> = spec.conditions.iter().map(|c| format!("{c:?}")).collect();
                format!(
                    "[[triggers]]\nname = {:?}\nconditions = [{}]\n",
                    spec.name,
                    c.join(", ")
                )
            })
            .collect::<String>(),
    )
    .unwrap();
    let from_pg = backtest_alerts(&daemon.config_path, &triggers, "postgres");
    let from_rec = backtest_alerts(&daemon.config_path, &triggers, recording.to_str().unwrap());
    assert_eq!(from_pg["swaps"].as_u64(), Some(trades as u64));
    assert!(
        !from_pg["running"].as_array().unwrap().is_empty(),
        "the scenarios fire: {from_pg}"
    );
    assert_eq!(
        from_rec, from_pg,
        "backtest --source DIR = --source postgres"
    );

    // A torn tail: the recorder killed in the middle of a write.
    let torn = dir.join("torn");
    std::fs::create_dir_all(&torn).unwrap();
    let mut last = PathBuf::new();
    for f in files {
        let src = PathBuf::from(f.as_str().unwrap());
        last = torn.join(src.file_name().unwrap());
        std::fs::copy(&src, &last).unwrap();
    }
    let len = std::fs::metadata(&last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len * 2 / 3)
        .unwrap();
    let name = last.file_name().unwrap().to_string_lossy().into_owned();

    let redis_d = TestRedis::start();
    let replayed = Command::new(BIN)
        .arg("replay")
        .arg(&torn)
        .env("POCKETWATCHER_REDIS_URL", redis_d.url())
        .output()
        .unwrap();
    no_panic(&replayed, "replay of a torn recording");
    let text = stderr(&replayed);
    assert!(
        text.contains(&name) && text.contains("truncated after") && text.contains("damaged"),
        "replay names the torn file: {text}"
    );

    let out = Command::new(BIN)
        .args(["backtest", "--config"])
        .arg(&daemon.config_path)
        .arg("--triggers")
        .arg(&triggers)
        .args(["--from", &(T0 - 60).to_string(), "--source"])
        .arg(&torn)
        .arg("--json")
        .output()
        .unwrap();
    no_panic(&out, "backtest of a torn recording");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("truncated after"), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let swaps = report["swaps"].as_u64().unwrap();
    assert!(
        swaps > 0 && swaps < trades as u64,
        "the intact part: {swaps}"
    );

    // A recorder restarted on it says so, and never appends to the torn file.
    // (The direct run's config: its feed is gone, so nothing new is recorded.)
    let restarted = Command::new(BIN)
        .args(["record", "--config"])
        .arg(&daemon.config_path)
        .arg("--out")
        .arg(&torn)
        .args(["--duration", "1s"])
        .output()
        .unwrap();
    no_panic(&restarted, "record on a torn recording");
    assert!(restarted.status.success(), "{}", stderr(&restarted));
    let text = stderr(&restarted);
    assert!(
        text.contains("previous recording")
            && text.contains(&name)
            && text.contains("truncated after"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&last).unwrap().len(),
        len * 2 / 3,
        "the torn file is left as it is"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recording with known arrival gaps: a paced fake keeps them (scaled by the speed), which is
/// only checked from below (the machine may be slow, never early).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_recording_keeps_the_recorded_gaps() {
    let dir = std::env::temp_dir().join(unique_name("pw-paced"));
    let base = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (mut writer, _) = RecordingWriter::open(&dir).unwrap();
    let fixture = support::workload::fixtures()
        .into_iter()
        .find(|t| !t.failed && !t.is_vote)
        .unwrap();
    // Three slots: at 0 s, 0 s and 1.5 s.
    for (i, at_ms) in [0u64, 10, 1_500].into_iter().enumerate() {
        let mut tx = fixture.clone();
        tx.slot = 1_000 + i as u64;
        tx.signature.0[0] = i as u8;
        tx.signature.0[1] = 0xAB;
        tx.index = Some(0);
        tx.block_time = None;
        let at = base + Duration::from_millis(at_ms);
        let stamp = |t: SystemTime| Some(yellowstone_grpc_proto::prost_types::Timestamp::from(t));
        writer
            .write(
                SubscribeUpdate {
                    filters: vec!["pocketwatcher".into()],
                    update_oneof: Some(UpdateOneof::Transaction(to_update(&tx))),
                    created_at: stamp(at),
                },
                at,
            )
            .unwrap();
        writer
            .write(
                SubscribeUpdate {
                    filters: vec!["pocketwatcher".into()],
                    update_oneof: Some(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
                        slot: tx.slot,
                        block_time: Some(UnixTimestamp {
                            timestamp: 1_700_000_000 + i as i64,
                        }),
                        ..Default::default()
                    })),
                    created_at: stamp(at),
                },
                at,
            )
            .unwrap();
    }
    writer.finish().unwrap();
    drop(writer);

    for (speed, gap) in [(Some(1.0), 1.49), (Some(3.0), 0.49), (None, 0.0)] {
        let mut config = FakeGeyserConfig::with_fixtures(Fixtures::Recording(dir.clone()));
        config.pace = speed;
        let geyser = FakeGeyser::start(config).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let source = spawn_source(GeyserSourceConfig::new(geyser.endpoint()), || None, tx);
        let mut arrivals = Vec::new();
        let mut metas = Vec::new();
        while arrivals.len() < 3 || metas.len() < 3 {
            let event = tokio::time::timeout(DEADLINE, rx.recv())
                .await
                .expect("the recording arrives")
                .expect("the source runs");
            match event {
                SourceEvent::Transaction(t) => {
                    arrivals.push((t.slot, t.signature.0[0], Instant::now()))
                }
                SourceEvent::BlockMeta { slot, block_time } => metas.push((slot, block_time)),
                _ => {}
            }
        }
        source.abort();
        geyser.shutdown().await;
        let order: Vec<(u64, u8)> = arrivals.iter().map(|a| (a.0, a.1)).collect();
        assert_eq!(order, [(1_000, 0), (1_001, 1), (1_002, 2)], "as recorded");
        assert_eq!(
            metas,
            [
                (1_000, Some(1_700_000_000)),
                (1_001, Some(1_700_000_001)),
                (1_002, Some(1_700_000_002))
            ]
        );
        let waited = arrivals[2].2.duration_since(arrivals[0].2).as_secs_f64();
        assert!(
            waited >= gap,
            "speed {speed:?}: the last transaction came {waited:.3} s after the first, recorded 1.5 s apart"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
