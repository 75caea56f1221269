//! `pocketwatcher alert-test --config FILE`: sends one clearly marked test alert straight to each
//! configured channel (not through the outbox: nothing is stored, nothing retried) and says per
//! channel whether it arrived. Exit 0 only when every configured channel took it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::alerting::channel::{Channel, ChannelError, ChatClient, Outcome};
use crate::alerting::sample::test_alert;
use crate::config::{AlertsConfig, Config, ProcessEnv};

/// Sends the test alert to every configured channel, one after the other.
pub async fn send_test_alerts(
    config: &AlertsConfig,
) -> Result<Vec<(Channel, Outcome)>, ChannelError> {
    let client = ChatClient::new(config)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let alert = test_alert(now_ms);
    let mut results = Vec::new();
    for channel in client.channels() {
        let outcome = client.send(channel, &alert).await;
        results.push((channel, outcome));
    }
    Ok(results)
}

/// `discord: sent` / `telegram: failed: HTTP 400: {...}` (errors never hold a URL or token).
pub fn report_line(channel: Channel, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Sent => format!("{}: sent", channel.name()),
        Outcome::RateLimited { retry_after, error } => format!(
            "{}: failed: {error} (rate limited; try again in {:.1} s)",
            channel.name(),
            retry_after.as_secs_f64()
        ),
        Outcome::Transient { error, .. } | Outcome::Permanent { error } => {
            format!("{}: failed: {error}", channel.name())
        }
    }
}

/// The command; returns the exit code.
pub fn alert_test(config_path: &Path) -> anyhow::Result<i32> {
    let config = Config::load(config_path, &ProcessEnv)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(send_test_alerts(&config.alerts))?;
    if results.is_empty() {
        eprintln!(
            "alert-test: no alert channel is configured (set alerts.discord_webhook_url or \
             POCKETWATCHER_DISCORD_WEBHOOK_URL, and/or alerts.telegram_bot_token + \
             alerts.telegram_chat_id)"
        );
        return Ok(1);
    }
    let mut failed = false;
    for (channel, outcome) in &results {
        println!("{}", report_line(*channel, outcome));
        failed |= *outcome != Outcome::Sent;
    }
    Ok(if failed { 1 } else { 0 })
}
