//! Turning a trigger match and what the decision learned about it (market, buyers' clusters and
//! funding, venue) into the alert, or into the reason there is none.
//!
//! The detector gathers the facts (Redis windows, Postgres, the RPC provider) and claims the
//! result; everything between — the market-cap filter, the wallet conditions of a trigger, the
//! CTO inputs and score, the cluster summary, the alert's fields — is decided here, without I/O,
//! so it is tested without a database.

use super::alert::{Alert, TopBuyer};
use super::clusters::{linked_stats, summary, WalletIntel};
use super::cto::{score, CtoInput};
use super::triggers::Trigger;
use super::windows::{MetricKind, WindowMetrics, WindowValues};

/// Why a match did not become an alert (the `reason` label of `alerts_suppressed_total`).
pub type Suppression = &'static str;

/// The market-cap filter: `Some(reason)` when a match must not alert for its market cap (below
/// `min_mcap_sol`, or unknown while `unknown_mcap` is `skip`). Checked before the funding trace so
/// a filtered token costs no RPC request.
pub fn market_cap_suppression(
    mcap_sol: Option<f64>,
    min_mcap_sol: f64,
    unknown_mcap: &str,
) -> Option<Suppression> {
    match mcap_sol {
        Some(mcap) if mcap < min_mcap_sol => Some("low_mcap"),
        None if unknown_mcap == "skip" => Some("unknown_mcap"),
        _ => None,
    }
}

/// Token facts the alert shows (each possibly unknown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenFacts {
    pub name: Option<String>,
    pub symbol: Option<String>,
    pub price_sol: Option<f64>,
    pub mcap_sol: Option<f64>,
    /// Raw supply in base units, as decimal text (it can exceed u64).
    pub supply_raw: Option<String>,
}

/// Everything a decision gathered for one (mint, trigger) match.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    pub mint: &'a str,
    pub trigger: &'a Trigger,
    /// The window metrics the match was evaluated on (wallet metrics not yet known).
    pub metrics: WindowMetrics,
    /// The window's largest buyers `(wallet, buy lamports)`, largest first (up to 5).
    pub top_buyers: &'a [(String, u64)],
    /// Clusters and funding of those buyers.
    pub intel: WalletIntel,
    pub token: TokenFacts,
    /// SOL/USD observed in the stream.
    pub sol_usd: Option<f64>,
    pub venue: Option<String>,
    /// Unix milliseconds of the decision.
    pub created_at_ms: i64,
}

/// `metrics` with the wallet metrics of `intel` filled in, in both windows (the trace examines
/// the buyers of the window that fired; a trigger's wallet conditions read that window).
pub fn with_wallet_metrics(metrics: &WindowMetrics, intel: &WalletIntel) -> WindowMetrics {
    let mut full = *metrics;
    for values in [&mut full.five_minutes, &mut full.one_hour] {
        values.largest_cluster_share = intel.largest_cluster_share;
        values.funded_by_same_source_pct = intel.funded_by_same_source_pct;
    }
    full
}

/// The CTO score's inputs: the fired window's metrics and the cluster facts of its top buyers.
pub fn cto_input(values: &WindowValues, top_buyers: usize, intel: &WalletIntel) -> CtoInput {
    let (linked, largest) = linked_stats(&intel.clusters);
    CtoInput {
        top_3_share: values.get(MetricKind::Top3BuyersVolumeShare),
        buy_count: values.get(MetricKind::BuyCount),
        unique_buyers: values.get(MetricKind::UniqueBuyers),
        new_wallet_pct: values.get(MetricKind::NewWalletPct),
        buy_sell_ratio: values.get(MetricKind::BuySellRatio),
        volume_sol: values.get(MetricKind::BuyVolumeSol),
        top_buyers,
        linked_buyers: linked,
        largest_cluster: largest,
    }
}

/// The outbox key of a decision: one alert per (mint, trigger, decision time).
pub fn dedup_key(mint: &str, trigger: &str, created_at_ms: i64) -> String {
    format!("{mint}:{trigger}:{created_at_ms}")
}

