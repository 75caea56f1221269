//! The shipped Grafana dashboard (`grafana/dashboards/pocketwatcher.json`) checked the way Grafana
//! would run it: every PromQL expression goes through a real Prometheus that scrapes a real daemon
//! fed by the fake Geyser, and every SQL panel runs against the daemon's PostgreSQL. The queries
//! are read from the JSON file, so the check follows the file.
//!
//! The daemon is configured so that every part of the dashboard has something to show: a trigger
//! that fires on any buy, a Discord stand-in that fails once (a retry) then accepts, a feed that
//! drops its stream once (a reconnect and replayed duplicates), a consumer that reads entries and
//! dies (they are reclaimed), and one undecodable stream entry (a dead letter). Metrics that only
//! move on rarer events (errors, backpressure, restarts) must be exported at 0 from start-up.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pocketwatcher::fake_geyser::{FakeGeyser, FakeGeyserConfig};
use serde_json::Value;

use support::daemon::{Daemon, DaemonConfig};
use support::fake_chat::{FakeDiscord, Reply};
use support::fake_rpc::FakeRpc;
use support::prometheus::{QueryResult, TestPrometheus};
use support::{unique_name, wait_until, TestPostgres, TestRedis};

const DASHBOARD: &str = include_str!("../grafana/dashboards/pocketwatcher.json");
const DATASOURCES: &str = include_str!("../grafana/provisioning/datasources/pocketwatcher.yaml");
const CATALOGUE: &str = include_str!("../src/metrics.rs");
const README: &str = include_str!("../README.md");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mainnet");

const PROMETHEUS_UID: &str = "pocketwatcher-prometheus";
const POSTGRES_UID: &str = "pocketwatcher-postgres";

/// What `$__rate_interval` stands for here (Grafana: at least four scrape intervals; we scrape
/// every second).
const RATE_INTERVAL: &str = "1m";

/// How long every query gets to return data once the stack runs (rates need two samples, alerts
/// need a detection and a delivery).
const DATA_DEADLINE: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// The dashboard's queries
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Language {
    PromQl,
    Sql,
}

/// One query of one panel (or of a template variable), as written in the file.
#[derive(Debug, Clone)]
struct PanelQuery {
    /// `panel title / refId`, for messages.
    name: String,
    language: Language,
    text: String,
    /// Grafana's result format (`time_series`, `table`); a time series needs a `time` column.
    format: String,
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("grafana/dashboards/pocketwatcher.json is JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every query of every panel, by the datasource it runs on (a target's own datasource wins over
/// its panel's). A panel on any other datasource is an error: it would go unchecked.
fn panel_queries(dashboard: &Value) -> Result<Vec<PanelQuery>, String> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("<untitled>");
        let targets = panel["targets"].as_array().filter(|t| !t.is_empty());
        let targets = targets.ok_or_else(|| format!("panel {title:?} has no query"))?;
        for target in targets {
            let name = format!("{title} / {}", target["refId"].as_str().unwrap_or("?"));
            let datasource = if target["datasource"].is_object() {
                &target["datasource"]
            } else {
                &panel["datasource"]
            };
            let uid = datasource["uid"].as_str().unwrap_or("");
            let (language, text) = match uid {
                PROMETHEUS_UID => (Language::PromQl, target["expr"].as_str()),
                POSTGRES_UID => (Language::Sql, target["rawSql"].as_str()),
                other => return Err(format!("{name}: unknown datasource uid {other:?}")),
            };
            let text = text
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| format!("{name}: empty query"))?;
            out.push(PanelQuery {
                name,
                language,
                text: text.to_string(),
                format: target["format"]
                    .as_str()
                    .unwrap_or("time_series")
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// The template variables with the value Grafana uses for "All" (their `allValue`).
fn variables(dashboard: &Value) -> Vec<(String, String)> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let value = v["allValue"].as_str().unwrap_or(".*");
            (
                v["name"].as_str().unwrap_or("").to_string(),
                value.to_string(),
            )
        })
        .collect()
}

/// The variables' own queries, as PromQL: `label_values(m, l)` lists the values of `l` on the
/// series `m`, i.e. `count by (l) (m)` must return series.
fn variable_queries(dashboard: &Value) -> Result<Vec<PanelQuery>, String> {
    let mut out = Vec::new();
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = v["name"].as_str().unwrap_or("?");
        if v["type"] != "query" {
            continue;
        }
        let definition = v["definition"].as_str().unwrap_or("");
        let inner = definition
            .strip_prefix("label_values(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| format!("variable {name}: unsupported query {definition:?}"))?;
        let (metric, label) = inner
            .rsplit_once(',')
            .ok_or_else(|| format!("variable {name}: label_values needs a metric"))?;
        out.push(PanelQuery {
            name: format!("variable ${name}"),
            language: Language::PromQl,
            text: format!("count by ({}) ({})", label.trim(), metric.trim()),
            format: "table".into(),
        });
    }
    Ok(out)
}

/// Replaces template variables and Grafana's interval variables in a PromQL expression; any other
/// `$variable` is an error (Grafana would leave it in and Prometheus would reject it).
fn expand_promql(expr: &str, variables: &[(String, String)]) -> Result<String, String> {
    let mut values: Vec<(String, String)> = variables.to_vec();
    values.push(("__rate_interval".into(), RATE_INTERVAL.into()));
    values.push(("__interval".into(), "15s".into()));
    values.push(("__range".into(), "1h".into()));
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut out = expr.to_string();
    for (name, value) in &values {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("[[{name}]]"), value);
        out = replace_word(&out, &format!("${name}"), value);
    }
    if let Some(at) = find_variable(&out) {
        return Err(format!("unknown variable at {:?}", &out[at..]));
    }
    Ok(out)
}

