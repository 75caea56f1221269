//! Conversion between Yellowstone's protobuf transaction update and [`Transaction`].
//!
//! `from_update` is the ingest path. `to_update` exists for the fake Geyser server and for tests:
//! it rebuilds an update that decodes back to the same transaction.

use yellowstone_grpc_proto::prelude::{
    CompiledInstruction, InnerInstruction, InnerInstructions, Message, MessageHeader,
    SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo, TokenBalance as ProtoTokenBalance,
    Transaction as ProtoTransaction, TransactionError, TransactionStatusMeta, UiTokenAmount,
};

use super::error::DecodeError;
use super::pubkey::{Pubkey, Signature};
use super::transaction::{account_index, Instructions, TokenBalance, Transaction};

/// Decodes a Yellowstone transaction update. The update carries no block time: the ingest fills
/// it from `blocks_meta`.
pub fn from_update(update: &SubscribeUpdateTransaction) -> Result<Transaction, DecodeError> {
    let info = update
        .transaction
        .as_ref()
        .ok_or(DecodeError::MissingField("transaction"))?;
    let tx = info
        .transaction
        .as_ref()
        .ok_or(DecodeError::MissingField("transaction.transaction"))?;
    let meta = info
        .meta
        .as_ref()
        .ok_or(DecodeError::MissingField("transaction.meta"))?;
    let message = tx
        .message
        .as_ref()
        .ok_or(DecodeError::MissingField("transaction.message"))?;

    let signature = if info.signature.is_empty() {
        let first = tx
            .signatures
            .first()
            .ok_or(DecodeError::MissingField("signature"))?;
        Signature::from_slice(first, "signature")?
    } else {
        Signature::from_slice(&info.signature, "signature")?
    };

    let total = message.account_keys.len()
        + meta.loaded_writable_addresses.len()
        + meta.loaded_readonly_addresses.len();
    if total > 256 {
        return Err(DecodeError::Inconsistent(format!("{total} account keys")));
    }
    let mut account_keys = Vec::with_capacity(total);
    for k in &message.account_keys {
        account_keys.push(Pubkey::from_slice(k, "account_keys")?);
    }
    for k in &meta.loaded_writable_addresses {
        account_keys.push(Pubkey::from_slice(k, "loaded_writable_addresses")?);
    }
    for k in &meta.loaded_readonly_addresses {
        account_keys.push(Pubkey::from_slice(k, "loaded_readonly_addresses")?);
    }
    let n = account_keys.len();

    let mut instructions = Instructions::default();
    let mut accounts: Vec<u8> = Vec::with_capacity(32);
    for (i, ix) in message.instructions.iter().enumerate() {
        let program = account_index("program_id_index", ix.program_id_index as u64, n)?;
        checked_accounts(&ix.accounts, n, &mut accounts)?;
        instructions.push(program, 1, &accounts);
        for group in meta
            .inner_instructions
            .iter()
            .filter(|g| g.index as usize == i)
        {
            for inner in &group.instructions {
                let program = account_index("program_id_index", inner.program_id_index as u64, n)?;
                checked_accounts(&inner.accounts, n, &mut accounts)?;
                let depth = inner.stack_height.unwrap_or(2).clamp(2, 255) as u8;
                instructions.push(program, depth, &accounts);
            }
        }
    }

    let num_signers = message
        .header
        .as_ref()
        .map_or(1, |h| h.num_required_signatures as usize)
        .min(n);
    let out = Transaction {
        signature,
        slot: update.slot,
        block_time: None,
        index: Some(info.index),
        is_vote: info.is_vote,
        failed: meta.err.is_some(),
        fee: meta.fee,
        num_signers: num_signers as u8,
        num_static_keys: message.account_keys.len() as u8,
        num_loaded_writable: meta.loaded_writable_addresses.len() as u8,
        account_keys,
        pre_lamports: meta.pre_balances.clone(),
        post_lamports: meta.post_balances.clone(),
        pre_token_balances: token_balances(&meta.pre_token_balances, n)?,
        post_token_balances: token_balances(&meta.post_token_balances, n)?,
        instructions,
    };
    out.validate()?;
    Ok(out)
}

fn checked_accounts(raw: &[u8], n: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    for &a in raw {
        out.push(account_index("instruction account", a as u64, n)?);
    }
    Ok(())
}

fn token_balances(list: &[ProtoTokenBalance], n: usize) -> Result<Vec<TokenBalance>, DecodeError> {
    list.iter()
        .map(|b| {
            let ui = b
                .ui_token_amount
                .as_ref()
                .ok_or(DecodeError::MissingField("ui_token_amount"))?;
            let amount = ui
                .amount
                .parse::<u64>()
                .map_err(|_| DecodeError::InvalidAmount {
                    field: "ui_token_amount.amount",
                    value: ui.amount.chars().take(60).collect(),
                })?;
            let decimals = u8::try_from(ui.decimals).map_err(|_| DecodeError::InvalidAmount {
                field: "ui_token_amount.decimals",
                value: ui.decimals.to_string(),
            })?;
            Ok(TokenBalance {
                account_index: account_index(
                    "token balance account_index",
                    b.account_index as u64,
                    n,
                )?,
                mint: Pubkey::parse(&b.mint, "mint")?,
                owner: Pubkey::parse(&b.owner, "owner")?,
                amount,
                decimals,
                token_program: if b.program_id.is_empty() {
                    None
                } else {
                    Some(Pubkey::parse(&b.program_id, "program_id")?)
                },
            })
        })
        .collect()
}

