//! Detection scenarios: pump.fun-like trades as scripted transactions for the fake Geyser, and an
//! independent model of the 18 window metrics and the six default triggers (reference §1.3, §7)
//! that says what each scenario must fire, when, and with which numbers.
//!
//! A [`Trade`] is what a transaction means (who bought or sold how much of what, when);
//! [`Trade::transaction`] builds the balance changes a pump.fun bonding-curve trade leaves on
//! chain. Each scenario is designed so that its trigger becomes true only with its **last** trade
//! (the "crossing"): a test can stream everything before it, wait until the pipeline has counted
//! it, release the crossing trade and then knows exactly which window contents the alert must
//! report. [`simulate`] replays a whole script through the model and checks that design: at every
//! prefix of the stream, for every mint, nothing but the intended triggers ever matches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use pocketwatcher::domain::curve::is_on_curve;
use pocketwatcher::domain::test_support::{wallet, TxBuilder};
use pocketwatcher::domain::{Pubkey, Side, Signature, Transaction};
use pocketwatcher::fake_geyser::ScriptedTx;

/// The pump.fun bonding-curve program: the venue of every scenario trade.
pub const PUMP_FUN: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
pub const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
/// Block time of the first scenario second: a UTC day boundary plus ten minutes, so a script of a
/// few hours stays in one first-seen day and its minute buckets start on the minute.
pub const T0: i64 = 1_700_006_400 + 600;
/// Slot of the first scripted transaction (one transaction per slot).
pub const FIRST_SLOT: u64 = 250_000_000;
/// Transaction fee paid by every trader.
const FEE: u64 = 5_000;
/// Raw token units per lamport (pump.fun tokens have 6 decimals; the price is irrelevant here).
const TOKENS_PER_LAMPORT: u64 = 30;

/// `x` SOL in lamports.
pub fn sol(x: f64) -> u64 {
    (x * LAMPORTS_PER_SOL as f64).round() as u64
}

/// The minute bucket of a block time.
pub fn minute_of(t: i64) -> i64 {
    t.div_euclid(60)
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

fn hash64(parts: &[&dyn HashPart]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in parts {
        p.feed(&mut h);
    }
    h.finish()
}

trait HashPart {
    fn feed(&self, h: &mut std::collections::hash_map::DefaultHasher);
}

impl<T: Hash> HashPart for T {
    fn feed(&self, h: &mut std::collections::hash_map::DefaultHasher) {
        self.hash(h);
    }
}

/// A deterministic key from a tag and a number; off the curve (an account owned by a program)
/// when `off_curve`, otherwise whatever the hash gives.
fn derived(tag: &str, n: u64, off_curve: bool) -> Pubkey {
    for attempt in 0u64.. {
        let mut bytes = [0u8; 32];
        for (i, chunk) in bytes.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&hash64(&[&tag, &n, &attempt, &i]).to_le_bytes());
        }
        let key = Pubkey(bytes);
        if !off_curve || !is_on_curve(&key) {
            return key;
        }
    }
    unreachable!("about half of all keys are off the curve")
}

/// The mint of a named token.
pub fn mint(name: &str, n: u64) -> Pubkey {
    derived(&format!("mint:{name}"), n, false)
}

/// The bonding curve of a mint (a PDA holding the SOL reserve).
pub fn bonding_curve(mint: &Pubkey) -> Pubkey {
    derived("curve", hash64(&[&mint.0]), true)
}

/// The curve's token account (the token reserve).
pub fn curve_vault(mint: &Pubkey) -> Pubkey {
    derived("curve-vault", hash64(&[&mint.0]), true)
}

/// A wallet's associated token account for a mint.
pub fn token_account(wallet: &Pubkey, mint: &Pubkey) -> Pubkey {
    derived("ata", hash64(&[&wallet.0, &mint.0]), true)
}

/// `n` fresh on-curve wallets of a group (groups never share wallets).
pub fn wallets(group: u32, n: usize) -> Vec<Pubkey> {
    (0..n as u32).map(|i| wallet(group * 10_000 + i)).collect()
}

