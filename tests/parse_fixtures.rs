//! `pocketwatcher parse` against real mainnet transactions (tests/fixtures/mainnet, see MANIFEST.tsv).
//!
//! The expectations below were worked out from each transaction's balances, independently of the
//! parser's source: pre/post lamports and pre/post token balances per account, per-owner sums, the
//! fee added back for the fee payer, token-account lamports (ATA rent, wrapped SOL) moved with their
//! owner, WSOL counted as SOL, pools recognised as off-curve (PDA) owners, and the venue found as
//! the first AMM instruction (execution order, inner instructions included) that touches the pool's
//! token account of the traded mint. Every number was then re-checked by hand against where the
//! lamports and tokens actually went (the comment above each test says it in human terms).

#![allow(non_snake_case)]

use serde_json::Value;
use std::process::Command;

const WSOL: &str = "So11111111111111111111111111111111111111112";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

macro_rules! fixture {
    ($file:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mainnet/",
            $file
        )
    };
}

fn fixture_path(file: &str) -> String {
    format!(
        "{}/tests/fixtures/mainnet/{}",
        env!("CARGO_MANIFEST_DIR"),
        file
    )
}

/// One expected output line of `pocketwatcher parse`.
#[derive(Debug, Clone)]
struct Expected {
    wallet: &'static str,
    side: &'static str,
    mint: &'static str,
    amount: &'static str,
    decimals: u64,
    quote_mint: &'static str,
    quote_amount: &'static str,
    sol_value_lamports: Option<u64>,
    venue: &'static str,
}

/// A SOL-quoted swap: quote_mint is WSOL, quote_amount and sol_value_lamports are the lamports.
fn sol_swap(
    wallet: &'static str,
    side: &'static str,
    mint: &'static str,
    amount: &'static str,
    decimals: u64,
    lamports: &'static str,
    venue: &'static str,
) -> Expected {
    Expected {
        wallet,
        side,
        mint,
        amount,
        decimals,
        quote_mint: WSOL,
        quote_amount: lamports,
        sol_value_lamports: Some(lamports.parse().unwrap()),
        venue,
    }
}

/// A swap quoted in something other than SOL (stablecoin, or the other token of a token->token).
#[allow(clippy::too_many_arguments)]
fn quoted_swap(
    wallet: &'static str,
    side: &'static str,
    mint: &'static str,
    amount: &'static str,
    decimals: u64,
    quote_mint: &'static str,
    quote_amount: &'static str,
    sol_value_lamports: Option<u64>,
    venue: &'static str,
) -> Expected {
    Expected {
        wallet,
        side,
        mint,
        amount,
        decimals,
        quote_mint,
        quote_amount,
        sol_value_lamports,
        venue,
    }
}

struct Run {
    stdout: String,
    stderr: String,
    swaps: Vec<Value>,
    /// `--explain` lines: JSON objects on stderr that carry a `reason`.
    explains: Vec<Value>,
}

fn run_parse(paths: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .arg("parse")
        .arg("--explain")
        .args(paths)
        .output()
        .expect("run pocketwatcher parse");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "pocketwatcher parse {paths:?} exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let swaps = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\nstderr:\n{stderr}"))
        })
        .collect();
    let explains = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("reason").is_some())
        .collect();
    Run {
        stdout,
        stderr,
        swaps,
        explains,
    }
}

fn expected_json(signature: &str, e: &Expected) -> Value {
    serde_json::json!({
        "signature": signature,
        "wallet": e.wallet,
        "fee_payer": fee_payer_of(signature),
        "side": e.side,
        "mint": e.mint,
        "amount": e.amount,
        "decimals": e.decimals,
        "quote_mint": e.quote_mint,
        "quote_amount": e.quote_amount,
        "sol_value_lamports": e.sol_value_lamports,
        "venue": e.venue,
    })
}