/// Builds the Yellowstone update that [`from_update`] turns back into `tx` (block time aside).
pub fn to_update(tx: &Transaction) -> SubscribeUpdateTransaction {
    let statics = tx.num_static_keys as usize;
    let writable_end = statics + tx.num_loaded_writable as usize;
    let bytes = |keys: &[Pubkey]| keys.iter().map(|k| k.0.to_vec()).collect::<Vec<_>>();

    let mut top: Vec<CompiledInstruction> = Vec::new();
    let mut inner: Vec<InnerInstructions> = Vec::new();
    for (program, depth, accounts) in tx.instructions.iter() {
        if depth <= 1 || top.is_empty() {
            top.push(CompiledInstruction {
                program_id_index: program as u32,
                accounts: accounts.to_vec(),
                data: Vec::new(),
            });
            continue;
        }
        let index = (top.len() - 1) as u32;
        if inner.last().is_none_or(|g| g.index != index) {
            inner.push(InnerInstructions {
                index,
                instructions: Vec::new(),
            });
        }
        if let Some(group) = inner.last_mut() {
            group.instructions.push(InnerInstruction {
                program_id_index: program as u32,
                accounts: accounts.to_vec(),
                data: Vec::new(),
                stack_height: Some(depth as u32),
            });
        }
    }

    let balances = |list: &[TokenBalance]| {
        list.iter()
            .map(|b| ProtoTokenBalance {
                account_index: b.account_index as u32,
                mint: b.mint.to_string(),
                ui_token_amount: Some(UiTokenAmount {
                    ui_amount: b.amount as f64 / 10f64.powi(b.decimals as i32),
                    decimals: b.decimals as u32,
                    amount: b.amount.to_string(),
                    ui_amount_string: String::new(),
                }),
                owner: b.owner.to_string(),
                program_id: b.token_program.map(|p| p.to_string()).unwrap_or_default(),
            })
            .collect::<Vec<_>>()
    };

    SubscribeUpdateTransaction {
        slot: tx.slot,
        transaction: Some(SubscribeUpdateTransactionInfo {
            signature: tx.signature.0.to_vec(),
            is_vote: tx.is_vote,
            transaction: Some(ProtoTransaction {
                signatures: vec![tx.signature.0.to_vec()],
                message: Some(Message {
                    header: Some(MessageHeader {
                        num_required_signatures: tx.num_signers as u32,
                        num_readonly_signed_accounts: 0,
                        num_readonly_unsigned_accounts: 0,
                    }),
                    account_keys: bytes(&tx.account_keys[..statics]),
                    instructions: top,
                    versioned: tx.account_keys.len() > statics,
                    ..Default::default()
                }),
            }),
            meta: Some(TransactionStatusMeta {
                err: tx.failed.then(|| TransactionError { err: vec![1] }),
                fee: tx.fee,
                pre_balances: tx.pre_lamports.clone(),
                post_balances: tx.post_lamports.clone(),
                inner_instructions: inner,
                pre_token_balances: balances(&tx.pre_token_balances),
                post_token_balances: balances(&tx.post_token_balances),
                loaded_writable_addresses: bytes(&tx.account_keys[statics..writable_end]),
                loaded_readonly_addresses: bytes(&tx.account_keys[writable_end..]),
                ..Default::default()
            }),
            index: tx.index.unwrap_or(0),
        }),
        bank_id: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample_transaction;

    #[test]
    fn update_round_trips() {
        let mut tx = sample_transaction();
        tx.block_time = None;
        tx.index = Some(3);
        assert_eq!(from_update(&to_update(&tx)).unwrap(), tx);
    }

    #[test]
    fn loaded_addresses_follow_static_keys() {
        let mut tx = sample_transaction();
        tx.block_time = None;
        tx.index = Some(0);
        // Pretend the last two keys came from a lookup table (one writable, one readonly).
        tx.num_static_keys = (tx.account_keys.len() - 2) as u8;
        tx.num_loaded_writable = 1;
        let update = to_update(&tx);
        let meta = update.transaction.as_ref().unwrap().meta.as_ref().unwrap();
        assert_eq!(meta.loaded_writable_addresses.len(), 1);
        assert_eq!(meta.loaded_readonly_addresses.len(), 1);
        assert_eq!(from_update(&update).unwrap(), tx);
    }

    #[test]
    fn bad_key_length_and_index_are_errors() {
        let tx = sample_transaction();
        let mut update = to_update(&tx);
        let info = update.transaction.as_mut().unwrap();
        info.meta.as_mut().unwrap().pre_token_balances[0].account_index = 99;
        assert!(matches!(
            from_update(&update),
            Err(DecodeError::IndexOutOfRange { .. })
        ));
        let mut update = to_update(&tx);
        let msg = update
            .transaction
            .as_mut()
            .unwrap()
            .transaction
            .as_mut()
            .unwrap();
        msg.message.as_mut().unwrap().account_keys[0] = vec![1, 2, 3];
        assert!(matches!(
            from_update(&update),
            Err(DecodeError::InvalidLength { .. })
        ));
    }

    #[test]
    fn negative_or_garbage_amount_is_an_error() {
        let tx = sample_transaction();
        let mut update = to_update(&tx);
        let meta = update.transaction.as_mut().unwrap().meta.as_mut().unwrap();
        meta.post_token_balances[0]
            .ui_token_amount
            .as_mut()
            .unwrap()
            .amount = "-5".into();
        assert!(matches!(
            from_update(&update),
            Err(DecodeError::InvalidAmount { .. })
        ));
    }
}
