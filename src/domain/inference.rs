//! DEX-agnostic swap inference from balance changes.
//!
//! A swap is a wallet's net change of exactly one asset out and one asset in. Instruction names are
//! never trusted (a reversed pool's "buy" is a sell); only balances are. Pools, vaults and curves are
//! program-derived (off-curve) and are never reported as traders, so the mirror image of a trade
//! cannot appear as a second swap. Every on-curve owner is examined, so bundles report every buyer.

use super::assets::{Asset, QuoteAssets, VenueTable, SOL_DECIMALS};
use super::curve::is_on_curve;
use super::deltas::{
    has_token_balance_change, owner_deltas, token_account_changes, AssetDelta, OwnerDelta,
};
use super::error::DecodeError;
use super::swap::{FilterDetail, FilterReason, Filtered, Side, Swap, Verdict};
use super::transaction::Transaction;
use super::venue::TxVenues;

/// What inference needs to know besides the transaction.
#[derive(Debug, Clone, Default)]
pub struct InferenceConfig {
    pub quotes: QuoteAssets,
    pub venues: VenueTable,
}

/// The cheap checks that need no balance arithmetic: vote, failed, no token balance change.
pub fn prefilter(tx: &Transaction) -> Option<FilterReason> {
    if tx.is_vote {
        Some(FilterReason::Vote)
    } else if tx.failed {
        Some(FilterReason::Failed)
    } else if !has_token_balance_change(tx) {
        Some(FilterReason::NoBalanceChange)
    } else {
        None
    }
}

/// Infers every swap in `tx`, or says why there is none. An `Err` means the transaction is
/// internally inconsistent (it belongs in the dead-letter stream, not in a filter count).
pub fn infer_swaps(tx: &Transaction, config: &InferenceConfig) -> Result<Verdict, DecodeError> {
    if let Some(reason) = prefilter(tx) {
        let detail = match reason {
            FilterReason::Vote => FilterDetail::Vote,
            FilterReason::Failed => FilterDetail::Failed,
            _ => FilterDetail::NoTokenBalanceChange,
        };
        return Ok(Verdict::Filtered(Filtered { reason, detail }));
    }
    tx.validate()?;
    let changes = token_account_changes(tx);
    let owners = owner_deltas(tx, &changes);
    let venues = TxVenues::resolve(tx, &config.venues);

    let mut swaps = Vec::new();
    // The most telling non-swap pattern, described only if the transaction has no swap at all.
    let mut not_swap: Option<(Legs, &OwnerDelta)> = None;
    for owner in owners.iter().filter(|o| is_on_curve(&o.owner)) {
        match legs(owner, &config.quotes) {
            Legs::Swap { out, into } => {
                push_swaps(tx, &changes, &venues, config, owner, out, into, &mut swaps)?;
            }
            Legs::None => {}
            other => {
                if not_swap.is_none() || matches!(other, Legs::MultiAsset { .. }) {
                    not_swap = Some((other, owner));
                }
            }
        }
    }
    if swaps.is_empty() {
        let detail = not_swap.map_or(FilterDetail::NoWalletChange, |(legs, owner)| {
            legs.detail(owner)
        });
        return Ok(Verdict::Filtered(Filtered {
            reason: FilterReason::NotSwap,
            detail,
        }));
    }
    Ok(Verdict::Swaps(swaps))
}

/// An owner's legs, classified.
enum Legs {
    None,
    Swap { out: AssetDelta, into: AssetDelta },
    OneWay { outs: usize, ins: usize },
    MultiAsset { outs: usize, ins: usize },
}

impl Legs {
    fn detail(&self, owner: &OwnerDelta) -> FilterDetail {
        let wallet = owner.owner;
        match *self {
            Legs::MultiAsset { outs, ins } => FilterDetail::MultiAsset { wallet, outs, ins },
            Legs::OneWay { outs, ins } => FilterDetail::OneWay { wallet, outs, ins },
            Legs::None | Legs::Swap { .. } => FilterDetail::NoWalletChange,
        }
    }
}

