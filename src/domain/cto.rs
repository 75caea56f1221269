//! CTO ("cabal / team / organisation") likelihood and the alert risk levels.
//!
//! Weights, thresholds, evidence wording and confidence are the reference's, so scores and alert
//! colours read as before. Two inputs differ on purpose: the cluster share counts only the top
//! buyers that are linked to another top buyer (the reference counted whole clusters, so a share
//! could exceed 100 %), and the clusters come from real bundles and funders (the reference never
//! linked anything, so its cluster component was always 0).

use super::triggers::py_fixed;

/// What the score reads: the metrics of the window that fired and the cluster facts of its top
/// buyers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CtoInput {
    pub top_3_share: f64,
    pub buy_count: f64,
    pub unique_buyers: f64,
    pub new_wallet_pct: f64,
    /// Infinite when there were buys and no sells.
    pub buy_sell_ratio: f64,
    pub volume_sol: f64,
    /// How many top buyers were examined (up to 5).
    pub top_buyers: usize,
    /// How many of them share a cluster with another of them ([`super::clusters::linked_stats`]).
    pub linked_buyers: usize,
    /// Members of the largest cluster among them.
    pub largest_cluster: usize,
}

impl CtoInput {
    /// The inputs by name, stored with the alert so a score can be explained and recomputed.
    pub fn named(&self) -> Vec<(String, f64)> {
        [
            ("top_3_share", self.top_3_share),
            ("buy_count", self.buy_count),
            ("unique_buyers", self.unique_buyers),
            ("new_wallet_pct", self.new_wallet_pct),
            ("buy_sell_ratio", self.buy_sell_ratio),
            ("volume_sol", self.volume_sol),
            ("top_buyers", self.top_buyers as f64),
            ("linked_buyers", self.linked_buyers as f64),
            ("largest_cluster", self.largest_cluster as f64),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
    }
}

/// The score, its parts and the sentences that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct CtoScore {
    /// Weighted sum of the components, in [0, 1].
    pub total: f64,
    /// In the reference's order: concentration, cluster, timing, new_wallet, ratio.
    pub components: [(&'static str, f64); 5],
    pub evidence: Vec<String>,
    /// How much data the score rests on, in [0.1, 1] (not shown in alerts, as in the reference).
    pub confidence: f64,
}

const WEIGHT_CONCENTRATION: f64 = 0.25;
const WEIGHT_CLUSTER: f64 = 0.30;
const WEIGHT_TIMING: f64 = 0.15;
const WEIGHT_NEW_WALLET: f64 = 0.15;
const WEIGHT_RATIO: f64 = 0.15;

pub fn score(input: &CtoInput) -> CtoScore {
    let mut evidence = Vec::new();
    let concentration = concentration(input.top_3_share, &mut evidence);
    let cluster = cluster(input, &mut evidence);
    let timing = timing(input.buy_count, input.unique_buyers, &mut evidence);
    let new_wallet = new_wallet(input.new_wallet_pct, &mut evidence);
    let ratio = ratio(input.buy_sell_ratio, &mut evidence);
    // Summed left to right as the reference does, so totals are bit-identical.
    let total = concentration * WEIGHT_CONCENTRATION
        + cluster * WEIGHT_CLUSTER
        + timing * WEIGHT_TIMING
        + new_wallet * WEIGHT_NEW_WALLET
        + ratio * WEIGHT_RATIO;
    CtoScore {
        total,
        components: [
            ("concentration", concentration),
            ("cluster", cluster),
            ("timing", timing),
            ("new_wallet", new_wallet),
            ("ratio", ratio),
        ],
        evidence,
        confidence: confidence(input),
    }
}

fn concentration(share: f64, evidence: &mut Vec<String>) -> f64 {
    if share >= 0.8 {
        evidence.push(format!(
            "Very high concentration: top 3 = {}",
            py_percent(share)
        ));
        1.0
    } else if share >= 0.6 {
        evidence.push(format!("High concentration: top 3 = {}", py_percent(share)));
        0.8
    } else if share >= 0.4 {
        0.5
    } else if share >= 0.2 {
        0.2
    } else {
        0.0
    }
}

fn cluster(input: &CtoInput, evidence: &mut Vec<String>) -> f64 {
    if input.top_buyers == 0 {
        return 0.0;
    }
    let linked = input.linked_buyers as f64 / input.top_buyers as f64;
    if linked >= 0.5 {
        evidence.push(format!(
            "High clustering: {} in linked wallets, largest cluster = {}",
            py_percent(linked),
            input.largest_cluster
        ));
        (linked + 0.2).min(1.0)
    } else if linked >= 0.2 {
        evidence.push(format!(
            "Some clustering: {} in linked wallets",
            py_percent(linked)
        ));
        linked + 0.1
    } else {
        0.0
    }
}

/// Buys per buyer stands in for synchronised timing, as in the reference.
fn timing(buy_count: f64, unique_buyers: f64, evidence: &mut Vec<String>) -> f64 {
    if unique_buyers == 0.0 {
        return 0.0;
    }
    let per_buyer = buy_count / unique_buyers;
    if per_buyer >= 10.0 {
        evidence.push(format!(
            "High buy frequency: {} buys/wallet",
            py_fixed(per_buyer, 1)
        ));
        1.0
    } else if per_buyer >= 5.0 {
        evidence.push(format!(
            "Elevated buy frequency: {} buys/wallet",
            py_fixed(per_buyer, 1)
        ));
        0.7
    } else if per_buyer >= 3.0 {
        0.4
    } else if per_buyer >= 2.0 {
        0.2
    } else {
        0.0
    }
}

fn new_wallet(pct: f64, evidence: &mut Vec<String>) -> f64 {
    if pct >= 0.7 {
        evidence.push(format!("Very high new wallet %: {}", py_percent(pct)));
        1.0
    } else if pct >= 0.5 {
        evidence.push(format!("High new wallet %: {}", py_percent(pct)));
        0.7
    } else if pct >= 0.3 {
        0.4
    } else {
        0.0
    }
}

fn ratio(r: f64, evidence: &mut Vec<String>) -> f64 {
    if r == f64::INFINITY {
        evidence.push("All buys, no sells".into());
        1.0
    } else if r >= 20.0 {
        evidence.push(format!("Extreme buy ratio: {}x", py_fixed(r, 1)));
        1.0
    } else if r >= 10.0 {
        evidence.push(format!("Very high buy ratio: {}x", py_fixed(r, 1)));
        0.8
    } else if r >= 5.0 {
        0.5
    } else if r >= 3.0 {
        0.3
    } else {
        0.0
    }
}

/// Subtracted step by step as the reference does (so 1 − 0.3 − 0.2 − 0.2 is 0.29999999999999993,
/// as there).
fn confidence(input: &CtoInput) -> f64 {
    let mut c = 1.0;
    if input.buy_count < 5.0 {
        c -= 0.3;
    } else if input.buy_count < 10.0 {
        c -= 0.2;
    } else if input.buy_count < 20.0 {
        c -= 0.1;
    }
    if input.top_buyers < 3 {
        c -= 0.2;
    } else if input.top_buyers < 5 {
        c -= 0.1;
    }
    if input.volume_sol < 1.0 {
        c -= 0.2;
    } else if input.volume_sol < 5.0 {
        c -= 0.1;
    }
    f64::max(0.1, c)
}

/// Python's `format(v, ".0%")`: the value times 100 (a float multiplication), rounded half to
/// even on the binary result.
pub fn py_percent(v: f64) -> String {
    format!("{}%", py_fixed(v * 100.0, 0))
}

/// The alert formatter's five levels (the scorer's own four-level mapping was unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskLevel {
    Critical,
    High,
    Medium,
    Low,
    Minimal,
}

impl RiskLevel {
    /// No score reads as MEDIUM, as in the reference.
    pub fn from_score(score: Option<f64>) -> RiskLevel {
        let Some(s) = score else {
            return RiskLevel::Medium;
        };
        if s >= 0.8 {
            RiskLevel::Critical
        } else if s >= 0.6 {
            RiskLevel::High
        } else if s >= 0.4 {
            RiskLevel::Medium
        } else if s >= 0.2 {
            RiskLevel::Low
        } else {
            RiskLevel::Minimal
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::Critical => "CRITICAL",
            RiskLevel::High => "HIGH",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::Low => "LOW",
            RiskLevel::Minimal => "MINIMAL",
        }
    }

