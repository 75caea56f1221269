//! `pocketwatcher bench`: the whole pipeline under load, measured from the outside.
//!
//! Starts the fake Geyser in this process and the daemon (`run --role all`) as a child process, so
//! the daemon's peak RSS is its own. Pushes `count` transactions and reports sustained throughput
//! (first XADD to last XACK), end-to-end latency quantiles (the daemon's own histogram of XADD →
//! XACK per entry), peak RSS, and Redis CPU per transaction (`INFO commandstats`).
//! Point it at throwaway Redis and PostgreSQL: `scripts/bench.sh` starts them.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::bench_cost::{self, Component};
use super::progress::Progress;
use crate::config::{Config, ProcessEnv};
use crate::fake_geyser::{FakeGeyser, FakeGeyserConfig, MintSkew};
use crate::store::redis::keys;
use crate::store::redis::stream::{group_info, EntryId};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Config of the daemon under test (its Redis and PostgreSQL must be throwaway instances).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Transactions to push.
    #[arg(long, default_value_t = 500_000)]
    pub count: u64,
    /// Feed rate in tx/s (0 = as fast as the daemon reads).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    #[arg(long, default_value = "tests/fixtures/mainnet")]
    pub fixtures: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout_secs: u64,
    /// Run ingest, consume and detect as three processes (`run --role …`) instead of one `all`.
    #[arg(long)]
    pub roles: bool,
    /// `end-to-end`: feed, ingest, consume and detect together. `drain`: an ingest process first
    /// fills the stream with `count` entries and stops; then one `consume` process is started and
    /// only its drain is timed (the shape of the Python comparison).
    #[arg(long, value_enum, default_value = "end-to-end")]
    pub mode: BenchMode,
    /// Zipf-like exponent of the feed's mint draw (see `fake-geyser --mint-skew`): 0 = uniform
    /// over the 2,000 mints (worst case for aggregation), 1 = log-uniform (mainnet-like).
    #[arg(long, default_value = "1")]
    pub mint_skew: MintSkew,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BenchMode {
    EndToEnd,
    Drain,
}