/// The fee payer of each fixture transaction: `transaction.message.accountKeys[0]` (the first
/// signer; `pubkey` of the first entry in jsonParsed), read from the JSON files with a script,
/// not from the parser's output. In the bundle (pumpfun_buy_bundle.json, 4 signers) it is the
/// first buyer, so the other three buyers' lines carry a fee payer that is not their wallet.
const FEE_PAYERS: &[(&str, &str)] = &[
    // agave_arb_dlmm_cpmm.json
    (
        "39ZSBSYRmfzrRq1REHxesJQwUqA5YFgKaxgZ6Aah6CKCGVqRw4LVqrQgL44d3c2ZpvfLgdGZPkpEeafVBA97TeUE",
        "7zujqoQsFic14ncDYhBSVGvDnqc94rE49c1ZJCHvAtiW",
    ),
    // agave_okx_pumpswap.json
    (
        "2zNeSn8cJpTAW51NR8ZUHEXc5wVwerumVEk4iJFyAYdTHMjy49wumkZvWLkaeB8CD5YmjuJ3AjcbrBYBzAVKdEdD",
        "G2341KGbNxuSAfCfqNuPhfLQtPB94hPfgyVPC89Faor4",
    ),
    // agave_raydium_clmm_swapv2.json
    (
        "2cd7QQSByKy6Y6eddUmQzVwZp5hfrbyhz4osnsf9gmi2EhoScvBoCs5hgJ8WpADH7zhxtQqUcCwBok49KWJ4iJPw",
        "98QXkwe6DThTsTq7tukKF4g9Wc6WnRbZyTBZ1iBupY39",
    ),
    // agave_sol_transfer_memo.json
    (
        "2E9Ddokz6HZkn457gAhd7uaUYnWtgUuRQaGGKFb2xDtYY3Mxn81DaXPMKfLLmcWMUAEQwZG1WF6mfcXMKr2yBqZU",
        "F5YtngCQs6QCUdy2vqT6hMtFyNkLpkJSTQF2WZKV1y8e",
    ),
    // bot_AG22_raydium_v4.json
    (
        "2S9wtoK2dYtnbPzrT3nXjsxzuMPRGNKVvMt9iT8nQomdMnVK8aTbtbzaybZ7HBVrBVHbv4MQvGtFmZ2Kudjc9ucK",
        "GnRzpADfqYgUpAGo59BRMD2NnyKb85Gmhpy7wEfukQTA",
    ),
    // explorer_single_sol.json
    (
        "2kHbPUGzehenUXQbBfAVZGcuTrSUVDMEyU2aGcjFbuUAJkG28CyQPCGZF68u369MU7WHMvJboyioqyihvtR75nLn",
        "4Y5YjAPB4hMdCsiFy7BaBSscyiAvB7cuAbhxnBZ5xmgy",
    ),
    // explorer_single_usdc_nonce.json
    (
        "4LXpF3MCdp69iFmD27Sn812UNpqFPHM4qXH7Y12E964p9GHXvwMe1XEmyasogVT2N4XEctdQQLf1sHY6Gvsa5sFX",
        "3V9bd3EN5aNuhE4RiHGbZ1eZakJ1F9cDb8V4YLjCG8cg",
    ),
    // jupiter_3TZ15bGj.json
    (
        "3TZ15bGjHmoUST4eHATy68XiDkjg3P7ct1xmknpSisNv3D5awF4GqHXTjV53Qxue1WLo4YrC5e3UaL4PNx4fuEok",
        "GQpoa61ghhu51v6RnseVodSHkVki9XmtumBXjzBR8mQg",
    ),
    // jupiter_dca_end_and_close.json
    (
        "F47c3CizgWhK8RsTerwQLu7XbmoLzSxHC5F17A1qf5upQu1MUJJyzuq2GyLoEDy6xGKdLVinPNo7idXCiFBbor4",
        "JD25qVdtd65FoiXNmR89JjmoJdYk9sjYQeSTZAALFiMy",
    ),
    // jupiter_dca_open_v2.json
    (
        "63hssgYbn6KyXdt11dNJ979Ax7awjA9LpcVmv2BKVyYXcjSeagjUdwwuVPMD1Erpu7HLXgs7ZR9rLY1PeRskpiC1",
        "BxDjGoj9y33tmkKMK5dRHeUGkSGWEs4H51uHoQaBv9Wz",
    ),
    // jupiter_route_1.json
    (
        "2NPwsoX7NyfarDBhGDrewJKdNccVS1X9dX2uWCtTMRamXhzXk8PHnGL25yneF5rmR7LPSXH8gKciSgPAe9nP7VU4",
        "3huskHPRJXT5pL6RW57HaA8pXRFojx6gfNVGL9cJ2vtB",
    ),
    // jupiter_shared_route_1.json
    (
        "51SfoFAgv3nxEaajLFPCcQpnYaqoLdfZh3ZBWGdNB6c4VSRLcfNzxTnK77ggbsR5HjhDzakQsy35uFZg8KtFAkSj",
        "AVYG9UHetNHT1FEDPLv9pN2sCCH4CLsjvkzGjVXBfEiS",
    ),
    // meteora_dlmm_add_liquidity.json
    (
        "2LZBWdD5N9xbbqEMz6USpySo1zF697hnqEww2c9Q1snzAsJSY1eJcsAK7fYt547jmSfNgJhQGsmdiw1cCy4rsS6e",
        "7dQDhdizfNgN2qQzhhCJAvLpfw96v6nyXyfH7MKaT4Jz",
    ),
    // meteora_dlmm_remove_liquidity.json
    (
        "5TjXcSVPadYrApvVxZRhZLd8QQ2eX5Qb22c17rnKEobMYMaL44xW23Nko7dZWpf7hF8nCz7xoxjnD1yzzzmqTiJP",
        "7dQDhdizfNgN2qQzhhCJAvLpfw96v6nyXyfH7MKaT4Jz",
    ),
    // mm_create_associated_token_account.json
    (
        "4c5dH6XVzPUYtjE9RCQavfyuvPtsdf69N8YqbNSHBnBYze9itnyCKCbRg8jxReyATg2vc81SkMUuG4H5qJB5jHwz",
        "DAXnAudMEqiD1sS1rFn4ds3pdybRYJd9J58PqCncVVqS",
    ),
    // mm_failed_swap.json
    (
        "43VK3TtYjN21VG13f2EPvNJxmML38GB8QbTDVtFifzeDW3LQpmLtFdLjERAKwy3k4RUe4Hizmdrj4Nyjm5vYKDBx",
        "8A4AptCThfbuknsbteHgGKXczfJpfjuVA9SLTSGaaLGC",
    ),
    // mm_native_sol_transfer.json
    (
        "2qfNzGs15dt999rt1AUJ7D1oPQaukMPPmHR2u5ZmDo4cVtr1Pr2Dax4Jo7ryTpM8jxjtXLi5NHy4uyr68MVh5my6",
        "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP",
    ),
    // mm_native_sol_transfer_to_self.json
    (
        "4Ccb8PaSob6JjsyDnoFJfUpJZDJHTwcjnK7MxiyVeMtPSsBGKuaMHEVL1VsXTKWS4w26tAhbc3T78aNELjfN8Zwb",
        "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP",
    ),
    // mm_send_jup_transfer_checked_to_self.json
    (
        "4zvFGpqjihSXgHdw6ymHA8hVfyHURNPwASz4FS4c9wADCMSooojx8k42EUuhoDiGGM73SixUcNXafgnuM5dnKHfH",
        "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
    ),
    // mm_send_spl_and_create_ata.json
    (
        "4G24SgaZ3gU92HAB8xwSVg6WXS7NcGtUpHMnQ5RTwBw9bG5x8y6co5TzqqPXbExovY2NAuPjE9393TCHFZVhS8K9",
        "EMmTjuHsYCYX7vgPcQ2QVbNwYAwcvGoSMCEaHKc19DdE",
    ),
    // mm_send_usdc_transfer.json
    (
        "3Zj5XkvE1Uec1frjue6SK2ND2cqhKPvPkZ1ZFPwo2v9iL4NX4b4WWG1wPNEQdnJJU8sVx7MMHjSH1HxoR21vEjoV",
        "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP",
    ),
    // mm_send_usdc_transfer_to_self.json
    (
        "fFSAjDzu7CdhzVUUC7DMKf7xuuVn8cZ8njPnpjkTBMHo4Y43SZto2GDuy123yKDoTieihPfDHvBpysE7Eh9aPmH",
        "BLw3RweJmfbTapJRgnPRvd962YDjFYAnVGd1p5hmZ5tP",
    ),
    // mm_swap_a16z_to_usdt.json
    (
        "JiqYGkWcYu8GxPZsMdXDnA8tkZvHnHVmNuKr4JYBErm4rgQWssdHCkbe8MzwwNGndyvyNYaaY5vvMhUMPNiQX9u",
        "FQT9SSwEZ6UUQxsmTzgt5JzjrS4M5zm13M1QiYF8TEo6",
    ),
    // mm_swap_sol_to_obric.json
    (
        "28rWme56aMyaP8oX18unFeZg65iyDEhjLhvMBpxyFgKcn38P37ZRsssSZoHDCCr5xUfwfpqsVSSBoShLitHQLdrr",
        "3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c",
    ),
    // mm_swap_sol_to_sahur.json
    (
        "QfFVu1P4ji8EFTor4BcRYS84wipv2RJDhyzi3w3YQgv1D8mxz2RhF9cKxi4k6DZdtzDRPL6a346HboDUAsSUCfV",
        "FQT9SSwEZ6UUQxsmTzgt5JzjrS4M5zm13M1QiYF8TEo6",
    ),
    // mm_swap_sol_to_usdc.json
    (
        "2X4vKsDS56avumw6jh6Z5wj28GNvK5UkMfY1Ta2Mtouic886EGAraa1gsCJ5rkXyHCeL9p2wHRty3QHAhjf352Dp",
        "3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c",
    ),
    // mm_swap_usdc_to_cobie.json
    (
        "2pfnv4drhnitfzCFKxiRoJMzFQpG7wZ9mpRQVk7xm5TQ27g6FZH95HVF6KgwQBS872yGtyhuq57jXXS1y29ub11",
        "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
    ),
    // mm_swap_usdc_to_jup.json
    (
        "5LuTa5k9UvgM2eJknVUD9MjfcmcTP7nvFrCedU8d7ZLXCHbrrwqhXDQYTSfncm1wTSNFPZj3Y4cRkWC8CLG6Zcvh",
        "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
    ),
    // okx_commission_sol_swap2.json
    (
        "3DZuPoKRrxLrb1rqaccgdjuiWuxFFTARdfFocQ66WymR3Ss2vURTt7F4ZWwHpwTTrj9cbvV59xxwYRUngEiRAFNE",
        "AG27WXxPym3K73JFKtpRxwbMfnRnuPu5bn6juzcvq5rp",
    ),
    // okx_commission_spl_proxy_swap.json
    (
        "3p36wGRa191szhME5kRbg41cv9sXPPYvozkkKvPMErwoakXGZNDbjgCtV3e7uzU9dSDABtAgpm7heoepNhDmxJwN",
        "GKj54MVFppoYsxPU9jMn7CMniVRAuveFadyTtFhn1vXy",
    ),
    // okx_swap_0.json
    (
        "2bhr1FWqeL28zH1BJR1h3PxkVorh5GD3koPUgzKMKFtxUKK5k3R3UraU8YRoB5yxKDi5AZafp3Xf74AXTf9LDqWc",
        "E8oVrS4Pk74ouemj4t6grJ6w5Ah7SFLYa8VoRtvtWpnw",
    ),
    // photon_pumpfun_buy_0.json
    (
        "628Q5CDNX5mW8pmHUZ56WJ1PmPZXVYuxHontQaxdfNfXAF9bbDJrsmzxkvnzCFgx3w8vqcpoN8prCmmRGMAjjLA2",
        "DfMxre4cKmvogbLrPigxmibVTTQDuzjdXojWzjCXXhzj",
    ),
    // photon_pumpfun_buy_1.json
    (
        "5839B8x1gBRJHHbAbp7nNR76KsLcSFdjqr8CgjgpgLRSXydKvahbZRCjuEuqAGZK4ZWehA963Rd2moYDkSbUFvS3",
        "2PhpwXnnnQWQCdiQwkG7Xbq5D3x72vCEGJEQ1kKrMHzi",
    ),
    // pumpfun_buy_0.json
    (
        "4U8kypMuCUCkR6teu2Vn8ujaEJUR3dcUU5QExZxSMMeJ5fRTvYfWs5M5AB9yNjjHKAQ4w433QVyUivc3Pp8gvG1R",
        "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE",
    ),
    // pumpfun_buy_bundle.json
    (
        "JBnrBbgqh9jRUkUD68GdwBWoxWyz8SqEuM4eYqR6cyMMofFD43XQKjWBMHvRanPuzSU9UC8CFBQH1brAmvjxZpA",
        "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
    ),
    // pumpfun_create_0.json
    (
        "2s393PSYYxJJJfGiwHf18HZeC68nZs44ssbeB4aAkeYMyd1dyiiu3yVmGyRWZuArk5HzYDgVxYfhKLYd2CJ8kCBj",
        "6xo262KbDXepWbF3vPTrFXysr5vJwk3mozBXmXk3hmMx",
    ),
    // pumpfun_migrate.json
    (
        "5dnX6d6MqVqXvHd93swfGJUuPVmVaDBGWS5RDEmc96ThTcGHfYfPHnKBrWRCMXUsqLNCnEmMZwvyL6JFGSZzTS64",
        "4ceopHPgw9wATNvAMnDdekQoLtRxs4ELvq4FAdMA8UQq",
    ),
    // pumpfun_sell_0.json
    (
        "3bYXWjjNkVZpz3VWrp8Sh12usVCnzEqhYCnNNMQrMu7C8XHssi2WBTW37zukC5oyYTsAKYRtUQ1xhwFMYFMH19VJ",
        "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
    ),
    // pumpfun_trade.json
    (
        "trjspFNZZnmBMeYVMuWbkDt6BE7bCRMprhwoUBtNzKtTN3ygMXzZ1m4qL5SaWDTFu7ACiRAJdvZAjqMnPWxAnb4",
        "G9yQLYTDiKY3zDu8FBCrEhrAUAQAXV7UFV5wPUBbgNck",
    ),
    // pumpswap_add_liquidity.json
    (
        "63PQNtzDQdBDnf7FMC4jafDPhDVZHHhZwhJAbCT25efDgXt4H3fxPSQCAacV5Psaz5aKrRk35ubc97oQuozg9rwV",
        "xQnMtxxFqh1WDcaYmi9vLqdWUoJpUni2xGFsa5Gqbtz",
    ),
    // pumpswap_buy.json
    (
        "59GXCxvQmz3KT7H4taZrjHmU2XjxWZ2hws7jtSSDoVjceD4MyA3nTCDLCnZ6hBX9qVakhzshT7B2kbMsV21DU1yZ",
        "D9DSc7v7cFzfTjY6ggwozp8yKYcryzNxkryvd7i6V2Wk",
    ),
    // raydium_launchlab_create.json
    (
        "mqSGNwKK8GZW7PztnYDat3F85BWf7JRWfm5k4ToKpKzkoGmQgyr2bwpm47md7jLck4Yc7pmXuciE73Tf8dT74u8",
        "FeGbW3kbwQnV42hxUAFfbupVzDU5sKhcHswvtRbrYpn5",
    ),
    // raydium_v4_2WjgSSiE_parsed.json
    (
        "2WjgSSiEnMNTynHFH5voUepgeB7RhbXDCK7ZZPwjKAMmBsmJiiJn5kcvT2aKsQuiJrHSzhWmNtJEDZYie9nE7RAz",
        "AhaLPdAJquxKZ4wn3o44V9q6BM7BNoi4AgUbBwnzLTs4",
    ),
    // raydium_v4_failed_jsonparsed.json
    (
        "2NcDrX64szm1duL7t98TkZzz8e638gFTvJPmcAF462DJaj7jW5WUVy7wEerRp1ocF8hNNFFtsBFXgUgzMTZgfDsX",
        "5iywveQKkidqPDKt2CExJcWKex2EXz9kbGcYiZvhuXWs",
    ),
    // raydium_v4_swap_0.json
    (
        "3aQZsNRUbNXpH54GQEaxFpWZsmL554cYGGtWqqoypz8b6LUDYprbRd9AwgivXRLtFBYCU6MU6e9ANurwP8dCMV6",
        "Do3UdALe5F7NRXB4uYcBzZtCbAt8ssu4a5kGZVucKhC5",
    ),
    // raydium_v4_swap_1.json
    (
        "4pAEq48cQsw8VPQ5R3GSXNKS5VdLu5TDTCWuJJ8Bq8uEkohMF87HZMjwfQPQcuvq8bwv8h8HKp7fiNEAi5SKjvyQ",
        "ECvj86nDupkVh1cDgxrJw3zJkw3ahcDiVB3pPTbpskjD",
    ),
    // spl_transfer_0.json
    (
        "5S43CUBVghvpVbzjiih5dNMMyLXEXbmAB3LXW1wdXGXZZ1k6EgP5WqxCmrP2NsLfVBVfvFeRbUbTpeQ8EoXhDdNT",
        "EohzXCJJxTUbHDQvawQvFAUUnCDu6TkaMhpLL6Armm5t",
    ),
    // spl_transfer_checked_0.json
    (
        "wBRjzJGja1cydQXV8w1cEMjSpPxexAHJJ5e5SoyAtb9KUSgFDCymcGbGydZXZE1cPojhWtjLHLazJkd6zvWaTec",
        "4pGw7EECgtpsptfq5dQBYHYyvnAVSLqg5kqB2qGJSzA8",
    ),
];

