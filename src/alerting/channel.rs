//! The two chat channels over HTTP: one request per message, and what its answer means
//! ([`Outcome`]). Nothing here retries or waits; the sender decides that.
//!
//! Webhook URLs and bot tokens are secrets: reqwest's errors carry the request URL, so they are
//! taken `without_url()`, and every error text is scrubbed of the URL and token before it leaves
//! this module (into logs or `last_error`).

use crate::error_chain::error_chain;
use std::time::Duration;

use thiserror::Error;

use super::format::{discord_body, discord_digest_body, telegram_body, telegram_digest_body};
use super::freshness::DigestSummary;
use crate::config::AlertsConfig;
use crate::domain::alert::Alert;
use crate::secret::Secret;

/// A delivery channel; its name is the `alert_deliveries.channel` value and the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Discord,
    Telegram,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Discord, Channel::Telegram];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Discord => "discord",
            Channel::Telegram => "telegram",
        }
    }

    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Why an attempt will be retried (the `reason` label of the retry metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    RateLimited,
    ServerError,
    Timeout,
    Network,
}

impl RetryReason {
    pub fn label(self) -> &'static str {
        match self {
            RetryReason::RateLimited => "rate_limited",
            RetryReason::ServerError => "server_error",
            RetryReason::Timeout => "timeout",
            RetryReason::Network => "network",
        }
    }
}

/// What one request achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// 429: the service said when to come back.
    RateLimited {
        retry_after: Duration,
        error: String,
    },
    /// 5xx, timeout, connection failure: worth retrying with backoff.
    Transient {
        reason: RetryReason,
        error: String,
    },
    /// Any other answer (4xx): retrying would get the same answer.
    Permanent {
        error: String,
    },
}

impl Outcome {
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Sent => None,
            Outcome::RateLimited { error, .. }
            | Outcome::Transient { error, .. }
            | Outcome::Permanent { error } => Some(error),
        }
    }
}

#[derive(Debug, Error)]
pub enum ChannelError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Longest `retry_after` honoured as given (a larger one is capped: the attempt then simply meets
/// another 429).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Used when a 429 carries no usable `retry_after`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Most characters of a response body kept in an error.
const BODY_MAX_CHARS: usize = 300;

/// Sends alerts to the configured channels.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    discord_url: Secret,
    telegram_token: Secret,
    telegram_chat_id: String,
    telegram_api_base: String,
    /// Strings scrubbed from every error text.
    secrets: Vec<String>,
}

impl ChatClient {
    pub fn new(config: &AlertsConfig) -> Result<Self, ChannelError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.request_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(
                config.request_timeout_secs.clamp(1, 10),
            ))
            // A redirect would resend the message (and could leak it) somewhere unconfigured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pocketwatcher/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::Client(error_chain(&e.without_url())))?;
        Ok(ChatClient {
            http,
            discord_url: config.discord_webhook_url.clone(),
            telegram_token: config.telegram_bot_token.clone(),
            telegram_chat_id: config.telegram_chat_id.clone(),
            telegram_api_base: config.telegram_api_base.trim_end_matches('/').to_string(),
            secrets: secrets_of(config),
        })
    }

    /// The channels this client can send to.
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if !self.discord_url.is_empty() {
            out.push(Channel::Discord);
        }
        if !self.telegram_token.is_empty() && !self.telegram_chat_id.is_empty() {
            out.push(Channel::Telegram);
        }
        out
    }

    /// One attempt at delivering `alert` to `channel`.
    pub async fn send(&self, channel: Channel, alert: &Alert) -> Outcome {
        let outcome = match channel {
            Channel::Discord => self.send_discord(alert).await,
            Channel::Telegram => self.send_telegram(alert).await,
        };
        self.scrub_outcome(outcome)
    }

    /// One attempt at delivering a digest of waiting alerts to `channel`.
    pub async fn send_digest(&self, channel: Channel, digest: &DigestSummary) -> Outcome {
        let outcome = match channel {
            Channel::Discord => self.post_discord(discord_digest_body(digest)).await,
            Channel::Telegram => {
                let body = telegram_digest_body(digest, &self.telegram_chat_id);
                self.post_telegram(body).await
            }
        };
        self.scrub_outcome(outcome)
    }

    async fn send_discord(&self, alert: &Alert) -> Outcome {
        self.post_discord(discord_body(alert)).await
    }

    async fn post_discord(&self, body: serde_json::Value) -> Outcome {
        if self.discord_url.is_empty() {
            return Outcome::Permanent {
                error: "discord is not configured".into(),
            };
        }
        let request = self.http.post(self.discord_url.expose()).json(&body);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = response.text().await.unwrap_or_default();
                classify_discord(status, retry_after.as_deref(), &body)
            }
            Err(e) => transport_error(e),
        }
    }

    async fn send_telegram(&self, alert: &Alert) -> Outcome {
        self.post_telegram(telegram_body(alert, &self.telegram_chat_id))
            .await
    }

    async fn post_telegram(&self, body: serde_json::Value) -> Outcome {
        if self.telegram_token.is_empty() || self.telegram_chat_id.is_empty() {
            return Outcome::Permanent {
                error: "telegram is not configured".into(),
            };
        }
        let url = format!(
            "{}/bot{}/sendMessage",
            self.telegram_api_base,
            self.telegram_token.expose()
        );
        let request = self.http.post(url).json(&body);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                classify_telegram(status, &body)
            }
            Err(e) => transport_error(e),
        }
    }

    fn scrub_outcome(&self, outcome: Outcome) -> Outcome {
        let scrub = |e: String| scrub(&e, &self.secrets);
        match outcome {
            Outcome::Sent => Outcome::Sent,
            Outcome::RateLimited { retry_after, error } => Outcome::RateLimited {
                retry_after,
                error: scrub(error),
            },
            Outcome::Transient { reason, error } => Outcome::Transient {
                reason,
                error: scrub(error),
            },
            Outcome::Permanent { error } => Outcome::Permanent {
                error: scrub(error),
            },
        }
    }
}

