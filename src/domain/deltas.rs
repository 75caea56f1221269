//! Balance deltas: what each owner gained or lost in a transaction.
//!
//! Token deltas are keyed by token *account* first and only then summed per owner, so an owner with
//! several accounts of one mint is counted correctly (the reference overwrote all but one). A
//! wallet's SOL change includes the lamports of the token accounts it owns, so ATA rent deposits and
//! wrapped SOL move with it, and excludes the fee it paid.

use super::assets::{Asset, WSOL_MINT};
use super::pubkey::Pubkey;
use super::transaction::Transaction;

/// One token account's change (missing side = 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccountChange {
    pub account_index: u8,
    pub owner: Pubkey,
    pub mint: Pubkey,
    pub decimals: u8,
    pub pre: u64,
    pub post: u64,
}

impl TokenAccountChange {
    pub fn delta(&self) -> i128 {
        self.post as i128 - self.pre as i128
    }
}

/// One owner's net change in one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetDelta {
    pub asset: Asset,
    pub delta: i128,
    pub decimals: u8,
}

/// Everything one owner gained or lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerDelta {
    pub owner: Pubkey,
    /// Lamports, fee excluded, including the lamports of the owner's token accounts.
    pub sol: i128,
    /// Net non-WSOL token changes, zeros removed, in order of first appearance.
    pub tokens: Vec<AssetDelta>,
}

/// True when some token account's raw amount changed. The cheapest test that a transaction could
/// be a swap; it allocates nothing.
pub fn has_token_balance_change(tx: &Transaction) -> bool {
    let pre = &tx.pre_token_balances;
    let post = &tx.post_token_balances;
    post.iter().any(|p| {
        let before = pre
            .iter()
            .find(|b| b.account_index == p.account_index)
            .map_or(0, |b| b.amount);
        before != p.amount
    }) || pre
        .iter()
        .any(|b| b.amount != 0 && !post.iter().any(|p| p.account_index == b.account_index))
}

/// Pairs pre and post token balances by account index.
pub fn token_account_changes(tx: &Transaction) -> Vec<TokenAccountChange> {
    let mut out: Vec<TokenAccountChange> = Vec::with_capacity(
        tx.pre_token_balances
            .len()
            .max(tx.post_token_balances.len())
            + 2,
    );
    for b in &tx.pre_token_balances {
        out.push(TokenAccountChange {
            account_index: b.account_index,
            owner: b.owner,
            mint: b.mint,
            decimals: b.decimals,
            pre: b.amount,
            post: 0,
        });
    }
    for b in &tx.post_token_balances {
        match out.iter_mut().find(|c| c.account_index == b.account_index) {
            Some(c) => c.post = b.amount,
            None => out.push(TokenAccountChange {
                account_index: b.account_index,
                owner: b.owner,
                mint: b.mint,
                decimals: b.decimals,
                pre: 0,
                post: b.amount,
            }),
        }
    }
    out
}

fn lamport_delta(tx: &Transaction, index: usize) -> i128 {
    match (tx.pre_lamports.get(index), tx.post_lamports.get(index)) {
        (Some(&pre), Some(&post)) => post as i128 - pre as i128,
        _ => 0,
    }
}

