//! `pocketwatcher backtest`: which alerts a candidate trigger file would have sent on stored swaps,
//! side by side with the running trigger set (and the alerts the daemon actually stored).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use super::progress::Progress;
use super::when::{format_utc, now_secs, parse_duration, parse_time};
use crate::backtest::engine::{BacktestAlert, Engine, EngineConfig, MarketCaps, SetAlert};
use crate::config::{Config, ProcessEnv};
use crate::detect::triggers_file;
use crate::domain::alert::number_to_json;
use crate::domain::alert_policy::AlertPolicy;
use crate::domain::outcome::{Outcome, HORIZON_NAMES};
use crate::recording::reader::is_recording;
use crate::store::postgres::{self, outcomes, swap_history};

#[derive(clap::Args, Debug)]
pub struct BacktestArgs {
    /// Config file: the database, the running trigger file, cooldowns, market-cap filter.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The candidate trigger file (the `[[triggers]]` format of `detect.triggers_file`).
    #[arg(long)]
    pub triggers: PathBuf,
    /// Start of the replay (unix seconds, a UTC date such as 2026-12-06T14:30, or 24h / 7d
    /// before now). Default: 24h.
    #[arg(long, default_value = "24h")]
    pub from: String,
    /// End of the replay (exclusive). Default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// Where the swaps come from: `postgres` (swap_events) or a recording directory.
    #[arg(long, default_value = "postgres")]
    pub source: String,
    /// Swaps read before `--from` only to fill the windows (1h windows need an hour; new-wallet
    /// shares look back up to 8 days).
    #[arg(long, default_value = "1h")]
    pub warmup: String,
    /// `profiles`: the market-cap filter with the supplies the detector stored; `off`: none.
    #[arg(long, default_value = "profiles")]
    pub mcap: String,
    /// One JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// One replayed trigger set.
pub struct SetReport {
    pub label: &'static str,
    pub file: String,
    pub triggers: Vec<String>,
    pub alerts: Vec<BacktestAlert>,
}

pub fn run(args: BacktestArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config, &ProcessEnv)?;
    let now = now_secs();
    let from = parse_time(&args.from, now).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = match &args.to {
        Some(t) => parse_time(t, now).map_err(|e| anyhow::anyhow!("--to: {e}"))?,
        None => now + 1,
    };
    anyhow::ensure!(to > from, "--to must be after --from");
    let warmup = parse_duration(&args.warmup).ok_or_else(|| {
        anyhow::anyhow!(
            "--warmup {:?}: use a duration such as 1h or 8d",
            args.warmup
        )
    })?;
    anyhow::ensure!(
        ["profiles", "off"].contains(&args.mcap.as_str()),
        "--mcap {:?}: use profiles or off",
        args.mcap
    );
    let running_file = config.detect.triggers_file.clone();
    let running = triggers_file::load(&running_file).context("the running trigger file")?;
    let candidate_file = args.triggers.display().to_string();
    let candidate = triggers_file::load(&candidate_file).context("--triggers")?;
    // Wallet metrics (issue 11) come from the funding trace, which needs the RPC provider: the
    // replay cannot compute them, so such triggers never fire here. Said on stderr so the table
    // and --json stay as they are.
    for (label, set) in [("running", &running), ("candidate", &candidate)] {
        for t in set.iter().filter(|t| t.needs_wallets()) {
            eprintln!(
                "note: {label} trigger {:?} reads wallet metrics (largest_cluster_share, \
                 funded_by_same_source_pct) that need the funding trace; the backtest makes no \
                 RPC requests, so they are unavailable and this trigger never fires here",
                t.name
            );
        }
    }
    let names = |s: &crate::domain::triggers::TriggerSet| -> Vec<String> {
        s.iter().map(|t| t.name.clone()).collect()
    };
    let mut sets = vec![
        SetReport {
            label: "running",
            file: if running_file.is_empty() {
                "(built-in defaults)".into()
            } else {
                running_file.clone()
            },
            triggers: names(&running),
            alerts: Vec::new(),
        },
        SetReport {
            label: "candidate",
            file: candidate_file,
            triggers: names(&candidate),
            alerts: Vec::new(),
        },
    ];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let recording = (args.source != "postgres").then(|| PathBuf::from(&args.source));
    if let Some(dir) = &recording {
        anyhow::ensure!(
            is_recording(dir),
            "--source {:?}: use postgres, or a recording directory (the *.pwrec.zst files \
             `pocketwatcher record` writes)",
            args.source
        );
    }
    let (engine, live) = runtime.block_on(async {
        // A recording brings its own swaps: the database (supplies for the market-cap filter,
        // the live alerts, outcomes) is used when reachable, and its absence is said once.
        let pool = match postgres::connect(config.postgres.url.expose(), 2).await {
            Ok(pool) => Some(pool),
            Err(e) if recording.is_some() => {
                eprintln!(
                    "note: PostgreSQL is not reachable ({e}); replaying the recording without \
                     stored supplies (--mcap off), live alerts or outcomes"
                );
                None
            }
            Err(e) => return Err(e.into()),
        };
        let mcap_off = args.mcap == "off" || pool.is_none();
        let market = MarketCaps {
            supplies: match (&pool, mcap_off) {
                (Some(pool), false) => swap_history::cached_supplies(pool)
                    .await?
                    .into_iter()
                    .collect(),
                _ => Default::default(),
            },
            min_mcap_sol: config.detect.min_mcap_sol,
            skip_unknown: config.detect.unknown_mcap == "skip",
            off: mcap_off,
        };
        let engine_config = EngineConfig {
            policy: AlertPolicy {
                cooldown_secs: config.detect.cooldown_secs,
                hot_ttl_secs: config.detect.hot_ttl_secs,
            },
            sweep_lookback_secs: config.detect.sweep_lookback_secs as i64,
            quotes: config.inference().quotes,
            market,
        };
        let mut engine = Engine::new(vec![running, candidate], engine_config, from);
        let start = from - warmup;
        let alerts = match (&recording, &pool) {
            (Some(dir), _) => {
                let inference = config.inference();
                let hold = std::time::Duration::from_millis(config.ingest.block_time_hold_ms);
                let size = crate::recording::RecordingReader::open(dir)?.total_bytes() / 1000;
                let mut progress = Progress::new("backtest", "KB of recording read", size);
                let (alerts, pass) = tokio::task::block_in_place(|| {
                    crate::backtest::recording::replay(
                        dir,
                        hold,
                        &inference,
                        &mut engine,
                        (start, to),
                        &mut |read, _| progress.set(read / 1000),
                        &mut |problem| eprintln!("backtest: {problem}"),
                    )
                })?;
                progress.finish(size);
                eprintln!(
                    "backtest: recording: {} updates, {} transactions ({} undecodable, {} without swaps), {} swaps outside the range, {} damaged files",
                    pass.feed.updates,
                    pass.feed.transactions,
                    pass.feed.undecodable,
                    pass.not_swaps,
                    pass.out_of_range,
                    pass.feed.damaged_files
                );
                alerts
            }
            (None, Some(pool)) => {
                let total = swap_history::count_between(pool, start, to).await?;
                let mut progress = Progress::new("backtest", "swaps", total);
                let alerts = crate::backtest::postgres::replay(
                    pool,
                    &mut engine,
                    start,
                    to,
                    &mut |rows, _| progress.set(rows),
                )
                .await?;
                progress.finish(engine.swaps);
                alerts
            }
            (None, None) => anyhow::bail!("the postgres source needs the database"),
        };
        let (live, outcomes) = match &pool {
            Some(pool) => (
                crate::store::postgres::outcomes::alerts_per_trigger(pool, from, to)
                    .await
                    .unwrap_or_default(),
                score(pool, &alerts, &config).await?,
            ),
            None => Default::default(),
        };
        anyhow::Ok(((engine, alerts), (live, outcomes)))
    })?;
    let (engine, alerts) = engine;
    let (live, outcomes) = live;
    let seconds = started.elapsed().as_secs_f64();
    for SetAlert { set, alert } in alerts {
        sets[set].alerts.push(alert);
    }
    let report = Report {
        from,
        to,
        swaps: engine.swaps,
        seconds,
        sets,
        live,
        outcomes,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.table());
    }
    Ok(0)
}

