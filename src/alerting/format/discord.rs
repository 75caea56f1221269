//! The Discord webhook body: one embed with the reference's content (§9.2), its defects fixed
//! (an infinite ratio reads "All buys, zero sells"; top buyers always show; the timestamp is UTC
//! with a `Z`; the 1 h window is labelled as such), and mentions disabled so a token named
//! `@everyone` pings nobody.

use serde_json::{json, Value};

use super::common::{
    alert_mcap, birdeye_url, count, dexscreener_url, format_ratio, iso8601_utc, lamports_to_sol,
    percent, prefix, short_wallet, solscan_account_url, solscan_token_url, title_case,
    trigger_description, venue_label, RiskLevel, WindowFigures, TEST_COMMAND, TEST_LINE_BEFORE,
    TEST_PREFIX,
};
use crate::domain::alert::Alert;
use crate::domain::windows::WindowClass;

/// Discord's limit on a field value.
const FIELD_VALUE_MAX: usize = 1024;

/// `{"embeds":[embed], "allowed_mentions":{"parse":[]}}`.
pub fn discord_body(alert: &Alert) -> Value {
    json!({
        "embeds": [discord_embed(alert)],
        "allowed_mentions": {"parse": []},
    })
}

pub fn discord_embed(alert: &Alert) -> Value {
    let risk = RiskLevel::from_score(alert.cto_score);
    let figures = WindowFigures::of(alert);

    let subject = match alert.token_symbol.as_deref().filter(|s| !s.is_empty()) {
        Some(symbol) => format!("${symbol}"),
        None => format!("`{}...`", prefix(&alert.mint, 8)),
    };
    let mut title = format!("{} {subject}", risk.emoji());
    if alert.test {
        title = format!("{TEST_PREFIX}{title}");
    }

    let mut description = Vec::new();
    if alert.test {
        description.push(format!("{TEST_LINE_BEFORE}`{TEST_COMMAND}`"));
    }
    if let Some(name) = alert.token_name.as_deref().filter(|n| !n.is_empty()) {
        if Some(name) != alert.token_symbol.as_deref() {
            description.push(format!("**{}**", escape(name)));
        }
    }
    let (venue_emoji, venue_name) = venue_label(alert.venue.as_deref());
    description.push(format!("{venue_emoji} {}", escape(&venue_name)));
    description.push(match alert_mcap(alert) {
        Some(mcap) => format!("💰 **{mcap}** mcap"),
        None => "💰 mcap unknown".to_string(),
    });
    description.push(format!("\n_{}_", escape(&trigger_description(alert))));

    let mut fields = vec![activity_field(&figures)];
    if let Some(record) = alert.track_record.as_deref() {
        fields.push(field("📈 Track Record (30 d)", escape(record), false));
    }
    if let Some(field) = cto_field(alert) {
        fields.push(field);
    }
    if let Some(field) = flags_field(alert, &figures) {
        fields.push(field);
    }
    if let Some(field) = top_buyers_field(alert, &figures) {
        fields.push(field);
    }
    if let Some(summary) = alert.cluster_summary.as_deref() {
        if summary.to_lowercase().contains("cluster") {
            fields.push(field("🔗 Wallet Clusters", escape(summary), false));
        }
    }
    let mint = &alert.mint;
    fields.push(field(
        "🔗 Investigate",
        format!(
            "[🔍 Birdeye]({}) • [📊 DexScreener]({}) • [🧾 Solscan]({})",
            birdeye_url(mint),
            dexscreener_url(mint),
            solscan_token_url(mint)
        ),
        false,
    ));
    if let Some(text) = super::common::limited_analysis(alert) {
        fields.push(field(
            "⚠️ Limited Analysis",
            format!("_{}_", escape(&text)),
            false,
        ));
    }

    let mut embed = json!({
        "title": title,
        "url": dexscreener_url(mint),
        "description": description.join("\n"),
        "color": risk.color(),
        "fields": fields,
        "footer": {"text": format!("Mint: {mint}")},
        "timestamp": iso8601_utc(alert.created_at_ms),
    });
    if let Some(image) = alert
        .token_image
        .as_deref()
        .filter(|i| i.starts_with("http"))
    {
        embed["thumbnail"] = json!({ "url": image });
    }
    embed
}

fn field(name: &str, value: String, inline: bool) -> Value {
    json!({"name": name, "value": truncate(&value, FIELD_VALUE_MAX), "inline": inline})
}

fn activity_field(f: &WindowFigures) -> Value {
    let name = match f.window {
        WindowClass::FiveMinutes => "📊 5-Minute Activity",
        WindowClass::OneHour => "📊 1-Hour Activity",
    };
    field(
        name,
        format!(
            "💰 **{:.1} SOL** volume\n🛒 **{}** buys from **{}** wallets\n📊 **{}** buy/sell ratio",
            f.buy_volume_sol,
            count(f.buy_count),
            count(f.unique_buyers),
            format_ratio(f.ratio)
        ),
        true,
    )
}

