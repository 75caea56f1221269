//! `pocketwatcher outcomes`: which triggers are worth their alerts. A per-trigger scoreboard of
//! what the tokens did after each alert (from `alert_outcomes`, which the detect role fills in),
//! and the latest alerts with their outcomes. Aligned tables, or one JSON document.
//!
//! The scoreboard is aggregated by PostgreSQL (one grouped statement), and only the `--latest`
//! alerts are read: memory does not grow with the number of alerts.

use std::path::PathBuf;

use serde_json::json;

use super::when::{format_utc, now_secs, parse_time};
use crate::config::{Config, ProcessEnv};
use crate::domain::outcome::{TriggerScore, HORIZON_NAMES};
use crate::store::postgres::{self, outcomes::StoredOutcome};

#[derive(clap::Args, Debug)]
pub struct OutcomesArgs {
    /// Config file (for the PostgreSQL URL); `POCKETWATCHER_POSTGRES_URL` also works.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Alerts at or after this time (unix seconds, a UTC date such as 2026-12-06, or a duration
    /// before now such as 24h or 7d). Default: 30d.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Only this trigger.
    #[arg(long)]
    pub trigger: Option<String>,
    /// How many of the latest alerts to list.
    #[arg(long, default_value_t = 20)]
    pub latest: usize,
    /// One JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: OutcomesArgs) -> anyhow::Result<i32> {
    let config = match &args.config {
        Some(path) => Config::load(path, &ProcessEnv)?,
        None => Config::from_toml("", "defaults", &ProcessEnv)?,
    };
    let since = parse_time(&args.since, now_secs()).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (board, alerts) = runtime.block_on(async {
        let pool = postgres::connect(config.postgres.url.expose(), 1).await?;
        let trigger = args.trigger.as_deref();
        let board = postgres::outcomes::scoreboard(&pool, since, trigger).await?;
        let latest = i64::try_from(args.latest).unwrap_or(i64::MAX);
        let alerts = postgres::outcomes::stored(&pool, since, trigger, latest).await?;
        anyhow::Ok((board, alerts))
    })?;
    let report = Report {
        since,
        trigger: args.trigger.clone(),
        latest: args.latest,
        board,
        alerts,
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
    pub since: i64,
    pub trigger: Option<String>,
    pub latest: usize,
    /// Per trigger, by name.
    pub board: Vec<TriggerScore>,
    /// The latest alerts, newest first (at most `latest`).
    pub alerts: Vec<StoredOutcome>,
}

/// `+150%`, `-40%`, `-` when unknown.
fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:+.0}%", v * 100.0))
}

/// A share as a whole percentage, `-` when nothing is scored.
fn share(part: u64, of: u64) -> String {
    TriggerScore::share(part, of).map_or("-".into(), |s| format!("{:.0}%", s * 100.0))
}

/// The change from the alert price to a later point.
fn change(o: &crate::domain::outcome::Outcome, k: usize) -> Option<f64> {
    match (o.prices[0], o.prices[k]) {
        (Some(p0), Some(p)) if p0 > 0.0 => Some(p / p0 - 1.0),
        _ => None,
    }
}

fn sol(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Columns of width `w[i]`, the first `left` left-aligned, the rest right-aligned.
fn row(cells: &[String], widths: &[usize], left: usize) -> String {
    let mut line = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if i < left {
            line.push_str(&format!("{c:<w$}"));
        } else {
            line.push_str(&format!("{c:>w$}"));
        }
    }
    line.trim_end().to_string() + "\n"
}

fn table(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = row(&head, &widths, left);
    for r in rows {
        out.push_str(&row(r, &widths, left));
    }
    out
}

impl Report {
    /// Alerts in the range (all of them, not only the latest listed).
    fn total(&self) -> u64 {
        self.board.iter().map(|s| s.alerts).sum()
    }

