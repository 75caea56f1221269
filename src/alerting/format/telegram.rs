//! The Telegram message: the reference's text (§9.3) in MarkdownV2, every piece of dynamic text
//! escaped for the place it goes (defect 29: the reference sent token names unescaped in legacy
//! Markdown and Telegram refused the message), an infinite ratio reading "ALL BUYS", the market
//! cap (or "mcap unknown"), and link previews off.

use serde_json::{json, Value};

use super::common::{
    alert_mcap, birdeye_url, count, dexscreener_url, lamports_to_sol, percent, prefix,
    solscan_token_url, title_case, trigger_description, venue_label, RiskLevel, WindowFigures,
    TEST_COMMAND, TEST_LINE_BEFORE, TEST_PREFIX,
};
use crate::domain::alert::Alert;
use crate::domain::windows::WindowClass;

/// Characters MarkdownV2 reserves outside entities.
const RESERVED: &[char] = &[
    '_', '*', '[', ']', '(', ')', '~', '`', '>', '#', '+', '-', '=', '|', '{', '}', '.', '!', '\\',
];

/// Text for anywhere outside code spans and link URLs: every reserved character and `\` escaped.
pub fn escape(text: &str) -> String {
    escape_set(text, RESERVED)
}

/// Text inside a `code` span or ```pre``` block: only `` ` `` and `\` escaped.
pub fn escape_code(text: &str) -> String {
    escape_set(text, &['`', '\\'])
}

/// A URL inside `[text](url)`: only `)` and `\` escaped.
pub fn escape_url(text: &str) -> String {
    escape_set(text, &[')', '\\'])
}

fn escape_set(text: &str, set: &[char]) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if set.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn bold(text: &str) -> String {
    format!("*{}*", escape(text))
}

fn code(text: &str) -> String {
    format!("`{}`", escape_code(text))
}

fn link(text: &str, url: &str) -> String {
    format!("[{}]({})", escape(text), escape_url(url))
}

/// The `sendMessage` body.
pub fn telegram_body(alert: &Alert, chat_id: &str) -> Value {
    json!({
        "chat_id": chat_id,
        "text": telegram_text(alert),
        "parse_mode": "MarkdownV2",
        "link_preview_options": {"is_disabled": true},
    })
}