/// The configured channels' names, in a fixed order (what the detector passes to
/// `insert_alert`).
pub fn configured_channels(config: &AlertsConfig) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !config.discord_webhook_url.is_empty() {
        out.push(Channel::Discord.name());
    }
    if !config.telegram_bot_token.is_empty() && !config.telegram_chat_id.is_empty() {
        out.push(Channel::Telegram.name());
    }
    out
}

/// The webhook URL, its token segment(s) and the bot token: what must never be printed.
fn secrets_of(config: &AlertsConfig) -> Vec<String> {
    let mut out = Vec::new();
    let hook = config.discord_webhook_url.expose();
    if !hook.is_empty() {
        out.push(hook.to_string());
        // .../api/webhooks/{id}/{token}[?query]
        let path = hook.split(['?', '#']).next().unwrap_or(hook);
        out.push(path.to_string());
        if let Some(token) = path.trim_end_matches('/').rsplit('/').next() {
            out.push(token.to_string());
        }
    }
    let token = config.telegram_bot_token.expose();
    if !token.is_empty() {
        out.push(token.to_string());
        // The part after "id:" alone is the secret half.
        if let Some((_, secret)) = token.split_once(':') {
            out.push(secret.to_string());
        }
    }
    // Longest first, so a URL is replaced whole before its token part.
    out.retain(|s| s.len() >= 8);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `text` with every secret replaced by `[redacted]`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}

fn transport_error(e: reqwest::Error) -> Outcome {
    let (timeout, builder) = (e.is_timeout(), e.is_builder());
    let text = error_chain(&e.without_url());
    if timeout {
        Outcome::Transient {
            reason: RetryReason::Timeout,
            error: format!("timeout: {text}"),
        }
    } else if builder {
        Outcome::Permanent {
            error: format!("invalid request: {text}"),
        }
    } else {
        Outcome::Transient {
            reason: RetryReason::Network,
            error: format!("network: {text}"),
        }
    }
}

/// The answer of a Discord webhook. 2xx: sent. 429: come back after the body's `retry_after`
/// (seconds, fractional) or the `Retry-After` header. 5xx: transient. Anything else: permanent.
pub fn classify_discord(status: u16, retry_after_header: Option<&str>, body: &str) -> Outcome {
    if (200..300).contains(&status) {
        return Outcome::Sent;
    }
    let error = http_error(status, body);
    if status == 429 {
        let from_body = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("retry_after").and_then(|r| r.as_f64()));
        let from_header = retry_after_header.and_then(|h| h.trim().parse::<f64>().ok());
        return Outcome::RateLimited {
            retry_after: retry_after(from_body.or(from_header)),
            error,
        };
    }
    if status >= 500 {
        return Outcome::Transient {
            reason: RetryReason::ServerError,
            error,
        };
    }
    Outcome::Permanent { error }
}

