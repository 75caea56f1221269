//! Decoding of RPC `getTransaction` JSON (`json`, `jsonParsed` and `base64` encodings).
//!
//! Accepts the shapes found in the wild: a bare result object, a JSON-RPC envelope
//! (`{"result": …}`), a one-element array, JSON lines, and numbers written as strings. The
//! `jsonParsed` key list already includes lookup-table addresses; the `json` one lists them
//! separately in `meta.loadedAddresses`, and they are appended (writable, then readonly). With
//! `base64` the message is Solana's wire bytes ([`solana_wire`]) and `meta` is as with `json`.

use serde_json::Value;

use super::error::DecodeError;
use super::pubkey::{Pubkey, Signature};
use super::solana_wire;
use super::transaction::{account_index, Instructions, TokenBalance, Transaction};

/// Decodes every transaction in a text that holds one JSON document, an array of them, or JSON lines.
pub fn transactions_from_json_text(text: &str) -> Vec<Result<Transaction, DecodeError>> {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    for value in stream {
        match value {
            Ok(Value::Array(items)) => out.extend(items.iter().map(transaction_from_json)),
            Ok(value) => out.push(transaction_from_json(&value)),
            Err(e) => {
                out.push(Err(DecodeError::Json(e.to_string())));
                break;
            }
        }
    }
    out
}

/// Decodes one `getTransaction` result, bare or inside a JSON-RPC envelope.
pub fn transaction_from_json(value: &Value) -> Result<Transaction, DecodeError> {
    let root = match value.get("result") {
        Some(result) if result.is_object() => result,
        Some(Value::Null) => return Err(DecodeError::MissingField("result")),
        _ => value,
    };
    let tx = field(root, "transaction", "transaction")?;
    let meta = field(root, "meta", "meta")?;
    let message = match tx {
        Value::Array(_) => encoded_message(tx, meta)?,
        _ => json_message(tx, meta)?,
    };
    let Message {
        signature,
        account_keys,
        num_signers,
        num_static,
        num_loaded_writable,
        top_level,
    } = message;
    let n = account_keys.len();

    let pre_lamports = u64_list(meta, "preBalances", "meta.preBalances")?;
    let post_lamports = u64_list(meta, "postBalances", "meta.postBalances")?;
    let pre_token_balances = token_balances(meta, "preTokenBalances", n)?;
    let post_token_balances = token_balances(meta, "postTokenBalances", n)?;

    let instructions = instructions(&top_level, meta, &account_keys)?;

    let failed = match meta.get("err") {
        None | Some(Value::Null) => false,
        Some(_) => true,
    };
    let block_time = match root.get("blockTime") {
        None | Some(Value::Null) => None,
        Some(v) => Some(as_i64(v, "blockTime")?),
    };
    let slot = match root.get("slot") {
        None | Some(Value::Null) => 0,
        Some(v) => as_u64(v, "slot")?,
    };
    let fee = as_u64(field(meta, "fee", "meta.fee")?, "meta.fee")?;

    let tx = Transaction {
        signature,
        slot,
        block_time,
        index: None,
        is_vote: false,
        failed,
        fee,
        num_signers: num_signers.min(n) as u8,
        num_static_keys: num_static as u8,
        num_loaded_writable: num_loaded_writable as u8,
        account_keys,
        pre_lamports,
        post_lamports,
        pre_token_balances,
        post_token_balances,
        instructions,
    };
    tx.validate()?;
    Ok(tx)
}

/// What the message part gives, whichever encoding carried it: the full key list (static, then
/// `meta.loadedAddresses` writable, then readonly) and the top-level instructions as
/// `(program index, account indexes)` into it.
struct Message {
    signature: Signature,
    account_keys: Vec<Pubkey>,
    num_signers: usize,
    num_static: usize,
    num_loaded_writable: usize,
    top_level: Vec<(u8, Vec<u8>)>,
}

