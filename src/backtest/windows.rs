//! The counters and window reads of the live detector, in memory: what the batch commit writes to
//! Redis (`store/redis/commit.rs`) is applied here from the same [`CounterDeltas`], and a read
//! answers exactly what `store/redis/windows.rs` + `windows.lua` answer over those keys — the same
//! minute sums, the same SOL/USD price, HyperLogLog counts equal to `PFCOUNT`'s (the same
//! registers, see [`crate::domain::hll`]), the same top buyers with Redis's tie order (score, then
//! member bytes) and the same new-wallet sample. `tests/backtest_windows.rs` checks it against a
//! real Redis.
//!
//! Memory stays bounded by the windows: minutes older than the hour and mints idle for longer
//! than the sweep can see are dropped, and wallets are forgotten once no first-seen day of theirs
//! is consulted any more.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::domain::counters::{
    CounterDeltas, MinuteCounts, PriceObservation, TOP_BUYERS_PER_MINUTE,
};
use crate::domain::first_seen::{self, FirstSeen};
use crate::domain::hll;
use crate::domain::Pubkey;
use crate::store::redis::windows::{DetailParts, MintWindows};

/// New-wallet share is judged on this many of the largest buyers (`windows.lua` NEW_SAMPLE).
const NEW_SAMPLE: usize = 100;
/// Top buyers returned per window (`windows.lua`).
const TOP: usize = 5;

type WalletId = u32;

#[derive(Debug)]
struct Wallet {
    key: Pubkey,
    /// Base58: the member Redis stores (HyperLogLog element, sorted-set member, tie order).
    name: String,
    pattern: (u16, u8),
    first_seen: FirstSeen,
}

#[derive(Debug, Default)]
struct Minute {
    minute: i64,
    counts: MinuteCounts,
    /// Buy lamports per buyer (`pw:wv:`), at most the cap's largest after each batch. Every buy
    /// adds its wallet here and to the buyers' HyperLogLog (`pw:hb:`), so the keys, with
    /// `dropped_buyers`, are also that HyperLogLog's elements.
    volumes: HashMap<WalletId, u64>,
    /// Buyers the cap dropped from `volumes` (still in the HyperLogLog, which is not capped).
    dropped_buyers: Vec<WalletId>,
    /// Distinct sellers (`pw:hs:`).
    sellers: Vec<WalletId>,
}

#[derive(Debug, Default)]
struct MintState {
    /// In minute order.
    minutes: VecDeque<Minute>,
    last_trade: i64,
}

impl MintState {
    fn minute_mut(&mut self, minute: i64) -> &mut Minute {
        let at = self.minutes.partition_point(|m| m.minute < minute);
        if self.minutes.get(at).is_none_or(|m| m.minute != minute) {
            self.minutes.insert(
                at,
                Minute {
                    minute,
                    ..Minute::default()
                },
            );
        }
        &mut self.minutes[at]
    }

    /// Minutes of the window of `minutes` minutes ending at `now_minute`.
    fn window(&self, now_minute: i64, minutes: i64) -> impl Iterator<Item = &Minute> {
        self.minutes
            .iter()
            .filter(move |m| m.minute <= now_minute && m.minute > now_minute - minutes)
    }
}

/// Every mint's counters, the SOL/USD observations and the wallets' first-seen records.
#[derive(Debug)]
pub struct MemoryWindows {
    ids: HashMap<Pubkey, WalletId>,
    wallets: Vec<Option<Wallet>>,
    free: Vec<WalletId>,
    mints: HashMap<Pubkey, MintState>,
    prices: BTreeMap<i64, PriceObservation>,
    union: hll::Union,
    /// The day first-seen records were last trimmed for.
    trimmed_day: Option<i64>,
    /// Most buyers a minute's `volumes` keeps (the commit's `top_buyers_per_minute`).
    top_buyers_per_minute: usize,
}

impl Default for MemoryWindows {
    fn default() -> Self {
        MemoryWindows::with_top_buyers_per_minute(TOP_BUYERS_PER_MINUTE)
    }
}

impl MemoryWindows {
    /// Windows whose minute volumes keep at most `cap` buyers, as the commit script trims
    /// `pw:wv:*` with `counters.top_buyers_per_minute = cap`.
    pub fn with_top_buyers_per_minute(cap: usize) -> Self {
        MemoryWindows {
            ids: HashMap::new(),
            wallets: Vec::new(),
            free: Vec::new(),
            mints: HashMap::new(),
            prices: BTreeMap::new(),
            union: hll::Union::default(),
            trimmed_day: None,
            top_buyers_per_minute: cap,
        }
    }

