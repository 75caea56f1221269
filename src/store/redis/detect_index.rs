//! The detector's indexes in Redis: touched mints (evaluated soon after each commit), recently
//! active mints (the sweep), HOT mints with their expiry, and the chain clock. Moved out of
//! `detect::detector` so the loops hold no Redis commands of their own; also the cooldown reads
//! and pauses of a decision.

use redis::aio::ConnectionLike;
use redis::RedisResult;

use super::keys;

/// The chain's "now": the newest block time committed (None before the first commit).
pub async fn chain_clock<C: ConnectionLike>(conn: &mut C) -> RedisResult<Option<i64>> {
    let t: Option<f64> = redis::cmd("ZSCORE")
        .arg(keys::CHAIN_CLOCK)
        .arg(keys::CHAIN_CLOCK_MEMBER)
        .query_async(conn)
        .await?;
    Ok(t.map(|t| t as i64))
}

/// Takes up to `n` touched mints, oldest first, with the wall-clock ms they were touched.
pub async fn pop_touched<C: ConnectionLike>(
    conn: &mut C,
    n: usize,
) -> RedisResult<Vec<(String, f64)>> {
    redis::cmd("ZPOPMIN")
        .arg(keys::TOUCHED_MINTS)
        .arg(n)
        .query_async(conn)
        .await
}

/// Removes HOT mints whose HOT time ended by `now_ms` and returns them, with how many stay HOT.
/// Removal is by the same score bound, not by the list: a mint re-alerted meanwhile has a later
/// score and stays.
pub async fn expire_hot<C: ConnectionLike>(
    conn: &mut C,
    now_ms: u64,
) -> RedisResult<(Vec<String>, u64)> {
    let expired: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(keys::HOT_MINTS)
        .arg("-inf")
        .arg(now_ms)
        .query_async(conn)
        .await?;
    if !expired.is_empty() {
        let _: () = redis::cmd("ZREMRANGEBYSCORE")
            .arg(keys::HOT_MINTS)
            .arg("-inf")
            .arg(now_ms)
            .query_async(conn)
            .await?;
    }
    let hot: u64 = redis::cmd("ZCARD")
        .arg(keys::HOT_MINTS)
        .query_async(conn)
        .await?;
    Ok((expired, hot))
}

/// Drops mints idle since before `idle_before` from the active index, then returns those active
/// since `since` (chain seconds).
pub async fn active_mints<C: ConnectionLike>(
    conn: &mut C,
    idle_before: i64,
    since: i64,
) -> RedisResult<Vec<String>> {
    let _: () = redis::cmd("ZREMRANGEBYSCORE")
        .arg(keys::ACTIVE_MINTS)
        .arg("-inf")
        .arg(idle_before)
        .query_async(conn)
        .await?;
    redis::cmd("ZRANGEBYSCORE")
        .arg(keys::ACTIVE_MINTS)
        .arg(since)
        .arg("+inf")
        .query_async(conn)
        .await
}

/// The remaining cooldown (PTTL, ms; -2 none, -1 no expiry) of each `(mint, trigger)`, in order,
/// in one round trip.
pub async fn cooldown_pttls<C: ConnectionLike>(
    conn: &mut C,
    pairs: &[(&str, &str)],
) -> RedisResult<Vec<i64>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for (mint, trigger) in pairs {
        pipe.cmd("PTTL").arg(keys::cooldown(mint, trigger));
    }
    pipe.query_async(conn).await
}

/// Pauses a (mint, trigger) for `secs` after a match that did not alert (`reason`: low market
/// cap, wallet conditions), unless a cooldown already runs: checked again after the pause, not at
/// every cycle.
pub async fn pause_trigger<C: ConnectionLike>(
    conn: &mut C,
    mint: &str,
    trigger: &str,
    reason: &str,
    secs: u64,
) -> RedisResult<()> {
    let _: Option<String> = redis::cmd("SET")
        .arg(keys::cooldown(mint, trigger))
        .arg(reason)
        .arg("NX")
        .arg("EX")
        .arg(secs)
        .query_async(conn)
        .await?;
    Ok(())
}
