//! The funding-trace cache in `wallet_profiles`: a row with `funding_status` set was traced and
//! is never fetched again.

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;

use super::error::PgError;
use super::pool::{checkout, settle, with_timeout, PgPool, STATEMENT_TIMEOUT};
use crate::domain::funding::{FundingRecord, FundingStatus};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    address: String,
    #[diesel(sql_type = Text)]
    funding_status: String,
    #[diesel(sql_type = Nullable<Text>)]
    funded_by: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lamports: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    funded_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    funding_signature: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    funding_fee_payer: Option<String>,
    #[diesel(sql_type = BigInt)]
    signature_count: i64,
    #[diesel(sql_type = Integer)]
    funding_hop: i32,
}

/// The traced wallets among `addresses`.
pub async fn load_funding(
    pool: &PgPool,
    addresses: &[String],
) -> Result<HashMap<String, FundingRecord>, PgError> {
    if addresses.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "load funding",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT address, funding_status, funded_by, \
             round(funding_amount_sol * 1e9)::bigint AS lamports, \
             extract(epoch FROM funded_at)::bigint AS funded_at, funding_signature, \
             funding_fee_payer, coalesce(signature_count, 0)::bigint AS signature_count, funding_hop \
             FROM wallet_profiles WHERE address = ANY($1) AND funding_status IS NOT NULL",
        )
        .bind::<Array<Text>, _>(addresses)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<Row> = settle(conn, result)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = match (r.funding_status.as_str(), r.funded_by) {
                ("funded", Some(funder)) => FundingStatus::Funded {
                    fee_payer: r.funding_fee_payer.unwrap_or_else(|| funder.clone()),
                    funder,
                    lamports: r.lamports.unwrap_or(0).max(0) as u64,
                    funded_at: r.funded_at,
                    signature: r.funding_signature.unwrap_or_default(),
                },
                ("established", _) => FundingStatus::Established,
                _ => FundingStatus::NoInbound,
            };
            let record = FundingRecord {
                wallet: r.address.clone(),
                status,
                signature_count: r.signature_count.max(0) as u64,
                hop: r.funding_hop.max(0) as u32,
            };
            (r.address, record)
        })
        .collect())
}

/// Caches traced wallets (`labels` gives the funding source of a labelled funder). A row traced
/// before keeps what it had.
pub async fn store_funding(
    pool: &PgPool,
    records: &[(FundingRecord, Option<String>)],
) -> Result<(), PgError> {
    for (r, source) in records {
        let (funder, lamports, funded_at, signature, fee_payer) = match &r.status {
            FundingStatus::Funded {
                funder,
                lamports,
                funded_at,
                signature,
                fee_payer,
            } => (
                Some(funder.as_str()),
                Some(*lamports as f64 / 1e9),
                *funded_at,
                Some(signature.as_str()),
                Some(fee_payer.as_str()),
            ),
            _ => (None, None, None, None, None),
        };
        let mut conn = checkout(pool).await?;
        let result = with_timeout(
            "store funding",
            STATEMENT_TIMEOUT,
            diesel::sql_query(
                "INSERT INTO wallet_profiles (address, funding_status, funded_by, \
                 funding_amount_sol, funded_at, funding_signature, funding_fee_payer, \
                 funding_source, signature_count, funding_hop, funding_traced_at) \
                 VALUES ($1, $2, $3, $4, to_timestamp($5), $6, $7, $8, $9, $10, now()) \
                 ON CONFLICT (address) DO UPDATE SET funding_status = EXCLUDED.funding_status, \
                 funded_by = EXCLUDED.funded_by, funding_amount_sol = EXCLUDED.funding_amount_sol, \
                 funded_at = EXCLUDED.funded_at, funding_signature = EXCLUDED.funding_signature, \
                 funding_fee_payer = EXCLUDED.funding_fee_payer, \
                 funding_source = EXCLUDED.funding_source, \
                 signature_count = EXCLUDED.signature_count, funding_hop = EXCLUDED.funding_hop, \
                 funding_traced_at = now(), updated_at = now() \
                 WHERE wallet_profiles.funding_status IS NULL",
            )
            .bind::<Text, _>(&r.wallet)
            .bind::<Text, _>(r.status.name())
            .bind::<Nullable<Text>, _>(funder)
            .bind::<Nullable<diesel::sql_types::Double>, _>(lamports)
            .bind::<Nullable<diesel::sql_types::Double>, _>(funded_at.map(|t| t as f64))
            .bind::<Nullable<Text>, _>(signature)
            .bind::<Nullable<Text>, _>(fee_payer)
            .bind::<Nullable<Text>, _>(source.as_deref())
            .bind::<Integer, _>(r.signature_count.min(i32::MAX as u64) as i32)
            .bind::<Integer, _>(r.hop as i32)
            .execute(&mut conn),
        )
        .await;
        settle(conn, result)?;
    }
    Ok(())
}

/// One confirmed SOL transfer between two traced wallets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub sender: String,
    pub receiver: String,
    pub signature: String,
    pub lamports: u64,
    pub block_time: Option<i64>,
}

/// Records `transfers` (one statement; a transfer already recorded is skipped).
pub async fn store_transfers(pool: &PgPool, transfers: &[TransferRecord]) -> Result<(), PgError> {
    if transfers.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&TransferRecord) -> String| transfers.iter().map(f).collect::<Vec<_>>();
    let lamports: Vec<i64> = transfers
        .iter()
        .map(|t| i64::try_from(t.lamports).unwrap_or(i64::MAX))
        .collect();
    let times: Vec<Option<i64>> = transfers.iter().map(|t| t.block_time).collect();
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "store transfers",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "INSERT INTO wallet_transfers (sender, receiver, signature, lamports, block_time) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Array<Text>, _>(col(|t| t.sender.clone()))
        .bind::<Array<Text>, _>(col(|t| t.receiver.clone()))
        .bind::<Array<Text>, _>(col(|t| t.signature.clone()))
        .bind::<Array<BigInt>, _>(lamports)
        .bind::<Array<Nullable<BigInt>>, _>(times)
        .execute(&mut conn),
    )
    .await;
    settle(conn, result)?;
    Ok(())
}

#[derive(QueryableByName)]
struct PairRow {
    #[diesel(sql_type = Array<Text>)]
    wallets: Vec<String>,
}

/// Pairs of `wallets` that sent each other SOL (as recorded by the trace).
pub async fn transfer_pairs(
    pool: &PgPool,
    wallets: &[String],
) -> Result<Vec<Vec<String>>, PgError> {
    let mut conn = checkout(pool).await?;
    let result = with_timeout(
        "transfer pairs",
        STATEMENT_TIMEOUT,
        diesel::sql_query(
            "SELECT DISTINCT ARRAY[sender, receiver] AS wallets FROM wallet_transfers \
             WHERE sender = ANY($1) AND receiver = ANY($1) LIMIT 1000",
        )
        .bind::<Array<Text>, _>(wallets)
        .load(&mut conn),
    )
    .await;
    let rows: Vec<PairRow> = settle(conn, result)?;
    Ok(rows.into_iter().map(|r| r.wallets).collect())
}
