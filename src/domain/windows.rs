//! The 18 window metrics of the trigger grammar, computed from what the counters hold.
//!
//! Windows slide at one-minute resolution by block time: the 5-minute window of a mint at chain
//! time `t` is the five minute buckets ending with `minute_of(t)`, the 1-hour window the sixty.
//! The reference's windows were tumbling or truncated, its unique counts a max of per-bucket counts
//! and its "buy volume" included sells; here each metric means what its name says.

use super::counters::MinuteCounts;

/// The two window lengths of the grammar (`_5m`, `_1h`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum WindowClass {
    FiveMinutes,
    OneHour,
}

impl WindowClass {
    pub const ALL: [WindowClass; 2] = [WindowClass::FiveMinutes, WindowClass::OneHour];

    /// Minute buckets in the window.
    pub fn minutes(self) -> i64 {
        match self {
            WindowClass::FiveMinutes => 5,
            WindowClass::OneHour => 60,
        }
    }

    pub fn seconds(self) -> i64 {
        self.minutes() * 60
    }

    /// The suffix of metric names in the grammar.
    pub fn suffix(self) -> &'static str {
        match self {
            WindowClass::FiveMinutes => "5m",
            WindowClass::OneHour => "1h",
        }
    }

    /// For messages: "5-Minute", "1-Hour".
    pub fn title(self) -> &'static str {
        match self {
            WindowClass::FiveMinutes => "5-Minute",
            WindowClass::OneHour => "1-Hour",
        }
    }
}

/// A metric kind, without its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    BuyCount,
    SellCount,
    UniqueBuyers,
    UniqueSellers,
    BuyVolumeSol,
    AvgBuySize,
    BuySellRatio,
    Top3BuyersVolumeShare,
    NewWalletPct,
    /// Wallet metrics (issue 11): from the funding trace of the top buyers, known only once an
    /// alert candidate's other conditions hold (they cost RPC requests). Not among the 18 window
    /// metrics an alert records.
    LargestClusterShare,
    FundedBySameSourcePct,
}

impl MetricKind {
    pub const ALL: [MetricKind; 9] = [
        MetricKind::BuyCount,
        MetricKind::SellCount,
        MetricKind::UniqueBuyers,
        MetricKind::UniqueSellers,
        MetricKind::BuyVolumeSol,
        MetricKind::AvgBuySize,
        MetricKind::BuySellRatio,
        MetricKind::Top3BuyersVolumeShare,
        MetricKind::NewWalletPct,
    ];

    /// The wallet metrics of the grammar (see [`MetricKind::needs_wallets`]).
    pub const WALLET: [MetricKind; 2] = [
        MetricKind::LargestClusterShare,
        MetricKind::FundedBySameSourcePct,
    ];

    /// Computed from the funding trace and clusters of the top buyers, not from the counters:
    /// unknown (NaN, so no condition on it holds) until the detector has traced the buyers, and
    /// always unknown in the backtest (which makes no RPC requests).
    pub fn needs_wallets(self) -> bool {
        matches!(
            self,
            MetricKind::LargestClusterShare | MetricKind::FundedBySameSourcePct
        )
    }

    pub fn stem(self) -> &'static str {
        match self {
            MetricKind::BuyCount => "buy_count",
            MetricKind::SellCount => "sell_count",
            MetricKind::UniqueBuyers => "unique_buyers",
            MetricKind::UniqueSellers => "unique_sellers",
            MetricKind::BuyVolumeSol => "buy_volume_sol",
            MetricKind::AvgBuySize => "avg_buy_size",
            MetricKind::BuySellRatio => "buy_sell_ratio",
            MetricKind::Top3BuyersVolumeShare => "top_3_buyers_volume_share",
            MetricKind::NewWalletPct => "new_wallet_pct",
            MetricKind::LargestClusterShare => "largest_cluster_share",
            MetricKind::FundedBySameSourcePct => "funded_by_same_source_pct",
        }
    }

    /// Whether the metric needs the expensive part of a window read (HyperLogLog unions, the
    /// per-wallet volumes, first-seen times). The others come from the minute counters alone.
    pub fn needs_detail(self) -> bool {
        matches!(
            self,
            MetricKind::UniqueBuyers
                | MetricKind::UniqueSellers
                | MetricKind::Top3BuyersVolumeShare
                | MetricKind::NewWalletPct
                | MetricKind::LargestClusterShare
                | MetricKind::FundedBySameSourcePct
        )
    }
}

/// One of the 18 names of the grammar, e.g. `buy_count_5m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metric {
    pub kind: MetricKind,
    pub window: WindowClass,
}

impl Metric {
    /// All 18, 5-minute ones first, in the reference's order.
    pub fn all() -> impl Iterator<Item = Metric> {
        WindowClass::ALL.into_iter().flat_map(|window| {
            MetricKind::ALL
                .into_iter()
                .map(move |kind| Metric { kind, window })
        })
    }

