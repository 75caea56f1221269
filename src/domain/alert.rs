//! An alert: everything a message needs, decided by the detector and stored in the outbox
//! (`alerts` table) before any channel sees it.
//!
//! The stored row is the source of every message (a message is formatted from the row, also after
//! a restart), so this type round-trips through JSON exactly; infinities (a buy/sell ratio with no
//! sells) travel as the string `"inf"` because JSON numbers cannot hold them.

use serde::{Deserialize, Serialize};

use super::windows::WindowClass;

/// One of the largest buyers of the window that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopBuyer {
    /// Base58 wallet.
    pub wallet: String,
    /// SOL spent on buys in the window, in lamports.
    pub volume_lamports: u64,
}

/// Alert content. Pure data; formatting lives in the alerting module. Serializable so a decided
/// alert can wait in Redis (msgpack, which keeps infinities) until it is in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The outbox row id (None before it is stored, and for `alert-test`).
    pub id: Option<i64>,
    pub mint: String,
    pub token_name: Option<String>,
    pub token_symbol: Option<String>,
    pub trigger_name: String,
    /// The reference's reason string (`Trigger: name | field=value (op threshold) | …`).
    pub trigger_reason: String,
    /// The window of the trigger that fired (a trigger is 1h if any condition reads a 1h metric).
    pub window: WindowClass,
    /// All 18 metrics by grammar name, in the reference's order.
    pub metrics: Vec<(String, f64)>,
    /// Up to 5, largest first.
    pub top_buyers: Vec<TopBuyer>,
    /// CTO likelihood in [0, 1] and its evidence lines (None when not computed).
    pub cto_score: Option<f64>,
    pub cto_evidence: Vec<String>,
    /// Per-component CTO scores in the reference's order (concentration, cluster, timing,
    /// new_wallet, ratio), for the "CTO Likelihood" field.
    pub cto_components: Vec<(String, f64)>,
    pub cluster_summary: Option<String>,
    pub price_sol: Option<f64>,
    pub mcap_sol: Option<f64>,
    /// Raw supply (integer in base units) as decimal text; it can exceed u64.
    pub token_supply: Option<String>,
    /// SOL/USD price observed in the stream at decision time (to show the market cap in USD).
    pub sol_usd: Option<f64>,
    pub venue: Option<String>,
    pub token_image: Option<String>,
    /// Unix milliseconds of the decision.
    pub created_at_ms: i64,
    /// A clearly marked test message (`pocketwatcher alert-test`), not a detection.
    pub test: bool,
    /// The trigger's last-30-day track record ("2× within 1 h: 7 of 31"), read from
    /// `alert_outcomes` when the alert is sent; None below 5 scored alerts.
    #[serde(default)]
    pub track_record: Option<String>,
    /// Clusters, funding chains and missing inputs of the buyers (None for alerts decided before
    /// the funding trace existed).
    #[serde(default)]
    pub wallet_intel: Option<super::clusters::WalletIntel>,
}

impl Alert {
    /// The inputs the analysis lacked (the Limited Analysis section), empty when complete.
    pub fn missing_inputs(&self) -> &[String] {
        self.wallet_intel
            .as_ref()
            .map_or(&[], |w| w.missing.as_slice())
    }
}

impl Alert {
    /// A metric by its grammar name (0 when absent, like the reference's unknown fields).
    pub fn metric(&self, name: &str) -> f64 {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, v)| *v)
    }

    /// A metric of the window that fired, by stem (`buy_count` → `buy_count_5m` or `_1h`).
    pub fn window_metric(&self, stem: &str) -> f64 {
        self.metric(&format!("{stem}_{}", self.window.suffix()))
    }

    /// The metrics as a JSON object (infinities as `"inf"`), for the `metrics` JSONB column.
    pub fn metrics_json(&self) -> serde_json::Value {
        let map = self
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), number_to_json(*v)))
            .collect();
        serde_json::Value::Object(map)
    }

    /// Reads back what [`Alert::metrics_json`] wrote (sorted by name: JSONB keeps no order).
    pub fn metrics_from_json(value: &serde_json::Value) -> Vec<(String, f64)> {
        let Some(map) = value.as_object() else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| json_to_number(v).map(|n| (k.clone(), n)))
            .collect()
    }
}

/// A float as JSON: finite numbers as numbers, infinities and NaN as strings.
pub fn number_to_json(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    } else if v.is_nan() {
        serde_json::Value::String("nan".into())
    } else if v > 0.0 {
        serde_json::Value::String("inf".into())
    } else {
        serde_json::Value::String("-inf".into())
    }
}

pub fn json_to_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => match s.as_str() {
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_survive_json_including_infinity() {
        let alert = Alert {
            id: None,
            mint: "M".into(),
            token_name: None,
            token_symbol: None,
            trigger_name: "t".into(),
            trigger_reason: "r".into(),
            window: WindowClass::FiveMinutes,
            metrics: vec![
                ("buy_count_5m".into(), 25.0),
                ("buy_sell_ratio_5m".into(), f64::INFINITY),
            ],
            top_buyers: vec![],
            cto_score: None,
            cto_evidence: vec![],
            cto_components: vec![],
            cluster_summary: None,
            price_sol: None,
            mcap_sol: None,
            token_supply: None,
            sol_usd: None,
            venue: None,
            token_image: None,
            created_at_ms: 0,
            test: false,
            track_record: None,
            wallet_intel: None,
        };
        let json = alert.metrics_json();
        assert_eq!(json["buy_sell_ratio_5m"], "inf");
        let back = Alert::metrics_from_json(&json);
        assert_eq!(back, alert.metrics);
        assert_eq!(alert.window_metric("buy_count"), 25.0);
        assert_eq!(alert.metric("unknown"), 0.0);
    }
}
