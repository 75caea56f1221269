//! Detection through the real pipeline. The fake Geyser (a real gRPC server) streams scripted
//! pump.fun trades; the `pocketwatcher` binary — one `--role all` process, or separate ingest,
//! consume and two detect processes — counts them in Redis and must write exactly the alerts the
//! independent model of `support::scenarios` predicts, with the window numbers it predicts.
//!
//! Every scenario's trigger becomes true only with its last ("crossing") trade. A test streams
//! the script up to that trade, waits until the pipeline has counted everything streamed, then
//! releases the crossing trade and waits for the alert: the alert's metrics are then exactly the
//! model's at that point, whatever the batching.

mod support;

use std::time::{Duration, Instant};

use pocketwatcher::domain::{infer_swaps, InferenceConfig, Verdict, WSOL_MINT};
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig, FakeGeyserHandle, Fixtures};
use pocketwatcher::store::redis::stream::ensure_group;
use support::daemon::{Daemon, DaemonConfig};
use support::scenarios::{
    concentrated, expected_alerts, mixed, simulate, slow, stealth, whale, Fired, Metrics, Scenario,
    Script, Suppression, T0,
};
use support::workload::stored_minutes;
use support::{unique_name, wait_until, wait_until_async, TestPostgres, TestRedis};

/// Deadline of every wait on the daemons.
const DEADLINE: Duration = Duration::from_secs(60);
/// The detector lease key (the contract between detect processes).
const LEASE_KEY: &str = "pw:detector:lease";
/// Mints evaluated by the periodic sweep (a detect process's `/metrics`).
const SWEEP_EVALUATIONS: &str = "pocketwatcher_detector_evaluations_total{path=\"sweep\"}";
/// Detector cycles completed (each ends after its sweep, if it had one).
const DETECT_CYCLES: &str = "pocketwatcher_detector_cycle_seconds_count";

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/// A concentrated accumulation well after everything else: when its alert is in, everything
/// before it has been counted and evaluated, so "nothing else fired" can be asserted.
fn sentinel(at: i64) -> Scenario {
    concentrated(99, at)
}

/// One scenario in mixed traffic over its whole span, then the sentinel.
fn single(scenario: Scenario, seed: u32) -> Script {
    let end = scenario.crossing().at;
    let background = mixed(seed, T0, end - T0 + 120, 30, 200, 300);
    Script::new(vec![scenario, sentinel(end + 600)], background)
}

/// All four scenarios overlapping in 45 minutes of mixed traffic, then the sentinel.
fn combined() -> Script {
    let scenarios = vec![
        slow(0, T0 + 60),
        concentrated(0, T0 + 600),
        stealth(0, T0 + 900),
        whale(0, T0 + 1260),
        sentinel(T0 + 2700),
    ];
    Script::new(scenarios, mixed(1, T0, 2500, 30, 200, 800))
}

// ---------------------------------------------------------------------------------------------
// A running system
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Topology {
    /// One `run --role all` process.
    All,
    /// `--role ingest`, `--role consume` and two `--role detect` processes (the first started
    /// holds the lease).
    Split,
}

/// An alert row as the test reads it.
#[derive(Debug, Clone)]
struct AlertRow {
    mint: String,
    trigger: String,
    reason: String,
    metrics: serde_json::Map<String, serde_json::Value>,
}

struct System {
    geyser: FakeGeyserHandle,
    conn: redis::aio::MultiplexedConnection,
    pg: TestPostgres,
    db: String,
    /// `(role label, process)`.
    daemons: Vec<(String, Daemon)>,
    redis: TestRedis,
}