/// `encoding: json` or `jsonParsed`: the message as a JSON object.
fn json_message(tx: &Value, meta: &Value) -> Result<Message, DecodeError> {
    let message = field(tx, "message", "transaction.message")?;
    let signature = match tx.get("signatures").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => Signature::parse(
            as_str(&list[0], "transaction.signatures")?,
            "transaction.signatures",
        )?,
        _ => return Err(DecodeError::MissingField("transaction.signatures")),
    };

    let raw_keys = field(message, "accountKeys", "transaction.message.accountKeys")?
        .as_array()
        .ok_or(DecodeError::WrongType {
            field: "transaction.message.accountKeys",
            expected: "an array",
        })?;
    let parsed_keys = raw_keys.first().is_some_and(Value::is_object);

    let mut account_keys = Vec::with_capacity(raw_keys.len() + 8);
    let mut num_signers = 0usize;
    let mut num_static = 0usize;
    let mut num_loaded_writable = 0usize;
    if parsed_keys {
        // jsonParsed: objects with `pubkey`, `signer`, `source` ("transaction" | "lookupTable").
        for key in raw_keys {
            let pubkey = Pubkey::parse(
                as_str(
                    field(key, "pubkey", "accountKeys.pubkey")?,
                    "accountKeys.pubkey",
                )?,
                "accountKeys.pubkey",
            )?;
            if key.get("signer").and_then(Value::as_bool).unwrap_or(false) {
                num_signers += 1;
            }
            match key.get("source").and_then(Value::as_str) {
                Some("lookupTable") => {
                    if key
                        .get("writable")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                    {
                        num_loaded_writable += 1;
                    }
                }
                _ => num_static += 1,
            }
            account_keys.push(pubkey);
        }
    } else {
        for key in raw_keys {
            account_keys.push(Pubkey::parse(as_str(key, "accountKeys")?, "accountKeys")?);
        }
        num_static = account_keys.len();
        num_signers = message
            .get("header")
            .and_then(|h| h.get("numRequiredSignatures"))
            .map(|v| as_u64(v, "header.numRequiredSignatures"))
            .transpose()?
            .unwrap_or(1) as usize;
        num_loaded_writable = append_loaded(meta, &mut account_keys)?.0;
    }
    check_key_count(account_keys.len())?;

    let top = message
        .get("instructions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut top_level = Vec::with_capacity(top.len());
    let mut accounts = Vec::with_capacity(32);
    for ix in top {
        let program = program_index(ix, &account_keys)?;
        instruction_accounts(ix, &account_keys, &mut accounts)?;
        top_level.push((program, accounts.clone()));
    }
    Ok(Message {
        signature,
        account_keys,
        num_signers,
        num_static,
        num_loaded_writable,
        top_level,
    })
}

/// `encoding: base64`: `"transaction": ["<wire bytes>", "base64"]`. The bytes hold the static keys
/// and the lookups; the addresses the lookups loaded come from `meta.loadedAddresses`, and must be
/// as many as the lookups name.
fn encoded_message(tx: &Value, meta: &Value) -> Result<Message, DecodeError> {
    let (text, encoding) = match tx.as_array().map(Vec::as_slice) {
        Some([Value::String(text), Value::String(encoding)]) => (text, encoding),
        _ => {
            return Err(DecodeError::WrongType {
                field: "transaction",
                expected: "an object or [\"<data>\", \"base64\"]",
            })
        }
    };
    if encoding != "base64" {
        return Err(DecodeError::Inconsistent(format!(
            "transaction encoding {:?} is not supported (use json, jsonParsed or base64)",
            encoding.chars().take(20).collect::<String>()
        )));
    }
    let wire = solana_wire::transaction_from_base64(text)?;
    let m = wire.message;
    let (want_writable, want_readonly) = m.loaded_counts();
    let mut account_keys = m.account_keys;
    let num_static = account_keys.len();
    let (writable, readonly) = append_loaded(meta, &mut account_keys)?;
    if (writable, readonly) != (want_writable, want_readonly) {
        return Err(DecodeError::Inconsistent(format!(
            "the message's lookups load {want_writable} writable and {want_readonly} readonly \
             addresses but meta.loadedAddresses lists {writable} and {readonly}"
        )));
    }
    check_key_count(account_keys.len())?;
    let n = account_keys.len();
    let mut top_level = Vec::with_capacity(m.instructions.len());
    for ix in m.instructions {
        let program = account_index("programIdIndex", ix.program_id_index as u64, n)?;
        for &a in &ix.accounts {
            account_index("instruction.accounts", a as u64, n)?;
        }
        top_level.push((program, ix.accounts));
    }
    Ok(Message {
        signature: wire.signatures[0],
        account_keys,
        num_signers: m.num_required_signatures as usize,
        num_static,
        num_loaded_writable: writable,
        top_level,
    })
}