// ---------------------------------------------------------------------------------------------
// Trades and their transactions
// ---------------------------------------------------------------------------------------------

/// What one transaction means: `wallet` bought (SOL out, tokens in) or sold `mint` for
/// `lamports` at block time `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub wallet: Pubkey,
    pub mint: Pubkey,
    pub side: Side,
    pub lamports: u64,
    pub tokens: u64,
    pub at: i64,
}

pub fn buy(wallet: Pubkey, mint: Pubkey, lamports: u64, tokens: u64, at_unix: i64) -> Trade {
    Trade {
        wallet,
        mint,
        side: Side::Buy,
        lamports,
        tokens,
        at: at_unix,
    }
}

pub fn sell(wallet: Pubkey, mint: Pubkey, lamports: u64, tokens: u64, at_unix: i64) -> Trade {
    Trade {
        wallet,
        mint,
        side: Side::Sell,
        lamports,
        tokens,
        at: at_unix,
    }
}

/// A buy or sell whose token amount follows the (constant) scenario price.
fn trade(side: Side, wallet: Pubkey, mint: Pubkey, lamports: u64, at: i64) -> Trade {
    let tokens = lamports * TOKENS_PER_LAMPORT;
    match side {
        Side::Buy => buy(wallet, mint, lamports, tokens, at),
        Side::Sell => sell(wallet, mint, lamports, tokens, at),
    }
}

impl Trade {
    /// The transaction a pump.fun bonding-curve trade leaves: the trader (signer, fee payer)
    /// pays SOL into the curve account and receives tokens from the curve's token account, or
    /// the reverse; the pump.fun program is invoked with those accounts. `nonce` makes the
    /// signature unique.
    pub fn transaction(&self, nonce: u64) -> Transaction {
        let pump: Pubkey = PUMP_FUN.parse().expect("program id");
        let curve = bonding_curve(&self.mint);
        let vault = curve_vault(&self.mint);
        let ata = token_account(&self.wallet, &self.mint);
        let wallet_sol = 50 * LAMPORTS_PER_SOL;
        let curve_sol = 40 * LAMPORTS_PER_SOL;
        let reserve = 800_000_000_000_000u64;
        let held = 10 * self.tokens;
        let mut b = TxBuilder::new(self.wallet);
        b.fee(FEE).decimals(6);
        match self.side {
            Side::Buy => {
                b.lamports(self.wallet, wallet_sol, wallet_sol - self.lamports - FEE)
                    .lamports(curve, curve_sol, curve_sol + self.lamports)
                    .token(vault, curve, self.mint, reserve, reserve - self.tokens)
                    .token(ata, self.wallet, self.mint, held, held + self.tokens);
            }
            Side::Sell => {
                b.lamports(self.wallet, wallet_sol, wallet_sol + self.lamports - FEE)
                    .lamports(curve, curve_sol, curve_sol - self.lamports)
                    .token(vault, curve, self.mint, reserve, reserve + self.tokens)
                    .token(ata, self.wallet, self.mint, held, held - self.tokens);
            }
        }
        b.invoke(pump, 1, &[self.mint, curve, vault, ata, self.wallet]);
        let mut tx = b.build();
        let mut sig = [0u8; 64];
        for (i, chunk) in sig.chunks_exact_mut(8).enumerate() {
            let h = hash64(&[&"sig", &nonce, &self.wallet.0, &self.mint.0, &self.at, &i]);
            chunk.copy_from_slice(&h.to_le_bytes());
        }
        tx.signature = Signature(sig);
        tx.block_time = Some(self.at);
        tx
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios and scripts
// ---------------------------------------------------------------------------------------------

/// A pattern on one mint that must fire `trigger` exactly with its last trade.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub mint: Pubkey,
    pub trigger: &'static str,
    /// In time order; the last one is the crossing trade.
    pub trades: Vec<Trade>,
}

impl Scenario {
    fn new(name: String, mint: Pubkey, trigger: &'static str, mut trades: Vec<Trade>) -> Self {
        trades.sort_by_key(|t| t.at);
        let last = trades.last().expect("a scenario has trades");
        assert!(
            last.side == Side::Buy && trades.iter().filter(|t| t.at == last.at).count() == 1,
            "{name}: the crossing buy must be the last trade, alone in its second"
        );
        Scenario {
            name,
            mint,
            trigger,
            trades,
        }
    }