impl System {
    /// Starts Redis, Postgres, the fake Geyser holding `script` back after `first_release`
    /// trades, and the daemons. `detect` is extra TOML for the `[detect]` section.
    async fn start(
        script: &Script,
        first_release: usize,
        topology: Topology,
        detect: &str,
    ) -> Self {
        let redis = TestRedis::start();
        let pg = TestPostgres::new();
        let db = unique_name("pw");
        pg.create_database(&db);
        pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();

        let mut config = FakeGeyserConfig::with_fixtures(Fixtures::Scripted(script.scripted()));
        config.count = first_release as u64;
        // Well inside the daemon's 5 s watchdog while the script is held back.
        config.ping_interval = Duration::from_secs(1);
        let geyser = FakeGeyser::start(config).await.unwrap();

        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        ensure_group(&mut conn).await.unwrap();

        let config_for = |instance: &str| {
            let mut c = DaemonConfig::new(redis.url(), pg.url(&db));
            c.instance = instance.into();
            c.yellowstone_endpoint = geyser.endpoint();
            c.extra = format!(
                "[ingest]\nblock_time_hold_ms = 5000\nlinger_ms = 2\n\
                 [detect]\neval_interval_ms = 100\nlease_ttl_ms = 2000\nlease_renew_ms = 500\n{detect}\n"
            );
            c
        };
        let mut daemons = Vec::new();
        match topology {
            Topology::All => daemons.push(("all".into(), Daemon::start(&config_for("0"), "all"))),
            Topology::Split => {
                let first = Daemon::start(&config_for("detect-a"), "detect");
                let mut c = conn.clone();
                wait_until_async("the first detect process takes the lease", DEADLINE, || {
                    let mut c = c.clone();
                    async move { lease_held(&mut c).await }
                })
                .await;
                c = conn.clone();
                assert!(lease_held(&mut c).await);
                daemons.push(("detect-a".into(), first));
                daemons.push((
                    "detect-b".into(),
                    Daemon::start(&config_for("detect-b"), "detect"),
                ));
                daemons.push((
                    "consume".into(),
                    Daemon::start(&config_for("consume"), "consume"),
                ));
                daemons.push((
                    "ingest".into(),
                    Daemon::start(&config_for("ingest"), "ingest"),
                ));
            }
        }
        System {
            geyser,
            conn,
            pg,
            db,
            daemons,
            redis,
        }
    }

    /// The lease's value (`{holder}:{epoch}`, the holder naming its process), if held.
    fn lease(&self) -> Option<String> {
        let client = redis::Client::open(self.redis.url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        redis::cmd("GET").arg(LEASE_KEY).query(&mut conn).unwrap()
    }

    /// `(holder, standby)` among the two detect processes (detect-a took the lease first and
    /// normally keeps it, but a stall may have moved it).
    fn detect_roles(&mut self) -> (&'static str, &'static str) {
        if self.holds_lease("detect-a") {
            ("detect-a", "detect-b")
        } else {
            assert!(
                self.holds_lease("detect-b"),
                "no holder: {:?}",
                self.lease()
            );
            ("detect-b", "detect-a")
        }
    }

    /// Whether the daemon `label` holds the lease (its holder names it by consumer name and
    /// process id).
    fn holds_lease(&mut self, label: &str) -> bool {
        let pid = self.daemon(label).pid().to_string();
        self.lease()
            .is_some_and(|v| v.contains(&format!("test-{label}-{pid}")))
    }

    fn daemon(&mut self, label: &str) -> &mut Daemon {
        &mut self
            .daemons
            .iter_mut()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("no daemon {label}"))
            .1
    }

    /// Every daemon's log, for failure messages.
    fn logs(&self) -> String {
        self.daemons
            .iter()
            .map(|(label, d)| {
                let log = d.log();
                let tail = &log[log.len().saturating_sub(6_000)..];
                format!("===== {label} =====\n{tail}\n")
            })
            .collect()
    }

