//! Everything an alert says beyond the window metrics: price and market cap, venue, name and
//! symbol, linked buyers. Reads Postgres (`swap_events`, `token_profiles`, `wallet_profiles`) and,
//! for the supply, a Solana JSON-RPC provider (cached in `token_profiles`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tracing::{debug, warn};

use super::funding::{FundingTracer, TraceOutcome};
use super::rpc::{RpcClient, TokenSupply};
use crate::config::EnrichConfig;
use crate::domain::clusters::{clusters_from_groups, largest_share, WalletIntel};
use crate::domain::funding::{funding_groups, hot_trace_allowance, per_round, same_source_share};
use crate::domain::wallet_links::fee_payer_groups;
use crate::metrics as m;
use crate::store::postgres::tokens;
use crate::store::postgres::PgPool;

/// Price, supply and market cap of a token, each possibly unknown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Market {
    pub price_sol: Option<f64>,
    pub supply: Option<TokenSupply>,
    pub mcap_sol: Option<f64>,
    pub name: Option<String>,
    pub symbol: Option<String>,
}

/// A funding trace that outlived `enrich.max_wait_ms`, with what its intel is built from.
pub struct LateTrace {
    task: tokio::task::JoinHandle<TraceOutcome>,
    mint: String,
    since: i64,
    wallets: Vec<String>,
    volumes: Vec<u64>,
    window_buy_lamports: u64,
}

pub struct Enricher {
    /// Shared with the trace tasks that outlive an alert's latency budget.
    tracer: std::sync::Arc<FundingTracer>,
    postgres: PgPool,
    redis: deadpool_redis::Pool,
    rpc: RpcClient,
    config: EnrichConfig,
    /// Supplies looked up (or failed) recently, so a failing provider is not asked per evaluation.
    recent: Mutex<HashMap<String, (Instant, Option<TokenSupply>)>>,
}

impl Enricher {
    pub fn new(postgres: PgPool, redis: deadpool_redis::Pool, config: &EnrichConfig) -> Self {
        Enricher {
            tracer: std::sync::Arc::new(FundingTracer::new(
                postgres.clone(),
                redis.clone(),
                config,
            )),
            postgres,
            redis,
            rpc: RpcClient::new(config),
            config: config.clone(),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Price from the mint's latest SOL-quoted swap; supply from the cache or the provider.
    pub async fn market(&self, mint: &str) -> Market {
        let price_sol = match tokens::last_sol_trade(&self.postgres, mint).await {
            Ok(trade) => trade.and_then(|t| t.price_sol()),
            Err(e) => {
                metrics::counter!(m::POSTGRES_ERRORS, "op" => "last_sol_trade").increment(1);
                warn!(error = %e, "cannot read the last SOL trade");
                None
            }
        };
        let profile = tokens::token_profile(&self.postgres, mint)
            .await
            .unwrap_or_else(|e| {
                metrics::counter!(m::POSTGRES_ERRORS, "op" => "token_profile").increment(1);
                warn!(error = %e, "cannot read the token profile");
                None
            })
            .unwrap_or_default();
        let mut name = profile.name.clone();
        let mut symbol = profile.symbol.clone();
        let cached = profile.token_supply.as_ref().and_then(|raw| {
            (profile.age_secs >= 0 && (profile.age_secs as u64) < self.config.supply_cache_secs)
                .then(|| TokenSupply {
                    raw: raw.clone(),
                    decimals: profile.decimals.clamp(0, 30) as u8,
                })
        });
        let supply = match cached {
            Some(s) => Some(s),
            None => {
                let (supply, fetched_meta) = self.look_up(mint, name.is_none()).await;
                if let Some((n, s)) = fetched_meta {
                    name = name.or(n);
                    symbol = symbol.or(s);
                }
                supply
            }
        };
        let mcap_sol = match (&supply, price_sol) {
            (Some(s), Some(p)) => s.whole().map(|w| w * p),
            _ => None,
        };
        Market {
            price_sol,
            supply,
            mcap_sol,
            name,
            symbol,
        }
    }

    async fn look_up(
        &self,
        mint: &str,
        want_metadata: bool,
    ) -> (
        Option<TokenSupply>,
        Option<(Option<String>, Option<String>)>,
    ) {
        if !self.rpc.configured() {
            return (None, None);
        }
        {
            let recent = self.recent.lock().await;
            if let Some((at, s)) = recent.get(mint) {
                if at.elapsed() < Duration::from_secs(300) {
                    return (s.clone(), None);
                }
            }
        }
        let supply = match self.rpc.token_supply(&self.redis, mint).await {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, mint, "token supply lookup failed; market cap unknown");
                None
            }
        };
        let meta = if want_metadata && self.config.token_metadata && supply.is_some() {
            match self.rpc.token_metadata(&self.redis, mint).await {
                Ok(m) => Some(m),
                Err(e) => {
                    debug!(error = %e, mint, "no token metadata");
                    None
                }
            }
        } else {
            None
        };
        if let Some(s) = &supply {
            let (n, sym) = meta.clone().unwrap_or_default();
            if let Err(e) = tokens::store_supply(
                &self.postgres,
                mint,
                &s.raw,
                s.decimals as i16,
                n.as_deref(),
                sym.as_deref(),
            )
            .await
            {
                warn!(error = %e, "cannot cache the token supply");
            }
        }
        let mut recent = self.recent.lock().await;
        if recent.len() > 10_000 {
            recent.clear();
        }
        recent.insert(mint.to_string(), (Instant::now(), supply.clone()));
        (supply, meta)
    }

