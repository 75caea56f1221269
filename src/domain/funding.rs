//! Who funded a wallet: the first inbound SOL transfer, funding chains across hops, and the
//! labelled exchange hot wallets and programs that end a chain.
//!
//! Pure: the detector fetches transactions and signature counts (see `detect::funding`), this
//! module decides what they mean. The reference's trace (never called) took "the first account
//! whose balance decreased" in one of the five *newest* transactions; here it is the sender of
//! the SOL in the wallet's *oldest* transaction, fee added back, signers first.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use thiserror::Error;

use super::pubkey::Pubkey;
use super::transaction::Transaction;

/// SOL that arrived in a wallet in one transaction, and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub funder: Pubkey,
    /// What the wallet's balance rose by, in lamports.
    pub lamports: u64,
    pub block_time: Option<i64>,
    /// Who paid the transaction's fee (often the funder; a bot paying for many wallets links them).
    pub fee_payer: Pubkey,
}

/// The SOL `wallet` received in `tx` and its sender: of the accounts whose lamports fell (the fee
/// added back for the fee payer), a signer before a non-signer, then the largest drop. None when
/// the transaction failed, does not hold the wallet, or the wallet's balance did not rise.
pub fn inbound_funding(tx: &Transaction, wallet: &Pubkey) -> Option<Inbound> {
    if tx.failed {
        return None;
    }
    let at = tx.account_keys.iter().position(|k| k == wallet)?;
    let received = tx.post_lamports[at].checked_sub(tx.pre_lamports[at])?;
    if received == 0 {
        return None;
    }
    let fee_payer = *tx.fee_payer()?;
    let mut best: Option<(bool, u64, usize)> = None;
    for (i, key) in tx.account_keys.iter().enumerate() {
        if i == at {
            continue;
        }
        let mut post = tx.post_lamports[i];
        if i == 0 {
            post = post.saturating_add(tx.fee);
        }
        let Some(sent) = tx.pre_lamports[i].checked_sub(post).filter(|s| *s > 0) else {
            continue;
        };
        let candidate = (tx.is_signer(key), sent, i);
        if best.is_none_or(|(s, v, _)| (candidate.0, candidate.1) > (s, v)) {
            best = Some(candidate);
        }
    }
    let (_, _, i) = best?;
    Some(Inbound {
        funder: tx.account_keys[i],
        lamports: received,
        block_time: tx.block_time,
        fee_payer,
    })
}

/// What the trace learned about one wallet (one `wallet_profiles` row): cached for good.
#[derive(Debug, Clone, PartialEq)]
pub struct FundingRecord {
    pub wallet: String,
    pub status: FundingStatus,
    /// Signatures seen while paging back (exact unless [`FundingStatus::Established`]).
    pub signature_count: u64,
    /// How far from an alert's buyer the wallet was first traced (0 = a buyer).
    pub hop: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FundingStatus {
    /// The oldest transaction moved SOL into the wallet.
    Funded {
        funder: String,
        lamports: u64,
        funded_at: Option<i64>,
        signature: String,
        fee_payer: String,
    },
    /// The oldest transaction moved no SOL into it (funded by a program, or a token-only start).
    NoInbound,
    /// More history than the trace pages through: an established wallet, not fresh; its funder
    /// is not looked for.
    Established,
}

impl FundingStatus {
    pub fn name(&self) -> &'static str {
        match self {
            FundingStatus::Funded { .. } => "funded",
            FundingStatus::NoInbound => "no_inbound",
            FundingStatus::Established => "established",
        }
    }
}

impl FundingRecord {
    pub fn funder(&self) -> Option<&str> {
        match &self.status {
            FundingStatus::Funded { funder, .. } => Some(funder),
            _ => None,
        }
    }

    /// A wallet with a short history (at most `fresh_max_signatures`): its own funder is worth a
    /// hop.
    pub fn is_fresh(&self, fresh_max_signatures: u64) -> bool {
        !matches!(self.status, FundingStatus::Established)
            && self.signature_count <= fresh_max_signatures
    }
}

