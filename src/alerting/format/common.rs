//! What the Discord and Telegram messages share: the risk level, the reference's number formats
//! (`_format_ratio`, `_format_mcap`), trigger descriptions, venue labels, and the figures of the
//! window that fired.

use crate::domain::alert::Alert;
use crate::domain::windows::WindowClass;

/// The formatter's five-level risk mapping (reference §9.1), shared with the CTO score.
pub use crate::domain::cto::RiskLevel;

/// The title marker of a test message.
pub const TEST_PREFIX: &str = "🧪 TEST — ";
/// The line every test message carries (its command in a code span).
pub const TEST_LINE_BEFORE: &str = "This is a test alert from ";
pub const TEST_COMMAND: &str = "pocketwatcher alert-test";

/// `_format_ratio`: an infinite ratio (no sells) or above 1000 reads "ALL BUYS (no sells)".
pub fn format_ratio(r: f64) -> String {
    if r.is_nan() {
        "n/a".to_string()
    } else if r == f64::INFINITY || r > 1000.0 {
        "ALL BUYS (no sells)".to_string()
    } else if r > 100.0 {
        format!("{r:.0}x (almost no sells)")
    } else if r > 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
    }
}

/// `_format_mcap` with the SOL/USD price observed in the stream (`None`: shown in SOL, since
/// there is no price to convert with — never a blocking price lookup at format time).
pub fn format_mcap(mcap_sol: f64, sol_usd: Option<f64>) -> String {
    match sol_usd.filter(|p| p.is_finite() && *p > 0.0) {
        Some(price) => {
            let usd = mcap_sol * price;
            if usd >= 1e6 {
                format!("${:.1}M", usd / 1e6)
            } else if usd >= 1e3 {
                format!("${:.0}K", usd / 1e3)
            } else {
                format!("${usd:.0}")
            }
        }
        None => format!("{mcap_sol:.0} SOL"),
    }
}

/// The market cap of `alert` as shown, or None when it is unknown.
pub fn alert_mcap(alert: &Alert) -> Option<String> {
    alert
        .mcap_sol
        .filter(|m| m.is_finite())
        .map(|m| format_mcap(m, alert.sol_usd))
}

/// The reference's one-line description of a default trigger; any other trigger shows its reason.
pub fn trigger_description(alert: &Alert) -> String {
    crate::domain::triggers::known_description(&alert.trigger_name)
        .map_or_else(|| alert.trigger_reason.clone(), str::to_string)
}

/// Emoji and display name of a venue name from the venue table.
pub fn venue_label(venue: Option<&str>) -> (&'static str, String) {
    let v = venue.unwrap_or("").to_ascii_lowercase();
    if v.is_empty() || v == "unknown" {
        ("❓", "DEX".to_string())
    } else if v == "pump" || v == "pumpfun" || v == "pump.fun" {
        ("💧", "pump.fun".to_string())
    } else if v.starts_with("pumpswap") {
        ("💧", "PumpSwap".to_string())
    } else if v.starts_with("jupiter") {
        ("💫", "Jupiter".to_string())
    } else if v.starts_with("raydium") {
        ("✨", "Raydium".to_string())
    } else if v.starts_with("orca") {
        ("🐳", "Orca".to_string())
    } else if v.starts_with("meteora") {
        ("☄", "Meteora".to_string())
    } else {
        ("❓", venue.unwrap_or("DEX").to_string())
    }
}

/// `concentrated_accumulation` → `Concentrated Accumulation` (Python's `.replace('_',' ').title()`).
pub fn title_case(name: &str) -> String {
    name.split(['_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// `abcdef...wxyz` for wallets longer than 12 characters.
pub fn short_wallet(wallet: &str) -> String {
    let chars: Vec<char> = wallet.chars().collect();
    if chars.len() > 12 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}...{tail}")
    } else {
        wallet.to_string()
    }
}

/// The first `n` characters of `s`.
pub fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

pub fn lamports_to_sol(lamports: u64) -> f64 {
    lamports as f64 / 1e9
}

/// `0.4567` → `46%` (Python's `{:.0%}`).
pub fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// The figures of the window that fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFigures {
    pub window: WindowClass,
    pub buy_volume_sol: f64,
    pub buy_count: f64,
    pub unique_buyers: f64,
    pub ratio: f64,
}

impl WindowFigures {
    pub fn of(alert: &Alert) -> Self {
        WindowFigures {
            window: alert.window,
            buy_volume_sol: alert.window_metric("buy_volume_sol"),
            buy_count: alert.window_metric("buy_count"),
            unique_buyers: alert.window_metric("unique_buyers"),
            ratio: alert.window_metric("buy_sell_ratio"),
        }
    }
}

