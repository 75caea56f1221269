//! Builders for hand-made transactions, shared by unit tests, property tests and benches.
//!
//! Public (but hidden from docs) so `tests/` and `benches/` can use the same builders.

use super::curve::is_on_curve;
use super::pubkey::{Pubkey, Signature};
use super::transaction::{Instructions, TokenBalance, Transaction};

/// A deterministic key; may or may not be on the curve.
pub fn key(n: u8) -> Pubkey {
    let mut bytes = [n; 32];
    bytes[0] = 0xA5;
    Pubkey(bytes)
}

fn search(seed: u32, want_on_curve: bool) -> Pubkey {
    (0u32..)
        .map(|i| {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&seed.to_le_bytes());
            bytes[4..8].copy_from_slice(&i.to_le_bytes());
            bytes[31] = 0x11;
            Pubkey(bytes)
        })
        .find(|k| is_on_curve(k) == want_on_curve)
        .expect("about half of all keys are on the curve")
}

/// A deterministic key that is on the ed25519 curve (can be a wallet).
pub fn wallet(seed: u32) -> Pubkey {
    search(seed, true)
}

/// A deterministic key that is off the curve (a program-derived address such as a pool).
pub fn pda(seed: u32) -> Pubkey {
    search(seed.wrapping_add(0x8000_0000), false)
}

/// Builds a consistent [`Transaction`] from balance changes.
#[derive(Clone)]
pub struct TxBuilder {
    tx: Transaction,
    decimals: u8,
}

impl TxBuilder {
    /// A transaction paid (and signed) by `payer`.
    pub fn new(payer: Pubkey) -> Self {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&payer.0);
        TxBuilder {
            tx: Transaction {
                signature: Signature(sig),
                slot: 1,
                block_time: Some(1_700_000_000),
                index: None,
                is_vote: false,
                failed: false,
                fee: 0,
                num_signers: 1,
                num_static_keys: 1,
                num_loaded_writable: 0,
                account_keys: vec![payer],
                pre_lamports: vec![0],
                post_lamports: vec![0],
                pre_token_balances: vec![],
                post_token_balances: vec![],
                instructions: Instructions::default(),
            },
            decimals: 6,
        }
    }

    pub fn signature(&mut self, byte: u8) -> &mut Self {
        self.tx.signature = Signature([byte; 64]);
        self
    }

    /// Makes `k` a signer (moves it to the front of the key list, after earlier signers).
    pub fn signer(&mut self, k: Pubkey) -> &mut Self {
        let n = self.tx.num_signers as usize;
        match self.tx.account_keys.iter().position(|x| *x == k) {
            Some(p) if p < n => {}
            Some(_) => panic!("add signers before other keys"),
            None => {
                self.tx.account_keys.insert(n, k);
                self.tx.pre_lamports.insert(n, 0);
                self.tx.post_lamports.insert(n, 0);
                self.tx.num_signers += 1;
                self.tx.num_static_keys += 1;
            }
        }
        self
    }

    pub fn decimals(&mut self, d: u8) -> &mut Self {
        self.decimals = d;
        self
    }

    pub fn fee(&mut self, fee: u64) -> &mut Self {
        self.tx.fee = fee;
        self
    }

    pub fn failed(&mut self) -> &mut Self {
        self.tx.failed = true;
        self
    }

    /// Index of `k` among the keys, adding it with zero balances if new.
    pub fn index(&mut self, k: Pubkey) -> u8 {
        if let Some(p) = self.tx.account_keys.iter().position(|x| *x == k) {
            return p as u8;
        }
        self.tx.account_keys.push(k);
        self.tx.pre_lamports.push(0);
        self.tx.post_lamports.push(0);
        self.tx.num_static_keys += 1;
        (self.tx.account_keys.len() - 1) as u8
    }

    pub fn lamports(&mut self, k: Pubkey, pre: u64, post: u64) -> &mut Self {
        let i = self.index(k) as usize;
        self.tx.pre_lamports[i] = pre;
        self.tx.post_lamports[i] = post;
        self
    }

    fn balance(
        &mut self,
        account: Pubkey,
        owner: Pubkey,
        mint: Pubkey,
        amount: u64,
    ) -> TokenBalance {
        TokenBalance {
            account_index: self.index(account),
            mint,
            owner,
            amount,
            decimals: self.decimals,
            token_program: None,
        }
    }

    /// A token account that exists before and after.
    pub fn token(
        &mut self,
        account: Pubkey,
        owner: Pubkey,
        mint: Pubkey,
        pre: u64,
        post: u64,
    ) -> &mut Self {
        let b = self.balance(account, owner, mint, pre);
        self.tx.pre_token_balances.push(b.clone());
        self.tx
            .post_token_balances
            .push(TokenBalance { amount: post, ..b });
        self
    }

    /// A token account created by the transaction.
    pub fn token_created(
        &mut self,
        account: Pubkey,
        owner: Pubkey,
        mint: Pubkey,
        post: u64,
    ) -> &mut Self {
        let b = self.balance(account, owner, mint, post);
        self.tx.post_token_balances.push(b);
        self
    }

    /// A token account closed by the transaction.
    pub fn token_closed(
        &mut self,
        account: Pubkey,
        owner: Pubkey,
        mint: Pubkey,
        pre: u64,
    ) -> &mut Self {
        let b = self.balance(account, owner, mint, pre);
        self.tx.pre_token_balances.push(b);
        self
    }

    /// Records an instruction of `program` touching `accounts`.
    pub fn invoke(&mut self, program: Pubkey, depth: u8, accounts: &[Pubkey]) -> &mut Self {
        let p = self.index(program);
        let indexes: Vec<u8> = accounts.iter().map(|a| self.index(*a)).collect();
        self.tx.instructions.push(p, depth, &indexes);
        self
    }

    pub fn build(&self) -> Transaction {
        self.tx
            .validate()
            .expect("builder makes consistent transactions");
        self.tx.clone()
    }
}

/// A small but complete transaction (a SOL→token buy against a pool) for format tests.
pub fn sample_transaction() -> Transaction {
    let trader = wallet(1);
    let pool = pda(2);
    let mint = key(50);
    let pump: Pubkey = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
        .parse()
        .unwrap();
    let mut b = TxBuilder::new(trader);
    b.fee(5_000)
        .lamports(trader, 5_000_000_000, 4_000_000_000 - 5_000)
        .lamports(pool, 10_000_000_000, 11_000_000_000)
        .token(key(3), pool, mint, 1_000_000, 900_000)
        .token(key(4), trader, mint, 0, 100_000)
        .invoke(pump, 1, &[trader, key(3), key(4)]);
    b.build()
}