fn legs(owner: &OwnerDelta, quotes: &QuoteAssets) -> Legs {
    let outs = owner.tokens.iter().filter(|t| t.delta < 0).count();
    let ins = owner.tokens.len() - outs;
    // SOL is fees, tips or dust when the tokens already make a complete quoted trade.
    let tokens_complete_with_quote =
        outs == 1 && ins == 1 && owner.tokens.iter().any(|t| quotes.rank(&t.asset).is_some());
    let sol = (owner.sol != 0 && !tokens_complete_with_quote).then_some(AssetDelta {
        asset: Asset::Sol,
        delta: owner.sol,
        decimals: SOL_DECIMALS,
    });
    let all = owner.tokens.iter().copied().chain(sol);
    let (mut out, mut into) = (None, None);
    let (mut n_out, mut n_in) = (0, 0);
    for leg in all {
        if leg.delta < 0 {
            n_out += 1;
            out = Some(leg);
        } else {
            n_in += 1;
            into = Some(leg);
        }
    }
    match (n_out, n_in, out, into) {
        (0, 0, _, _) => Legs::None,
        (1, 1, Some(out), Some(into)) => Legs::Swap { out, into },
        (o, i, _, _) if o == 0 || i == 0 => Legs::OneWay { outs: o, ins: i },
        (o, i, _, _) => Legs::MultiAsset { outs: o, ins: i },
    }
}

/// No real swap moves more than this many raw units of a quote asset (10^15 lamports is a million
/// SOL; 10^15 micro-units of a 6-decimal stablecoin is a billion dollars). Larger values only come
/// from corrupt input, and would overflow the per-minute counters that sum them.
pub const MAX_QUOTE_LEG: u64 = 1_000_000_000_000_000;

fn magnitude(leg: &AssetDelta) -> Result<u64, DecodeError> {
    u64::try_from(leg.delta.unsigned_abs())
        .map_err(|_| DecodeError::Inconsistent(format!("balance change {} exceeds u64", leg.delta)))
}

