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

/// Mints HOT at `now_ms` (their HOT time ends later).
pub async fn hot_mints<C: ConnectionLike>(conn: &mut C, now_ms: u64) -> RedisResult<Vec<String>> {
    redis::cmd("ZRANGEBYSCORE")
        .arg(keys::HOT_MINTS)
        .arg(format!("({now_ms}"))
        .arg("+inf")
        .query_async(conn)
        .await
}

/// Distinct buyers of `mints` in the `minutes` minute buckets ending with `now_minute` (from the
/// per-wallet buy-volume sets the commit keeps), at most `limit`.
pub async fn recent_buyers<C: ConnectionLike>(
    conn: &mut C,
    mints: &[String],
    now_minute: i64,
    minutes: i64,
    limit: usize,
) -> RedisResult<Vec<String>> {
    if mints.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for mint in mints {
        for minute in now_minute - minutes + 1..=now_minute {
            pipe.cmd("ZRANGE")
                .arg(keys::minute_wallet_volume(mint, minute))
                .arg(0)
                .arg(-1);
        }
    }
    let sets: Vec<Vec<String>> = pipe.query_async(conn).await?;
    let mut seen = std::collections::HashSet::new();
    Ok(sets
        .into_iter()
        .flatten()
        .filter(|w| seen.insert(w.clone()))
        .take(limit)
        .collect())
}

/// Each wallet's daily first-seen records `(day, earliest block time)` over the `days` days up to
/// `today` (see [`crate::domain::first_seen`]).
pub async fn first_seen_records<C: ConnectionLike>(
    conn: &mut C,
    wallets: &[String],
    today: i64,
    days: i64,
) -> RedisResult<Vec<Vec<(i64, i64)>>> {
    let mut out = vec![Vec::new(); wallets.len()];
    if wallets.is_empty() {
        return Ok(out);
    }
    let mut pipe = redis::pipe();
    let range: Vec<i64> = (today - days + 1..=today).collect();
    for day in &range {
        pipe.cmd("ZMSCORE").arg(keys::first_seen(*day)).arg(wallets);
    }
    let scores: Vec<Vec<Option<f64>>> = pipe.query_async(conn).await?;
    for (day, per_wallet) in range.iter().zip(scores) {
        for (records, score) in out.iter_mut().zip(per_wallet) {
            if let Some(t) = score {
                records.push((*day, t as i64));
            }
        }
    }
    Ok(out)
}

/// RPC calls counted against `day`'s shared budget so far.
pub async fn rpc_budget_used<C: ConnectionLike>(conn: &mut C, day: i64) -> RedisResult<u64> {
    let used: Option<u64> = redis::cmd("GET")
        .arg(keys::rpc_budget(day))
        .query_async(conn)
        .await?;
    Ok(used.unwrap_or(0))
}