    fn wallet(&mut self, key: &Pubkey) -> WalletId {
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        let name = key.to_base58();
        let wallet = Wallet {
            key: *key,
            pattern: hll::pattern(name.as_bytes()),
            name,
            first_seen: FirstSeen::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.wallets[id as usize] = Some(wallet);
                id
            }
            None => {
                self.wallets.push(Some(wallet));
                (self.wallets.len() - 1) as WalletId
            }
        };
        self.ids.insert(*key, id);
        id
    }

    /// Applies one committed batch (what the commit script writes).
    pub fn apply(&mut self, d: &CounterDeltas) {
        for ((mint, minute), c) in &d.minutes {
            let m = &mut self
                .mints
                .entry(*mint)
                .or_default()
                .minute_mut(*minute)
                .counts;
            m.buys += c.buys;
            m.sells += c.sells;
            m.buy_lamports += c.buy_lamports;
            m.sell_lamports += c.sell_lamports;
            m.buy_micro_usd += c.buy_micro_usd;
            m.sell_micro_usd += c.sell_micro_usd;
        }
        for (minute, p) in &d.prices {
            let o = self.prices.entry(*minute).or_default();
            o.lamports += p.lamports;
            o.micro_usd += p.micro_usd;
        }
        for ((mint, minute, wallet), lamports) in &d.wallet_buy_lamports {
            let id = self.wallet(wallet);
            let m = self.mints.entry(*mint).or_default().minute_mut(*minute);
            *m.volumes.entry(id).or_default() += lamports;
        }
        self.cap_volumes(d);
        for ((mint, minute), wallets) in &d.sellers {
            let ids: Vec<WalletId> = wallets.iter().map(|w| self.wallet(w)).collect();
            let m = self.mints.entry(*mint).or_default().minute_mut(*minute);
            for id in ids {
                if !m.sellers.contains(&id) {
                    m.sellers.push(id);
                }
            }
        }
        for (wallet, t) in &d.wallet_first_seen {
            let id = self.wallet(wallet);
            if let Some(w) = self.wallets[id as usize].as_mut() {
                w.first_seen.record(*t);
            }
        }
        for (mint, t) in &d.mint_last_trade {
            let s = self.mints.entry(*mint).or_default();
            s.last_trade = s.last_trade.max(*t);
        }
    }

    /// The commit script's cap: each minute this batch bought in keeps its largest buyers,
    /// dropping the smallest in Redis's rank order (score, then member bytes).
    fn cap_volumes(&mut self, d: &CounterDeltas) {
        let cap = self.top_buyers_per_minute;
        let mut touched: Vec<(Pubkey, i64)> = d
            .wallet_buy_lamports
            .keys()
            .map(|(mint, minute, _)| (*mint, *minute))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for (mint, minute) in touched {
            let Some(m) = self
                .mints
                .get_mut(&mint)
                .map(|s| s.minute_mut(minute))
                .filter(|m| m.volumes.len() > cap)
            else {
                continue;
            };
            let mut all: Vec<(WalletId, u64)> = m.volumes.iter().map(|(i, l)| (*i, *l)).collect();
            all.sort_unstable_by(|a, b| redis_rank_desc(&self.wallets, a, b));
            for (id, _) in &all[cap..] {
                m.volumes.remove(id);
                if !m.dropped_buyers.contains(id) {
                    m.dropped_buyers.push(*id);
                }
            }
        }
    }

    /// Mints whose last trade is at or after `since` (the sweep's `pw:active` range).
    pub fn active_since(&self, since: i64) -> Vec<Pubkey> {
        self.mints
            .iter()
            .filter(|(_, s)| s.last_trade >= since)
            .map(|(m, _)| *m)
            .collect()
    }

    /// Mints tracked (for the bench's memory figures).
    pub fn mints(&self) -> usize {
        self.mints.len()
    }

    /// Wallets tracked.
    pub fn wallets(&self) -> usize {
        self.ids.len()
    }

    /// Drops what no read at `now_minute` or later consults: minutes before the hour, mints idle
    /// for longer than `keep_idle_secs`, SOL/USD minutes before the hour, and (once a day)
    /// first-seen days older than eight days with the wallets left without any.
    pub fn forget(&mut self, now_minute: i64, keep_idle_secs: i64) {
        let oldest = now_minute - 59;
        let idle_before = now_minute * 60 - keep_idle_secs;
        self.mints.retain(|_, s| {
            while s.minutes.front().is_some_and(|m| m.minute < oldest) {
                s.minutes.pop_front();
            }
            !s.minutes.is_empty() || s.last_trade >= idle_before
        });
        while self
            .prices
            .first_key_value()
            .is_some_and(|(m, _)| *m < oldest)
        {
            self.prices.pop_first();
        }
        let today = first_seen::today(now_minute);
        if self.trimmed_day.is_some_and(|d| d >= today) {
            return;
        }
        self.trimmed_day = Some(today);
        let referenced: std::collections::HashSet<WalletId> = self
            .mints
            .values()
            .flat_map(|s| s.minutes.iter())
            .flat_map(|m| {
                m.volumes
                    .keys()
                    .chain(m.sellers.iter())
                    .chain(m.dropped_buyers.iter())
                    .copied()
            })
            .collect();
        for id in 0..self.wallets.len() {
            let gone = match self.wallets[id].as_mut() {
                Some(w) => {
                    w.first_seen.forget_before(today);
                    w.first_seen.is_empty() && !referenced.contains(&(id as WalletId))
                }
                None => false,
            };
            if gone {
                if let Some(w) = self.wallets[id].take() {
                    self.ids.remove(&w.key);
                }
                self.free.push(id as WalletId);
            }
        }
    }

    /// The windows of `mint` ending at `now_minute`: the counts, plus the `detail` parts when
    /// given (as [`crate::store::redis::windows::read_windows`] answers).
    pub fn read(
        &mut self,
        mint: &Pubkey,
        now_minute: i64,
        detail: Option<DetailParts>,
    ) -> MintWindows {
        let (mut lamports, mut micro_usd) = (0u64, 0u64);
        for (_, p) in self.prices.range(now_minute - 59..=now_minute) {
            lamports += p.lamports;
            micro_usd += p.micro_usd;
        }
        let sol_usd = (lamports > 0 && micro_usd > 0)
            .then(|| (micro_usd as f64 / 1e6) / (lamports as f64 / 1e9));
        let mut w = MintWindows::default();
        w.five_minutes.sol_usd = sol_usd;
        w.one_hour.sol_usd = sol_usd;
        let Some(state) = self.mints.get(mint) else {
            if detail.is_some() {
                fill_detail_defaults(&mut w);
            }
            return w;
        };
        w.five_minutes.counts = sum(state.window(now_minute, 5));
        w.one_hour.counts = sum(state.window(now_minute, 60));
        let Some(parts) = detail else {
            return w;
        };
        fill_detail_defaults(&mut w);
        for (i, minutes) in [5i64, 60].into_iter().enumerate() {
            let input = if i == 0 {
                &mut w.five_minutes
            } else {
                &mut w.one_hour
            };
            if parts.unique[i] {
                self.union.clear();
                for m in state.window(now_minute, minutes) {
                    for id in m.volumes.keys().chain(m.dropped_buyers.iter()) {
                        self.union.add(wallet_of(&self.wallets, *id).pattern);
                    }
                }
                input.unique_buyers = Some(self.union.count());
                self.union.clear();
                for m in state.window(now_minute, minutes) {
                    for id in &m.sellers {
                        self.union.add(wallet_of(&self.wallets, *id).pattern);
                    }
                }
                input.unique_sellers = Some(self.union.count());
                self.union.clear();
            }
            if parts.top[i] || parts.new[i] {
                let buyers = largest_buyers(&self.wallets, state, now_minute, minutes);
                let top: Vec<(String, u64)> = buyers
                    .iter()
                    .take(TOP)
                    .map(|(id, l)| (wallet_of(&self.wallets, *id).name.clone(), *l))
                    .collect();
                input.top_wallet_lamports = Some(top.iter().map(|t| t.1).collect());
                if parts.new[i] && !buyers.is_empty() {
                    let start = (now_minute - minutes + 1) * 60;
                    let today = first_seen::today(now_minute);
                    input.buyers = buyers.len() as u64;
                    input.new_buyers = buyers
                        .iter()
                        .filter(|(id, _)| {
                            wallet_of(&self.wallets, *id)
                                .first_seen
                                .is_new(start, today)
                        })
                        .count() as u64;
                }
                if i == 0 {
                    w.top_five_minutes = top;
                } else {
                    w.top_one_hour = top;
                }
            }
        }
        w
    }
}

