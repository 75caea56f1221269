//! Which assets are quotes (what traders pay with) and which programs are trading venues.
//!
//! Both are data, not code: defaults live here and the config file may replace them.

use super::pubkey::{KeyMap, Pubkey};

/// The wrapped-SOL mint; WSOL is SOL (its token balance moves with its account's lamports).
pub const WSOL_MINT: Pubkey = Pubkey([
    6, 155, 136, 87, 254, 171, 129, 132, 251, 104, 127, 99, 70, 24, 192, 53, 218, 196, 57, 220, 26,
    235, 59, 85, 152, 160, 240, 0, 0, 0, 0, 1,
]);
pub const SOL_DECIMALS: u8 = 9;

/// A quote asset other than SOL (SOL is always the first quote).
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteAsset {
    pub mint: Pubkey,
    pub symbol: String,
    /// Worth one US dollar: swaps against SOL teach the SOL/USD reference price.
    pub usd_pegged: bool,
}

/// The ordered quote set: SOL first, then these. Earlier means "more of a quote": a swap between
/// two quotes is a buy of the later one (SOL→USDC buys USDC).
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteAssets {
    pub others: Vec<QuoteAsset>,
}

impl QuoteAssets {
    /// Priority of an asset (0 = SOL), or `None` for a non-quote token.
    pub fn rank(&self, asset: &Asset) -> Option<usize> {
        match asset {
            Asset::Sol => Some(0),
            Asset::Token(mint) => self
                .others
                .iter()
                .position(|q| &q.mint == mint)
                .map(|p| p + 1),
        }
    }

    pub fn is_usd_pegged(&self, mint: &Pubkey) -> bool {
        self.others.iter().any(|q| &q.mint == mint && q.usd_pegged)
    }
}

impl Default for QuoteAssets {
    fn default() -> Self {
        let q = |mint: &str, symbol: &str| QuoteAsset {
            mint: mint.parse().expect("built-in mint is valid base58"),
            symbol: symbol.into(),
            usd_pegged: true,
        };
        QuoteAssets {
            others: vec![
                q("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "USDC"),
                q("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", "USDT"),
            ],
        }
    }
}

/// Something a wallet's balance can change in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Asset {
    /// Native SOL and wrapped SOL together, in lamports.
    Sol,
    Token(Pubkey),
}

impl Asset {
    /// The mint used to name this asset in output (WSOL for SOL).
    pub fn mint(&self) -> Pubkey {
        match self {
            Asset::Sol => WSOL_MINT,
            Asset::Token(m) => *m,
        }
    }
}

/// A pool program moves the liquidity; an aggregator only routes to pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueKind {
    Amm,
    Aggregator,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VenueProgram {
    pub program: Pubkey,
    pub name: String,
    pub kind: VenueKind,
}

/// Index of a venue in its [`VenueTable`]; [`Venue::UNKNOWN`] when no known program traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Venue(pub u16);

impl Venue {
    pub const UNKNOWN: Venue = Venue(u16::MAX);
}

/// The known DEX programs; also the ingest subscription filter.
#[derive(Debug, Clone)]
pub struct VenueTable {
    programs: Vec<VenueProgram>,
    by_key: KeyMap<u16>,
}

impl VenueTable {
    pub fn new(programs: Vec<VenueProgram>) -> Self {
        let by_key = programs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.program, i as u16))
            .collect();
        VenueTable { programs, by_key }
    }

    pub fn lookup(&self, program: &Pubkey) -> Option<(Venue, VenueKind)> {
        self.by_key
            .get(program)
            .map(|&i| (Venue(i), self.programs[i as usize].kind))
    }

    /// The venue's name, `"unknown"` for [`Venue::UNKNOWN`].
    pub fn name(&self, venue: Venue) -> &str {
        self.programs
            .get(venue.0 as usize)
            .map_or("unknown", |p| p.name.as_str())
    }

    pub fn programs(&self) -> &[VenueProgram] {
        &self.programs
    }
}

