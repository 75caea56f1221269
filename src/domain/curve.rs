//! Is an address a wallet (a point on the ed25519 curve) or a program-derived address?
//!
//! Pools, vaults and bonding curves are owned by program-derived addresses, which are off the
//! curve by construction; traders are wallets. The check decompresses the point (a field square
//! root, a few microseconds), so results are cached per thread: pool authorities recur constantly.

use std::cell::RefCell;

use curve25519_dalek::edwards::CompressedEdwardsY;

use super::pubkey::{KeyMap, Pubkey};

/// Cache entries kept per thread before the cache is cleared (bounded memory).
const CACHE_LIMIT: usize = 65_536;

thread_local! {
    static CACHE: RefCell<KeyMap<bool>> = RefCell::new(KeyMap::with_capacity_and_hasher(1024, Default::default()));
}

/// True when `key` is a valid ed25519 public key, i.e. it can belong to a wallet.
pub fn is_on_curve(key: &Pubkey) -> bool {
    CACHE.with(|cache| {
        if let Some(&known) = cache.borrow().get(key) {
            return known;
        }
        let result = CompressedEdwardsY(key.0).decompress().is_some();
        let mut cache = cache.borrow_mut();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(*key, result);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Pubkey {
        s.parse().unwrap()
    }

    #[test]
    fn wallets_are_on_curve() {
        // Fee payers (signers) of mainnet fixtures.
        assert!(is_on_curve(&key(
            "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE"
        )));
        assert!(is_on_curve(&key(
            "AhaLPdAJquxKZ4wn3o44V9q6BM7BNoi4AgUbBwnzLTs4"
        )));
    }

    #[test]
    fn program_derived_addresses_are_off_curve() {
        // Raydium AMM v4 authority and a pump.fun bonding curve.
        assert!(!is_on_curve(&key(
            "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
        )));
        assert!(!is_on_curve(&key(
            "DizioTk7HKkYcVjiKuB6wdFXtGSisGX57mwG9PFwxXxm"
        )));
    }

    #[test]
    fn cached_answer_matches_fresh_answer() {
        let k = key("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1");
        assert_eq!(is_on_curve(&k), is_on_curve(&k));
    }
}
