//! Large swap batches into `swap_events` through `COPY … FROM STDIN BINARY`.
//!
//! diesel-async does not expose its tokio-postgres client, so COPY has its own few connections
//! beside the diesel pool ([`CopyPool`]), set up like the pooled ones (connect timeout, server
//! `statement_timeout`, client check) and never showing the password in an error.
//!
//! COPY has no `ON CONFLICT`, so a batch is copied into a per-connection temp stage table and moved
//! with one `INSERT … SELECT … ON CONFLICT DO NOTHING`, all in one transaction: exactly-once and the
//! `(signature, leg)` lock order are the same as [`super::insert_swaps`]'s, and the stage empties
//! itself at commit (`ON COMMIT DELETE ROWS`) or rollback.
//!
//! Amounts go into the stage as decimal text and are cast to NUMERIC in the INSERT: the same text
//! → NUMERIC conversion the unnest path uses (so both paths store identical values), and no
//! hand-written binary NUMERIC encoder to get wrong.

use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use super::error::{scrub_password, PgError};
use super::pool::{
    statement_timeout_sql, with_timeout, CHECKOUT_TIMEOUT, CLIENT_CHECK_SQL, CONNECT_TIMEOUT,
    STATEMENT_TIMEOUT,
};
use super::swaps::{SwapRow, INSERT_CHUNK_ROWS};
use crate::error_chain::error_chain;
use crate::secret::{redact_url, Secret};

/// The stage table, created once per connection (at connect, outside any transaction).
/// Amounts are text (cast in [`INSERT_SQL`]); `signature` sorts bytewise like the primary key.
const STAGE_SQL: &str = "\
CREATE TEMP TABLE IF NOT EXISTS swap_stage (\
 signature TEXT COLLATE \"C\" NOT NULL, leg SMALLINT NOT NULL, slot BIGINT NOT NULL,\
 block_time BIGINT NOT NULL, venue TEXT NOT NULL, user_wallet TEXT NOT NULL, side TEXT NOT NULL,\
 base_mint TEXT NOT NULL, base_amount TEXT NOT NULL, base_decimals SMALLINT NOT NULL,\
 quote_mint TEXT NOT NULL, quote_amount TEXT NOT NULL, quote_decimals SMALLINT NOT NULL,\
 sol_value_lamports TEXT, fee_payer TEXT NOT NULL\
) ON COMMIT DELETE ROWS";

const COPY_SQL: &str = "\
COPY swap_stage (signature, leg, slot, block_time, venue, user_wallet, side, base_mint, \
base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, sol_value_lamports, \
fee_payer) FROM STDIN BINARY";

/// The binary types of [`COPY_SQL`]'s columns, in order.
const STAGE_TYPES: [Type; 15] = [
    Type::TEXT,
    Type::INT2,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
];

/// Stage → `swap_events` in `(signature, leg)` order; its row count is what was new.
const INSERT_SQL: &str = "\
INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, base_mint, \
base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, sol_value_lamports, \
fee_payer) \
SELECT signature, leg, slot, block_time, venue, user_wallet, side, base_mint, \
base_amount::numeric, base_decimals, quote_mint, quote_amount::numeric, quote_decimals, \
sol_value_lamports::numeric, fee_payer FROM swap_stage ORDER BY signature, leg \
ON CONFLICT (signature, leg) DO NOTHING";

/// At most `max_size` tokio-postgres connections for the COPY path, made lazily (none at start).
///
/// A connection that saw any error, a timeout, or whose server went away (`is_closed`) is dropped,
/// never reused, so a PostgreSQL restart costs one failed call (the caller retries, the batch stays
/// unacknowledged) and the next call connects anew.
pub struct CopyPool {
    url: Secret,
    idle: Mutex<Vec<CopyConn>>,
    permits: Semaphore,
}

/// One connection with its stage table and its two statements prepared.
struct CopyConn {
    client: Client,
    copy: Statement,
    insert: Statement,
}