/// Largest first in Redis's sorted-set order (score, then member bytes, both descending).
fn redis_rank_desc(
    wallets: &[Option<Wallet>],
    a: &(WalletId, u64),
    b: &(WalletId, u64),
) -> Ordering {
    b.1.cmp(&a.1).then_with(|| {
        wallet_of(wallets, b.0)
            .name
            .as_bytes()
            .cmp(wallet_of(wallets, a.0).name.as_bytes())
    })
}

fn wallet_of(wallets: &[Option<Wallet>], id: WalletId) -> &Wallet {
    wallets[id as usize]
        .as_ref()
        .expect("a referenced wallet is live")
}

/// What `read_detail` sets for parts not asked for: zero counts, no top buyers.
fn fill_detail_defaults(w: &mut MintWindows) {
    for input in [&mut w.five_minutes, &mut w.one_hour] {
        input.unique_buyers = Some(0);
        input.unique_sellers = Some(0);
        input.top_wallet_lamports = Some(Vec::new());
        input.wallet_lamports_total = input.counts.buy_lamports;
        input.buyers = 0;
        input.new_buyers = 0;
    }
}

fn sum<'a>(minutes: impl Iterator<Item = &'a Minute>) -> MinuteCounts {
    let mut c = MinuteCounts::default();
    for m in minutes {
        c.buys += m.counts.buys;
        c.sells += m.counts.sells;
        c.buy_lamports += m.counts.buy_lamports;
        c.sell_lamports += m.counts.sell_lamports;
        c.buy_micro_usd += m.counts.buy_micro_usd;
        c.sell_micro_usd += m.counts.sell_micro_usd;
    }
    c
}

