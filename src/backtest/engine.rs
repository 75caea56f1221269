//! Replays swaps in block-time order through the live detector's windows, triggers and alert
//! policy, in memory, and says which alerts a trigger set would have raised.
//!
//! What it reproduces, and how (see the note on agreement in `backtest/mod.rs`):
//! - **Counters:** the swaps of each block second are aggregated into [`CounterDeltas`] (the
//!   code every consumer batch goes through) and applied to [`MemoryWindows`], which answers
//!   window reads exactly as Redis does.
//! - **"Now"** is the newest block time applied (the live `pw:clock`).
//! - **Evaluation points:** after each block second, every mint traded in it (the live detector
//!   evaluates touched mints after each commit); and at the first block second of every chain
//!   minute, every mint traded within `sweep_lookback_secs` (the live sweep runs every 60 s; at
//!   real-time pace that is once per chain minute, and a window only changes with a new trade
//!   or a new minute).
//! - **Matching:** counts first, detail for the triggers still in play, everything for matches,
//!   the first match not cooling down chosen ([`AlertPolicy::select`]), then the market-cap
//!   filter, then [`AlertPolicy::claim`] — the detector's order.
//! - **Wall clock:** a daemon keeping up with the chain; the wall clock at an evaluation is the
//!   chain time of that evaluation. (Under an accelerated replay the live wall-clock cooldown
//!   lasts longer in chain time; see the README.)

use std::collections::HashMap;

use super::windows::MemoryWindows;
use crate::detect::evaluate::metrics_of;
use crate::domain::alert_policy::{AlertPolicy, Claim, Cooldown};
use crate::domain::assets::{QuoteAssets, WSOL_MINT};
use crate::domain::counters::{minute_of, CounterDeltas};
use crate::domain::triggers::{Trigger, TriggerSet};
use crate::domain::windows::{WindowClass, WindowMetrics};
use crate::domain::{Pubkey, Swap};
use crate::store::redis::windows::{DetailParts, MintWindows};

/// Mints idle for longer than the hour plus this margin can no longer fire (the live sweep trims
/// `pw:active` the same way).
const IDLE_MARGIN_SECS: i64 = 600;

/// The market-cap filter without an RPC provider: supplies come from what the detector stored
/// (`token_profiles`), prices from the replayed swaps.
#[derive(Debug, Clone, Default)]
pub struct MarketCaps {
    /// Whole-token supply per mint (base58), as `token_profiles` holds it.
    pub supplies: HashMap<String, f64>,
    /// Alerts for tokens whose market cap is known and below this are skipped.
    pub min_mcap_sol: f64,
    /// Skip alerts whose market cap is unknown (`unknown_mcap = "skip"`).
    pub skip_unknown: bool,
    /// No filter at all (`--mcap off`).
    pub off: bool,
}

/// What the engine needs besides the triggers.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub policy: AlertPolicy,
    pub sweep_lookback_secs: i64,
    pub quotes: QuoteAssets,
    pub market: MarketCaps,
}

/// An alert the replayed trigger set raised.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestAlert {
    pub mint: String,
    pub trigger: String,
    pub reason: String,
    pub window: WindowClass,
    /// Chain time of the evaluation (unix seconds).
    pub chain_time: i64,
    /// All 18 metrics in the reference's order.
    pub metrics: Vec<(String, f64)>,
    /// Largest buyers of the window that fired (base58, lamports).
    pub top_buyers: Vec<(String, u64)>,
    pub price_sol: Option<f64>,
    pub mcap_sol: Option<f64>,
}

/// Why a match did not become an alert (counted, like the live `alerts_suppressed_total`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    pub cooldown: u64,
    pub low_mcap: u64,
    pub unknown_mcap: u64,
}

/// One trigger set's replay: its triggers and what its alerts left behind.
struct Run {
    /// In evaluation order.
    triggers: Vec<Trigger>,
    cooldowns: HashMap<(Pubkey, usize), Cooldown>,
    hot_until_ms: HashMap<Pubkey, i64>,
    suppressed: Suppressed,
}

/// An alert of trigger set `set` (its position in [`Engine::new`]'s list).
#[derive(Debug, Clone, PartialEq)]
pub struct SetAlert {
    pub set: usize,
    pub alert: BacktestAlert,
}