    /// Discord embed colour.
    pub fn color(self) -> u32 {
        match self {
            RiskLevel::Critical => 0xFF0000,
            RiskLevel::High => 0xFF4400,
            RiskLevel::Medium => 0xFFAA00,
            RiskLevel::Low => 0xFFDD00,
            RiskLevel::Minimal => 0x00AA00,
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            RiskLevel::Critical => "🚨",
            RiskLevel::High => "🔴",
            RiskLevel::Medium => "🟠",
            RiskLevel::Low => "🟡",
            RiskLevel::Minimal => "🟢",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[allow(clippy::too_many_arguments)]
    fn input(
        top_3_share: f64,
        buy_count: f64,
        unique_buyers: f64,
        new_wallet_pct: f64,
        buy_sell_ratio: f64,
        volume_sol: f64,
        top_buyers: usize,
        linked_buyers: usize,
        largest_cluster: usize,
    ) -> CtoInput {
        CtoInput {
            top_3_share,
            buy_count,
            unique_buyers,
            new_wallet_pct,
            buy_sell_ratio,
            volume_sol,
            top_buyers,
            linked_buyers,
            largest_cluster,
        }
    }

    fn values(s: &CtoScore) -> [f64; 5] {
        s.components.map(|(_, v)| v)
    }

    /// Expected values computed by the reference's formulas in Python 3.11 (with the cluster
    /// share = linked / top buyers).
    #[test]
    fn scores_match_the_reference_formulas() {
        struct Case {
            input: CtoInput,
            total: f64,
            components: [f64; 5],
            evidence: &'static [&'static str],
            confidence: f64,
        }
        let cases = [
            Case {
                input: input(0.85, 60.0, 5.0, 0.75, INF, 20.0, 5, 4, 3),
                total: 1.0,
                components: [1.0, 1.0, 1.0, 1.0, 1.0],
                evidence: &[
                    "Very high concentration: top 3 = 85%",
                    "High clustering: 80% in linked wallets, largest cluster = 3",
                    "High buy frequency: 12.0 buys/wallet",
                    "Very high new wallet %: 75%",
                    "All buys, no sells",
                ],
                confidence: 1.0,
            },
            Case {
                input: input(0.65, 30.0, 6.0, 0.55, 12.0, 8.0, 4, 1, 2),
                total: 0.635,
                components: [0.8, 0.35, 0.7, 0.7, 0.8],
                evidence: &[
                    "High concentration: top 3 = 65%",
                    "Some clustering: 25% in linked wallets",
                    "Elevated buy frequency: 5.0 buys/wallet",
                    "High new wallet %: 55%",
                    "Very high buy ratio: 12.0x",
                ],
                confidence: 0.9,
            },
            Case {
                input: input(0.45, 9.0, 3.0, 0.35, 6.0, 3.0, 2, 0, 1),
                total: 0.32,
                components: [0.5, 0.0, 0.4, 0.4, 0.5],
                evidence: &[],
                confidence: 0.5000000000000001,
            },
            Case {
                input: input(0.25, 4.0, 2.0, 0.1, 3.0, 0.5, 0, 0, 0),
                total: 0.125,
                components: [0.2, 0.0, 0.2, 0.0, 0.3],
                evidence: &[],
                confidence: 0.29999999999999993,
            },
            Case {
                input: input(0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0),
                total: 0.0,
                components: [0.0; 5],
                evidence: &[],
                confidence: 0.29999999999999993,
            },
            Case {
                input: input(0.8, 50.0, 5.0, 0.7, 20.0, 5.0, 4, 2, 2),
                total: 0.91,
                components: [1.0, 0.7, 1.0, 1.0, 1.0],
                evidence: &[
                    "Very high concentration: top 3 = 80%",
                    "High clustering: 50% in linked wallets, largest cluster = 2",
                    "High buy frequency: 10.0 buys/wallet",
                    "Very high new wallet %: 70%",
                    "Extreme buy ratio: 20.0x",
                ],
                confidence: 0.9,
            },
            Case {
                input: input(0.6, 20.0, 4.0, 0.5, 10.0, 1.0, 5, 1, 1),
                total: 0.62,
                components: [0.8, 0.30000000000000004, 0.7, 0.7, 0.8],
                evidence: &[
                    "High concentration: top 3 = 60%",
                    "Some clustering: 20% in linked wallets",
                    "Elevated buy frequency: 5.0 buys/wallet",
                    "High new wallet %: 50%",
                    "Very high buy ratio: 10.0x",
                ],
                confidence: 0.9,
            },
            Case {
                input: input(0.625, 41.0, 4.0, 0.875, 25.55, 5.0, 3, 2, 2),
                total: 0.91,
                components: [0.8, 0.8666666666666667, 1.0, 1.0, 1.0],
                evidence: &[
                    "High concentration: top 3 = 62%",
                    "High clustering: 67% in linked wallets, largest cluster = 2",
                    "High buy frequency: 10.2 buys/wallet",
                    "Very high new wallet %: 88%",
                    "Extreme buy ratio: 25.6x",
                ],
                confidence: 0.9,
            },
            Case {
                input: input(2.0 / 3.0, 31.0, 3.0, 0.695, 10.25, 0.99, 3, 1, 1),
                total: 0.705,
                components: [0.8, 0.43333333333333335, 1.0, 0.7, 0.8],
                evidence: &[
                    "High concentration: top 3 = 67%",
                    "Some clustering: 33% in linked wallets",
                    "High buy frequency: 10.3 buys/wallet",
                    "High new wallet %: 70%",
                    "Very high buy ratio: 10.2x",
                ],
                confidence: 0.7,
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let s = score(&case.input);
            assert_eq!(values(&s), case.components, "case {i} components");
            assert_eq!(s.total, case.total, "case {i} total");
            assert_eq!(s.evidence, case.evidence, "case {i} evidence");
            assert_eq!(s.confidence, case.confidence, "case {i} confidence");
        }
    }

    #[test]
    fn inputs_are_named_for_the_alert_row() {
        let i = input(0.5, 10.0, 4.0, 0.25, INF, 3.0, 5, 3, 3);
        let named = i.named();
        assert_eq!(named.len(), 9);
        assert_eq!(named[0], ("top_3_share".to_string(), 0.5));
        assert_eq!(named[4], ("buy_sell_ratio".to_string(), INF));
        assert_eq!(named[7], ("linked_buyers".to_string(), 3.0));
        assert_eq!(named[8], ("largest_cluster".to_string(), 3.0));
    }

    #[test]
    fn components_are_named_in_reference_order() {
        let s = score(&CtoInput::default());
        let names = s.components.map(|(n, _)| n);
        assert_eq!(
            names,
            ["concentration", "cluster", "timing", "new_wallet", "ratio"]
        );
    }

    #[test]
    fn each_threshold_band() {
        let conc = |v| values(&score(&input(v, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0)))[0];
        assert_eq!(
            [0.8, 0.79, 0.6, 0.59, 0.4, 0.39, 0.2, 0.19].map(conc),
            [1.0, 0.8, 0.8, 0.5, 0.5, 0.2, 0.2, 0.0]
        );
        let timing = |buys| values(&score(&input(0.0, buys, 2.0, 0.0, 0.0, 0.0, 0, 0, 0)))[2];
        assert_eq!(
            [20.0, 19.0, 10.0, 9.0, 6.0, 5.0, 4.0, 3.0].map(timing),
            [1.0, 0.7, 0.7, 0.4, 0.4, 0.2, 0.2, 0.0]
        );
        let new = |v| values(&score(&input(0.0, 0.0, 0.0, v, 0.0, 0.0, 0, 0, 0)))[3];
        assert_eq!(
            [0.7, 0.69, 0.5, 0.49, 0.3, 0.29].map(new),
            [1.0, 0.7, 0.7, 0.4, 0.4, 0.0]
        );
        let ratio = |r| values(&score(&input(0.0, 0.0, 0.0, 0.0, r, 0.0, 0, 0, 0)))[4];
        assert_eq!(
            [INF, 1e9, 20.0, 19.9, 10.0, 9.9, 5.0, 4.9, 3.0, 2.9, 0.0].map(ratio),
            [1.0, 1.0, 1.0, 0.8, 0.8, 0.5, 0.5, 0.3, 0.3, 0.0, 0.0]
        );
        let cluster =
            |linked| values(&score(&input(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5, linked, 2)))[1];
        assert_eq!(
            [5, 3, 2, 1, 0].map(cluster),
            [1.0, 0.8, 0.5, 0.30000000000000004, 0.0]
        );
    }

    #[test]
    fn edges_no_sells_no_buyers_nan() {
        // No sells: the infinite ratio is the top band with its own sentence.
        let s = score(&input(0.0, 10.0, 0.0, 0.0, INF, 0.0, 0, 0, 0));
        assert_eq!(s.evidence, ["All buys, no sells"]);
        assert_eq!(values(&s)[4], 1.0);
        // No unique buyers known: no division, timing 0.
        assert_eq!(values(&s)[2], 0.0);
        // No top buyers: cluster 0 whatever the linked count says.
        let s = score(&input(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 3, 3));
        assert_eq!(values(&s)[1], 0.0);
        // More linked than examined cannot push the cluster part past 1.
        let s = score(&input(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2, 4, 4));
        assert_eq!(values(&s)[1], 1.0);
        // NaN fails every comparison, as in Python: every part 0, no evidence, no deductions.
        let nan = f64::NAN;
        let s = score(&input(nan, nan, nan, nan, nan, nan, 5, 0, 0));
        assert_eq!(values(&s), [0.0; 5]);
        assert!(s.evidence.is_empty());
        assert_eq!(s.confidence, 1.0);
        // -inf is not "all buys".
        assert_eq!(
            values(&score(&input(
                0.0,
                0.0,
                0.0,
                0.0,
                f64::NEG_INFINITY,
                0.0,
                0,
                0,
                0
            )))[4],
            0.0
        );
    }

    #[test]
    fn confidence_deductions_and_floor() {
        let conf =
            |buys, top, vol| score(&input(0.0, buys, 0.0, 0.0, 0.0, vol, top, 0, 0)).confidence;
        assert_eq!(conf(20.0, 5, 5.0), 1.0);
        assert_eq!(conf(19.0, 5, 5.0), 0.9);
        assert_eq!(conf(9.0, 5, 5.0), 0.8);
        assert_eq!(conf(4.0, 5, 5.0), 0.7);
        assert_eq!(conf(20.0, 4, 5.0), 0.9);
        assert_eq!(conf(20.0, 2, 5.0), 0.8);
        assert_eq!(conf(20.0, 5, 4.9), 0.9);
        assert_eq!(conf(20.0, 5, 0.9), 0.8);
        // Python: max(0.1, 1.0 - 0.3 - 0.2 - 0.2)
        assert_eq!(conf(0.0, 0, 0.0), 0.29999999999999993);
        assert!(conf(0.0, 0, 0.0) >= 0.1);
    }

    #[test]
    fn python_percent_table() {
        // Python 3.11: f"{v:.0%}"
        let table: &[(f64, &str)] = &[
            (0.625, "62%"),
            (0.875, "88%"),
            (0.695, "70%"),
            (0.705, "70%"),
            (0.125, "12%"),
            (0.005, "0%"),
            (0.015, "2%"),
            (0.995, "100%"),
            (1.0 / 3.0, "33%"),
            (2.0 / 3.0, "67%"),
            (0.5, "50%"),
            (f64::INFINITY, "inf%"),
            (f64::NAN, "nan%"),
        ];
        for (v, want) in table {
            assert_eq!(py_percent(*v), *want, "{v}");
        }
    }

    #[test]
    fn risk_levels_of_the_formatter() {
        let cases = [
            (Some(1.0), RiskLevel::Critical, "CRITICAL", 0xFF0000, "🚨"),
            (Some(0.8), RiskLevel::Critical, "CRITICAL", 0xFF0000, "🚨"),
            (Some(0.79), RiskLevel::High, "HIGH", 0xFF4400, "🔴"),
            (Some(0.6), RiskLevel::High, "HIGH", 0xFF4400, "🔴"),
            (Some(0.59), RiskLevel::Medium, "MEDIUM", 0xFFAA00, "🟠"),
            (Some(0.4), RiskLevel::Medium, "MEDIUM", 0xFFAA00, "🟠"),
            (None, RiskLevel::Medium, "MEDIUM", 0xFFAA00, "🟠"),
            (Some(0.39), RiskLevel::Low, "LOW", 0xFFDD00, "🟡"),
            (Some(0.2), RiskLevel::Low, "LOW", 0xFFDD00, "🟡"),
            (Some(0.19), RiskLevel::Minimal, "MINIMAL", 0x00AA00, "🟢"),
            (Some(0.0), RiskLevel::Minimal, "MINIMAL", 0x00AA00, "🟢"),
            (
                Some(f64::NAN),
                RiskLevel::Minimal,
                "MINIMAL",
                0x00AA00,
                "🟢",
            ),
        ];
        for (s, level, name, color, emoji) in cases {
            let got = RiskLevel::from_score(s);
            assert_eq!(got, level, "{s:?}");
            assert_eq!((got.name(), got.color(), got.emoji()), (name, color, emoji));
        }
    }
}