    pub async fn venue(&self, mint: &str, since: i64) -> Option<String> {
        tokens::dominant_venue(&self.postgres, mint, since)
            .await
            .unwrap_or_else(|e| {
                warn!(error = %e, "cannot read the dominant venue");
                None
            })
    }

    /// Groups of the given wallets seen acting together (bundled buys, shared funders).
    pub async fn linked_groups(
        &self,
        mint: &str,
        since: i64,
        wallets: &[String],
    ) -> Vec<Vec<String>> {
        tokens::linked_wallet_groups(&self.postgres, mint, since, wallets)
            .await
            .unwrap_or_else(|e| {
                warn!(error = %e, "cannot read linked wallets");
                Vec::new()
            })
    }

    /// Clusters of `wallets` (bundles from the stored swaps, shared funders and fee payers from
    /// the funding trace) and the wallet metrics, waiting for the trace at most
    /// `enrich.max_wait_ms`. A trace still running then goes on (its results land in the
    /// `wallet_profiles` cache) and is returned as a [`LateTrace`]: the alert says what it lacked,
    /// and [`Enricher::finish_late`] gives the complete intel once the trace ends.
    pub async fn wallet_intel(
        &self,
        mint: &str,
        since: i64,
        wallets: &[String],
        volumes: &[u64],
        window_buy_lamports: u64,
    ) -> (WalletIntel, Option<LateTrace>) {
        let tracer = self.tracer.clone();
        let buyers = wallets.to_vec();
        let mut task = tokio::spawn(async move { tracer.trace(&buyers).await });
        let wait = Duration::from_millis(self.config.max_wait_ms.max(1));
        let mut missing = Vec::new();
        let mut late = None;
        let trace = match tokio::time::timeout(wait, &mut task).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                warn!(error = %e, "funding trace task failed");
                missing.push("funding trace: failed".to_string());
                TraceOutcome::default()
            }
            Err(_) => {
                missing.push(format!(
                    "funding trace: still running after {} ms (recorded later)",
                    self.config.max_wait_ms
                ));
                late = Some(LateTrace {
                    task,
                    mint: mint.to_string(),
                    since,
                    wallets: wallets.to_vec(),
                    volumes: volumes.to_vec(),
                    window_buy_lamports,
                });
                TraceOutcome::default()
            }
        };
        let intel = self
            .intel_from(
                mint,
                since,
                wallets,
                volumes,
                window_buy_lamports,
                trace,
                missing,
            )
            .await;
        (intel, late)
    }

    /// Waits for a trace that outlived the latency budget and builds the intel it allows (None
    /// when the trace task failed).
    pub async fn finish_late(&self, late: LateTrace) -> Option<WalletIntel> {
        let trace = match late.task.await {
            Ok(t) => t,
            Err(e) => {
                warn!(error = %e, "late funding trace task failed");
                return None;
            }
        };
        Some(
            self.intel_from(
                &late.mint,
                late.since,
                &late.wallets,
                &late.volumes,
                late.window_buy_lamports,
                trace,
                Vec::new(),
            )
            .await,
        )
    }

    /// Links from the buys' fee payers (a payer other than the buyer links the wallets it paid
    /// for; labelled payers link nobody) and from SOL the buyers sent each other (recorded by
    /// the trace).
    async fn payer_and_transfer_groups(
        &self,
        mint: &str,
        since: i64,
        wallets: &[String],
    ) -> Vec<Vec<String>> {
        let mut groups = match tokens::fee_payer_groups(&self.postgres, mint, since).await {
            Ok(rows) => fee_payer_groups(rows, self.tracer.labels()),
            Err(e) => {
                warn!(error = %e, "cannot read the buys' fee payers");
                Vec::new()
            }
        };
        match crate::store::postgres::wallets::transfer_pairs(&self.postgres, wallets).await {
            Ok(pairs) => groups.extend(pairs),
            Err(e) => warn!(error = %e, "cannot read transfers between buyers"),
        }
        groups
    }

    #[allow(clippy::too_many_arguments)]
    async fn intel_from(
        &self,
        mint: &str,
        since: i64,
        wallets: &[String],
        volumes: &[u64],
        window_buy_lamports: u64,
        trace: TraceOutcome,
        mut missing: Vec<String>,
    ) -> WalletIntel {
        if let Some(reason) = &trace.missing {
            missing.push(format!("funding trace: {reason}"));
        }
        let mut groups = self.linked_groups(mint, since, wallets).await;
        groups.extend(self.payer_and_transfer_groups(mint, since, wallets).await);
        let chains = if trace.chains.len() == wallets.len() {
            trace.chains
        } else {
            vec![Default::default(); wallets.len()]
        };
        groups.extend(funding_groups(wallets, &chains));
        let clusters = clusters_from_groups(wallets, volumes, &groups);
        WalletIntel {
            largest_cluster_share: largest_share(&clusters, window_buy_lamports),
            funded_by_same_source_pct: same_source_share(wallets, &chains),
            funding: wallets
                .iter()
                .zip(&chains)
                .map(|(w, c)| (w.clone(), c.funders.clone(), c.source.clone()))
                .collect(),
            clusters,
            missing,
            cto_inputs: Vec::new(),
        }
    }

    /// How often the HOT tracer looks for new buyers; None when it is off (no RPC provider, the
    /// funding trace off, or a rate of 0).
    pub fn hot_trace_every(&self) -> Option<Duration> {
        let on = self.rpc.configured()
            && self.config.funding_trace
            && self.config.hot_trace_wallets_per_min > 0;
        on.then(|| Duration::from_secs(self.config.hot_trace_interval_secs.max(1)))
    }

    /// Traces, rate- and budget-permitting, those of `wallets` (new buyers of HOT tokens) that
    /// are not traced yet; results land in the `wallet_profiles` cache, where an alert on them
    /// later finds them. Returns the wallets it is done with (traced now, or already cached);
    /// the others wait for a later round.
    pub async fn trace_hot_buyers(&self, wallets: &[String]) -> Vec<String> {
        if wallets.is_empty() {
            return Vec::new();
        }
        let cached =
            match crate::store::postgres::wallets::load_funding(&self.postgres, wallets).await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "cannot read the funding cache; HOT tracing waits");
                    return Vec::new();
                }
            };
        let (mut done, todo): (Vec<String>, Vec<String>) = wallets
            .iter()
            .cloned()
            .partition(|w| cached.contains_key(w));
        let day = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64 / 86_400);
        let used = match self.redis.get().await {
            Ok(mut conn) => crate::store::redis::detect_index::rpc_budget_used(&mut conn, day)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let used = match used {
            Ok(u) => u,
            Err(e) => {
                warn!(error = %e, "cannot read the RPC budget; HOT tracing waits");
                return done;
            }
        };
        let n = hot_trace_allowance(
            used,
            self.config.rpc_daily_budget,
            self.config.hot_trace_budget_pct,
            per_round(
                self.config.hot_trace_wallets_per_min,
                self.config.hot_trace_interval_secs.max(1),
            ),
        );
        let hot = |result: &'static str, n: usize| {
            metrics::counter!(m::HOT_TRACE_WALLETS, "result" => result).increment(n as u64);
        };
        hot("cached", done.len());
        hot("deferred", todo.len().saturating_sub(n));
        let batch: Vec<String> = todo.into_iter().take(n).collect();
        if batch.is_empty() {
            return done;
        }
        let outcome = self.tracer.trace(&batch).await;
        hot(
            if outcome.missing.is_none() {
                "traced"
            } else {
                "unknown"
            },
            batch.len(),
        );
        debug!(
            wallets = batch.len(),
            missing = ?outcome.missing,
            "traced new buyers of HOT tokens"
        );
        if outcome.missing.is_none() {
            done.extend(batch);
        }
        done
    }

    pub async fn mark_hot(&self, mint: &str, reason: &str) {
        if let Err(e) = tokens::mark_hot(&self.postgres, mint, reason).await {
            warn!(error = %e, "cannot record the HOT state in token_profiles");
        }
    }

    pub async fn mark_cold(&self, mints: &[String]) {
        if let Err(e) = tokens::mark_cold(&self.postgres, mints).await {
            warn!(error = %e, "cannot record the COLD state in token_profiles");
        }
    }
}
