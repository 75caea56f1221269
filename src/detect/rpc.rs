//! Solana JSON-RPC lookups for alerts: `getTokenSupply` (and optionally DAS `getAsset` for the
//! name and symbol), from any provider, rate-limited per process and held to a daily request
//! budget shared by every detect process (counted in Redis, so restarts do not reset it).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::config::EnrichConfig;
use crate::metrics as m;
use crate::secret::Secret;
use crate::store::redis::keys;

/// A token's raw supply and decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSupply {
    /// Integer in base units (can exceed u64).
    pub raw: String,
    pub decimals: u8,
}

impl TokenSupply {
    /// Whole tokens.
    pub fn whole(&self) -> Option<f64> {
        Some(self.raw.parse::<f64>().ok()? / 10f64.powi(self.decimals as i32))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("no RPC URL configured")]
    NotConfigured,
    #[error("daily RPC budget of {0} requests used up")]
    BudgetExhausted(u64),
    #[error("RPC request failed: {0}")]
    Http(String),
    #[error("RPC answered an error: {0}")]
    Rpc(String),
    #[error("RPC answer not understood: {0}")]
    Shape(String),
    #[error("redis: {0}")]
    Redis(String),
}

pub struct RpcClient {
    url: Secret,
    http: reqwest::Client,
    daily_budget: u64,
    min_interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RpcClient {
    pub fn new(config: &EnrichConfig) -> Self {
        RpcClient {
            url: config.rpc_url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(config.rpc_timeout_ms.max(100)))
                .build()
                .unwrap_or_default(),
            daily_budget: config.rpc_daily_budget,
            min_interval: Duration::from_secs_f64(
                1.0 / f64::from(config.rpc_requests_per_sec.max(1)),
            ),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    pub fn configured(&self) -> bool {
        !self.url.expose().is_empty()
    }

    pub async fn token_supply(
        &self,
        redis: &deadpool_redis::Pool,
        mint: &str,
    ) -> Result<TokenSupply, RpcError> {
        let result = self
            .call(
                redis,
                "getTokenSupply",
                json!([mint, {"commitment": "confirmed"}]),
            )
            .await?;
        let value = &result["value"];
        let raw = value["amount"]
            .as_str()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| RpcError::Shape("value.amount".into()))?;
        let decimals = value["decimals"]
            .as_u64()
            .filter(|d| *d <= 30)
            .ok_or_else(|| RpcError::Shape("value.decimals".into()))?;
        Ok(TokenSupply {
            raw: raw.to_string(),
            decimals: decimals as u8,
        })
    }

    /// Name and symbol from DAS `getAsset` (None when the provider has no metadata).
    pub async fn token_metadata(
        &self,
        redis: &deadpool_redis::Pool,
        mint: &str,
    ) -> Result<(Option<String>, Option<String>), RpcError> {
        let result = self.call(redis, "getAsset", json!({"id": mint})).await?;
        let meta = &result["content"]["metadata"];
        // On-chain metadata is NUL-padded; PostgreSQL text cannot hold NUL or other controls.
        let text = |v: &Value| {
            v.as_str()
                .map(|s| s.chars().filter(|c| !c.is_control()).collect::<String>())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Ok((text(&meta["name"]), text(&meta["symbol"])))
    }

    async fn call(
        &self,
        redis: &deadpool_redis::Pool,
        method: &'static str,
        params: Value,
    ) -> Result<Value, RpcError> {
        if !self.configured() {
            return Err(RpcError::NotConfigured);
        }
        self.spend_budget(redis).await?;
        self.pace().await;
        let outcome = self.post(method, params).await;
        let label = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!(m::RPC_REQUESTS, "method" => method, "result" => label).increment(1);
        outcome
    }

    async fn post(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .http
            .post(self.url.expose())
            .json(&body)
            .send()
            .await
            // reqwest errors print the URL, which often holds the provider's API key.
            .map_err(|e| RpcError::Http(e.without_url().to_string()))?;
        let status = response.status();
        let reply: Value = response
            .json()
            .await
            .map_err(|e| RpcError::Http(format!("{status}: {}", e.without_url())))?;
        if let Some(err) = reply.get("error") {
            return Err(RpcError::Rpc(err.to_string().chars().take(300).collect()));
        }
        if !status.is_success() {
            return Err(RpcError::Http(status.to_string()));
        }
        reply
            .get("result")
            .cloned()
            .ok_or_else(|| RpcError::Shape("no result".into()))
    }

    /// At most `rpc_requests_per_sec`: each call takes the next free slot.
    async fn pace(&self) {
        let wait = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.min_interval;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn spend_budget(&self, redis: &deadpool_redis::Pool) -> Result<(), RpcError> {
        let day = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64 / 86_400);
        let key = keys::rpc_budget(day);
        let mut conn = redis
            .get()
            .await
            .map_err(|e| RpcError::Redis(e.to_string()))?;
        let (used,): (u64,) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(2 * 86_400)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| RpcError::Redis(e.to_string()))?;
        if used > self.daily_budget {
            metrics::counter!(m::RPC_REQUESTS, "method" => "any", "result" => "over_budget")
                .increment(1);
            return Err(RpcError::BudgetExhausted(self.daily_budget));
        }
        Ok(())
    }
}
