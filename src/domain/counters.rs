//! Aggregation of a batch's swaps into counter deltas.
//!
//! Redis cost grows with the number of distinct keys a batch touches, not with its transactions:
//! one increment per mint-minute field, one HyperLogLog add per mint-minute-side (all wallets at
//! once), one sorted-set increment per wallet-mint-minute, one first-seen write per wallet. Windows
//! are keyed by block time at one-minute resolution, so a replay produces the same numbers.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::assets::{QuoteAssets, WSOL_MINT};
use super::pubkey::Pubkey;
use super::swap::{Side, Swap};

/// USD amounts are kept in micro-dollars (6 decimals), whatever the stablecoin's decimals.
pub const USD_DECIMALS: u32 = 6;

/// SOL↔stablecoin trades smaller than this do not count as price observations.
pub const MIN_PRICE_OBSERVATION_LAMPORTS: u64 = 1_000_000;

fn to_micro_usd(amount: u64, decimals: u8) -> u64 {
    let d = decimals as u32;
    if d >= USD_DECIMALS {
        amount / 10u64.pow(d - USD_DECIMALS)
    } else {
        amount.saturating_mul(10u64.pow(USD_DECIMALS - d))
    }
}

/// Default for the most wallets one mint-minute's per-wallet buy volumes keep (`pw:wv:*` in
/// Redis, the backtest's minute volumes): the largest buyers. A hot mint can have every buyer of
/// a minute there; the windows read only the top 5 and the 100 largest (new-wallet sample) of a
/// window's union, so 1,000 per minute keeps those exact unless a wallet's volume is spread thin
/// over many minutes. `counters.top_buyers_per_minute` sets it (at least 100).
pub const TOP_BUYERS_PER_MINUTE: usize = 1_000;

/// Seconds per window bucket.
pub const BUCKET_SECONDS: i64 = 60;

/// The minute bucket of a unix time.
pub fn minute_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(BUCKET_SECONDS)
}

/// Totals of one mint in one minute.
///
/// Volume is kept in the currency it was paid in: lamports for SOL-quoted trades, micro-USD for
/// USD-stablecoin-quoted ones. Converting at read time with the price observed in the stream keeps
/// the counters independent of processing order and restarts (a replay gives the same numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteCounts {
    pub buys: u64,
    pub sells: u64,
    pub buy_lamports: u64,
    pub sell_lamports: u64,
    pub buy_micro_usd: u64,
    pub sell_micro_usd: u64,
}

/// SOL↔USD trades of one minute: their ratio is the SOL/USD reference price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriceObservation {
    pub lamports: u64,
    pub micro_usd: u64,
}

/// Everything one batch adds to the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterDeltas {
    /// Per (mint, minute).
    pub minutes: HashMap<(Pubkey, i64), MinuteCounts>,
    /// Distinct buyers per (mint, minute), for the HyperLogLog.
    pub buyers: HashMap<(Pubkey, i64), Vec<Pubkey>>,
    pub sellers: HashMap<(Pubkey, i64), Vec<Pubkey>>,
    /// Buy volume per (mint, minute, wallet) — exact top-buyer shares. Lamports, plus USD-quoted
    /// buys converted at `usd_weight_lamports_per_usd` when one was given (0 otherwise).
    pub wallet_buy_lamports: HashMap<(Pubkey, i64, Pubkey), u64>,
    /// SOL↔USD trades per minute.
    pub prices: HashMap<i64, PriceObservation>,
    /// Earliest block time each trading wallet was seen in this batch.
    pub wallet_first_seen: HashMap<Pubkey, i64>,
    /// Latest block time of each mint traded in this batch (the active-mints index).
    pub mint_last_trade: HashMap<Pubkey, i64>,
    /// Swaps aggregated.
    pub swaps: u64,
}

impl CounterDeltas {
    /// Adds one swap that happened at `block_time` (unix seconds).
    pub fn add(&mut self, swap: &Swap, block_time: i64, quotes: &QuoteAssets) {
        let minute = minute_of(block_time);
        let key = (swap.mint, minute);
        let sol_quoted = swap.quote_mint == WSOL_MINT;
        let lamports = if sol_quoted { swap.quote_amount } else { 0 };
        let micro_usd = if quotes.is_usd_pegged(&swap.quote_mint) {
            to_micro_usd(swap.quote_amount, swap.quote_decimals)
        } else {
            0
        };
        if sol_quoted
            && quotes.is_usd_pegged(&swap.mint)
            && swap.quote_amount >= MIN_PRICE_OBSERVATION_LAMPORTS
        {
            let p = self.prices.entry(minute).or_default();
            p.lamports = p.lamports.saturating_add(swap.quote_amount);
            p.micro_usd = p
                .micro_usd
                .saturating_add(to_micro_usd(swap.amount, swap.decimals));
        }
        let counts = self.minutes.entry(key).or_default();
        let wallets = match swap.side {
            Side::Buy => {
                counts.buys += 1;
                counts.buy_lamports = counts.buy_lamports.saturating_add(lamports);
                counts.buy_micro_usd = counts.buy_micro_usd.saturating_add(micro_usd);
                *self
                    .wallet_buy_lamports
                    .entry((swap.mint, minute, swap.wallet))
                    .or_default() += lamports;
                &mut self.buyers
            }
            Side::Sell => {
                counts.sells += 1;
                counts.sell_lamports = counts.sell_lamports.saturating_add(lamports);
                counts.sell_micro_usd = counts.sell_micro_usd.saturating_add(micro_usd);
                &mut self.sellers
            }
        };
        let list = wallets.entry(key).or_default();
        if !list.contains(&swap.wallet) {
            list.push(swap.wallet);
        }
        match self.wallet_first_seen.entry(swap.wallet) {
            Entry::Occupied(mut e) => {
                if block_time < *e.get() {
                    e.insert(block_time);
                }
            }
            Entry::Vacant(e) => {
                e.insert(block_time);
            }
        }
        let last = self.mint_last_trade.entry(swap.mint).or_insert(block_time);
        *last = (*last).max(block_time);
        self.swaps += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.swaps == 0
    }
}

