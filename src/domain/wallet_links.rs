//! Links between buyers besides a shared funder: a shared fee payer of their buys, and SOL sent
//! from one buyer to another after their first funding. Pure: the buys come from `swap_events`,
//! the transactions from the funding trace's provider answers.

use super::funding::Labels;
use super::pubkey::Pubkey;
use super::transaction::Transaction;

/// Groups from the fee payers of one mint's buys, each `(payer, wallets whose buy it paid)`. A
/// payer that paid for at least one buy by another wallet links that wallet, every other wallet
/// it paid for, and itself (its own buys included). A labelled payer (an exchange, a program, a
/// relayer on the list) links nobody; nor does a wallet that only paid for its own buys.
pub fn fee_payer_groups(rows: Vec<(String, Vec<String>)>, labels: &Labels) -> Vec<Vec<String>> {
    rows.into_iter()
        .filter(|(payer, wallets)| {
            labels.get(payer).is_none() && wallets.iter().any(|w| w != payer)
        })
        .map(|(payer, mut wallets)| {
            if !wallets.contains(&payer) {
                wallets.push(payer);
            }
            wallets
        })
        .collect()
}

/// SOL one wallet sent another in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub from: Pubkey,
    pub to: Pubkey,
    /// What the receiver's balance rose by.
    pub lamports: u64,
}

/// The SOL `a` and `b` exchanged in `tx`: one's balance fell (the fee added back for the fee
/// payer) and the other's rose. None when the transaction failed, holds only one of them, or
/// moved no SOL between them (both paid, as in a bundle, or neither balance moved).
pub fn sol_transfer_between(tx: &Transaction, a: &Pubkey, b: &Pubkey) -> Option<Transfer> {
    if tx.failed || a == b {
        return None;
    }
    let change = |key: &Pubkey| -> Option<i128> {
        let i = tx.account_keys.iter().position(|k| k == key)?;
        let fee = if i == 0 { i128::from(tx.fee) } else { 0 };
        Some(i128::from(*tx.post_lamports.get(i)?) + fee - i128::from(*tx.pre_lamports.get(i)?))
    };
    let (da, db) = (change(a)?, change(b)?);
    let (from, to, rise) = match (da, db) {
        (x, y) if x < 0 && y > 0 => (*a, *b, y),
        (x, y) if y < 0 && x > 0 => (*b, *a, x),
        _ => return None,
    };
    Some(Transfer {
        from,
        to,
        lamports: u64::try_from(rise).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rpc_json::transaction_from_json;

    const TRANSFER: &str = include_str!("../../tests/fixtures/mainnet/mm_native_sol_transfer.json");
    const SENDER: &str = "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP";
    const RECEIVER: &str = "FDUGdV6bjhvw5gbirXCvqbTSWK9999kcrZcrHoCQzXJK";
    const BINANCE_2: &str = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";

    fn key(s: &str) -> Pubkey {
        s.parse().unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_real_sol_transfer_links_sender_and_receiver_either_way_round() {
        let tx = transaction_from_json(&serde_json::from_str(TRANSFER).unwrap()).unwrap();
        let want = Transfer {
            from: key(SENDER),
            to: key(RECEIVER),
            lamports: 100_000_000,
        };
        assert_eq!(
            sol_transfer_between(&tx, &key(SENDER), &key(RECEIVER)),
            Some(want.clone())
        );
        assert_eq!(
            sol_transfer_between(&tx, &key(RECEIVER), &key(SENDER)),
            Some(want)
        );
        // Not in the transaction, the same wallet twice, or a failed transaction: no transfer.
        assert_eq!(
            sol_transfer_between(&tx, &key(SENDER), &key(BINANCE_2)),
            None
        );
        assert_eq!(sol_transfer_between(&tx, &key(SENDER), &key(SENDER)), None);
        let mut failed = tx.clone();
        failed.failed = true;
        assert_eq!(
            sol_transfer_between(&failed, &key(SENDER), &key(RECEIVER)),
            None
        );
    }

    #[test]
    fn two_wallets_that_both_paid_exchanged_nothing() {
        let mut tx = transaction_from_json(&serde_json::from_str(TRANSFER).unwrap()).unwrap();
        // The receiver's balance falls too (as two buyers of one bundle both pay the curve).
        tx.pre_lamports[1] = tx.post_lamports[1] + 1;
        assert_eq!(
            sol_transfer_between(&tx, &key(SENDER), &key(RECEIVER)),
            None
        );
    }

    #[test]
    fn a_payer_links_the_wallets_it_paid_for_unless_labelled_or_only_its_own() {
        let labels = Labels::parse_toml(&format!(
            "[[wallets]]\naddress = \"{BINANCE_2}\"\nlabel = \"Binance 2\"\nkind = \"exchange\"\n"
        ))
        .unwrap();
        let rows = vec![
            ("P".to_string(), strings(&["A", "B"])),
            ("Q".to_string(), strings(&["Q", "C"])),
            ("S".to_string(), strings(&["S"])),
            (BINANCE_2.to_string(), strings(&["D", "E"])),
        ];
        assert_eq!(
            fee_payer_groups(rows, &labels),
            vec![strings(&["A", "B", "P"]), strings(&["Q", "C"])]
        );
    }
}