/// Appends `meta.loadedAddresses` (writable, then readonly) and returns how many of each.
fn append_loaded(meta: &Value, keys: &mut Vec<Pubkey>) -> Result<(usize, usize), DecodeError> {
    let mut counts = (0, 0);
    let Some(loaded) = meta.get("loadedAddresses").filter(|v| v.is_object()) else {
        return Ok(counts);
    };
    for (name, field_name) in [
        ("writable", "meta.loadedAddresses.writable"),
        ("readonly", "meta.loadedAddresses.readonly"),
    ] {
        if let Some(list) = loaded.get(name).and_then(Value::as_array) {
            for key in list {
                keys.push(Pubkey::parse(as_str(key, field_name)?, field_name)?);
            }
            if name == "writable" {
                counts.0 = list.len();
            } else {
                counts.1 = list.len();
            }
        }
    }
    Ok(counts)
}

fn check_key_count(n: usize) -> Result<(), DecodeError> {
    if n > 256 {
        return Err(DecodeError::Inconsistent(format!("{n} account keys")));
    }
    Ok(())
}

fn instructions(
    top_level: &[(u8, Vec<u8>)],
    meta: &Value,
    keys: &[Pubkey],
) -> Result<Instructions, DecodeError> {
    let mut out = Instructions::default();
    let inner_groups = meta
        .get("innerInstructions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut accounts = Vec::with_capacity(32);
    for (i, (program, top_accounts)) in top_level.iter().enumerate() {
        out.push(*program, 1, top_accounts);
        for group in inner_groups {
            let index = group
                .get("index")
                .map(|v| as_u64(v, "innerInstructions.index"));
            if index.transpose()? != Some(i as u64) {
                continue;
            }
            let inner = group
                .get("instructions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for ix in inner {
                let program = program_index(ix, keys)?;
                let depth = match ix.get("stackHeight") {
                    None | Some(Value::Null) => 2,
                    Some(v) => as_u64(v, "stackHeight")?.clamp(2, 255) as u8,
                };
                instruction_accounts(ix, keys, &mut accounts)?;
                out.push(program, depth, &accounts);
            }
        }
    }
    Ok(out)
}

fn program_index(ix: &Value, keys: &[Pubkey]) -> Result<u8, DecodeError> {
    if let Some(v) = ix.get("programIdIndex") {
        return account_index("programIdIndex", as_u64(v, "programIdIndex")?, keys.len());
    }
    let id = Pubkey::parse(
        as_str(
            field(ix, "programId", "instruction.programId")?,
            "programId",
        )?,
        "programId",
    )?;
    key_position(keys, &id, "programId")
}

/// Fills `out` with the instruction's account indexes. Parsed instructions (token, system) carry
/// no account list; they are recorded with none, which is all venue attribution needs.
fn instruction_accounts(ix: &Value, keys: &[Pubkey], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    let Some(list) = ix.get("accounts").and_then(Value::as_array) else {
        return Ok(());
    };
    for a in list {
        let index = match a {
            // jsonParsed lists keys as base58 (32+ chars); `json` lists indexes.
            Value::String(s) if s.len() >= 32 => key_position(
                keys,
                &Pubkey::parse(s, "instruction.accounts")?,
                "instruction.accounts",
            )?,
            other => account_index(
                "instruction.accounts",
                as_u64(other, "instruction.accounts")?,
                keys.len(),
            )?,
        };
        out.push(index);
    }
    Ok(())
}

fn key_position(keys: &[Pubkey], key: &Pubkey, field: &'static str) -> Result<u8, DecodeError> {
    keys.iter()
        .position(|k| k == key)
        .map(|p| p as u8)
        .ok_or_else(|| DecodeError::InvalidKey {
            field,
            value: format!("{key} is not among the account keys"),
        })
}

fn token_balances(
    meta: &Value,
    name: &'static str,
    n: usize,
) -> Result<Vec<TokenBalance>, DecodeError> {
    let Some(list) = meta.get(name).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(list.len());
    for b in list {
        let index = as_u64(
            field(b, "accountIndex", "tokenBalances.accountIndex")?,
            "accountIndex",
        )?;
        let account_index = account_index("tokenBalances.accountIndex", index, n)?;
        let mint = Pubkey::parse(
            as_str(field(b, "mint", "tokenBalances.mint")?, "mint")?,
            "mint",
        )?;
        let owner = Pubkey::parse(
            as_str(field(b, "owner", "tokenBalances.owner")?, "owner")?,
            "owner",
        )?;
        let ui = field(b, "uiTokenAmount", "tokenBalances.uiTokenAmount")?;
        let amount = as_u64(
            field(ui, "amount", "uiTokenAmount.amount")?,
            "uiTokenAmount.amount",
        )?;
        let decimals = as_u64(
            field(ui, "decimals", "uiTokenAmount.decimals")?,
            "uiTokenAmount.decimals",
        )?;
        let decimals = u8::try_from(decimals).map_err(|_| DecodeError::InvalidAmount {
            field: "uiTokenAmount.decimals",
            value: decimals.to_string(),
        })?;
        let token_program = match b.get("programId").and_then(Value::as_str) {
            Some(s) => Some(Pubkey::parse(s, "tokenBalances.programId")?),
            None => None,
        };
        out.push(TokenBalance {
            account_index,
            mint,
            owner,
            amount,
            decimals,
            token_program,
        });
    }
    Ok(out)
}

fn u64_list(meta: &Value, name: &str, field_name: &'static str) -> Result<Vec<u64>, DecodeError> {
    field(meta, name, field_name)?
        .as_array()
        .ok_or(DecodeError::WrongType {
            field: field_name,
            expected: "an array",
        })?
        .iter()
        .map(|v| as_u64(v, field_name))
        .collect()
}

fn field<'a>(v: &'a Value, name: &str, path: &'static str) -> Result<&'a Value, DecodeError> {
    match v.get(name) {
        None | Some(Value::Null) => Err(DecodeError::MissingField(path)),
        Some(x) => Ok(x),
    }
}

fn as_str<'a>(v: &'a Value, field: &'static str) -> Result<&'a str, DecodeError> {
    v.as_str().ok_or(DecodeError::WrongType {
        field,
        expected: "a string",
    })
}

/// Accepts a JSON number or a decimal string (some exporters quote 64-bit integers).
fn as_u64(v: &Value, field: &'static str) -> Result<u64, DecodeError> {
    let parsed = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| DecodeError::InvalidAmount {
        field,
        value: v.to_string().chars().take(60).collect(),
    })
}

