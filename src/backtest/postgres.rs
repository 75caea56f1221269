//! Streams stored swaps from PostgreSQL into the engine: ranges of block times sized to hold
//! tens of thousands of rows (never the whole table), the next range read while the engine works
//! on the current one.

use tokio::sync::mpsc;

use super::engine::{Engine, SetAlert};
use crate::store::postgres::swap_history::{block_time_range, swaps_between};
use crate::store::postgres::{PgError, PgPool};

/// Rows a page aims at (the range of block times adapts to the flow).
const PAGE_ROWS: usize = 50_000;
/// First range tried, and its bounds.
const FIRST_STEP_SECS: i64 = 60;
const MAX_STEP_SECS: i64 = 6 * 3_600;

/// Replays every stored swap with `from <= block_time < to` through `engine`, calling
/// `progress(rows so far, block time reached)` after each page; returns the alerts in order.
pub async fn replay(
    pool: &PgPool,
    engine: &mut Engine,
    from: i64,
    to: i64,
    progress: &mut dyn FnMut(u64, i64),
) -> Result<Vec<SetAlert>, PgError> {
    let Some((first, last)) = block_time_range(pool, from, to).await? else {
        return Ok(Vec::new());
    };
    let (tx, mut rx) = mpsc::channel(2);
    let reader_pool = pool.clone();
    let reader = tokio::spawn(async move {
        let mut cursor = first;
        let mut step = FIRST_STEP_SECS;
        while cursor <= last {
            let end = (cursor + step).min(last + 1);
            let page = swaps_between(&reader_pool, cursor, end).await;
            let rows = page.as_ref().map_or(0, Vec::len);
            if tx.send(page.map(|p| (p, end))).await.is_err() {
                return;
            }
            cursor = end;
            step = if rows > PAGE_ROWS * 2 {
                (step / 2).max(1)
            } else if rows < PAGE_ROWS / 2 {
                (step * 2).min(MAX_STEP_SECS)
            } else {
                step
            };
        }
    });
    let mut alerts = Vec::new();
    let mut rows = 0u64;
    while let Some(page) = rx.recv().await {
        let (page, reached) = match page {
            Ok(p) => p,
            Err(e) => {
                reader.abort();
                return Err(e);
            }
        };
        rows += page.len() as u64;
        for (swap, t) in page {
            alerts.extend(engine.push(swap, t));
        }
        progress(rows, reached);
    }
    alerts.extend(engine.flush());
    Ok(alerts)
}