/// "🎯 CTO Likelihood": a ten-square bar, the percentage, and the three strongest components
/// above 0.1 (stable order on ties, as the reference's sort).
fn cto_field(alert: &Alert) -> Option<Value> {
    let total = alert.cto_score.filter(|s| *s > 0.0 && s.is_finite())?;
    let pct = (total * 100.0).floor().clamp(0.0, 100.0) as usize;
    let filled = pct / 10;
    let mut value = format!(
        "{}{} **{pct}%**\n",
        "🟥".repeat(filled),
        "⬜".repeat(10 - filled)
    );
    let mut components: Vec<&(String, f64)> = alert.cto_components.iter().collect();
    components.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    for (name, v) in components.into_iter().take(3).filter(|(_, v)| *v > 0.1) {
        value.push_str(&format!("• {}: {}\n", title_case(name), percent(*v)));
    }
    Some(field(
        "🎯 CTO Likelihood",
        value.trim_end().to_string(),
        true,
    ))
}

/// "Why This Was Flagged": at most four red flags.
fn flags_field(alert: &Alert, f: &WindowFigures) -> Option<Value> {
    let mut lines: Vec<String> = Vec::new();
    let buys = count(f.buy_count) as f64;
    let uniq = count(f.unique_buyers);
    if alert
        .trigger_reason
        .to_lowercase()
        .contains("unique_buyers")
    {
        let per_wallet = buys / (uniq.max(1) as f64);
        if per_wallet > 3.0 {
            lines.push(format!("🚩 {per_wallet:.1} buys per wallet (coordinated?)"));
        }
    }
    if f.ratio == f64::INFINITY {
        lines.push("🚩 All buys, zero sells".to_string());
    } else if f.ratio > 10.0 {
        lines.push(format!("🚩 {:.0}x more buys than sells", f.ratio));
    }
    if uniq <= 5 && f.buy_volume_sol > 5.0 {
        lines.push(format!(
            "🚩 Only {uniq} wallets moved {:.1} SOL",
            f.buy_volume_sol
        ));
    }
    let mut added = 0;
    for evidence in &alert.cto_evidence {
        if added == 2 {
            break;
        }
        if !lines.iter().any(|l| l.contains(evidence.as_str())) {
            lines.push(format!("🚩 {}", escape(evidence)));
            added += 1;
        }
    }
    lines.truncate(4);
    (!lines.is_empty()).then(|| field("⚠️ Why This Was Flagged", lines.join("\n"), false))
}

/// "👥 Top Buyers": up to five, SOL from lamports, each linked to Solscan.
fn top_buyers_field(alert: &Alert, f: &WindowFigures) -> Option<Value> {
    if alert.top_buyers.is_empty() {
        return None;
    }
    let medals = ["🥇", "🥈", "🥉"];
    let mut lines = Vec::new();
    let mut total_sol = 0.0;
    for (i, buyer) in alert.top_buyers.iter().take(5).enumerate() {
        let sol = lamports_to_sol(buyer.volume_lamports);
        total_sol += sol;
        let medal = medals.get(i).map_or(String::new(), |m| format!("{m} "));
        lines.push(format!(
            "{medal}[`{}`]({}) - **{sol:.2}** SOL",
            short_wallet(&buyer.wallet),
            solscan_account_url(&buyer.wallet)
        ));
    }
    let mut name = "👥 Top Buyers".to_string();
    if f.buy_volume_sol > 0.0 {
        name.push_str(&format!(
            " ({:.0}% of volume)",
            total_sol / f.buy_volume_sol * 100.0
        ));
    }
    Some(field(&name, lines.join("\n"), false))
}