fn as_i64(v: &Value, field: &'static str) -> Result<i64, DecodeError> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| DecodeError::InvalidAmount {
        field,
        value: v.to_string().chars().take(60).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "slot": 5,
            "blockTime": 1700000000,
            "meta": {
                "err": null, "fee": 5000,
                "preBalances": [1000, 0], "postBalances": [995, 0],
                "preTokenBalances": [], "postTokenBalances": [
                    {"accountIndex": 1, "mint": "So11111111111111111111111111111111111111112",
                     "owner": "11111111111111111111111111111111",
                     "uiTokenAmount": {"amount": "7", "decimals": 9}}
                ],
                "innerInstructions": [], "loadedAddresses": {"writable": [], "readonly": []}
            },
            "transaction": {
                "signatures": ["5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"],
                "message": {
                    "header": {"numRequiredSignatures": 1},
                    "accountKeys": ["So11111111111111111111111111111111111111112",
                                    "11111111111111111111111111111111"],
                    "instructions": [{"programIdIndex": 1, "accounts": [0, 1], "data": ""}]
                }
            }
        })
    }

    #[test]
    fn decodes_a_minimal_transaction() {
        let tx = transaction_from_json(&minimal()).unwrap();
        assert_eq!(tx.slot, 5);
        assert_eq!(tx.block_time, Some(1_700_000_000));
        assert_eq!(tx.post_token_balances[0].amount, 7);
        assert_eq!(tx.instructions.len(), 1);
    }

    #[test]
    fn envelope_and_array_are_unwrapped() {
        let env = json!({"jsonrpc": "2.0", "id": 1, "result": minimal()});
        assert!(transaction_from_json(&env).is_ok());
        let text = serde_json::to_string(&json!([minimal()])).unwrap();
        let all = transactions_from_json_text(&text);
        assert_eq!(all.len(), 1);
        assert!(all[0].is_ok());
    }

    #[test]
    fn json_lines_give_one_transaction_each() {
        let line = serde_json::to_string(&minimal()).unwrap();
        let text = format!("{line}\n{line}\n");
        let all = transactions_from_json_text(&text);
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn truncated_json_is_an_error_not_a_panic() {
        let text = serde_json::to_string(&minimal()).unwrap();
        for cut in [1, 10, text.len() / 2, text.len() - 1] {
            let out = transactions_from_json_text(&text[..cut]);
            assert!(out.iter().any(|r| r.is_err()), "cut at {cut}");
        }
    }

    #[test]
    fn index_out_of_range_is_an_error() {
        let mut v = minimal();
        v["meta"]["postTokenBalances"][0]["accountIndex"] = json!(9);
        let err = transaction_from_json(&v).unwrap_err();
        assert!(matches!(err, DecodeError::IndexOutOfRange { .. }), "{err}");
    }

    #[test]
    fn negative_amount_is_an_error() {
        let mut v = minimal();
        v["meta"]["postTokenBalances"][0]["uiTokenAmount"]["amount"] = json!("-7");
        let err = transaction_from_json(&v).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidAmount { .. }), "{err}");
        let mut v = minimal();
        v["meta"]["preBalances"][0] = json!(-1);
        assert!(transaction_from_json(&v).is_err());
    }

    #[test]
    fn balance_count_must_match_keys() {
        let mut v = minimal();
        v["meta"]["preBalances"] = json!([1]);
        assert!(matches!(
            transaction_from_json(&v),
            Err(DecodeError::Inconsistent(_))
        ));
    }

    #[test]
    fn missing_meta_names_the_field() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("meta");
        assert_eq!(
            transaction_from_json(&v).unwrap_err(),
            DecodeError::MissingField("meta")
        );
    }
    /// The wire form of `minimal()`'s message: legacy, or v0 with one lookup naming `loaded`
    /// (writable, readonly) addresses.
    fn minimal_wire(v0: Option<(u8, u8)>) -> String {
        use base64::Engine;
        let v = minimal();
        let sig =
            Signature::parse(v["transaction"]["signatures"][0].as_str().unwrap(), "sig").unwrap();
        let mut out = vec![1u8];
        out.extend(sig.0);
        if v0.is_some() {
            out.push(0x80);
        }
        out.extend([1, 0, 1, 2]);
        for k in v["transaction"]["message"]["accountKeys"]
            .as_array()
            .unwrap()
        {
            out.extend(Pubkey::parse(k.as_str().unwrap(), "k").unwrap().0);
        }
        out.extend([3u8; 32]);
        out.extend([1, 1, 2, 0, 1, 0]);
        if let Some((w, r)) = v0 {
            out.push(1);
            out.extend([8u8; 32]);
            out.push(w);
            out.extend(0..w);
            out.push(r);
            out.extend(0..r);
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    fn minimal_base64(v0: Option<(u8, u8)>) -> Value {
        let mut v = minimal();
        v["transaction"] = json!([minimal_wire(v0), "base64"]);
        v
    }

    #[test]
    fn base64_form_decodes_like_the_json_form() {
        let from_json = transaction_from_json(&minimal()).unwrap();
        assert_eq!(
            transaction_from_json(&minimal_base64(None)).unwrap(),
            from_json
        );
        // v0 without lookups: same transaction.
        assert_eq!(
            transaction_from_json(&minimal_base64(Some((0, 0)))).unwrap(),
            from_json
        );
    }

    #[test]
    fn base64_v0_appends_loaded_addresses_from_meta() {
        let mut v = minimal_base64(Some((1, 1)));
        v["meta"]["loadedAddresses"] = json!({
            "writable": ["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"],
            "readonly": ["Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"]
        });
        v["meta"]["preBalances"] = json!([1000, 0, 0, 0]);
        v["meta"]["postBalances"] = json!([995, 0, 0, 0]);
        let tx = transaction_from_json(&v).unwrap();
        assert_eq!(tx.account_keys.len(), 4);
        assert_eq!((tx.num_static_keys, tx.num_loaded_writable), (2, 1));
        assert_eq!(
            tx.account_keys[3].to_base58(),
            "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
        );
    }

    #[test]
    fn base64_v0_lookups_must_match_loaded_addresses() {
        // The lookups name 1 writable + 1 readonly address but meta lists none.
        let err = transaction_from_json(&minimal_base64(Some((1, 1)))).unwrap_err();
        assert!(
            matches!(&err, DecodeError::Inconsistent(m) if m.contains("meta.loadedAddresses")),
            "{err}"
        );
    }

    #[test]
    fn base64_malformed_inputs_are_clear_errors() {
        let mut v = minimal();
        v["transaction"] = json!([minimal_wire(None), "base58"]);
        let err = transaction_from_json(&v).unwrap_err();
        assert!(
            err.to_string().contains("\"base58\" is not supported"),
            "{err}"
        );

        v["transaction"] = json!([minimal_wire(None)]);
        assert!(matches!(
            transaction_from_json(&v),
            Err(DecodeError::WrongType {
                field: "transaction",
                ..
            })
        ));

        v["transaction"] = json!(["%%%", "base64"]);
        assert!(matches!(
            transaction_from_json(&v),
            Err(DecodeError::Base64(_))
        ));

        let text = minimal_wire(None);
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap();
        for cut in 0..bytes.len() {
            let short = base64::engine::general_purpose::STANDARD.encode(&bytes[..cut]);
            v["transaction"] = json!([short, "base64"]);
            let err = transaction_from_json(&v).unwrap_err();
            assert!(
                matches!(err, DecodeError::BinaryTransaction { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn base64_instruction_index_out_of_range_is_an_error() {
        use base64::Engine;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(minimal_wire(None))
            .unwrap();
        let program_at = bytes.len() - 5; // program index of the only instruction
        bytes[program_at] = 9;
        let mut v = minimal();
        v["transaction"] = json!([
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            "base64"
        ]);
        let err = transaction_from_json(&v).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::IndexOutOfRange {
                    field: "programIdIndex",
                    ..
                }
            ),
            "{err}"
        );
    }
}
