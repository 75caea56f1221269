//! `swap_events`: batched idempotent inserts and bounded retention deletes.

use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::error::PgError;
use super::pool::{checkout, discard, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use super::swap_copy::CopyPool;
use crate::domain::{Side, Swap, VenueTable};

/// Most rows in one `INSERT` statement.
pub const INSERT_CHUNK_ROWS: usize = 5_000;

/// One `swap_events` row, owning its strings, so it can be built off the async path (on the
/// parser pool) and handed to [`insert_swaps`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRow {
    /// Base58 transaction signature.
    pub signature: String,
    pub leg: i16,
    pub slot: i64,
    /// Unix seconds.
    pub block_time: i64,
    /// The venue's name from the venue table (`"unknown"` when none matched).
    pub venue: String,
    /// Base58 wallet that traded.
    pub user_wallet: String,
    /// Base58 fee payer of the transaction (its first signer; another wallet in a bundle).
    pub fee_payer: String,
    pub side: Side,
    /// Base58 mint of the token traded.
    pub base_mint: String,
    pub base_amount: u64,
    pub base_decimals: i16,
    pub quote_mint: String,
    pub quote_amount: u64,
    pub quote_decimals: i16,
    pub sol_value_lamports: Option<u64>,
}

impl SwapRow {
    /// The row of `swap`. `fallback_block_time` (unix seconds; the caller's receive time) is used
    /// when the swap's block time is unknown, because the column is NOT NULL and retention and
    /// windows key on it.
    pub fn from_swap(swap: &Swap, venues: &VenueTable, fallback_block_time: i64) -> Self {
        SwapRow {
            signature: swap.signature.to_base58(),
            leg: i16::from(swap.leg),
            // Solana slots are ~2^28 today; a slot past i64::MAX cannot occur.
            slot: i64::try_from(swap.slot).unwrap_or(i64::MAX),
            block_time: swap.block_time.unwrap_or(fallback_block_time),
            venue: venues.name(swap.venue).to_string(),
            user_wallet: swap.wallet.to_base58(),
            fee_payer: swap.fee_payer.to_base58(),
            side: swap.side,
            base_mint: swap.mint.to_base58(),
            base_amount: swap.amount,
            base_decimals: i16::from(swap.decimals),
            quote_mint: swap.quote_mint.to_base58(),
            quote_amount: swap.quote_amount,
            quote_decimals: i16::from(swap.quote_decimals),
            sol_value_lamports: swap.sol_value_lamports,
        }
    }
}

/// Batches of at least this many rows go through COPY ([`CopyPool`]), smaller ones through the
/// unnest INSERT: COPY costs a transaction and the stage round trips (BEGIN, COPY, INSERT, COMMIT)
/// that a single unnest statement does not, so it only pays on large batches. Measured on a
/// throwaway PostgreSQL (issue-12 note, fifth session): COPY used 10–15 % more server CPU per row
/// than the unnest INSERT at 500–1,000 rows and the same (within noise) at 2,000–5,000.
pub const COPY_MIN_ROWS: usize = 2_000;

/// Whether [`write_swaps`] sends a batch of `rows` rows through COPY.
pub fn uses_copy(rows: usize) -> bool {
    rows >= COPY_MIN_ROWS
}

/// Inserts `rows` by the cheaper path for their number ([`uses_copy`]): COPY through `copy`, else
/// [`insert_swaps`] on `pool`. Same contract either way: idempotent on `(signature, leg)`, all or
/// nothing, returns the number of new rows.
pub async fn write_swaps(pool: &PgPool, copy: &CopyPool, rows: &[SwapRow]) -> Result<u64, PgError> {
    if uses_copy(rows.len()) {
        copy.insert_swaps(rows).await
    } else {
        insert_swaps(pool, rows).await
    }
}

/// One statement per chunk: one array per column, unnested server-side. u64 amounts travel as
/// decimal text and are cast to NUMERIC(20,0) (they do not fit BIGINT).
const INSERT_SQL: &str = "\
INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, base_mint, \
base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, sol_value_lamports, \
fee_payer) \
SELECT * FROM unnest($1::text[], $2::int2[], $3::int8[], $4::int8[], $5::text[], $6::text[], \
$7::text[], $8::text[], $9::text[]::numeric[], $10::int2[], $11::text[], $12::text[]::numeric[], \
$13::int2[], $14::text[]::numeric[], $15::text[]) \
ON CONFLICT (signature, leg) DO NOTHING";

