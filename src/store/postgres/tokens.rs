//! What the detector reads and writes about a token: its latest SOL price, dominant venue, cached
//! supply and metadata (`token_profiles`), HOT state, and which of its buyers acted together.

use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

use super::error::PgError;
use super::pool::{checkout, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use crate::domain::WSOL_MINT;

/// The mint's latest SOL-quoted swap: raw token amount, its decimals, lamports.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct LastSolTrade {
    #[diesel(sql_type = Text)]
    pub base_amount: String,
    #[diesel(sql_type = SmallInt)]
    pub base_decimals: i16,
    #[diesel(sql_type = Text)]
    pub quote_amount: String,
}

impl LastSolTrade {
    /// SOL per whole token.
    pub fn price_sol(&self) -> Option<f64> {
        let tokens = self.base_amount.parse::<f64>().ok()? / 10f64.powi(self.base_decimals as i32);
        let sol = self.quote_amount.parse::<f64>().ok()? / 1e9;
        (tokens > 0.0 && sol > 0.0).then(|| sol / tokens)
    }
}

pub async fn last_sol_trade(pool: &PgPool, mint: &str) -> Result<Option<LastSolTrade>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "last SOL trade",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT base_amount::text AS base_amount, base_decimals, quote_amount::text AS quote_amount \
             FROM swap_events WHERE base_mint = $1 AND quote_mint = $2 AND base_amount > 0 \
             ORDER BY block_time DESC, slot DESC LIMIT 1",
        )
        .bind::<Text, _>(mint)
        .bind::<Text, _>(WSOL_MINT.to_base58())
        .load(&mut conn),
    )
    .await;
    let rows: Vec<LastSolTrade> = settle(conn, result)?;
    Ok(rows.into_iter().next())
}

#[derive(QueryableByName)]
struct VenueRow {
    #[diesel(sql_type = Text)]
    venue: String,
}

/// The venue with the most trades of `mint` since `since` (unix seconds).
pub async fn dominant_venue(
    pool: &PgPool,
    mint: &str,
    since: i64,
) -> Result<Option<String>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "dominant venue",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT venue FROM swap_events WHERE base_mint = $1 AND block_time >= $2 \
             GROUP BY venue ORDER BY count(*) DESC, venue LIMIT 1",
        )
        .bind::<Text, _>(mint)
        .bind::<BigInt, _>(since)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<VenueRow> = settle(conn, result)?;
    Ok(rows.into_iter().next().map(|r| r.venue))
}

/// What `token_profiles` knows of a mint.
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct TokenProfile {
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub symbol: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub token_supply: Option<String>,
    #[diesel(sql_type = SmallInt)]
    pub decimals: i16,
    /// Seconds since the row was last updated (how old a cached supply is).
    #[diesel(sql_type = BigInt)]
    pub age_secs: i64,
}

pub async fn token_profile(pool: &PgPool, mint: &str) -> Result<Option<TokenProfile>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "token profile",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT name, symbol, token_supply::text AS token_supply, decimals, \
             extract(epoch FROM now() - updated_at)::bigint AS age_secs \
             FROM token_profiles WHERE mint = $1",
        )
        .bind::<Text, _>(mint)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<TokenProfile> = settle(conn, result)?;
    Ok(rows.into_iter().next())
}

/// Caches a looked-up supply (raw integer text) and decimals, and metadata when known.
pub async fn store_supply(
    pool: &PgPool,
    mint: &str,
    supply: &str,
    decimals: i16,
    name: Option<&str>,
    symbol: Option<&str>,
) -> Result<(), PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "store supply",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "INSERT INTO token_profiles (mint, token_supply, decimals, name, symbol, updated_at) \
             VALUES ($1, $2::numeric, $3, $4, $5, now()) \
             ON CONFLICT (mint) DO UPDATE SET token_supply = EXCLUDED.token_supply, \
             decimals = EXCLUDED.decimals, name = COALESCE(EXCLUDED.name, token_profiles.name), \
             symbol = COALESCE(EXCLUDED.symbol, token_profiles.symbol), updated_at = now()",
        )
        .bind::<Text, _>(mint)
        .bind::<Text, _>(supply)
        .bind::<SmallInt, _>(decimals)
        .bind::<Nullable<Text>, _>(name)
        .bind::<Nullable<Text>, _>(symbol)
        .execute(&mut conn),
    )
    .await;
    settle(conn, result)?;
    Ok(())
}

