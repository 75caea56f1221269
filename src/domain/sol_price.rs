//! The SOL/USD reference price, learned from SOL↔stablecoin swaps in the stream itself, so that
//! stablecoin-quoted swaps get a SOL value without any outside price feed.

use super::assets::{QuoteAssets, WSOL_MINT};
use super::swap::Swap;

/// Latest observed price, in lamports per US dollar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolUsdPrice {
    pub lamports_per_usd: f64,
}

/// Swaps smaller than this (in lamports) do not set the price: dust trades are easy to skew.
pub const DEFAULT_MIN_PRICE_SWAP_LAMPORTS: u64 = 1_000_000;

/// The price implied by `swap` when it is a SOL↔USD-stablecoin trade of at least `min_lamports`.
pub fn price_from_swap(
    swap: &Swap,
    quotes: &QuoteAssets,
    min_lamports: u64,
) -> Option<SolUsdPrice> {
    if swap.quote_mint != WSOL_MINT || !quotes.is_usd_pegged(&swap.mint) {
        return None;
    }
    if swap.quote_amount < min_lamports || swap.amount == 0 {
        return None;
    }
    let usd = swap.amount as f64 / 10f64.powi(swap.decimals as i32);
    Some(SolUsdPrice {
        lamports_per_usd: swap.quote_amount as f64 / usd,
    })
}

/// The SOL value of a USD-stablecoin-quoted swap at `price`.
pub fn value_in_lamports(swap: &Swap, quotes: &QuoteAssets, price: SolUsdPrice) -> Option<u64> {
    if !quotes.is_usd_pegged(&swap.quote_mint) {
        return None;
    }
    let usd = swap.quote_amount as f64 / 10f64.powi(swap.quote_decimals as i32);
    let lamports = (usd * price.lamports_per_usd).round();
    (lamports.is_finite() && lamports >= 0.0 && lamports <= u64::MAX as f64)
        .then_some(lamports as u64)
}

/// Sequential learner for one ordered stream of swaps (the `parse` command, tests).
#[derive(Debug, Clone, Default)]
pub struct SolPriceTracker {
    pub latest: Option<SolUsdPrice>,
}

impl SolPriceTracker {
    /// Learns from SOL↔stable swaps and fills the SOL value of stable-quoted ones, in order.
    pub fn apply(&mut self, swaps: &mut [Swap], quotes: &QuoteAssets) {
        for swap in swaps {
            if let Some(price) = price_from_swap(swap, quotes, DEFAULT_MIN_PRICE_SWAP_LAMPORTS) {
                self.latest = Some(price);
            }
            if swap.sol_value_lamports.is_none() {
                if let Some(price) = self.latest {
                    swap.sol_value_lamports = value_in_lamports(swap, quotes, price);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assets::Venue;
    use crate::domain::pubkey::Signature;
    use crate::domain::swap::Side;

    fn usdc() -> crate::domain::Pubkey {
        QuoteAssets::default().others[0].mint
    }

    fn swap(
        mint: crate::domain::Pubkey,
        amount: u64,
        dec: u8,
        quote: crate::domain::Pubkey,
        qa: u64,
        qd: u8,
    ) -> Swap {
        Swap {
            signature: Signature::default(),
            slot: 0,
            block_time: None,
            leg: 0,
            wallet: Default::default(),
            fee_payer: Default::default(),
            side: Side::Buy,
            mint,
            amount,
            decimals: dec,
            quote_mint: quote,
            quote_amount: qa,
            quote_decimals: qd,
            sol_value_lamports: if quote == WSOL_MINT { Some(qa) } else { None },
            venue: Venue::UNKNOWN,
        }
    }

    #[test]
    fn learns_from_sol_usdc_and_values_usdc_swaps() {
        let q = QuoteAssets::default();
        // 1 SOL bought 150 USDC → 6_666_667 lamports per USD (rounded).
        let mut swaps = vec![
            swap(usdc(), 150_000_000, 6, WSOL_MINT, 1_000_000_000, 9),
            swap(
                crate::domain::test_support::key(9),
                5,
                6,
                usdc(),
                15_000_000,
                6,
            ),
        ];
        let mut t = SolPriceTracker::default();
        t.apply(&mut swaps, &q);
        assert_eq!(swaps[1].sol_value_lamports, Some(100_000_000));
    }

    #[test]
    fn nothing_learned_means_no_value() {
        let q = QuoteAssets::default();
        let mut swaps = vec![swap(
            crate::domain::test_support::key(9),
            5,
            6,
            usdc(),
            15_000_000,
            6,
        )];
        SolPriceTracker::default().apply(&mut swaps, &q);
        assert_eq!(swaps[0].sol_value_lamports, None);
    }

    #[test]
    fn dust_swaps_do_not_set_the_price() {
        let q = QuoteAssets::default();
        let dust = swap(usdc(), 1, 6, WSOL_MINT, 999_999, 9);
        assert!(price_from_swap(&dust, &q, DEFAULT_MIN_PRICE_SWAP_LAMPORTS).is_none());
    }
}
