//! The digest message that replaces a channel's waiting alerts when one message each would
//! deliver them too late (`alerts.max_delivery_delay_secs`): the triggers by how many alerts
//! they raised, each trigger's newest alerts (token, mint, time), and how many more.

use serde_json::{json, Value};

use super::common::{dexscreener_url, iso8601_utc, prefix};
use super::{discord, telegram};
use crate::alerting::freshness::{DigestEntry, DigestSummary};

fn headline(d: &DigestSummary) -> String {
    format!("⚡ {} alerts in a burst (rate limit): digest", d.total)
}

/// `HH:MM:SS UTC` of a Unix-ms time.
fn clock(ms: i64) -> String {
    let iso = iso8601_utc(ms);
    format!("{} UTC", &iso[11..19])
}

fn label(e: &DigestEntry) -> String {
    match e.symbol.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => format!("${}", prefix(s, 16)),
        None => format!("{}...", prefix(&e.mint, 8)),
    }
}

/// The webhook body: one embed, a field per trigger.
pub fn discord_digest_body(d: &DigestSummary) -> Value {
    let fields: Vec<Value> = d
        .groups
        .iter()
        .map(|g| {
            let mut lines: Vec<String> = g
                .shown
                .iter()
                .map(|e| {
                    format!(
                        "[{}]({}) `{}` {}",
                        discord::escape(&label(e)),
                        dexscreener_url(&e.mint),
                        e.mint,
                        clock(e.created_at_ms)
                    )
                })
                .collect();
            if g.count > g.shown.len() {
                lines.push(format!("+{} more", g.count - g.shown.len()));
            }
            json!({
                "name": format!("{} ×{}", prefix(&discord::escape(&g.trigger), 200), g.count),
                "value": lines.join("\n"),
                "inline": false,
            })
        })
        .take(25)
        .collect();
    let description = format!(
        "{} alerts between {} and {}; {} listed, {} more counted. Every alert is kept in the \
         outbox (`pocketwatcher status`).",
        d.total,
        clock(d.oldest_ms),
        clock(d.newest_ms),
        d.total - d.not_shown,
        d.not_shown
    );
    json!({
        "embeds": [{
            "title": headline(d),
            "description": description,
            "color": 0xF1C40F,
            "fields": fields,
            "timestamp": iso8601_utc(d.newest_ms),
        }],
        "allowed_mentions": {"parse": []},
    })
}

/// The `sendMessage` body in MarkdownV2.
pub fn telegram_digest_body(d: &DigestSummary, chat_id: &str) -> Value {
    json!({
        "chat_id": chat_id,
        "text": telegram_digest_text(d),
        "parse_mode": "MarkdownV2",
        "link_preview_options": {"is_disabled": true},
    })
}

pub fn telegram_digest_text(d: &DigestSummary) -> String {
    let mut out = vec![format!("*{}*", telegram::escape(&headline(d)))];
    out.push(telegram::escape(&format!(
        "{} alerts between {} and {}; {} more counted.",
        d.total,
        clock(d.oldest_ms),
        clock(d.newest_ms),
        d.not_shown
    )));
    for g in &d.groups {
        out.push(String::new());
        out.push(format!("*{}* ×{}", telegram::escape(&g.trigger), g.count));
        for e in &g.shown {
            out.push(format!(
                "[{}]({}) `{}` {}",
                telegram::escape(&label(e)),
                telegram::escape_url(&dexscreener_url(&e.mint)),
                telegram::escape_code(&e.mint),
                telegram::escape(&clock(e.created_at_ms))
            ));
        }
        if g.count > g.shown.len() {
            out.push(telegram::escape(&format!(
                "+{} more",
                g.count - g.shown.len()
            )));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<DigestEntry> {
        (0..9)
            .map(|i| DigestEntry {
                alert_id: i,
                mint: format!("So1Mint{i}pump"),
                symbol: Some(if i == 0 {
                    "*_x_*".into()
                } else {
                    format!("T{i}")
                }),
                trigger: if i < 7 { "whale_buy" } else { "stealth.acc" }.into(),
                created_at_ms: 1_764_000_000_000 + i * 1000,
            })
            .collect()
    }

    #[test]
    fn discord_digest_names_every_trigger_with_its_count_and_times() {
        let body = discord_digest_body(&DigestSummary::of(&entries()));
        let embed = &body["embeds"][0];
        assert!(embed["title"].as_str().unwrap().contains("9 alerts"));
        let fields = embed["fields"].as_array().unwrap();
        assert_eq!(fields[0]["name"], "whale\\_buy ×7");
        let value = fields[0]["value"].as_str().unwrap();
        assert!(value.contains("`So1Mint6pump`"), "{value}");
        assert!(value.contains("+2 more"), "{value}");
        assert!(value.contains(" UTC"), "{value}");
        assert_eq!(fields[1]["name"], "stealth.acc ×2");
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn telegram_digest_escapes_markdown_v2() {
        let text = telegram_digest_text(&DigestSummary::of(&entries()));
        assert!(text.contains("*stealth\\.acc* ×2"), "{text}");
        assert!(text.contains("whale\\_buy"), "{text}");
        assert!(text.contains("\\+2 more"), "{text}");
    }
}