/// The alert for a match, or `Err("wallet_conditions")` when the trigger reads wallet metrics
/// and, with the traced values (unknown reads as NaN: never holds), it no longer matches.
pub fn assemble(facts: AlertFacts<'_>) -> Result<Alert, Suppression> {
    let trigger = facts.trigger;
    let full = with_wallet_metrics(&facts.metrics, &facts.intel);
    if trigger.needs_wallets() && !trigger.matches(&full) {
        return Err("wallet_conditions");
    }
    // A trigger without wallet conditions reads the same values from either set.
    let reason = trigger.reason(&full);
    let window = trigger.window;
    let input = cto_input(
        facts.metrics.window(window),
        facts.top_buyers.len(),
        &facts.intel,
    );
    let cto = score(&input);
    let mut intel = facts.intel;
    intel.cto_inputs = input.named();
    Ok(Alert {
        id: None,
        mint: facts.mint.to_string(),
        token_name: facts.token.name,
        token_symbol: facts.token.symbol,
        trigger_name: trigger.name.clone(),
        trigger_reason: reason,
        window,
        metrics: facts.metrics.named(),
        top_buyers: facts
            .top_buyers
            .iter()
            .map(|(wallet, lamports)| TopBuyer {
                wallet: wallet.clone(),
                volume_lamports: *lamports,
            })
            .collect(),
        cto_score: Some(cto.total),
        cto_evidence: cto.evidence,
        cto_components: cto
            .components
            .iter()
            .map(|(n, v)| (n.to_string(), *v))
            .collect(),
        cluster_summary: Some(summary(&intel.clusters)),
        price_sol: facts.token.price_sol,
        mcap_sol: facts.token.mcap_sol,
        token_supply: facts.token.supply_raw,
        sol_usd: facts.sol_usd,
        venue: facts.venue,
        token_image: None,
        created_at_ms: facts.created_at_ms,
        test: false,
        track_record: None,
        wallet_intel: Some(intel),
    })
}

/// The CTO inputs back from their stored names (see [`CtoInput::named`]); None when one is
/// missing.
pub fn cto_input_from_named(named: &[(String, f64)]) -> Option<CtoInput> {
    let get = |name: &str| named.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    Some(CtoInput {
        top_3_share: get("top_3_share")?,
        buy_count: get("buy_count")?,
        unique_buyers: get("unique_buyers")?,
        new_wallet_pct: get("new_wallet_pct")?,
        buy_sell_ratio: get("buy_sell_ratio")?,
        volume_sol: get("volume_sol")?,
        top_buyers: get("top_buyers")? as usize,
        linked_buyers: get("linked_buyers")? as usize,
        largest_cluster: get("largest_cluster")? as usize,
    })
}