    /// Trades counted by the pipeline so far (buys + sells over every minute counter).
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
            assert!(
                counted < n as u64,
                "counted {counted} trades, only {n} were streamed"
            );
            assert!(
                started.elapsed() < DEADLINE,
                "after {DEADLINE:?}: {counted} of {n} trades counted (fake sent {})\n{}",
                self.geyser.sent(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn alerts(&self) -> Vec<AlertRow> {
        let out = self.pg.psql(
            &self.db,
            "SELECT json_build_array(mint, trigger_name, trigger_reason, metrics)::text \
             FROM alerts ORDER BY id",
        );
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("alert row JSON");
                AlertRow {
                    mint: v[0].as_str().unwrap_or_default().to_string(),
                    trigger: v[1].as_str().unwrap_or_default().to_string(),
                    reason: v[2].as_str().unwrap_or_default().to_string(),
                    metrics: v[3].as_object().cloned().unwrap_or_default(),
                }
            })
            .collect()
    }

    async fn wait_alerts(&self, n: usize) -> Vec<AlertRow> {
        support::wait_for_value(
            DEADLINE,
            || Some(self.alerts()).filter(|a| a.len() >= n),
            || {
                let alerts = self.alerts();
                format!(
                    "{} alerts, expected {n}: {alerts:#?}\n{}",
                    alerts.len(),
                    self.logs()
                )
            },
        )
        .await
    }
}

async fn lease_held(conn: &mut redis::aio::MultiplexedConnection) -> bool {
    redis::cmd("EXISTS")
        .arg(LEASE_KEY)
        .query_async::<i64>(conn)
        .await
        .unwrap_or(0)
        == 1
}

/// Points of [`play`] where a test may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Everything before alert `k`'s crossing trade is counted; the crossing is not streamed.
    BeforeCrossing(usize),
    /// Alert `k` is in the table.
    Alerted(usize),
}

/// Streams `script` gate by gate (see the module docs) and returns the alerts once the whole
/// script is counted and every expected alert is in.
async fn play(
    system: &mut System,
    script: &Script,
    expected: &[Fired],
    hook: &mut dyn FnMut(&mut System, Stage),
) -> Vec<AlertRow> {
    for (k, fired) in expected.iter().enumerate() {
        system.release_and_settle(fired.after - 1).await;
        let before = system.alerts();
        assert_eq!(
            before.len(),
            k,
            "an alert fired before crossing {k} ({}): {before:#?}",
            fired.trigger
        );
        hook(system, Stage::BeforeCrossing(k));
        system.geyser.release(fired.after as u64);
        system.wait_alerts(k + 1).await;
        hook(system, Stage::Alerted(k));
    }
    system.release_and_settle(script.trades.len()).await;
    let alerts = system.alerts();
    let stored = stored_minutes(&mut system.conn).await;
    let want = script.counters(script.trades.len());
    assert_eq!(stored.len(), want.len(), "minute counters");
    for (key, (b, s, bv, sv)) in want {
        let c = stored.get(&key).unwrap_or_else(|| panic!("no {key}"));
        assert_eq!(
            (c.buys, c.sells, c.buy_lamports, c.sell_lamports),
            (b, s, bv, sv),
            "{key}"
        );
    }
    alerts
}

/// Sum of the samples of `series` (a metric name, optionally with its labels as printed) in
/// Prometheus text; 0 when absent.
fn metric_sum(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Comparing alerts with the model
// ---------------------------------------------------------------------------------------------

fn json_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("inf") => Some(f64::INFINITY),
        _ => None,
    }
}

/// Whether a reported metric equals the model's: unique counts come from HyperLogLogs (exact
/// at these sizes, allowed 2 % above 50), the rest is exact arithmetic on the same integers.
fn metric_matches(name: &str, got: f64, want: f64) -> bool {
    if name.starts_with("unique_") {
        (got - want).abs() <= (0.02 * want).floor()
    } else if want.is_infinite() {
        got == want
    } else {
        (got - want).abs() <= 1e-9 * want.abs().max(1.0)
    }
}

fn metrics_mismatch(got: &serde_json::Map<String, serde_json::Value>, want: &Metrics) -> String {
    let mut out = String::new();
    for (name, w) in want {
        let g = got.get(name).and_then(json_number);
        if !g.is_some_and(|g| metric_matches(name, g, *w)) {
            out.push_str(&format!("  {name}: alert {g:?}, model {w}\n"));
        }
    }
    out
}

