//! Reads stored swaps back in block-time order, one bounded range of block times at a time (keyset
//! pagination on `idx_swap_events_block_time`), for the backtest: a day of mainnet flow is far
//! too much to hold, and an `OFFSET` would rescan everything before each page.

use diesel::sql_types::{BigInt, SmallInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

use super::error::PgError;
use super::pool::{checkout, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use crate::domain::{Pubkey, Side, Signature, Swap, Venue};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    block_time: i64,
    #[diesel(sql_type = BigInt)]
    slot: i64,
    #[diesel(sql_type = SmallInt)]
    leg: i16,
    #[diesel(sql_type = Text)]
    user_wallet: String,
    #[diesel(sql_type = Text)]
    side: String,
    #[diesel(sql_type = Text)]
    base_mint: String,
    #[diesel(sql_type = Text)]
    base_amount: String,
    #[diesel(sql_type = SmallInt)]
    base_decimals: i16,
    #[diesel(sql_type = Text)]
    quote_mint: String,
    #[diesel(sql_type = Text)]
    quote_amount: String,
    #[diesel(sql_type = SmallInt)]
    quote_decimals: i16,
}

impl Row {
    /// The swap the counters were built from (signature, venue and fee payer are not needed to
    /// count; the fee payer is set to the wallet).
    fn into_swap(self) -> Result<(Swap, i64), String> {
        let amount = |s: &str, field: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("{field} {s:?} is not a u64"))
        };
        let wallet = Pubkey::parse(&self.user_wallet, "user_wallet").map_err(|e| e.to_string())?;
        let swap = Swap {
            signature: Signature::default(),
            slot: self.slot.max(0) as u64,
            block_time: Some(self.block_time),
            leg: self.leg.clamp(0, 255) as u8,
            wallet,
            fee_payer: wallet,
            side: match self.side.as_str() {
                "buy" => Side::Buy,
                "sell" => Side::Sell,
                other => return Err(format!("side {other:?}")),
            },
            mint: Pubkey::parse(&self.base_mint, "base_mint").map_err(|e| e.to_string())?,
            amount: amount(&self.base_amount, "base_amount")?,
            decimals: self.base_decimals.clamp(0, 255) as u8,
            quote_mint: Pubkey::parse(&self.quote_mint, "quote_mint").map_err(|e| e.to_string())?,
            quote_amount: amount(&self.quote_amount, "quote_amount")?,
            quote_decimals: self.quote_decimals.clamp(0, 255) as u8,
            sol_value_lamports: None,
            venue: Venue::UNKNOWN,
        };
        Ok((swap, self.block_time))
    }
}

/// Swaps with `from <= block_time < to`, in `(block_time, slot, signature, leg)` order, with
/// their block times. A row that no longer parses is an error naming it (stored rows come from
/// our own writer, so this means corruption).
pub async fn swaps_between(pool: &PgPool, from: i64, to: i64) -> Result<Vec<(Swap, i64)>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "swap history page",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT block_time, slot, leg, user_wallet, side, base_mint, \
             base_amount::text AS base_amount, base_decimals, quote_mint, \
             quote_amount::text AS quote_amount, quote_decimals \
             FROM swap_events WHERE block_time >= $1 AND block_time < $2 \
             ORDER BY block_time, slot, signature, leg",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load::<Row>(&mut conn),
    )
    .await;
    let rows: Vec<Row> = settle(conn, result)?;
    rows.into_iter()
        .map(|r| {
            let at = r.block_time;
            r.into_swap()
                .map_err(|e| PgError::InvalidArgument(format!("swap_events row at {at}: {e}")))
        })
        .collect()
}

#[derive(QueryableByName)]
struct Bounds {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    first: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    last: Option<i64>,
}

/// The first and last block times stored within `[from, to)` (None when there is none): both
/// are index lookups.
pub async fn block_time_range(
    pool: &PgPool,
    from: i64,
    to: i64,
) -> Result<Option<(i64, i64)>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "swap history range",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT (SELECT min(block_time) FROM swap_events WHERE block_time >= $1 AND block_time < $2) AS first, \
                    (SELECT max(block_time) FROM swap_events WHERE block_time >= $1 AND block_time < $2) AS last",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load::<Bounds>(&mut conn),
    )
    .await;
    let rows: Vec<Bounds> = settle(conn, result)?;
    Ok(rows.into_iter().next().and_then(|b| b.first.zip(b.last)))
}

/// Swaps with `block_time >= from` counted up to `to` — for progress bars (a count over the
/// block-time index).
pub async fn count_between(pool: &PgPool, from: i64, to: i64) -> Result<u64, PgError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "swap history count",
        STATEMENT_TIMEOUT * 4,
        diesel::sql_query(
            "SELECT count(*) AS n FROM swap_events WHERE block_time >= $1 AND block_time < $2",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .load::<Count>(&mut conn),
    )
    .await;
    let rows: Vec<Count> = settle(conn, result)?;
    Ok(rows.into_iter().next().map_or(0, |c| c.n.max(0) as u64))
}

/// Whole-token supplies the detector cached (`token_profiles`), for the backtest's market-cap
/// filter: mint → supply.
pub async fn cached_supplies(pool: &PgPool) -> Result<Vec<(String, f64)>, PgError> {
    #[derive(QueryableByName)]
    struct Supply {
        #[diesel(sql_type = Text)]
        mint: String,
        #[diesel(sql_type = Text)]
        raw: String,
        #[diesel(sql_type = SmallInt)]
        decimals: i16,
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "cached supplies",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT mint, token_supply::text AS raw, decimals FROM token_profiles \
             WHERE token_supply IS NOT NULL",
        )
        .load::<Supply>(&mut conn),
    )
    .await;
    let rows: Vec<Supply> = settle(conn, result)?;
    Ok(rows
        .into_iter()
        .filter_map(|s| {
            let whole = s.raw.parse::<f64>().ok()? / 10f64.powi(i32::from(s.decimals.clamp(0, 30)));
            Some((s.mint, whole))
        })
        .collect())
}
