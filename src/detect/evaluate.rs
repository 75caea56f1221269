//! Which mints fire which trigger: window reads in two depths, then the trigger set.

use redis::aio::ConnectionLike;
use redis::{RedisError, Script};

use crate::domain::counters::minute_of;
use crate::domain::triggers::{Trigger, TriggerSet};
use crate::domain::windows::{WindowClass, WindowMetrics, WindowValues};
use crate::store::redis::detect_index::{reuse_detail, DetailMemo};
use crate::store::redis::keys;
use crate::store::redis::windows::{
    read_counts, read_detail, read_windows, DetailParts, MintWindows,
};

/// A mint whose windows match at least one trigger, with every matching trigger in evaluation
/// order (the caller alerts on the first one not in cooldown). A trigger with wallet conditions
/// is listed when its other conditions hold; the decision checks the wallet ones after tracing.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub mint: String,
    pub metrics: WindowMetrics,
    pub windows: MintWindows,
    /// Names of the matching triggers, in evaluation order.
    pub matching: Vec<String>,
}

pub fn metrics_of(w: &MintWindows) -> WindowMetrics {
    WindowMetrics {
        five_minutes: WindowValues::compute(&w.five_minutes),
        one_hour: WindowValues::compute(&w.one_hour),
    }
}

/// Evaluates `mints` at chain time `now` (unix seconds of the newest committed block), reading
/// `per_call` mints per round trip, in three depths so that Redis does the expensive work only
/// where it can change the outcome:
/// 1. the counts of every mint; a trigger stays in play when its count conditions hold;
/// 2. for mints with triggers in play and not in cooldown, only the detail those triggers read;
/// 3. for mints that match, everything (the alert records all 18 metrics).
///
/// Step 2 may reuse a detail `memo` read shortly before (see [`DetailMemo`]); step 3 is always
/// read fresh, and remembered.
pub async fn evaluate<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    triggers: &TriggerSet,
    now: i64,
    mints: &[String],
    per_call: usize,
    memo: &mut DetailMemo,
) -> Result<Vec<Candidate>, RedisError> {
    let now_minute = minute_of(now);
    let mut out = Vec::new();
    for chunk in mints.chunks(per_call.max(1)) {
        let counts = read_counts(conn, now_minute, chunk).await?;
        let in_play: Vec<(String, Vec<&Trigger>)> = chunk
            .iter()
            .zip(&counts)
            .filter_map(|(mint, w)| {
                let m = metrics_of(w);
                let ts: Vec<&Trigger> = triggers.iter().filter(|t| counts_hold(t, &m)).collect();
                (!ts.is_empty()).then(|| (mint.clone(), ts))
            })
            .collect();
        let in_play = not_cooling(conn, in_play).await?;
        if in_play.is_empty() {
            continue;
        }
        let mut parts = DetailParts::default();
        for (_, ts) in &in_play {
            for t in ts {
                for c in &t.conditions {
                    parts.add(c.metric);
                }
            }
        }
        let names: Vec<String> = in_play.iter().map(|(m, _)| m.clone()).collect();
        let mut detailed = counts_of(&names, chunk, &counts);
        let mut reused = vec![false; names.len()];
        if parts.any() {
            reused = detail_with_memo(conn, script, now_minute, parts, &names, &mut detailed, memo)
                .await?;
        }
        for (((mint, ts), w), reused) in in_play.iter().zip(&detailed).zip(&reused) {
            let m = metrics_of(w);
            if *reused && !ts.iter().any(|t| t.matches_before_wallets(&m)) {
                memo.defer(mint);
            }
        }
        let matched: Vec<(String, Vec<&Trigger>)> = in_play
            .into_iter()
            .zip(&detailed)
            .filter_map(|((mint, ts), w)| {
                let m = metrics_of(w);
                let hit: Vec<&Trigger> = ts
                    .into_iter()
                    .filter(|t| t.matches_before_wallets(&m))
                    .collect();
                (!hit.is_empty()).then_some((mint, hit))
            })
            .collect();
        if matched.is_empty() {
            continue;
        }
        let names: Vec<String> = matched.iter().map(|(m, _)| m.clone()).collect();
        let full = read_windows(conn, script, now_minute, Some(DetailParts::ALL), &names).await?;
        let read_at = std::time::Instant::now();
        for (mint, w) in names.iter().zip(&full) {
            memo.put(mint, now_minute, DetailParts::ALL, w, read_at);
        }
        for ((mint, ts), windows) in matched.into_iter().zip(full) {
            let metrics = metrics_of(&windows);
            let matching: Vec<String> = ts
                .into_iter()
                .filter(|t| t.matches_before_wallets(&metrics))
                .map(|t| t.name.clone())
                .collect();
            if !matching.is_empty() {
                out.push(Candidate {
                    mint,
                    metrics,
                    windows,
                    matching,
                });
            }
        }
    }
    Ok(out)
}