/// The window's buyers with their summed buy lamports, the [`NEW_SAMPLE`] largest, largest
/// first in Redis's order (score, then member bytes, both descending).
fn largest_buyers(
    wallets: &[Option<Wallet>],
    state: &MintState,
    now_minute: i64,
    minutes: i64,
) -> Vec<(WalletId, u64)> {
    let mut totals: HashMap<WalletId, u64> = HashMap::new();
    for m in state.window(now_minute, minutes) {
        for (id, l) in &m.volumes {
            *totals.entry(*id).or_default() += l;
        }
    }
    let mut all: Vec<(WalletId, u64)> = totals.into_iter().collect();
    let order = |a: &(WalletId, u64), b: &(WalletId, u64)| redis_rank_desc(wallets, a, b);
    if all.len() > NEW_SAMPLE {
        all.select_nth_unstable_by(NEW_SAMPLE - 1, order);
        all.truncate(NEW_SAMPLE);
    }
    all.sort_unstable_by(order);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assets::{QuoteAssets, Venue, WSOL_MINT};
    use crate::domain::counters::aggregate;
    use crate::domain::test_support::key;
    use crate::domain::{Side, Signature, Swap};

    fn swap(wallet: u8, mint: u8, side: Side, lamports: u64) -> Swap {
        Swap {
            signature: Signature::default(),
            slot: 0,
            block_time: None,
            leg: 0,
            wallet: key(wallet),
            fee_payer: key(wallet),
            side,
            mint: key(mint),
            amount: 1,
            decimals: 6,
            quote_mint: WSOL_MINT,
            quote_amount: lamports,
            quote_decimals: 9,
            sol_value_lamports: None,
            venue: Venue::UNKNOWN,
        }
    }

    fn apply(w: &mut MemoryWindows, swaps: &[(Swap, i64)]) {
        w.apply(&aggregate(
            swaps.iter().map(|(s, t)| (s, *t)),
            &QuoteAssets::default(),
        ));
    }

    #[test]
    fn windows_slide_by_minute_and_count_buys_only_as_volume() {
        let mut w = MemoryWindows::default();
        let t0 = 60 * 1_000;
        apply(
            &mut w,
            &[
                (swap(1, 9, Side::Buy, 100), t0),
                (swap(2, 9, Side::Sell, 50), t0 + 10),
                (swap(1, 9, Side::Buy, 30), t0 + 300),
            ],
        );
        let at = |w: &mut MemoryWindows, minute| w.read(&key(9), minute, None);
        let r = at(&mut w, 1_005);
        assert_eq!((r.five_minutes.counts.buys, r.one_hour.counts.buys), (1, 2));
        assert_eq!(r.one_hour.counts.buy_lamports, 130);
        assert_eq!(r.one_hour.counts.sell_lamports, 50);
        let r = at(&mut w, 1_065);
        assert_eq!(r.one_hour.counts.buys, 0, "both minutes left the hour");
        assert_eq!(r.five_minutes.counts, MinuteCounts::default());
    }

    #[test]
    fn detail_reads_unions_top_buyers_and_new_wallets() {
        let mut w = MemoryWindows::default();
        let t0 = 60 * 10_000;
        // Wallet 3 traded an hour and a half earlier (another mint): not new.
        apply(&mut w, &[(swap(3, 8, Side::Buy, 1), t0 - 5_400)]);
        apply(
            &mut w,
            &[
                (swap(1, 9, Side::Buy, 500), t0),
                (swap(2, 9, Side::Buy, 300), t0 + 60),
                (swap(3, 9, Side::Buy, 300), t0 + 61),
                (swap(1, 9, Side::Buy, 100), t0 + 120),
                (swap(4, 9, Side::Sell, 100), t0 + 120),
            ],
        );
        let r = w.read(&key(9), 10_002, Some(DetailParts::ALL));
        let five = &r.five_minutes;
        assert_eq!(five.unique_buyers, Some(3));
        assert_eq!(five.unique_sellers, Some(1));
        assert_eq!(five.top_wallet_lamports, Some(vec![600, 300, 300]));
        assert_eq!(five.wallet_lamports_total, 1_200);
        assert_eq!((five.buyers, five.new_buyers), (3, 2));
        // Ties: the larger base58 member first, as ZRANGE … reversed gives it.
        let (a, b) = (key(2).to_base58(), key(3).to_base58());
        let tied: Vec<&str> = r.top_five_minutes[1..]
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        let mut want = vec![a.as_str(), b.as_str()];
        want.sort_unstable_by(|x, y| y.cmp(x));
        assert_eq!(tied, want);
        let only_counts = w.read(&key(9), 10_002, Some(DetailParts::default()));
        assert_eq!(only_counts.five_minutes.unique_buyers, Some(0));
        assert!(only_counts.top_five_minutes.is_empty());
    }

    #[test]
    fn minute_volumes_keep_the_largest_buyers_and_the_unique_count_keeps_all() {
        let mut w = MemoryWindows::with_top_buyers_per_minute(2);
        let t0 = 60 * 10_000;
        apply(
            &mut w,
            &[
                (swap(1, 9, Side::Buy, 10), t0),
                (swap(2, 9, Side::Buy, 30), t0),
                (swap(3, 9, Side::Buy, 20), t0),
                (swap(4, 9, Side::Buy, 5), t0 + 60),
            ],
        );
        let r = w.read(&key(9), 10_001, Some(DetailParts::ALL));
        assert_eq!(
            r.five_minutes.top_wallet_lamports,
            Some(vec![30, 20, 5]),
            "wallet 1 (10) dropped from its minute; wallet 4 is in another minute"
        );
        assert_eq!(r.five_minutes.unique_buyers, Some(4));
        assert_eq!(
            r.five_minutes.wallet_lamports_total, 65,
            "the bv counter is not capped"
        );
    }

    #[test]
    fn forgetting_keeps_what_the_hour_reads_and_drops_idle_mints_and_wallets() {
        let mut w = MemoryWindows::default();
        apply(&mut w, &[(swap(1, 9, Side::Buy, 5), 0)]);
        w.forget(59, 600);
        assert_eq!(w.read(&key(9), 59, None).one_hour.counts.buys, 1);
        w.forget(60, 4_200);
        assert_eq!(w.mints(), 1, "idle, but the sweep still looks at it");
        w.forget(60 + 70, 600);
        assert_eq!(w.mints(), 0);
        assert_eq!(w.wallets(), 1, "first seen on day 0: consulted for 8 days");
        w.forget(1_440 * 8, 600);
        assert_eq!(w.wallets(), 0);
    }
}
