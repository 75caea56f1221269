//! `alert_outcomes`: what each alert's token did afterwards, computed from `swap_events` in
//! batched, index-backed statements (`idx_swap_events_base_mint` for every per-mint lookup), and
//! the scoreboards read from it.
//!
//! One SQL text computes an outcome, whether it fills `alert_outcomes` for the detector
//! ([`fill`]) or scores backtest alerts that were never sent ([`compute`]).

use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, SmallInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

use super::error::PgError;
use super::pool::{checkout, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use crate::domain::outcome::{Outcome, HORIZONS};

/// The SOL value of a trade: SOL-quoted lamports, or USD-stablecoin-quoted micro-dollars at the
/// SOL/USD of the alert's hour (`fx`), as the counters convert them.
const SOL: &str = "(CASE WHEN s.quote_mint = $6 THEN s.quote_amount::float8 / 1e9 \
    ELSE (CASE WHEN s.quote_decimals >= 6 THEN div(s.quote_amount, 10::numeric ^ (s.quote_decimals - 6)) \
    ELSE s.quote_amount * 10::numeric ^ (6 - s.quote_decimals) END)::float8 / 1e6 / fx.usd_per_sol END)";
/// Trades that have a SOL value and a price.
const PRICED: &str = "s.base_amount > 0 AND s.quote_amount > 0 AND (s.quote_mint = $6 \
    OR (s.quote_mint = ANY($5::text[]) AND fx.usd_per_sol > 0))";

/// The outcome columns of every `(alert_id, mint, alert_time, points)` given: $1–$4 the alerts,
/// $5 the USD stablecoin mints, $6 the wrapped-SOL mint. Points not yet reached come back too;
/// callers keep only the first `points`.
fn outcome_sql() -> String {
    let price = format!("({SOL} / (s.base_amount::float8 / 10::float8 ^ s.base_decimals))");
    let point = |name: &str, offset: i64| {
        format!(
            "LEFT JOIN LATERAL (SELECT {price} AS price FROM swap_events s \
             WHERE s.base_mint = d.mint AND s.block_time <= d.t0 + {offset} AND {PRICED} \
             ORDER BY s.block_time DESC, s.slot DESC LIMIT 1) {name} ON true"
        )
    };
    let span = |name: &str, secs: i64| {
        format!(
            "LEFT JOIN LATERAL (SELECT max({price}) AS hi, min({price}) AS lo, \
             coalesce(sum({SOL}) FILTER (WHERE s.side = 'buy'), 0) AS buy_sol, \
             coalesce(sum({SOL}) FILTER (WHERE s.side = 'sell'), 0) AS sell_sol \
             FROM swap_events s WHERE s.base_mint = d.mint AND s.block_time > d.t0 \
             AND s.block_time <= d.t0 + {secs} AND {PRICED}) {name} ON true"
        )
    };
    format!(
        "WITH d AS (SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int2[]) \
             AS d(alert_id, mint, t0, k)), \
         fx AS (SELECT d.alert_id, sum(CASE WHEN s.base_decimals >= 6 \
                 THEN div(s.base_amount, 10::numeric ^ (s.base_decimals - 6)) \
                 ELSE s.base_amount * 10::numeric ^ (6 - s.base_decimals) END)::float8 / 1e6 \
                 / nullif(sum(s.quote_amount)::float8 / 1e9, 0) AS usd_per_sol \
             FROM d JOIN swap_events s ON s.base_mint = ANY($5::text[]) AND s.quote_mint = $6 \
             AND s.quote_amount >= 1000000 \
             AND s.block_time >= (div(d.t0, 60) - 59) * 60 AND s.block_time < (div(d.t0, 60) + 1) * 60 \
             GROUP BY d.alert_id) \
         SELECT d.alert_id, d.k, p0.price AS price_0, p1.price AS price_5m, p2.price AS price_15m, \
             p3.price AS price_1h, p4.price AS price_6h, p5.price AS price_24h, \
             h1.hi AS hi_1h, h1.lo AS lo_1h, h1.buy_sol AS buy_1h, h1.sell_sol AS sell_1h, \
             h24.hi AS hi_24h, h24.lo AS lo_24h, h24.buy_sol AS buy_24h, h24.sell_sol AS sell_24h, \
             t.trades::int4 AS trades_24h, t.last_time, (t.late = 0) AS stopped \
         FROM d LEFT JOIN fx ON fx.alert_id = d.alert_id \
         {} {} {} {} {} {} {} {} \
         LEFT JOIN LATERAL (SELECT count(*) AS trades, max(s.block_time) AS last_time, \
             count(*) FILTER (WHERE s.block_time > d.t0 + 64800) AS late \
             FROM swap_events s WHERE s.base_mint = d.mint AND s.block_time > d.t0 \
             AND s.block_time <= d.t0 + 86400) t ON true",
        point("p0", HORIZONS[0]),
        point("p1", HORIZONS[1]),
        point("p2", HORIZONS[2]),
        point("p3", HORIZONS[3]),
        point("p4", HORIZONS[4]),
        point("p5", HORIZONS[5]),
        span("h1", 3_600),
        span("h24", 86_400),
    )
}

#[derive(QueryableByName, Debug)]
struct OutcomeRow {
    #[diesel(sql_type = BigInt)]
    alert_id: i64,
    #[diesel(sql_type = SmallInt)]
    k: i16,
    #[diesel(sql_type = Nullable<Double>)]
    price_0: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_5m: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_15m: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_6h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    hi_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    lo_1h: Option<f64>,
    #[diesel(sql_type = Double)]
    buy_1h: f64,
    #[diesel(sql_type = Double)]
    sell_1h: f64,
    #[diesel(sql_type = Nullable<Double>)]
    hi_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    lo_24h: Option<f64>,
    #[diesel(sql_type = Double)]
    buy_24h: f64,
    #[diesel(sql_type = Double)]
    sell_24h: f64,
    #[diesel(sql_type = Integer)]
    trades_24h: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_time: Option<i64>,
    #[diesel(sql_type = Bool)]
    stopped: bool,
}

impl OutcomeRow {
    fn into_outcome(self) -> (i64, Outcome) {
        let raw = crate::domain::outcome::Raw {
            prices: [
                self.price_0,
                self.price_5m,
                self.price_15m,
                self.price_1h,
                self.price_6h,
                self.price_24h,
            ],
            high_low_1h: (self.hi_1h, self.lo_1h),
            high_low_24h: (self.hi_24h, self.lo_24h),
            volume_1h: (self.buy_1h, self.sell_1h),
            volume_24h: (self.buy_24h, self.sell_24h),
            trades_24h: self.trades_24h.max(0) as u32,
            last_trade_time: self.last_time,
            no_late_trades: self.stopped,
        };
        (
            self.alert_id,
            Outcome::from_raw(&raw, self.k.clamp(0, 6) as usize),
        )
    }
}

/// The mints the outcome SQL needs: USD stablecoins (their trades convert at the alert hour's
/// SOL/USD) and wrapped SOL.
#[derive(Debug, Clone)]
pub struct QuoteMints {
    pub usd: Vec<String>,
    pub wsol: String,
}

impl QuoteMints {
    /// The configured quote set's USD-pegged mints and wrapped SOL.
    pub fn of(quotes: &crate::domain::QuoteAssets) -> QuoteMints {
        QuoteMints {
            usd: quotes
                .others
                .iter()
                .filter(|q| q.usd_pegged)
                .map(|q| q.mint.to_string())
                .collect(),
            wsol: crate::domain::assets::WSOL_MINT.to_string(),
        }
    }
}

async fn load_outcomes(
    pool: &PgPool,
    alerts: &[(i64, String, i64, usize)],
    quotes: &QuoteMints,
) -> Result<Vec<(i64, Outcome)>, PgError> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = alerts.iter().map(|a| a.0).collect();
    let mints: Vec<&str> = alerts.iter().map(|a| a.1.as_str()).collect();
    let times: Vec<i64> = alerts.iter().map(|a| a.2).collect();
    let points: Vec<i16> = alerts.iter().map(|a| a.3 as i16).collect();
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "alert outcomes",
        STATEMENT_TIMEOUT * 2,
        diesel::sql_query(outcome_sql())
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<Text>, _>(&mints)
            .bind::<Array<BigInt>, _>(&times)
            .bind::<Array<SmallInt>, _>(&points)
            .bind::<Array<Text>, _>(&quotes.usd)
            .bind::<Text, _>(&quotes.wsol)
            .load::<OutcomeRow>(&mut conn),
    )
    .await;
    let rows: Vec<OutcomeRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(OutcomeRow::into_outcome).collect())
}