fn fee_payer_of(signature: &str) -> &'static str {
    FEE_PAYERS
        .iter()
        .find(|(s, _)| *s == signature)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no fee payer recorded for fixture {signature}"))
}

/// Every field of every line, in order, and nothing else on stdout; no explain line on stderr.
fn assert_swaps(path: &str, signature: &str, expected: &[Expected]) {
    let run = run_parse(&[path]);
    let want: Vec<Value> = expected
        .iter()
        .map(|e| expected_json(signature, e))
        .collect();
    assert_eq!(
        run.swaps, want,
        "swaps of {path} differ\n--- got stdout:\n{}\n--- stderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.explains.is_empty(),
        "a transaction with swaps must print no explain line, got {:?}",
        run.explains
    );
}

/// No swap on stdout and exactly one explain line with the given reason.
fn assert_rejected(path: &str, signature: &str, reason: &str) {
    let run = run_parse(&[path]);
    assert!(
        run.swaps.is_empty(),
        "{path} must yield no swap, got stdout:\n{}",
        run.stdout
    );
    assert_eq!(
        run.explains.len(),
        1,
        "{path}: expected one explain line on stderr, got:\n{}",
        run.stderr
    );
    let x = &run.explains[0];
    assert_eq!(x["signature"], signature, "explain line: {x}");
    assert_eq!(x["reason"], reason, "explain line: {x}");
    assert!(
        x["detail"].is_string(),
        "explain line needs a detail string: {x}"
    );
}

// ---------------------------------------------------------------------------------------------
// One test per fixture file.
// ---------------------------------------------------------------------------------------------

// An arbitrage bot (Ceu4aCcS…) probed a DLMM and a CPMM pool and traded nothing: every token
// account holds the same amount before and after; only the fee moved.
#[test]
fn agave_arb_dlmm_cpmm() {
    assert_rejected(
        fixture!("agave_arb_dlmm_cpmm.json"),
        "39ZSBSYRmfzrRq1REHxesJQwUqA5YFgKaxgZ6Aah6CKCGVqRw4LVqrQgL44d3c2ZpvfLgdGZPkpEeafVBA97TeUE",
        "no_balance_change",
    );
}

// G2341KGb paid 0.003882999 SOL (0.003615608 into the PumpSwap pool's WSOL vault, ~0.000036 of
// protocol/LP fees, 0.000031305 OKX commission, 0.0002 tip) through the OKX router and got
// 4,374.143343 8k1Dvn…pump from the pool (owner 9S3zAF8z, a PDA); its new ATA's rent stays its own.
#[test]
fn agave_okx_pumpswap() {
    assert_swaps(
        fixture!("agave_okx_pumpswap.json"),
        "2zNeSn8cJpTAW51NR8ZUHEXc5wVwerumVEk4iJFyAYdTHMjy49wumkZvWLkaeB8CD5YmjuJ3AjcbrBYBzAVKdEdD",
        &[sol_swap(
            "G2341KGbNxuSAfCfqNuPhfLQtPB94hPfgyVPC89Faor4",
            "buy",
            "8k1DvnFBsbuWJw2t4JqTibR7cAgqadMveqiykMr1pump",
            "4374143343",
            6,
            "3882999",
            "pumpswap",
        )],
    );
}

// 98QXkwe6 wrapped and paid exactly 0.3 SOL into a Raydium CLMM pool's WSOL vault and received
// 807,769.528641 7eR1yv… from the pool's token vault (owner EM4Fvu4G, a PDA).
#[test]
fn agave_raydium_clmm_swapv2() {
    assert_swaps(
        fixture!("agave_raydium_clmm_swapv2.json"),
        "2cd7QQSByKy6Y6eddUmQzVwZp5hfrbyhz4osnsf9gmi2EhoScvBoCs5hgJ8WpADH7zhxtQqUcCwBok49KWJ4iJPw",
        &[sol_swap(
            "98QXkwe6DThTsTq7tukKF4g9Wc6WnRbZyTBZ1iBupY39",
            "buy",
            "7eR1yv7pUzhaqQneKJ2fmVTRuzY61ja5KwfbBrLsq1Gu",
            "807769528641",
            6,
            "300000000",
            "raydium_clmm",
        )],
    );
}

// A plain System transfer with a memo: no token accounts at all.
#[test]
fn agave_sol_transfer_memo() {
    assert_rejected(
        fixture!("agave_sol_transfer_memo.json"),
        "2E9Ddokz6HZkn457gAhd7uaUYnWtgUuRQaGGKFb2xDtYY3Mxn81DaXPMKfLLmcWMUAEQwZG1WF6mfcXMKr2yBqZU",
        "no_balance_change",
    );
}

// GnRzpADf sold 166.855309 AL2HhM (166.354744 into the Raydium v4 pool, 0.500565 as the bot's fee to
// AkTgH1uW) and the pool paid it 0.002197473 SOL, but it also paid 0.00203928 SOL rent for
// AkTgH1uW's new token account, so its net SOL is only +0.000158193. AkTgH1uW only receives: no trade.
#[test]
fn bot_AG22_raydium_v4() {
    assert_swaps(
        fixture!("bot_AG22_raydium_v4.json"),
        "2S9wtoK2dYtnbPzrT3nXjsxzuMPRGNKVvMt9iT8nQomdMnVK8aTbtbzaybZ7HBVrBVHbv4MQvGtFmZ2Kudjc9ucK",
        &[sol_swap(
            "GnRzpADfqYgUpAGo59BRMD2NnyKb85Gmhpy7wEfukQTA",
            "sell",
            "AL2HhMQLkJqeeK5w4akoogzyYBZ6GYkBfxjscCf2L2yC",
            "166855309",
            6,
            "158193",
            "raydium_amm_v4",
        )],
    );
}

// A plain SOL transfer (jsonParsed encoding): no token balances.
#[test]
fn explorer_single_sol() {
    assert_rejected(
        fixture!("explorer_single_sol.json"),
        "2kHbPUGzehenUXQbBfAVZGcuTrSUVDMEyU2aGcjFbuUAJkG28CyQPCGZF68u369MU7WHMvJboyioqyihvtR75nLn",
        "no_balance_change",
    );
}

// 3V9bd3EN sent 3.8 USDC to B2v68t8M (durable nonce, two signers): one wallet only pays, the other
// only receives.
#[test]
fn explorer_single_usdc_nonce() {
    assert_rejected(
        fixture!("explorer_single_usdc_nonce.json"),
        "4LXpF3MCdp69iFmD27Sn812UNpqFPHM4qXH7Y12E964p9GHXvwMe1XEmyasogVT2N4XEctdQQLf1sHY6Gvsa5sFX",
        "not_swap",
    );
}

// GQpoa61g sold 22,894,405.787097 AGmXzg… through Jupiter into Raydium v4 and got exactly 1,405 SOL
// out of the pool's WSOL vault (its temporary WSOL account was opened and closed in the same tx).
#[test]
fn jupiter_3TZ15bGj() {
    assert_swaps(
        fixture!("jupiter_3TZ15bGj.json"),
        "3TZ15bGjHmoUST4eHATy68XiDkjg3P7ct1xmknpSisNv3D5awF4GqHXTjV53Qxue1WLo4YrC5e3UaL4PNx4fuEok",
        &[sol_swap(
            "GQpoa61ghhu51v6RnseVodSHkVki9XmtumBXjzBR8mQg",
            "sell",
            "AGmXzgFQw8bLtsJvr5dgnHtyP6rP6GLwmZwgVqjFL6Q8",
            "22894405787097",
            6,
            "1405000000000",
            "raydium_amm_v4",
        )],
    );
}

// Jupiter DCA endAndClose: the DCA's token accounts held 0 before and after and were closed; only
// rent went back to E4R1iXBJ.
#[test]
fn jupiter_dca_end_and_close() {
    assert_rejected(
        fixture!("jupiter_dca_end_and_close.json"),
        "F47c3CizgWhK8RsTerwQLu7XbmoLzSxHC5F17A1qf5upQu1MUJJyzuq2GyLoEDy6xGKdLVinPNo7idXCiFBbor4",
        "no_balance_change",
    );
}

// BxDjGoj9 deposited 217,363 ED5nyy into a new DCA vault (a PDA) and paid ~0.007 SOL of rent for it:
// two assets out, nothing in.
#[test]
fn jupiter_dca_open_v2() {
    assert_rejected(
        fixture!("jupiter_dca_open_v2.json"),
        "63hssgYbn6KyXdt11dNJ979Ax7awjA9LpcVmv2BKVyYXcjSeagjUdwwuVPMD1Erpu7HLXgs7ZR9rLY1PeRskpiC1",
        "not_swap",
    );
}

// 3huskHPR paid 0.4 SOL (all of it into the Raydium v4 pool's WSOL vault) through Jupiter for
// 3,861,519.639304 3p7eCg…pump; the new ATA's rent moved with its ATA.
#[test]
fn jupiter_route_1() {
    assert_swaps(
        fixture!("jupiter_route_1.json"),
        "2NPwsoX7NyfarDBhGDrewJKdNccVS1X9dX2uWCtTMRamXhzXk8PHnGL25yneF5rmR7LPSXH8gKciSgPAe9nP7VU4",
        &[sol_swap(
            "3huskHPRJXT5pL6RW57HaA8pXRFojx6gfNVGL9cJ2vtB",
            "buy",
            "3p7eCgdQx1RiJUfr4t7Z8w6DpVbP7CMa9Z6Ff69tpump",
            "3861519639304",
            6,
            "400000000",
            "raydium_amm_v4",
        )],
    );
}