/// Replaces `word` where it is not followed by an identifier character.
fn replace_word(text: &str, word: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(word);
        } else {
            out.push_str(value);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Position of a `$name`, `${...}` left in a query.
fn find_variable(text: &str) -> Option<usize> {
    text.char_indices().find_map(|(i, c)| {
        let next = text[i + 1..].chars().next();
        (c == '$' && next.is_some_and(|n| n.is_ascii_alphabetic() || n == '_' || n == '{'))
            .then_some(i)
    })
}

/// Expands Grafana's PostgreSQL macros the way Grafana does, for the time range `from..to`
/// (Unix seconds). An unknown macro is an error, so the check never runs a query Grafana would
/// run differently.
fn expand_sql(sql: &str, from: i64, to: i64) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("$__") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let mut tail = &after[name_len..];
        let mut args: Vec<String> = Vec::new();
        if let Some(inner) = tail.strip_prefix('(') {
            let close = matching_paren(inner).ok_or_else(|| format!("unclosed $__{name}("))?;
            args = split_args(&inner[..close]);
            tail = &inner[close + 1..];
        }
        let arg = |i: usize| {
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("$__{name} needs argument {}", i + 1))
        };
        let group = |alias: bool| -> Result<String, String> {
            let seconds = interval_seconds(&arg(1)?)?;
            let column = arg(0)?;
            let alias = if alias { " AS \"time\"" } else { "" };
            Ok(format!(
                "floor(extract(epoch from {column})/{seconds})*{seconds}{alias}"
            ))
        };
        let expansion = match name {
            "timeFilter" => format!(
                "{} BETWEEN '{}' AND '{}'",
                arg(0)?,
                rfc3339(from),
                rfc3339(to)
            ),
            "timeFrom" => format!("'{}'", rfc3339(from)),
            "timeTo" => format!("'{}'", rfc3339(to)),
            "timeGroup" => group(false)?,
            "timeGroupAlias" => group(true)?,
            "unixEpochFilter" => format!("{0} >= {from} AND {0} <= {to}", arg(0)?),
            "unixEpochFrom" => from.to_string(),
            "unixEpochTo" => to.to_string(),
            other => return Err(format!("unsupported macro $__{other}")),
        };
        out.push_str(&expansion);
        rest = tail;
    }
    out.push_str(rest);
    if let Some(at) = find_variable(&out) {
        return Err(format!("unknown variable at {:?}", &out[at..]));
    }
    Ok(out)
}

/// Index of the `)` closing an already opened parenthesis.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                args.push(text[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text.trim().is_empty() {
        args.push(text[start..].trim().to_string());
    }
    args
}