/// One labelled wallet: an exchange hot wallet or a program that ends a trace (its customers are
/// not one actor).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledWallet {
    pub address: String,
    pub label: String,
    /// exchange | program | other
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelledFile {
    wallets: Vec<LabelledWallet>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum LabelError {
    #[error("invalid labelled-wallets file: {0}")]
    Toml(String),
    #[error("labelled wallet #{index}: address {address:?} is not a base58 public key")]
    BadAddress { index: usize, address: String },
    #[error(
        "labelled wallet #{index} ({address}): kind {kind:?} must be exchange, program or other"
    )]
    BadKind {
        index: usize,
        address: String,
        kind: String,
    },
    #[error("labelled wallet {address} is listed twice")]
    Duplicate { address: String },
}

/// Addresses that end a funding chain, with their labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    by_address: HashMap<String, LabelledWallet>,
}

impl Labels {
    /// Parses `[[wallets]] address = "…" label = "…" kind = "exchange"` entries.
    pub fn parse_toml(text: &str) -> Result<Labels, LabelError> {
        let file: LabelledFile =
            toml::from_str(text).map_err(|e| LabelError::Toml(e.to_string()))?;
        let mut by_address = HashMap::new();
        for (index, w) in file.wallets.into_iter().enumerate() {
            if Pubkey::parse(&w.address, "address").is_err() {
                return Err(LabelError::BadAddress {
                    index,
                    address: w.address,
                });
            }
            if !matches!(w.kind.as_str(), "exchange" | "program" | "other") {
                return Err(LabelError::BadKind {
                    index,
                    address: w.address,
                    kind: w.kind,
                });
            }
            if by_address.contains_key(&w.address) {
                return Err(LabelError::Duplicate { address: w.address });
            }
            by_address.insert(w.address.clone(), w);
        }
        Ok(Labels { by_address })
    }

    pub fn get(&self, address: &str) -> Option<&LabelledWallet> {
        self.by_address.get(address)
    }

    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }
}

/// A buyer's funders, nearest first, as far as the records and `max_hops` reach.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    /// Unlabelled funders (these link wallets), nearest first.
    pub funders: Vec<String>,
    /// The labelled exchange or program the chain ended at, if any.
    pub source: Option<String>,
    /// The fee payers of the funding transactions along the chain (the wallets themselves left
    /// out).
    pub fee_payers: Vec<String>,
    /// False when a wallet the chain still had to follow has no record (the trace did not run or
    /// did not finish for it).
    pub complete: bool,
}

/// Which wallets a chain still needs, and the chain as far as it is known.
///
/// From `wallet` (hop 0), each record's funder is the next hop; the chain stops at a labelled
/// wallet, at a funder that is not fresh (it is still a funder, only not followed), at a wallet
/// without inbound SOL, after `max_hops` funders, or at a wallet with no record (`complete` false).
pub fn chain(
    wallet: &str,
    records: &HashMap<String, FundingRecord>,
    labels: &Labels,
    max_hops: u32,
    fresh_max_signatures: u64,
) -> Chain {
    let mut out = Chain {
        complete: true,
        ..Chain::default()
    };
    let mut current = wallet.to_string();
    let mut seen: HashSet<String> = HashSet::from([current.clone()]);
    for hop in 0..max_hops {
        let Some(record) = records.get(&current) else {
            out.complete = false;
            break;
        };
        if hop > 0 && !record.is_fresh(fresh_max_signatures) {
            break;
        }
        let FundingStatus::Funded {
            funder, fee_payer, ..
        } = &record.status
        else {
            break;
        };
        if fee_payer != &current && fee_payer != funder && labels.get(fee_payer).is_none() {
            out.fee_payers.push(fee_payer.clone());
        }
        if let Some(label) = labels.get(funder) {
            out.source = Some(label.label.clone());
            break;
        }
        if !seen.insert(funder.clone()) {
            break; // a funding loop
        }
        out.funders.push(funder.clone());
        current = funder.clone();
    }
    out
}

