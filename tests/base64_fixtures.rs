//! `encoding: base64` getTransaction results decode exactly like the `json` form of the same
//! transaction (tests/fixtures/base64, derived from tests/fixtures/mainnet by make_pairs.py, which
//! verifies every signature against the serialised message: the bytes are the signed mainnet
//! transaction). Checked three ways: the decoded transactions are equal, the stream payload
//! `replay` writes is byte-identical, and `pocketwatcher parse --explain` prints the same output.

use std::path::PathBuf;
use std::process::Command;

use pocketwatcher::cli::replay::load_transactions;
use pocketwatcher::domain::{wire, Transaction};

/// (fixture, expected message layout, loaded addresses it must carry)
const PAIRS: &[(&str, &str, usize)] = &[
    ("pumpfun_buy_0.json", "legacy", 0),
    ("pumpswap_buy.json", "legacy", 0),
    ("jupiter_route_1.json", "v0", 6),
    ("okx_swap_0.json", "v0", 21),
    ("pumpfun_buy_bundle.json", "v0", 0),
];

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn decode_one(path: PathBuf) -> Transaction {
    let mut all = load_transactions(std::slice::from_ref(&path)).unwrap();
    assert_eq!(all.len(), 1, "{}", path.display());
    let (_, tx) = all.remove(0);
    tx.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn base64_fixtures_really_are_the_base64_encoding() {
    for (file, _, _) in PAIRS {
        let text = std::fs::read_to_string(dir("base64").join(file)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tx = v["transaction"]
            .as_array()
            .expect("transaction is an array");
        assert_eq!(tx.len(), 2, "{file}");
        assert_eq!(tx[1], "base64", "{file}");
        assert!(v["meta"].is_object(), "{file}");
    }
}

#[test]
fn base64_and_json_forms_decode_to_the_same_transaction() {
    for (file, layout, loaded) in PAIRS {
        let from_json = decode_one(dir("mainnet").join(file));
        let from_base64 = decode_one(dir("base64").join(file));
        assert_eq!(from_base64, from_json, "{file}");
        // What `replay` writes to the stream is byte-identical.
        assert_eq!(
            wire::encode(&from_base64),
            wire::encode(&from_json),
            "{file}"
        );
        let got_loaded = from_base64.account_keys.len() - from_base64.num_static_keys as usize;
        assert_eq!(got_loaded, *loaded, "{file} ({layout})");
    }
}

fn parse_output(path: PathBuf) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .arg("parse")
        .arg("--explain")
        .arg(&path)
        .output()
        .expect("run pocketwatcher parse");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}: {stderr}", path.display());
    (stdout, stderr)
}

#[test]
fn parse_prints_the_same_swaps_for_both_encodings() {
    let mut swaps = 0;
    for (file, _, _) in PAIRS {
        let (json_out, json_err) = parse_output(dir("mainnet").join(file));
        let (b64_out, b64_err) = parse_output(dir("base64").join(file));
        assert_eq!(b64_out, json_out, "{file}");
        assert_eq!(b64_err, json_err, "{file}");
        swaps += json_out.lines().filter(|l| !l.trim().is_empty()).count();
    }
    // The set holds real swaps (pump.fun, PumpSwap, Jupiter, OKX, a 4-wallet bundle), so the
    // comparison is not between two empty outputs.
    assert!(swaps >= 5, "only {swaps} swap lines");
}