/// `alert` with what a funding trace that outlived the latency budget found: the clusters and
/// wallet metrics of `intel`, the cluster line, and the CTO score recomputed from the alert's
/// stored inputs with the new cluster facts. None when the alert has no stored CTO inputs (it
/// cannot be rescored; nothing is changed then).
pub fn with_late_intel(alert: &Alert, intel: WalletIntel) -> Option<Alert> {
    let stored = alert.wallet_intel.as_ref()?;
    let mut input = cto_input_from_named(&stored.cto_inputs)?;
    let (linked, largest) = linked_stats(&intel.clusters);
    input.linked_buyers = linked;
    input.largest_cluster = largest;
    let cto = score(&input);
    let mut intel = intel;
    intel.cto_inputs = input.named();
    let mut out = alert.clone();
    out.cto_score = Some(cto.total);
    out.cto_evidence = cto.evidence;
    out.cto_components = cto
        .components
        .iter()
        .map(|(n, v)| (n.to_string(), *v))
        .collect();
    out.cluster_summary = Some(summary(&intel.clusters));
    out.wallet_intel = Some(intel);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clusters::{clusters_from_groups, largest_share};
    use crate::domain::triggers::{parse_triggers_toml, TriggerSet};
    use crate::domain::windows::WindowClass;

    const SOL: u64 = 1_000_000_000;

    fn triggers(text: &str) -> TriggerSet {
        parse_triggers_toml(text).unwrap()
    }

    fn ring_trigger() -> TriggerSet {
        triggers(
            "[[triggers]]\nname = \"funded_ring\"\nconditions = [\"buy_volume_sol_5m >= 5\", \
             \"largest_cluster_share_5m >= 0.5\"]\n",
        )
    }

    fn metrics() -> WindowMetrics {
        let five = WindowValues {
            buy_count: 17.0,
            sell_count: 2.0,
            unique_buyers: 7.0,
            buy_volume_sol: 6.4,
            avg_buy_size: 6.4 / 17.0,
            buy_sell_ratio: 8.5,
            top_3_buyers_volume_share: 0.5625,
            new_wallet_pct: 1.0,
            detail: true,
            ..WindowValues::default()
        };
        WindowMetrics {
            five_minutes: five,
            one_hour: five,
        }
    }

    fn buyers() -> Vec<(String, u64)> {
        (0..5).map(|i| (format!("b{i}"), 6 * SOL / 5)).collect()
    }

    /// The intel of the 5 buyers, linked by `groups`, in a window of 6.4 SOL of buys.
    fn intel(groups: &[Vec<String>], same_source: Option<f64>) -> WalletIntel {
        let top = buyers();
        let wallets: Vec<String> = top.iter().map(|(w, _)| w.clone()).collect();
        let volumes: Vec<u64> = top.iter().map(|(_, v)| *v).collect();
        let clusters = clusters_from_groups(&wallets, &volumes, groups);
        WalletIntel {
            largest_cluster_share: largest_share(&clusters, 6_400_000_000),
            funded_by_same_source_pct: same_source,
            clusters,
            ..WalletIntel::default()
        }
    }

    fn facts<'a>(
        trigger: &'a Trigger,
        top: &'a [(String, u64)],
        intel: WalletIntel,
    ) -> AlertFacts<'a> {
        AlertFacts {
            mint: "Mint111",
            trigger,
            metrics: metrics(),
            top_buyers: top,
            intel,
            token: TokenFacts {
                name: Some("Ring".into()),
                symbol: Some("RNG".into()),
                price_sol: Some(0.001),
                mcap_sol: Some(1_000.0),
                supply_raw: Some("1000000000000".into()),
            },
            sol_usd: Some(150.0),
            venue: Some("pumpfun".into()),
            created_at_ms: 1_700_000_000_123,
        }
    }

    #[test]
    fn a_funded_ring_becomes_an_alert_with_its_cluster_and_cto_inputs() {
        let set = ring_trigger();
        let trigger = set.iter().next().unwrap();
        let top = buyers();
        let ring: Vec<String> = top
            .iter()
            .map(|(w, _)| w.clone())
            .chain(["src".into()])
            .collect();
        let alert = assemble(facts(trigger, &top, intel(&[ring], Some(1.0)))).unwrap();
        assert_eq!(alert.trigger_name, "funded_ring");
        assert_eq!(alert.window, WindowClass::FiveMinutes);
        assert_eq!(
            alert.trigger_reason,
            "Trigger: funded_ring | buy_volume_sol_5m=6.40 (>= 5.0) | \
             largest_cluster_share_5m=0.94 (>= 0.5)"
        );
        let intel = alert.wallet_intel.as_ref().unwrap();
        assert_eq!(intel.clusters.len(), 1);
        assert_eq!(intel.clusters[0].size(), 5);
        assert_eq!(intel.largest_cluster_share, Some(0.9375));
        assert_eq!(
            alert.cluster_summary.as_deref(),
            Some("5 wallets in 1 cluster: Cluster A (5 wallets, 6.00 SOL)")
        );
        let inputs: std::collections::HashMap<&str, f64> = intel
            .cto_inputs
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect();
        assert_eq!(inputs["top_buyers"], 5.0);
        assert_eq!(inputs["linked_buyers"], 5.0);
        assert_eq!(inputs["largest_cluster"], 5.0);
        assert_eq!(inputs["buy_count"], 17.0);
        // The score is the domain's CTO formula on those inputs, with its components.
        let expected = score(&cto_input(&metrics().five_minutes, 5, intel));
        assert_eq!(alert.cto_score, Some(expected.total));
        assert_eq!(alert.cto_components.len(), 5);
        assert_eq!(alert.cto_components[1].0, "cluster");
        assert!(
            alert.cto_components[1].1 > 0.0,
            "{:?}",
            alert.cto_components
        );
        // The 18 window metrics, without the wallet metrics (they live in wallet_intel).
        assert_eq!(alert.metrics.len(), 18);
        assert_eq!(alert.top_buyers.len(), 5);
        assert_eq!(alert.token_supply.as_deref(), Some("1000000000000"));
        assert_eq!(alert.created_at_ms, 1_700_000_000_123);
    }

    #[test]
    fn the_same_volume_from_independent_wallets_is_suppressed_by_the_wallet_conditions() {
        let set = ring_trigger();
        let trigger = set.iter().next().unwrap();
        let top = buyers();
        let independent = intel(&[], Some(0.2));
        assert_eq!(independent.largest_cluster_share, Some(0.1875));
        assert_eq!(
            assemble(facts(trigger, &top, independent)),
            Err("wallet_conditions")
        );
        // Unknown (no trace): never guessed into a match.
        let unknown = WalletIntel::default();
        assert_eq!(
            assemble(facts(trigger, &top, unknown)),
            Err("wallet_conditions")
        );
    }

    #[test]
    fn a_trigger_without_wallet_conditions_alerts_with_singleton_clusters() {
        let set = triggers(
            "[[triggers]]\nname = \"volume\"\nconditions = [\"buy_volume_sol_5m >= 5\"]\n",
        );
        let trigger = set.iter().next().unwrap();
        let top = buyers();
        let alert = assemble(facts(trigger, &top, intel(&[], None))).unwrap();
        assert_eq!(
            alert.trigger_reason,
            "Trigger: volume | buy_volume_sol_5m=6.40 (>= 5.0)"
        );
        let intel = alert.wallet_intel.unwrap();
        assert_eq!(intel.clusters.len(), 5);
        assert_eq!(alert.cto_components[1], ("cluster".to_string(), 0.0));
    }

    #[test]
    fn a_late_trace_rescores_the_alert_from_its_stored_inputs() {
        let set = triggers(
            "[[triggers]]\nname = \"volume\"\nconditions = [\"buy_volume_sol_5m >= 5\"]\n",
        );
        let trigger = set.iter().next().unwrap();
        let top = buyers();
        let mut early = intel(&[], None);
        early.missing = vec!["funding trace: still running after 3000 ms (recorded later)".into()];
        let alert = assemble(facts(trigger, &top, early)).unwrap();
        assert_eq!(alert.cto_components[1].1, 0.0);
        let ring: Vec<String> = top
            .iter()
            .map(|(w, _)| w.clone())
            .chain(["src".into()])
            .collect();
        let late = with_late_intel(&alert, intel(std::slice::from_ref(&ring), Some(1.0))).unwrap();
        // The same as if the trace had been in time.
        let in_time = assemble(facts(trigger, &top, intel(&[ring], Some(1.0)))).unwrap();
        assert_eq!(late.cto_score, in_time.cto_score);
        assert_eq!(late.cto_components, in_time.cto_components);
        assert_eq!(late.cto_evidence, in_time.cto_evidence);
        assert_eq!(late.cluster_summary, in_time.cluster_summary);
        assert_eq!(late.wallet_intel, in_time.wallet_intel);
        assert!(late.missing_inputs().is_empty());
        // Everything else is the alert as decided.
        assert_eq!(late.trigger_reason, alert.trigger_reason);
        assert_eq!(late.created_at_ms, alert.created_at_ms);
        // No stored inputs: not rescored.
        let mut bare = alert.clone();
        bare.wallet_intel = None;
        assert_eq!(with_late_intel(&bare, WalletIntel::default()), None);
    }

    #[test]
    fn wallet_metrics_fill_both_windows_and_market_cap_filters() {
        let i = intel(&[], Some(0.4));
        let full = with_wallet_metrics(&metrics(), &i);
        assert_eq!(full.five_minutes.funded_by_same_source_pct, Some(0.4));
        assert_eq!(full.one_hour.largest_cluster_share, Some(0.1875));
        assert_eq!(
            market_cap_suppression(Some(10.0), 500.0, "send"),
            Some("low_mcap")
        );
        assert_eq!(market_cap_suppression(Some(600.0), 500.0, "skip"), None);
        assert_eq!(market_cap_suppression(None, 500.0, "send"), None);
        assert_eq!(
            market_cap_suppression(None, 500.0, "skip"),
            Some("unknown_mcap")
        );
        assert_eq!(dedup_key("M", "t", 5), "M:t:5");
    }
}
