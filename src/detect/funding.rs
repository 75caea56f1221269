//! The funding trace: for an alert's top buyers, who sent each its first SOL, and — for funders
//! that are fresh wallets themselves — who funded them, up to `enrich.trace_max_hops`.
//!
//! Per hop, one round of `getSignaturesForAddress` batches pages every wallet back to its oldest
//! signature (1,000 per page, `before` the last one seen), then one `getTransaction` batch reads
//! each oldest transaction; [`crate::domain::funding`] decides what they mean. Every traced
//! wallet is cached in `wallet_profiles` and never fetched again. A wallet whose trace failed
//! (no RPC, budget spent, provider errors, a malformed answer) is not cached: it is unknown, and
//! the reason is returned for the alert's "Limited Analysis" section.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use tracing::warn;

use super::rpc::{RpcClient, RpcError};
use crate::config::EnrichConfig;
use crate::domain::funding::{
    chain, inbound_funding, next_to_trace, Chain, FundingRecord, FundingStatus, Labels,
};
use crate::domain::pubkey::Pubkey;
use crate::domain::rpc_json::transaction_from_json;
use crate::domain::wallet_links::sol_transfer_between;
use crate::store::postgres::wallets::{
    load_funding, store_funding, store_transfers, TransferRecord,
};
use crate::store::postgres::PgPool;

/// Signatures per `getSignaturesForAddress` page (the providers' maximum).
pub const PAGE: usize = 1000;

/// Most transactions read per trace round to check whether two buyers sent each other SOL: the
/// signatures their lists share (oldest first), besides their funding transactions. They ride in
/// the same `getTransaction` batch as the funding reads and count against the daily budget.
pub const MAX_TRANSFER_CHECKS: usize = 10;

/// The built-in labelled-wallets list (the shipped config/labelled_wallets.toml).
pub const DEFAULT_LABELS: &str = include_str!("../../config/labelled_wallets.toml");