    pub fn crossing(&self) -> &Trade {
        self.trades.last().expect("never empty")
    }

    /// The same pattern, by the same wallets, `secs` later.
    pub fn shifted(&self, secs: i64) -> Scenario {
        Scenario {
            name: format!("{} (+{secs} s)", self.name),
            trades: self
                .trades
                .iter()
                .map(|t| Trade {
                    at: t.at + secs,
                    ..t.clone()
                })
                .collect(),
            ..self.clone()
        }
    }
}

/// Cycles through `pattern` (SOL) for `n` amounts.
fn amounts(pattern: &[f64], n: usize) -> Vec<u64> {
    (0..n).map(|i| sol(pattern[i % pattern.len()])).collect()
}

/// Outsiders selling a little of the mint at the given offsets: keeps the buy/sell ratio finite
/// and realistic; sellers are fresh wallets that never buy.
fn sells(group: u32, mint: Pubkey, start: i64, offsets: &[i64], lamports: u64) -> Vec<Trade> {
    wallets(group, offsets.len())
        .into_iter()
        .zip(offsets)
        .map(|(w, off)| trade(Side::Sell, w, mint, lamports, start + off))
        .collect()
}

/// `concentrated_accumulation`: 25 buys by 4 wallets within 3 minutes, 6.2 SOL; the last buy
/// (1.4 SOL) lifts the 5-minute buy volume from 4.8 over 5. Three outsiders sell.
pub fn concentrated(tag: u32, start: i64) -> Scenario {
    let mint = mint("concentrated", tag as u64);
    let buyers = wallets(1_000 + tag * 10, 4);
    let mut sizes = amounts(&[0.18, 0.22, 0.20, 0.19, 0.21, 0.20], 24);
    sizes.push(sol(1.4));
    let mut trades: Vec<Trade> = sizes
        .iter()
        .enumerate()
        .map(|(i, &l)| trade(Side::Buy, buyers[i % 4], mint, l, start + 7 * i as i64))
        .collect();
    trades.extend(sells(
        1_001 + tag * 10,
        mint,
        start,
        &[30, 90, 150],
        sol(0.1),
    ));
    Scenario::new(
        format!("concentrated #{tag}"),
        mint,
        "concentrated_accumulation",
        trades,
    )
}

/// `stealth_accumulation`: 40 buys of 0.23–0.28 SOL by 14 wallets within 4 minutes; the last
/// buy lifts the buy volume from 9.75 to 10.03 SOL (average 0.25). Four outsiders sell, so the
/// ratio is 10 (extreme_ratio wants more than 10 and comes later anyway).
pub fn stealth(tag: u32, start: i64) -> Scenario {
    let mint = mint("stealth", tag as u64);
    let buyers = wallets(2_000 + tag * 10, 14);
    let mut sizes = amounts(&[0.23, 0.26, 0.24, 0.27, 0.25], 39);
    sizes.push(sol(0.28));
    let mut trades: Vec<Trade> = sizes
        .iter()
        .enumerate()
        .map(|(i, &l)| trade(Side::Buy, buyers[i % 14], mint, l, start + 6 * i as i64))
        .collect();
    trades.extend(sells(
        2_001 + tag * 10,
        mint,
        start,
        &[20, 80, 140, 200],
        sol(0.2),
    ));
    Scenario::new(
        format!("stealth #{tag}"),
        mint,
        "stealth_accumulation",
        trades,
    )
}

/// `whale_concentration`: 12 buys by 9 wallets within 2 minutes; three whales hold 9.0 of
/// 10.8 SOL (83 %). The last whale buy (2 SOL) lifts the volume from 8.8 over 10. Two outsiders
/// sell (ratio 6, so extreme_ratio does not fire first); six small buyers keep it from looking
/// concentrated.
pub fn whale(tag: u32, start: i64) -> Scenario {
    let mint = mint("whale", tag as u64);
    let whales = wallets(3_000 + tag * 10, 3);
    let small = wallets(3_002 + tag * 10, 6);
    let whale_buys = [(0, 1.6), (1, 1.4), (2, 1.5), (0, 1.5), (1, 1.0), (2, 2.0)];
    let mut trades = Vec::new();
    for (i, &(w, size)) in whale_buys.iter().enumerate() {
        let at = start + 20 * i as i64;
        trades.push(trade(Side::Buy, small[i], mint, sol(0.3), at));
        trades.push(trade(Side::Buy, whales[w], mint, sol(size), at + 10));
    }
    trades.extend(sells(3_001 + tag * 10, mint, start, &[45, 85], sol(0.5)));
    Scenario::new(format!("whale #{tag}"), mint, "whale_concentration", trades)
}

/// `slow_stealth_accumulation`: 80 buys of ~0.63 SOL by 8 wallets, one every 30 s for 40
/// minutes (about 6 SOL and 10 buys per 5 minutes: no 5-minute trigger); the last buy lifts the
/// hour's volume from 49.74 to 50.44 SOL. An outsider sells every 4 minutes.
pub fn slow(tag: u32, start: i64) -> Scenario {
    let mint = mint("slow", tag as u64);
    let buyers = wallets(4_000 + tag * 10, 8);
    let mut sizes = amounts(&[0.60, 0.68, 0.62, 0.66, 0.64, 0.58], 79);
    sizes.push(sol(0.70));
    let mut trades: Vec<Trade> = sizes
        .iter()
        .enumerate()
        .map(|(i, &l)| trade(Side::Buy, buyers[i % 8], mint, l, start + 30 * i as i64))
        .collect();
    let offsets: Vec<i64> = (0..10).map(|k| 100 + 240 * k).collect();
    trades.extend(sells(4_001 + tag * 10, mint, start, &offsets, sol(0.3)));
    Scenario::new(
        format!("slow #{tag}"),
        mint,
        "slow_stealth_accumulation",
        trades,
    )
}

/// The trigger of [`ring_volume`]: its count conditions hold only with the crossing buy, its
/// wallet conditions only when the five largest buyers are one funded ring.
pub const FUNDED_RING_TRIGGERS: &str = "[[triggers]]\nname = \"funded_ring\"\nconditions = \
    [\"buy_count_5m >= 17\", \"buy_volume_sol_5m >= 6\", \"largest_cluster_share_5m >= 0.5\", \
    \"funded_by_same_source_pct_5m >= 0.8\"]\n";

/// The five largest buyers of [`ring_volume`] `tag`.
pub fn ring_buyers(tag: u32) -> Vec<Pubkey> {
    wallets(6_000 + tag * 10, 5)
}

/// Issue 11's volume pattern, for `funded_ring`: 5 buyers ([`ring_buyers`]) buy 3 × 0.4 SOL each
/// within 140 s (6 SOL), two outsiders 0.2 SOL each, two outsiders sell 0.1 SOL: 17 buys, 6.4 SOL,
/// the largest cluster holds 6 / 6.4 = 93.75 % when the five are one ring and 1.2 / 6.4 = 18.75 %
/// when they are independent. The last ring buy is the crossing (16 → 17 buys). Whether it is a
/// ring is decided by who funded the buyers (the test serves that on the JSON-RPC stand-in); the
/// trades of a ring and of independents are the same.
pub fn ring_volume(tag: u32, start: i64) -> Scenario {
    let mint = mint("ring", tag as u64);
    let buyers = ring_buyers(tag);
    let mut trades: Vec<Trade> = (0..15)
        .map(|i| {
            trade(
                Side::Buy,
                buyers[i % 5],
                mint,
                sol(0.4),
                start + 10 * i as i64,
            )
        })
        .collect();
    for (w, off) in wallets(6_001 + tag * 10, 2).into_iter().zip([15, 75]) {
        trades.push(trade(Side::Buy, w, mint, sol(0.2), start + off));
    }
    trades.extend(sells(6_002 + tag * 10, mint, start, &[30, 100], sol(0.1)));
    Scenario::new(format!("ring volume #{tag}"), mint, "funded_ring", trades)
}

/// Ordinary mixed traffic: `n` trades over `secs` seconds on `mints` fresh mints (mildly skewed:
/// a few are busier) by `traders` fresh wallets, buys and sells alike, 0.05–0.6 SOL each.
pub fn mixed(
    seed: u32,
    start: i64,
    secs: i64,
    mints: usize,
    traders: usize,
    n: usize,
) -> Vec<Trade> {
    let pool = wallets(50_000 + seed * 10, traders);
    let tokens: Vec<Pubkey> = (0..mints as u64)
        .map(|i| mint(&format!("mixed{seed}"), i))
        .collect();
    let unit =
        |i: usize, what: &str| (hash64(&[&seed, &i, &what]) >> 11) as f64 / (1u64 << 53) as f64;
    let mut trades: Vec<Trade> = (0..n)
        .map(|i| {
            let u = unit(i, "mint");
            let m = ((mints as f64 * u * u) as usize).min(mints - 1);
            let w = ((traders as f64 * unit(i, "wallet")) as usize).min(traders - 1);
            let side = if unit(i, "side") < 0.5 {
                Side::Buy
            } else {
                Side::Sell
            };
            let lamports = sol(0.05 + 0.55 * unit(i, "size"));
            let at = start + (secs as f64 * unit(i, "time")) as i64;
            trade(side, pool[w], tokens[m], lamports, at)
        })
        .collect();
    trades.sort_by_key(|t| t.at);
    trades
}

/// A stream: scenarios and background trades merged in time order (stable: at equal times,
/// scenarios in the order given, then the background).
#[derive(Debug, Clone)]
pub struct Script {
    pub trades: Vec<Trade>,
    pub scenarios: Vec<Scenario>,
    /// Position in `trades` of each scenario's crossing trade.
    crossings: Vec<usize>,
}

impl Script {
    pub fn new(scenarios: Vec<Scenario>, background: Vec<Trade>) -> Script {
        let mut labelled: Vec<(i64, usize, usize, Trade)> = Vec::new();
        for (s, scenario) in scenarios.iter().enumerate() {
            for (i, t) in scenario.trades.iter().enumerate() {
                labelled.push((t.at, s, i, t.clone()));
            }
        }
        for (i, t) in background.into_iter().enumerate() {
            labelled.push((t.at, scenarios.len(), i, t));
        }
        labelled.sort_by_key(|(at, part, i, _)| (*at, *part, *i));
        let crossings = scenarios
            .iter()
            .enumerate()
            .map(|(s, scenario)| {
                labelled
                    .iter()
                    .position(|(_, part, i, _)| *part == s && *i == scenario.trades.len() - 1)
                    .expect("crossing is in the script")
            })
            .collect();
        Script {
            trades: labelled.into_iter().map(|(_, _, _, t)| t).collect(),
            scenarios,
            crossings,
        }
    }