/// Outcomes of alerts that are not in `alert_outcomes` (a backtest's): `(key, mint, alert time)`,
/// with every point reached by `chain_now` (the newest block time stored).
pub async fn compute(
    pool: &PgPool,
    alerts: &[(i64, String, i64)],
    chain_now: i64,
    settle_secs: i64,
    quotes: &QuoteMints,
) -> Result<Vec<(i64, Outcome)>, PgError> {
    let with_points: Vec<(i64, String, i64, usize)> = alerts
        .iter()
        .map(|(k, m, t)| {
            (
                *k,
                m.clone(),
                *t,
                crate::domain::outcome::points_reached(*t, chain_now, settle_secs),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(alerts.len());
    for chunk in with_points.chunks(500) {
        out.extend(load_outcomes(pool, chunk, quotes).await?);
    }
    Ok(out)
}

/// The newest block time stored (the outcome clock: a horizon is due once the stored swaps
/// reach it, however far behind the wall clock the pipeline runs).
pub async fn chain_now(pool: &PgPool) -> Result<Option<i64>, PgError> {
    #[derive(QueryableByName)]
    struct Now {
        #[diesel(sql_type = Nullable<BigInt>)]
        t: Option<i64>,
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "newest block time",
        STATEMENT_TIMEOUT,
        diesel::sql_query("SELECT max(block_time) AS t FROM swap_events").load::<Now>(&mut conn),
    )
    .await;
    let rows: Vec<Now> = settle(conn, result)?;
    Ok(rows.into_iter().next().and_then(|r| r.t))
}

/// Adds an `alert_outcomes` row for every alert of the last `days` days that has none (one
/// statement; a concurrent or repeated call adds nothing twice). Returns how many were added.
pub async fn register_new(pool: &PgPool, days: i64) -> Result<u64, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "register alert outcomes",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "INSERT INTO alert_outcomes (alert_id, mint, trigger_name, alert_time) \
             SELECT a.id, a.mint, a.trigger_name, \
                 coalesce(a.chain_time, extract(epoch FROM a.created_at)::bigint) \
             FROM alerts a \
             WHERE a.created_at > now() - make_interval(days => $1::int) \
               AND NOT EXISTS (SELECT 1 FROM alert_outcomes o WHERE o.alert_id = a.id) \
             ON CONFLICT (alert_id) DO NOTHING",
        )
        .bind::<Integer, _>(days.clamp(1, 3_650) as i32)
        .execute(&mut conn),
    )
    .await;
    Ok(settle(conn, result)? as u64)
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = BigInt)]
    alert_id: i64,
    #[diesel(sql_type = Text)]
    mint: String,
    #[diesel(sql_type = BigInt)]
    alert_time: i64,
    #[diesel(sql_type = SmallInt)]
    horizons_done: i16,
}