/// Program id, name and kind of every venue known out of the box. The first nine are the
/// reference system's subscription list; the others were seen routing real swaps in the fixtures.
pub const DEFAULT_VENUES: &[(&str, &str, VenueKind)] = &[
    (
        "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",
        "pumpfun",
        VenueKind::Amm,
    ),
    (
        "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA",
        "pumpswap",
        VenueKind::Amm,
    ),
    (
        "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",
        "jupiter",
        VenueKind::Aggregator,
    ),
    (
        "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
        "raydium_amm_v4",
        VenueKind::Amm,
    ),
    (
        "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",
        "raydium_cpmm",
        VenueKind::Amm,
    ),
    (
        "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK",
        "raydium_clmm",
        VenueKind::Amm,
    ),
    (
        "routeUGWgWzqBWFcrCfv8tritsqukccJPu3q5GPP3xS",
        "raydium_router",
        VenueKind::Aggregator,
    ),
    (
        "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc",
        "orca_whirlpool",
        VenueKind::Amm,
    ),
    (
        "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
        "meteora_dlmm",
        VenueKind::Amm,
    ),
    (
        "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj",
        "raydium_launchlab",
        VenueKind::Amm,
    ),
    (
        "PhoeNiXZ8ByJGLkxNfZRnkUfjvmuYqLR89jjFHGqdXY",
        "phoenix",
        VenueKind::Amm,
    ),
    (
        "obriQD1zbpyLz95G5n7nJe6a4DPjpFwa5XYPoNm113y",
        "obric_v2",
        VenueKind::Amm,
    ),
    (
        "ZERor4xhbUycZ6gb9ntrhqscUcZmAbQDjEAtCf4hbZY",
        "zerofi",
        VenueKind::Amm,
    ),
    (
        "HyaB3W9q6XdA5xwpU4XnSZV94htfmbmqJXZcEbRaJutt",
        "invariant",
        VenueKind::Amm,
    ),
    (
        "6m2CDdhRgxpH4WjvdzxAYbGxwdGUz5MziiL5jek2kBma",
        "okx_router",
        VenueKind::Aggregator,
    ),
    (
        "BSfD6SHZigAfDWSjzD5Q41jw8LmKwtmjskPH9XW1mrRW",
        "photon",
        VenueKind::Aggregator,
    ),
];

impl Default for VenueTable {
    fn default() -> Self {
        VenueTable::new(
            DEFAULT_VENUES
                .iter()
                .map(|(id, name, kind)| VenueProgram {
                    program: id.parse().expect("built-in program id is valid base58"),
                    name: (*name).into(),
                    kind: *kind,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsol_constant_matches_its_base58() {
        assert_eq!(
            WSOL_MINT.to_string(),
            "So11111111111111111111111111111111111111112"
        );
    }

    #[test]
    fn sol_outranks_usdc_outranks_usdt_and_tokens_have_no_rank() {
        let q = QuoteAssets::default();
        let usdc = Asset::Token(q.others[0].mint);
        let usdt = Asset::Token(q.others[1].mint);
        assert_eq!(q.rank(&Asset::Sol), Some(0));
        assert_eq!(q.rank(&usdc), Some(1));
        assert_eq!(q.rank(&usdt), Some(2));
        assert_eq!(q.rank(&Asset::Token(Pubkey([7; 32]))), None);
    }

    #[test]
    fn venue_names_resolve_and_unknown_is_named() {
        let t = VenueTable::default();
        let pump: Pubkey = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
            .parse()
            .unwrap();
        let (v, kind) = t.lookup(&pump).unwrap();
        assert_eq!(t.name(v), "pumpfun");
        assert_eq!(kind, VenueKind::Amm);
        assert_eq!(t.name(Venue::UNKNOWN), "unknown");
        assert!(t.lookup(&Pubkey::default()).is_none());
    }
}