/// `'5m'`, `30s`, `1h`, `1d` → seconds.
fn interval_seconds(text: &str) -> Result<u64, String> {
    let t = text.trim().trim_matches('\'');
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("bad interval {text:?}"))?;
    let unit = match &t[split..] {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("bad interval {text:?}")),
    };
    Ok(n * unit)
}

/// Unix seconds → `2024-01-02T03:04:05Z` (what Grafana puts in `$__timeFilter`).
fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

// ---------------------------------------------------------------------------------------------
// The metric catalogue (src/metrics.rs)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Metric name → kind, from the constants and `describe_*!` calls of src/metrics.rs.
fn catalogue() -> BTreeMap<String, Kind> {
    let mut names = BTreeMap::new();
    for line in CATALOGUE.lines() {
        let Some(rest) = line.trim().strip_prefix("pub const ") else {
            continue;
        };
        let Some((constant, value)) = rest.split_once(": &str = \"") else {
            continue;
        };
        if let Some(name) = value.strip_suffix("\";") {
            names.insert(constant.to_string(), name.to_string());
        }
    }
    let compact: String = CATALOGUE.split_whitespace().collect();
    let mut kinds = BTreeMap::new();
    for (kind, macro_name) in [
        (Kind::Counter, "describe_counter!("),
        (Kind::Gauge, "describe_gauge!("),
        (Kind::Histogram, "describe_histogram!("),
    ] {
        for part in compact.split(macro_name).skip(1) {
            let constant = part.split(',').next().unwrap_or("");
            let name = names
                .get(constant)
                .unwrap_or_else(|| panic!("{macro_name}{constant}: no such constant"));
            kinds.insert(name.clone(), kind);
        }
    }
    kinds
}

/// Every `pocketwatcher_*` name in an expression, with the text before it.
fn metric_uses(expr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = expr;
    let mut offset = 0;
    while let Some(at) = rest.find("pocketwatcher_") {
        let start = offset + at;
        let len = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expr.len() - start);
        out.push((
            expr[start..start + len].to_string(),
            expr[..start].to_string(),
        ));
        offset = start + len;
        rest = &expr[offset..];
    }
    out
}

/// Problems with the metric names of one expression: unknown names, histogram series on a
/// non-histogram, a bare histogram name, a counter not under rate()/increase(), a rate of a gauge.
fn metric_problems(expr: &str, catalogue: &BTreeMap<String, Kind>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, before) in metric_uses(expr) {
        let before = before.trim_end();
        let under_rate = ["rate(", "increase(", "irate("]
            .iter()
            .any(|f| before.ends_with(f));
        let histogram_part = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s));
        match (catalogue.get(&name), histogram_part) {
            (Some(Kind::Counter), _) if !name.ends_with("_total") => {
                problems.push(format!("counter {name} does not end in _total"))
            }
            (Some(Kind::Counter), _) if !under_rate => {
                problems.push(format!("counter {name} is not under rate() or increase()"))
            }
            (Some(Kind::Gauge), _) if under_rate => {
                problems.push(format!("gauge {name} is under rate() or increase()"))
            }
            (Some(Kind::Histogram), _) => problems.push(format!(
                "histogram {name} has no _bucket/_sum/_count suffix"
            )),
            (Some(_), _) => {}
            (None, Some(base)) if catalogue.get(base) == Some(&Kind::Histogram) => {
                if !under_rate {
                    problems.push(format!("{name} is not under rate() or increase()"));
                }
            }
            (None, _) => problems.push(format!("{name} is not in src/metrics.rs")),
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Static checks
// ---------------------------------------------------------------------------------------------

#[test]
fn the_dashboard_is_a_provisionable_grafana_dashboard() {
    let d = dashboard();
    assert_eq!(d["uid"], "pocketwatcher");
    assert!(
        d["schemaVersion"].as_u64().unwrap_or(0) >= 39,
        "schemaVersion"
    );
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    let (mut ids, mut titles) = (BTreeSet::new(), BTreeSet::new());
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("<untitled>");
        assert!(
            ids.insert(panel["id"].as_u64().expect("panel id")),
            "duplicate panel id in {title:?}"
        );
        assert!(titles.insert(title), "two panels are titled {title:?}");
        let pos = &panel["gridPos"];
        for key in ["h", "w", "x", "y"] {
            assert!(pos[key].is_u64(), "{title:?}: gridPos.{key}");
        }
        assert!(
            pos["x"].as_u64().unwrap() + pos["w"].as_u64().unwrap() <= 24,
            "{title:?} width"
        );
        if panel["type"] != "row" {
            let uid = panel["datasource"]["uid"].as_str();
            assert!(
                uid == Some(PROMETHEUS_UID) || uid == Some(POSTGRES_UID),
                "{title:?}: datasource {uid:?}"
            );
        }
    }
    // The uids the panels use are the ones provisioned.
    for uid in [PROMETHEUS_UID, POSTGRES_UID] {
        assert!(
            DATASOURCES.contains(&format!("uid: {uid}\n")),
            "{uid} provisioned"
        );
    }
    let queries = panel_queries(&d).unwrap();
    assert!(queries.iter().any(|q| q.language == Language::Sql));
    assert!(queries.len() > 40, "{} queries", queries.len());
}