/// Fills every outcome whose next horizon the stored swaps have reached (plus `settle_secs`, for
/// swaps still on their way), up to `limit` alerts: one read of the due rows, one computing
/// statement, one update. Idempotent: a point is written once, by whoever gets there first, and
/// recomputing it gives the same value. Returns how many outcomes moved forward.
pub async fn fill(
    pool: &PgPool,
    chain_now: i64,
    settle_secs: i64,
    limit: i64,
    quotes: &QuoteMints,
) -> Result<u64, PgError> {
    // Only rows whose *next* point is due: rows waiting for their 24 h point must not fill the
    // batch and hold back newer alerts whose 5 m point is due.
    let next_offset = format!(
        "(CASE horizons_done {} END)",
        HORIZONS
            .iter()
            .enumerate()
            .map(|(k, h)| format!("WHEN {k} THEN {h}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "due alert outcomes",
        STATEMENT_TIMEOUT,
        diesel::sql_query(format!(
            "SELECT alert_id, mint, alert_time, horizons_done FROM alert_outcomes \
             WHERE horizons_done < 6 AND alert_time <= $2 - $1 \
               AND alert_time + {next_offset} <= $2 - $1 \
             ORDER BY alert_time LIMIT $3"
        ))
        .bind::<BigInt, _>(settle_secs)
        .bind::<BigInt, _>(chain_now)
        .bind::<BigInt, _>(limit)
        .load::<DueRow>(&mut conn),
    )
    .await;
    let rows: Vec<DueRow> = settle(conn, result)?;
    let due: Vec<(i64, String, i64, usize)> = rows
        .into_iter()
        .filter_map(|r| {
            let k = crate::domain::outcome::points_reached(r.alert_time, chain_now, settle_secs);
            (k > r.horizons_done.max(0) as usize).then_some((r.alert_id, r.mint, r.alert_time, k))
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let computed = load_outcomes(pool, &due, quotes).await?;
    store(pool, &computed).await
}

/// Writes computed outcomes, only moving each row forward.
async fn store(pool: &PgPool, outcomes: &[(i64, Outcome)]) -> Result<u64, PgError> {
    let col = |f: fn(&Outcome) -> Option<f64>| -> Vec<Option<f64>> {
        outcomes.iter().map(|(_, o)| f(o)).collect()
    };
    let ids: Vec<i64> = outcomes.iter().map(|(id, _)| *id).collect();
    let done: Vec<i16> = outcomes.iter().map(|(_, o)| o.points as i16).collect();
    let trades: Vec<Option<i32>> = outcomes
        .iter()
        .map(|(_, o)| o.trades_24h.map(|t| t as i32))
        .collect();
    let last: Vec<Option<i64>> = outcomes.iter().map(|(_, o)| o.last_trade_time).collect();
    let stopped: Vec<Option<bool>> = outcomes.iter().map(|(_, o)| o.stopped_trading).collect();
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "store alert outcomes",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "UPDATE alert_outcomes o SET price_0 = x.p0, price_5m = x.p1, price_15m = x.p2, \
             price_1h = x.p3, price_6h = x.p4, price_24h = x.p5, \
             max_runup_1h = x.ru1, max_drawdown_1h = x.dd1, max_runup_24h = x.ru24, \
             max_drawdown_24h = x.dd24, buy_volume_sol_1h = x.b1, sell_volume_sol_1h = x.s1, \
             buy_volume_sol_24h = x.b24, sell_volume_sol_24h = x.s24, trades_24h = x.tr, \
             last_trade_time = x.lt, stopped_trading = x.st, horizons_done = x.k, updated_at = now() \
             FROM unnest($1::int8[], $2::int2[], $3::float8[], $4::float8[], $5::float8[], \
                 $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], \
                 $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::float8[], \
                 $16::float8[], $17::int4[], $18::int8[], $19::bool[]) \
                 AS x(id, k, p0, p1, p2, p3, p4, p5, ru1, dd1, ru24, dd24, b1, s1, b24, s24, tr, lt, st) \
             WHERE o.alert_id = x.id AND o.horizons_done < x.k",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Array<SmallInt>, _>(&done)
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[0]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[1]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[2]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[3]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[4]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.prices[5]))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.runup_1h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.drawdown_1h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.runup_24h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.drawdown_24h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.buy_volume_1h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.sell_volume_1h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.buy_volume_24h))
        .bind::<Array<Nullable<Double>>, _>(col(|o| o.sell_volume_24h))
        .bind::<Array<Nullable<Integer>>, _>(&trades)
        .bind::<Array<Nullable<BigInt>>, _>(&last)
        .bind::<Array<Nullable<Bool>>, _>(&stopped)
        .execute(&mut conn),
    )
    .await;
    Ok(settle(conn, result)? as u64)
}