/// The replay state: one set of windows, any number of trigger sets evaluated on them.
pub struct Engine {
    runs: Vec<Run>,
    config: EngineConfig,
    windows: MemoryWindows,
    /// The price of each mint's latest SOL-quoted trade with tokens moved (None when that trade
    /// moved no SOL, as the detector's enrichment reads it).
    last_price: HashMap<Pubkey, Option<f64>>,
    clock: Option<i64>,
    last_sweep_minute: Option<i64>,
    pending: Vec<(Swap, i64)>,
    /// No evaluation before this chain time (the warm-up only fills the windows).
    evaluate_from: i64,
    pub swaps: u64,
    pub evaluations: u64,
}

impl Engine {
    /// Replays every set of `sets` on the same windows; nothing is evaluated before
    /// `evaluate_from` (a warm-up that fills the windows).
    pub fn new(sets: Vec<TriggerSet>, config: EngineConfig, evaluate_from: i64) -> Self {
        Engine {
            runs: sets
                .into_iter()
                .map(|t| Run {
                    triggers: t.iter().cloned().collect(),
                    cooldowns: HashMap::new(),
                    hot_until_ms: HashMap::new(),
                    suppressed: Suppressed::default(),
                })
                .collect(),
            config,
            windows: MemoryWindows::default(),
            last_price: HashMap::new(),
            clock: None,
            last_sweep_minute: None,
            pending: Vec::new(),
            evaluate_from,
            swaps: 0,
            evaluations: 0,
        }
    }

    /// Adds one swap at `block_time`; swaps must come in block-time order. Returns the alerts
    /// raised by the block seconds this completes.
    pub fn push(&mut self, swap: Swap, block_time: i64) -> Vec<SetAlert> {
        let mut out = Vec::new();
        if self.pending.first().is_some_and(|(_, t)| *t != block_time) {
            out = self.flush();
        }
        self.pending.push((swap, block_time));
        out
    }

    /// Closes the last block second (call at the end of the stream).
    pub fn flush(&mut self) -> Vec<SetAlert> {
        let Some(&(_, t)) = self.pending.first() else {
            return Vec::new();
        };
        let pending = std::mem::take(&mut self.pending);
        let deltas = {
            let mut d = CounterDeltas::default();
            for (s, time) in &pending {
                d.add(s, *time, &self.config.quotes);
            }
            d
        };
        for (s, _) in &pending {
            if s.quote_mint == WSOL_MINT && s.amount > 0 {
                self.last_price.insert(s.mint, price_sol(s));
            }
        }
        self.swaps += pending.len() as u64;
        self.windows.apply(&deltas);
        let now = self.clock.map_or(t, |c| c.max(t));
        self.clock = Some(now);
        let minute = minute_of(now);
        let mut mints: Vec<Pubkey> = deltas.mint_last_trade.keys().copied().collect();
        if self.last_sweep_minute.is_none_or(|m| m < minute) {
            self.last_sweep_minute = Some(minute);
            self.windows
                .forget(minute, WindowClass::OneHour.seconds() + IDLE_MARGIN_SECS);
            mints = self
                .windows
                .active_since(now - self.config.sweep_lookback_secs);
            for run in &mut self.runs {
                run.hot_until_ms.retain(|_, until| *until > now * 1000);
            }
        }
        let mut alerts = Vec::new();
        if now < self.evaluate_from {
            return alerts;
        }
        mints.sort_unstable();
        mints.dedup();
        for mint in mints {
            self.evaluations += 1;
            for set in 0..self.runs.len() {
                if let Some(alert) = self.evaluate(set, &mint, now) {
                    alerts.push(SetAlert { set, alert });
                }
            }
        }
        alerts
    }

    /// Mints HOT at the current chain time under trigger set `set`.
    pub fn hot(&self, set: usize) -> usize {
        self.runs[set].hot_until_ms.len()
    }

    /// What trigger set `set` did not alert on, and why.
    pub fn suppressed(&self, set: usize) -> Suppressed {
        self.runs[set].suppressed
    }

    /// Mints and wallets held in memory.
    pub fn held(&self) -> (usize, usize) {
        (self.windows.mints(), self.windows.wallets())
    }

    fn cooldown(&self, set: usize, mint: &Pubkey, trigger: usize) -> Cooldown {
        self.runs[set]
            .cooldowns
            .get(&(*mint, trigger))
            .copied()
            .unwrap_or_default()
    }

