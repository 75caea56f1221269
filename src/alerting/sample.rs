//! A complete, realistic alert: the content of `pocketwatcher alert-test` (marked as a test) and
//! the fixture of the formatter tests.

use crate::domain::alert::{Alert, TopBuyer};
use crate::domain::windows::WindowClass;

/// A concentrated-accumulation alert with every optional part present (top buyers, CTO score,
/// clusters, market cap, image).
pub fn sample_alert(created_at_ms: i64) -> Alert {
    let metrics = [
        ("buy_count_5m", 26.0),
        ("sell_count_5m", 0.0),
        ("unique_buyers_5m", 4.0),
        ("unique_sellers_5m", 0.0),
        ("buy_volume_sol_5m", 12.5),
        ("avg_buy_size_5m", 12.5 / 26.0),
        ("buy_sell_ratio_5m", f64::INFINITY),
        ("top_3_buyers_volume_share_5m", 0.8),
        ("new_wallet_pct_5m", 0.25),
    ];
    Alert {
        id: None,
        mint: "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU".into(),
        token_name: Some("Cabal Token".into()),
        token_symbol: Some("CABAL".into()),
        trigger_name: "concentrated_accumulation".into(),
        trigger_reason: "Trigger: concentrated_accumulation | buy_count_5m=26 (>= 20) | \
                         unique_buyers_5m=4 (<= 5)"
            .into(),
        window: WindowClass::FiveMinutes,
        metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        top_buyers: vec![
            TopBuyer {
                wallet: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".into(),
                volume_lamports: 5_000_000_000,
            },
            TopBuyer {
                wallet: "HN7cABqLq46Es1jh92dQQisAq662SmxELLLsHHe4YWrH".into(),
                volume_lamports: 2_500_000_000,
            },
        ],
        cto_score: Some(0.65),
        cto_evidence: vec![
            "Very high concentration: top 3 = 80%".into(),
            "High clustering: 50% in linked wallets, largest cluster = 2".into(),
            "All buys, no sells".into(),
        ],
        cto_components: vec![
            ("concentration".into(), 0.8),
            ("cluster".into(), 0.8),
            ("timing".into(), 0.4),
            ("new_wallet".into(), 0.0),
            ("ratio".into(), 1.0),
        ],
        cluster_summary: Some("2 wallets in 1 cluster: Cluster A (2 wallets, 7.50 SOL)".into()),
        price_sol: Some(0.000_000_5),
        mcap_sol: Some(500.0),
        token_supply: Some("1000000000000000".into()),
        sol_usd: Some(150.0),
        venue: Some("pumpfun".into()),
        token_image: Some("https://img.example/cabal.png".into()),
        created_at_ms,
        test: false,
        track_record: None,
        wallet_intel: None,
    }
}

/// The message `pocketwatcher alert-test` sends: the sample, clearly marked as a test, with a
/// made-up mint that names itself.
pub fn test_alert(now_ms: i64) -> Alert {
    Alert {
        mint: "PocketwatcherTestAAertNotARea1Token111111111".into(),
        token_name: Some("Pocketwatcher test".into()),
        token_symbol: Some("TEST".into()),
        token_image: None,
        test: true,
        ..sample_alert(now_ms)
    }
}