/// The alerts are exactly the expected ones, in order, with the model's numbers.
fn assert_alerts(alerts: &[AlertRow], expected: &[Fired]) {
    let summary = |a: &[AlertRow]| -> Vec<(String, String)> {
        a.iter()
            .map(|r| (r.mint.clone(), r.trigger.clone()))
            .collect()
    };
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|f| (f.mint.to_string(), f.trigger.to_string()))
        .collect();
    assert_eq!(summary(alerts), want, "alerts (mint, trigger)");
    for (row, fired) in alerts.iter().zip(expected) {
        assert!(
            row.reason
                .starts_with(&format!("Trigger: {}", fired.trigger)),
            "reason {:?}",
            row.reason
        );
        let diff = metrics_mismatch(&row.metrics, &fired.metrics);
        assert!(
            diff.is_empty(),
            "{} on {}: metrics differ from the model:\n{diff}all reported: {:?}",
            fired.trigger,
            fired.mint,
            row.metrics
        );
    }
}

/// Runs a script on a fresh system and checks its alerts against the model.
async fn run_and_check(script: &Script, topology: Topology, detect: &str) -> Vec<AlertRow> {
    let expected = expected_alerts(script);
    let mut system = System::start(script, expected[0].after - 1, topology, detect).await;
    let alerts = play(&mut system, script, &expected, &mut |_, _| {}).await;
    assert_alerts(&alerts, &expected);
    // No RPC provider in these daemons: every alert records that the funding trace could not run
    // (the Limited Analysis section) and which input was missing, with the CTO inputs (issue 11).
    let intel = system.pg.psql(
        &system.db,
        "SELECT enrichment_degraded::text || '|' || (wallet_intel -> 'missing')::text || '|' || \
         jsonb_array_length(wallet_intel -> 'cto_inputs') FROM alerts ORDER BY id",
    );
    let rows: Vec<&str> = intel.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), alerts.len(), "{intel}");
    for line in rows {
        assert_eq!(
            line.trim(),
            r#"true|["funding trace: no RPC configured"]|9"#
        );
    }
    system.geyser.shutdown().await;
    alerts
}

// ---------------------------------------------------------------------------------------------
// Tests without a daemon: the scenarios themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn scenario_transactions_are_the_pump_fun_trades_they_describe() {
    let script = combined();
    let config = InferenceConfig::default();
    for (i, (trade, item)) in script.trades.iter().zip(script.scripted()).enumerate() {
        let mut tx = item.tx.clone();
        tx.block_time = Some(item.block_time);
        let Ok(Verdict::Swaps(swaps)) = infer_swaps(&tx, &config) else {
            panic!("trade {i} is not a swap: {trade:?}");
        };
        assert_eq!(swaps.len(), 1, "trade {i}");
        let s = &swaps[0];
        assert_eq!(
            (s.wallet, s.mint, s.side, s.quote_mint, s.quote_amount),
            (
                trade.wallet,
                trade.mint,
                trade.side,
                WSOL_MINT,
                trade.lamports
            ),
            "trade {i}"
        );
        assert_eq!(s.amount, trade.tokens);
        assert_eq!(config.venues.name(s.venue), "pumpfun");
        assert_eq!(item.block_time, trade.at);
    }
    let signatures: std::collections::HashSet<_> =
        script.scripted().iter().map(|s| s.tx.signature).collect();
    assert_eq!(signatures.len(), script.trades.len(), "unique signatures");
}

