//! Alert outcomes filled in by the real daemon's detect role. Two alerts, scripted trades after
//! them (SOL- and USDC-quoted), and a chain clock advanced by a third mint's swaps: each horizon
//! is filled once the stored swaps reach it (plus the settle time), with exactly the price points,
//! run-ups, drawdowns, buy/sell volumes and "stopped trading" the trades imply; a SIGKILL between
//! horizons loses nothing (the restarted daemon carries on), and a finished outcome never changes
//! (a late swap and another pass leave it as it is). Then `pocketwatcher outcomes`
//! prints the scoreboard and the latest alerts from them (JSON and an aligned table).

mod support;

use std::time::Duration;

use pocketwatcher::domain::QuoteAssets;
use pocketwatcher::outcomes::filler::Filler;
use pocketwatcher::store::postgres::outcomes::QuoteMints;
use support::daemon::{Daemon, DaemonConfig};
use support::{unique_name, wait_until, TestPostgres, TestRedis};

const DEADLINE: Duration = Duration::from_secs(60);
/// The alerts' chain time.
const T0: i64 = 1_800_000_000;
const SETTLE: i64 = 10;
const WSOL: &str = "So11111111111111111111111111111111111111112";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const RUNNER: &str = "RunnerMint1111111111111111111111111111111111";
const QUIET: &str = "QuietMint11111111111111111111111111111111111";
const CLOCK: &str = "ClockMint11111111111111111111111111111111111";

struct Db {
    pg: TestPostgres,
    name: String,
    seq: std::cell::Cell<u32>,
}

impl Db {
    fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.name, sql)
    }

    /// One swap row: `tokens` whole tokens (6 decimals) for `quote` raw units of `quote_mint`.
    fn swap(&self, t: i64, mint: &str, side: &str, tokens: u64, quote_mint: &str, quote: u64) {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let decimals = if quote_mint == WSOL { 9 } else { 6 };
        self.sql(&format!(
            "INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, \
             base_mint, base_amount, base_decimals, quote_mint, quote_amount, quote_decimals) \
             VALUES ('sig{n}', 0, {n}, {t}, 'pumpswap', 'wallet{n}', '{side}', '{mint}', \
             {}, 6, '{quote_mint}', {quote}, {decimals})",
            tokens * 1_000_000
        ));
    }

    /// Moves the chain clock (the newest stored block time) to `t`.
    fn clock(&self, t: i64) {
        self.swap(t, CLOCK, "buy", 1, WSOL, 1_000_000_000);
    }

    /// The outcome row of `mint`'s alert, `|`-separated, with NULL as "-".
    fn outcome(&self, mint: &str) -> String {
        self.sql(&format!(
            "SELECT concat_ws('|', horizons_done, coalesce(price_0::text, '-'), \
             coalesce(price_5m::text, '-'), coalesce(price_15m::text, '-'), \
             coalesce(price_1h::text, '-'), coalesce(price_6h::text, '-'), \
             coalesce(price_24h::text, '-'), coalesce(max_runup_1h::text, '-'), \
             coalesce(max_drawdown_1h::text, '-'), coalesce(buy_volume_sol_1h::text, '-'), \
             coalesce(sell_volume_sol_1h::text, '-'), coalesce(max_runup_24h::text, '-'), \
             coalesce(max_drawdown_24h::text, '-'), coalesce(buy_volume_sol_24h::text, '-'), \
             coalesce(sell_volume_sol_24h::text, '-'), coalesce(trades_24h::text, '-'), \
             coalesce(last_trade_time::text, '-'), coalesce(stopped_trading::text, '-')) \
             FROM alert_outcomes WHERE mint = '{mint}'"
        ))
    }

    fn horizons_done(&self, mint: &str) -> i64 {
        self.sql(&format!(
            "SELECT coalesce(max(horizons_done), -1) FROM alert_outcomes WHERE mint = '{mint}'"
        ))
        .parse()
        .unwrap()
    }
}

fn wait_for_points(db: &Db, daemon: &Daemon, points: i64) {
    wait_until(
        &format!("both outcomes at {points} points"),
        DEADLINE,
        || db.horizons_done(RUNNER) == points && db.horizons_done(QUIET) == points,
    );
    assert!(
        db.horizons_done(RUNNER) == points,
        "daemon log:\n{}",
        daemon.log()
    );
}