/// What a bench run measured.
#[derive(Debug, Default, serde::Serialize)]
pub struct BenchReport {
    pub mode: String,
    /// The feed's mint skew exponent.
    pub mint_skew: f64,
    pub transactions: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Commit of a batch touching a mint → that mint's evaluation by the detector.
    pub detect_p50_ms: f64,
    pub detect_p99_ms: f64,
    pub mints_evaluated: f64,
    pub alerts_created: f64,
    pub peak_rss_mb: f64,
    pub redis_usec_per_tx: f64,
    /// (command, calls, usec per call, share of Redis CPU), most expensive first.
    pub redis_top: Vec<(String, u64, f64, f64)>,
    /// CPU per process of the pipeline (daemons, redis-server, PostgreSQL) over the timed part.
    pub components: Vec<Component>,
    /// The fake feed's own CPU (this process): remote in production, so reported apart.
    pub feed: Component,
    /// Drain mode: the ingest process that filled the stream before the timed part.
    pub fill: Option<Component>,
    /// Mean entries per XREADGROUP batch (the consumers' `pocketwatcher_batch_entries`).
    pub entries_per_read: Option<f64>,
    /// Mean entries per commit-script call (`pocketwatcher_commit_entries`).
    pub entries_per_commit: Option<f64>,
    /// Mean rows per swap_events insert statement (`pocketwatcher_insert_rows`).
    pub rows_per_insert: Option<f64>,
    /// Share of the timed part the reader spent waiting for a free in-flight slot (all
    /// `pipeline_depth` batches downstream): near 1, the stages after the read are the limit.
    pub reader_slot_wait_share: f64,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<BenchReport> {
    let config = Config::load(&args.config, &ProcessEnv)?;
    let client = redis::Client::open(config.redis.url.expose()).context("redis URL")?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .context("Redis")?;
    conn.set_response_timeout(crate::actors::REDIS_RESPONSE_TIMEOUT);
    let existing: u64 = redis::cmd("XLEN")
        .arg(keys::STREAM)
        .query_async(&mut conn)
        .await?;
    if existing > 0 {
        bail!("stream:tx already holds {existing} entries: bench needs an empty, throwaway Redis (scripts/bench.sh starts one)");
    }
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await?;

    let mut geyser_config = FakeGeyserConfig::new(&args.fixtures);
    geyser_config.count = args.count;
    geyser_config.rate = args.rate;
    geyser_config.traffic.mint_skew = args.mint_skew;
    geyser_config.channel_capacity = 50_000;
    geyser_config.lag_timeout = Duration::from_secs(120);
    let geyser = FakeGeyser::start(geyser_config)
        .await
        .context("fake geyser")?;

    let dir = std::env::temp_dir().join(format!("pw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let original = std::fs::read_to_string(&args.config)?;
    let endpoint = geyser.endpoint();
    let start = |role: &'static str| Daemon::start(&dir, &original, &endpoint, role);
    let postmaster = postgres_postmaster_pid(config.postgres.url.expose()).await;
    let feed_cpu_start = process_cpu_self();
    let started = Instant::now();
    let deadline = Duration::from_secs(args.timeout_secs);
    let mut progress = Progress::new("bench", "acknowledged", args.count);

    // Drain: fill the stream with an ingest process, stop it, then time one consumer alone.
    let mut fill_cpu = None;
    if args.mode == BenchMode::Drain {
        let mut ingest = start("ingest")?;
        loop {
            ingest.check_alive(started, deadline)?;
            let sent = geyser.sent();
            let ingested =
                scrape(ingest.port, "pocketwatcher_entries_ingested_total").unwrap_or(0.0) as u64;
            if geyser.head() >= args.count && ingested >= sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        fill_cpu = Some((ingest.stop(), process_cpu_self() - feed_cpu_start));
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut conn)
            .await?;
    }
    let redis_cpu_start = redis_cpu(&mut conn).await;
    let pg_cpu_start = postmaster.and_then(bench_cost::postgres_server_cpu);
    let mut daemons = match (args.mode, args.roles) {
        (BenchMode::Drain, _) => vec![start("consume")?],
        (BenchMode::EndToEnd, true) => vec![start("ingest")?, start("consume")?, start("detect")?],
        (BenchMode::EndToEnd, false) => vec![start("all")?],
    };
    let ingest_port = daemons[0].port;
    let consume_port = daemons
        .iter()
        .find(|d| d.role != "ingest")
        .map_or(ingest_port, |d| d.port);
    let detect_port = daemons
        .iter()
        .find(|d| d.role == "detect")
        .map_or(consume_port, |d| d.port);

    let mut first_xadd_ms: Option<u64> = None;
    // Drain: the first moment an entry was acknowledged, and how many were by then.
    let mut drain_start: Option<(Instant, u64)> = None;
    let mut last_report = Instant::now();
    let finished_at = loop {
        for d in &mut daemons {
            d.check_alive(started, deadline)?;
        }
        let info = group_info(&mut conn).await?;
        let sent = geyser.sent();
        if args.mode == BenchMode::Drain {
            if drain_start.is_none() && info.acknowledged() > 0 {
                drain_start = Some((Instant::now(), info.acknowledged()));
            }
            if info.entries_read >= sent && info.backlog() == 0 {
                break Instant::now();
            }
        } else {
            if first_xadd_ms.is_none() {
                let first: redis::Value = redis::cmd("XRANGE")
                    .arg(keys::STREAM)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn)
                    .await?;
                first_xadd_ms = first_entry_ms(&first);
            }
            // `head` counts sequence numbers produced; failed fixtures among them are never sent
            // (the subscription asks for failed=false), so completion compares against `sent`.
            if geyser.head() >= args.count && info.entries_read >= sent && info.backlog() == 0 {
                let ingested = scrape(ingest_port, "pocketwatcher_entries_ingested_total")
                    .unwrap_or(0.0) as u64;
                if ingested >= sent {
                    break Instant::now();
                }
            }
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress.set(info.acknowledged());
        }
        let poll = if args.mode == BenchMode::Drain {
            20
        } else {
            100
        };
        tokio::time::sleep(Duration::from_millis(poll)).await;
    };
    progress.finish(group_info(&mut conn).await?.acknowledged());
    let transactions = geyser.sent();
    let (seconds, timed) = match args.mode {
        BenchMode::Drain => {
            let (t0, acked_then) = drain_start.context("nothing was acknowledged")?;
            (
                finished_at.duration_since(t0).as_secs_f64(),
                transactions.saturating_sub(acked_then),
            )
        }
        BenchMode::EndToEnd => {
            let first_ms = first_xadd_ms.context("no entry was ever written")?;
            let now_ms = crate::actors::context::now_ms();
            let s = (now_ms - first_ms) as f64 / 1000.0 - finished_at.elapsed().as_secs_f64();
            (s, transactions)
        }
    };
    let metrics = fetch_metrics(consume_port).unwrap_or_default();
    let detect_metrics = fetch_metrics(detect_port).unwrap_or_default();
    let (p50, p99) = quantiles(&metrics, "pocketwatcher_end_to_end_seconds");
    let (detect_p50, detect_p99) =
        quantiles(&detect_metrics, "pocketwatcher_detection_delay_seconds");
    let sum_of = |text: &str, name: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
            + 0.0 // an empty sum is -0.0
    };
    let mints_evaluated = sum_of(&detect_metrics, "pocketwatcher_detector_evaluations_total");
    let alerts_created = sum_of(&detect_metrics, "pocketwatcher_alerts_created_total");
    let entries_per_read = bench_cost::histogram_mean(&metrics, crate::metrics::BATCH_SIZE);
    let entries_per_commit = bench_cost::histogram_mean(&metrics, crate::metrics::COMMIT_ENTRIES);
    let rows_per_insert = bench_cost::histogram_mean(&metrics, crate::metrics::INSERT_ROWS);
    let slot_wait = bench_cost::histogram_sum_where(
        &metrics,
        crate::metrics::DOWNSTREAM_WAIT_SECONDS,
        "stage=\"in_flight_slot\"",
    );
    let peak_rss_mb = daemons
        .iter()
        .filter_map(|d| peak_rss_kb(d.pid()))
        .max()
        .unwrap_or(0) as f64
        / 1024.0;

    // CPU over the timed part, per process.
    let mut components = Vec::new();
    // Drain: the fill is not timed; its cost is shown apart, per transaction filled.
    let fill = fill_cpu.map(|(ingest_cpu, _)| {
        Component::new("ingest (fill, not timed)", ingest_cpu, transactions, None)
    });
    for d in &daemons {
        let cpu = bench_cost::process_cpu(d.pid()).unwrap_or(0.0);
        let rss = peak_rss_kb(d.pid()).map(|kb| kb as f64 / 1024.0);
        components.push(Component::new(
            format!("pocketwatcher {}", d.role),
            cpu,
            timed,
            rss,
        ));
    }
    let (redis_own, redis_forks) = redis_cpu(&mut conn).await;
    components.push(Component::new(
        "redis-server",
        redis_own - redis_cpu_start.0,
        timed,
        None,
    ));
    components.push(Component::new(
        "redis-server forks (AOF/RDB)",
        redis_forks - redis_cpu_start.1,
        timed,
        None,
    ));
    match (
        postmaster.and_then(bench_cost::postgres_server_cpu),
        pg_cpu_start,
    ) {
        (Some(end), Some(begin)) => components.push(Component::new(
            "postgresql (server)",
            end - begin,
            timed,
            None,
        )),
        _ => tracing::warn!("PostgreSQL CPU not measured (server not on this host?)"),
    }
    let feed_cpu = match fill_cpu {
        Some((_, fill_feed)) => fill_feed,
        None => process_cpu_self() - feed_cpu_start,
    };
    let feed = Component::new(
        "feed (fake geyser, this process)",
        feed_cpu,
        transactions,
        None,
    );

    let stats = redis_commandstats(&mut conn).await.unwrap_or_default();
    let redis_usec: f64 = stats.iter().map(|(_, _, usec)| usec).sum();
    let mut redis_top: Vec<(String, u64, f64, f64)> = stats
        .iter()
        .map(|(name, calls, usec)| {
            (
                name.clone(),
                *calls,
                usec / (*calls).max(1) as f64,
                usec / redis_usec.max(1e-9),
            )
        })
        .collect();
    redis_top.sort_by(|a, b| b.3.total_cmp(&a.3));
    redis_top.truncate(16);

    for d in &mut daemons {
        d.stop();
    }
    geyser.shutdown().await;
    Ok(BenchReport {
        mode: match args.mode {
            BenchMode::Drain => "drain".into(),
            BenchMode::EndToEnd if args.roles => "end-to-end (separate roles)".into(),
            BenchMode::EndToEnd => "end-to-end (role all)".into(),
        },
        mint_skew: args.mint_skew.exponent(),
        transactions: timed,
        seconds,
        throughput: timed as f64 / seconds.max(1e-9),
        p50_ms: p50 * 1000.0,
        p99_ms: p99 * 1000.0,
        detect_p50_ms: detect_p50 * 1000.0,
        detect_p99_ms: detect_p99 * 1000.0,
        mints_evaluated,
        alerts_created,
        peak_rss_mb,
        redis_usec_per_tx: redis_usec / timed.max(1) as f64,
        redis_top,
        components,
        feed,
        fill,
        entries_per_read,
        entries_per_commit,
        rows_per_insert,
        reader_slot_wait_share: slot_wait / seconds.max(1e-9),
    })
}

/// Prints the report as aligned text.
pub fn render(r: &BenchReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("mode                {}", r.mode));
    line(format!(
        "mint skew           {} ({})",
        r.mint_skew,
        if r.mint_skew == 0.0 {
            "uniform"
        } else if r.mint_skew == 1.0 {
            "log-uniform"
        } else {
            "Zipf-like"
        }
    ));
    line(format!("transactions        {}", r.transactions));
    line(format!(
        "duration            {:.2} s ({})",
        r.seconds,
        if r.mode == "drain" {
            "first to last XACK of the consumer"
        } else {
            "first XADD to last XACK"
        }
    ));
    line(format!("throughput          {:.0} tx/s", r.throughput));
    line(format!(
        "latency p50 / p99   {:.1} ms / {:.1} ms (ingest XADD to XACK)",
        r.p50_ms, r.p99_ms
    ));
    line(format!(
        "detection p50 / p99 {:.1} ms / {:.1} ms (commit to evaluation; {:.0} mint evaluations, {:.0} alerts)",
        r.detect_p50_ms, r.detect_p99_ms, r.mints_evaluated, r.alerts_created
    ));
    line(format!("peak RSS (daemon)   {:.1} MB", r.peak_rss_mb));
    if let Some(n) = r.entries_per_read {
        line(format!(
            "entries per read    {n:.0} (mean per XREADGROUP batch)"
        ));
    }
    if let Some(n) = r.entries_per_commit {
        line(format!(
            "entries per commit  {n:.0} (mean per commit-script call)"
        ));
    }
    if let Some(n) = r.rows_per_insert {
        line(format!(
            "rows per insert     {n:.0} (mean per swap_events statement)"
        ));
    }
    line(format!(
        "reader slot wait    {:.0}% of the time (all in-flight batches downstream)",
        r.reader_slot_wait_share * 100.0
    ));
    line(String::new());
    let apart: Vec<&Component> = std::iter::once(&r.feed).chain(r.fill.as_ref()).collect();
    out.push_str(&bench_cost::render_table(&r.components, &apart));
    out.push('\n');
    out.push_str(&format!(
        "Redis commands      {:.2} us per transaction (INFO commandstats)\n",
        r.redis_usec_per_tx
    ));
    for (name, calls, per_call, share) in &r.redis_top {
        out.push_str(&format!(
            "  {name:<14} {calls:>10} calls {per_call:>9.2} us/call {:>5.1}%\n",
            share * 100.0
        ));
    }
    out
}

