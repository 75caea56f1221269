//! `pocketwatcher parse`: getTransaction JSON files in, one JSON line per detected swap out.
//!
//! The same inference as the daemon, on files, so anyone can check what the daemon would count for
//! a transaction they see on an explorer.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::domain::rpc_json::transactions_from_json_text;
use crate::domain::sol_price::SolPriceTracker;
use crate::domain::{infer_swaps, InferenceConfig, Swap, Verdict};

/// One output line; field order is the documented format.
#[derive(Serialize)]
struct SwapLine<'a> {
    signature: String,
    wallet: String,
    /// Who paid the fee (the first signer): differs from `wallet` for the other buyers of a bundle.
    fee_payer: String,
    side: &'static str,
    mint: String,
    amount: String,
    decimals: u8,
    quote_mint: String,
    quote_amount: String,
    sol_value_lamports: Option<u64>,
    venue: &'a str,
}

#[derive(Serialize)]
struct RejectLine<'a> {
    signature: String,
    reason: &'a str,
    detail: &'a str,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    file: String,
    error: &'a str,
}

/// What a run saw, for the exit code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParseSummary {
    pub transactions: usize,
    pub swaps: usize,
    pub errors: usize,
}

/// Parses `files` in order, writing swaps to `out` and (with `explain`) rejections to `err`.
/// Undecodable input is always reported on `err`; it never stops the other files.
pub fn run(
    files: &[PathBuf],
    explain: bool,
    config: &InferenceConfig,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ParseSummary> {
    let mut summary = ParseSummary::default();
    let mut prices = SolPriceTracker::default();
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                summary.errors += 1;
                write_json(
                    err,
                    &ErrorLine {
                        file: file.display().to_string(),
                        error: &e.to_string(),
                    },
                )?;
                continue;
            }
        };
        for decoded in transactions_from_json_text(&text) {
            let verdict = decoded.and_then(|tx| infer_swaps(&tx, config).map(|v| (tx, v)));
            let (tx, verdict) = match verdict {
                Ok(pair) => pair,
                Err(e) => {
                    summary.errors += 1;
                    write_json(
                        err,
                        &ErrorLine {
                            file: file.display().to_string(),
                            error: &e.to_string(),
                        },
                    )?;
                    continue;
                }
            };
            summary.transactions += 1;
            match verdict {
                Verdict::Swaps(mut swaps) => {
                    prices.apply(&mut swaps, &config.quotes);
                    summary.swaps += swaps.len();
                    for swap in &swaps {
                        write_json(out, &swap_line(swap, config))?;
                    }
                }
                Verdict::Filtered(f) if explain => write_json(
                    err,
                    &RejectLine {
                        signature: tx.signature.to_string(),
                        reason: f.reason.as_str(),
                        detail: &f.detail.to_string(),
                    },
                )?,
                Verdict::Filtered(_) => {}
            }
        }
    }
    Ok(summary)
}

fn swap_line<'a>(swap: &Swap, config: &'a InferenceConfig) -> SwapLine<'a> {
    SwapLine {
        signature: swap.signature.to_string(),
        wallet: swap.wallet.to_string(),
        fee_payer: swap.fee_payer.to_string(),
        side: swap.side.as_str(),
        mint: swap.mint.to_string(),
        amount: swap.amount.to_string(),
        decimals: swap.decimals,
        quote_mint: swap.quote_mint.to_string(),
        quote_amount: swap.quote_amount.to_string(),
        sol_value_lamports: swap.sol_value_lamports,
        venue: config.venues.name(swap.venue),
    }
}

fn write_json<T: Serialize>(w: &mut dyn Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}