/// Fills `parts` of the detail of `names` (their `windows` hold fresh counts): from `memo` where
/// it remembers them, in one read for the rest, which is remembered. Says which were reused.
async fn detail_with_memo<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    now_minute: i64,
    parts: DetailParts,
    names: &[String],
    windows: &mut [MintWindows],
    memo: &mut DetailMemo,
) -> Result<Vec<bool>, RedisError> {
    let now = std::time::Instant::now();
    let mut misses = Vec::new();
    let mut reused_flags = vec![false; names.len()];
    for (i, (mint, w)) in names.iter().zip(windows.iter_mut()).enumerate() {
        match memo.get(mint, now_minute, parts, now) {
            Some(remembered) => {
                reuse_detail(remembered, w);
                reused_flags[i] = true;
            }
            None => misses.push(i),
        }
    }
    let reused = names.len() - misses.len();
    if reused > 0 {
        metrics::counter!(crate::metrics::DETECT_DETAIL_REUSED).increment(reused as u64);
    }
    if misses.is_empty() {
        return Ok(reused_flags);
    }
    let miss_names: Vec<String> = misses.iter().map(|&i| names[i].clone()).collect();
    let mut read: Vec<MintWindows> = misses.iter().map(|&i| windows[i].clone()).collect();
    read_detail(conn, script, now_minute, parts, &miss_names, &mut read).await?;
    for (&i, w) in misses.iter().zip(read) {
        memo.put(&names[i], now_minute, parts, &w, now);
        windows[i] = w;
    }
    Ok(reused_flags)
}

/// Whether every condition of `t` that the counts alone decide holds.
fn counts_hold(t: &Trigger, m: &WindowMetrics) -> bool {
    t.conditions
        .iter()
        .all(|c| c.metric.kind.needs_detail() || c.holds(m))
}

/// Drops triggers whose (mint, trigger) cooldown runs (one pipelined round trip), and mints left
/// with none: a mint that just alerted costs no detail reads until its cooldown ends.
async fn not_cooling<'t, C: ConnectionLike>(
    conn: &mut C,
    in_play: Vec<(String, Vec<&'t Trigger>)>,
) -> Result<Vec<(String, Vec<&'t Trigger>)>, RedisError> {
    if in_play.is_empty() {
        return Ok(in_play);
    }
    let mut pipe = redis::pipe();
    for (mint, ts) in &in_play {
        for t in ts {
            pipe.cmd("EXISTS").arg(keys::cooldown(mint, &t.name));
        }
    }
    let cooling: Vec<bool> = pipe.query_async(conn).await?;
    let mut cooling = cooling.into_iter();
    Ok(in_play
        .into_iter()
        .filter_map(|(mint, ts)| {
            let free: Vec<&Trigger> = ts
                .into_iter()
                .filter(|_| !cooling.next().unwrap_or(false))
                .collect();
            (!free.is_empty()).then_some((mint, free))
        })
        .collect())
}

/// The counts already read, for the mints still in play.
fn counts_of(names: &[String], chunk: &[String], counts: &[MintWindows]) -> Vec<MintWindows> {
    names
        .iter()
        .map(|n| {
            chunk
                .iter()
                .position(|m| m == n)
                .map(|i| counts[i].clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The top buyers of the window that fired, largest first.
pub fn top_buyers(w: &MintWindows, window: WindowClass) -> &[(String, u64)] {
    match window {
        WindowClass::FiveMinutes => &w.top_five_minutes,
        WindowClass::OneHour => &w.top_one_hour,
    }
}