    /// One evaluation of `mint` at chain time `now` by trigger set `set`, as the detector's
    /// `evaluate` + `decide`.
    fn evaluate(&mut self, set: usize, mint: &Pubkey, now: i64) -> Option<BacktestAlert> {
        let wall_ms = now * 1000;
        let now_minute = minute_of(now);
        let counts = self.windows.read(mint, now_minute, None);
        let m = metrics_of(&counts);
        let in_play: Vec<usize> = (0..self.runs[set].triggers.len())
            .filter(|&i| {
                let t = self.trigger(set, i);
                counts_hold(t, &m) && !self.cooldown(set, mint, i).wall_cooling(wall_ms)
            })
            .collect();
        if in_play.is_empty() {
            return None;
        }
        let mut parts = DetailParts::default();
        for &i in &in_play {
            for c in &self.trigger(set, i).conditions {
                parts.add(c.metric);
            }
        }
        let detailed: MintWindows = if parts.any() {
            self.windows.read(mint, now_minute, Some(parts))
        } else {
            counts
        };
        let dm = metrics_of(&detailed);
        let matched: Vec<usize> = in_play
            .into_iter()
            .filter(|&i| self.trigger(set, i).matches(&dm))
            .collect();
        if matched.is_empty() {
            return None;
        }
        let full = self.windows.read(mint, now_minute, Some(DetailParts::ALL));
        let metrics = metrics_of(&full);
        let matching: Vec<usize> = matched
            .into_iter()
            .filter(|&i| self.trigger(set, i).matches(&metrics))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let states: Vec<Cooldown> = matching
            .iter()
            .map(|&i| self.cooldown(set, mint, i))
            .collect();
        let policy = self.config.policy;
        let Some(pick) = policy.select(&states, wall_ms) else {
            self.runs[set].suppressed.cooldown += 1;
            return None;
        };
        let index = matching[pick];
        let state = states[pick];
        let price = self.last_price.get(mint).copied().flatten();
        let name = mint.to_base58();
        let market = &self.config.market;
        let mcap = match (price, market.supplies.get(&name)) {
            (Some(p), Some(s)) => Some(p * s),
            _ => None,
        };
        if !market.off {
            let skipped = match mcap {
                Some(v) if v < market.min_mcap_sol => {
                    self.runs[set].suppressed.low_mcap += 1;
                    true
                }
                None if market.skip_unknown => {
                    self.runs[set].suppressed.unknown_mcap += 1;
                    true
                }
                _ => false,
            };
            if skipped {
                self.runs[set]
                    .cooldowns
                    .insert((*mint, index), policy.skipped_for_mcap(&state, wall_ms));
                return None;
            }
        }
        let Claim::Granted {
            cooldown,
            hot_until_ms,
        } = policy.claim(&state, wall_ms, now)
        else {
            self.runs[set].suppressed.cooldown += 1;
            return None;
        };
        let run = &mut self.runs[set];
        run.cooldowns.insert((*mint, index), cooldown);
        let previous = run.hot_until_ms.get(mint).copied();
        run.hot_until_ms
            .insert(*mint, AlertPolicy::hot_after(previous, hot_until_ms));
        let trigger = self.trigger(set, index);
        Some(BacktestAlert {
            mint: name,
            trigger: trigger.name.clone(),
            reason: trigger.reason(&metrics),
            window: trigger.window,
            chain_time: now,
            metrics: metrics.named(),
            top_buyers: match trigger.window {
                WindowClass::FiveMinutes => full.top_five_minutes.clone(),
                WindowClass::OneHour => full.top_one_hour.clone(),
            },
            price_sol: price,
            mcap_sol: mcap,
        })
    }

    fn trigger(&self, set: usize, i: usize) -> &Trigger {
        &self.runs[set].triggers[i]
    }
}

/// Whether every condition of `t` that the counts alone decide holds (the detector's depth 1).
fn counts_hold(t: &Trigger, m: &WindowMetrics) -> bool {
    t.conditions
        .iter()
        .all(|c| c.metric.kind.needs_detail() || c.holds(m))
}

/// SOL per whole token of a SOL-quoted swap (the price the detector's enrichment reads from the
/// mint's latest SOL-quoted swap).
fn price_sol(s: &Swap) -> Option<f64> {
    let tokens = s.amount as f64 / 10f64.powi(i32::from(s.decimals));
    let sol = s.quote_amount as f64 / 1e9;
    (tokens > 0.0 && sol > 0.0).then(|| sol / tokens)
}