    /// One of the 18, or a wallet metric (`largest_cluster_share_5m`, ...).
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::all()
            .chain(Metric::wallet())
            .find(|m| m.name() == name)
    }

    /// The four wallet metrics of the grammar.
    pub fn wallet() -> impl Iterator<Item = Metric> {
        WindowClass::ALL.into_iter().flat_map(|window| {
            MetricKind::WALLET
                .into_iter()
                .map(move |kind| Metric { kind, window })
        })
    }

    pub fn name(self) -> String {
        format!("{}_{}", self.kind.stem(), self.window.suffix())
    }
}

/// Raw window contents, as read from the counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowInput {
    /// Minute counters summed over the window.
    pub counts: MinuteCounts,
    /// HyperLogLog union counts (None when the detail was not read).
    pub unique_buyers: Option<u64>,
    pub unique_sellers: Option<u64>,
    /// Buy lamports of SOL-quoted buys per wallet, largest first (at least the top 3), and the
    /// sum over all wallets.
    pub top_wallet_lamports: Option<Vec<u64>>,
    pub wallet_lamports_total: u64,
    /// Buyers examined for newness (the window's largest buyers, up to 100: exact below that,
    /// a volume-weighted sample above) and how many of them were first seen inside the window.
    pub buyers: u64,
    pub new_buyers: u64,
    /// SOL price in USD observed in the stream (to convert stablecoin-quoted buys), if any.
    pub sol_usd: Option<f64>,
}

/// The nine metrics of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowValues {
    pub buy_count: f64,
    pub sell_count: f64,
    pub unique_buyers: f64,
    pub unique_sellers: f64,
    pub buy_volume_sol: f64,
    pub avg_buy_size: f64,
    pub buy_sell_ratio: f64,
    pub top_3_buyers_volume_share: f64,
    pub new_wallet_pct: f64,
    /// False when the detail metrics were not read (they hold 0 then).
    pub detail: bool,
    /// Wallet metrics; None (read as NaN: no condition holds) until the buyers are traced.
    pub largest_cluster_share: Option<f64>,
    pub funded_by_same_source_pct: Option<f64>,
}

impl WindowValues {
    pub fn compute(input: &WindowInput) -> WindowValues {
        let c = &input.counts;
        let buy_volume_sol = c.buy_lamports as f64 / 1e9
            + match input.sol_usd {
                Some(price) if price > 0.0 => c.buy_micro_usd as f64 / 1e6 / price,
                _ => 0.0,
            };
        let buy_sell_ratio = match (c.buys, c.sells) {
            (0, 0) => 0.0,
            (_, 0) => f64::INFINITY,
            (b, s) => b as f64 / s as f64,
        };
        let detail = input.unique_buyers.is_some();
        let top3 = input
            .top_wallet_lamports
            .as_deref()
            .map(|v| v.iter().take(3).sum::<u64>())
            .unwrap_or(0);
        WindowValues {
            buy_count: c.buys as f64,
            sell_count: c.sells as f64,
            unique_buyers: input.unique_buyers.unwrap_or(0) as f64,
            unique_sellers: input.unique_sellers.unwrap_or(0) as f64,
            buy_volume_sol,
            avg_buy_size: if c.buys > 0 {
                buy_volume_sol / c.buys as f64
            } else {
                0.0
            },
            buy_sell_ratio,
            top_3_buyers_volume_share: if input.wallet_lamports_total > 0 {
                top3 as f64 / input.wallet_lamports_total as f64
            } else {
                0.0
            },
            new_wallet_pct: if input.buyers > 0 {
                input.new_buyers as f64 / input.buyers as f64
            } else {
                0.0
            },
            detail,
            largest_cluster_share: None,
            funded_by_same_source_pct: None,
        }
    }

    pub fn get(&self, kind: MetricKind) -> f64 {
        match kind {
            MetricKind::BuyCount => self.buy_count,
            MetricKind::SellCount => self.sell_count,
            MetricKind::UniqueBuyers => self.unique_buyers,
            MetricKind::UniqueSellers => self.unique_sellers,
            MetricKind::BuyVolumeSol => self.buy_volume_sol,
            MetricKind::AvgBuySize => self.avg_buy_size,
            MetricKind::BuySellRatio => self.buy_sell_ratio,
            MetricKind::Top3BuyersVolumeShare => self.top_3_buyers_volume_share,
            MetricKind::NewWalletPct => self.new_wallet_pct,
            MetricKind::LargestClusterShare => self.largest_cluster_share.unwrap_or(f64::NAN),
            MetricKind::FundedBySameSourcePct => self.funded_by_same_source_pct.unwrap_or(f64::NAN),
        }
    }
}

/// All 18 metrics of a mint at one evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowMetrics {
    pub five_minutes: WindowValues,
    pub one_hour: WindowValues,
}