#[test]
fn the_detect_role_fills_every_horizon_with_the_exact_numbers_and_survives_a_restart() {
    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    let name = unique_name("outcomes");
    pg.create_database(&name);
    let url = pg.url(&name);
    pocketwatcher::store::postgres::run_migrations_blocking(&url).unwrap();
    let db = Db {
        pg,
        name,
        seq: Default::default(),
    };
    for (mint, trigger, key) in [(RUNNER, "whale", "a"), (QUIET, "stealth", "b")] {
        db.sql(&format!(
            "INSERT INTO alerts (mint, trigger_name, trigger_reason, dedup_key, chain_time) \
             VALUES ('{mint}', '{trigger}', 'scripted', '{key}', {T0})"
        ));
    }
    // The alert hour's SOL/USD: 200 USDC for 1 SOL.
    db.swap(T0 - 120, USDC, "buy", 200, WSOL, 1_000_000_000);
    // Before the alert: the runner at 1 SOL, the quiet one at 4 SOL per token.
    db.swap(T0 - 30, RUNNER, "buy", 1, WSOL, 1_000_000_000);
    db.swap(T0 - 10, QUIET, "buy", 1, WSOL, 4_000_000_000);
    // The first five minutes: up to 2, down to 0.5.
    db.swap(T0 + 100, RUNNER, "buy", 1, WSOL, 2_000_000_000);
    db.swap(T0 + 250, RUNNER, "sell", 2, WSOL, 1_000_000_000);
    db.clock(T0 + 300 + SETTLE - 1);

    let mut config = DaemonConfig::new(redis.url(), url.clone());
    config.extra =
        format!("[outcomes]\nfill_interval_secs = 1\nsettle_secs = {SETTLE}\nbatch = 1\n");
    let mut daemon = Daemon::start(&config, "detect");

    // Only the alert point is due: 5 m + settle is one second away on the chain clock.
    wait_for_points(&db, &daemon, 1);
    assert_eq!(db.outcome(RUNNER), "1|1|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-");
    assert_eq!(db.outcome(QUIET), "1|4|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-");

    db.clock(T0 + 300 + SETTLE);
    wait_for_points(&db, &daemon, 2);
    assert_eq!(db.outcome(RUNNER), "2|1|0.5|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-");
    assert_eq!(db.outcome(QUIET), "2|4|4|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-");

    // The rest of the first hour: a USDC buy worth 3 SOL (600 USDC at 200 USD/SOL), a sell at 1.5.
    db.swap(T0 + 600, RUNNER, "buy", 1, USDC, 600_000_000);
    db.swap(T0 + 1_800, RUNNER, "sell", 1, WSOL, 1_500_000_000);
    db.clock(T0 + 3_600 + SETTLE);
    wait_for_points(&db, &daemon, 4);
    // 1 h: high 3 (+200 %), low 0.5 (-50 %); bought 2 + 3 SOL, sold 1 + 1.5 SOL.
    assert_eq!(
        db.outcome(RUNNER),
        "4|1|0.5|3|1.5|-|-|2|-0.5|5|2.5|-|-|-|-|-|-|-"
    );
    // No trade in the hour: no run-up, no drawdown, no volume.
    assert_eq!(db.outcome(QUIET), "4|4|4|4|4|-|-|0|0|0|0|-|-|-|-|-|-|-");

    // Killed between horizons; the rest of the day happens while it is down.
    daemon.kill9();
    db.swap(T0 + 5_000, RUNNER, "buy", 1, WSOL, 8_000_000_000);
    db.swap(T0 + 7_200, QUIET, "sell", 1, WSOL, 1_000_000_000);
    db.swap(T0 + 30_000, RUNNER, "sell", 4, WSOL, 1_000_000_000);
    db.swap(T0 + 70_000, RUNNER, "buy", 1, WSOL, 1_000_000_000);
    db.clock(T0 + 21_600 + SETTLE);
    daemon.restart();
    wait_for_points(&db, &daemon, 5);
    assert_eq!(
        db.outcome(RUNNER),
        "5|1|0.5|3|1.5|8|-|2|-0.5|5|2.5|-|-|-|-|-|-|-"
    );
    db.clock(T0 + 86_400 + SETTLE);
    wait_for_points(&db, &daemon, 6);
    // 24 h: high 8 (+700 %), low 0.25 (-75 %); bought 5 + 8 + 1, sold 2.5 + 1; seven trades,
    // the last at +70 000 s, inside the last six hours: still trading.
    assert_eq!(
        db.outcome(RUNNER),
        format!(
            "6|1|0.5|3|1.5|8|1|2|-0.5|5|2.5|7|-0.75|14|3.5|7|{}|false",
            T0 + 70_000
        )
    );
    // One sell at +2 h, at 1 SOL, then nothing: stopped trading.
    assert_eq!(
        db.outcome(QUIET),
        format!("6|4|4|4|4|1|1|0|0|0|0|0|-0.75|0|1|1|{}|true", T0 + 7_200)
    );
    daemon.terminate(Duration::from_secs(30));

    // Finished outcomes never change: a late swap, then another pass, moves nothing.
    let before = (db.outcome(RUNNER), db.outcome(QUIET));
    db.swap(T0 + 200, RUNNER, "buy", 1, WSOL, 50_000_000_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moved = runtime.block_on(async {
        let pool = pocketwatcher::store::postgres::connect(&url, 2)
            .await
            .unwrap();
        let filler = Filler {
            pool,
            quotes: QuoteMints::of(&QuoteAssets::default()),
            every: Duration::from_secs(1),
            settle_secs: SETTLE,
            batch: 10,
            register_days: 3,
        };
        filler.pass().await.unwrap()
    });
    assert_eq!(moved, 0);
    assert_eq!((db.outcome(RUNNER), db.outcome(QUIET)), before);

    // The scoreboard and the latest alerts, as JSON and as a table.
    let since = (T0 - 60).to_string();
    let json: serde_json::Value =
        serde_json::from_str(&outcomes_command(&daemon, &["--since", &since, "--json"])).unwrap();
    assert_eq!(json["alerts"], 2);
    let board = json["scoreboard"].as_array().unwrap();
    assert_eq!(board.len(), 2);
    assert_eq!(board[0]["trigger"], "stealth");
    assert_eq!(board[0]["share_doubled_1h"], 0.0);
    assert_eq!(board[0]["share_stopped_trading"], 1.0);
    assert_eq!(board[0]["median_drawdown_24h"], -0.75);
    assert_eq!(board[1]["trigger"], "whale");
    assert_eq!(board[1]["doubled_1h"], 1);
    assert_eq!(board[1]["share_up_50pct_24h"], 1.0);
    assert_eq!(board[1]["median_runup_24h"], 7.0);
    assert_eq!(board[1]["p90_runup_24h"], 7.0);
    assert_eq!(board[1]["share_stopped_trading"], 0.0);
    let latest = json["latest"].as_array().unwrap();
    assert_eq!(latest.len(), 2);
    let runner = latest.iter().find(|a| a["mint"] == RUNNER).unwrap();
    assert_eq!(runner["price_sol"]["15m"], 3.0);
    assert_eq!(runner["buy_volume_sol_24h"], 14.0);
    assert_eq!(runner["stopped_trading"], false);

    let only: serde_json::Value = serde_json::from_str(&outcomes_command(
        &daemon,
        &["--since", &since, "--trigger", "stealth", "--json"],
    ))
    .unwrap();
    assert_eq!(only["alerts"], 1);
    assert_eq!(only["latest"][0]["mint"], QUIET);
    let later: serde_json::Value = serde_json::from_str(&outcomes_command(
        &daemon,
        &["--since", &(T0 + 1).to_string(), "--json"],
    ))
    .unwrap();
    assert_eq!(later["alerts"], 0);

    let table = outcomes_command(&daemon, &["--since", &since]);
    let lines: Vec<&str> = table.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("TRIGGER")).unwrap();
    let whale = lines[header + 2];
    assert!(whale.starts_with("whale "), "{table}");
    // Right-aligned columns: every row of the scoreboard ends where its header does.
    assert_eq!(
        lines[header].chars().count(),
        whale.chars().count(),
        "{table}"
    );
    for cell in ["100%", "+700%", "-75%"] {
        assert!(whale.contains(cell), "{cell} in {whale:?}");
    }
    let latest = lines
        .iter()
        .position(|l| l.starts_with("TIME (UTC)"))
        .unwrap();
    let runner_row = lines[latest + 1..]
        .iter()
        .find(|l| l.contains(RUNNER))
        .unwrap();
    // Price 1 SOL, then 0.5, 3, 1.5, 8, 1 SOL: -50 %, +200 %, +50 %, +700 %, +0 %.
    for cell in ["-50%", "+200%", "+50%", "+700%", "14.00/3.50", " no"] {
        assert!(runner_row.contains(cell), "{cell} in {runner_row:?}");
    }
}

fn outcomes_command(daemon: &Daemon, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .arg("outcomes")
        .arg("--config")
        .arg(&daemon.config_path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "outcomes {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