/// Alerts the daemon stored with `from <= created_at < to` (unix seconds), per trigger.
pub async fn alerts_per_trigger(
    pool: &PgPool,
    from: i64,
    to: i64,
) -> Result<Vec<(String, u64)>, PgError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        trigger_name: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "alerts per trigger",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT trigger_name, count(*) AS n FROM alerts \
             WHERE coalesce(chain_time, extract(epoch FROM created_at)::bigint) >= $1 \
               AND coalesce(chain_time, extract(epoch FROM created_at)::bigint) < $2 \
             GROUP BY trigger_name ORDER BY trigger_name",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load::<Row>(&mut conn),
    )
    .await;
    let rows: Vec<Row> = settle(conn, result)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.trigger_name, r.n.max(0) as u64))
        .collect())
}

/// An alert's stored outcome with what a table shows beside it.
#[derive(Debug, Clone)]
pub struct StoredOutcome {
    pub alert_id: i64,
    pub mint: String,
    pub symbol: Option<String>,
    pub trigger: String,
    pub alert_time: i64,
    pub outcome: Outcome,
}

#[derive(QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = BigInt)]
    alert_id: i64,
    #[diesel(sql_type = Text)]
    mint: String,
    #[diesel(sql_type = Nullable<Text>)]
    token_symbol: Option<String>,
    #[diesel(sql_type = Text)]
    trigger_name: String,
    #[diesel(sql_type = BigInt)]
    alert_time: i64,
    #[diesel(sql_type = SmallInt)]
    horizons_done: i16,
    #[diesel(sql_type = Nullable<Double>)]
    price_0: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_5m: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_15m: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_6h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    price_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    max_runup_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    max_drawdown_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    max_runup_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    max_drawdown_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    buy_volume_sol_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    sell_volume_sol_1h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    buy_volume_sol_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    sell_volume_sol_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Integer>)]
    trades_24h: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_trade_time: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    stopped_trading: Option<bool>,
}