// AVYG9UHe paid 100 USDC for 0.94494517 ORE: 20 USDC straight through an Invariant pool (0.188 ORE)
// and 80 USDC via Meteora -> Phoenix -> Meteora (0.757 ORE); the intermediate hops (held by Jupiter's
// PDA) net out; SOL nets to 0. The venue is the pool that paid out most of the ORE: Meteora DLMM.
#[test]
fn jupiter_shared_route_1() {
    assert_swaps(
        fixture!("jupiter_shared_route_1.json"),
        "51SfoFAgv3nxEaajLFPCcQpnYaqoLdfZh3ZBWGdNB6c4VSRLcfNzxTnK77ggbsR5HjhDzakQsy35uFZg8KtFAkSj",
        &[quoted_swap(
            "AVYG9UHetNHT1FEDPLv9pN2sCCH4CLsjvkzGjVXBfEiS",
            "buy",
            "oreoN2tQbHXVaZsr3pf66A48miqcBXCDJozganhEJgz",
            "944945170",
            9,
            USDC,
            "100000000",
            None,
            // The route is split: Invariant paid out 0.188 ORE, Meteora DLMM 0.757 ORE (80%). The
            // venue is the pool that supplied most of the token.
            "meteora_dlmm",
        )],
    );
}

// 7dQDhdiz put 344.901992 USDC and 2.5 SOL (plus the new position's rent) into a Meteora DLMM
// position: two assets out, nothing in = liquidity add.
#[test]
fn meteora_dlmm_add_liquidity() {
    assert_rejected(
        fixture!("meteora_dlmm_add_liquidity.json"),
        "2LZBWdD5N9xbbqEMz6USpySo1zF697hnqEww2c9Q1snzAsJSY1eJcsAK7fYt547jmSfNgJhQGsmdiw1cCy4rsS6e",
        "not_swap",
    );
}

// 7dQDhdiz took 0.054277 USDC and 4.76 SOL out of a DLMM position (and got the position's rent
// back): only assets in = withdrawal.
#[test]
fn meteora_dlmm_remove_liquidity() {
    assert_rejected(
        fixture!("meteora_dlmm_remove_liquidity.json"),
        "5TjXcSVPadYrApvVxZRhZLd8QQ2eX5Qb22c17rnKEobMYMaL44xW23Nko7dZWpf7hF8nCz7xoxjnD1yzzzmqTiJP",
        "not_swap",
    );
}

// An associated token account was created empty: no token amount changed.
#[test]
fn mm_create_associated_token_account() {
    assert_rejected(
        fixture!("mm_create_associated_token_account.json"),
        "4c5dH6XVzPUYtjE9RCQavfyuvPtsdf69N8YqbNSHBnBYze9itnyCKCbRg8jxReyATg2vc81SkMUuG4H5qJB5jHwz",
        "no_balance_change",
    );
}

// The transaction failed (a system transfer inside 3i5JeuZu… ran out of lamports): only the fee moved.
#[test]
fn mm_failed_swap() {
    assert_rejected(
        fixture!("mm_failed_swap.json"),
        "43VK3TtYjN21VG13f2EPvNJxmML38GB8QbTDVtFifzeDW3LQpmLtFdLjERAKwy3k4RUe4Hizmdrj4Nyjm5vYKDBx",
        "failed",
    );
}

// A plain SOL transfer: no token accounts.
#[test]
fn mm_native_sol_transfer() {
    assert_rejected(
        fixture!("mm_native_sol_transfer.json"),
        "2qfNzGs15dt999rt1AUJ7D1oPQaukMPPmHR2u5ZmDo4cVtr1Pr2Dax4Jo7ryTpM8jxjtXLi5NHy4uyr68MVh5my6",
        "no_balance_change",
    );
}

// SOL sent to oneself: no token accounts.
#[test]
fn mm_native_sol_transfer_to_self() {
    assert_rejected(
        fixture!("mm_native_sol_transfer_to_self.json"),
        "4Ccb8PaSob6JjsyDnoFJfUpJZDJHTwcjnK7MxiyVeMtPSsBGKuaMHEVL1VsXTKWS4w26tAhbc3T78aNELjfN8Zwb",
        "no_balance_change",
    );
}

// JUP sent with transferChecked to the sender's own token account: the amount is unchanged.
#[test]
fn mm_send_jup_transfer_checked_to_self() {
    assert_rejected(
        fixture!("mm_send_jup_transfer_checked_to_self.json"),
        "4zvFGpqjihSXgHdw6ymHA8hVfyHURNPwASz4FS4c9wADCMSooojx8k42EUuhoDiGGM73SixUcNXafgnuM5dnKHfH",
        "no_balance_change",
    );
}

// EMmTjuHs sent 0.01 HeLp6 (Token-2022) to BYh4CfuG and paid 0.00207408 SOL rent for the recipient's
// new ATA: the sender only pays (token + rent), the recipient only receives (token + the ATA's rent).
#[test]
fn mm_send_spl_and_create_ata() {
    assert_rejected(
        fixture!("mm_send_spl_and_create_ata.json"),
        "4G24SgaZ3gU92HAB8xwSVg6WXS7NcGtUpHMnQ5RTwBw9bG5x8y6co5TzqqPXbExovY2NAuPjE9393TCHFZVhS8K9",
        "not_swap",
    );
}

// BLw3RweJ sent 0.01 of a USDC-like mint (4zMMC9…, 6 decimals) to BXT1K8kz: a transfer.
#[test]
fn mm_send_usdc_transfer() {
    assert_rejected(
        fixture!("mm_send_usdc_transfer.json"),
        "3Zj5XkvE1Uec1frjue6SK2ND2cqhKPvPkZ1ZFPwo2v9iL4NX4b4WWG1wPNEQdnJJU8sVx7MMHjSH1HxoR21vEjoV",
        "not_swap",
    );
}

// USDC sent to the sender's own token account: the amount is unchanged.
#[test]
fn mm_send_usdc_transfer_to_self() {
    assert_rejected(
        fixture!("mm_send_usdc_transfer_to_self.json"),
        "fFSAjDzu7CdhzVUUC7DMKf7xuuVn8cZ8njPnpjkTBMHo4Y43SZto2GDuy123yKDoTieihPfDHvBpysE7Eh9aPmH",
        "no_balance_change",
    );
}

// FQT9SSwE sold 0.021898077 HeLp6 (Token-2022) for 0.004239 USDT in one Raydium CLMM pool, then that
// USDT for 0.000028168 SOL in another; its USDT account nets to 0, so it is a HeLp6 -> SOL sell. The
// venue is the CLMM pool that received the HeLp6.
#[test]
fn mm_swap_a16z_to_usdt() {
    assert_swaps(
        fixture!("mm_swap_a16z_to_usdt.json"),
        "JiqYGkWcYu8GxPZsMdXDnA8tkZvHnHVmNuKr4JYBErm4rgQWssdHCkbe8MzwwNGndyvyNYaaY5vvMhUMPNiQX9u",
        &[sol_swap(
            "FQT9SSwEZ6UUQxsmTzgt5JzjrS4M5zm13M1QiYF8TEo6",
            "sell",
            "HeLp6NuQkmYB4pYWo2zYs22mESHXPQYzXbB8n4V98jwC",
            "21898077",
            9,
            "28168",
            "raydium_clmm",
        )],
    );
}

// Despite its source name this is USDC -> SOL: 3xTPAZxm paid 1 USDC (0.99125 into the Obric pool,
// 0.00875 Jupiter platform fee) and got 0.005903984 SOL. SOL outranks USDC as quote: a sell of USDC.
#[test]
fn mm_swap_sol_to_obric() {
    assert_swaps(
        fixture!("mm_swap_sol_to_obric.json"),
        "28rWme56aMyaP8oX18unFeZg65iyDEhjLhvMBpxyFgKcn38P37ZRsssSZoHDCCr5xUfwfpqsVSSBoShLitHQLdrr",
        &[sol_swap(
            "3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c",
            "sell",
            USDC,
            "1000000",
            6,
            "5903984",
            "obric_v2",
        )],
    );
}

// FQT9SSwE paid exactly 0.01 SOL into a Raydium v4 pool for 4,036.960523 DNrmDM…pump (ATA rent
// moved with its new ATA, the temporary WSOL account was closed).
#[test]
fn mm_swap_sol_to_sahur() {
    assert_swaps(
        fixture!("mm_swap_sol_to_sahur.json"),
        "QfFVu1P4ji8EFTor4BcRYS84wipv2RJDhyzi3w3YQgv1D8mxz2RhF9cKxi4k6DZdtzDRPL6a346HboDUAsSUCfV",
        &[sol_swap(
            "FQT9SSwEZ6UUQxsmTzgt5JzjrS4M5zm13M1QiYF8TEo6",
            "buy",
            "DNrmDMs2czDaAwgzg2BmvM7Jn5ZqA6VN5huRqCrSpump",
            "4036960523",
            6,
            "10000000",
            "raydium_amm_v4",
        )],
    );
}

// 3xTPAZxm paid 0.001 SOL (0.00099125 into the Obric pool, 0.00000875 Jupiter platform fee) for
// 0.167225 USDC: SOL -> USDC is a buy of USDC (SOL is the higher-priority quote).
#[test]
fn mm_swap_sol_to_usdc() {
    assert_swaps(
        fixture!("mm_swap_sol_to_usdc.json"),
        "2X4vKsDS56avumw6jh6Z5wj28GNvK5UkMfY1Ta2Mtouic886EGAraa1gsCJ5rkXyHCeL9p2wHRty3QHAhjf352Dp",
        &[sol_swap(
            "3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c",
            "buy",
            USDC,
            "167225",
            6,
            "1000000",
            "obric_v2",
        )],
    );
}