/// Net changes of every owner of a token account in the transaction, in the order the owners
/// appear among the account keys (owners not among the keys follow, in balance order). Only token
/// account owners can have swapped: a swap always touches a token account of the trader.
pub fn owner_deltas(tx: &Transaction, changes: &[TokenAccountChange]) -> Vec<OwnerDelta> {
    let mut owners: Vec<(usize, Pubkey)> = Vec::with_capacity(changes.len());
    for c in changes {
        if owners.iter().any(|(_, o)| *o == c.owner) {
            continue;
        }
        let position = tx
            .account_keys
            .iter()
            .position(|k| *k == c.owner)
            .unwrap_or(usize::MAX);
        owners.push((position, c.owner));
    }
    // Stable: owners outside the key list keep their balance order.
    owners.sort_by_key(|(position, _)| *position);

    owners
        .into_iter()
        .map(|(position, owner)| {
            let mut sol = if position == usize::MAX {
                0
            } else {
                lamport_delta(tx, position)
            };
            if position == 0 {
                sol += tx.fee as i128;
            }
            let mut tokens: Vec<AssetDelta> = Vec::new();
            for c in changes.iter().filter(|c| c.owner == owner) {
                sol += lamport_delta(tx, c.account_index as usize);
                if c.mint == WSOL_MINT {
                    continue;
                }
                let asset = Asset::Token(c.mint);
                match tokens.iter_mut().find(|t| t.asset == asset) {
                    Some(t) => t.delta += c.delta(),
                    None => tokens.push(AssetDelta {
                        asset,
                        delta: c.delta(),
                        decimals: c.decimals,
                    }),
                }
            }
            tokens.retain(|t| t.delta != 0);
            OwnerDelta { owner, sol, tokens }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::{key, TxBuilder};

    #[test]
    fn two_accounts_of_one_mint_are_summed_not_overwritten() {
        let mut b = TxBuilder::new(key(1));
        let wallet = key(1);
        let mint = key(50);
        b.token(key(2), wallet, mint, 100, 150); // +50
        b.token(key(3), wallet, mint, 10, 10); // unchanged
        let tx = b.build();
        let deltas = owner_deltas(&tx, &token_account_changes(&tx));
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].tokens[0].delta, 50);
    }

    #[test]
    fn missing_side_counts_as_zero() {
        let mut b = TxBuilder::new(key(1));
        b.token_created(key(2), key(1), key(50), 40);
        b.token_closed(key(3), key(1), key(51), 25);
        let tx = b.build();
        let deltas = owner_deltas(&tx, &token_account_changes(&tx));
        let by_mint = |m| {
            deltas[0]
                .tokens
                .iter()
                .find(|t| t.asset == Asset::Token(m))
                .unwrap()
                .delta
        };
        assert_eq!(by_mint(key(50)), 40);
        assert_eq!(by_mint(key(51)), -25);
    }

    #[test]
    fn fee_is_excluded_and_ata_rent_moves_with_the_owner() {
        let payer = key(1);
        let mut b = TxBuilder::new(payer);
        b.fee(5_000);
        // Payer spends 1 SOL + fee + 2_039_280 rent for its new token account.
        b.lamports(
            payer,
            10_000_000_000,
            10_000_000_000 - 1_000_000_000 - 5_000 - 2_039_280,
        );
        b.token_created(key(2), payer, key(50), 777);
        b.lamports(key(2), 0, 2_039_280);
        let tx = b.build();
        let deltas = owner_deltas(&tx, &token_account_changes(&tx));
        assert_eq!(deltas[0].sol, -1_000_000_000);
    }

    #[test]
    fn wsol_token_delta_is_counted_once_through_lamports() {
        let wallet = key(1);
        let mut b = TxBuilder::new(wallet);
        // A persistent WSOL account receives 3 SOL: lamports and token amount both move.
        b.token(key(2), wallet, WSOL_MINT, 1_000, 3_000_001_000);
        b.lamports(key(2), 2_040_280, 3_002_040_280);
        let tx = b.build();
        let deltas = owner_deltas(&tx, &token_account_changes(&tx));
        assert_eq!(deltas[0].sol, 3_000_000_000);
        assert!(deltas[0].tokens.is_empty());
    }

    #[test]
    fn prefilter_sees_changes_creations_and_closures() {
        let mut b = TxBuilder::new(key(1));
        b.token(key(2), key(1), key(50), 5, 5);
        assert!(!has_token_balance_change(&b.clone().build()));
        b.token_closed(key(3), key(1), key(50), 9);
        assert!(has_token_balance_change(&b.clone().build()));
        let mut c = TxBuilder::new(key(1));
        c.token_created(key(2), key(1), key(50), 1);
        assert!(has_token_balance_change(&c.build()));
        let mut d = TxBuilder::new(key(1));
        d.token_closed(key(2), key(1), key(50), 0);
        assert!(!has_token_balance_change(&d.build()));
    }
}