impl StoredRow {
    fn into_stored(self) -> StoredOutcome {
        StoredOutcome {
            alert_id: self.alert_id,
            mint: self.mint,
            symbol: self.token_symbol,
            trigger: self.trigger_name,
            alert_time: self.alert_time,
            outcome: Outcome {
                points: self.horizons_done.clamp(0, 6) as usize,
                prices: [
                    self.price_0,
                    self.price_5m,
                    self.price_15m,
                    self.price_1h,
                    self.price_6h,
                    self.price_24h,
                ],
                runup_1h: self.max_runup_1h,
                drawdown_1h: self.max_drawdown_1h,
                runup_24h: self.max_runup_24h,
                drawdown_24h: self.max_drawdown_24h,
                buy_volume_1h: self.buy_volume_sol_1h,
                sell_volume_1h: self.sell_volume_sol_1h,
                buy_volume_24h: self.buy_volume_sol_24h,
                sell_volume_24h: self.sell_volume_sol_24h,
                trades_24h: self.trades_24h.map(|t| t.max(0) as u32),
                last_trade_time: self.last_trade_time,
                stopped_trading: self.stopped_trading,
            },
        }
    }
}

/// Stored outcomes of alerts at or after `since` (unix seconds, chain time), of one trigger or
/// all, newest first, at most `limit`.
pub async fn stored(
    pool: &PgPool,
    since: i64,
    trigger: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredOutcome>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "stored alert outcomes",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT o.alert_id, o.mint, a.token_symbol, o.trigger_name, o.alert_time, \
             o.horizons_done, o.price_0, o.price_5m, o.price_15m, o.price_1h, o.price_6h, \
             o.price_24h, o.max_runup_1h, o.max_drawdown_1h, o.max_runup_24h, o.max_drawdown_24h, \
             o.buy_volume_sol_1h, o.sell_volume_sol_1h, o.buy_volume_sol_24h, \
             o.sell_volume_sol_24h, o.trades_24h, o.last_trade_time, o.stopped_trading \
             FROM alert_outcomes o JOIN alerts a ON a.id = o.alert_id \
             WHERE o.alert_time >= $1 AND ($2::text IS NULL OR o.trigger_name = $2) \
             ORDER BY o.alert_time DESC, o.alert_id DESC LIMIT $3",
        )
        .bind::<BigInt, _>(since)
        .bind::<Nullable<Text>, _>(trigger)
        .bind::<BigInt, _>(limit)
        .load::<StoredRow>(&mut conn),
    )
    .await;
    let rows: Vec<StoredRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(StoredRow::into_stored).collect())
}

