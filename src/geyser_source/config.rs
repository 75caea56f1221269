//! Configuration of the Yellowstone source.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use yellowstone_grpc_proto::prelude::CommitmentLevel;

use crate::domain::Pubkey;
use crate::secret::Secret;

/// The commitment level to subscribe at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commitment {
    Processed,
    #[default]
    Confirmed,
    Finalized,
}

/// A commitment name that is not `processed`, `confirmed` or `finalized`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a commitment level (processed, confirmed, finalized)")]
pub struct UnknownCommitment(pub String);

impl FromStr for Commitment {
    type Err = UnknownCommitment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "processed" => Ok(Commitment::Processed),
            "confirmed" => Ok(Commitment::Confirmed),
            "finalized" => Ok(Commitment::Finalized),
            _ => Err(UnknownCommitment(s.chars().take(40).collect())),
        }
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        })
    }
}

impl From<Commitment> for CommitmentLevel {
    fn from(c: Commitment) -> Self {
        match c {
            Commitment::Processed => CommitmentLevel::Processed,
            Commitment::Confirmed => CommitmentLevel::Confirmed,
            Commitment::Finalized => CommitmentLevel::Finalized,
        }
    }
}

/// How to reach the feed and what to ask it for. `Debug` shows neither the x-token nor anything
/// after the endpoint's host (providers put API keys in paths and query strings).
#[derive(Clone)]
pub struct GeyserSourceConfig {
    /// `http://` or `https://` (TLS with the platform's root certificates) URL of the server.
    pub endpoint: String,
    pub x_token: Option<Secret>,
    /// Transactions that touch any of these programs are delivered (all when empty).
    pub programs: Vec<Pubkey>,
    pub commitment: Commitment,
    /// TCP (and TLS) connection establishment.
    pub connect_timeout: Duration,
    /// Waiting for the `Subscribe` response (not the stream's lifetime).
    pub request_timeout: Duration,
    /// HTTP/2 keep-alive pings, also while idle.
    pub keepalive_interval: Duration,
    /// No message at all (data or server ping) for this long: reconnect.
    pub watchdog: Duration,
    /// First reconnect delay; doubles per failure in a row, with jitter.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub max_decoding_message_size: usize,
}

impl GeyserSourceConfig {
    /// Defaults for everything but the endpoint: all programs, confirmed, 10 s connect and
    /// request timeouts, 10 s keep-alive, 30 s watchdog (the server pings every 10–15 s),
    /// backoff 250 ms → 30 s, 64 MiB messages.
    pub fn new(endpoint: impl Into<String>) -> Self {
        GeyserSourceConfig {
            endpoint: endpoint.into(),
            x_token: None,
            programs: Vec::new(),
            commitment: Commitment::Confirmed,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(10),
            watchdog: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            max_decoding_message_size: 64 * 1024 * 1024,
        }
    }

    /// Checks what would otherwise only fail at connect time (and be retried forever).
    pub fn validate(&self) -> Result<(), String> {
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(format!(
                "endpoint {} must start with http:// or https://",
                redact_endpoint(&self.endpoint)
            ));
        }
        if self.endpoint.parse::<tonic::transport::Uri>().is_err() {
            return Err(format!(
                "endpoint {} is not a valid URI",
                redact_endpoint(&self.endpoint)
            ));
        }
        if let Some(token) = &self.x_token {
            if tonic::metadata::AsciiMetadataValue::try_from(token.expose()).is_err() {
                return Err("x-token is not a valid ASCII header value".into());
            }
        }
        if self.backoff_initial.is_zero() || self.backoff_max < self.backoff_initial {
            return Err("backoff_initial must be > 0 and <= backoff_max".into());
        }
        if self.watchdog.is_zero() {
            return Err("watchdog must be > 0".into());
        }
        Ok(())
    }

    /// The endpoint without path, query or credentials, for logs.
    pub fn endpoint_for_logs(&self) -> String {
        redact_endpoint(&self.endpoint)
    }
}

impl fmt::Debug for GeyserSourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeyserSourceConfig")
            .field("endpoint", &redact_endpoint(&self.endpoint))
            .field("x_token", &self.x_token)
            .field("programs", &self.programs.len())
            .field("commitment", &self.commitment)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("watchdog", &self.watchdog)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .field("max_decoding_message_size", &self.max_decoding_message_size)
            .finish()
    }
}

/// `scheme://host[:port]` of a URL: drops user info, path and query, which may hold API keys.
pub fn redact_endpoint(endpoint: &str) -> String {
    let (scheme, rest) = match endpoint.find("://") {
        Some(i) => (&endpoint[..i], &endpoint[i + 3..]),
        None => ("", endpoint),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let hidden = if authority_end < rest.len() || host.len() < authority.len() {
        "/…"
    } else {
        ""
    };
    if scheme.is_empty() {
        format!("{host}{hidden}")
    } else {
        format!("{scheme}://{host}{hidden}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_parses_and_prints() {
        for (s, c) in [
            ("processed", Commitment::Processed),
            ("Confirmed", Commitment::Confirmed),
            ("finalized", Commitment::Finalized),
        ] {
            assert_eq!(s.parse::<Commitment>().unwrap(), c);
            assert_eq!(c.to_string(), s.to_ascii_lowercase());
        }
        assert!("fast".parse::<Commitment>().is_err());
        assert_eq!(
            CommitmentLevel::from(Commitment::Finalized),
            CommitmentLevel::Finalized
        );
    }

    #[test]
    fn endpoints_are_redacted() {
        assert_eq!(
            redact_endpoint("https://grpc.example.com:443/abc-secret?api-key=xyz"),
            "https://grpc.example.com:443/…"
        );
        assert_eq!(
            redact_endpoint("http://user:pw@10.0.0.1:10000"),
            "http://10.0.0.1:10000/…"
        );
        assert_eq!(
            redact_endpoint("http://127.0.0.1:10000"),
            "http://127.0.0.1:10000"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let mut c = GeyserSourceConfig::new("https://host.example/tok-in-path");
        c.x_token = Some(Secret::new("hunter2"));
        let text = format!("{c:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("tok-in-path"),
            "{text}"
        );
    }

    #[test]
    fn validation() {
        assert!(GeyserSourceConfig::new("http://127.0.0.1:1")
            .validate()
            .is_ok());
        assert!(GeyserSourceConfig::new("grpc.example.com")
            .validate()
            .is_err());
        let mut c = GeyserSourceConfig::new("http://127.0.0.1:1");
        c.x_token = Some(Secret::new("bad\ntoken"));
        let err = c.validate().unwrap_err();
        assert!(!err.contains("bad"), "{err}");
    }
}