#[allow(clippy::too_many_arguments)]
fn push_swaps(
    tx: &Transaction,
    changes: &[super::deltas::TokenAccountChange],
    venues: &TxVenues,
    config: &InferenceConfig,
    owner: &OwnerDelta,
    out: AssetDelta,
    into: AssetDelta,
    swaps: &mut Vec<Swap>,
) -> Result<(), DecodeError> {
    let out_rank = config.quotes.rank(&out.asset);
    let in_rank = config.quotes.rank(&into.asset);
    // (side, token leg, quote leg) for each swap to report.
    let trades: [Option<(Side, AssetDelta, AssetDelta)>; 2] = match (out_rank, in_rank) {
        // Both quotes: the higher-priority one is the quote (SOL→USDC buys USDC).
        (Some(o), Some(i)) if o < i => [Some((Side::Buy, into, out)), None],
        (Some(_), Some(_)) => [Some((Side::Sell, out, into)), None],
        (Some(_), None) => [Some((Side::Buy, into, out)), None],
        (None, Some(_)) => [Some((Side::Sell, out, into)), None],
        // Token→token: a sell of what went out and a buy of what came in.
        (None, None) => [Some((Side::Sell, out, into)), Some((Side::Buy, into, out))],
    };
    // A transaction with a balance change has at least one key; validate() checked the indexes.
    let fee_payer = *tx
        .fee_payer()
        .ok_or_else(|| DecodeError::Inconsistent("transaction has no account keys".into()))?;
    for (side, token, quote) in trades.into_iter().flatten() {
        let mint = token.asset.mint();
        let quote_amount = magnitude(&quote)?;
        if quote_amount > MAX_QUOTE_LEG && config.quotes.rank(&quote.asset).is_some() {
            return Err(DecodeError::Inconsistent(format!(
                "implausible quote amount {quote_amount} (more than {MAX_QUOTE_LEG} raw units)"
            )));
        }
        // SOL always outranks other quotes, so a SOL leg is always the quote leg.
        let sol_value_lamports = (quote.asset == Asset::Sol).then_some(quote_amount);
        let leg = u8::try_from(swaps.len())
            .map_err(|_| DecodeError::Inconsistent("more than 255 swaps".into()))?;
        swaps.push(Swap {
            signature: tx.signature,
            slot: tx.slot,
            block_time: tx.block_time,
            leg,
            wallet: owner.owner,
            fee_payer,
            side,
            mint,
            amount: magnitude(&token)?,
            decimals: token.decimals,
            quote_mint: quote.asset.mint(),
            quote_amount,
            quote_decimals: quote.decimals,
            sol_value_lamports,
            venue: venues.venue_for(tx, changes, &owner.owner, &mint, side),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assets::{Venue, WSOL_MINT};
    use crate::domain::test_support::{key, pda, wallet, TxBuilder};
    use crate::domain::Pubkey;

    const SOL: u64 = 1_000_000_000;

    fn pump() -> Pubkey {
        "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
            .parse()
            .unwrap()
    }

    fn usdc() -> Pubkey {
        QuoteAssets::default().others[0].mint
    }

    fn swaps(tx: &Transaction) -> Vec<Swap> {
        match infer_swaps(tx, &InferenceConfig::default()).unwrap() {
            Verdict::Swaps(s) => s,
            Verdict::Filtered(f) => panic!("expected swaps, got {f:?}"),
        }
    }

    fn filtered(tx: &Transaction) -> Filtered {
        match infer_swaps(tx, &InferenceConfig::default()).unwrap() {
            Verdict::Filtered(f) => f,
            Verdict::Swaps(s) => panic!("expected no swap, got {s:?}"),
        }
    }

    /// `trader` pays `sol` lamports to a bonding curve for `tokens` of `mint`.
    fn buy_on_curve(
        b: &mut TxBuilder,
        trader: Pubkey,
        curve: Pubkey,
        mint: Pubkey,
        sol: u64,
        tokens: u64,
    ) {
        let (curve_ata, trader_ata) =
            (pda(900 + trader.0[0] as u32), pda(800 + trader.0[1] as u32));
        b.lamports(trader, 10 * SOL, 10 * SOL - sol)
            .lamports(curve, 50 * SOL, 50 * SOL + sol)
            .token(
                curve_ata,
                curve,
                mint,
                1_000_000_000,
                1_000_000_000 - tokens,
            )
            .token(trader_ata, trader, mint, 0, tokens)
            .invoke(pump(), 1, &[trader, curve_ata, trader_ata])
            .invoke(
                crate::domain::test_support::key(200),
                2,
                &[curve_ata, trader_ata],
            );
    }

    #[test]
    fn a_buy_reports_the_wallet_never_the_curve() {
        let (trader, curve, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        buy_on_curve(&mut b, trader, curve, mint, SOL, 5_000);
        let s = swaps(&b.build());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].wallet, trader);
        assert_eq!(s[0].side, Side::Buy);
        assert_eq!((s[0].mint, s[0].amount), (mint, 5_000));
        assert_eq!((s[0].quote_mint, s[0].quote_amount), (WSOL_MINT, SOL));
        assert_eq!(s[0].sol_value_lamports, Some(SOL));
        assert_eq!(
            InferenceConfig::default().venues.name(s[0].venue),
            "pumpfun"
        );
    }

    #[test]
    fn the_fee_is_not_part_of_the_quote_amount() {
        let (trader, curve, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        buy_on_curve(&mut b, trader, curve, mint, SOL, 5_000);
        b.fee(5_000).lamports(trader, 10 * SOL, 9 * SOL - 5_000);
        assert_eq!(swaps(&b.build())[0].quote_amount, SOL);
    }

    #[test]
    fn a_sell_is_token_out_sol_in() {
        let (trader, pool, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, SOL, 3 * SOL)
            .lamports(pool, 10 * SOL, 8 * SOL)
            .token(key(3), pool, mint, 100, 170)
            .token(key(4), trader, mint, 70, 0);
        let s = swaps(&b.build());
        assert_eq!(
            (s[0].side, s[0].amount, s[0].quote_amount),
            (Side::Sell, 70, 2 * SOL)
        );
        assert_eq!(s[0].venue, Venue::UNKNOWN);
    }

    #[test]
    fn a_bundle_reports_every_buyer() {
        let (curve, mint) = (pda(2), key(50));
        let buyers = [wallet(11), wallet(12), wallet(13)];
        let mut b = TxBuilder::new(buyers[0]);
        b.signer(buyers[1]).signer(buyers[2]);
        for (i, w) in buyers.iter().enumerate() {
            let ata = pda(700 + i as u32);
            b.lamports(*w, 10 * SOL, 10 * SOL - (i as u64 + 1) * SOL)
                .token(ata, *w, mint, 0, 1_000 * (i as u64 + 1));
        }
        b.lamports(curve, SOL, 7 * SOL)
            .token(pda(99), curve, mint, 10_000, 4_000);
        let s = swaps(&b.build());
        assert_eq!(
            s.iter().map(|x| x.wallet).collect::<Vec<_>>(),
            buyers.to_vec()
        );
        assert_eq!(s.iter().map(|x| x.leg).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert!(s.iter().all(|x| x.side == Side::Buy));
    }

    #[test]
    fn an_on_curve_wallet_that_is_not_a_signer_still_counts() {
        // A router buying on behalf of a recipient wallet: the recipient is the beneficiary.
        let (payer, recipient, pool, mint) = (wallet(1), wallet(2), pda(3), key(50));
        let mut b = TxBuilder::new(payer);
        b.lamports(recipient, 5 * SOL, 4 * SOL)
            .token(pda(10), recipient, mint, 0, 10)
            .lamports(pool, SOL, 2 * SOL)
            .token(pda(11), pool, mint, 100, 90);
        let s = swaps(&b.build());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].wallet, recipient);
    }

    #[test]
    fn a_usdc_buy_ignores_the_sol_tip() {
        let (trader, pool, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, SOL, SOL - 100_000) // Jito tip
            .token(pda(3), trader, usdc(), 5_000_000, 0)
            .token(pda(4), trader, mint, 0, 42)
            .token(pda(5), pool, usdc(), 0, 5_000_000)
            .token(pda(6), pool, mint, 42, 0);
        let s = swaps(&b.build());
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].side, s[0].quote_mint, s[0].quote_amount),
            (Side::Buy, usdc(), 5_000_000)
        );
        assert_eq!(s[0].sol_value_lamports, None);
    }

    #[test]
    fn sol_to_usdc_is_a_buy_of_usdc_and_usdc_to_sol_a_sell() {
        let (trader, pool) = (wallet(1), pda(2));
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, 2 * SOL, SOL)
            .token(pda(3), trader, usdc(), 0, 150_000_000)
            .lamports(pool, SOL, 2 * SOL)
            .token(pda(4), pool, usdc(), 150_000_000, 0);
        let s = swaps(&b.build());
        assert_eq!(
            (s[0].side, s[0].mint, s[0].quote_mint),
            (Side::Buy, usdc(), WSOL_MINT)
        );

        let mut b = TxBuilder::new(trader);
        b.lamports(trader, SOL, 2 * SOL)
            .token(pda(3), trader, usdc(), 150_000_000, 0);
        let s = swaps(&b.build());
        assert_eq!(
            (s[0].side, s[0].mint, s[0].quote_amount),
            (Side::Sell, usdc(), SOL)
        );
    }

    #[test]
    fn token_to_token_is_a_sell_leg_and_a_buy_leg() {
        let (trader, a, c) = (wallet(1), key(50), key(51));
        let mut b = TxBuilder::new(trader);
        b.token(pda(3), trader, a, 1_000, 0)
            .token(pda(4), trader, c, 0, 77)
            // The route through SOL nets to zero for the trader.
            .token(pda(5), trader, WSOL_MINT, 0, 0);
        let s = swaps(&b.build());
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].side, s[0].mint, s[0].quote_mint, s[0].quote_amount),
            (Side::Sell, a, c, 77)
        );
        assert_eq!(
            (s[1].side, s[1].mint, s[1].quote_mint, s[1].quote_amount),
            (Side::Buy, c, a, 1_000)
        );
        assert_eq!((s[0].leg, s[1].leg), (0, 1));
        assert!(s.iter().all(|x| x.sol_value_lamports.is_none()));
    }

    #[test]
    fn liquidity_add_is_not_a_swap() {
        let (lp, pool, mint, lp_mint) = (wallet(1), pda(2), key(50), key(51));
        let mut b = TxBuilder::new(lp);
        b.lamports(lp, 5 * SOL, 4 * SOL)
            .token(pda(3), lp, mint, 500, 0)
            .token(pda(4), lp, lp_mint, 0, 9)
            .lamports(pool, SOL, 2 * SOL)
            .token(pda(5), pool, mint, 0, 500);
        let f = filtered(&b.build());
        assert_eq!(f.reason, FilterReason::NotSwap);
        assert!(matches!(
            f.detail,
            FilterDetail::MultiAsset {
                outs: 2,
                ins: 1,
                ..
            }
        ));
        assert!(f.detail.to_string().contains("liquidity"), "{}", f.detail);
    }

    #[test]
    fn withdrawal_and_transfers_are_not_swaps() {
        let (a, c, mint) = (wallet(1), wallet(2), key(50));
        let mut b = TxBuilder::new(a);
        b.token(pda(3), a, mint, 10, 0)
            .token(pda(4), c, mint, 0, 10);
        assert_eq!(filtered(&b.build()).reason, FilterReason::NotSwap);
    }

    #[test]
    fn failed_and_unchanged_transactions_are_filtered_first() {
        let (trader, curve, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        buy_on_curve(&mut b, trader, curve, mint, SOL, 5);
        b.failed();
        assert_eq!(filtered(&b.build()).reason, FilterReason::Failed);
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, SOL, SOL / 2)
            .token(pda(3), trader, mint, 5, 5);
        assert_eq!(filtered(&b.build()).reason, FilterReason::NoBalanceChange);
    }

    #[test]
    fn pools_only_moving_is_not_a_swap() {
        // Two program-owned accounts trade with each other (an arbitrage leg between pools).
        let mut b = TxBuilder::new(wallet(1));
        b.token(pda(3), pda(5), key(50), 10, 0)
            .token(pda(4), pda(6), key(50), 0, 10);
        let f = filtered(&b.build());
        assert_eq!(f.reason, FilterReason::NotSwap);
        assert_eq!(f.detail, FilterDetail::NoWalletChange);
    }

    #[test]
    fn the_venue_is_the_amm_that_moved_the_pool_tokens_not_one_that_only_listed_them() {
        let (trader, pool, mint) = (wallet(1), pda(2), key(50));
        let pumpswap: Pubkey = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
            .parse()
            .unwrap();
        let token_program = key(201);
        let (pool_ata, trader_ata) = (pda(3), pda(4));
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, 5 * SOL, 6 * SOL)
            .lamports(pool, 5 * SOL, 4 * SOL)
            .token(pool_ata, pool, mint, 0, 30)
            .token(trader_ata, trader, mint, 30, 0)
            // pump.fun lists the pool account but moves nothing (a migration) ...
            .invoke(pump(), 1, &[pool_ata])
            // ... PumpSwap's transfer moves it.
            .invoke(pumpswap, 1, &[trader_ata, pool_ata])
            .invoke(token_program, 2, &[trader_ata, pool_ata, trader]);
        let s = swaps(&b.build());
        assert_eq!(
            InferenceConfig::default().venues.name(s[0].venue),
            "pumpswap"
        );
    }

    #[test]
    fn implausible_quote_amounts_are_errors_not_counter_overflows() {
        let (trader, pool, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        b.lamports(trader, u64::MAX, 0)
            .lamports(pool, 0, u64::MAX)
            .token(pda(3), trader, mint, 0, 5);
        assert!(infer_swaps(&b.build(), &InferenceConfig::default()).is_err());
    }

    #[test]
    fn inconsistent_transactions_are_errors_not_panics() {
        let (trader, curve, mint) = (wallet(1), pda(2), key(50));
        let mut b = TxBuilder::new(trader);
        buy_on_curve(&mut b, trader, curve, mint, SOL, 5);
        let mut tx = b.build();
        tx.post_lamports.pop();
        assert!(infer_swaps(&tx, &InferenceConfig::default()).is_err());
    }
}