    /// Position of scenario `i`'s crossing trade in the stream.
    pub fn crossing(&self, i: usize) -> usize {
        self.crossings[i]
    }

    /// The fake Geyser's script: one slot per trade (so a script released up to any trade
    /// leaves no slot half-sent), each slot at its trade's block time.
    pub fn scripted(&self) -> Vec<ScriptedTx> {
        self.trades
            .iter()
            .enumerate()
            .map(|(i, t)| ScriptedTx {
                slot: FIRST_SLOT + i as u64,
                block_time: t.at,
                tx: t.transaction(i as u64),
            })
            .collect()
    }

    /// Every mint of the script.
    pub fn mints(&self) -> HashSet<Pubkey> {
        self.trades.iter().map(|t| t.mint).collect()
    }

    /// `{mint}:{minute}` → `(buys, sells, buy lamports, sell lamports)` of the first `n`
    /// trades: what the pipeline's counters must hold.
    pub fn counters(&self, n: usize) -> BTreeMap<String, (u64, u64, u64, u64)> {
        let mut out: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
        for t in &self.trades[..n] {
            let e = out
                .entry(format!("{}:{}", t.mint, minute_of(t.at)))
                .or_default();
            match t.side {
                Side::Buy => {
                    e.0 += 1;
                    e.2 += t.lamports;
                }
                Side::Sell => {
                    e.1 += 1;
                    e.3 += t.lamports;
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The model: window metrics and default triggers
// ---------------------------------------------------------------------------------------------

/// The 18 metrics by grammar name.
pub type Metrics = BTreeMap<String, f64>;

/// The stream seen so far (in time order), indexed for window reads.
#[derive(Debug, Default)]
pub struct Model {
    trades: Vec<Trade>,
    by_mint: HashMap<Pubkey, Vec<usize>>,
    first_seen: HashMap<Pubkey, i64>,
    now: i64,
}

impl Model {
    pub fn of(trades: &[Trade]) -> Model {
        let mut m = Model::default();
        for t in trades {
            m.push(t.clone());
        }
        m
    }

    pub fn push(&mut self, t: Trade) {
        assert!(
            t.at >= self.now || self.trades.is_empty(),
            "trades in time order"
        );
        self.now = t.at;
        self.by_mint
            .entry(t.mint)
            .or_default()
            .push(self.trades.len());
        let seen = self.first_seen.entry(t.wallet).or_insert(t.at);
        *seen = (*seen).min(t.at);
        self.trades.push(t);
    }

    /// Newest block time seen (the detector's "now").
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Trades of `mint` so far.
    pub fn count(&self, mint: &Pubkey) -> usize {
        self.by_mint.get(mint).map_or(0, Vec::len)
    }

    /// Mints with a trade in the hour before `now`.
    pub fn active_mints(&self, now: i64) -> Vec<Pubkey> {
        let first = minute_of(now) - 59;
        let mut v: Vec<Pubkey> = self
            .by_mint
            .iter()
            .filter(|(_, idx)| {
                idx.last()
                    .is_some_and(|&i| minute_of(self.trades[i].at) >= first)
            })
            .map(|(m, _)| *m)
            .collect();
        v.sort();
        v
    }

    /// The 18 metrics of `mint` at block time `now`: each window is the minute buckets ending
    /// with `now`'s minute (5 or 60 of them); a buyer is new when first seen (any trade, any
    /// mint) in the window's first minute or later.
    pub fn metrics(&self, mint: &Pubkey, now: i64) -> Metrics {
        let mut out = Metrics::new();
        for (suffix, minutes) in [("5m", 5), ("1h", 60)] {
            let last = minute_of(now);
            let first = last - (minutes - 1);
            let (mut buys, mut sells, mut buy_lamports) = (0u64, 0u64, 0u64);
            let mut sellers: HashSet<Pubkey> = HashSet::new();
            let mut per_wallet: HashMap<Pubkey, u64> = HashMap::new();
            let all = self.by_mint.get(mint).map(Vec::as_slice).unwrap_or(&[]);
            let start = all.partition_point(|&i| minute_of(self.trades[i].at) < first);
            for &i in &all[start..] {
                let t = &self.trades[i];
                if t.at > now || minute_of(t.at) > last {
                    continue;
                }
                match t.side {
                    Side::Buy => {
                        buys += 1;
                        buy_lamports += t.lamports;
                        *per_wallet.entry(t.wallet).or_default() += t.lamports;
                    }
                    Side::Sell => {
                        sells += 1;
                        sellers.insert(t.wallet);
                    }
                }
            }
            let volume = buy_lamports as f64 / LAMPORTS_PER_SOL as f64;
            let mut sizes: Vec<u64> = per_wallet.values().copied().collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let top3: u64 = sizes.iter().take(3).sum();
            let new = per_wallet
                .keys()
                .filter(|w| minute_of(self.first_seen[*w]) >= first)
                .count();
            let values = [
                ("buy_count", buys as f64),
                ("sell_count", sells as f64),
                ("unique_buyers", per_wallet.len() as f64),
                ("unique_sellers", sellers.len() as f64),
                ("buy_volume_sol", volume),
                (
                    "avg_buy_size",
                    if buys > 0 { volume / buys as f64 } else { 0.0 },
                ),
                (
                    "buy_sell_ratio",
                    match (buys, sells) {
                        (0, 0) => 0.0,
                        (_, 0) => f64::INFINITY,
                        (b, s) => b as f64 / s as f64,
                    },
                ),
                (
                    "top_3_buyers_volume_share",
                    if buy_lamports > 0 {
                        top3 as f64 / buy_lamports as f64
                    } else {
                        0.0
                    },
                ),
                (
                    "new_wallet_pct",
                    if per_wallet.is_empty() {
                        0.0
                    } else {
                        new as f64 / per_wallet.len() as f64
                    },
                ),
            ];
            for (stem, v) in values {
                out.insert(format!("{stem}_{suffix}"), v);
            }
        }
        out
    }

    /// Whether "new buyer" means the same under the reference's definition (first seen at most
    /// the window's length before `now`) as under the minute-bucket one: scenarios keep their
    /// buyers far from that edge so either implementation gives the same `new_wallet_pct`.
    pub fn new_wallets_unambiguous(&self, mint: &Pubkey, now: i64) -> bool {
        [(5, 300), (60, 3600)].iter().all(|&(minutes, secs)| {
            let first = minute_of(now) - (minutes - 1);
            self.by_mint[mint]
                .iter()
                .map(|&i| &self.trades[i])
                .filter(|t| t.side == Side::Buy && minute_of(t.at) >= first && t.at <= now)
                .all(|t| {
                    let seen = self.first_seen[&t.wallet];
                    (minute_of(seen) >= first) == (now - seen <= secs)
                })
        })
    }
}

/// A condition of the grammar: `metric op value`.
type Condition = (&'static str, &'static str, f64);

/// The six default triggers of reference §1.3, in order.
pub const DEFAULT_TRIGGERS: [(&str, &[Condition]); 6] = [
    (
        "concentrated_accumulation",
        &[
            ("buy_count_5m", ">=", 20.0),
            ("unique_buyers_5m", "<=", 5.0),
            ("buy_volume_sol_5m", ">=", 5.0),
        ],
    ),
    (
        "stealth_accumulation",
        &[
            ("buy_volume_sol_5m", ">=", 10.0),
            ("avg_buy_size_5m", "<", 0.3),
            ("buy_count_5m", ">=", 15.0),
        ],
    ),
    (
        "extreme_ratio",
        &[
            ("buy_sell_ratio_5m", ">", 10.0),
            ("buy_volume_sol_5m", ">=", 10.0),
            ("buy_count_5m", ">=", 10.0),
            ("unique_buyers_5m", ">=", 3.0),
        ],
    ),
    (
        "whale_concentration",
        &[
            ("top_3_buyers_volume_share_5m", ">=", 0.8),
            ("buy_volume_sol_5m", ">=", 10.0),
            ("buy_count_5m", ">=", 10.0),
        ],
    ),
    (
        "slow_stealth_accumulation",
        &[
            ("buy_volume_sol_1h", ">=", 50.0),
            ("unique_buyers_1h", "<=", 10.0),
            ("avg_buy_size_1h", "<", 1.0),
        ],
    ),
    (
        "slow_concentration",
        &[
            ("top_3_buyers_volume_share_1h", ">=", 0.5),
            ("buy_count_1h", ">=", 30.0),
            ("buy_volume_sol_1h", ">=", 20.0),
        ],
    ),
];

fn holds(m: &Metrics, (metric, op, value): &Condition) -> bool {
    let v = m[*metric];
    match *op {
        ">=" => v >= *value,
        "<=" => v <= *value,
        ">" => v > *value,
        "<" => v < *value,
        "==" => v == *value,
        other => panic!("unknown operator {other}"),
    }
}

/// The reference's evaluation: every 5-minute trigger in order, then every 1-hour one (a
/// trigger is "1h" when any condition names a `_1h` metric); the first that matches wins.
pub fn first_match(m: &Metrics) -> Option<&'static str> {
    let is_hourly = |conds: &[Condition]| conds.iter().any(|c| c.0.contains("_1h"));
    let five = DEFAULT_TRIGGERS.iter().filter(|(_, c)| !is_hourly(c));
    let hour = DEFAULT_TRIGGERS.iter().filter(|(_, c)| is_hourly(c));
    five.chain(hour)
        .find(|(_, conds)| conds.iter().all(|c| holds(m, c)))
        .map(|(name, _)| *name)
}

/// What the model says fired.
#[derive(Debug, Clone)]
pub struct Fired {
    /// Number of trades streamed when it fired (the crossing trade's position + 1).
    pub after: usize,
    pub mint: Pubkey,
    pub trigger: &'static str,
    pub metrics: Metrics,
}

/// How a fired mint is treated afterwards by the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// HOT for the rest of the script (a long hot TTL and cooldown).
    HotForever,
    /// Every match is reported, once per change of the mint's windows (short TTLs: the
    /// caller checks the matches).
    None,
}

/// Evaluates every active mint after every trade of the script (any batch boundary is a
/// possible evaluation point) and reports what matches.
pub fn simulate(trades: &[Trade], suppression: Suppression) -> Vec<Fired> {
    let mut model = Model::default();
    let mut hot: HashSet<Pubkey> = HashSet::new();
    let mut fired = Vec::new();
    // A mint's windows change only with its own trades or a new minute (a buyer's first-seen
    // time never moves once it bought), so unchanged ones need no second look.
    let mut seen: HashMap<Pubkey, (i64, usize)> = HashMap::new();
    for (i, t) in trades.iter().enumerate() {
        model.push(t.clone());
        let now = model.now();
        for mint in model.active_mints(now) {
            let state = (minute_of(now), model.count(&mint));
            if hot.contains(&mint) || seen.insert(mint, state) == Some(state) {
                continue;
            }
            let metrics = model.metrics(&mint, now);
            if let Some(trigger) = first_match(&metrics) {
                if suppression == Suppression::HotForever {
                    hot.insert(mint);
                }
                fired.push(Fired {
                    after: i + 1,
                    mint,
                    trigger,
                    metrics,
                });
            }
        }
    }
    fired
}

/// What the alerts of a script must be, one per scenario in crossing order, checked against
/// the model: each fires its trigger exactly at its crossing trade, nothing else ever fires, and
/// the numbers it reports do not depend on how "new wallet" is read.
pub fn expected_alerts(script: &Script) -> Vec<Fired> {
    let fired = simulate(&script.trades, Suppression::HotForever);
    let mut want: Vec<(usize, Pubkey, &'static str)> = script
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (script.crossing(i) + 1, s.mint, s.trigger))
        .collect();
    want.sort_by_key(|w| w.0);
    let got: Vec<(usize, Pubkey, &'static str)> =
        fired.iter().map(|f| (f.after, f.mint, f.trigger)).collect();
    assert_eq!(got, want, "the model disagrees with the scenario design");
    for f in &fired {
        let model = Model::of(&script.trades[..f.after]);
        assert!(
            model.new_wallets_unambiguous(&f.mint, model.now()),
            "{}: new_wallet_pct depends on the definition",
            f.trigger
        );
        for (name, v) in &f.metrics {
            assert!(v.is_finite(), "{}: {name} is {v}", f.trigger);
        }
    }
    fired
}