/// A count metric as an integer (counts are whole; HyperLogLog estimates round).
pub fn count(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

pub fn dexscreener_url(mint: &str) -> String {
    format!("https://dexscreener.com/solana/{mint}")
}

pub fn birdeye_url(mint: &str) -> String {
    format!("https://birdeye.so/token/{mint}?chain=solana")
}

pub fn solscan_token_url(mint: &str) -> String {
    format!("https://solscan.io/token/{mint}")
}

pub fn solscan_account_url(wallet: &str) -> String {
    format!("https://solscan.io/account/{wallet}")
}

/// Unix milliseconds as ISO-8601 UTC with a `Z` (`2026-11-23T08:05:03.042Z`).
pub fn iso8601_utc(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The reference's "Limited Analysis" text, saying which inputs were missing (issue 11), or None
/// when the analysis was complete.
pub fn limited_analysis(alert: &Alert) -> Option<String> {
    let missing = alert.missing_inputs();
    (!missing.is_empty()).then(|| format!("Some enrichment skipped: {}", missing.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_analysis_names_the_missing_input_in_both_channels() {
        let mut alert = crate::alerting::sample::sample_alert(0);
        assert_eq!(limited_analysis(&alert), None);
        let embed = super::super::discord::discord_embed(&alert);
        assert!(!embed.to_string().contains("Limited Analysis"));
        alert.wallet_intel = Some(crate::domain::clusters::WalletIntel {
            missing: vec!["funding trace: RPC budget spent".into()],
            ..Default::default()
        });
        let text = limited_analysis(&alert).unwrap();
        assert_eq!(
            text,
            "Some enrichment skipped: funding trace: RPC budget spent"
        );
        let embed = super::super::discord::discord_embed(&alert);
        let field = embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "⚠️ Limited Analysis")
            .expect("a Limited Analysis field");
        assert!(field["value"]
            .as_str()
            .unwrap()
            .contains("RPC budget spent"));
        let telegram = super::super::telegram::telegram_text(&alert);
        assert!(telegram.contains("Limited Analysis"), "{telegram}");
        assert!(telegram.contains("RPC budget spent"), "{telegram}");
    }

    #[test]
    fn risk_levels_follow_the_five_level_mapping() {
        let cases = [
            (None, RiskLevel::Medium),
            (Some(0.95), RiskLevel::Critical),
            (Some(0.8), RiskLevel::Critical),
            (Some(0.79), RiskLevel::High),
            (Some(0.6), RiskLevel::High),
            (Some(0.4), RiskLevel::Medium),
            (Some(0.2), RiskLevel::Low),
            (Some(0.19), RiskLevel::Minimal),
            (Some(0.0), RiskLevel::Minimal),
        ];
        for (score, level) in cases {
            assert_eq!(RiskLevel::from_score(score), level, "{score:?}");
        }
        assert_eq!(RiskLevel::Critical.color(), 0xFF0000);
        assert_eq!(RiskLevel::High.color(), 0xFF4400);
        assert_eq!(RiskLevel::Medium.color(), 0xFFAA00);
        assert_eq!(RiskLevel::Low.color(), 0xFFDD00);
        assert_eq!(RiskLevel::Minimal.color(), 0x00AA00);
    }

    #[test]
    fn ratios_read_as_in_the_reference() {
        assert_eq!(format_ratio(f64::INFINITY), "ALL BUYS (no sells)");
        assert_eq!(format_ratio(1000.5), "ALL BUYS (no sells)");
        assert_eq!(format_ratio(1000.0), "1000x (almost no sells)");
        assert_eq!(format_ratio(150.2), "150x (almost no sells)");
        assert_eq!(format_ratio(42.4), "42x");
        assert_eq!(format_ratio(10.0), "10.0x");
        assert_eq!(format_ratio(2.345), "2.3x");
    }

    #[test]
    fn market_caps_read_as_in_the_reference() {
        assert_eq!(format_mcap(10_000.0, Some(150.0)), "$1.5M");
        assert_eq!(format_mcap(500.0, Some(150.0)), "$75K");
        assert_eq!(format_mcap(5.0, Some(150.0)), "$750");
        assert_eq!(format_mcap(6_666.6, None), "6667 SOL");
        assert_eq!(format_mcap(10.0, Some(0.0)), "10 SOL");
    }

    #[test]
    fn names_and_wallets() {
        assert_eq!(
            title_case("concentrated_accumulation"),
            "Concentrated Accumulation"
        );
        assert_eq!(title_case("new_wallet"), "New Wallet");
        assert_eq!(
            short_wallet("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"),
            "9WzDXw...AWWM"
        );
        assert_eq!(short_wallet("short"), "short");
        assert_eq!(venue_label(Some("pumpfun")), ("💧", "pump.fun".to_string()));
        assert_eq!(
            venue_label(Some("raydium_amm_v4")),
            ("✨", "Raydium".to_string())
        );
        assert_eq!(venue_label(None), ("❓", "DEX".to_string()));
        assert_eq!(venue_label(Some("unknown")), ("❓", "DEX".to_string()));
        assert_eq!(venue_label(Some("phoenix")), ("❓", "phoenix".to_string()));
        assert_eq!(percent(0.456), "46%");
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso8601_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_795_392_000_000), "2026-11-23T00:00:00.000Z");
    }
}
