//! The part of a `SubscribeRequest` the fake honours: transaction filters (vote, failed,
//! signature, account include / exclude / required, over all keys including loaded ones) and
//! block-meta filters. Account, slot, block and entry filters are accepted and ignored.

use yellowstone_grpc_proto::prelude::{SubscribeRequest, SubscribeRequestFilterTransactions};

use crate::domain::{Pubkey, Signature, Transaction};

/// One named transaction filter.
#[derive(Debug, Clone)]
struct TxFilter {
    name: String,
    vote: Option<bool>,
    failed: Option<bool>,
    signature: Option<Signature>,
    include: Vec<Pubkey>,
    exclude: Vec<Pubkey>,
    required: Vec<Pubkey>,
}

impl TxFilter {
    fn parse(name: &str, f: &SubscribeRequestFilterTransactions) -> Result<Self, String> {
        let keys = |list: &[String], field: &'static str| {
            list.iter()
                .map(|s| Pubkey::parse(s, field).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(TxFilter {
            name: name.to_string(),
            vote: f.vote,
            failed: f.failed,
            signature: f
                .signature
                .as_deref()
                .map(|s| Signature::parse(s, "signature").map_err(|e| e.to_string()))
                .transpose()?,
            include: keys(&f.account_include, "account_include")?,
            exclude: keys(&f.account_exclude, "account_exclude")?,
            required: keys(&f.account_required, "account_required")?,
        })
    }

    fn matches(&self, tx: &Transaction) -> bool {
        if self.vote.is_some_and(|v| v != tx.is_vote) {
            return false;
        }
        if self.failed.is_some_and(|f| f != tx.failed) {
            return false;
        }
        if self.signature.is_some_and(|s| s != tx.signature) {
            return false;
        }
        let keys = &tx.account_keys;
        if !self.include.is_empty() && !self.include.iter().any(|k| keys.contains(k)) {
            return false;
        }
        if self.exclude.iter().any(|k| keys.contains(k)) {
            return false;
        }
        self.required.iter().all(|k| keys.contains(k))
    }
}

/// What one subscription asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubscriptionFilter {
    transactions: Vec<TxFilter>,
    blocks_meta: Vec<String>,
}

impl SubscriptionFilter {
    /// Parses a request; the error text follows the real server's "failed to create filter: …".
    pub(crate) fn parse(request: &SubscribeRequest) -> Result<Self, String> {
        let mut transactions = request
            .transactions
            .iter()
            .map(|(name, f)| TxFilter::parse(name, f))
            .collect::<Result<Vec<_>, _>>()?;
        transactions.sort_by(|a, b| a.name.cmp(&b.name));
        let mut blocks_meta: Vec<String> = request.blocks_meta.keys().cloned().collect();
        blocks_meta.sort();
        Ok(SubscriptionFilter {
            transactions,
            blocks_meta,
        })
    }

    pub(crate) fn wants_transactions(&self) -> bool {
        !self.transactions.is_empty()
    }

    /// Names of the transaction filters `tx` matches (empty: do not send it).
    pub(crate) fn transaction_filters(&self, tx: &Transaction) -> Vec<String> {
        self.transactions
            .iter()
            .filter(|f| f.matches(tx))
            .map(|f| f.name.clone())
            .collect()
    }

    /// Names of the block-meta filters (empty: the client did not ask for block metas).
    pub(crate) fn block_meta_filters(&self) -> &[String] {
        &self.blocks_meta
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::test_support::sample_transaction;

    fn request(f: SubscribeRequestFilterTransactions) -> SubscribeRequest {
        SubscribeRequest {
            transactions: HashMap::from([("t".to_string(), f)]),
            ..Default::default()
        }
    }

    #[test]
    fn vote_failed_and_accounts() {
        let mut tx = sample_transaction();
        let all = SubscriptionFilter::parse(&request(Default::default())).unwrap();
        assert_eq!(all.transaction_filters(&tx), vec!["t".to_string()]);

        let no_failed = SubscriptionFilter::parse(&request(SubscribeRequestFilterTransactions {
            failed: Some(false),
            vote: Some(false),
            ..Default::default()
        }))
        .unwrap();
        assert!(!no_failed.transaction_filters(&tx).is_empty());
        tx.failed = true;
        assert!(no_failed.transaction_filters(&tx).is_empty());
        tx.failed = false;
        tx.is_vote = true;
        assert!(no_failed.transaction_filters(&tx).is_empty());
        tx.is_vote = false;

        let program = tx.account_keys[tx.instructions.programs[0] as usize];
        let include = |k: Pubkey| {
            SubscriptionFilter::parse(&request(SubscribeRequestFilterTransactions {
                account_include: vec![k.to_string()],
                ..Default::default()
            }))
            .unwrap()
        };
        assert!(!include(program).transaction_filters(&tx).is_empty());
        assert!(include(Pubkey([9; 32])).transaction_filters(&tx).is_empty());
        let exclude = SubscriptionFilter::parse(&request(SubscribeRequestFilterTransactions {
            account_exclude: vec![program.to_string()],
            ..Default::default()
        }))
        .unwrap();
        assert!(exclude.transaction_filters(&tx).is_empty());
    }

    #[test]
    fn bad_keys_are_errors() {
        let err = SubscriptionFilter::parse(&request(SubscribeRequestFilterTransactions {
            account_include: vec!["not-a-key".into()],
            ..Default::default()
        }))
        .unwrap_err();
        assert!(err.contains("account_include"), "{err}");
    }
}