/// The wallets a trace must look up next: the buyers without records, and the funders of fresh
/// traced wallets that a chain would follow (with the hop each is at).
pub fn next_to_trace(
    buyers: &[String],
    records: &HashMap<String, FundingRecord>,
    labels: &Labels,
    max_hops: u32,
    fresh_max_signatures: u64,
) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    for buyer in buyers {
        let mut current = buyer.clone();
        let mut seen = HashSet::from([current.clone()]);
        for hop in 0..max_hops {
            let Some(record) = records.get(&current) else {
                if labels.get(&current).is_none() && !out.iter().any(|(w, _)| w == &current) {
                    out.push((current.clone(), hop));
                }
                break;
            };
            if hop > 0 && !record.is_fresh(fresh_max_signatures) {
                break;
            }
            match record.funder() {
                Some(f) if labels.get(f).is_none() && seen.insert(f.to_string()) => {
                    current = f.to_string();
                }
                _ => break,
            }
        }
    }
    out
}

/// Groups that link buyers for the clusters: each buyer with its unlabelled funders (any hop)
/// and the fee payers of its funding transactions.
pub fn funding_groups(buyers: &[String], chains: &[Chain]) -> Vec<Vec<String>> {
    buyers
        .iter()
        .zip(chains)
        .filter(|(_, c)| !c.funders.is_empty() || !c.fee_payers.is_empty())
        .map(|(b, c)| {
            let mut g = vec![b.clone()];
            g.extend(c.funders.iter().cloned());
            g.extend(c.fee_payers.iter().cloned());
            g
        })
        .collect()
}