/// Inserts `rows` into `swap_events` and returns how many were new: a `(signature, leg)` already
/// stored (or repeated within `rows`) is skipped, so inserting the same batch twice stores it once
/// and the second call returns 0.
///
/// All or nothing: the rows go in statements of at most [`INSERT_CHUNK_ROWS`] rows, all in one
/// transaction, so `Ok` means every row of `rows` is durable (committed) and `Err` means none of
/// them was written by this call — except after [`PgError::Timeout`], where the commit may have
/// happened without its reply; retrying is always safe. An empty `rows` is a no-op that does not
/// touch the pool.
///
/// Rows are written in `(signature, leg)` order, so concurrent callers inserting overlapping
/// batches (a reclaimed entry finished twice) wait on each other's keys in the same order (unnest
/// feeds rows in array order) instead of deadlocking.
pub async fn insert_swaps(pool: &PgPool, rows: &[SwapRow]) -> Result<u64, PgError> {
    insert_swaps_within(pool, rows, STATEMENT_TIMEOUT).await
}

/// [`insert_swaps`] with a budget of `per_statement` per 5,000-row statement instead of
/// [`STATEMENT_TIMEOUT`]. On [`PgError::Timeout`] the connection is discarded, not reused.
pub async fn insert_swaps_within(
    pool: &PgPool,
    rows: &[SwapRow],
    per_statement: Duration,
) -> Result<u64, PgError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sorted: Vec<&SwapRow> = rows.iter().collect();
    sorted.sort_unstable_by(|a, b| (&a.signature, a.leg).cmp(&(&b.signature, b.leg)));

    let mut conn = checkout(pool).await?;
    let chunks = sorted.len().div_ceil(INSERT_CHUNK_ROWS);
    let budget = per_statement.saturating_mul(u32::try_from(chunks).unwrap_or(u32::MAX));
    let result = if chunks == 1 {
        // One statement is atomic by itself: no BEGIN/COMMIT round trips.
        with_timeout("swap insert", budget, insert_chunk(&mut conn, &sorted)).await
    } else {
        let sorted = &sorted;
        with_timeout(
            "swap insert",
            budget,
            conn.transaction(async move |conn| {
                let mut inserted = 0;
                for chunk in sorted.chunks(INSERT_CHUNK_ROWS) {
                    inserted += insert_chunk(conn, chunk).await?;
                }
                Ok::<u64, PgError>(inserted)
            }),
        )
        .await
    };
    settle(conn, result)
}

/// One `INSERT ... SELECT * FROM unnest(...)` of `rows`; the number of rows it inserted.
async fn insert_chunk(conn: &mut AsyncPgConnection, rows: &[&SwapRow]) -> Result<u64, PgError> {
    let n = rows.len();
    let mut signature = Vec::with_capacity(n);
    let mut leg = Vec::with_capacity(n);
    let mut slot = Vec::with_capacity(n);
    let mut block_time = Vec::with_capacity(n);
    let mut venue = Vec::with_capacity(n);
    let mut user_wallet = Vec::with_capacity(n);
    let mut side = Vec::with_capacity(n);
    let mut base_mint = Vec::with_capacity(n);
    let mut base_amount = Vec::with_capacity(n);
    let mut base_decimals = Vec::with_capacity(n);
    let mut quote_mint = Vec::with_capacity(n);
    let mut quote_amount = Vec::with_capacity(n);
    let mut quote_decimals = Vec::with_capacity(n);
    let mut sol_value = Vec::with_capacity(n);
    let mut fee_payer = Vec::with_capacity(n);
    for r in rows {
        signature.push(r.signature.as_str());
        leg.push(r.leg);
        slot.push(r.slot);
        block_time.push(r.block_time);
        venue.push(r.venue.as_str());
        user_wallet.push(r.user_wallet.as_str());
        side.push(r.side.as_str());
        base_mint.push(r.base_mint.as_str());
        base_amount.push(r.base_amount.to_string());
        base_decimals.push(r.base_decimals);
        quote_mint.push(r.quote_mint.as_str());
        quote_amount.push(r.quote_amount.to_string());
        quote_decimals.push(r.quote_decimals);
        sol_value.push(r.sol_value_lamports.map(|v| v.to_string()));
        fee_payer.push(r.fee_payer.as_str());
    }
    let inserted = diesel::sql_query(INSERT_SQL)
        .bind::<Array<Text>, _>(signature)
        .bind::<Array<SmallInt>, _>(leg)
        .bind::<Array<BigInt>, _>(slot)
        .bind::<Array<BigInt>, _>(block_time)
        .bind::<Array<Text>, _>(venue)
        .bind::<Array<Text>, _>(user_wallet)
        .bind::<Array<Text>, _>(side)
        .bind::<Array<Text>, _>(base_mint)
        .bind::<Array<Text>, _>(base_amount)
        .bind::<Array<SmallInt>, _>(base_decimals)
        .bind::<Array<Text>, _>(quote_mint)
        .bind::<Array<Text>, _>(quote_amount)
        .bind::<Array<SmallInt>, _>(quote_decimals)
        .bind::<Array<Nullable<Text>>, _>(sol_value)
        .bind::<Array<Text>, _>(fee_payer)
        .execute(conn)
        .await?;
    Ok(inserted as u64)
}