// DtMUkCoe paid 0.01 USDC -> 0.000073111 SOL (Meteora DLMM) -> 2,583.728601 HaMv3c…pump from the
// pump.fun bonding curve; 8 lamports of dust came back, which is not a leg since USDC moved.
#[test]
fn mm_swap_usdc_to_cobie() {
    assert_swaps(
        fixture!("mm_swap_usdc_to_cobie.json"),
        "2pfnv4drhnitfzCFKxiRoJMzFQpG7wZ9mpRQVk7xm5TQ27g6FZH95HVF6KgwQBS872yGtyhuq57jXXS1y29ub11",
        &[quoted_swap(
            "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
            "buy",
            "HaMv3cdfDW6357yjpDur6kb6w52BUPJrMJpR76tjpump",
            "2583728601",
            6,
            USDC,
            "10000",
            None,
            "pumpfun",
        )],
    );
}

// DtMUkCoe paid 1.1 USDC (1.09065 into the ZeroFi pool, 0.00935 Jupiter fee to 9yj3zvLS) for
// 2.143812 JUP. 9yj3zvLS only receives a fee: not a trader.
#[test]
fn mm_swap_usdc_to_jup() {
    assert_swaps(
        fixture!("mm_swap_usdc_to_jup.json"),
        "5LuTa5k9UvgM2eJknVUD9MjfcmcTP7nvFrCedU8d7ZLXCHbrrwqhXDQYTSfncm1wTSNFPZj3Y4cRkWC8CLG6Zcvh",
        &[quoted_swap(
            "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
            "buy",
            "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
            "2143812",
            6,
            USDC,
            "1100000",
            None,
            "zerofi",
        )],
    );
}

// AG27WXxP paid 0.064174554 SOL (0.063629071 into the Raydium v4 pool, 0.000545483 OKX commission)
// for 5,238.716646 28ECNM…pump.
#[test]
fn okx_commission_sol_swap2() {
    assert_swaps(
        fixture!("okx_commission_sol_swap2.json"),
        "3DZuPoKRrxLrb1rqaccgdjuiWuxFFTARdfFocQ66WymR3Ss2vURTt7F4ZWwHpwTTrj9cbvV59xxwYRUngEiRAFNE",
        &[sol_swap(
            "AG27WXxPym3K73JFKtpRxwbMfnRnuPu5bn6juzcvq5rp",
            "buy",
            "28ECNMKBj66GMBJxq1c3VyzJiKY5gDp2sEYc92Ybpump",
            "5238716646",
            6,
            "64174554",
            "raydium_amm_v4",
        )],
    );
}

// GKj54MVF paid 250 USDC (249.243111 sold to Phoenix for 1.1541 SOL, 0.75 commission to e24SXSTq,
// 0.006889 to OKX) and got 6,373.264828 DKu9ky…pump from Raydium v4 (the pool that paid out the
// token); the SOL hop and the ATA rent net to 0. e24SXSTq only receives: not a trader.
#[test]
fn okx_commission_spl_proxy_swap() {
    assert_swaps(
        fixture!("okx_commission_spl_proxy_swap.json"),
        "3p36wGRa191szhME5kRbg41cv9sXPPYvozkkKvPMErwoakXGZNDbjgCtV3e7uzU9dSDABtAgpm7heoepNhDmxJwN",
        &[quoted_swap(
            "GKj54MVFppoYsxPU9jMn7CMniVRAuveFadyTtFhn1vXy",
            "buy",
            "DKu9kykSfbN5LBfFXtNNDPaX35o4Fv6vJ9FKk7pZpump",
            "6373264828",
            6,
            USDC,
            "250000000",
            None,
            "raydium_amm_v4",
        )],
    );
}

// Token -> token: E8oVrS4P gave 3,588.00 7atgF8 (2 decimals, Token-2022 with a transfer fee: the
// CPMM pool was credited 3,444.48) for 0.015742 SOL, which bought 0.074619 ED5nyy in a CLMM pool.
// Its SOL nets to exactly 0 after the fee, so: a sell of 7atgF8 (CPMM) then a buy of ED5nyy (CLMM).
#[test]
fn okx_swap_0() {
    let a = "7atgF8KQo4wJrD5ATGX7t1V2zVvykPJbFfNeVf1icFv1";
    let b = "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY";
    let w = "E8oVrS4Pk74ouemj4t6grJ6w5Ah7SFLYa8VoRtvtWpnw";
    assert_swaps(
        fixture!("okx_swap_0.json"),
        "2bhr1FWqeL28zH1BJR1h3PxkVorh5GD3koPUgzKMKFtxUKK5k3R3UraU8YRoB5yxKDi5AZafp3Xf74AXTf9LDqWc",
        &[
            quoted_swap(w, "sell", a, "358800", 2, b, "74619", None, "raydium_cpmm"),
            quoted_swap(w, "buy", b, "74619", 6, a, "358800", None, "raydium_clmm"),
        ],
    );
}

// DfMxre4c paid 0.459999999 SOL through Photon: 0.392079207 into the bonding curve, 0.003920792
// pump.fun fee, 0.004 Photon fee, 0.06 tip, for 5,609,742.87653 HQ4SzF…pump.
#[test]
fn photon_pumpfun_buy_0() {
    assert_swaps(
        fixture!("photon_pumpfun_buy_0.json"),
        "628Q5CDNX5mW8pmHUZ56WJ1PmPZXVYuxHontQaxdfNfXAF9bbDJrsmzxkvnzCFgx3w8vqcpoN8prCmmRGMAjjLA2",
        &[sol_swap(
            "DfMxre4cKmvogbLrPigxmibVTTQDuzjdXojWzjCXXhzj",
            "buy",
            "HQ4SzFMwYo8TXds1bHD2TvZdL7S75hK8w775rWrVpump",
            "5609742876530",
            6,
            "459999999",
            "pumpfun",
        )],
    );
}

// 2PhpwXnn paid 0.105 SOL through Photon (0.098019801 into the curve, 0.000980199 pump.fun fee,
// 0.001 Photon fee, 0.005 tip) for 294,233.863538 37AmZ9…pump; its new ATA's rent stays with it.
#[test]
fn photon_pumpfun_buy_1() {
    assert_swaps(
        fixture!("photon_pumpfun_buy_1.json"),
        "5839B8x1gBRJHHbAbp7nNR76KsLcSFdjqr8CgjgpgLRSXydKvahbZRCjuEuqAGZK4ZWehA963Rd2moYDkSbUFvS3",
        &[sol_swap(
            "2PhpwXnnnQWQCdiQwkG7Xbq5D3x72vCEGJEQ1kKrMHzi",
            "buy",
            "37AmZ9EYChwuK95dnP6sYYbqcoEbbvEZYJpinSLfpump",
            "294233863538",
            6,
            "105000000",
            "pumpfun",
        )],
    );
}

// EfbbhahG paid 3.07 SOL (3.0 into the bonding curve DizioTk7, a PDA; 0.03 pump.fun fee; 0.04 of
// tips to 7wrziDhc and ADuUkR4v) for 56,716,561.396327 D66sbP…; the ATA rent moved with its new ATA.
#[test]
fn pumpfun_buy_0() {
    assert_swaps(
        fixture!("pumpfun_buy_0.json"),
        "4U8kypMuCUCkR6teu2Vn8ujaEJUR3dcUU5QExZxSMMeJ5fRTvYfWs5M5AB9yNjjHKAQ4w433QVyUivc3Pp8gvG1R",
        &[sol_swap(
            "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE",
            "buy",
            "D66sbPtYqLnwPYcUqjDktrQtb52CnfF77C3sdpNpR8Si",
            "56716561396327",
            6,
            "3070000000",
            "pumpfun",
        )],
    );
}

const BUNDLE_SIG: &str =
    "JBnrBbgqh9jRUkUD68GdwBWoxWyz8SqEuM4eYqR6cyMMofFD43XQKjWBMHvRanPuzSU9UC8CFBQH1brAmvjxZpA";
const BUNDLE_MINT: &str = "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY";

fn bundle_expected() -> Vec<Expected> {
    vec![
        sol_swap(
            "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
            "buy",
            BUNDLE_MINT,
            "12373970345963",
            6,
            "389961228",
            "pumpfun",
        ),
        sol_swap(
            "7SPkzf8DSxdemSKMEEKquRKEYrdDjcuHaQwac5nvnB4b",
            "buy",
            BUNDLE_MINT,
            "12100159018198",
            6,
            "390688975",
            "pumpfun",
        ),
        sol_swap(
            "GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz",
            "buy",
            BUNDLE_MINT,
            "12023935360031",
            6,
            "397732218",
            "pumpfun",
        ),
        sol_swap(
            "8rL9duqqeBRzZZyiz77xgfzDUdbR99TPjmVk5D1LNHuL",
            "buy",
            BUNDLE_MINT,
            "12044860698416",
            6,
            "408276429",
            "pumpfun",
        ),
    ]
}

// Four signer wallets each bought ED5nyy from the same bonding curve in one transaction, at rising
// prices (0.390, 0.391, 0.398, 0.408 SOL incl. the 1% pump.fun fee, for ~12.0–12.4M tokens each);
// together they paid exactly what the curve (1.570949359) and the fee account (0.015709491) received.
#[test]
fn pumpfun_buy_bundle() {
    assert_swaps(
        fixture!("pumpfun_buy_bundle.json"),
        BUNDLE_SIG,
        &bundle_expected(),
    );
}

// Dev 6xo262Kb created 5dNYcC…pump and bought 34,612,903.225806 of it. Its 1.03434952 SOL is 1.0
// into the curve + 0.01 pump.fun fee + 0.004 tip + ~0.0203 of rent for the new mint, curve, curve
// ATA and metadata. The curve's token account was filled in this same tx, so no pool-side match:
// the fallback (last AMM for a buy) is pump.fun.
#[test]
fn pumpfun_create_0() {
    assert_swaps(
        fixture!("pumpfun_create_0.json"),
        "2s393PSYYxJJJfGiwHf18HZeC68nZs44ssbeB4aAkeYMyd1dyiiu3yVmGyRWZuArk5HzYDgVxYfhKLYd2CJ8kCBj",
        &[sol_swap(
            "6xo262KbDXepWbF3vPTrFXysr5vJwk3mozBXmXk3hmMx",
            "buy",
            "5dNYcCZXEGfGgbdUdq7MMR7KLsNJLLLgL83wLH8Fpump",
            "34612903225806",
            6,
            "1034349520",
            "pumpfun",
        )],
    );
}