#[test]
fn every_expression_uses_catalogue_metrics_the_way_their_kind_allows() {
    let catalogue = catalogue();
    assert!(catalogue.len() > 50, "catalogue parsed: {catalogue:?}");
    assert_eq!(
        catalogue.get("pocketwatcher_end_to_end_seconds"),
        Some(&Kind::Histogram)
    );
    let d = dashboard();
    let vars = variables(&d);
    let mut problems = Vec::new();
    for q in panel_queries(&d)
        .unwrap()
        .iter()
        .chain(&variable_queries(&d).unwrap())
    {
        if q.language != Language::PromQl {
            continue;
        }
        match expand_promql(&q.text, &vars) {
            Ok(expr) => {
                for p in metric_problems(&expr, &catalogue) {
                    problems.push(format!("{}: {p}", q.name));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", q.name)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_metrics_table_lists_the_whole_catalogue() {
    let missing: Vec<String> = catalogue()
        .into_keys()
        .filter(|name| !README.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md, section Metrics, has no row for {missing:?}"
    );
}

#[test]
fn the_metric_check_catches_misuse() {
    let catalogue = catalogue();
    let problems = |e: &str| metric_problems(e, &catalogue);
    assert!(problems("rate(pocketwatcher_entries_processed_total[1m])").is_empty());
    assert!(problems("pocketwatcher_stream_length").is_empty());
    assert!(problems(
        "histogram_quantile(0.9, sum by (le) (rate(pocketwatcher_stage_seconds_bucket[1m])))"
    )
    .is_empty());
    assert_eq!(problems("rate(pocketwatcher_no_such_total[1m])").len(), 1);
    assert_eq!(problems("pocketwatcher_entries_processed_total").len(), 1);
    assert_eq!(problems("rate(pocketwatcher_stream_length[1m])").len(), 1);
    assert_eq!(problems("pocketwatcher_stage_seconds").len(), 1);
    assert_eq!(
        problems("rate(pocketwatcher_stream_length_bucket[1m])").len(),
        1
    );
}

#[test]
fn grafana_variables_and_macros_expand_like_grafana() {
    let vars = vec![("instance".to_string(), ".*".to_string())];
    assert_eq!(
        expand_promql(
            r#"sum(rate(x_total{instance=~"$instance"}[$__rate_interval])) + y{i="${instance}"}"#,
            &vars
        )
        .unwrap(),
        format!(r#"sum(rate(x_total{{instance=~".*"}}[{RATE_INTERVAL}])) + y{{i=".*"}}"#)
    );
    assert!(expand_promql("x{a=\"$unknown\"}", &vars).is_err());
    assert!(expand_promql("x{a=\"$instances\"}", &vars).is_err());

    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(951_825_600), "2000-02-29T12:00:00Z");
    let sql = "SELECT $__timeGroupAlias(a.created_at, '5m'), count(*) FROM alerts a \
               WHERE $__timeFilter(a.created_at) AND $__unixEpochFilter(t) GROUP BY 1";
    assert_eq!(
        expand_sql(sql, 1_700_000_000, 1_700_003_600).unwrap(),
        "SELECT floor(extract(epoch from a.created_at)/300)*300 AS \"time\", count(*) FROM \
         alerts a WHERE a.created_at BETWEEN '2023-11-14T22:13:20Z' AND \
         '2023-11-14T23:13:20Z' AND t >= 1700000000 AND t <= 1700003600 GROUP BY 1"
    );
    assert!(expand_sql("SELECT $__timeEpoch(t)", 0, 1).is_err());
    assert!(expand_sql("SELECT $var", 0, 1).is_err());
    assert!(expand_sql("SELECT $__timeFilter(", 0, 1).is_err());
}

// ---------------------------------------------------------------------------------------------
// The real check
// ---------------------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct Rows {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs a panel's SQL (macros expanded) and counts its rows; a time series must have a `time`
/// column with values.
async fn run_sql(conn: &mut AsyncPgConnection, q: &PanelQuery) -> Result<i64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let sql = expand_sql(&q.text, now - 3600, now + 60)?;
    let sql = sql.trim().trim_end_matches(';');
    let time_filter = if q.format == "time_series" {
        " WHERE panel.\"time\" IS NOT NULL"
    } else {
        ""
    };
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM ({sql}) AS panel{time_filter}"
    ))
    .get_result::<Rows>(conn)
    .await
    .map(|r| r.n)
    .map_err(|e| e.to_string())
}

/// Names of catalogue metrics the daemon's `/metrics` does not export (yet).
fn unexported(metrics_text: &str) -> Vec<String> {
    catalogue()
        .into_iter()
        .filter(|(name, _)| {
            !metrics_text
                .lines()
                .any(|l| !l.starts_with('#') && l.starts_with(name.as_str()))
        })
        .map(|(name, _)| name)
        .collect()
}

#[derive(Default)]
struct Pass {
    rejected: Vec<String>,
    empty: Vec<String>,
    /// query name → what it returned, for the report.
    returned: BTreeMap<String, String>,
}

async fn run_every_query(
    prom: &TestPrometheus,
    pg: &mut AsyncPgConnection,
    queries: &[PanelQuery],
    vars: &[(String, String)],
) -> Pass {
    let mut pass = Pass::default();
    for q in queries {
        match q.language {
            Language::PromQl => {
                let expr = match expand_promql(&q.text, vars) {
                    Ok(e) => e,
                    Err(e) => {
                        pass.rejected.push(format!("{}: {e}", q.name));
                        continue;
                    }
                };
                match prom.query(&expr) {
                    QueryResult::Rejected(e) => {
                        pass.rejected.push(format!("{}: {e}\n    {expr}", q.name))
                    }
                    QueryResult::Series(s) if s.is_empty() => {
                        pass.empty.push(format!("{}: {expr}", q.name))
                    }
                    QueryResult::Series(s) => {
                        let nan = s.iter().all(|(_, v)| v == "NaN");
                        let note = if nan {
                            " (all NaN: no observations in the window)"
                        } else {
                            ""
                        };
                        pass.returned
                            .insert(q.name.clone(), format!("{} series{note}", s.len()));
                    }
                }
            }
            Language::Sql => match run_sql(pg, q).await {
                Err(e) => pass.rejected.push(format!("{}: {e}", q.name)),
                Ok(0) => pass.empty.push(format!("{}: no rows", q.name)),
                Ok(n) => {
                    pass.returned.insert(q.name.clone(), format!("{n} rows"));
                }
            },
        }
    }
    pass
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_data_from_a_real_prometheus_and_postgres() {
    let d = dashboard();
    let vars = variables(&d);
    let mut queries = panel_queries(&d).unwrap();
    queries.extend(variable_queries(&d).unwrap());

    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    let db = unique_name("pw");
    pg.create_database(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&pg.url(&db)).unwrap();

    // Discord fails once (a retry), then accepts. The JSON-RPC stand-in knows no mint: supply
    // lookups fail and alerts go out with an unknown market cap.
    let discord = FakeDiscord::start();
    discord.script([Reply::status(500)]);
    let rpc = FakeRpc::start();

    // Endless traffic over few mints, so every rate has recent samples and mints get buys; the
    // feed drops the stream once, so ingest reconnects and replays an overlap (duplicates).
    let mut geyser_config = FakeGeyserConfig::new(FIXTURES);
    geyser_config.rate = 300;
    geyser_config.traffic.mints = 20;
    geyser_config.drop_after = Some(1_500);
    let geyser = FakeGeyser::start(geyser_config).await.unwrap();

    let dir = std::env::temp_dir().join(unique_name("pw-dashboard"));
    std::fs::create_dir_all(&dir).unwrap();
    let triggers = dir.join("triggers.toml");
    std::fs::write(
        &triggers,
        "[[triggers]]\nname = \"dashboard_any_buy\"\nconditions = [\"buy_count_5m >= 1\"]\n",
    )
    .unwrap();

    let mut config = DaemonConfig::new(redis.url(), pg.url(&db));
    config.yellowstone_endpoint = geyser.endpoint();
    config.extra = format!(
        "[ingest]\nlinger_ms = 2\n\
         [swap_store]\nretention_interval_secs = 2\n\
         [detect]\ntriggers_file = \"{}\"\nmin_mcap_sol = 0.0\n\
         [enrich]\nrpc_url = \"{}\"\n\
         [alerts]\ndiscord_webhook_url = \"{}\"\nretry_initial_ms = 200\nretry_max_secs = 1\n",
        triggers.display(),
        rpc.url(),
        discord.url()
    );
    let daemon = Daemon::start(&config, "all");

    // A consumer that reads and dies: the daemon takes its entries over (reclaimed).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    pocketwatcher::store::redis::stream::ensure_group(&mut conn)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let read: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("parsers")
            .arg("dead-consumer")
            .arg("COUNT")
            .arg(20)
            .arg("BLOCK")
            .arg(1_000)
            .arg("STREAMS")
            .arg("stream:tx")
            .arg(">")
            .query_async(&mut conn)
            .await
            .unwrap();
        if read != redis::Value::Nil {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no traffic reached the stream:\n{}",
            daemon.log()
        );
    }
    // One entry no decoder accepts: a dead letter.
    let _: String = redis::cmd("XADD")
        .arg("stream:tx")
        .arg("*")
        .arg("data")
        .arg(b"\xffnot a transaction".as_slice())
        .query_async(&mut conn)
        .await
        .unwrap();

    let prom = TestPrometheus::start(&[format!("127.0.0.1:{}", daemon.metrics_port)]);
    wait_until(
        "Prometheus has scraped the daemon a few times",
        Duration::from_secs(60),
        || prom.scrapes() >= 5,
    );

    let mut pg_conn = AsyncPgConnection::establish(&pg.url(&db)).await.unwrap();
    let started = Instant::now();
    let last = loop {
        let pass = run_every_query(&prom, &mut pg_conn, &queries, &vars).await;
        // A rejected query never recovers: stop at once.
        if !pass.rejected.is_empty() || pass.empty.is_empty() || started.elapsed() > DATA_DEADLINE {
            break pass;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };

    println!("queries that returned data ({}):", last.returned.len());
    for (name, what) in &last.returned {
        println!("  {name}: {what}");
    }
    if !last.rejected.is_empty() || !last.empty.is_empty() {
        let metrics = daemon.metrics();
        let log = daemon.log();
        let tail = &log[log.len().saturating_sub(4_000)..];
        panic!(
            "{} of {} dashboard queries failed.\n\nRejected:\n  {}\n\nNo data after {:?}:\n  {}\n\n\
             Catalogue metrics the daemon does not export: {:?}\n\
             Discord requests received: {}, delivered: {}; RPC requests: {}\n\nPrometheus log:\n{}\n\nDaemon log (tail):\n{tail}",
            last.rejected.len() + last.empty.len(),
            queries.len(),
            last.rejected.join("\n  "),
            DATA_DEADLINE,
            last.empty.join("\n  "),
            unexported(&metrics),
            discord.received().len(),
            discord.delivered().len(),
            rpc.requests().len(),
            prom.log(),
        );
    }
    assert_eq!(last.returned.len(), queries.len());
    geyser.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
