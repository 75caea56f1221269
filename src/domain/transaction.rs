//! The compact transaction every stage works on.
//!
//! It keeps exactly what balance-based swap inference and venue attribution need, and nothing that
//! depends on the source: both Yellowstone protobuf and RPC JSON decode into it, and the stream
//! carries it in the wire format. Keys are the *full* list (static, then loaded writable, then loaded
//! readonly) so that balances of lookup-table accounts are never dropped.

use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::pubkey::{Pubkey, Signature};

/// One token account's balance at the start or the end of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBalance {
    /// Index of the token account in [`Transaction::account_keys`].
    pub account_index: u8,
    pub mint: Pubkey,
    /// The wallet (or program-derived authority) that owns the token account.
    pub owner: Pubkey,
    /// Raw amount in the mint's smallest unit.
    pub amount: u64,
    pub decimals: u8,
    /// SPL Token or Token-2022; `None` when the source did not say.
    pub token_program: Option<Pubkey>,
}

/// Instructions in execution order (each top-level instruction followed by its inner ones),
/// flattened into three arrays so decoding allocates three vectors, not one per instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instructions {
    /// Program of each instruction, as an index into the account keys.
    #[serde(with = "super::compact_serde::bytes")]
    pub programs: Vec<u8>,
    /// Call depth: 1 for a top-level instruction, 2 and more for inner (CPI) instructions.
    #[serde(with = "super::compact_serde::bytes")]
    pub depths: Vec<u8>,
    /// End offset in `accounts` of each instruction's account list.
    #[serde(with = "super::compact_serde::u16s")]
    pub account_ends: Vec<u16>,
    /// Account indexes of all instructions, concatenated.
    #[serde(with = "super::compact_serde::bytes")]
    pub accounts: Vec<u8>,
}

impl Instructions {
    /// Appends one instruction.
    pub fn push(&mut self, program: u8, depth: u8, accounts: &[u8]) {
        self.programs.push(program);
        self.depths.push(depth);
        self.accounts.extend_from_slice(accounts);
        self.account_ends.push(self.accounts.len() as u16);
    }

    pub fn len(&self) -> usize {
        self.programs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }

    /// `(program index, depth, account indexes)` of each instruction in execution order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, u8, &[u8])> + '_ {
        let mut start = 0usize;
        // `get` rather than indexing: a transaction that skipped `validate` yields empty account
        // lists instead of panicking.
        (0..self.programs.len()).map(move |i| {
            let end = self.account_ends.get(i).map_or(start, |&e| e as usize);
            let accounts = self.accounts.get(start..end).unwrap_or_default();
            start = end.max(start);
            (
                self.programs[i],
                self.depths.get(i).copied().unwrap_or(1),
                accounts,
            )
        })
    }
}

/// A confirmed transaction reduced to what Pocketwatcher needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub signature: Signature,
    pub slot: u64,
    /// Unix seconds of the block; unknown for a Yellowstone update until `blocks_meta` arrives.
    pub block_time: Option<i64>,
    /// Position of the transaction in its block, when the source says.
    pub index: Option<u64>,
    pub is_vote: bool,
    /// The transaction's `err` was set: it changed nothing but fees.
    pub failed: bool,
    /// Total fee (base + priority) in lamports, paid by `account_keys[0]`.
    pub fee: u64,
    /// The first `num_signers` account keys signed the transaction.
    pub num_signers: u8,
    /// How many of `account_keys` are static message keys; after them come loaded addresses.
    pub num_static_keys: u8,
    /// How many loaded addresses are writable (they come before the readonly ones).
    pub num_loaded_writable: u8,
    /// Static keys, then loaded writable, then loaded readonly.
    #[serde(with = "super::compact_serde::keys")]
    pub account_keys: Vec<Pubkey>,
    #[serde(with = "super::compact_serde::u64s")]
    pub pre_lamports: Vec<u64>,
    #[serde(with = "super::compact_serde::u64s")]
    pub post_lamports: Vec<u64>,
    pub pre_token_balances: Vec<TokenBalance>,
    pub post_token_balances: Vec<TokenBalance>,
    pub instructions: Instructions,
}

impl Transaction {
    /// The account that paid the fee.
    pub fn fee_payer(&self) -> Option<&Pubkey> {
        self.account_keys.first()
    }

    /// The keys that signed the transaction.
    pub fn signers(&self) -> &[Pubkey] {
        let n = (self.num_signers as usize).min(self.account_keys.len());
        &self.account_keys[..n]
    }

    pub fn is_signer(&self, key: &Pubkey) -> bool {
        self.signers().contains(key)
    }

    /// Distinct programs invoked (top-level and inner), in order of first invocation.
    pub fn invoked_programs(&self) -> Vec<Pubkey> {
        let mut seen: Vec<u8> = Vec::new();
        for &p in &self.instructions.programs {
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        seen.into_iter()
            .filter_map(|i| self.account_keys.get(i as usize).copied())
            .collect()
    }

    /// Checks the cross-references every consumer relies on, so that later stages can index
    /// without panicking. Decoders call this before returning a transaction.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let n = self.account_keys.len();
        if n == 0 {
            return Err(DecodeError::Inconsistent("no account keys".into()));
        }
        if n > 256 {
            return Err(DecodeError::Inconsistent(format!(
                "{n} account keys (at most 256)"
            )));
        }
        if self.pre_lamports.len() != n || self.post_lamports.len() != n {
            return Err(DecodeError::Inconsistent(format!(
                "{n} account keys but {} pre and {} post balances",
                self.pre_lamports.len(),
                self.post_lamports.len()
            )));
        }
        let statics = self.num_static_keys as usize;
        if statics > n || statics + self.num_loaded_writable as usize > n {
            return Err(DecodeError::Inconsistent(
                "static/loaded key counts exceed the key list".into(),
            ));
        }
        for (field, balances) in [
            ("preTokenBalances.accountIndex", &self.pre_token_balances),
            ("postTokenBalances.accountIndex", &self.post_token_balances),
        ] {
            for b in balances {
                check_index(field, b.account_index as u64, n)?;
            }
        }
        let ix = &self.instructions;
        if ix.depths.len() != ix.programs.len() || ix.account_ends.len() != ix.programs.len() {
            return Err(DecodeError::Inconsistent(
                "instruction arrays differ in length".into(),
            ));
        }
        let mut previous = 0u16;
        for &end in &ix.account_ends {
            if end < previous || end as usize > ix.accounts.len() {
                return Err(DecodeError::Inconsistent(
                    "instruction account offsets out of order".into(),
                ));
            }
            previous = end;
        }
        for &p in &ix.programs {
            check_index("programIdIndex", p as u64, n)?;
        }
        for &a in &ix.accounts {
            check_index("instruction account", a as u64, n)?;
        }
        Ok(())
    }
}

fn check_index(field: &'static str, index: u64, len: usize) -> Result<(), DecodeError> {
    if index as usize >= len {
        return Err(DecodeError::IndexOutOfRange { field, index, len });
    }
    Ok(())
}

/// Converts a wire or JSON index to `u8`, the width Solana uses for account indexes.
pub(crate) fn account_index(
    field: &'static str,
    index: u64,
    len: usize,
) -> Result<u8, DecodeError> {
    check_index(field, index, len)?;
    u8::try_from(index).map_err(|_| DecodeError::IndexOutOfRange { field, index, len })
}