/// Dynamic text with Discord's markdown characters backslash-escaped (a token named `*_x_*`
/// shows as typed).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::sample::sample_alert;

    fn sample() -> Alert {
        sample_alert(1_700_000_000_000)
    }
    use crate::domain::alert::TopBuyer;

    fn field_named<'a>(embed: &'a Value, prefix: &str) -> Option<&'a Value> {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"].as_str().unwrap().starts_with(prefix))
    }

    #[test]
    fn embed_carries_the_reference_content() {
        let alert = sample();
        let body = discord_body(&alert);
        let embed = &body["embeds"][0];
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        // cto 0.65 → HIGH
        assert_eq!(embed["title"], "🔴 $CABAL");
        assert_eq!(embed["color"], 0xFF4400);
        assert_eq!(
            embed["url"],
            format!("https://dexscreener.com/solana/{}", alert.mint)
        );
        let description = embed["description"].as_str().unwrap();
        assert!(description.contains("**Cabal Token**"), "{description}");
        assert!(description.contains("💧 pump.fun"), "{description}");
        assert!(description.contains("💰 **$75K** mcap"), "{description}");
        assert!(description.ends_with("\n\n_Few wallets accumulating aggressively_"));
        assert_eq!(embed["footer"]["text"], format!("Mint: {}", alert.mint));
        assert_eq!(embed["timestamp"], "2023-11-14T22:13:20.000Z");
        assert_eq!(embed["thumbnail"]["url"], "https://img.example/cabal.png");

        let activity = field_named(embed, "📊 5-Minute Activity").expect("activity");
        assert_eq!(activity["inline"], true);
        assert_eq!(
            activity["value"],
            "💰 **12.5 SOL** volume\n🛒 **26** buys from **4** wallets\n📊 **ALL BUYS (no sells)** buy/sell ratio"
        );
        let cto = field_named(embed, "🎯 CTO Likelihood").expect("cto");
        assert_eq!(
            cto["value"],
            "🟥🟥🟥🟥🟥🟥⬜⬜⬜⬜ **65%**\n• Ratio: 100%\n• Concentration: 80%\n• Cluster: 80%"
        );
        let flags = field_named(embed, "⚠️ Why This Was Flagged").expect("flags")["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            flags,
            "🚩 6.5 buys per wallet (coordinated?)\n🚩 All buys, zero sells\n\
             🚩 Only 4 wallets moved 12.5 SOL\n🚩 Very high concentration: top 3 = 80%"
        );
        assert!(!flags.contains("infx"));
        let buyers = field_named(embed, "👥 Top Buyers").expect("top buyers");
        assert_eq!(buyers["name"], "👥 Top Buyers (60% of volume)");
        let value = buyers["value"].as_str().unwrap();
        assert!(value.starts_with(
            "🥇 [`9WzDXw...AWWM`](https://solscan.io/account/9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM) - **5.00** SOL"
        ), "{value}");
        assert!(value.contains("🥈 "), "{value}");
        let clusters = field_named(embed, "🔗 Wallet Clusters").expect("clusters");
        assert_eq!(
            clusters["value"],
            "2 wallets in 1 cluster: Cluster A \\(2 wallets, 7.50 SOL\\)"
        );
        let links = field_named(embed, "🔗 Investigate").expect("links")["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(links.contains(&format!(
            "https://birdeye.so/token/{}?chain=solana",
            alert.mint
        )));
        assert!(links.contains(&format!("https://solscan.io/token/{}", alert.mint)));
    }

    #[test]
    fn one_hour_windows_unknown_mcap_and_no_symbol() {
        let mut alert = sample();
        alert.window = WindowClass::OneHour;
        alert.metrics.push(("buy_volume_sol_1h".into(), 80.0));
        alert.metrics.push(("buy_count_1h".into(), 120.0));
        alert.metrics.push(("unique_buyers_1h".into(), 30.0));
        alert.metrics.push(("buy_sell_ratio_1h".into(), 12.4));
        alert.mcap_sol = None;
        alert.token_symbol = None;
        alert.cto_score = None;
        let embed = discord_embed(&alert);
        assert_eq!(embed["title"], format!("🟠 `{}...`", &alert.mint[..8]));
        assert_eq!(embed["color"], 0xFFAA00);
        assert!(embed["description"]
            .as_str()
            .unwrap()
            .contains("💰 mcap unknown"));
        let activity = field_named(&embed, "📊 1-Hour Activity").expect("1h label");
        assert!(activity["value"].as_str().unwrap().contains("**80.0 SOL**"));
        assert!(activity["value"]
            .as_str()
            .unwrap()
            .contains("**12x** buy/sell"));
        assert!(field_named(&embed, "📊 5-Minute").is_none());
        assert!(field_named(&embed, "🎯 CTO").is_none());
        let flags = field_named(&embed, "⚠️").unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(flags.contains("🚩 12x more buys than sells"), "{flags}");
    }

    #[test]
    fn large_top_buyer_volumes_are_lamports() {
        let mut alert = sample();
        alert.top_buyers = vec![TopBuyer {
            wallet: "W".repeat(44),
            volume_lamports: 123_456_789_000,
        }];
        let embed = discord_embed(&alert);
        let value = field_named(&embed, "👥 Top Buyers").unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(value.contains("**123.46** SOL"), "{value}");
    }

    #[test]
    fn test_alerts_are_marked_and_names_escaped() {
        let mut alert = sample();
        alert.test = true;
        alert.token_name = Some("a_b*c[d](e)~f @everyone".into());
        let embed = discord_embed(&alert);
        assert!(embed["title"].as_str().unwrap().starts_with("🧪 TEST — "));
        let description = embed["description"].as_str().unwrap();
        assert!(description.starts_with("This is a test alert from `pocketwatcher alert-test`"));
        assert!(
            description.contains(r"**a\_b\*c\[d\]\(e\)\~f \@everyone**"),
            "{description}"
        );
    }
}
