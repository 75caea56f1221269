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

/// The window detail (HyperLogLog unions, top buyers, new wallets) the detector read per mint,
/// reused for a short time by the in-play filter.
///
/// Why: the top-buyers union (a `ZUNIONSTORE` of up to 60 per-minute sets in `windows.lua`) is
/// the detector's most expensive Redis work, and a traded mint is touched by nearly every commit,
/// so without reuse a hot mint's hour union is rebuilt at every cycle (4 times a second by
/// default). Reuse is safe for alerts: a mint that passes the filter is always confirmed on a
/// fresh full read before it can alert, so a remembered detail can delay an alert by at most
/// the reuse time, never make one up. A remembered detail is only used within the same chain
/// minute and when it covers every part asked for.
///
/// A mint ruled out on a remembered detail is handed back ([`DetailMemo::defer`],
/// [`DetailMemo::take_deferred`]) to be evaluated again at the next cycle, even if no commit
/// touches it again: so the delay stays bounded by the reuse time plus one cycle.
pub struct DetailMemo {
    reuse_for: std::time::Duration,
    by_mint: std::collections::HashMap<String, Remembered>,
    deferred: std::collections::HashSet<String>,
}

struct Remembered {
    minute: i64,
    parts: super::windows::DetailParts,
    at: std::time::Instant,
    windows: super::windows::MintWindows,
}

/// Mints remembered before old entries are swept out (bounded memory; one entry is ~0.5 KB).
const DETAIL_MEMO_SWEEP_AT: usize = 20_000;

impl DetailMemo {
    pub fn new(reuse_for: std::time::Duration) -> Self {
        DetailMemo {
            reuse_for,
            by_mint: std::collections::HashMap::new(),
            deferred: std::collections::HashSet::new(),
        }
    }

    /// The detail of `mint` read at chain minute `minute` less than the reuse time before `now`
    /// with at least `parts`.
    pub fn get(
        &self,
        mint: &str,
        minute: i64,
        parts: super::windows::DetailParts,
        now: std::time::Instant,
    ) -> Option<&super::windows::MintWindows> {
        let r = self.by_mint.get(mint)?;
        let fresh = now.saturating_duration_since(r.at) < self.reuse_for;
        (fresh && r.minute == minute && r.parts.covers(parts)).then_some(&r.windows)
    }

    /// Remembers the detail of `mint` just read (`parts` of it) at `now`.
    pub fn put(
        &mut self,
        mint: &str,
        minute: i64,
        parts: super::windows::DetailParts,
        windows: &super::windows::MintWindows,
        now: std::time::Instant,
    ) {
        if self.reuse_for.is_zero() {
            return;
        }
        if self.by_mint.len() >= DETAIL_MEMO_SWEEP_AT && !self.by_mint.contains_key(mint) {
            let reuse_for = self.reuse_for;
            self.by_mint
                .retain(|_, r| now.saturating_duration_since(r.at) < reuse_for);
        }
        self.by_mint.insert(
            mint.to_string(),
            Remembered {
                minute,
                parts,
                at: now,
                windows: windows.clone(),
            },
        );
    }

    /// `mint` was ruled out on a remembered detail: evaluate it again soon.
    pub fn defer(&mut self, mint: &str) {
        self.deferred.insert(mint.to_string());
    }

    /// The mints deferred since the last call.
    pub fn take_deferred(&mut self) -> Vec<String> {
        self.deferred.drain().collect()
    }

    pub fn len(&self) -> usize {
        self.by_mint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_mint.is_empty()
    }
}