/// Everything the command prints.
pub struct Report {
    pub from: i64,
    pub to: i64,
    pub swaps: u64,
    pub seconds: f64,
    /// Running, then candidate.
    pub sets: Vec<SetReport>,
    /// Alerts the daemon stored in the range, per trigger.
    pub live: Vec<(String, u64)>,
    /// What each alerted mint did after the alert's chain time (the points the stored swaps reach).
    pub outcomes: HashMap<(String, i64), Outcome>,
}

/// Outcomes of every distinct (mint, chain time) among the alerts, from the stored swaps, with the
/// points the newest stored swap reaches (same SQL as the live outcomes).
async fn score(
    pool: &postgres::PgPool,
    alerts: &[SetAlert],
    config: &Config,
) -> anyhow::Result<HashMap<(String, i64), Outcome>> {
    let mut keys: Vec<(String, i64)> = alerts
        .iter()
        .map(|a| (a.alert.mint.clone(), a.alert.chain_time))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let Some(now) = outcomes::chain_now(pool).await? else {
        return Ok(HashMap::new());
    };
    let input: Vec<(i64, String, i64)> = keys
        .iter()
        .enumerate()
        .map(|(i, (m, t))| (i as i64, m.clone(), *t))
        .collect();
    let quotes = outcomes::QuoteMints::of(&config.inference().quotes);
    let scored = outcomes::compute(
        pool,
        &input,
        now,
        config.outcomes.settle_secs as i64,
        &quotes,
    )
    .await?;
    Ok(scored
        .into_iter()
        .filter_map(|(i, o)| keys.get(i as usize).map(|k| (k.clone(), o)))
        .collect())
}