    pub fn json(&self) -> serde_json::Value {
        let board: Vec<serde_json::Value> = self
            .board
            .iter()
            .map(|s| {
                json!({
                    "trigger": s.trigger,
                    "alerts": s.alerts,
                    "scored_1h": s.scored_1h,
                    "scored_24h": s.scored_24h,
                    "doubled_1h": s.doubled_1h,
                    "up_50pct_1h": s.up_half_1h,
                    "doubled_24h": s.doubled_24h,
                    "up_50pct_24h": s.up_half_24h,
                    "share_doubled_1h": TriggerScore::share(s.doubled_1h, s.scored_1h),
                    "share_up_50pct_1h": TriggerScore::share(s.up_half_1h, s.scored_1h),
                    "share_doubled_24h": TriggerScore::share(s.doubled_24h, s.scored_24h),
                    "share_up_50pct_24h": TriggerScore::share(s.up_half_24h, s.scored_24h),
                    "median_runup_24h": s.median_runup_24h,
                    "p90_runup_24h": s.p90_runup_24h,
                    "median_drawdown_24h": s.median_drawdown_24h,
                    "stopped_trading": s.stopped,
                    "share_stopped_trading": TriggerScore::share(s.stopped, s.scored_24h),
                })
            })
            .collect();
        let latest: Vec<serde_json::Value> = self
            .alerts
            .iter()
            .take(self.latest)
            .map(|a| {
                let o = &a.outcome;
                let prices: serde_json::Map<String, serde_json::Value> = HORIZON_NAMES
                    .iter()
                    .zip(o.prices)
                    .map(|(n, p)| (n.to_string(), json!(p)))
                    .collect();
                json!({
                    "alert_id": a.alert_id,
                    "mint": a.mint,
                    "symbol": a.symbol,
                    "trigger": a.trigger,
                    "alert_time": a.alert_time,
                    "time": format_utc(a.alert_time),
                    "horizons_done": o.points,
                    "price_sol": prices,
                    "max_runup_1h": o.runup_1h,
                    "max_drawdown_1h": o.drawdown_1h,
                    "max_runup_24h": o.runup_24h,
                    "max_drawdown_24h": o.drawdown_24h,
                    "buy_volume_sol_1h": o.buy_volume_1h,
                    "sell_volume_sol_1h": o.sell_volume_1h,
                    "buy_volume_sol_24h": o.buy_volume_24h,
                    "sell_volume_sol_24h": o.sell_volume_24h,
                    "trades_24h": o.trades_24h,
                    "last_trade_time": o.last_trade_time,
                    "stopped_trading": o.stopped_trading,
                })
            })
            .collect();
        json!({
            "since": self.since,
            "trigger": self.trigger,
            "alerts": self.total(),
            "scoreboard": board,
            "latest": latest,
        })
    }

    pub fn table(&self) -> String {
        let board = &self.board;
        let mut out = format!(
            "outcomes   alerts since {} UTC{}: {} alerts, {} triggers\n\n",
            format_utc(self.since),
            self.trigger
                .as_ref()
                .map_or(String::new(), |t| format!(", trigger {t}")),
            self.total(),
            board.len()
        );
        if board.is_empty() {
            out.push_str("no alerts in this range\n");
            return out;
        }
        let rows: Vec<Vec<String>> = board
            .iter()
            .map(|s| {
                vec![
                    s.trigger.clone(),
                    s.alerts.to_string(),
                    s.scored_1h.to_string(),
                    share(s.doubled_1h, s.scored_1h),
                    share(s.up_half_1h, s.scored_1h),
                    s.scored_24h.to_string(),
                    share(s.doubled_24h, s.scored_24h),
                    share(s.up_half_24h, s.scored_24h),
                    pct(s.median_runup_24h),
                    pct(s.p90_runup_24h),
                    pct(s.median_drawdown_24h),
                    share(s.stopped, s.scored_24h),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "TRIGGER",
                "ALERTS",
                "SCORED 1H",
                "2× 1H",
                "+50% 1H",
                "SCORED 24H",
                "2× 24H",
                "+50% 24H",
                "MED RUN-UP",
                "P90 RUN-UP",
                "MED DRAWDOWN",
                "STOPPED",
            ],
            &rows,
            1,
        ));
        out.push_str(
            "(shares of the alerts scored at that horizon; run-ups and drawdowns within 24 h of \
             the alert price; stopped: no trade in the last 6 h of the day)\n\nLATEST ALERTS  \
             (price change from the alert to each point)\n",
        );
        let rows: Vec<Vec<String>> = self
            .alerts
            .iter()
            .take(self.latest)
            .map(|a| {
                let o = &a.outcome;
                let mut r = vec![
                    format_utc(a.alert_time),
                    a.trigger.clone(),
                    a.mint.clone(),
                    a.symbol.clone().unwrap_or_else(|| "-".into()),
                    o.prices[0].map_or("-".into(), |p| format!("{p:.9}")),
                ];
                r.extend((1..6).map(|k| pct(change(o, k))));
                r.extend([
                    pct(o.runup_1h),
                    pct(o.drawdown_1h),
                    pct(o.runup_24h),
                    pct(o.drawdown_24h),
                    format!("{}/{}", sol(o.buy_volume_24h), sol(o.sell_volume_24h)),
                    o.stopped_trading
                        .map_or("-".into(), |s| if s { "yes" } else { "no" }.into()),
                ]);
                r
            })
            .collect();
        out.push_str(&table(
            &[
                "TIME (UTC)",
                "TRIGGER",
                "MINT",
                "SYMBOL",
                "PRICE SOL",
                "5M",
                "15M",
                "1H",
                "6H",
                "24H",
                "RUN-UP 1H",
                "DRAWDOWN 1H",
                "RUN-UP 24H",
                "DRAWDOWN 24H",
                "BUY/SELL SOL 24H",
                "STOPPED",
            ],
            &rows,
            4,
        ));
        out
    }
}
