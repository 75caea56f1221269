//! Operating the daemon, against the real binary, a real Redis and PostgreSQL: `/healthz`,
//! `/readyz` following a Redis outage, `/metrics` with process and build metrics, `status --json`
//! agreeing with `XINFO`/`XPENDING`, and `pocketwatcher:live_stats` kept by two roles at once.

mod support;

use std::process::Command;
use std::time::Duration;

use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig};
use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::stream::{append, ensure_group, group_info, pending_summary};
use redis::aio::MultiplexedConnection;
use support::daemon::{Daemon, DaemonConfig};
use support::workload::build;
use support::{unique_name, wait_until, wait_until_async, TestPostgres, TestRedis};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mainnet");

struct Env {
    redis: TestRedis,
    pg: TestPostgres,
    db: String,
}

impl Env {
    fn new() -> Env {
        let redis = TestRedis::start();
        let pg = TestPostgres::new();
        let db = unique_name("pw");
        pg.create_database(&db);
        pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).expect("migrations");
        Env { redis, pg, db }
    }

    fn daemon_config(&self) -> DaemonConfig {
        DaemonConfig::new(self.redis.url(), self.pg.url(&self.db))
    }

    async fn conn(&self) -> MultiplexedConnection {
        let client = redis::Client::open(self.redis.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        ensure_group(&mut c).await.unwrap();
        c
    }
}

/// `GET path` over HTTP/1.0: (status code, body); `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let code = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

fn status_code(port: u16, path: &str) -> u16 {
    get(port, path).map_or(0, |(code, _)| code)
}

#[test]
fn readyz_fails_within_seconds_of_a_redis_outage_and_recovers_and_metrics_show_the_process() {
    let mut env = Env::new();
    let daemon = Daemon::start(&env.daemon_config(), "consume");
    let port = daemon.metrics_port;
    let log = || daemon.log();

    wait_until("/healthz answers 200", Duration::from_secs(60), || {
        status_code(port, "/healthz") == 200
    });
    wait_until("/readyz answers 200", Duration::from_secs(60), || {
        status_code(port, "/readyz") == 200
    });
    let (_, body) = get(port, "/readyz").unwrap();
    for check in ["redis: ok", "postgres: ok", "pipeline: ok"] {
        assert!(body.contains(check), "{body}");
    }

    // Process, build and readiness metrics, and counters that exist before anything happened.
    let text = daemon.metrics();
    for needle in [
        "pocketwatcher_process_resident_memory_bytes ",
        "# TYPE pocketwatcher_process_cpu_seconds_total counter",
        "pocketwatcher_process_cpu_seconds_total ",
        "pocketwatcher_build_info{version=\"",
        "role=\"consume\"} 1",
        "pocketwatcher_ready 1",
        "pocketwatcher_actor_restarts_total{actor=\"reader\"} 0",
        "pocketwatcher_entries_dead_lettered_total{reason=\"panic\"} 0",
        "pocketwatcher_entries_filtered_total{reason=\"vote\"} 0",
    ] {
        assert!(text.contains(needle), "/metrics lacks `{needle}`:\n{text}");
    }
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("pocketwatcher_process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("rss value");
    assert!(rss > 1e6, "RSS {rss}");

    env.redis.kill();
    let killed = std::time::Instant::now();
    wait_until(
        "/readyz answers 503 naming redis",
        Duration::from_secs(15),
        || {
            get(port, "/readyz").is_some_and(|(code, body)| {
                code == 503 && body.contains("redis: failing") && !body.contains("redis: ok")
            })
        },
    );
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "took {:?}",
        killed.elapsed()
    );
    assert_eq!(
        status_code(port, "/healthz"),
        200,
        "alive during the outage"
    );
    let (_, body) = get(port, "/readyz").unwrap();
    assert!(
        !body.contains("redis://") && !body.contains("postgres://"),
        "{body}"
    );

    env.redis.restart();
    wait_until("/readyz answers 200 again", Duration::from_secs(60), || {
        status_code(port, "/readyz") == 200
    });
    assert!(
        daemon.metrics().contains("pocketwatcher_ready 1"),
        "{}",
        log()
    );
    assert!(status_code(port, "/nothing-here") == 404);
}