fn process_cpu_self() -> f64 {
    bench_cost::process_cpu(std::process::id()).unwrap_or(0.0)
}

async fn redis_cpu(conn: &mut redis::aio::MultiplexedConnection) -> (f64, f64) {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(conn)
        .await
        .unwrap_or_default();
    bench_cost::redis_cpu(&info)
}

#[derive(diesel::QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// The postmaster of the bench's PostgreSQL (the parent of one of its backends), to find the
/// server's processes in `/proc`; `None` when the server is on another host.
async fn postgres_postmaster_pid(url: &str) -> Option<u32> {
    use diesel_async::RunQueryDsl;
    let pool = crate::store::postgres::pool::connect(url, 1).await.ok()?;
    let mut conn = pool.get().await.ok()?;
    let row: BackendPid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result(&mut *conn)
        .await
        .ok()?;
    // Read while the backend is alive: it exits when the connection is dropped.
    bench_cost::parent_pid(u32::try_from(row.pid).ok()?)
}

/// One daemon process under test, with its own config (fake feed endpoint, metrics port) and log.
struct Daemon {
    role: &'static str,
    port: u16,
    log: PathBuf,
    child: ChildGuard,
}

impl Daemon {
    fn start(
        dir: &Path,
        original: &str,
        endpoint: &str,
        role: &'static str,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let config = dir.join(format!("bench-{role}.toml"));
        std::fs::write(&config, override_sections(original, endpoint, port))?;
        let log = dir.join(format!("daemon-{role}.log"));
        let child = ChildGuard(spawn_daemon(&config, &log, role)?);
        Ok(Daemon {
            role,
            port,
            log,
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    fn check_alive(&mut self, started: Instant, deadline: Duration) -> anyhow::Result<()> {
        if let Some(status) = self.child.0.try_wait()? {
            bail!(
                "{} daemon exited early ({status}); log: {}",
                self.role,
                self.log.display()
            );
        }
        if started.elapsed() > deadline {
            bail!(
                "bench did not finish within {deadline:?}; log: {}",
                self.log.display()
            );
        }
        Ok(())
    }

    /// SIGTERM, wait, and return the process's CPU seconds read just before.
    fn stop(&mut self) -> f64 {
        let cpu = bench_cost::process_cpu(self.pid()).unwrap_or(0.0);
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let _ = self.child.0.wait();
        cpu
    }
}

/// Kills the daemon if the bench stops early (error, timeout, ctrl-c unwinding).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Replaces the `[yellowstone]` endpoint and `[metrics]` listen address of the user's config.
fn override_sections(original: &str, endpoint: &str, metrics_port: u16) -> String {
    let mut value: toml::Table = original.parse().unwrap_or_default();
    let mut y = value
        .get("yellowstone")
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    y.insert("endpoint".into(), endpoint.into());
    value.insert("yellowstone".into(), y.into());
    let mut m = toml::Table::new();
    m.insert("listen".into(), format!("127.0.0.1:{metrics_port}").into());
    value.insert("metrics".into(), m.into());
    toml::to_string(&value).unwrap_or_default()
}

fn spawn_daemon(config: &Path, log: &Path, role: &str) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    Command::new(std::env::current_exe()?)
        .args(["run", "--role", role, "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the daemon")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn first_entry_ms(v: &redis::Value) -> Option<u64> {
    let redis::Value::Array(entries) = v else {
        return None;
    };
    let redis::Value::Array(entry) = entries.first()? else {
        return None;
    };
    match entry.first()? {
        redis::Value::BulkString(id) => EntryId::parse(std::str::from_utf8(id).ok()?).map(|e| e.ms),
        _ => None,
    }
}

fn fetch_metrics(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn scrape(port: u16, name: &str) -> Option<f64> {
    let text = fetch_metrics(port)?;
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(|a, b| a + b)
}

/// p50 and p99 (seconds) from a Prometheus histogram, interpolating inside buckets.
pub fn quantiles(text: &str, name: &str) -> (f64, f64) {
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket")))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count: f64 = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0.0, |b| b.1);
    let q = |p: f64| {
        let target = total * p;
        let mut previous = (0.0, 0.0);
        for &(le, count) in &buckets {
            if count >= target {
                if le.is_infinite() {
                    return previous.0;
                }
                let span = (count - previous.1).max(1e-9);
                return previous.0 + (le - previous.0) * (target - previous.1) / span;
            }
            previous = (le, count);
        }
        previous.0
    };
    (q(0.5), q(0.99))
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `(command, calls, total usec)` from `INFO commandstats`.
async fn redis_commandstats(
    conn: &mut redis::aio::MultiplexedConnection,
) -> anyhow::Result<Vec<(String, u64, f64)>> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await?;
    let mut out = Vec::new();
    for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let fields: HashMap<&str, &str> = rest
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| {
            fields
                .get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.push((
            name.trim_start_matches("cmdstat_").to_string(),
            num("calls") as u64,
            num("usec"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let text = "x_bucket{le=\"0.1\"} 50\nx_bucket{le=\"0.2\"} 100\nx_bucket{le=\"+Inf\"} 100\n";
        let (p50, p99) = quantiles(text, "x");
        assert!((p50 - 0.1).abs() < 1e-9, "{p50}");
        assert!((p99 - 0.198).abs() < 1e-9, "{p99}");
    }

    #[test]
    fn config_overrides_keep_the_rest() {
        let out = override_sections("[redis]\nurl = \"redis://x/\"\n", "http://127.0.0.1:5", 9);
        assert!(
            out.contains("redis://x/")
                && out.contains("http://127.0.0.1:5")
                && out.contains("127.0.0.1:9")
        );
    }
}