/// Reads the labelled-wallets file (`""`: the built-in list); the error names the file.
pub fn load_labels(path: &str) -> Result<Labels, String> {
    if path.is_empty() {
        return Labels::parse_toml(DEFAULT_LABELS).map_err(|e| e.to_string());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    Labels::parse_toml(&text).map_err(|e| format!("{path}: {e}"))
}

/// What a trace found for the buyers it was given.
#[derive(Debug, Clone, Default)]
pub struct TraceOutcome {
    /// One per buyer, in order.
    pub chains: Vec<Chain>,
    /// Why some wallets stayed unknown (`None` when every chain is complete).
    pub missing: Option<String>,
}

pub struct FundingTracer {
    rpc: RpcClient,
    postgres: PgPool,
    redis: deadpool_redis::Pool,
    labels: Labels,
    enabled: bool,
    max_hops: u32,
    fresh_max_signatures: u64,
    max_pages: u32,
}

/// Paging state of one wallet.
struct History {
    wallet: String,
    hop: u32,
    count: u64,
    before: Option<String>,
    oldest_ok: Option<String>,
    /// Stop after this many signatures (the history is then "established").
    cap: u64,
    /// Every signature seen, newest first (buyers only: transfers between buyers are looked for).
    seen: Vec<String>,
}

impl FundingTracer {
    pub fn new(postgres: PgPool, redis: deadpool_redis::Pool, config: &EnrichConfig) -> Self {
        let labels = load_labels(&config.labelled_wallets_file).unwrap_or_else(|e| {
            // Config validation refuses a bad file at start-up; this only guards library use.
            warn!(error = %e, "labelled wallets unreadable; tracing without labels");
            Labels::default()
        });
        FundingTracer {
            rpc: RpcClient::new(config),
            postgres,
            redis,
            labels,
            enabled: config.funding_trace,
            max_hops: config.trace_max_hops.max(1),
            fresh_max_signatures: config.fresh_max_signatures,
            max_pages: config.trace_max_pages.max(1),
        }
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Traces `buyers` (cache first, then the provider) and returns their chains.
    pub async fn trace(&self, buyers: &[String]) -> TraceOutcome {
        let mut records: HashMap<String, FundingRecord> = HashMap::new();
        let mut missing: Option<String> = None;
        let mut failed: HashSet<String> = HashSet::new();
        for _ in 0..=self.max_hops {
            let wanted: Vec<(String, u32)> = self
                .next(buyers, &records)
                .into_iter()
                .filter(|(w, _)| !failed.contains(w))
                .collect();
            if wanted.is_empty() {
                break;
            }
            let names: Vec<String> = wanted.iter().map(|(w, _)| w.clone()).collect();
            match load_funding(&self.postgres, &names).await {
                Ok(cached) => records.extend(cached),
                Err(e) => warn!(error = %e, "cannot read the funding cache"),
            }
            let to_fetch: Vec<(String, u32)> = wanted
                .into_iter()
                .filter(|(w, _)| !records.contains_key(w))
                .collect();
            if to_fetch.is_empty() {
                continue;
            }
            if !self.enabled || !self.rpc.configured() {
                missing = Some(if self.enabled {
                    "no RPC configured".into()
                } else {
                    "funding trace disabled".into()
                });
                break;
            }
            let (fetched, transfers) = self.fetch(&to_fetch).await;
            if let Err(e) = store_transfers(&self.postgres, &transfers).await {
                warn!(error = %e, "cannot record transfers between buyers");
            }
            let mut fresh: Vec<(FundingRecord, Option<String>)> = Vec::new();
            for ((wallet, _), result) in to_fetch.iter().zip(fetched) {
                match result {
                    Ok(record) => {
                        let source = record
                            .funder()
                            .and_then(|f| self.labels.get(f))
                            .map(|l| l.label.clone());
                        fresh.push((record, source));
                    }
                    Err(e) => {
                        missing.get_or_insert_with(|| reason(&e));
                        failed.insert(wallet.clone());
                    }
                }
            }
            if let Err(e) = store_funding(&self.postgres, &fresh).await {
                warn!(error = %e, "cannot cache traced wallets; they are traced again next time");
            }
            records.extend(fresh.into_iter().map(|(r, _)| (r.wallet.clone(), r)));
        }
        let chains: Vec<Chain> = buyers
            .iter()
            .map(|b| {
                chain(
                    b,
                    &records,
                    &self.labels,
                    self.max_hops,
                    self.fresh_max_signatures,
                )
            })
            .collect();
        if missing.is_none() && chains.iter().any(|c| !c.complete) {
            missing = Some("funding trace incomplete".into());
        }
        TraceOutcome { chains, missing }
    }

    fn next(
        &self,
        buyers: &[String],
        records: &HashMap<String, FundingRecord>,
    ) -> Vec<(String, u32)> {
        next_to_trace(
            buyers,
            records,
            &self.labels,
            self.max_hops,
            self.fresh_max_signatures,
        )
    }

    /// Pages each wallet back to its oldest signature, then reads the oldest successful
    /// transaction of each.
    /// Also returns the SOL transfers found between the buyers (hop 0) among `wallets`.
    async fn fetch(
        &self,
        wallets: &[(String, u32)],
    ) -> (Vec<Result<FundingRecord, RpcError>>, Vec<TransferRecord>) {
        let mut out: Vec<Option<Result<FundingRecord, RpcError>>> = vec![None; wallets.len()];
        let mut histories: Vec<History> = wallets
            .iter()
            .map(|(w, hop)| History {
                wallet: w.clone(),
                hop: *hop,
                count: 0,
                before: None,
                oldest_ok: None,
                cap: if *hop == 0 {
                    u64::from(self.max_pages) * PAGE as u64
                } else {
                    // A funder only needs to be known fresh or not.
                    self.fresh_max_signatures.max(1)
                },
                seen: Vec::new(),
            })
            .collect();
        let mut open: Vec<usize> = (0..wallets.len()).collect();
        let mut complete: Vec<usize> = Vec::new();
        while !open.is_empty() {
            let params: Vec<Value> = open
                .iter()
                .map(|&i| {
                    let h = &histories[i];
                    let mut opts = json!({"limit": PAGE, "commitment": "confirmed"});
                    if let Some(b) = &h.before {
                        opts["before"] = json!(b);
                    }
                    json!([h.wallet, opts])
                })
                .collect();
            let answers = self
                .rpc
                .batch(&self.redis, "getSignaturesForAddress", params)
                .await;
            let mut still_open = Vec::new();
            for (&i, answer) in open.iter().zip(answers) {
                let h = &mut histories[i];
                let page = match answer.and_then(|v| signature_page(&v)) {
                    Ok(p) => p,
                    Err(e) => {
                        out[i] = Some(Err(e));
                        continue;
                    }
                };
                h.count += page.len() as u64;
                if h.hop == 0 {
                    h.seen.extend(page.iter().map(|(s, _)| s.clone()));
                }
                if let Some(ok) = page.iter().rev().find(|(_, ok)| *ok) {
                    h.oldest_ok = Some(ok.0.clone());
                }
                if page.len() < PAGE {
                    complete.push(i);
                } else if h.count >= h.cap {
                    out[i] = Some(Ok(FundingRecord {
                        wallet: h.wallet.clone(),
                        status: FundingStatus::Established,
                        signature_count: h.count,
                        hop: h.hop,
                    }));
                } else {
                    h.before = page.last().map(|(s, _)| s.clone());
                    still_open.push(i);
                }
            }
            open = still_open;
        }
        // Oldest transactions, one batch; a wallet whose history is empty has no inbound SOL.
        let mut reads: Vec<usize> = Vec::new();
        for i in complete {
            let h = &histories[i];
            if h.hop > 0 && h.count > self.fresh_max_signatures {
                out[i] = Some(Ok(FundingRecord {
                    wallet: h.wallet.clone(),
                    status: FundingStatus::Established,
                    signature_count: h.count,
                    hop: h.hop,
                }));
            } else if h.oldest_ok.is_some() {
                reads.push(i);
            } else {
                out[i] = Some(Ok(FundingRecord {
                    wallet: h.wallet.clone(),
                    status: FundingStatus::NoInbound,
                    signature_count: h.count,
                    hop: h.hop,
                }));
            }
        }
        // Funding reads and transfer checks in one batch.
        let checks = shared_signatures(&histories, MAX_TRANSFER_CHECKS);
        let params: Vec<Value> = reads
            .iter()
            .map(|&i| histories[i].oldest_ok.clone().unwrap_or_default())
            .chain(checks.iter().map(|(sig, _)| sig.clone()))
            .map(|sig| {
                json!([sig, {"encoding": "json",
                    "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}])
            })
            .collect();
        let mut transfers = Vec::new();
        if !params.is_empty() {
            let mut answers = self
                .rpc
                .batch(&self.redis, "getTransaction", params)
                .await
                .into_iter();
            for (&i, answer) in reads.iter().zip(answers.by_ref()) {
                let h = &histories[i];
                out[i] = Some(answer.and_then(|v| funding_of(&v, h)));
            }
            for ((_, members), answer) in checks.iter().zip(answers) {
                match answer {
                    Ok(v) => transfers.extend(transfers_in(&v, members, &histories)),
                    Err(e) => warn!(error = %e, "cannot check a transaction shared by buyers"),
                }
            }
        }
        let out = out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(RpcError::Shape("not traced".into()))))
            .collect();
        (out, transfers)
    }
}

/// Signatures in the lists of two or more buyers (hop 0), with those buyers, oldest first, at
/// most `max`. A buyer's own funding transaction is left out: it is read anyway, and a buyer
/// funding another is already a link.
fn shared_signatures(histories: &[History], max: usize) -> Vec<(String, Vec<usize>)> {
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (i, h) in histories.iter().enumerate().filter(|(_, h)| h.hop == 0) {
        for sig in h.seen.iter().rev() {
            let list = holders.entry(sig.as_str()).or_default();
            if list.is_empty() {
                order.push(sig.as_str());
            }
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    let fundings: HashSet<&str> = histories
        .iter()
        .filter_map(|h| h.oldest_ok.as_deref())
        .collect();
    order
        .into_iter()
        .filter(|sig| holders[sig].len() > 1 && !fundings.contains(sig))
        .take(max)
        .map(|sig| (sig.to_string(), holders[sig].clone()))
        .collect()
}

/// The SOL transfers between any two of `members` in one `getTransaction` answer.
fn transfers_in(v: &Value, members: &[usize], histories: &[History]) -> Vec<TransferRecord> {
    let Ok(tx) = transaction_from_json(v) else {
        return Vec::new();
    };
    let keys: Vec<Pubkey> = members
        .iter()
        .filter_map(|&i| Pubkey::parse(&histories[i].wallet, "wallet").ok())
        .collect();
    let mut out = Vec::new();
    for (n, a) in keys.iter().enumerate() {
        for b in &keys[n + 1..] {
            if let Some(t) = sol_transfer_between(&tx, a, b) {
                out.push(TransferRecord {
                    sender: t.from.to_base58(),
                    receiver: t.to.to_base58(),
                    signature: tx.signature.to_base58(),
                    lamports: t.lamports,
                    block_time: tx.block_time,
                });
            }
        }
    }
    out
}

/// `(signature, succeeded)` of one `getSignaturesForAddress` page, newest first.
fn signature_page(v: &Value) -> Result<Vec<(String, bool)>, RpcError> {
    let list = v
        .as_array()
        .ok_or_else(|| RpcError::Shape("getSignaturesForAddress: not an array".into()))?;
    list.iter()
        .map(|e| {
            let sig = e
                .get("signature")
                .and_then(Value::as_str)
                .ok_or_else(|| RpcError::Shape("getSignaturesForAddress: no signature".into()))?;
            Ok((sig.to_string(), e.get("err").is_none_or(Value::is_null)))
        })
        .collect()
}

/// The record of a wallet from its oldest transaction.
fn funding_of(v: &Value, h: &History) -> Result<FundingRecord, RpcError> {
    if v.is_null() {
        return Err(RpcError::Shape(
            "getTransaction: transaction not found".into(),
        ));
    }
    let tx =
        transaction_from_json(v).map_err(|e| RpcError::Shape(format!("getTransaction: {e}")))?;
    let wallet =
        Pubkey::parse(&h.wallet, "wallet").map_err(|e| RpcError::Shape(format!("wallet: {e}")))?;
    let status = match inbound_funding(&tx, &wallet) {
        Some(inbound) => FundingStatus::Funded {
            funder: inbound.funder.to_base58(),
            lamports: inbound.lamports,
            funded_at: inbound.block_time,
            signature: tx.signature.to_base58(),
            fee_payer: inbound.fee_payer.to_base58(),
        },
        None => FundingStatus::NoInbound,
    };
    Ok(FundingRecord {
        wallet: h.wallet.clone(),
        status,
        signature_count: h.count,
        hop: h.hop,
    })
}

/// The Limited Analysis wording of a failed lookup.
fn reason(e: &RpcError) -> String {
    match e {
        RpcError::NotConfigured => "no RPC configured".into(),
        RpcError::BudgetExhausted(_) => "RPC budget spent".into(),
        RpcError::Shape(_) => "malformed provider answer".into(),
        _ => "provider errors".into(),
    }
}
