//! Solana JSON-RPC lookups for alerts: `getTokenSupply` (and optionally DAS `getAsset` for the
//! name and symbol), and batches of calls for the funding trace, from any provider, rate-limited
//! per process and held to a daily request budget shared by every detect process (counted in
//! Redis, so restarts do not reset it). Every JSON-RPC call counts against the budget, also each
//! call of a batch array and every retry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{Mutex, Semaphore};

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

#[derive(Debug, Clone, thiserror::Error)]
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
    /// Calls per batch array.
    batch_size: usize,
    /// Batch requests in flight at once.
    in_flight: Arc<Semaphore>,
    /// Further attempts after a 429, a 5xx or a network error.
    retries: u32,
}

/// Longest pause before a retry, whatever a `Retry-After` header asks.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

impl RpcError {
    /// Worth another attempt: rate limits, server errors, transport failures.
    fn retryable(&self) -> bool {
        match self {
            RpcError::Http(text) => {
                !text.starts_with('4') || text.starts_with("429") || text.starts_with("408")
            }
            _ => false,
        }
    }
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
            batch_size: config.rpc_batch_size.max(1),
            in_flight: Arc::new(Semaphore::new(config.rpc_concurrency.max(1))),
            retries: config.rpc_retries,
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
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let outcome = self.send(redis, &body, 1).await.and_then(|reply| {
            if let Some(err) = reply.get("error") {
                return Err(RpcError::Rpc(err.to_string().chars().take(300).collect()));
            }
            reply
                .get("result")
                .cloned()
                .ok_or_else(|| RpcError::Shape("no result".into()))
        });
        let label = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!(m::RPC_REQUESTS, "method" => method, "result" => label).increment(1);
        outcome
    }

    /// Calls `method` once per entry of `params`, in JSON-RPC batch arrays of `rpc_batch_size`
    /// (at most `rpc_concurrency` arrays in flight), and returns one result per entry, in order.
    /// A batch refused by the budget or failing after its retries gives that error for each of
    /// its entries; an entry the provider answered with an error gives that error alone.
    pub async fn batch(
        &self,
        redis: &deadpool_redis::Pool,
        method: &'static str,
        params: Vec<Value>,
    ) -> Vec<Result<Value, RpcError>> {
        if !self.configured() {
            return params
                .iter()
                .map(|_| Err(RpcError::NotConfigured))
                .collect();
        }
        let chunks: Vec<Vec<Value>> = params
            .chunks(self.batch_size)
            .map(<[Value]>::to_vec)
            .collect();
        let answers = futures::future::join_all(
            chunks
                .into_iter()
                .map(|chunk| self.one_batch(redis, method, chunk)),
        )
        .await;
        let out: Vec<Result<Value, RpcError>> = answers.into_iter().flatten().collect();
        for r in &out {
            let label = match r {
                Ok(_) => "ok",
                Err(RpcError::BudgetExhausted(_)) => "over_budget",
                Err(_) => "error",
            };
            metrics::counter!(m::RPC_REQUESTS, "method" => method, "result" => label).increment(1);
        }
        out
    }

    async fn one_batch(
        &self,
        redis: &deadpool_redis::Pool,
        method: &'static str,
        params: Vec<Value>,
    ) -> Vec<Result<Value, RpcError>> {
        let n = params.len();
        let body = Value::Array(
            params
                .into_iter()
                .enumerate()
                .map(|(id, p)| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": p}))
                .collect(),
        );
        let _permit = self.in_flight.acquire().await;
        let reply = match self.send(redis, &body, n as u64).await {
            Ok(reply) => reply,
            Err(e) => return (0..n).map(|_| Err(e.clone())).collect(),
        };
        let Some(items) = reply.as_array() else {
            let shape = match reply.get("error") {
                Some(err) => RpcError::Rpc(err.to_string().chars().take(300).collect()),
                None => RpcError::Shape("a batch answer that is not an array".into()),
            };
            return (0..n).map(|_| Err(shape.clone())).collect();
        };
        let mut out: Vec<Result<Value, RpcError>> = (0..n)
            .map(|_| {
                Err(RpcError::Shape(
                    "no answer for this call in the batch".into(),
                ))
            })
            .collect();
        for item in items {
            let Some(id) = item.get("id").and_then(Value::as_u64).map(|i| i as usize) else {
                continue;
            };
            let Some(slot) = out.get_mut(id) else {
                continue;
            };
            *slot = match (item.get("error"), item.get("result")) {
                (Some(err), _) => Err(RpcError::Rpc(err.to_string().chars().take(300).collect())),
                (None, Some(result)) => Ok(result.clone()),
                (None, None) => Err(RpcError::Shape("no result".into())),
            };
        }
        out
    }

    /// Posts `body` (`calls` JSON-RPC calls), spending the budget for each attempt, retrying
    /// rate limits, server errors and transport failures with a short backoff.
    async fn send(
        &self,
        redis: &deadpool_redis::Pool,
        body: &Value,
        calls: u64,
    ) -> Result<Value, RpcError> {
        let mut attempt = 0u32;
        loop {
            self.spend_budget(redis, calls).await?;
            self.pace().await;
            match self.post(body).await {
                Ok(reply) => return Ok(reply),
                Err((e, retry_after)) if e.retryable() && attempt < self.retries => {
                    let backoff = Duration::from_millis(100 << attempt.min(6));
                    tokio::time::sleep(retry_after.unwrap_or(backoff).min(MAX_RETRY_PAUSE)).await;
                    attempt += 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// One HTTP request; an error carries the `Retry-After` the provider asked for.
    async fn post(&self, body: &Value) -> Result<Value, (RpcError, Option<Duration>)> {
        let response = self
            .http
            .post(self.url.expose())
            .json(body)
            .send()
            .await
            // reqwest errors print the URL, which often holds the provider's API key.
            .map_err(|e| {
                (
                    RpcError::Http(format!("transport: {}", e.without_url())),
                    None,
                )
            })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err((RpcError::Http(status.to_string()), retry_after));
        }
        response.json().await.map_err(|e| {
            (
                RpcError::Shape(format!("{status}: {}", e.without_url())),
                None,
            )
        })
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

    /// Counts `calls` requests against today's budget; refused (and given back, so smaller
    /// requests still fit) when they would exceed it.
    async fn spend_budget(&self, redis: &deadpool_redis::Pool, calls: u64) -> Result<(), RpcError> {
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
            .cmd("INCRBY")
            .arg(&key)
            .arg(calls)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(2 * 86_400)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| RpcError::Redis(e.to_string()))?;
        if used > self.daily_budget {
            let _: redis::RedisResult<()> = redis::cmd("DECRBY")
                .arg(&key)
                .arg(calls)
                .query_async(&mut conn)
                .await;
            metrics::counter!(m::RPC_REQUESTS, "method" => "any", "result" => "over_budget")
                .increment(1);
            return Err(RpcError::BudgetExhausted(self.daily_budget));
        }
        Ok(())
    }
}