/// Aggregates `(swap, block time)` pairs.
pub fn aggregate<'a>(
    swaps: impl IntoIterator<Item = (&'a Swap, i64)>,
    quotes: &QuoteAssets,
) -> CounterDeltas {
    let mut deltas = CounterDeltas::default();
    for (swap, time) in swaps {
        deltas.add(swap, time, quotes);
    }
    deltas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assets::{Venue, WSOL_MINT};
    use crate::domain::pubkey::Signature;
    use crate::domain::test_support::key;

    fn swap(wallet: u8, mint: u8, side: Side, lamports: u64) -> Swap {
        Swap {
            signature: Signature::default(),
            slot: 0,
            block_time: None,
            leg: 0,
            wallet: key(wallet),
            fee_payer: key(wallet),
            side,
            mint: key(mint),
            amount: 1,
            decimals: 6,
            quote_mint: WSOL_MINT,
            quote_amount: lamports,
            quote_decimals: 9,
            sol_value_lamports: Some(lamports),
            venue: Venue::UNKNOWN,
        }
    }

    #[test]
    fn minute_buckets_follow_block_time_including_before_1970() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(59), 0);
        assert_eq!(minute_of(60), 1);
        assert_eq!(minute_of(-1), -1);
    }

    #[test]
    fn buys_and_sells_aggregate_per_mint_minute() {
        let s = [
            swap(1, 50, Side::Buy, 100),
            swap(1, 50, Side::Buy, 50),
            swap(2, 50, Side::Sell, 70),
            swap(3, 51, Side::Buy, 9),
        ];
        let d = aggregate(s.iter().map(|x| (x, 120)), &QuoteAssets::default());
        let m = d.minutes[&(key(50), 2)];
        assert_eq!(
            (m.buys, m.sells, m.buy_lamports, m.sell_lamports),
            (2, 1, 150, 70)
        );
        assert_eq!(d.buyers[&(key(50), 2)], vec![key(1)], "one distinct buyer");
        assert_eq!(d.sellers[&(key(50), 2)], vec![key(2)]);
        assert_eq!(d.wallet_buy_lamports[&(key(50), 2, key(1))], 150);
        assert!(
            !d.wallet_buy_lamports.contains_key(&(key(50), 2, key(2))),
            "sells are not buy volume"
        );
        assert_eq!(d.swaps, 4);
    }

    #[test]
    fn different_minutes_are_different_buckets() {
        let s = [swap(1, 50, Side::Buy, 1), swap(1, 50, Side::Buy, 1)];
        let d = aggregate([(&s[0], 59), (&s[1], 60)], &QuoteAssets::default());
        assert_eq!(d.minutes.len(), 2);
    }

    #[test]
    fn first_seen_is_the_earliest_and_last_trade_the_latest() {
        let s = swap(1, 50, Side::Buy, 1);
        let d = aggregate([(&s, 500), (&s, 100), (&s, 300)], &QuoteAssets::default());
        assert_eq!(d.wallet_first_seen[&key(1)], 100);
        assert_eq!(d.mint_last_trade[&key(50)], 500);
    }

    #[test]
    fn token_quoted_trades_count_with_zero_volume() {
        let mut s = swap(1, 50, Side::Buy, 1);
        s.quote_mint = key(51);
        let d = aggregate([(&s, 0)], &QuoteAssets::default());
        let m = d.minutes[&(key(50), 0)];
        assert_eq!((m.buys, m.buy_lamports, m.buy_micro_usd), (1, 0, 0));
    }

    #[test]
    fn usd_quoted_volume_is_kept_in_micro_dollars_and_sol_usd_trades_are_price_observations() {
        let q = QuoteAssets::default();
        let usdc = q.others[0].mint;
        let mut usd_buy = swap(1, 50, Side::Buy, 0);
        usd_buy.quote_mint = usdc;
        usd_buy.quote_amount = 2_500_000; // 2.5 USDC
        usd_buy.quote_decimals = 6;
        let mut sol_for_usdc = swap(2, 0, Side::Buy, 1_000_000_000);
        sol_for_usdc.mint = usdc;
        sol_for_usdc.amount = 150_000_000; // 150 USDC for 1 SOL
        sol_for_usdc.decimals = 6;
        let d = aggregate([(&usd_buy, 60), (&sol_for_usdc, 60)], &q);
        let m = d.minutes[&(key(50), 1)];
        assert_eq!((m.buy_lamports, m.buy_micro_usd), (0, 2_500_000));
        assert_eq!(
            d.prices[&1],
            PriceObservation {
                lamports: 1_000_000_000,
                micro_usd: 150_000_000
            }
        );
    }

    #[test]
    fn micro_usd_normalises_decimals() {
        assert_eq!(to_micro_usd(1_000_000_000, 9), 1_000_000);
        assert_eq!(to_micro_usd(100, 2), 1_000_000);
    }
}