#[test]
fn the_model_fires_each_scenario_once_at_its_crossing_and_nothing_else() {
    // expected_alerts asserts the design against the model at every prefix.
    let alerts = expected_alerts(&combined());
    let triggers: Vec<&str> = alerts.iter().map(|f| f.trigger).collect();
    assert_eq!(
        triggers,
        [
            "concentrated_accumulation",
            "stealth_accumulation",
            "whale_concentration",
            "slow_stealth_accumulation",
            "concentrated_accumulation",
        ]
    );
    for scenario in [
        concentrated(0, T0 + 300),
        stealth(0, T0 + 300),
        whale(0, T0 + 300),
        slow(0, T0 + 60),
    ] {
        assert_eq!(expected_alerts(&single(scenario, 2)).len(), 2);
    }
    // The numbers the scenarios are built around.
    let c = &alerts[0].metrics;
    assert_eq!((c["buy_count_5m"], c["unique_buyers_5m"]), (25.0, 4.0));
    assert!((c["buy_volume_sol_5m"] - 6.2).abs() < 1e-9);
    let s = &alerts[1].metrics;
    assert!(s["buy_count_5m"] >= 40.0 && s["unique_buyers_5m"] >= 12.0);
    assert!(s["avg_buy_size_5m"] < 0.3 && s["top_3_buyers_volume_share_5m"] < 0.8);
    let w = &alerts[2].metrics;
    assert!(w["top_3_buyers_volume_share_5m"] >= 0.8 && w["unique_buyers_5m"] >= 6.0);
    assert!(w["buy_sell_ratio_5m"] <= 10.0);
    let l = &alerts[3].metrics;
    assert!(l["buy_volume_sol_1h"] >= 50.0 && l["unique_buyers_1h"] <= 10.0);
    assert_eq!(
        l["new_wallet_pct_5m"], 0.0,
        "the slow buyers are old by then"
    );
    // Mixed traffic alone never matches anything, at any point.
    assert!(simulate(&mixed(3, T0, 3000, 40, 300, 1500), Suppression::None).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Through the daemon
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concentrated_accumulation_fires_once() {
    run_and_check(&single(concentrated(0, T0 + 300), 2), Topology::All, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stealth_accumulation_fires_once() {
    run_and_check(&single(stealth(0, T0 + 300), 2), Topology::All, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whale_concentration_fires_once() {
    run_and_check(&single(whale(0, T0 + 300), 2), Topology::All, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_one_hour_pattern_fires_once() {
    run_and_check(&single(slow(0, T0 + 60), 2), Topology::All, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_mixed_traffic_fires_nothing() {
    let background = mixed(3, T0, 3000, 40, 300, 1500);
    let script = Script::new(vec![sentinel(T0 + 3300)], background);
    let alerts = run_and_check(&script, Topology::All, "").await;
    assert_eq!(alerts.len(), 1, "only the sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_after_the_cooldown_fires_again() {
    let first = concentrated(0, T0 + 300);
    let second = first.shifted(900);
    let (c1, c2) = (first.crossing().at, second.crossing().at);
    let end = sentinel(c2 + 400);
    // No trade within six minutes after either crossing: the pattern leaves the 5-minute window
    // before anything else happens, so even a detector that re-evaluates the mint as soon as
    // HOT and cooldown expire has nothing to fire on but the repeat.
    let background: Vec<_> = mixed(4, T0, c2 - T0 + 300, 30, 200, 400)
        .into_iter()
        .filter(|t| !(c1 < t.at && t.at <= c1 + 360) && t.at <= c2)
        .collect();
    let script = Script::new(vec![first.clone(), second, end.clone()], background);
    let fired = simulate(&script.trades, Suppression::None);
    let got: Vec<(String, &str)> = fired
        .iter()
        .map(|f| (f.mint.to_string(), f.trigger))
        .collect();
    let c = first.mint.to_string();
    assert_eq!(
        got,
        [
            (c.clone(), "concentrated_accumulation"),
            (c, "concentrated_accumulation"),
            (end.mint.to_string(), "concentrated_accumulation"),
        ],
        "the model matches exactly at the three crossings"
    );
    assert_eq!(fired[1].metrics["buy_count_1h"], 50.0);
    assert_eq!(fired[1].metrics["new_wallet_pct_5m"], 0.0);

    let cooldown = Duration::from_secs(3);
    let detect = "cooldown_secs = 3\nhot_ttl_secs = 3\n";
    let mut system = System::start(&script, fired[0].after - 1, Topology::All, detect).await;
    let mut first_alert: Option<Instant> = None;
    let alerts = play(&mut system, &script, &fired, &mut |_, stage| match stage {
        Stage::Alerted(0) => first_alert = Some(Instant::now()),
        Stage::BeforeCrossing(1) => {
            let at = first_alert.expect("first alert seen");
            // Both the cooldown and the HOT TTL run from the first alert (in wall time and,
            // 15 minutes later, in block time too).
            wait_until("cooldown and HOT TTL passed", DEADLINE, || {
                at.elapsed() > cooldown + Duration::from_secs(1)
            });
        }
        _ => {}
    })
    .await;
    assert_alerts(&alerts, &fired);
    system.geyser.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_ingest_consume_and_two_detect_processes_alert_like_role_all() {
    let script = combined();
    let detect = "sweep_interval_secs = 10\n";
    let all = run_and_check(&script, Topology::All, detect).await;
    let split = run_and_check(&script, Topology::Split, detect).await;
    assert_eq!(all.len(), split.len());
    for (a, s) in all.iter().zip(&split) {
        assert_eq!((&a.mint, &a.trigger), (&s.mint, &s.trigger));
        for (name, v) in &a.metrics {
            let (x, y) = (json_number(v), s.metrics.get(name).and_then(json_number));
            assert!(
                x.zip(y).is_some_and(|(x, y)| metric_matches(name, y, x)),
                "{} {name}: all {x:?}, split {y:?}",
                a.trigger
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_lease_holder_hands_over_without_duplicates_or_misses() {
    let script = combined();
    let expected = expected_alerts(&script);
    let detect = "sweep_interval_secs = 10\n";
    let mut system = System::start(&script, expected[0].after - 1, Topology::Split, detect).await;
    let mut killed: Option<(&str, &str, Instant)> = None;
    let mut handover: Option<Duration> = None;
    let alerts = play(
        &mut system,
        &script,
        &expected,
        &mut |system, stage| match stage {
            // Mid-stream of the second scenario (its trades so far are counted): the holder dies.
            // (detect-a took the lease first and normally still has it; whichever holds it.)
            Stage::BeforeCrossing(1) => {
                let (holder, standby) = system.detect_roles();
                system.daemon(holder).kill9();
                killed = Some((holder, standby, Instant::now()));
            }
            // The standby took over and alerted; the old holder comes back as a standby.
            Stage::Alerted(1) => {
                let (holder, standby, at) = killed.expect("killed before");
                handover = Some(at.elapsed());
                assert!(system.holds_lease(standby), "{:?}", system.lease());
                system.daemon(holder).restart();
            }
            // The holder dies the moment its alert is in the table (its bookkeeping may be
            // half done). The standby takes over, re-evaluates every recent mint — that one
            // still matches its trigger — and must not alert it again.
            Stage::Alerted(2) => {
                let (holder, standby) = system.detect_roles();
                let sweeps = |d: &Daemon| metric_sum(&d.metrics(), SWEEP_EVALUATIONS);
                let cycles = |d: &Daemon| metric_sum(&d.metrics(), DETECT_CYCLES);
                let before = sweeps(system.daemon(standby));
                system.daemon(holder).kill9();
                wait_until("the standby takes over and sweeps", DEADLINE, || {
                    system.holds_lease(standby) && sweeps(system.daemon(standby)) > before
                });
                let swept = cycles(system.daemon(standby));
                wait_until("the sweeping cycle ends", DEADLINE, || {
                    cycles(system.daemon(standby)) > swept
                });
                let alerts = system.alerts();
                assert_eq!(alerts.len(), 3, "no duplicate: {alerts:#?}");
                system.daemon(holder).restart();
            }
            _ => {}
        },
    )
    .await;
    assert_alerts(&alerts, &expected);
    let handover = handover.expect("handover measured");
    eprintln!("handover: alert {handover:?} after the kill");
    assert!(handover < DEADLINE, "{handover:?}");
    system.geyser.shutdown().await;
}
