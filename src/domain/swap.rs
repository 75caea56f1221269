//! What inference produces: swaps, or the reason a transaction holds none.

use std::fmt;

use super::assets::Venue;
use super::pubkey::{Pubkey, Signature};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Quote out, token in.
    Buy,
    /// Token out, quote in.
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One wallet's trade of one token in one transaction. Amounts are raw integers in the mint's
/// smallest unit; `(signature, leg)` identifies it uniquely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    pub signature: Signature,
    pub slot: u64,
    pub block_time: Option<i64>,
    /// Position among the transaction's swaps (a token→token trade is two legs).
    pub leg: u8,
    pub wallet: Pubkey,
    /// Who paid the transaction's fee: its first account key (first signer). Usually `wallet`;
    /// in a bundle one signer pays for every buyer, which is what links them (clusters).
    pub fee_payer: Pubkey,
    pub side: Side,
    pub mint: Pubkey,
    pub amount: u64,
    pub decimals: u8,
    /// WSOL for SOL-quoted swaps.
    pub quote_mint: Pubkey,
    pub quote_amount: u64,
    pub quote_decimals: u8,
    /// Value in lamports: the SOL leg itself, or a stable leg converted with the learned SOL/USD
    /// price; `None` when unknown (token→token, or no price learned yet).
    pub sol_value_lamports: Option<u64>,
    pub venue: Venue,
}

/// Why a transaction was filtered (a metric label each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterReason {
    Vote,
    Failed,
    NoBalanceChange,
    NotSwap,
}

impl FilterReason {
    pub const ALL: [FilterReason; 4] = [
        FilterReason::Vote,
        FilterReason::Failed,
        FilterReason::NoBalanceChange,
        FilterReason::NotSwap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FilterReason::Vote => "vote",
            FilterReason::Failed => "failed",
            FilterReason::NoBalanceChange => "no_balance_change",
            FilterReason::NotSwap => "not_swap",
        }
    }
}

impl fmt::Display for FilterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transaction without swaps: the reason, and for people the detail of why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    pub reason: FilterReason,
    pub detail: FilterDetail,
}

/// The facts behind a filter decision. Formatting (base58 keys) is left to [`fmt::Display`], so the
/// pipeline, which only counts reasons, never pays for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDetail {
    Vote,
    Failed,
    NoTokenBalanceChange,
    /// No on-curve owner had any net change.
    NoWalletChange,
    /// A wallet only sent or only received.
    OneWay {
        wallet: Pubkey,
        outs: usize,
        ins: usize,
    },
    /// A wallet moved several assets one way (liquidity add or remove).
    MultiAsset {
        wallet: Pubkey,
        outs: usize,
        ins: usize,
    },
}

impl fmt::Display for FilterDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FilterDetail::Vote => f.write_str("vote transaction"),
            FilterDetail::Failed => f.write_str("transaction failed (err is set): only the fee moved"),
            FilterDetail::NoTokenBalanceChange => f.write_str("no token account changed its balance"),
            FilterDetail::NoWalletChange => {
                f.write_str("no wallet (on-curve owner) has a net balance change")
            }
            FilterDetail::OneWay { wallet, outs, .. } if outs > 0 => write!(
                f,
                "wallet {wallet} only sent assets ({outs} out, nothing in): a transfer, deposit or payment"
            ),
            FilterDetail::OneWay { wallet, ins, .. } => write!(
                f,
                "wallet {wallet} only received assets ({ins} in, nothing out): a transfer, withdrawal, fee or refund"
            ),
            FilterDetail::MultiAsset { wallet, outs, ins } => write!(
                f,
                "wallet {wallet} moved {outs} assets out and {ins} in: liquidity add/remove, not a swap"
            ),
        }
    }
}

/// The result of inference on a well-formed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Swaps(Vec<Swap>),
    Filtered(Filtered),
}
