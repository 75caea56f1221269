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

use super::progress::Progress;
use crate::config::{Config, ProcessEnv};
use crate::fake_geyser::{FakeGeyser, FakeGeyserConfig};
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
}

/// What a bench run measured.
#[derive(Debug, Default)]
pub struct BenchReport {
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
    geyser_config.channel_capacity = 50_000;
    geyser_config.lag_timeout = Duration::from_secs(120);
    let geyser = FakeGeyser::start(geyser_config)
        .await
        .context("fake geyser")?;

    let metrics_port = free_port()?;
    let dir = std::env::temp_dir().join(format!("pw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let daemon_config = dir.join("bench.toml");
    let original = std::fs::read_to_string(&args.config)?;
    std::fs::write(
        &daemon_config,
        override_sections(&original, &geyser.endpoint(), metrics_port),
    )?;
    let log_path = dir.join("daemon.log");
    let mut daemon = ChildGuard(spawn_daemon(&daemon_config, &log_path)?);

    let started = Instant::now();
    let deadline = Duration::from_secs(args.timeout_secs);
    let mut first_xadd_ms: Option<u64> = None;
    let mut last_report = Instant::now();
    let mut progress = Progress::new("bench", "acknowledged", args.count);
    let finished_at = loop {
        if let Some(status) = daemon.0.try_wait()? {
            bail!(
                "daemon exited early ({status}); log: {}",
                log_path.display()
            );
        }
        if started.elapsed() > deadline {
            bail!(
                "bench did not finish within {deadline:?}; log: {}",
                log_path.display()
            );
        }
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
        let info = group_info(&mut conn).await?;
        // `head` counts sequence numbers produced; failed fixtures among them are never sent
        // (the subscription asks for failed=false), so completion compares against `sent`.
        let sent = geyser.sent();
        if geyser.head() >= args.count && info.entries_read >= sent && info.backlog() == 0 {
            let ingested =
                scrape(metrics_port, "pocketwatcher_entries_ingested_total").unwrap_or(0.0) as u64;
            if ingested >= sent {
                break Instant::now();
            }
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress.set(info.acknowledged());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    progress.finish(group_info(&mut conn).await?.acknowledged());
    let first_ms = first_xadd_ms.context("no entry was ever written")?;
    let now_ms = crate::actors::context::now_ms();
    let seconds = (now_ms - first_ms) as f64 / 1000.0 - finished_at.elapsed().as_secs_f64();
    let metrics = fetch_metrics(metrics_port).unwrap_or_default();
    let (p50, p99) = quantiles(&metrics, "pocketwatcher_end_to_end_seconds");
    let (detect_p50, detect_p99) = quantiles(&metrics, "pocketwatcher_detection_delay_seconds");
    let sum_of = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let mints_evaluated = sum_of("pocketwatcher_detector_evaluations_total");
    let alerts_created = sum_of("pocketwatcher_alerts_created_total");
    let peak_rss_mb = peak_rss_kb(daemon.0.id()).unwrap_or(0) as f64 / 1024.0;
    let transactions = geyser.sent();
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

    let _ = Command::new("kill")
        .args(["-TERM", &daemon.0.id().to_string()])
        .status();
    let _ = daemon.0.wait();
    geyser.shutdown().await;
    Ok(BenchReport {
        transactions,
        seconds,
        throughput: transactions as f64 / seconds.max(1e-9),
        p50_ms: p50 * 1000.0,
        p99_ms: p99 * 1000.0,
        detect_p50_ms: detect_p50 * 1000.0,
        detect_p99_ms: detect_p99 * 1000.0,
        mints_evaluated,
        alerts_created,
        peak_rss_mb,
        redis_usec_per_tx: redis_usec / transactions.max(1) as f64,
        redis_top,
    })
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

fn spawn_daemon(config: &Path, log: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    Command::new(std::env::current_exe()?)
        .args(["run", "--role", "all", "--config"])
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
