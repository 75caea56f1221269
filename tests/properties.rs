//! Property tests: the wire format round-trips, and no input makes decoding or inference panic.

use proptest::prelude::*;

use pocketwatcher::domain::curve::is_on_curve;
use pocketwatcher::domain::rpc_json::transactions_from_json_text;
use pocketwatcher::domain::test_support::{pda, wallet};
use pocketwatcher::domain::{
    infer_swaps, wire, InferenceConfig, Instructions, Pubkey, Signature, TokenBalance, Transaction,
    Verdict, WSOL_MINT,
};

/// A small pool of owners and mints so generated balances collide the way real ones do.
fn owners() -> Vec<Pubkey> {
    vec![
        wallet(1),
        wallet(2),
        wallet(3),
        pda(4),
        pda(5),
        Pubkey([9; 32]),
    ]
}

fn mints() -> Vec<Pubkey> {
    vec![
        WSOL_MINT,
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
            .parse()
            .unwrap(),
        Pubkey([7; 32]),
        Pubkey([8; 32]),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..1_000, 0u64..=u64::MAX, Just(u64::MAX), Just(0)]
}

prop_compose! {
    fn balance(n: usize)(
        account in 0..n, owner in 0usize..6, mint in 0usize..4, amount in amount(), decimals in 0u8..19
    ) -> TokenBalance {
        TokenBalance {
            account_index: account as u8,
            mint: mints()[mint],
            owner: owners()[owner],
            amount,
            decimals,
            token_program: None,
        }
    }
}

prop_compose! {
    fn instructions(n: usize)(
        ix in prop::collection::vec((0..n, 1u8..5, prop::collection::vec(0..n, 0..6)), 0..8)
    ) -> Instructions {
        let mut out = Instructions::default();
        for (program, depth, accounts) in ix {
            let accounts: Vec<u8> = accounts.into_iter().map(|a| a as u8).collect();
            out.push(program as u8, depth, &accounts);
        }
        out
    }
}

prop_compose! {
    fn transaction()(n in 1usize..24)(
        extra_keys in prop::collection::vec(any::<[u8; 32]>(), n),
        use_owner_keys in any::<bool>(),
        pre in prop::collection::vec(amount(), n),
        post in prop::collection::vec(amount(), n),
        pre_tokens in prop::collection::vec(balance(n), 0..8),
        post_tokens in prop::collection::vec(balance(n), 0..8),
        instructions in instructions(n),
        fee in amount(),
        failed in any::<bool>(),
        signers in 0u8..4,
        slot in any::<u64>(),
        block_time in any::<Option<i64>>(),
        sig in any::<[u8; 32]>(),
    ) -> Transaction {
        let mut account_keys: Vec<Pubkey> = extra_keys.into_iter().map(Pubkey).collect();
        if use_owner_keys {
            for (slot, owner) in account_keys.iter_mut().zip(owners()) {
                *slot = owner;
            }
        }
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&sig);
        let num_static_keys = account_keys.len() as u8;
        Transaction {
            signature: Signature(signature),
            slot,
            block_time,
            index: None,
            is_vote: false,
            failed,
            fee,
            num_signers: signers,
            num_static_keys,
            num_loaded_writable: 0,
            account_keys,
            pre_lamports: pre,
            post_lamports: post,
            pre_token_balances: pre_tokens,
            post_token_balances: post_tokens,
            instructions,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wire_format_round_trips(tx in transaction()) {
        let payload = wire::encode(&tx);
        prop_assert_eq!(wire::decode(&payload).unwrap(), tx);
    }

    #[test]
    fn inference_never_panics_and_never_reports_a_pool(tx in transaction()) {
        let config = InferenceConfig::default();
        if let Ok(Verdict::Swaps(swaps)) = infer_swaps(&tx, &config) {
            for s in swaps {
                prop_assert!(is_on_curve(&s.wallet), "pool reported as trader: {}", s.wallet);
                prop_assert!(s.amount > 0 && s.quote_amount > 0);
                prop_assert_ne!(s.mint, s.quote_mint);
            }
        }
    }

    #[test]
    fn corrupted_payloads_are_errors_not_panics(
        tx in transaction(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut payload = wire::encode(&tx);
        for (at, byte) in flips {
            let i = at.index(payload.len());
            payload[i] = byte;
        }
        if let Ok(decoded) = wire::decode(&payload) {
            // Whatever decodes is internally consistent, so inference must not panic either.
            let _ = infer_swaps(&decoded, &InferenceConfig::default());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = wire::decode(&bytes);
    }

    #[test]
    fn truncated_fixture_json_is_an_error_not_a_panic(cut in 0usize..10_000) {
        let text = include_str!("fixtures/mainnet/pumpfun_buy_0.json");
        let cut = cut.min(text.len().saturating_sub(1));
        let results = transactions_from_json_text(&text[..cut]);
        prop_assert!(results.iter().any(|r| r.is_err()) || results.is_empty());
    }
}