/// The message text in MarkdownV2.
pub fn telegram_text(alert: &Alert) -> String {
    let risk = RiskLevel::from_score(alert.cto_score);
    let f = WindowFigures::of(alert);
    let name = alert.token_name.as_deref().filter(|n| !n.is_empty());
    let symbol = alert.token_symbol.as_deref().filter(|s| !s.is_empty());
    let display = match (name, symbol) {
        (Some(n), Some(s)) if n != s => format!("{n} (${s})"),
        (_, Some(s)) => format!("${s}"),
        (Some(n), None) => n.to_string(),
        (None, None) => format!("{}...", prefix(&alert.mint, 12)),
    };

    let mut lines = Vec::new();
    let header = format!(
        "{} {}",
        risk.emoji(),
        bold(&format!("{} RISK - {display}", risk.name()))
    );
    lines.push(if alert.test {
        format!("{}{header}", escape(TEST_PREFIX))
    } else {
        header
    });
    if alert.test {
        lines.push(format!(
            "{}{}",
            escape(TEST_LINE_BEFORE),
            code(TEST_COMMAND)
        ));
    }
    lines.push(String::new());
    lines.push(bold(&title_case(&alert.trigger_name)));
    lines.push(escape(&trigger_description(alert)));
    let (venue_emoji, venue_name) = venue_label(alert.venue.as_deref());
    let mcap = match alert_mcap(alert) {
        Some(m) => format!("💰 {} mcap", bold(&m)),
        None => "💰 mcap unknown".to_string(),
    };
    lines.push(format!("{venue_emoji} {} · {mcap}", escape(&venue_name)));

    lines.push(String::new());
    let window = match f.window {
        WindowClass::FiveMinutes => "5 min",
        WindowClass::OneHour => "1 h",
    };
    lines.push(format!(
        "💰 {} from {} wallets {}",
        bold(&format!("{:.1} SOL", f.buy_volume_sol)),
        bold(&count(f.unique_buyers).to_string()),
        escape(&format!("(last {window})"))
    ));
    let ratio = if f.ratio == f64::INFINITY {
        "ALL BUYS".to_string()
    } else if f.ratio.is_nan() {
        "n/a".to_string()
    } else {
        format!("{:.1}x", f.ratio)
    };
    lines.push(format!(
        "🛒 {} buys {} {} ratio",
        bold(&count(f.buy_count).to_string()),
        escape("|"),
        bold(&ratio)
    ));
    if let Some(record) = alert.track_record.as_deref() {
        lines.push(format!("📈 Track record, 30 d: {}", escape(record)));
    }

    if let Some(score) = alert.cto_score.filter(|s| s.is_finite()) {
        lines.push(String::new());
        lines.push(format!("🎯 CTO Score: {}", bold(&percent(score))));
        for evidence in alert.cto_evidence.iter().take(2) {
            lines.push(format!("  • {}", escape(evidence)));
        }
    }

    if !alert.top_buyers.is_empty() {
        lines.push(String::new());
        lines.push(bold("Top Buyers:"));
        for (i, buyer) in alert.top_buyers.iter().take(3).enumerate() {
            lines.push(format!(
                "  {} {} {}",
                escape(&format!("{}.", i + 1)),
                code(&format!("{}...", prefix(&buyer.wallet, 8))),
                escape(&format!(
                    "- {:.2} SOL",
                    lamports_to_sol(buyer.volume_lamports)
                ))
            ));
        }
    }

    lines.push(String::new());
    lines.push(code(&alert.mint));
    lines.push(String::new());
    lines.push(format!(
        "{} {} {} {} {}",
        link("Birdeye", &birdeye_url(&alert.mint)),
        escape("|"),
        link("DexScreener", &dexscreener_url(&alert.mint)),
        escape("|"),
        link("Solscan", &solscan_token_url(&alert.mint)),
    ));
    if let Some(text) = super::common::limited_analysis(alert) {
        lines.push(String::new());
        lines.push(format!(
            "⚠️ {} {}",
            bold("Limited Analysis:"),
            escape(&text)
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::sample::sample_alert;

    /// Undoes [`escape`]-style escaping: `\x` → `x` (only valid where every reserved character
    /// was escaped), failing on an unescaped reserved character.
    fn unescape_strict(s: &str) -> Result<String, char> {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.push(chars.next().ok_or('\\')?);
            } else if RESERVED.contains(&c) {
                return Err(c);
            } else {
                out.push(c);
            }
        }
        Ok(out)
    }

    #[test]
    fn escape_covers_every_reserved_character_and_nothing_else() {
        for c in "_*[]()~`>#+-=|{}.!\\".chars() {
            assert_eq!(escape(&c.to_string()), format!("\\{c}"), "{c}");
        }
        for c in (0u8..=127).map(char::from).chain("é🚩—·💰".chars()) {
            let escaped = escape(&c.to_string());
            if "_*[]()~`>#+-=|{}.!\\".contains(c) {
                assert_eq!(escaped.len(), 2, "{c:?}");
            } else {
                assert_eq!(escaped, c.to_string(), "{c:?}");
            }
        }
        let nasty = r"a_b*c[d](e)~f`g>h#i+j-k=l|m{n}o.p!q\r";
        let escaped = escape(nasty);
        assert_eq!(unescape_strict(&escaped), Ok(nasty.to_string()));
        assert_eq!(escape("a_b*c[d](e)~f"), r"a\_b\*c\[d\]\(e\)\~f");
    }

    #[test]
    fn code_and_url_escaping_touch_only_their_characters() {
        assert_eq!(escape_code(r"a`b\c_d*.e"), r"a\`b\\c_d*.e");
        assert_eq!(
            escape_url(r"https://x.io/a_(b)\c"),
            r"https://x.io/a_(b\)\\c"
        );
    }

    #[test]
    fn message_carries_the_reference_content() {
        let alert = sample_alert(1_700_000_000_000);
        let text = telegram_text(&alert);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r"🔴 *HIGH RISK \- Cabal Token \($CABAL\)*");
        assert_eq!(lines[2], "*Concentrated Accumulation*");
        assert_eq!(lines[3], "Few wallets accumulating aggressively");
        assert_eq!(lines[4], r"💧 pump\.fun · 💰 *$75K* mcap");
        assert_eq!(lines[6], r"💰 *12\.5 SOL* from *4* wallets \(last 5 min\)");
        assert_eq!(lines[7], r"🛒 *26* buys \| *ALL BUYS* ratio");
        assert!(!text.contains("inf"), "{text}");
        assert_eq!(lines[9], "🎯 CTO Score: *65%*");
        assert_eq!(lines[10], "  • Very high concentration: top 3 \\= 80%");
        assert_eq!(lines[13], "*Top Buyers:*");
        assert_eq!(lines[14], r"  1\. `9WzDXwBb...` \- 5\.00 SOL");
        assert!(text.contains(&format!("\n`{}`\n", alert.mint)));
        assert!(text.ends_with(&format!(
            r"[Birdeye](https://birdeye.so/token/{m}?chain=solana) \| [DexScreener](https://dexscreener.com/solana/{m}) \| [Solscan](https://solscan.io/token/{m})",
            m = alert.mint
        )));
        let body = telegram_body(&alert, "-100123");
        assert_eq!(body["parse_mode"], "MarkdownV2");
        assert_eq!(body["chat_id"], "-100123");
        assert_eq!(body["link_preview_options"]["is_disabled"], true);
    }

    #[test]
    fn unknown_mcap_finite_ratio_test_marking_and_hostile_names() {
        let mut alert = sample_alert(0);
        alert.mcap_sol = None;
        alert.metrics.retain(|(k, _)| k != "buy_sell_ratio_5m");
        alert.metrics.push(("buy_sell_ratio_5m".into(), 12.34));
        alert.test = true;
        alert.token_name = Some("a_b*c[d](e)~f".into());
        alert.token_symbol = Some("X.Y".into());
        let text = telegram_text(&alert);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r"🧪 TEST — 🔴 *HIGH RISK \- a\_b\*c\[d\]\(e\)\~f \($X\.Y\)*"
        );
        assert_eq!(
            lines[1],
            "This is a test alert from `pocketwatcher alert-test`"
        );
        assert!(text.contains("💰 mcap unknown"), "{text}");
        assert!(text.contains(r"*12\.3x* ratio"), "{text}");
    }
}
