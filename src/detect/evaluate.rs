//! Which mints fire which trigger: window reads in two depths, then the trigger set.

use redis::aio::ConnectionLike;
use redis::{RedisError, Script};

use crate::domain::counters::minute_of;
use crate::domain::triggers::TriggerSet;
use crate::domain::windows::{WindowClass, WindowMetrics, WindowValues};
use crate::store::redis::windows::{read_windows, MintWindows};

/// A mint whose windows match at least one trigger, with every matching trigger in evaluation
/// order (the caller alerts on the first one not in cooldown).
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
/// `per_call` mints per round trip. Cheap counts first; the detail only for mints that could fire.
pub async fn evaluate<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    triggers: &TriggerSet,
    now: i64,
    mints: &[String],
    per_call: usize,
) -> Result<Vec<Candidate>, RedisError> {
    let now_minute = minute_of(now);
    let mut out = Vec::new();
    for chunk in mints.chunks(per_call.max(1)) {
        let counts = read_windows(conn, script, now_minute, false, chunk).await?;
        let maybe: Vec<String> = chunk
            .iter()
            .zip(&counts)
            .filter(|(_, w)| triggers.may_fire(&metrics_of(w)))
            .map(|(mint, _)| mint.clone())
            .collect();
        if maybe.is_empty() {
            continue;
        }
        let detailed = read_windows(conn, script, now_minute, true, &maybe).await?;
        for (mint, windows) in maybe.into_iter().zip(detailed) {
            let metrics = metrics_of(&windows);
            let matching: Vec<String> = triggers
                .iter()
                .filter(|t| t.matches(&metrics))
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

/// The top buyers of the window that fired, largest first.
pub fn top_buyers(w: &MintWindows, window: WindowClass) -> &[(String, u64)] {
    match window {
        WindowClass::FiveMinutes => &w.top_five_minutes,
        WindowClass::OneHour => &w.top_one_hour,
    }
}
