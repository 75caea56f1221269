//! The alert-outcomes Grafana dashboard (`grafana/dashboards/pocketwatcher-outcomes.json`) checked
//! the way Grafana would run it: every panel's SQL, its macros expanded as Grafana expands them,
//! runs against a real PostgreSQL holding alerts whose outcomes the real filler computed, and must
//! return rows (a time series with its `time` column). The scoreboard panel must give the same
//! numbers as `pocketwatcher outcomes` (the domain's scoreboard over the same rows).

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pocketwatcher::domain::outcome::{scoreboard, Scored, TriggerScore};
use pocketwatcher::domain::QuoteAssets;
use pocketwatcher::outcomes::filler::Filler;
use pocketwatcher::store::postgres::outcomes::{self, QuoteMints};
use serde_json::Value;
use support::{unique_name, TestPostgres};

const DASHBOARD: &str = include_str!("../grafana/dashboards/pocketwatcher-outcomes.json");
const DATASOURCES: &str = include_str!("../grafana/provisioning/datasources/pocketwatcher.yaml");
const POSTGRES_UID: &str = "pocketwatcher-postgres";

struct PanelQuery {
    title: String,
    format: String,
    sql: String,
}

fn queries() -> Vec<PanelQuery> {
    let d: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    d["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            p["targets"]
                .as_array()
                .unwrap_or_else(|| panic!("{title}: no targets"))
                .iter()
                .map(move |t| {
                    let uid = t["datasource"]["uid"]
                        .as_str()
                        .or(p["datasource"]["uid"].as_str());
                    assert_eq!(uid, Some(POSTGRES_UID), "{title}: datasource");
                    PanelQuery {
                        title: title.clone(),
                        format: t["format"].as_str().unwrap_or("time_series").into(),
                        sql: t["rawSql"].as_str().expect("rawSql").into(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Grafana's unix-epoch macros (the only ones the dashboard uses); anything else is an error.
fn expand(sql: &str, from: i64, to: i64) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("$__") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let open = after.find('(').ok_or("macro without arguments")?;
        let close = after.find(')').ok_or("unclosed macro")?;
        let name = &after[..open];
        let args: Vec<&str> = after[open + 1..close].split(',').map(str::trim).collect();
        out.push_str(&match (name, args.as_slice()) {
            ("unixEpochFilter", [col]) => format!("{col} >= {from} AND {col} <= {to}"),
            ("unixEpochGroupAlias", [col, interval]) => {
                let i = interval.trim_matches('\'');
                let (n, unit) = i.split_at(i.len() - 1);
                let n: i64 = n.parse().map_err(|_| format!("interval {i}"))?;
                let secs = n * match unit {
                    "m" => 60,
                    "h" => 3_600,
                    "d" => 86_400,
                    _ => return Err(format!("interval {i}")),
                };
                format!("floor({col}/{secs})*{secs} AS \"time\"")
            }
            _ => return Err(format!("unsupported macro $__{name}")),
        });
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    if out.contains('$') {
        return Err(format!("unexpanded variable in {out}"));
    }
    Ok(out)
}

#[test]
fn the_dashboard_is_provisionable_and_every_panel_is_on_postgres() {
    let d: Value = serde_json::from_str(DASHBOARD).unwrap();
    assert_eq!(d["uid"], "pocketwatcher-outcomes");
    assert!(DATASOURCES.contains(&format!("uid: {POSTGRES_UID}\n")));
    let q = queries();
    assert!(q.len() >= 5, "{} queries", q.len());
    assert!(q.iter().any(|q| q.title.contains("Scoreboard")));
    assert!(q.iter().any(|q| q.title.contains("Last alerts")));
    assert!(expand("SELECT $__timeFilter(x)", 0, 1).is_err());
    assert_eq!(
        expand(
            "$__unixEpochGroupAlias(t, '6h') WHERE $__unixEpochFilter(t)",
            5,
            9
        )
        .unwrap(),
        "floor(t/21600)*21600 AS \"time\" WHERE t >= 5 AND t <= 9"
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, Debug, PartialEq)]
struct ScoreRow {
    #[diesel(sql_type = Text)]
    trigger: String,
    #[diesel(sql_type = BigInt)]
    alerts: i64,
    #[diesel(sql_type = Nullable<Double>)]
    doubled_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    up_half_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    median_runup: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p90_runup: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    median_drawdown: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    stopped: Option<f64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_returns_rows_and_the_scoreboard_matches_the_command() {
    let pg = TestPostgres::new();
    let db = unique_name("outcomes_dash");
    pg.create_database(&db);
    let url = pg.url(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&url).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t0 = now - 2 * 86_400;
    // Twelve alerts over three triggers, each mint trading before and after its alert along its
    // own path (some double, some fall, some stop trading), then a swap that moves the chain clock
    // past every 24 h horizon.
    pg.psql(
        &db,
        &format!(
            "INSERT INTO alerts (mint, token_symbol, trigger_name, trigger_reason, dedup_key, chain_time) \
             SELECT 'Mint' || i, 'T' || i, (ARRAY['whale', 'stealth', 'slow'])[i % 3 + 1], 'r', \
             'k' || i, {t0} + i * 600 FROM generate_series(1, 12) i; \
             INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, \
             base_mint, base_amount, base_decimals, quote_mint, quote_amount, quote_decimals) \
             SELECT 's' || i || '_' || k, 0, k, {t0} + i * 600 + k * k * 60 - 60, 'pumpswap', 'w' || k, \
             CASE WHEN k % 3 = 0 THEN 'sell' ELSE 'buy' END, 'Mint' || i, 1000000, 6, \
             'So11111111111111111111111111111111111111112', \
             (1000000000 * (1 + (i % 4) * 0.4 * k - CASE WHEN i % 4 = 0 THEN 0.03 * k ELSE 0 END))::bigint, 9 \
             FROM generate_series(1, 12) i, generate_series(0, CASE WHEN i % 2 = 0 THEN 25 ELSE 33 END) k; \
             INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, \
             base_mint, base_amount, base_decimals, quote_mint, quote_amount, quote_decimals) \
             VALUES ('clock', 0, 1, {}, 'pumpswap', 'w', 'buy', 'Clock', 1, 6, \
             'So11111111111111111111111111111111111111112', 1, 9)",
            t0 + 12 * 600 + 86_400 + 120
        ),
    );
    let pool = pocketwatcher::store::postgres::connect(&url, 2)
        .await
        .unwrap();
    let filler = Filler {
        pool: pool.clone(),
        quotes: QuoteMints::of(&QuoteAssets::default()),
        every: std::time::Duration::from_secs(1),
        settle_secs: 60,
        batch: 5,
        register_days: 3,
    };
    assert_eq!(filler.pass().await.unwrap(), 12);

    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let (from, to) = (now - 7 * 86_400, now);
    for q in queries() {
        let sql = expand(&q.sql, from, to).unwrap_or_else(|e| panic!("{}: {e}", q.title));
        let filter = if q.format == "time_series" {
            " WHERE panel.\"time\" IS NOT NULL"
        } else {
            ""
        };
        let n = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM ({sql}) AS panel{filter}"
        ))
        .get_result::<Count>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", q.title))
        .n;
        assert!(n > 0, "{}: no rows\n{sql}", q.title);
    }

    // The scoreboard panel agrees with `pocketwatcher outcomes`.
    let panel = queries()
        .into_iter()
        .find(|q| q.title.contains("Scoreboard"))
        .unwrap();
    let sql = expand(&panel.sql, from, to).unwrap();
    let rows: Vec<ScoreRow> = diesel::sql_query(format!(
        "SELECT \"trigger\" AS trigger, \"alerts\" AS alerts, \"2x within 1h\"::float8 AS doubled_1h, \
         \"+50% within 24h\"::float8 AS up_half_24h, \"median run-up 24h\" AS median_runup, \
         \"p90 run-up 24h\" AS p90_runup, \"median drawdown 24h\" AS median_drawdown, \
         \"stopped trading\"::float8 AS stopped FROM ({sql}) AS panel ORDER BY 1"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let stored = outcomes::stored(&pool, from, None, 1_000).await.unwrap();
    let board = scoreboard(
        &stored
            .into_iter()
            .map(|s| Scored {
                trigger: s.trigger,
                outcome: s.outcome,
            })
            .collect::<Vec<_>>(),
    );
    // `outcomes` aggregates in SQL (flat memory): the same numbers as the domain's scoreboard.
    assert_eq!(
        outcomes::scoreboard(&pool, from, None).await.unwrap(),
        board,
        "SQL scoreboard = domain scoreboard"
    );
    let one = &board[0].trigger;
    assert_eq!(
        outcomes::scoreboard(&pool, from, Some(one)).await.unwrap(),
        board[..1].to_vec()
    );
    let expected: Vec<ScoreRow> = board
        .iter()
        .map(|s| ScoreRow {
            trigger: s.trigger.clone(),
            alerts: s.alerts as i64,
            doubled_1h: TriggerScore::share(s.doubled_1h, s.scored_1h),
            up_half_24h: TriggerScore::share(s.up_half_24h, s.scored_24h),
            median_runup: s.median_runup_24h,
            p90_runup: s.p90_runup_24h,
            median_drawdown: s.median_drawdown_24h,
            stopped: TriggerScore::share(s.stopped, s.scored_24h),
        })
        .collect();
    assert_eq!(rows.len(), 3);
    for (got, want) in rows.iter().zip(&expected) {
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-12,
            (a, b) => a == b,
        };
        assert!(
            got.trigger == want.trigger
                && got.alerts == want.alerts
                && close(got.doubled_1h, want.doubled_1h)
                && close(got.up_half_24h, want.up_half_24h)
                && close(got.median_runup, want.median_runup)
                && close(got.p90_runup, want.p90_runup)
                && close(got.median_drawdown, want.median_drawdown)
                && close(got.stopped, want.stopped),
            "dashboard {got:?}\ncommand   {want:?}"
        );
    }
    // The data is not degenerate: some alerts doubled, some did not, some stopped trading.
    assert!(expected.iter().any(|s| s.doubled_1h.unwrap_or(0.0) > 0.0));
    assert!(expected.iter().any(|s| s.doubled_1h.unwrap_or(1.0) < 1.0));
    assert!(expected.iter().any(|s| s.stopped.unwrap_or(0.0) > 0.0));
}
