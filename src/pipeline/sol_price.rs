//! The SOL/USD reference price shared by all parser threads: a median of the most recent
//! observations, so one odd or tiny trade cannot move every stable-quoted swap's value.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::domain::sol_price::{price_from_swap, value_in_lamports, SolUsdPrice};
use crate::domain::{QuoteAssets, Swap};

/// Observations kept for the median.
const WINDOW: usize = 31;

#[derive(Default)]
pub struct SharedSolPrice {
    recent: Mutex<VecDeque<f64>>,
    min_lamports: u64,
}

impl SharedSolPrice {
    pub fn new(min_lamports: u64) -> Self {
        SharedSolPrice {
            recent: Mutex::new(VecDeque::with_capacity(WINDOW)),
            min_lamports,
        }
    }

    pub fn current(&self) -> Option<SolUsdPrice> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = recent.iter().copied().collect();
        sorted.sort_by(|a, b| a.total_cmp(b));
        Some(SolUsdPrice {
            lamports_per_usd: sorted[sorted.len() / 2],
        })
    }

    /// Learns from a batch's SOL↔stable swaps, then values its stable-quoted swaps.
    pub fn apply(&self, swaps: &mut [&mut Swap], quotes: &QuoteAssets) {
        let learned: Vec<f64> = swaps
            .iter()
            .filter_map(|s| price_from_swap(s, quotes, self.min_lamports))
            .map(|p| p.lamports_per_usd)
            .collect();
        if !learned.is_empty() {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            for p in learned {
                if recent.len() == WINDOW {
                    recent.pop_front();
                }
                recent.push_back(p);
            }
        }
        if let Some(price) = self.current() {
            for s in swaps.iter_mut() {
                if s.sol_value_lamports.is_none() {
                    s.sol_value_lamports = value_in_lamports(s, quotes, price);
                }
            }
        }
    }
}