/// `+150%`, `-40%`, `-` when unknown.
fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:+.0}%", v * 100.0))
}

fn outcome_json(o: Option<&Outcome>) -> serde_json::Value {
    match o {
        None => serde_json::Value::Null,
        Some(o) => json!({
            "horizons_done": o.points,
            "price_sol": HORIZON_NAMES.iter().zip(o.prices).map(|(n, p)| (n.to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
            "max_runup_1h": o.runup_1h,
            "max_drawdown_1h": o.drawdown_1h,
            "max_runup_24h": o.runup_24h,
            "max_drawdown_24h": o.drawdown_24h,
            "buy_volume_sol_24h": o.buy_volume_24h,
            "sell_volume_sol_24h": o.sell_volume_24h,
            "stopped_trading": o.stopped_trading,
        }),
    }
}

type AlertKey = (String, String, i64);

fn key(a: &BacktestAlert) -> AlertKey {
    (a.mint.clone(), a.trigger.clone(), a.chain_time)
}

fn alert_json(a: &BacktestAlert) -> serde_json::Value {
    json!({
        "mint": a.mint,
        "trigger": a.trigger,
        "reason": a.reason,
        "window": a.window.suffix(),
        "chain_time": a.chain_time,
        "time": format_utc(a.chain_time),
        "metrics": a.metrics.iter().map(|(k, v)| (k.clone(), number_to_json(*v))).collect::<serde_json::Map<_, _>>(),
        "top_buyers": a.top_buyers.iter().map(|(w, l)| json!({"wallet": w, "volume_lamports": l})).collect::<Vec<_>>(),
        "price_sol": a.price_sol,
        "mcap_sol": a.mcap_sol,
    })
}

impl Report {
    fn outcome(&self, a: &BacktestAlert) -> Option<&Outcome> {
        self.outcomes.get(&(a.mint.clone(), a.chain_time))
    }

    fn alert_json(&self, a: &BacktestAlert) -> serde_json::Value {
        let mut v = alert_json(a);
        v["outcome"] = outcome_json(self.outcome(a));
        v
    }

    fn rate(&self) -> f64 {
        self.swaps as f64 / self.seconds.max(1e-9)
    }

    /// Per trigger: (running, candidate, live) alert counts, in first-seen trigger order.
    fn by_trigger(&self) -> Vec<(String, u64, u64, u64)> {
        let mut order: Vec<String> = Vec::new();
        for s in &self.sets {
            for t in &s.triggers {
                if !order.contains(t) {
                    order.push(t.clone());
                }
            }
        }
        for (t, _) in &self.live {
            if !order.contains(t) {
                order.push(t.clone());
            }
        }
        let count =
            |s: &SetReport, t: &str| s.alerts.iter().filter(|a| a.trigger == t).count() as u64;
        order
            .into_iter()
            .map(|t| {
                let live = self
                    .live
                    .iter()
                    .find(|(n, _)| *n == t)
                    .map_or(0, |(_, n)| *n);
                (
                    t.clone(),
                    count(&self.sets[0], &t),
                    count(&self.sets[1], &t),
                    live,
                )
            })
            .collect()
    }

    /// Every alert of either set, in time order, with where it appears (running, candidate).
    fn merged(&self) -> Vec<(&BacktestAlert, bool, bool)> {
        let running: HashSet<AlertKey> = self.sets[0].alerts.iter().map(key).collect();
        let candidate: HashSet<AlertKey> = self.sets[1].alerts.iter().map(key).collect();
        let mut all: BTreeMap<(i64, String, String), (&BacktestAlert, bool, bool)> =
            BTreeMap::new();
        for a in self.sets.iter().flat_map(|s| &s.alerts) {
            let k = key(a);
            all.entry((a.chain_time, a.mint.clone(), a.trigger.clone()))
                .or_insert((a, running.contains(&k), candidate.contains(&k)));
        }
        all.into_values().collect()
    }

    pub fn json(&self) -> serde_json::Value {
        let sets: Vec<serde_json::Value> = self
            .sets
            .iter()
            .map(|s| {
                json!({
                    "set": s.label,
                    "file": s.file,
                    "triggers": s.triggers,
                    "alerts": s.alerts.iter().map(|a| self.alert_json(a)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let changes: Vec<serde_json::Value> = self
            .merged()
            .into_iter()
            .filter(|(_, r, c)| r != c)
            .map(|(a, r, _)| {
                let mut v = self.alert_json(a);
                v["change"] = json!(if r { "removed" } else { "added" });
                v
            })
            .collect();
        json!({
            "from": self.from,
            "to": self.to,
            "swaps": self.swaps,
            "seconds": self.seconds,
            "swaps_per_second": self.rate(),
            "sets": sets,
            "by_trigger": self.by_trigger().into_iter().map(|(t, r, c, l)| json!({
                "trigger": t, "running": r, "candidate": c, "live": l,
            })).collect::<Vec<_>>(),
            "changes": changes,
        })
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "backtest   {} → {} UTC: {} swaps in {:.1} s ({:.0} swaps/s)\n",
            format_utc(self.from),
            format_utc(self.to),
            self.swaps,
            self.seconds,
            self.rate()
        ));
        for s in &self.sets {
            out.push_str(&format!(
                "{:<10} {} ({} triggers): {} alerts\n",
                s.label,
                s.file,
                s.triggers.len(),
                s.alerts.len()
            ));
        }
        out.push('\n');
        let rows = self.by_trigger();
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(7).max(7);
        out.push_str(&format!(
            "{:<w$}  {:>7}  {:>9}  {:>6}  {:>4}\n",
            "TRIGGER", "RUNNING", "CANDIDATE", "CHANGE", "LIVE"
        ));
        for (t, r, c, l) in &rows {
            out.push_str(&format!(
                "{t:<w$}  {r:>7}  {c:>9}  {:>+6}  {l:>4}\n",
                *c as i64 - *r as i64
            ));
        }
        let merged = self.merged();
        if merged.is_empty() {
            out.push_str("\nno alerts in this range\n");
            return out;
        }
        out.push_str("\nALERTS  (= both sets, - running only, + candidate only)\n");
        let tw = merged
            .iter()
            .map(|m| m.0.trigger.len())
            .max()
            .unwrap_or(7)
            .max(7);
        out.push_str(&format!(
            "   {:<19}  {:<44}  {:<tw$}  {:>11}  {:>8}  {:>9}  {:>11}  {:>10}  {:>12}  {:>7}\n",
            "TIME (UTC)",
            "MINT",
            "TRIGGER",
            "MCAP SOL",
            "BUYS",
            "RUN-UP 1H",
            "DRAWDOWN 1H",
            "RUN-UP 24H",
            "DRAWDOWN 24H",
            "STOPPED"
        ));
        for (a, r, c) in merged {
            let mark = match (r, c) {
                (true, true) => '=',
                (true, false) => '-',
                _ => '+',
            };
            let buys = a
                .metrics
                .iter()
                .find(|(n, _)| *n == format!("buy_count_{}", a.window.suffix()))
                .map_or(0.0, |(_, v)| *v);
            let o = self.outcome(a);
            let stopped = match o.and_then(|o| o.stopped_trading) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            };
            out.push_str(&format!(
                " {mark} {:<19}  {:<44}  {:<tw$}  {:>11}  {:>8}  {:>9}  {:>11}  {:>10}  {:>12}  {:>7}\n",
                format_utc(a.chain_time),
                a.mint,
                a.trigger,
                a.mcap_sol.map_or("unknown".into(), |m| format!("{m:.0}")),
                buys,
                pct(o.and_then(|o| o.runup_1h)),
                pct(o.and_then(|o| o.drawdown_1h)),
                pct(o.and_then(|o| o.runup_24h)),
                pct(o.and_then(|o| o.drawdown_24h)),
                stopped
            ));
        }
        out
    }
}