impl WindowMetrics {
    pub fn window(&self, w: WindowClass) -> &WindowValues {
        match w {
            WindowClass::FiveMinutes => &self.five_minutes,
            WindowClass::OneHour => &self.one_hour,
        }
    }

    pub fn get(&self, m: Metric) -> f64 {
        self.window(m.window).get(m.kind)
    }

    /// Whether the detail metrics are known (both windows read in full).
    pub fn has_detail(&self) -> bool {
        self.five_minutes.detail && self.one_hour.detail
    }

    /// `(name, value)` for all 18, in the reference's order (for the alert row and messages).
    pub fn named(&self) -> Vec<(String, f64)> {
        Metric::all().map(|m| (m.name(), self.get(m))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(buys: u64, sells: u64, buy_lamports: u64) -> WindowInput {
        WindowInput {
            counts: MinuteCounts {
                buys,
                sells,
                buy_lamports,
                sell_lamports: 7_000_000_000,
                ..MinuteCounts::default()
            },
            ..WindowInput::default()
        }
    }

    #[test]
    fn eighteen_names_round_trip() {
        let names: Vec<String> = Metric::all().map(Metric::name).collect();
        assert_eq!(names.len(), 18);
        assert_eq!(names[0], "buy_count_5m");
        assert_eq!(names[17], "new_wallet_pct_1h");
        for n in &names {
            assert_eq!(Metric::parse(n).unwrap().name(), *n);
        }
        assert_eq!(Metric::parse("buy_count_15m"), None);
        let wallet: Vec<String> = Metric::wallet().map(Metric::name).collect();
        assert_eq!(
            wallet,
            [
                "largest_cluster_share_5m",
                "funded_by_same_source_pct_5m",
                "largest_cluster_share_1h",
                "funded_by_same_source_pct_1h"
            ]
        );
        for n in &wallet {
            let m = Metric::parse(n).unwrap();
            assert!(m.kind.needs_wallets() && m.kind.needs_detail());
            assert!(!names.contains(n), "not among the 18 an alert records");
        }
        assert_eq!(Metric::parse("volume_sol_5m"), None);
    }

    #[test]
    fn buy_volume_counts_buys_only_and_the_average_divides_by_buys() {
        let v = WindowValues::compute(&input(4, 2, 2_000_000_000));
        assert_eq!(v.buy_volume_sol, 2.0, "sell lamports are not buy volume");
        assert_eq!(v.avg_buy_size, 0.5);
        assert_eq!(v.buy_sell_ratio, 2.0);
    }

    #[test]
    fn no_sells_is_an_infinite_ratio_and_no_trades_is_zero() {
        let v = WindowValues::compute(&input(3, 0, 1));
        assert!(v.buy_sell_ratio.is_infinite() && v.buy_sell_ratio > 10.0);
        let v = WindowValues::compute(&input(0, 0, 0));
        assert_eq!(v.buy_sell_ratio, 0.0);
        assert_eq!(v.avg_buy_size, 0.0, "no buys: no division by zero");
        let v = WindowValues::compute(&input(0, 5, 0));
        assert_eq!(v.buy_sell_ratio, 0.0);
    }

    #[test]
    fn stablecoin_buys_convert_at_the_observed_price_or_not_at_all() {
        let mut i = input(2, 0, 1_000_000_000);
        i.counts.buy_micro_usd = 300_000_000; // $300
        assert_eq!(WindowValues::compute(&i).buy_volume_sol, 1.0);
        i.sol_usd = Some(150.0);
        assert_eq!(WindowValues::compute(&i).buy_volume_sol, 3.0);
    }

    #[test]
    fn top_three_share_and_new_wallets_are_exact_fractions() {
        let mut i = input(6, 0, 10);
        i.unique_buyers = Some(5);
        i.unique_sellers = Some(0);
        i.top_wallet_lamports = Some(vec![4, 3, 1, 1, 1]);
        i.wallet_lamports_total = 10;
        i.buyers = 5;
        i.new_buyers = 2;
        let v = WindowValues::compute(&i);
        assert_eq!(v.top_3_buyers_volume_share, 0.8);
        assert_eq!(v.new_wallet_pct, 0.4);
        assert!(v.detail);
        let mut none = i.clone();
        none.wallet_lamports_total = 0;
        none.top_wallet_lamports = Some(vec![]);
        none.buyers = 0;
        let v = WindowValues::compute(&none);
        assert_eq!((v.top_3_buyers_volume_share, v.new_wallet_pct), (0.0, 0.0));
    }

    #[test]
    fn metrics_are_read_by_name() {
        let m = WindowMetrics {
            five_minutes: WindowValues::compute(&input(3, 1, 0)),
            one_hour: WindowValues::compute(&input(30, 10, 0)),
        };
        assert_eq!(m.get(Metric::parse("buy_count_5m").unwrap()), 3.0);
        assert_eq!(m.get(Metric::parse("buy_count_1h").unwrap()), 30.0);
        assert_eq!(m.named().len(), 18);
    }
}