/// The answer of the Bot API. `ok:true` with a 2xx: sent. `ok:false` is classified by its
/// `error_code` (falling back to the HTTP status): 429 waits `parameters.retry_after`, 5xx is
/// transient, anything else permanent.
pub fn classify_telegram(status: u16, body: &str) -> Outcome {
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    let ok = json
        .as_ref()
        .and_then(|j| j.get("ok"))
        .and_then(|o| o.as_bool());
    if (200..300).contains(&status) && ok != Some(false) {
        return Outcome::Sent;
    }
    let code = json
        .as_ref()
        .and_then(|j| j.get("error_code"))
        .and_then(|c| c.as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status);
    let error = http_error(code, body);
    if code == 429 {
        let seconds = json
            .as_ref()
            .and_then(|j| j.pointer("/parameters/retry_after"))
            .and_then(|r| r.as_f64());
        return Outcome::RateLimited {
            retry_after: retry_after(seconds),
            error,
        };
    }
    if code >= 500 {
        return Outcome::Transient {
            reason: RetryReason::ServerError,
            error,
        };
    }
    Outcome::Permanent { error }
}

fn retry_after(seconds: Option<f64>) -> Duration {
    match seconds.filter(|s| s.is_finite() && *s >= 0.0) {
        Some(s) => Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())),
        None => DEFAULT_RETRY_AFTER,
    }
}

/// `HTTP 400: <body, truncated>`.
fn http_error(status: u16, body: &str) -> String {
    let body = body.trim();
    let mut out = format!("HTTP {status}");
    if !body.is_empty() {
        out.push_str(": ");
        if body.chars().count() > BODY_MAX_CHARS {
            out.extend(body.chars().take(BODY_MAX_CHARS));
            out.push('…');
        } else {
            out.push_str(body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_answers() {
        assert_eq!(classify_discord(204, None, ""), Outcome::Sent);
        assert_eq!(classify_discord(200, None, "{}"), Outcome::Sent);
        match classify_discord(429, Some("3"), r#"{"retry_after": 1.5, "global": false}"#) {
            Outcome::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_millis(1500))
            }
            other => panic!("{other:?}"),
        }
        match classify_discord(429, Some("2"), "not json") {
            Outcome::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_secs(2))
            }
            other => panic!("{other:?}"),
        }
        match classify_discord(429, None, "") {
            Outcome::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, DEFAULT_RETRY_AFTER)
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_discord(503, None, "down"),
            Outcome::Transient {
                reason: RetryReason::ServerError,
                ..
            }
        ));
        assert_eq!(
            classify_discord(400, None, r#"{"message":"Invalid Form Body"}"#),
            Outcome::Permanent {
                error: r#"HTTP 400: {"message":"Invalid Form Body"}"#.into()
            }
        );
        assert!(matches!(
            classify_discord(404, None, ""),
            Outcome::Permanent { .. }
        ));
        let long = "x".repeat(2000);
        let error = classify_discord(400, None, &long)
            .error()
            .unwrap()
            .to_string();
        assert!(error.chars().count() < 320, "{}", error.len());
    }

    #[test]
    fn telegram_answers_by_error_code() {
        assert_eq!(
            classify_telegram(200, r#"{"ok":true,"result":{}}"#),
            Outcome::Sent
        );
        match classify_telegram(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        ) {
            Outcome::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Duration::from_secs(7))
            }
            other => panic!("{other:?}"),
        }
        // ok:false with a 200 status is still a failure, classified by error_code.
        assert!(matches!(
            classify_telegram(
                200,
                r#"{"ok":false,"error_code":400,"description":"Bad Request"}"#
            ),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(
            classify_telegram(502, "<html>bad gateway</html>"),
            Outcome::Transient { .. }
        ));
        let bad = classify_telegram(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities"}"#,
        );
        assert!(bad.error().unwrap().starts_with("HTTP 400: "));
        assert!(matches!(bad, Outcome::Permanent { .. }));
    }

    #[test]
    fn secrets_are_scrubbed_longest_first() {
        let config = AlertsConfig {
            discord_webhook_url: Secret::new(
                "https://discord.com/api/webhooks/123/AbCdEfGhIjK?wait=true",
            ),
            telegram_bot_token: Secret::new("42:SECRETSECRET"),
            telegram_chat_id: "1".into(),
            ..AlertsConfig::default()
        };
        let secrets = secrets_of(&config);
        let text = "posting to https://discord.com/api/webhooks/123/AbCdEfGhIjK failed; \
                    token AbCdEfGhIjK; bot42:SECRETSECRET and SECRETSECRET";
        let scrubbed = scrub(text, &secrets);
        assert!(!scrubbed.contains("AbCdEfGhIjK"), "{scrubbed}");
        assert!(!scrubbed.contains("SECRETSECRET"), "{scrubbed}");
        assert!(!scrubbed.contains("webhooks/123"), "{scrubbed}");
        assert_eq!(configured_channels(&config), vec!["discord", "telegram"]);
        assert!(configured_channels(&AlertsConfig::default()).is_empty());
    }
}