/// `status --json` as a script would run it, against the daemon's config.
fn status_json(config: &std::path::Path, envs: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .args(["status", "--json", "--config"])
        .arg(config)
        .envs(envs.iter().copied())
        .output()
        .expect("run status");
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_what_xinfo_and_xpending_show_for_a_stalled_consumer() {
    let env = Env::new();
    let mut conn = env.conn().await;
    let w = build(150);
    for chunk in w.payloads.chunks(500) {
        append(&mut conn, chunk).await.unwrap();
    }
    // An alert with its deliveries, and a HOT token, as the detector would leave them.
    env.pg.psql(
        &env.db,
        "INSERT INTO alerts (mint, token_symbol, trigger_name, trigger_reason, dedup_key) \
         VALUES ('MintOfTheAlert', 'CAB', 'cabal_buy', 'buy_count_5m >= 10', 'k1'); \
         INSERT INTO alert_deliveries (alert_id, channel, status, attempts) \
         SELECT id, 'discord', 'sent', 1 FROM alerts; \
         INSERT INTO alert_deliveries (alert_id, channel, status, attempts) \
         SELECT id, 'telegram', 'failed', 3 FROM alerts;",
    );
    // Two older alerts of a storm: one Discord digest covered both, Telegram still has them
    // waiting (the oldest for ten minutes).
    env.pg.psql(
        &env.db,
        "INSERT INTO alerts (mint, trigger_name, trigger_reason, dedup_key, created_at) VALUES \
         ('StormMint1', 'cabal_buy', 'r', 'k2', now() - interval '10 minutes'), \
         ('StormMint2', 'cabal_buy', 'r', 'k3', now() - interval '5 minutes'); \
         INSERT INTO alert_digests (channel, alert_count) VALUES ('discord', 2); \
         INSERT INTO alert_deliveries (alert_id, channel, status, attempts, digest_id) \
         SELECT a.id, 'discord', 'coalesced', 1, g.id FROM alerts a, alert_digests g \
         WHERE a.mint LIKE 'StormMint%'; \
         INSERT INTO alert_deliveries (alert_id, channel, status, attempts) \
         SELECT id, 'telegram', 'pending', 0 FROM alerts WHERE mint LIKE 'StormMint%';",
    );
    let hot_until = pocketwatcher::actors::context::now_ms() + 600_000;
    let _: () = redis::cmd("ZADD")
        .arg("pw:hot")
        .arg(hot_until)
        .arg("HotMint111")
        .arg(pocketwatcher::actors::context::now_ms() - 1)
        .arg("ExpiredMint")
        .query_async(&mut conn)
        .await
        .unwrap();

    let mut config = env.daemon_config();
    config.reclaim_idle_secs = 3600;
    let daemon = Daemon::start(&config, "consume");
    let c = conn.clone();
    wait_until_async(
        "the consumer holds entries mid-run",
        Duration::from_secs(60),
        || {
            let mut c = c.clone();
            async move {
                let info = group_info(&mut c).await.unwrap();
                info.pending > 0 && info.lag > 0
            }
        },
    )
    .await;
    daemon.stop_signal();
    // Whatever it had already sent lands; then the group stays still.
    let mut last = group_info(&mut conn).await.unwrap();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = group_info(&mut conn).await.unwrap();
        if now == last {
            break;
        }
        last = now;
    }
    let info = last;
    let pending = pending_summary(&mut conn).await.unwrap();
    let xlen: u64 = redis::cmd("XLEN")
        .arg(keys::STREAM)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(info.pending > 0 && info.lag > 0, "{info:?}");

    let pg_with_password = env
        .pg
        .url(&env.db)
        .replace("postgres@", "postgres:hunter2@");
    let s = status_json(
        &daemon.config_path,
        &[("POCKETWATCHER_POSTGRES_URL", &pg_with_password)],
    );
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(u64::MAX);
    assert_eq!(n(&s["group"]["pending"]), info.pending, "{s:#}");
    assert_eq!(n(&s["group"]["lag"]), info.lag, "{s:#}");
    assert_eq!(n(&s["group"]["entries_read"]), info.entries_read, "{s:#}");
    assert_eq!(n(&s["group"]["consumers"]), info.consumers, "{s:#}");
    assert_eq!(n(&s["stream"]["length"]), xlen, "{s:#}");
    assert_eq!(n(&s["stream"]["dead_letters"]), 0);
    assert_eq!(n(&s["pending"]["total"]), pending.total, "{s:#}");
    assert_eq!(
        s["pending"]["oldest_id"].as_str(),
        pending.oldest.map(|id| id.to_string()).as_deref()
    );
    let consumers = s["consumers"].as_array().expect("consumers");
    for (name, count) in &pending.by_consumer {
        let shown = consumers
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap_or_else(|| panic!("consumer {name} missing: {s:#}"));
        assert_eq!(n(&shown["pending"]), *count, "{s:#}");
        assert!(shown["idle_seconds"].as_f64().unwrap() >= 0.0);
    }
    assert!(
        s["processing"]["lag_seconds"].as_f64().unwrap() > 0.0,
        "{s:#}"
    );
    let hot = s["hot_tokens"].as_array().unwrap();
    assert_eq!(hot.len(), 1, "expired HOT entries are not shown: {s:#}");
    assert_eq!(hot[0]["mint"], "HotMint111");
    assert_eq!(n(&hot[0]["hot_until_ms"]), hot_until);
    let alert = &s["alerts"][0];
    assert_eq!(alert["mint"], "MintOfTheAlert", "{s:#}");
    assert_eq!(alert["trigger"], "cabal_buy");
    assert_eq!(alert["deliveries"][0]["channel"], "discord");
    assert_eq!(alert["deliveries"][0]["status"], "sent");
    assert_eq!(alert["deliveries"][1]["status"], "failed");
    assert_eq!(n(&alert["deliveries"][1]["attempts"]), 3);
    // Per channel: delivered / coalesced / waiting / failed, as the outbox holds them.
    let channels = s["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 2, "{s:#}");
    let (discord, telegram) = (&channels[0], &channels[1]);
    assert_eq!(discord["channel"], "discord");
    let counts = |c: &serde_json::Value| {
        ["delivered", "coalesced", "digests", "waiting", "failed"].map(|k| n(&c[k]))
    };
    assert_eq!(counts(discord), [1, 2, 1, 0, 0], "{s:#}");
    assert!(discord["oldest_waiting_seconds"].is_null(), "{s:#}");
    assert_eq!(telegram["channel"], "telegram");
    assert_eq!(counts(telegram), [0, 0, 0, 2, 1], "{s:#}");
    let oldest = telegram["oldest_waiting_seconds"].as_f64().unwrap();
    assert!((600.0..900.0).contains(&oldest), "{s:#}");

    let text = s.to_string();
    assert!(!text.contains("hunter2"), "a password in status: {text}");
    assert!(s["postgres"].as_str().unwrap().contains("***"), "{s:#}");

    // The screen version shows the same consumer and numbers.
    let out = Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .args(["status", "--config"])
        .arg(&daemon.config_path)
        .env("POCKETWATCHER_POSTGRES_URL", &pg_with_password)
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("test-0"), "{screen}");
    assert!(
        screen.contains(&format!("pending {}", info.pending)),
        "{screen}"
    );
    assert!(
        screen.contains("HotMint111") && screen.contains("$CAB"),
        "{screen}"
    );
    assert!(!screen.contains("hunter2"), "{screen}");
    let row = |channel: &str| {
        screen
            .lines()
            .find(|l| l.split_whitespace().next() == Some(channel))
            .map(|l| l.split_whitespace().take(6).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no {channel} row: {screen}"))
    };
    assert_eq!(
        row("discord"),
        ["discord", "1", "2", "1", "0", "0"],
        "{screen}"
    );
    assert_eq!(
        row("telegram"),
        ["telegram", "0", "0", "0", "2", "1"],
        "{screen}"
    );
    daemon.cont_signal();
}

fn live_stats(conn: &mut redis::Connection) -> Option<serde_json::Value> {
    let text: Option<String> = redis::cmd("GET").arg(keys::LIVE_STATS).query(conn).ok()?;
    serde_json::from_str(&text?).ok()
}

fn processes(v: &serde_json::Value) -> Vec<String> {
    v["processes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stats_keeps_the_fields_of_an_ingest_and_a_consume_process() {
    let env = Env::new();
    let mut geyser_config = FakeGeyserConfig::new(FIXTURES);
    geyser_config.count = 40 * 1000;
    geyser_config.rate = 300;
    let geyser = FakeGeyser::start(geyser_config).await.unwrap();
    let mut config = env.daemon_config();
    config.yellowstone_endpoint = geyser.endpoint();
    let mut ingest = Daemon::start(&config, "ingest");
    let consume = Daemon::start(&config, "consume");

    let client = redis::Client::open(env.redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let logs = || format!("{}\n----\n{}", ingest.log(), consume.log());
    let mut seen = serde_json::Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = live_stats(&mut conn) {
            let both = processes(&v) == ["consume@test-0", "ingest@test-0"];
            let flowing = v["transactions_ingested"].as_u64() > Some(0)
                && v["transactions_processed"].as_u64() > Some(0)
                && v["tx_per_second"].as_f64() > Some(0.0)
                && v["ingest_tx_per_second"].as_f64() > Some(0.0);
            seen = v;
            if both && flowing {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "live stats never held both roles' fields: {seen:#}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    for field in [
        "tx_per_second",
        "swaps_detected",
        "hot_tokens_current",
        "processing_lag_seconds",
        "stream_length",
        "uptime_seconds",
        "transactions_processed",
        "alerts_sent",
        "updated_at",
    ] {
        assert!(
            seen[field].is_number(),
            "reference field {field} missing: {seen:#}"
        );
    }
    // A 60-s rate, not a lifetime average: it stays within the feed's rate.
    let rate = seen["tx_per_second"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1_000.0, "{seen:#}");
    let parts: Vec<String> = redis::cmd("HKEYS")
        .arg(keys::LIVE_STATS_PARTS)
        .query(&mut conn)
        .unwrap();
    assert_eq!(parts.len(), 2, "{parts:?}");

    // The ingest process dies: its part leaves the merge once stale, the consumer's stays.
    ingest.kill9();
    wait_until(
        "the dead ingest's part is dropped",
        Duration::from_secs(60),
        || live_stats(&mut conn).is_some_and(|v| processes(&v) == ["consume@test-0"]),
    );
    let v = live_stats(&mut conn).unwrap();
    assert!(
        v["transactions_processed"].as_u64() > Some(0),
        "{v:#}\n{}",
        consume.log()
    );
    assert!(v.get("transactions_ingested").is_none(), "{v:#}");
    drop(consume);
    geyser.shutdown().await;
}