/// Records that `mint` became HOT (the reference's columns; state survives in Redis with a TTL,
/// this is the history operators query).
pub async fn mark_hot(pool: &PgPool, mint: &str, reason: &str) -> Result<(), PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "mark hot",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "INSERT INTO token_profiles (mint, state, became_hot_at, trigger_reason, last_seen) \
             VALUES ($1, 'hot', now(), $2, now()) \
             ON CONFLICT (mint) DO UPDATE SET state = 'hot', became_hot_at = now(), \
             trigger_reason = EXCLUDED.trigger_reason, last_seen = now(), updated_at = now()",
        )
        .bind::<Text, _>(mint)
        .bind::<Text, _>(reason)
        .execute(&mut conn),
    )
    .await;
    settle(conn, result)?;
    Ok(())
}

/// HOT expired: back to COLD.
pub async fn mark_cold(pool: &PgPool, mints: &[String]) -> Result<(), PgError> {
    if mints.is_empty() {
        return Ok(());
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "mark cold",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "UPDATE token_profiles SET state = 'cold', updated_at = now() \
             WHERE mint = ANY($1) AND state = 'hot'",
        )
        .bind::<Array<Text>, _>(mints)
        .execute(&mut conn),
    )
    .await;
    settle(conn, result)?;
    Ok(())
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Array<Text>)]
    wallets: Vec<String>,
}

/// Groups of wallets seen acting together around `mint` since `since`: several wallets buying it
/// in one transaction (a bundle), and wallets sharing a recorded funder.
pub async fn linked_wallet_groups(
    pool: &PgPool,
    mint: &str,
    since: i64,
    wallets: &[String],
) -> Result<Vec<Vec<String>>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "bundled buyers",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT array_agg(DISTINCT user_wallet) AS wallets FROM swap_events \
             WHERE base_mint = $1 AND side = 'buy' AND block_time >= $2 \
             GROUP BY signature HAVING count(DISTINCT user_wallet) > 1 LIMIT 1000",
        )
        .bind::<Text, _>(mint)
        .bind::<BigInt, _>(since)
        .load(&mut conn),
    )
    .await;
    let mut groups: Vec<GroupRow> = settle(conn, result)?;
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "shared funders",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT array_agg(address) || funded_by AS wallets FROM wallet_profiles \
             WHERE address = ANY($1) AND funded_by IS NOT NULL AND funding_source IS NULL \
             GROUP BY funded_by",
        )
        .bind::<Array<Text>, _>(wallets)
        .load(&mut conn),
    )
    .await;
    let funded: Vec<GroupRow> = settle(conn, result)?;
    groups.extend(funded);
    Ok(groups.into_iter().map(|g| g.wallets).collect())
}

#[derive(QueryableByName)]
struct PayerRow {
    #[diesel(sql_type = Text)]
    fee_payer: String,
    #[diesel(sql_type = Array<Text>)]
    wallets: Vec<String>,
}

/// The buys of `mint` since `since` whose fee another wallet paid, by payer: `(payer, every
/// wallet whose buy it paid, itself included)`. Rows written before the fee payer was recorded
/// (NULL) link nothing. Reads one mint's recent rows through `idx_swap_events_base_mint`.
pub async fn fee_payer_groups(
    pool: &PgPool,
    mint: &str,
    since: i64,
) -> Result<Vec<(String, Vec<String>)>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "shared fee payers",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT fee_payer, array_agg(DISTINCT user_wallet) AS wallets FROM swap_events \
             WHERE base_mint = $1 AND side = 'buy' AND block_time >= $2 AND fee_payer IS NOT NULL \
             GROUP BY fee_payer HAVING bool_or(user_wallet <> fee_payer) LIMIT 1000",
        )
        .bind::<Text, _>(mint)
        .bind::<BigInt, _>(since)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<PayerRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(|r| (r.fee_payer, r.wallets)).collect())
}