#[derive(QueryableByName)]
struct ScoreRow {
    #[diesel(sql_type = Text)]
    trigger_name: String,
    #[diesel(sql_type = BigInt)]
    alerts: i64,
    #[diesel(sql_type = BigInt)]
    scored_1h: i64,
    #[diesel(sql_type = BigInt)]
    scored_24h: i64,
    #[diesel(sql_type = BigInt)]
    doubled_1h: i64,
    #[diesel(sql_type = BigInt)]
    up_half_1h: i64,
    #[diesel(sql_type = BigInt)]
    doubled_24h: i64,
    #[diesel(sql_type = BigInt)]
    up_half_24h: i64,
    #[diesel(sql_type = Nullable<Double>)]
    median_runup_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p90_runup_24h: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    median_drawdown_24h: Option<f64>,
    #[diesel(sql_type = BigInt)]
    stopped: i64,
}

/// The per-trigger scoreboard of alerts at or after `since`, aggregated by PostgreSQL in one
/// statement: memory stays flat however many alerts there are. Same numbers as
/// [`crate::domain::outcome::scoreboard`] over the same rows (quantiles by nearest rank, which is
/// `percentile_disc`; shares over the alerts scored at the horizon), ordered by trigger name.
pub async fn scoreboard(
    pool: &PgPool,
    since: i64,
    trigger: Option<&str>,
) -> Result<Vec<crate::domain::outcome::TriggerScore>, PgError> {
    use crate::domain::outcome::{TriggerScore, DOUBLED, UP_HALF};
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "alert outcome scoreboard",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT trigger_name, count(*) AS alerts, \
             count(max_runup_1h) AS scored_1h, count(max_runup_24h) AS scored_24h, \
             count(*) FILTER (WHERE max_runup_1h >= $3) AS doubled_1h, \
             count(*) FILTER (WHERE max_runup_1h >= $4) AS up_half_1h, \
             count(*) FILTER (WHERE max_runup_24h >= $3) AS doubled_24h, \
             count(*) FILTER (WHERE max_runup_24h >= $4) AS up_half_24h, \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY max_runup_24h) AS median_runup_24h, \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY max_runup_24h) AS p90_runup_24h, \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY max_drawdown_24h) AS median_drawdown_24h, \
             count(*) FILTER (WHERE max_runup_24h IS NOT NULL AND stopped_trading) AS stopped \
             FROM alert_outcomes \
             WHERE alert_time >= $1 AND ($2::text IS NULL OR trigger_name = $2) \
             GROUP BY trigger_name ORDER BY trigger_name COLLATE \"C\"",
        )
        .bind::<BigInt, _>(since)
        .bind::<Nullable<Text>, _>(trigger)
        .bind::<Double, _>(DOUBLED)
        .bind::<Double, _>(UP_HALF)
        .load::<ScoreRow>(&mut conn),
    )
    .await;
    let rows: Vec<ScoreRow> = settle(conn, result)?;
    let n = |v: i64| v.max(0) as u64;
    Ok(rows
        .into_iter()
        .map(|r| TriggerScore {
            trigger: r.trigger_name,
            alerts: n(r.alerts),
            scored_1h: n(r.scored_1h),
            scored_24h: n(r.scored_24h),
            doubled_1h: n(r.doubled_1h),
            up_half_1h: n(r.up_half_1h),
            doubled_24h: n(r.doubled_24h),
            up_half_24h: n(r.up_half_24h),
            median_runup_24h: r.median_runup_24h,
            p90_runup_24h: r.p90_runup_24h,
            median_drawdown_24h: r.median_drawdown_24h,
            stopped: n(r.stopped),
        })
        .collect())
}