// 4ceopHPg sold 8,459,930.498924 Exms4q…pump into the PumpSwap pool for 3.531596553 SOL, net
// 3.462777301 after protocol fees, a 0.035 Photon fee and a 0.03 tip. The trade happened on
// PumpSwap, although an earlier no-op pump.fun Migrate instruction lists the pool's vault too.
#[test]
fn pumpfun_migrate() {
    assert_swaps(
        fixture!("pumpfun_migrate.json"),
        "5dnX6d6MqVqXvHd93swfGJUuPVmVaDBGWS5RDEmc96ThTcGHfYfPHnKBrWRCMXUsqLNCnEmMZwvyL6JFGSZzTS64",
        &[sol_swap(
            "4ceopHPgw9wATNvAMnDdekQoLtRxs4ELvq4FAdMA8UQq",
            "sell",
            "Exms4qnKb7GtnPXom1Z4fWn1MnyX46jkcmAy3RWxpump",
            "8459930498924",
            6,
            "3462777301",
            // pump.fun's Migrate instruction lists the PumpSwap vault but moves nothing; the token
            // transfer into the vault runs under PumpSwap, so the sale happened on PumpSwap.
            "pumpswap",
        )],
    );
}

// 4DdrfiDH sold 592,443,959 CnNVDy…pump to the bonding curve for 37.437283903 SOL, net
// 37.052911064 after the 1% pump.fun fee (0.374372839) and a 0.01 tip.
#[test]
fn pumpfun_sell_0() {
    assert_swaps(
        fixture!("pumpfun_sell_0.json"),
        "3bYXWjjNkVZpz3VWrp8Sh12usVCnzEqhYCnNNMQrMu7C8XHssi2WBTW37zukC5oyYTsAKYRtUQ1xhwFMYFMH19VJ",
        &[sol_swap(
            "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
            "sell",
            "CnNVDyM7GXBBcH8giuRYm17YCn6kpFTTbnd6Tx4hpump",
            "592443959000000",
            6,
            "37052911064",
            "pumpfun",
        )],
    );
}

// G9yQLYTD sold all its 947,132.252233 3cbRjH… to the bonding curve: the curve paid 0.062636785 SOL,
// of which 0.000626369 went to fees and 0.000216341 to a tip, leaving it 0.061794075.
#[test]
fn pumpfun_trade() {
    assert_swaps(
        fixture!("pumpfun_trade.json"),
        "trjspFNZZnmBMeYVMuWbkDt6BE7bCRMprhwoUBtNzKtTN3ygMXzZ1m4qL5SaWDTFu7ACiRAJdvZAjqMnPWxAnb4",
        &[sol_swap(
            "G9yQLYTDiKY3zDu8FBCrEhrAUAQAXV7UFV5wPUBbgNck",
            "sell",
            "3cbRjHtNmGkzUvKT2Hia6pqeUB9S7XGNKZvG7mpP2drF",
            "947132252233",
            6,
            "61794075",
            "pumpfun",
        )],
    );
}

// xQnMtxxF deposited 0.00000882 cbBTC and 0.005481804 SOL into a PumpSwap pool for 0.000069508 LP
// tokens: two assets out, one in = liquidity add.
#[test]
fn pumpswap_add_liquidity() {
    assert_rejected(
        fixture!("pumpswap_add_liquidity.json"),
        "63PQNtzDQdBDnf7FMC4jafDPhDVZHHhZwhJAbCT25efDgXt4H3fxPSQCAacV5Psaz5aKrRk35ubc97oQuozg9rwV",
        "not_swap",
    );
}

// D9DSc7v7 paid 0.458147929 SOL (0.457636205 into the PumpSwap pool's WSOL vault, 0.000456724 of
// protocol fees, a 0.000055 tip) for 1,806.759473 npB9cx…pump.
#[test]
fn pumpswap_buy() {
    assert_swaps(
        fixture!("pumpswap_buy.json"),
        "59GXCxvQmz3KT7H4taZrjHmU2XjxWZ2hws7jtSSDoVjceD4MyA3nTCDLCnZ6hBX9qVakhzshT7B2kbMsV21DU1yZ",
        &[sol_swap(
            "D9DSc7v7cFzfTjY6ggwozp8yKYcryzNxkryvd7i6V2Wk",
            "buy",
            "npB9cxTzwUiGt7jk2dXZa52xZve8SgVD6Et9Bpipump",
            "1806759473",
            6,
            "458147929",
            "pumpswap",
        )],
    );
}

// FeGbW3kb created the AqFe2t… LaunchLab pool and bought 96,087,352.138307 of it: 1.0 SOL went into
// the pool's WSOL vault and ~0.0245 SOL to rent for the pool, vaults, mint and metadata. The pool's
// token vault was filled in this tx, so the venue comes from the fallback (last AMM for a buy).
#[test]
fn raydium_launchlab_create() {
    assert_swaps(
        fixture!("raydium_launchlab_create.json"),
        "mqSGNwKK8GZW7PztnYDat3F85BWf7JRWfm5k4ToKpKzkoGmQgyr2bwpm47md7jLck4Yc7pmXuciE73Tf8dT74u8",
        &[sol_swap(
            "FeGbW3kbwQnV42hxUAFfbupVzDU5sKhcHswvtRbrYpn5",
            "buy",
            "AqFe2tk1BRx6czUuRPGUZ8mtvcBGDZYsG6oPvELwzray",
            "96087352138307",
            6,
            "1024532480",
            "raydium_launchlab",
        )],
    );
}

const RAY_2WJG_SIG: &str =
    "2WjgSSiEnMNTynHFH5voUepgeB7RhbXDCK7ZZPwjKAMmBsmJiiJn5kcvT2aKsQuiJrHSzhWmNtJEDZYie9nE7RAz";

fn ray_2wjg_expected() -> Expected {
    sol_swap(
        "AhaLPdAJquxKZ4wn3o44V9q6BM7BNoi4AgUbBwnzLTs4",
        "buy",
        "AL2HhMQLkJqeeK5w4akoogzyYBZ6GYkBfxjscCf2L2yC",
        "99987311818004270",
        6,
        "790010000000",
        "raydium_amm_v4",
    )
}

// AhaLPdAJ paid 790.01 SOL into a freshly seeded Raydium v4 pool (0.1 SOL / 100,000,000,000 tokens)
// and took 99,987,311,818.00427 of the pool's tokens (99.987%). json encoding.
#[test]
fn raydium_v4_2WjgSSiE() {
    assert_swaps(
        fixture!("raydium_v4_2WjgSSiE.json"),
        RAY_2WJG_SIG,
        &[ray_2wjg_expected()],
    );
}

// The same transaction in jsonParsed encoding: the same single 790.01 SOL buy.
#[test]
fn raydium_v4_2WjgSSiE_parsed() {
    assert_swaps(
        fixture!("raydium_v4_2WjgSSiE_parsed.json"),
        RAY_2WJG_SIG,
        &[ray_2wjg_expected()],
    );
}

// A Raydium v4 swap that failed (err set, jsonParsed): only the fee moved.
#[test]
fn raydium_v4_failed_jsonparsed() {
    assert_rejected(
        fixture!("raydium_v4_failed_jsonparsed.json"),
        "2NcDrX64szm1duL7t98TkZzz8e638gFTvJPmcAF462DJaj7jW5WUVy7wEerRp1ocF8hNNFFtsBFXgUgzMTZgfDsX",
        "failed",
    );
}

// Do3UdALe sold all its 836,112.233953 2Crtda…pump into Raydium v4; the pool paid 0.352936256 SOL,
// of which 0.004152902 went straight out again as tips, leaving 0.348783354.
#[test]
fn raydium_v4_swap_0() {
    assert_swaps(
        fixture!("raydium_v4_swap_0.json"),
        "3aQZsNRUbNXpH54GQEaxFpWZsmL554cYGGtWqqoypz8b6LUDYprbRd9AwgivXRLtFBYCU6MU6e9ANurwP8dCMV6",
        &[sol_swap(
            "Do3UdALe5F7NRXB4uYcBzZtCbAt8ssu4a5kGZVucKhC5",
            "sell",
            "2CrtdajpSb7DpMRLKP4yMtFLbCsWZjMkEvgSTf4Ypump",
            "836112233953",
            6,
            "348783354",
            "raydium_amm_v4",
        )],
    );
}

// ECvj86nD paid 0.1019 SOL (0.1 into the Raydium v4 pool, 0.0019 of tips) for 43,045.438075
// E8yBUD…pump.
#[test]
fn raydium_v4_swap_1() {
    assert_swaps(
        fixture!("raydium_v4_swap_1.json"),
        "4pAEq48cQsw8VPQ5R3GSXNKS5VdLu5TDTCWuJJ8Bq8uEkohMF87HZMjwfQPQcuvq8bwv8h8HKp7fiNEAi5SKjvyQ",
        &[sol_swap(
            "ECvj86nDupkVh1cDgxrJw3zJkw3ahcDiVB3pPTbpskjD",
            "buy",
            "E8yBUD4AGdxK7MbQEf85oaAvVBuSoRsGCvX2sMxSpump",
            "43045438075",
            6,
            "101900000",
            "raydium_amm_v4",
        )],
    );
}

// EohzXCJJ sent 3,000 HbDHSR to each of five wallets and paid their new ATAs' rent: the sender only
// pays, each recipient only receives.
#[test]
fn spl_transfer_0() {
    assert_rejected(
        fixture!("spl_transfer_0.json"),
        "5S43CUBVghvpVbzjiih5dNMMyLXEXbmAB3LXW1wdXGXZZ1k6EgP5WqxCmrP2NsLfVBVfvFeRbUbTpeQ8EoXhDdNT",
        "not_swap",
    );
}

// 4pGw7EEC sent 222 AZaxNo to each of eight wallets (transferChecked) and paid their ATAs' rent: an
// airdrop, not a trade.
#[test]
fn spl_transfer_checked_0() {
    assert_rejected(
        fixture!("spl_transfer_checked_0.json"),
        "wBRjzJGja1cydQXV8w1cEMjSpPxexAHJJ5e5SoyAtb9KUSgFDCymcGbGydZXZE1cPojhWtjLHLazJkd6zvWaTec",
        "not_swap",
    );
}

// ---------------------------------------------------------------------------------------------
// Cross-fixture properties.
// ---------------------------------------------------------------------------------------------

/// Round half away from zero, as the spec says.
fn round_half_away(x: f64) -> i64 {
    x.signum() as i64 * (x.abs() + 0.5).floor() as i64
}