/// Deletes every `swap_events` row with `block_time < cutoff_block_time` (unix seconds), in
/// statements of at most `batch` rows (each its own short transaction, so retention never holds
/// long locks or bloats one transaction), until a statement finds nothing left. Returns the total
/// deleted. Safe to run concurrently with inserts and with another retention run.
pub async fn delete_swaps_before(
    pool: &PgPool,
    cutoff_block_time: i64,
    batch: i64,
) -> Result<u64, PgError> {
    if batch <= 0 {
        return Err(PgError::InvalidArgument(format!(
            "retention batch must be ≥ 1, got {batch}"
        )));
    }
    let mut conn = checkout(pool).await?;
    let mut total = 0u64;
    loop {
        let result = with_timeout(
            "swap retention delete",
            STATEMENT_TIMEOUT,
            diesel::sql_query(
                "DELETE FROM swap_events WHERE ctid = ANY(ARRAY(\
                 SELECT ctid FROM swap_events WHERE block_time < $1 LIMIT $2))",
            )
            .bind::<BigInt, _>(cutoff_block_time)
            .bind::<BigInt, _>(batch)
            .execute(&mut conn),
        )
        .await;
        let deleted = match result {
            Ok(deleted) => deleted?,
            Err(timeout) => {
                discard(conn);
                return Err(timeout);
            }
        };
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::key;
    use crate::domain::{Signature, Venue, WSOL_MINT};

    fn swap() -> Swap {
        Swap {
            signature: Signature([7; 64]),
            slot: 312_000_000,
            block_time: Some(1_700_000_123),
            leg: 1,
            wallet: key(1),
            fee_payer: key(3),
            side: Side::Sell,
            mint: key(2),
            amount: u64::MAX,
            decimals: 6,
            quote_mint: WSOL_MINT,
            quote_amount: 42,
            quote_decimals: 9,
            sol_value_lamports: None,
            venue: Venue(0),
        }
    }

    #[test]
    fn rows_carry_base58_keys_venue_names_and_exact_amounts() {
        let venues = VenueTable::default();
        let s = swap();
        let row = SwapRow::from_swap(&s, &venues, 5);
        assert_eq!(row.signature, s.signature.to_string());
        assert_eq!(row.user_wallet, s.wallet.to_string());
        assert_eq!(row.fee_payer, s.fee_payer.to_string());
        assert_eq!(row.base_mint, s.mint.to_string());
        assert_eq!(row.quote_mint, WSOL_MINT.to_string());
        assert_eq!(row.venue, venues.name(Venue(0)));
        assert_ne!(row.venue, "unknown");
        assert_eq!(
            (row.leg, row.slot, row.block_time),
            (1, 312_000_000, 1_700_000_123)
        );
        assert_eq!(row.side, Side::Sell);
        assert_eq!((row.base_amount, row.base_decimals), (u64::MAX, 6));
        assert_eq!((row.quote_amount, row.quote_decimals), (42, 9));
        assert_eq!(row.sol_value_lamports, None);
    }

    #[test]
    fn a_missing_block_time_takes_the_fallback_and_unknown_venues_say_so() {
        let mut s = swap();
        s.block_time = None;
        s.venue = Venue::UNKNOWN;
        let row = SwapRow::from_swap(&s, &VenueTable::default(), 1_699_999_999);
        assert_eq!(row.block_time, 1_699_999_999);
        assert_eq!(row.venue, "unknown");
    }
}