/// Copies the detail part of `from` (a remembered read) into `into`, which holds fresh counts.
/// The wallet-volume total stays the fresh one (it is the window's `bv` counter).
pub fn reuse_detail(from: &super::windows::MintWindows, into: &mut super::windows::MintWindows) {
    let copy = |f: &crate::domain::windows::WindowInput,
                t: &mut crate::domain::windows::WindowInput| {
        t.unique_buyers = f.unique_buyers;
        t.unique_sellers = f.unique_sellers;
        t.top_wallet_lamports = f.top_wallet_lamports.clone();
        t.buyers = f.buyers;
        t.new_buyers = f.new_buyers;
    };
    copy(&from.five_minutes, &mut into.five_minutes);
    copy(&from.one_hour, &mut into.one_hour);
    into.top_five_minutes = from.top_five_minutes.clone();
    into.top_one_hour = from.top_one_hour.clone();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redis::windows::{DetailParts, MintWindows};
    use std::time::{Duration, Instant};

    fn detail(top: u64) -> MintWindows {
        let mut w = MintWindows::default();
        w.one_hour.top_wallet_lamports = Some(vec![top]);
        w.one_hour.unique_buyers = Some(7);
        w.top_one_hour = vec![("w".into(), top)];
        w
    }

    const TOP_HOUR: DetailParts = DetailParts {
        unique: [false, false],
        top: [false, true],
        new: [false, false],
    };

    #[test]
    fn a_remembered_detail_is_reused_only_while_fresh_in_the_same_minute_and_covering() {
        let t0 = Instant::now();
        let mut memo = DetailMemo::new(Duration::from_secs(1));
        memo.put("m", 100, TOP_HOUR, &detail(5), t0);
        let soon = t0 + Duration::from_millis(900);
        assert_eq!(memo.get("m", 100, TOP_HOUR, soon), Some(&detail(5)));
        assert_eq!(
            memo.get("m", 100, DetailParts::default(), soon),
            Some(&detail(5))
        );
        assert!(
            memo.get("m", 100, TOP_HOUR, t0 + Duration::from_secs(1))
                .is_none(),
            "stale"
        );
        assert!(memo.get("m", 101, TOP_HOUR, soon).is_none(), "next minute");
        assert!(
            memo.get("m", 100, DetailParts::ALL, soon).is_none(),
            "parts not read"
        );
        assert!(memo.get("other", 100, TOP_HOUR, soon).is_none());
        memo.put("m", 100, DetailParts::ALL, &detail(9), soon);
        assert_eq!(
            memo.get("m", 100, TOP_HOUR, soon),
            Some(&detail(9)),
            "newest read wins"
        );
        memo.defer("m");
        memo.defer("m");
        assert_eq!(memo.take_deferred(), vec!["m".to_string()]);
        assert!(memo.take_deferred().is_empty());
    }

    #[test]
    fn zero_reuse_remembers_nothing_and_old_entries_are_swept() {
        let t0 = Instant::now();
        let mut off = DetailMemo::new(Duration::ZERO);
        off.put("m", 1, TOP_HOUR, &detail(1), t0);
        assert!(off.is_empty());
        let mut memo = DetailMemo::new(Duration::from_millis(10));
        for i in 0..DETAIL_MEMO_SWEEP_AT {
            memo.put(&format!("m{i}"), 1, TOP_HOUR, &detail(1), t0);
        }
        memo.put("late", 1, TOP_HOUR, &detail(1), t0 + Duration::from_secs(1));
        assert_eq!(
            memo.len(),
            1,
            "entries older than the reuse time are dropped"
        );
    }

    #[test]
    fn reuse_copies_the_detail_and_keeps_fresh_counts() {
        let from = detail(5);
        let mut into = MintWindows::default();
        into.one_hour.counts.buys = 42;
        into.one_hour.wallet_lamports_total = 77;
        reuse_detail(&from, &mut into);
        assert_eq!(into.one_hour.counts.buys, 42);
        assert_eq!(into.one_hour.wallet_lamports_total, 77);
        assert_eq!(into.one_hour.top_wallet_lamports, Some(vec![5]));
        assert_eq!(into.one_hour.unique_buyers, Some(7));
        assert_eq!(into.top_one_hour, from.top_one_hour);
    }
}