// The SOL -> USDC swap (0.001 SOL for 0.167225 USDC, >= 1,000,000 lamports) teaches the price
// 5,979,967.11 lamports per USD; the later USDC -> JUP swap of 1.1 USDC is then worth
// round(1.1 * 5,979,967.11) = 6,577,964 lamports (6,577,963.82 before rounding).
#[test]
fn learned_sol_price_values_a_later_usdc_swap() {
    let run = run_parse(&[
        fixture!("mm_swap_sol_to_usdc.json"),
        fixture!("mm_swap_usdc_to_jup.json"),
    ]);
    assert_eq!(
        run.swaps.len(),
        2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    // The first line is unaffected by being in a batch.
    assert_eq!(
        run.swaps[0],
        expected_json(
            "2X4vKsDS56avumw6jh6Z5wj28GNvK5UkMfY1Ta2Mtouic886EGAraa1gsCJ5rkXyHCeL9p2wHRty3QHAhjf352Dp",
            &sol_swap("3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c", "buy", USDC, "167225", 6, "1000000", "obric_v2"),
        )
    );
    let lamports_per_usd = 1_000_000f64 / (167_225f64 / 1e6);
    let want = round_half_away(1_100_000f64 / 1e6 * lamports_per_usd);
    assert_eq!(want, 6_577_964);
    let jup = &run.swaps[1];
    let got = jup["sol_value_lamports"].as_i64().unwrap_or_else(|| {
        panic!("USDC-quoted swap after a SOL<->USDC swap needs a SOL value: {jup}")
    });
    // ±1: the spec fixes f64 and half-away-from-zero rounding, but an implementation may order the
    // multiplications/divisions differently (e.g. lamports * stable / stable_ref), which can move
    // the last bit and so, near .5, the rounded lamport. The exact value here is 6,577,963.82.
    assert!(
        (got - want).abs() <= 1,
        "sol_value_lamports {got}, expected {want} (±1): {jup}"
    );
    // Everything else on the line is exactly the standalone swap.
    let mut rest = jup.clone();
    rest["sol_value_lamports"] = Value::Null;
    assert_eq!(
        rest,
        expected_json(
            "5LuTa5k9UvgM2eJknVUD9MjfcmcTP7nvFrCedU8d7ZLXCHbrrwqhXDQYTSfncm1wTSNFPZj3Y4cRkWC8CLG6Zcvh",
            &quoted_swap(
                "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
                "buy",
                "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
                "2143812",
                6,
                USDC,
                "1100000",
                None,
                "zerofi",
            ),
        )
    );
}

// The price is only learned from EARLIER transactions: in the opposite order the USDC swap has none.
#[test]
fn sol_price_is_not_applied_retroactively() {
    let run = run_parse(&[
        fixture!("mm_swap_usdc_to_jup.json"),
        fixture!("mm_swap_sol_to_usdc.json"),
    ]);
    assert_eq!(run.swaps.len(), 2, "stdout:\n{}", run.stdout);
    assert_eq!(
        run.swaps[0]["mint"],
        "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
    );
    assert_eq!(
        run.swaps[0]["sol_value_lamports"],
        Value::Null,
        "{}",
        run.swaps[0]
    );
    assert_eq!(run.swaps[1]["mint"], USDC);
    assert_eq!(run.swaps[1]["sol_value_lamports"], 1_000_000);
}

// The same transaction in `json` and `jsonParsed` encodings gives byte-for-byte the same output.
#[test]
fn json_and_json_parsed_encodings_agree() {
    let a = run_parse(&[fixture!("raydium_v4_2WjgSSiE.json")]);
    let b = run_parse(&[fixture!("raydium_v4_2WjgSSiE_parsed.json")]);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(
        a.swaps,
        vec![expected_json(RAY_2WJG_SIG, &ray_2wjg_expected())]
    );
}

// A bundle lists every buyer once, in account-key order, all buying the same mint, and only them.
#[test]
fn bundle_lists_every_buyer() {
    let run = run_parse(&[fixture!("pumpfun_buy_bundle.json")]);
    let wallets: Vec<&str> = run
        .swaps
        .iter()
        .map(|s| s["wallet"].as_str().unwrap())
        .collect();
    assert_eq!(
        wallets,
        vec![
            "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
            "7SPkzf8DSxdemSKMEEKquRKEYrdDjcuHaQwac5nvnB4b",
            "GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz",
            "8rL9duqqeBRzZZyiz77xgfzDUdbR99TPjmVk5D1LNHuL",
        ]
    );
    for s in &run.swaps {
        assert_eq!(s["signature"], BUNDLE_SIG);
        assert_eq!(s["side"], "buy");
        assert_eq!(s["mint"], BUNDLE_MINT);
        assert_eq!(s["venue"], "pumpfun");
        // One payer (the first of the four signers) paid the fee for every buyer: the link
        // between them even where they are not the signer paying.
        assert_eq!(
            s["fee_payer"],
            "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA"
        );
    }
    // The four buyers together paid exactly what the curve and pump.fun's fee account received.
    let paid: u64 = run
        .swaps
        .iter()
        .map(|s| s["quote_amount"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(paid, 1_570_949_359 + 15_709_491);
    // And they received exactly what left the curve's token account.
    let got: u64 = run
        .swaps
        .iter()
        .map(|s| s["amount"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(got, 48_542_925_422_608);
}

const ALL_FIXTURES: [&str; 49] = [
    "agave_arb_dlmm_cpmm.json",
    "agave_okx_pumpswap.json",
    "agave_raydium_clmm_swapv2.json",
    "agave_sol_transfer_memo.json",
    "bot_AG22_raydium_v4.json",
    "explorer_single_sol.json",
    "explorer_single_usdc_nonce.json",
    "jupiter_3TZ15bGj.json",
    "jupiter_dca_end_and_close.json",
    "jupiter_dca_open_v2.json",
    "jupiter_route_1.json",
    "jupiter_shared_route_1.json",
    "meteora_dlmm_add_liquidity.json",
    "meteora_dlmm_remove_liquidity.json",
    "mm_create_associated_token_account.json",
    "mm_failed_swap.json",
    "mm_native_sol_transfer.json",
    "mm_native_sol_transfer_to_self.json",
    "mm_send_jup_transfer_checked_to_self.json",
    "mm_send_spl_and_create_ata.json",
    "mm_send_usdc_transfer.json",
    "mm_send_usdc_transfer_to_self.json",
    "mm_swap_a16z_to_usdt.json",
    "mm_swap_sol_to_obric.json",
    "mm_swap_sol_to_sahur.json",
    "mm_swap_sol_to_usdc.json",
    "mm_swap_usdc_to_cobie.json",
    "mm_swap_usdc_to_jup.json",
    "okx_commission_sol_swap2.json",
    "okx_commission_spl_proxy_swap.json",
    "okx_swap_0.json",
    "photon_pumpfun_buy_0.json",
    "photon_pumpfun_buy_1.json",
    "pumpfun_buy_0.json",
    "pumpfun_buy_bundle.json",
    "pumpfun_create_0.json",
    "pumpfun_migrate.json",
    "pumpfun_sell_0.json",
    "pumpfun_trade.json",
    "pumpswap_add_liquidity.json",
    "pumpswap_buy.json",
    "raydium_launchlab_create.json",
    "raydium_v4_2WjgSSiE.json",
    "raydium_v4_2WjgSSiE_parsed.json",
    "raydium_v4_failed_jsonparsed.json",
    "raydium_v4_swap_0.json",
    "raydium_v4_swap_1.json",
    "spl_transfer_0.json",
    "spl_transfer_checked_0.json",
];

// Every fixture file has its test above (a new fixture must get one).
#[test]
fn every_fixture_file_is_covered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mainnet");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ALL_FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// Off-curve (program-derived) owners of the token accounts in these fixtures: pool authorities,
/// vaults, bonding curves, DCA vaults, router/aggregator authorities. None of them can be a trader.
const KNOWN_POOL_OWNERS: [&str; 48] = [
    "2FszuH8XUbAtsLQ2r7cKAiV57TyajAVkxcYtf3YfuWK7",
    "3msVd34R5KxonDzyNSV5nT19UtUeJ2RF1NaQhvVPNLxL",
    "42txuiS2zXURYVQUcGbYEfX1aWDTAuvRHyQ16AZqgAoX",
    "4Q9Epf566RJjUu9akgLv4badwC5u9Y75r9mp97xEw3sS",
    "4RyuSgGdYeE7Qd4eKsuauTevWRreSfGScYqaygMEJXSq",
    "4cLUBQKZgCv2AqGXbh8ncGhrDRcicUe3WSDzjgPY2oTA",
    "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
    "5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6",
    "5v9QsXPMqdtN3VmUdG4psCaSUyh3p2AMXBMGA1ALQGaK",
    "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV",
    "6AcB6JKbqD24is7tvpfRUU12KLH8tXLFrNUPB584ezRh",
    "6cSXbsWdUE86Nvwq8UZSQS8X8v4Rz3TP39V6gSb9Rg6f",
    "6qNayJgRDgEVEg4TZU2F1Sf87LJ9VabUrzhMP8nJ7veV",
    "7F3Wg8gzekghzqPLGubCSSjZGj6ihVb14A6QmGKjNL92",
    "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
    "7iWnBRRhBCiNXXPhqiGzvvBkKrvFSWqqmxRyu9VyYBxE",
    "7ke4MiP4CRN176wAkEdxxUVyUcHi2Qi4e8JJNNCtVeZM",
    "8cjeuVV3KQ9k8RqW1JUyCfey2TDAhuo7f4hPDMeGfxv",
    "9S3zAF8zVffQvD6EfqaVAdRbnYjVW51kVQDH2vHjk4vq",
    "AMhkw4DNjHhM7DojCwdrxwR946TRKzhZzLyF2hAriYkT",
    "Ak4Cu8ZTTbaLvAubaCSpzdrEKbpwMpkF4RArSoRLRvMF",
    "AvQvbFhPtJyaxbkqZPG1uaYwF3gg2JfKq6znUHoKyGE1",
    "B8XN84jZCTT31R1qrACR1JYJRTBWDRvJzqFsYZmTzywd",
    "B9mWNVKLNcWLGZ1KLWDPL7zgAqDLdYh35DSkBFQuJYqX",
    "BLSQn4JYwfqpYt5Upts3RHwmiu2h1HY2exwMjzympVHV",
    "BtZUpLu8EZVyDseHBmh6KCMbaykoJznUKnYZaJ8RmqNe",
    "C6hTSYmF9Q8wEgQdNT7bitt5sP5AAAVtaswPJqVgmoWX",
    "CNyMBhDe985yBzn6EqyT6BJE89iWgufi6wgBZFK9kM1D",
    "CQrqvWERJtEjw2rCCQV6EqfM6V6jzTuKjhJjKNFmGB7r",
    "DizioTk7HKkYcVjiKuB6wdFXtGSisGX57mwG9PFwxXxm",
    "DoZMMtcSWDtKnq7JBvM5sY3urkJGfJBmafUwmMiykngS",
    "ED7PzXEtJo7epZm9rzmg2MDiaDDoJmDpoPigbJ3CRSdo",
    "EM4Fvu4G3qLuSNdBeturuHzqh871hh1evxY7RLBoF6ZL",
    "Ef7wUrbarRXHNMMgBs8cstSkzRttnstjMsniaq7zMp6j",
    "ExcBWu8fGPdJiaF1b1z3iEef38sjQJks8xvj6M85pPY6",
    "F8Jvc77vbdebLLKrtSFzkTGEELwkasb3uARtmzGB3UnT",
    "FGDQFsnbmq2xdtjrzeAaugZ2psy2RKqANTAhUmBr17PN",
    "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
    "Fn68NZzCCgZKtYmnAYbkL6w5NNx3TgjW91dGkLA3hsDK",
    "GPgXsGCFjzNNAZtUvxmNo3G3yEouoao1XdkK1SukitdS",
    "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL",
    "HMqacQogqMpdux9DgbZQ75saxmSYGF4dMcpuLNYQdNU6",
    "HUCjBnmd4FoUjCCMYQ9xFz1ce1r8vWAd8uMhUQakE2FR",
    "HV1KXxWFaSeriyFvXyx48FqG9BoFbfinB8njCJonqP7K",
    "HWcEXBF7Gu2HnjBPfrSYpUKYrV4bBrkMJRWnb5Qn1zUe",
    "Ha19L5MR17EWBytAeiBkuCaLVZJhZMKPqECfzxMCywWq",
    "J4uBbeoWpZE8fH58PM1Fp9n9K6f1aThyeVCyRdJbaXqt",
    "WLHv2UAZm6z4KyaaELi5pjdbJh6RESMva1Rnn8pJVVh",
];

// No reported wallet, in any fixture, is a pool / vault / curve / router authority: every wallet is
// an ed25519 curve point (checked here independently of the crate), and none is a known PDA owner.
// Also: every signer-traded fixture reports exactly the expected number of lines.
#[test]
fn no_reported_wallet_is_ever_a_pool() {
    let mut lines = 0;
    for file in ALL_FIXTURES {
        let path = fixture_path(file);
        let run = run_parse(&[&path]);
        for s in &run.swaps {
            let w = s["wallet"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: wallet is not a string: {s}"));
            assert!(
                is_on_curve(w),
                "{file}: reported wallet {w} is off-curve (a PDA): {s}"
            );
            assert!(
                !KNOWN_POOL_OWNERS.contains(&w),
                "{file}: reported wallet {w} is a known pool owner"
            );
        }
        lines += run.swaps.len();
    }
    // 29 fixtures with one swap each, +3 for the 4-buyer bundle, +1 for the token->token sell+buy.
    assert_eq!(lines, 33);
}

// The on-curve check itself: every signer wallet seen in the fixtures is on the curve, every PDA
// owner is not (cross-checked offline against solders' Pubkey.is_on_curve on all 546 addresses).
#[test]
fn on_curve_check_matches_known_addresses() {
    for w in [
        "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE",
        "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
        "7SPkzf8DSxdemSKMEEKquRKEYrdDjcuHaQwac5nvnB4b",
        "GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz",
        "8rL9duqqeBRzZZyiz77xgfzDUdbR99TPjmVk5D1LNHuL",
        "AhaLPdAJquxKZ4wn3o44V9q6BM7BNoi4AgUbBwnzLTs4",
        "DtMUkCoeyzs35B6EpQQxPyyog6TRwXxV1W1Acp8nWBNa",
        "3xTPAZxmpwd8GrNEKApaTw6VH4jqJ31WFXUvQzgwhR7c",
        "E8oVrS4Pk74ouemj4t6grJ6w5Ah7SFLYa8VoRtvtWpnw",
        "AkTgH1uW6J6j6QHmFNGzZuZwwXaHQsPCpHUriED28tRj",
        "11111111111111111111111111111111",
    ] {
        assert!(is_on_curve(w), "{w} should be on the curve");
    }
    for p in KNOWN_POOL_OWNERS {
        assert!(!is_on_curve(p), "{p} should be off the curve");
    }
}

// ---------------------------------------------------------------------------------------------
// ed25519 "is this 32-byte address a curve point" check, self-contained (no curve crate in
// Cargo.toml). Decompress the Edwards y coordinate: x^2 = (y^2 - 1) / (d y^2 + 1) must be a square
// mod p = 2^255 - 19. Since v = d y^2 + 1 is never 0 (d is a non-square), u/v is a square iff u*v
// is, so test u*v with Euler's criterion: (u v)^((p-1)/2) == 1, or u v == 0.
// Field elements are five 51-bit limbs (the usual radix-2^51 representation).
// ---------------------------------------------------------------------------------------------

type Fe = [u64; 5];
const MASK51: u64 = (1 << 51) - 1;

fn fe_from_bytes(b: &[u8; 32]) -> Fe {
    let mut v = [0u8; 32];
    v.copy_from_slice(b);
    v[31] &= 0x7f; // the top bit is the sign of x, not part of y
    let load = |i: usize| u64::from_le_bytes(v[i..i + 8].try_into().unwrap());
    [
        load(0) & MASK51,
        (load(6) >> 3) & MASK51,
        (load(12) >> 6) & MASK51,
        (load(19) >> 1) & MASK51,
        (load(24) >> 12) & MASK51,
    ]
}

fn fe_small(x: u64) -> Fe {
    [x, 0, 0, 0, 0]
}

fn fe_carry(mut h: [u128; 5]) -> Fe {
    for _ in 0..2 {
        for i in 0..4 {
            h[i + 1] += h[i] >> 51;
            h[i] &= MASK51 as u128;
        }
        let c = h[4] >> 51;
        h[4] &= MASK51 as u128;
        h[0] += c * 19;
    }
    [
        h[0] as u64,
        h[1] as u64,
        h[2] as u64,
        h[3] as u64,
        h[4] as u64,
    ]
}

fn fe_add(a: &Fe, b: &Fe) -> Fe {
    fe_carry(std::array::from_fn(|i| a[i] as u128 + b[i] as u128))
}

fn fe_sub(a: &Fe, b: &Fe) -> Fe {
    // a + 4p - b, limb-wise, keeps every limb non-negative for limbs below 2^53.
    const FOUR_P: [u128; 5] = [
        4 * ((1u128 << 51) - 19),
        4 * ((1u128 << 51) - 1),
        4 * ((1u128 << 51) - 1),
        4 * ((1u128 << 51) - 1),
        4 * ((1u128 << 51) - 1),
    ];
    fe_carry(std::array::from_fn(|i| {
        a[i] as u128 + FOUR_P[i] - b[i] as u128
    }))
}

fn fe_mul(a: &Fe, b: &Fe) -> Fe {
    let a: [u128; 5] = a.map(|x| x as u128);
    let b: [u128; 5] = b.map(|x| x as u128);
    let mut r = [0u128; 5];
    for i in 0..5 {
        for j in 0..5 {
            let p = a[i] * b[j];
            if i + j < 5 {
                r[i + j] += p;
            } else {
                r[i + j - 5] += p * 19; // 2^255 = 19 (mod p)
            }
        }
    }
    fe_carry(r)
}

/// a^e, e given as 32 little-endian bytes.
fn fe_pow(a: &Fe, e: &[u8; 32]) -> Fe {
    let mut r = fe_small(1);
    for byte in e.iter().rev() {
        for bit in (0..8).rev() {
            r = fe_mul(&r, &r);
            if (byte >> bit) & 1 == 1 {
                r = fe_mul(&r, a);
            }
        }
    }
    r
}

/// The unique representative in [0, p).
fn fe_canonical(a: &Fe) -> Fe {
    // First make every limb < 2^51 (the value is then < 2^255), then subtract p once if needed.
    let mut h = *a;
    while h.iter().any(|&l| l > MASK51) {
        for i in 0..4 {
            h[i + 1] += h[i] >> 51;
            h[i] &= MASK51;
        }
        let c = h[4] >> 51;
        h[4] &= MASK51;
        h[0] += c * 19;
    }
    let mut q = (h[0] + 19) >> 51;
    for limb in &h[1..] {
        q = (limb + q) >> 51;
    }
    h[0] += 19 * q;
    for i in 0..4 {
        h[i + 1] += h[i] >> 51;
        h[i] &= MASK51;
    }
    h[4] &= MASK51;
    h
}

fn is_on_curve(address: &str) -> bool {
    let bytes = bs58::decode(address).into_vec().expect("base58 address");
    let bytes: [u8; 32] = bytes.try_into().expect("32-byte address");
    // p - 2 = 2^255 - 21 and (p - 1) / 2 = 2^254 - 10, little-endian.
    let mut p_minus_2 = [0xffu8; 32];
    p_minus_2[0] = 0xeb;
    p_minus_2[31] = 0x7f;
    let mut half_p_minus_1 = [0xffu8; 32];
    half_p_minus_1[0] = 0xf6;
    half_p_minus_1[31] = 0x3f;
    // d = -121665 / 121666
    let d = fe_mul(
        &fe_sub(&fe_small(0), &fe_small(121_665)),
        &fe_pow(&fe_small(121_666), &p_minus_2),
    );
    let y = fe_from_bytes(&bytes);
    let y2 = fe_mul(&y, &y);
    let u = fe_sub(&y2, &fe_small(1));
    let v = fe_add(&fe_mul(&d, &y2), &fe_small(1));
    let uv = fe_canonical(&fe_mul(&u, &v));
    if uv == [0; 5] {
        return true;
    }
    fe_canonical(&fe_pow(&uv, &half_p_minus_1)) == fe_small(1)
}