impl CopyPool {
    /// A pool of at most `max_size` (≥ 1) connections to `url`; connects nothing yet.
    pub fn new(url: &str, max_size: usize) -> Result<Self, PgError> {
        if max_size == 0 {
            return Err(PgError::InvalidArgument(
                "COPY pool max_size must be ≥ 1".into(),
            ));
        }
        Ok(CopyPool {
            url: Secret::new(url),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max_size),
        })
    }

    /// Inserts `rows` through the stage table and returns how many were new; the contract of
    /// [`super::insert_swaps`] (idempotent, all or nothing, `Timeout` means unknown).
    pub async fn insert_swaps(&self, rows: &[SwapRow]) -> Result<u64, PgError> {
        self.insert_swaps_within(rows, STATEMENT_TIMEOUT).await
    }

    /// [`Self::insert_swaps`] with a budget of `per_statement` per 5,000 rows (as the unnest
    /// path's) for the whole transaction.
    pub async fn insert_swaps_within(
        &self,
        rows: &[SwapRow],
        per_statement: Duration,
    ) -> Result<u64, PgError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let _permit = with_timeout(
            "COPY connection checkout",
            CHECKOUT_TIMEOUT,
            self.permits.acquire(),
        )
        .await?
        .map_err(|e| PgError::Pool(e.to_string()))?;
        let mut conn = match self.take_idle() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let chunks = rows.len().div_ceil(INSERT_CHUNK_ROWS);
        let budget = per_statement.saturating_mul(u32::try_from(chunks).unwrap_or(u32::MAX));
        match with_timeout("swap copy", budget, copy_rows(&mut conn, rows)).await? {
            Ok(inserted) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
                Ok(inserted)
            }
            // `conn` is dropped here: its state after an error is not worth trusting.
            Err(e) => Err(PgError::Copy {
                message: scrub_password(&error_chain(&e), self.url.expose()),
                retryable: is_transient(&e),
            }),
        }
    }

    /// An idle connection whose server is still there, if any.
    fn take_idle(&self) -> Option<CopyConn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(conn) = idle.pop() {
            if !conn.client.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// A new connection within [`CONNECT_TIMEOUT`] for the connect and again for its setup.
    async fn connect(&self) -> Result<CopyConn, PgError> {
        let url = self.url.expose();
        let fail = |message: String| PgError::Connect {
            target: redact_url(url),
            message: scrub_password(&message, url),
        };
        let (client, connection) = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_postgres::connect(url, NoTls),
        )
        .await
        {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(fail(error_chain(&e))),
            Err(_) => {
                return Err(fail(format!(
                    "connecting timed out after {CONNECT_TIMEOUT:?}"
                )))
            }
        };
        // Ends when the client is dropped or the server goes away (`is_closed` then says so).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let setup = async {
            client.batch_execute(&statement_timeout_sql()).await?;
            // Older servers refuse the parameter; the statement timeout still bounds them.
            let _ = client.batch_execute(CLIENT_CHECK_SQL).await;
            client.batch_execute(STAGE_SQL).await?;
            let copy = client.prepare(COPY_SQL).await?;
            let insert = client.prepare(INSERT_SQL).await?;
            Ok::<_, tokio_postgres::Error>((copy, insert))
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, setup).await {
            Ok(Ok((copy, insert))) => Ok(CopyConn {
                client,
                copy,
                insert,
            }),
            Ok(Err(e)) => Err(fail(error_chain(&e))),
            Err(_) => Err(fail(format!(
                "setting up the COPY connection timed out after {CONNECT_TIMEOUT:?}"
            ))),
        }
    }
}

/// One transaction: COPY into the stage, INSERT … SELECT the new rows, commit. Dropping the
/// transaction unfinished (an error, a timeout) rolls it back.
async fn copy_rows(conn: &mut CopyConn, rows: &[SwapRow]) -> Result<u64, tokio_postgres::Error> {
    let tx = conn.client.transaction().await?;
    let sink = tx.copy_in(&conn.copy).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &STAGE_TYPES));
    // Amount texts reuse three buffers: `write` encodes a row before it returns, so no row needs
    // allocations of its own.
    let (mut base_amount, mut quote_amount, mut sol_text) =
        (String::new(), String::new(), String::new());
    for r in rows {
        set_decimal(&mut base_amount, r.base_amount);
        set_decimal(&mut quote_amount, r.quote_amount);
        let sol_value = r.sol_value_lamports.map(|v| {
            set_decimal(&mut sol_text, v);
            sol_text.as_str()
        });
        let values: [&(dyn ToSql + Sync); 15] = [
            &r.signature,
            &r.leg,
            &r.slot,
            &r.block_time,
            &r.venue,
            &r.user_wallet,
            &r.side.as_str(),
            &r.base_mint,
            &base_amount.as_str(),
            &r.base_decimals,
            &r.quote_mint,
            &quote_amount.as_str(),
            &r.quote_decimals,
            &sol_value,
            &r.fee_payer,
        ];
        writer.as_mut().write(&values).await?;
    }
    writer.finish().await?;
    let inserted = tx.execute(&conn.insert, &[]).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// `buf` := the decimal text of `value`, keeping its allocation.
fn set_decimal(buf: &mut String, value: impl std::fmt::Display) {
    use std::fmt::Write;
    buf.clear();
    let _ = write!(buf, "{value}");
}

/// Whether a COPY-path error may go away on retry: the connection broke or closed, or the server
/// said so by SQLSTATE class (08 connection, 40 rollback/deadlock, 53 resources, 57 shutdown or
/// cancel, 25006 read-only transaction). Bad data (class 22, 23) is not.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        None => true,
        Some(state) => {
            let code = state.code();
            ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c)) || code == "25006"
        }
    }
}