/// The largest share of `buyers` that one unlabelled funder (at any hop) funded, in [0, 1];
/// None when no buyer's chain is known.
pub fn same_source_share(buyers: &[String], chains: &[Chain]) -> Option<f64> {
    let known = chains.iter().filter(|c| c.complete).count();
    if buyers.is_empty() || known == 0 {
        return None;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in chains {
        let distinct: HashSet<&str> = c.funders.iter().map(String::as_str).collect();
        for f in distinct {
            *counts.entry(f).or_default() += 1;
        }
    }
    // A buyer that funded other buyers counts itself as funded by itself.
    for b in buyers {
        if let Some(n) = counts.get_mut(b.as_str()) {
            *n += 1;
        }
    }
    let best = counts
        .values()
        .copied()
        .max()
        .unwrap_or(0)
        .min(buyers.len());
    Some(best as f64 / buyers.len() as f64)
}

/// Calls one traced wallet is assumed to cost: its page and oldest transaction, and the same for
/// a fresh funder (labelled and established funders cost less).
pub const CALLS_PER_TRACED_WALLET: u64 = 4;

/// How many new wallets of HOT tokens a round may trace: at most `per_round`, and never into the
/// part of the daily budget kept for alert candidates (`used` calls of `daily_budget` spent
/// today, of which HOT tracing may take up to `budget_pct` percent of the whole).
pub fn hot_trace_allowance(
    used: u64,
    daily_budget: u64,
    budget_pct: u32,
    per_round: usize,
) -> usize {
    let cap = daily_budget.saturating_mul(budget_pct.min(100) as u64) / 100;
    let left = cap.saturating_sub(used) / CALLS_PER_TRACED_WALLET;
    per_round.min(usize::try_from(left).unwrap_or(usize::MAX))
}

/// Wallets per round for a per-minute rate and a round every `interval_secs` (at least one when
/// the rate is not 0).
pub fn per_round(wallets_per_min: u32, interval_secs: u64) -> usize {
    if wallets_per_min == 0 {
        return 0;
    }
    ((wallets_per_min as u64 * interval_secs).div_ceil(60)).max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rpc_json::transaction_from_json;

    const TRANSFER: &str = include_str!("../../tests/fixtures/mainnet/mm_native_sol_transfer.json");
    const SENDER: &str = "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP";
    const RECEIVER: &str = "FDUGdV6bjhvw5gbirXCvqbTSWK9999kcrZcrHoCQzXJK";

    fn key(s: &str) -> Pubkey {
        Pubkey::parse(s, "test").unwrap()
    }

    fn funded(wallet: &str, funder: &str, count: u64) -> FundingRecord {
        FundingRecord {
            wallet: wallet.into(),
            status: FundingStatus::Funded {
                funder: funder.into(),
                lamports: 1,
                funded_at: Some(1),
                signature: "s".into(),
                fee_payer: funder.into(),
            },
            signature_count: count,
            hop: 0,
        }
    }

    fn records(list: Vec<FundingRecord>) -> HashMap<String, FundingRecord> {
        list.into_iter().map(|r| (r.wallet.clone(), r)).collect()
    }

    fn labels() -> Labels {
        Labels::parse_toml(
            "[[wallets]]\naddress = \"5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9\"\n\
             label = \"Binance 2\"\nkind = \"exchange\"\n",
        )
        .unwrap()
    }
    const EXCHANGE: &str = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";

    #[test]
    fn hot_tracing_stays_within_its_share_of_the_daily_budget() {
        // 25 % of 20,000 = 5,000 calls: 1,250 wallets at 4 calls each.
        assert_eq!(hot_trace_allowance(0, 20_000, 25, 5), 5);
        assert_eq!(hot_trace_allowance(4_990, 20_000, 25, 5), 2);
        assert_eq!(hot_trace_allowance(5_000, 20_000, 25, 5), 0);
        // Alerts spent past the share: HOT tracing stops, alerts keep the rest.
        assert_eq!(hot_trace_allowance(12_000, 20_000, 25, 5), 0);
        assert_eq!(hot_trace_allowance(0, 20_000, 0, 5), 0);
        assert_eq!(hot_trace_allowance(0, 20_000, 250, 1_000_000), 5_000);
        assert_eq!(per_round(30, 10), 5);
        assert_eq!(per_round(1, 10), 1);
        assert_eq!(per_round(0, 10), 0);
        assert_eq!(per_round(600, 1), 10);
    }

    #[test]
    fn the_sender_of_a_real_sol_transfer_is_the_funder() {
        let tx = transaction_from_json(&serde_json::from_str(TRANSFER).unwrap()).unwrap();
        let inbound = inbound_funding(&tx, &key(RECEIVER)).unwrap();
        assert_eq!(inbound.funder.to_base58(), SENDER);
        assert_eq!(inbound.lamports, 100_000_000);
        assert_eq!(inbound.block_time, Some(1_736_500_242));
        assert_eq!(inbound.fee_payer.to_base58(), SENDER);
        // The sender received nothing; an unrelated wallet is not in the transaction.
        assert_eq!(inbound_funding(&tx, &key(SENDER)), None);
        assert_eq!(inbound_funding(&tx, &key(EXCHANGE)), None);
        // A failed transaction moved nothing.
        let mut failed = tx.clone();
        failed.failed = true;
        assert_eq!(inbound_funding(&failed, &key(RECEIVER)), None);
    }

    #[test]
    fn a_signer_beats_a_larger_non_signer_drop_and_the_fee_is_added_back() {
        let tx = transaction_from_json(&serde_json::from_str(TRANSFER).unwrap()).unwrap();
        // The fee payer lost exactly the fee only: not a sender.
        let mut only_fee = tx.clone();
        only_fee.post_lamports[0] = only_fee.pre_lamports[0] - only_fee.fee;
        assert_eq!(inbound_funding(&only_fee, &key(RECEIVER)), None);
    }

    #[test]
    fn chains_follow_fresh_funders_and_stop_at_labels() {
        let l = labels();
        let r = records(vec![
            funded("buyer", "fresh", 3),
            funded("fresh", EXCHANGE, 2),
            funded("buyer2", "old", 3),
            FundingRecord {
                status: FundingStatus::Established,
                ..funded("old", "x", 5000)
            },
        ]);
        let c = chain("buyer", &r, &l, 2, 100);
        assert_eq!(c.funders, ["fresh"]);
        assert_eq!(c.source.as_deref(), Some("Binance 2"));
        assert!(c.complete);
        // One hop only: the exchange is not reached.
        let c = chain("buyer", &r, &l, 1, 100);
        assert_eq!((c.funders.len(), c.source.clone()), (1, None));
        // An established funder is a funder, not followed.
        let c = chain("buyer2", &r, &l, 3, 100);
        assert_eq!(c.funders, ["old"]);
        assert!(c.complete);
        // No record: incomplete, and it is what must be traced next.
        let c = chain("stranger", &r, &l, 2, 100);
        assert!(!c.complete && c.funders.is_empty());
        let next = next_to_trace(
            &["buyer".into(), "stranger".into(), "buyer3".into()],
            &records(vec![funded("buyer3", "f3", 1)]),
            &l,
            2,
            100,
        );
        assert_eq!(
            next,
            vec![
                ("buyer".into(), 0),
                ("stranger".into(), 0),
                ("f3".into(), 1)
            ]
        );
        assert!(next_to_trace(&["buyer".into()], &r, &l, 2, 100).is_empty());
    }

    #[test]
    fn loops_end_a_chain() {
        let r = records(vec![funded("a", "b", 1), funded("b", "a", 1)]);
        let c = chain("a", &r, &Labels::default(), 5, 100);
        assert_eq!(c.funders, ["b"]);
        assert!(next_to_trace(&["a".into()], &r, &Labels::default(), 5, 100).is_empty());
    }

    #[test]
    fn same_source_share_counts_buyers_per_funder() {
        let buyers: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let mk = |f: &[&str]| Chain {
            funders: f.iter().map(|s| s.to_string()).collect(),
            complete: true,
            ..Chain::default()
        };
        let chains = vec![mk(&["x"]), mk(&["y", "x"]), mk(&["z"]), mk(&[])];
        assert_eq!(same_source_share(&buyers, &chains), Some(0.5));
        // A buyer that funded another counts itself.
        let chains = vec![mk(&[]), mk(&["a"]), mk(&["a"]), mk(&[])];
        assert_eq!(same_source_share(&buyers, &chains), Some(0.75));
        let unknown = vec![Chain::default(); 4];
        assert_eq!(same_source_share(&buyers, &unknown), None);
        let groups = funding_groups(&buyers, &[mk(&["x"]), mk(&[]), mk(&[]), mk(&[])]);
        assert_eq!(groups, vec![vec!["a".to_string(), "x".to_string()]]);
    }

    #[test]
    fn labelled_file_errors_name_the_entry() {
        assert!(matches!(
            Labels::parse_toml(
                "[[wallets]]\naddress = \"nope\"\nlabel = \"x\"\nkind = \"exchange\"\n"
            ),
            Err(LabelError::BadAddress { index: 0, .. })
        ));
        let bad_kind =
            format!("[[wallets]]\naddress = \"{EXCHANGE}\"\nlabel = \"x\"\nkind = \"bank\"\n");
        assert!(matches!(
            Labels::parse_toml(&bad_kind),
            Err(LabelError::BadKind { .. })
        ));
        let twice = format!(
            "[[wallets]]\naddress = \"{EXCHANGE}\"\nlabel = \"x\"\nkind = \"exchange\"\n\
             [[wallets]]\naddress = \"{EXCHANGE}\"\nlabel = \"y\"\nkind = \"exchange\"\n"
        );
        assert!(matches!(
            Labels::parse_toml(&twice),
            Err(LabelError::Duplicate { .. })
        ));
        assert!(Labels::parse_toml("wallets = 3").is_err());
    }

    #[test]
    fn the_shipped_default_file_parses() {
        let text = include_str!("../../config/labelled_wallets.toml");
        let l = Labels::parse_toml(text).unwrap();
        assert!(l.len() >= 5);
        assert!(l
            .get("5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9")
            .is_some());
    }
}
