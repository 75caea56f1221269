//! Typed configuration: a TOML file, then environment overrides (secrets belong in the
//! environment), then validation. Every error names the field and says how to fix it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::domain::assets::{QuoteAsset, VenueKind, VenueProgram, DEFAULT_VENUES};
use crate::domain::{InferenceConfig, Pubkey, QuoteAssets, VenueTable};
use crate::secret::Secret;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config field `{field}`: {problem}. Fix: {fix}")]
    Invalid {
        field: String,
        problem: String,
        fix: String,
    },
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

fn invalid(field: &str, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub redis: RedisConfig,
    pub postgres: PostgresConfig,
    pub yellowstone: YellowstoneConfig,
    pub ingest: IngestConfig,
    pub consume: ConsumeConfig,
    pub reclaim: ReclaimConfig,
    pub counters: CountersConfig,
    pub swap_store: SwapStoreConfig,
    pub supervisor: SupervisorConfig,
    pub shutdown: ShutdownConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub detect: DetectConfig,
    pub enrich: EnrichConfig,
    pub alerts: AlertsConfig,
    pub outcomes: OutcomesConfig,
    /// Replaces the built-in venue table when non-empty.
    pub venues: Vec<VenueEntry>,
    /// Quote assets after SOL, in priority order; replaces the default (USDC, USDT) when non-empty.
    pub quotes: Vec<QuoteEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Overridden by `POCKETWATCHER_REDIS_URL`.
    pub url: Secret,
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// Overridden by `POCKETWATCHER_POSTGRES_URL` (keep passwords out of the file).
    pub url: Secret,
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YellowstoneConfig {
    pub endpoint: String,
    /// Overridden by `POCKETWATCHER_YELLOWSTONE_TOKEN`.
    pub x_token: Secret,
    /// confirmed | finalized (processed is refused: forks would be counted)
    pub commitment: String,
    pub connect_timeout_secs: u64,
    pub watchdog_secs: u64,
    pub keepalive_secs: u64,
    pub backoff_initial_ms: u64,
    pub backoff_max_secs: u64,
    pub max_message_mb: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Transactions per pipelined XADD round trip.
    pub batch_size: usize,
    /// Longest a partial batch waits before it is written.
    pub linger_ms: u64,
    /// Backlog (pending + undelivered) at which ingest stops reading the feed.
    pub backlog_cap: u64,
    /// Backlog below which ingest resumes.
    pub backlog_resume: u64,
    /// Transactions buffered between the gRPC reader and the Redis writer.
    pub buffer: usize,
    /// 0: estimate block times at once from the newest known slot (no added latency). >0: wait up
    /// to this long for each slot's `blocks_meta` (exact block times, up to a slot of latency).
    pub block_time_hold_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumeConfig {
    /// Consumer name in the group; stable across restarts of the same instance. Default:
    /// `<hostname>-<instance>`. Overridden by `POCKETWATCHER_CONSUMER`.
    pub consumer_name: String,
    pub instance: String,
    /// XREADGROUP COUNT.
    pub read_count: usize,
    /// XREADGROUP BLOCK.
    pub block_ms: u64,
    /// While other batches are in flight, a batch less than half full waits up to this long for
    /// more entries, or until no other batch is in flight (bigger batches cost Redis and
    /// PostgreSQL less per entry).
    pub linger_ms: u64,
    /// Batches in flight between read and acknowledgement.
    pub pipeline_depth: usize,
    /// Parser threads (0 = one per core).
    pub parser_threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReclaimConfig {
    pub interval_secs: u64,
    /// Entries idle longer than this are taken over from their consumer (dead or stalled).
    pub min_idle_secs: u64,
    /// Entries delivered more often than this go to the dead-letter stream.
    pub max_deliveries: u64,
    /// Consumers with nothing pending, idle longer than this, are removed from the group.
    pub consumer_idle_delete_secs: u64,
    pub batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CountersConfig {
    pub counter_ttl_secs: u64,
    pub dedup_ttl_secs: u64,
    /// Most wallets one mint-minute's top-buyer set (`pw:wv:*`) keeps (the largest buyers).
    pub top_buyers_per_minute: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwapStoreConfig {
    pub retention_days: u64,
    pub retention_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    pub heartbeat_secs: u64,
    /// An actor restarted this many times within `restart_window_secs` stops the process (exit ≠ 0).
    pub max_restarts: u32,
    pub restart_window_secs: u64,
    pub backoff_initial_ms: u64,
    pub backoff_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    pub deadline_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// TOML file of `[[triggers]]`; empty = the six default triggers. Reloaded on SIGHUP and when
    /// the file changes; an invalid file is refused and the running set stays.
    pub triggers_file: String,
    /// How often the file is checked for changes.
    pub reload_poll_secs: u64,
    /// A triggered mint stays HOT this long (refreshed by every new alert).
    pub hot_ttl_secs: u64,
    /// The same (mint, trigger) alerts again only after this long.
    pub cooldown_secs: u64,
    /// Touched mints are collected and evaluated this often.
    pub eval_interval_ms: u64,
    /// Every mint traded within `sweep_lookback_secs` is re-evaluated this often (windows also
    /// change when trades slide out of them).
    pub sweep_interval_secs: u64,
    pub sweep_lookback_secs: u64,
    /// Mints per window-reading round trip (bounds how long one Redis script runs).
    pub mints_per_call: usize,
    /// The detector lease: only its holder evaluates and alerts; another process takes over
    /// within about `lease_ttl_ms` after the holder dies.
    pub lease_ttl_ms: u64,
    pub lease_renew_ms: u64,
    /// Alerts for tokens whose market cap is known and below this are skipped.
    pub min_mcap_sol: f64,
    /// send | skip: what to do when the market cap cannot be computed (no supply or price).
    pub unknown_mcap: String,
}

/// Alert outcomes: what each alert's token did afterwards, filled in by the detect role's leader.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutcomesConfig {
    /// How often due horizons are looked for.
    pub fill_interval_secs: u64,
    /// A horizon is filled this long after the stored swaps reach it (swaps still on their way).
    pub settle_secs: u64,
    /// Alerts per batch of statements.
    pub batch: u32,
}

impl Default for OutcomesConfig {
    fn default() -> Self {
        OutcomesConfig {
            fill_interval_secs: 30,
            settle_secs: 60,
            batch: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// Solana JSON-RPC URL for `getTokenSupply` (any provider). Overridden by
    /// `POCKETWATCHER_RPC_URL` (provider URLs often carry an API key). Empty: no supply lookups,
    /// market caps are unknown.
    pub rpc_url: Secret,
    pub rpc_requests_per_sec: u32,
    /// Requests per UTC day, shared by every detect process (counted in Redis).
    pub rpc_daily_budget: u64,
    pub rpc_timeout_ms: u64,
    /// A looked-up supply is reused this long.
    pub supply_cache_secs: u64,
    /// Also ask the provider for the token's name and symbol (DAS `getAsset`; Helius, Triton
    /// and others support it). Costs one request per alerted token.
    pub token_metadata: bool,
    /// JSON-RPC calls per batch array (funding trace).
    pub rpc_batch_size: usize,
    /// Batch arrays in flight at once.
    pub rpc_concurrency: usize,
    /// Further attempts after a 429, a 5xx or a network error (each counts against the budget).
    pub rpc_retries: u32,
    /// Trace who funded an alert's top buyers (needs `rpc_url`).
    pub funding_trace: bool,
    /// Funders followed back from a buyer: 1 = its direct funder only; further hops only through
    /// fresh funders.
    pub trace_max_hops: u32,
    /// A wallet with at most this many signatures is fresh (its own funder is followed).
    pub fresh_max_signatures: u64,
    /// Pages of 1,000 signatures read back to a buyer's oldest transaction; a longer history
    /// marks the wallet established (its funder is not looked for).
    pub trace_max_pages: u32,
    /// TOML list of exchange hot wallets and programs that end a trace (see
    /// config/labelled_wallets.toml). Empty: the built-in copy of that file.
    pub labelled_wallets_file: String,
    /// Longest an alert waits for enrichment (the funding trace); past it the alert goes out with
    /// what is known and the trace's result is recorded on the alert later.
    pub max_wait_ms: u64,
    /// New wallets (first seen within the hour) buying a HOT token traced per minute, besides
    /// alert candidates; 0 turns this off.
    pub hot_trace_wallets_per_min: u32,
    /// Share of `rpc_daily_budget` (percent) that HOT-token tracing may use; the rest stays for
    /// alert candidates.
    pub hot_trace_budget_pct: u32,
    /// How often HOT tokens' new buyers are looked for.
    pub hot_trace_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Overridden by `POCKETWATCHER_DISCORD_WEBHOOK_URL`. Empty: no Discord channel.
    pub discord_webhook_url: Secret,
    /// Overridden by `POCKETWATCHER_TELEGRAM_BOT_TOKEN`. Empty: no Telegram channel.
    pub telegram_bot_token: Secret,
    /// Overridden by `POCKETWATCHER_TELEGRAM_CHAT_ID`.
    pub telegram_chat_id: String,
    /// Bot API base URL (a local Bot API server, or a test stand-in).
    pub telegram_api_base: String,
    pub discord_per_minute: u32,
    pub telegram_per_minute: u32,
    /// First retry delay after a network error, timeout or 5xx; doubles up to `retry_max_secs`,
    /// with jitter.
    pub retry_initial_ms: u64,
    pub retry_max_secs: u64,
    /// A delivery failing this many times is marked failed.
    pub max_attempts: u32,
    pub request_timeout_secs: u64,
    /// A delivery claimed by a sender that died is retried after this long.
    pub claim_secs: u64,
    /// How often the outbox is checked when nothing woke the sender.
    pub poll_interval_ms: u64,
    /// Freshness bound per channel: when the channel's rate limit would deliver a waiting alert
    /// later than this after it was decided, the channel's waiting alerts go out as one digest
    /// message instead (an alert minutes late is worthless to a trader).
    pub max_delivery_delay_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `RUST_LOG` syntax; `RUST_LOG` in the environment wins.
    pub level: String,
    /// human | json
    pub format: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueEntry {
    pub program: String,
    pub name: String,
    /// amm | aggregator
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteEntry {
    pub mint: String,
    pub symbol: String,
    #[serde(default)]
    pub usd_pegged: bool,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: Secret::new("redis://127.0.0.1:6379/"),
            pool_size: 8,
        }
    }
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/pocketwatcher"),
            pool_size: 4,
        }
    }
}

impl Default for YellowstoneConfig {
    fn default() -> Self {
        YellowstoneConfig {
            endpoint: "http://127.0.0.1:10000".into(),
            x_token: Secret::default(),
            commitment: "confirmed".into(),
            connect_timeout_secs: 10,
            watchdog_secs: 30,
            keepalive_secs: 10,
            backoff_initial_ms: 250,
            backoff_max_secs: 30,
            max_message_mb: 64,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_size: 512,
            linger_ms: 5,
            backlog_cap: 500_000,
            backlog_resume: 400_000,
            buffer: 8192,
            block_time_hold_ms: 0,
        }
    }
}

impl Default for ConsumeConfig {
    fn default() -> Self {
        ConsumeConfig {
            consumer_name: String::new(),
            instance: "0".into(),
            read_count: 1000,
            block_ms: 500,
            linger_ms: 20,
            pipeline_depth: 3,
            parser_threads: 0,
        }
    }
}

impl Default for ReclaimConfig {
    fn default() -> Self {
        ReclaimConfig {
            interval_secs: 5,
            min_idle_secs: 30,
            max_deliveries: 5,
            consumer_idle_delete_secs: 3600,
            batch: 1000,
        }
    }
}

impl Default for CountersConfig {
    fn default() -> Self {
        CountersConfig {
            // The 1 h window plus 5 min: nothing reads a minute older than 59 minutes, and per-minute
            // keys are about half of Redis memory (keys.rs, README "Redis memory budget").
            counter_ttl_secs: 3900,
            dedup_ttl_secs: 900,
            top_buyers_per_minute: crate::domain::counters::TOP_BUYERS_PER_MINUTE as u64,
        }
    }
}

impl Default for SwapStoreConfig {
    fn default() -> Self {
        SwapStoreConfig {
            retention_days: 3,
            retention_interval_secs: 300,
        }
    }
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            heartbeat_secs: 2,
            max_restarts: 5,
            restart_window_secs: 60,
            backoff_initial_ms: 200,
            backoff_max_secs: 10,
        }
    }
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { deadline_secs: 20 }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            triggers_file: String::new(),
            reload_poll_secs: 2,
            hot_ttl_secs: 3600,
            cooldown_secs: 1800,
            eval_interval_ms: 250,
            sweep_interval_secs: 60,
            sweep_lookback_secs: 600,
            mints_per_call: 200,
            lease_ttl_ms: 5000,
            lease_renew_ms: 1000,
            min_mcap_sol: 500.0,
            unknown_mcap: "send".into(),
        }
    }
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            rpc_url: Secret::default(),
            rpc_requests_per_sec: 5,
            rpc_daily_budget: 20_000,
            rpc_timeout_ms: 5000,
            supply_cache_secs: 6 * 3600,
            token_metadata: false,
            rpc_batch_size: 50,
            rpc_concurrency: 4,
            rpc_retries: 2,
            funding_trace: true,
            trace_max_hops: 2,
            fresh_max_signatures: 200,
            trace_max_pages: 5,
            labelled_wallets_file: String::new(),
            max_wait_ms: 3000,
            hot_trace_wallets_per_min: 30,
            hot_trace_budget_pct: 25,
            hot_trace_interval_secs: 10,
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            discord_webhook_url: Secret::default(),
            telegram_bot_token: Secret::default(),
            telegram_chat_id: String::new(),
            telegram_api_base: "https://api.telegram.org".into(),
            discord_per_minute: 30,
            telegram_per_minute: 20,
            retry_initial_ms: 1000,
            retry_max_secs: 300,
            max_attempts: 12,
            request_timeout_secs: 10,
            claim_secs: 60,
            poll_interval_ms: 1000,
            max_delivery_delay_secs: 300,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "human".into(),
        }
    }
}

/// Where environment overrides come from (a trait so tests need not touch the process env).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Reads, overrides from the environment, and validates.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string(), env)
    }

    pub fn from_toml(text: &str, origin: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.into(),
            message: e.to_string(),
        })?;
        config.apply_env(env);
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self, env: &dyn Env) {
        if let Some(v) = env.var("POCKETWATCHER_REDIS_URL") {
            self.redis.url = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_POSTGRES_URL") {
            self.postgres.url = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_YELLOWSTONE_TOKEN") {
            self.yellowstone.x_token = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_YELLOWSTONE_ENDPOINT") {
            self.yellowstone.endpoint = v;
        }
        if let Some(v) = env.var("POCKETWATCHER_METRICS_LISTEN") {
            self.metrics.listen = v;
        }
        if let Some(v) = env.var("POCKETWATCHER_RPC_URL") {
            self.enrich.rpc_url = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_DISCORD_WEBHOOK_URL") {
            self.alerts.discord_webhook_url = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_TELEGRAM_BOT_TOKEN") {
            self.alerts.telegram_bot_token = Secret::new(v);
        }
        if let Some(v) = env.var("POCKETWATCHER_TELEGRAM_CHAT_ID") {
            self.alerts.telegram_chat_id = v;
        }
        if let Some(v) = env.var("POCKETWATCHER_CONSUMER") {
            self.consume.consumer_name = v;
        }
        if self.consume.consumer_name.is_empty() {
            let host = env
                .var("HOSTNAME")
                .or_else(|| {
                    std::fs::read_to_string("/etc/hostname")
                        .ok()
                        .map(|h| h.trim().to_string())
                })
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "pocketwatcher".into());
            self.consume.consumer_name = format!("{host}-{}", self.consume.instance);
        }
    }

    /// Checks every value that would otherwise fail later, far from its cause.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, url, schemes) in [
            (
                "redis.url",
                &self.redis.url,
                &["redis://", "rediss://", "unix://"][..],
            ),
            (
                "postgres.url",
                &self.postgres.url,
                &["postgres://", "postgresql://"][..],
            ),
        ] {
            if !schemes.iter().any(|s| url.expose().starts_with(s)) {
                return Err(invalid(
                    field,
                    "is not a URL with a supported scheme",
                    format!("use one of {}", schemes.join(", ")),
                ));
            }
        }
        if !(self.yellowstone.endpoint.starts_with("http://")
            || self.yellowstone.endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "yellowstone.endpoint",
                format!(
                    "{:?} has no http:// or https:// scheme",
                    self.yellowstone.endpoint
                ),
                "write the full URL, e.g. https://grpc.example.com:443",
            ));
        }
        match self.yellowstone.commitment.as_str() {
            "confirmed" | "finalized" => {}
            "processed" => {
                return Err(invalid(
                    "yellowstone.commitment",
                    "processed transactions can be dropped or land again in another fork, which \
                     would count them for a block that never finalises",
                    "use confirmed (default) or finalized",
                ))
            }
            other => {
                return Err(invalid(
                    "yellowstone.commitment",
                    format!("{other:?} is not a commitment level"),
                    "use confirmed or finalized",
                ))
            }
        }
        let positive: [(&str, u64); 9] = [
            ("ingest.batch_size", self.ingest.batch_size as u64),
            ("ingest.buffer", self.ingest.buffer as u64),
            ("consume.read_count", self.consume.read_count as u64),
            ("consume.pipeline_depth", self.consume.pipeline_depth as u64),
            ("reclaim.interval_secs", self.reclaim.interval_secs),
            ("reclaim.max_deliveries", self.reclaim.max_deliveries),
            ("redis.pool_size", self.redis.pool_size as u64),
            ("postgres.pool_size", self.postgres.pool_size as u64),
            ("supervisor.heartbeat_secs", self.supervisor.heartbeat_secs),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(invalid(
                    field,
                    "must be greater than 0",
                    "set a positive number",
                ));
            }
        }
        if self.ingest.backlog_resume >= self.ingest.backlog_cap {
            return Err(invalid(
                "ingest.backlog_resume",
                "must be below ingest.backlog_cap",
                "set it to about 80% of backlog_cap",
            ));
        }
        if self.counters.counter_ttl_secs < 3600 + 120 {
            return Err(invalid(
                "counters.counter_ttl_secs",
                "is shorter than the 1 h window plus margin",
                "use at least 3720 (default 3900)",
            ));
        }
        if self.counters.top_buyers_per_minute < 100 {
            return Err(invalid(
                "counters.top_buyers_per_minute",
                "is below the 100 largest buyers the new-wallet share samples",
                "use at least 100 (default 1000)",
            ));
        }
        if self.reclaim.min_idle_secs == 0 {
            return Err(invalid(
                "reclaim.min_idle_secs",
                "0 would take entries away from consumers that are still working on them",
                "use a value well above a batch's processing time (default 30)",
            ));
        }
        if self.metrics.listen.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "metrics.listen",
                format!("{:?} is not an address:port", self.metrics.listen),
                "e.g. 127.0.0.1:9464",
            ));
        }
        if !["human", "json"].contains(&self.log.format.as_str()) {
            return Err(invalid("log.format", "unknown format", "use human or json"));
        }
        self.validate_detection()?;
        self.validate_outcomes()?;
        self.venue_table()?;
        self.quote_assets()?;
        Ok(())
    }

    /// The freshness bound must leave room for a few paced messages on the slowest channel,
    /// or every alert would become a digest.
    fn validate_freshness(&self) -> Result<(), ConfigError> {
        let slowest = self
            .alerts
            .discord_per_minute
            .min(self.alerts.telegram_per_minute)
            .max(1);
        let floor = 180u64.div_ceil(u64::from(slowest)).max(10);
        if self.alerts.max_delivery_delay_secs < floor {
            return Err(invalid(
                "alerts.max_delivery_delay_secs",
                format!(
                    "{} s leaves no room for three messages at {slowest} per minute",
                    self.alerts.max_delivery_delay_secs
                ),
                format!("set at least {floor} (default 300)"),
            ));
        }
        Ok(())
    }

    /// The funding trace's options (issue 11), and its labelled-wallets file (read here so a bad
    /// entry stops start-up naming the file and the entry).
    fn validate_funding_trace(&self) -> Result<(), ConfigError> {
        let e = &self.enrich;
        let positive: [(&str, u64); 6] = [
            ("enrich.rpc_batch_size", e.rpc_batch_size as u64),
            ("enrich.rpc_concurrency", e.rpc_concurrency as u64),
            ("enrich.trace_max_hops", e.trace_max_hops as u64),
            ("enrich.trace_max_pages", e.trace_max_pages as u64),
            ("enrich.max_wait_ms", e.max_wait_ms),
            ("enrich.hot_trace_interval_secs", e.hot_trace_interval_secs),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(invalid(
                    field,
                    "must be greater than 0",
                    "set a positive number",
                ));
            }
        }
        if e.rpc_batch_size > 1000 {
            return Err(invalid(
                "enrich.rpc_batch_size",
                "is larger than providers accept in one batch",
                "use at most 1000 (e.g. 50)",
            ));
        }
        if e.trace_max_hops > 5 {
            return Err(invalid(
                "enrich.trace_max_hops",
                "more than 5 hops costs many requests and links unrelated wallets",
                "use 1 to 5 (default 2)",
            ));
        }
        if e.hot_trace_budget_pct > 100 {
            return Err(invalid(
                "enrich.hot_trace_budget_pct",
                "is a percentage of rpc_daily_budget",
                "use 0 to 100 (default 25)",
            ));
        }
        if let Err(problem) = crate::detect::funding::load_labels(&e.labelled_wallets_file) {
            return Err(invalid(
                "enrich.labelled_wallets_file",
                problem,
                "fix the entry it names, or leave the option empty for the built-in list",
            ));
        }
        Ok(())
    }

    /// Outcomes are computed from swap_events: the 24 h horizon plus its settle time must pass
    /// before retention removes the rows it reads.
    fn validate_outcomes(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            (
                "outcomes.fill_interval_secs",
                self.outcomes.fill_interval_secs,
            ),
            ("outcomes.batch", self.outcomes.batch as u64),
        ] {
            if value == 0 {
                return Err(invalid(
                    field,
                    "must be greater than 0",
                    "set a positive number",
                ));
            }
        }
        if self.outcomes.settle_secs > 3_600 {
            return Err(invalid(
                "outcomes.settle_secs",
                "is longer than an hour",
                "use a few minutes at most (default 60)",
            ));
        }
        if self.swap_store.retention_days < 2 {
            return Err(invalid(
                "swap_store.retention_days",
                "must be at least 2: alert outcomes read the 24 hours after each alert, and rows \
                 must not be deleted before the 24 h horizon is filled in",
                "set retention_days = 2 or more (default 3)",
            ));
        }
        Ok(())
    }

    fn validate_detection(&self) -> Result<(), ConfigError> {
        let positive: [(&str, u64); 10] = [
            ("detect.hot_ttl_secs", self.detect.hot_ttl_secs),
            ("detect.eval_interval_ms", self.detect.eval_interval_ms),
            (
                "detect.sweep_interval_secs",
                self.detect.sweep_interval_secs,
            ),
            ("detect.mints_per_call", self.detect.mints_per_call as u64),
            ("detect.lease_ttl_ms", self.detect.lease_ttl_ms),
            ("detect.lease_renew_ms", self.detect.lease_renew_ms),
            (
                "enrich.rpc_requests_per_sec",
                self.enrich.rpc_requests_per_sec as u64,
            ),
            (
                "alerts.discord_per_minute",
                self.alerts.discord_per_minute as u64,
            ),
            (
                "alerts.telegram_per_minute",
                self.alerts.telegram_per_minute as u64,
            ),
            ("alerts.max_attempts", self.alerts.max_attempts as u64),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(invalid(
                    field,
                    "must be greater than 0",
                    "set a positive number",
                ));
            }
        }
        self.validate_freshness()?;
        if self.detect.lease_renew_ms * 2 > self.detect.lease_ttl_ms {
            return Err(invalid(
                "detect.lease_renew_ms",
                "must be at most half of detect.lease_ttl_ms, or a slow renewal loses the lease",
                "e.g. lease_ttl_ms = 5000, lease_renew_ms = 1000",
            ));
        }
        if !["send", "skip"].contains(&self.detect.unknown_mcap.as_str()) {
            return Err(invalid(
                "detect.unknown_mcap",
                format!("{:?} is not a choice", self.detect.unknown_mcap),
                "use send (alert and say the market cap is unknown) or skip",
            ));
        }
        if !(self.detect.min_mcap_sol >= 0.0 && self.detect.min_mcap_sol.is_finite()) {
            return Err(invalid(
                "detect.min_mcap_sol",
                "must be a finite number >= 0",
                "e.g. 500 (0 disables the filter)",
            ));
        }
        self.validate_funding_trace()?;
        let rpc = self.enrich.rpc_url.expose();
        if !rpc.is_empty() && !is_http(rpc) {
            return Err(invalid(
                "enrich.rpc_url",
                "is not an http(s) URL",
                "e.g. https://api.mainnet-beta.solana.com (or set POCKETWATCHER_RPC_URL)",
            ));
        }
        let hook = self.alerts.discord_webhook_url.expose();
        if !hook.is_empty() && !is_http(hook) {
            return Err(invalid(
                "alerts.discord_webhook_url",
                "is not an http(s) URL",
                "copy the webhook URL from Discord's channel settings \
                 (or set POCKETWATCHER_DISCORD_WEBHOOK_URL)",
            ));
        }
        if self.alerts.telegram_bot_token.expose().is_empty()
            != self.alerts.telegram_chat_id.is_empty()
        {
            return Err(invalid(
                "alerts.telegram_chat_id",
                "Telegram needs both a bot token and a chat id",
                "set both alerts.telegram_bot_token (or POCKETWATCHER_TELEGRAM_BOT_TOKEN) and \
                 alerts.telegram_chat_id, or neither",
            ));
        }
        if self.alerts.claim_secs <= self.alerts.request_timeout_secs {
            return Err(invalid(
                "alerts.claim_secs",
                "must be longer than alerts.request_timeout_secs, or a slow request's delivery \
                 is claimed again and the message sent twice",
                "e.g. request_timeout_secs = 10, claim_secs = 60",
            ));
        }
        if !is_http(&self.alerts.telegram_api_base) {
            return Err(invalid(
                "alerts.telegram_api_base",
                "is not an http(s) URL",
                "use https://api.telegram.org (default)",
            ));
        }
        Ok(())
    }

    pub fn venue_table(&self) -> Result<VenueTable, ConfigError> {
        if self.venues.is_empty() {
            return Ok(VenueTable::default());
        }
        let mut programs = Vec::with_capacity(self.venues.len());
        for (i, v) in self.venues.iter().enumerate() {
            let program = Pubkey::parse(&v.program, "program").map_err(|_| {
                invalid(
                    &format!("venues[{i}].program"),
                    format!("{:?} is not a base58 program id", v.program),
                    "copy the program id from an explorer",
                )
            })?;
            let kind = match v.kind.as_str() {
                "amm" => VenueKind::Amm,
                "aggregator" => VenueKind::Aggregator,
                other => {
                    return Err(invalid(
                        &format!("venues[{i}].kind"),
                        format!("{other:?} is not a venue kind"),
                        "use amm (a pool program) or aggregator (a router)",
                    ))
                }
            };
            programs.push(VenueProgram {
                program,
                name: v.name.clone(),
                kind,
            });
        }
        Ok(VenueTable::new(programs))
    }

    pub fn quote_assets(&self) -> Result<QuoteAssets, ConfigError> {
        if self.quotes.is_empty() {
            return Ok(QuoteAssets::default());
        }
        let mut others = Vec::with_capacity(self.quotes.len());
        for (i, q) in self.quotes.iter().enumerate() {
            let mint = Pubkey::parse(&q.mint, "mint").map_err(|_| {
                invalid(
                    &format!("quotes[{i}].mint"),
                    format!("{:?} is not a base58 mint", q.mint),
                    "copy the mint address from an explorer",
                )
            })?;
            others.push(QuoteAsset {
                mint,
                symbol: q.symbol.clone(),
                usd_pegged: q.usd_pegged,
            });
        }
        Ok(QuoteAssets { others })
    }

    /// Inference settings (venues and quotes), already validated.
    pub fn inference(&self) -> InferenceConfig {
        InferenceConfig {
            quotes: self.quote_assets().unwrap_or_default(),
            venues: self.venue_table().unwrap_or_default(),
        }
    }

    /// Program ids the ingest subscribes to.
    pub fn subscribed_programs(&self) -> Vec<Pubkey> {
        match self.venue_table() {
            Ok(t) => t.programs().iter().map(|p| p.program).collect(),
            Err(_) => DEFAULT_VENUES
                .iter()
                .filter_map(|(id, _, _)| id.parse().ok())
                .collect(),
        }
    }

    pub fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);

    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn env(pairs: &[(&'static str, &'static str)]) -> FakeEnv {
        FakeEnv(pairs.iter().copied().collect())
    }

    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../config/pocketwatcher.example.toml");
        Config::from_toml(text, "example", &env(&[])).unwrap();
    }

    #[test]
    fn an_empty_file_gives_working_defaults() {
        let c = Config::from_toml("", "empty", &env(&[("HOSTNAME", "box")])).unwrap();
        assert_eq!(c.consume.consumer_name, "box-0");
        assert_eq!(c.swap_store.retention_days, 3);
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let c = Config::from_toml(
            "",
            "x",
            &env(&[
                ("POCKETWATCHER_YELLOWSTONE_TOKEN", "tok-123"),
                ("POCKETWATCHER_POSTGRES_URL", "postgres://u:pw@h/db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.yellowstone.x_token.expose(), "tok-123");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("tok-123") && !printed.contains(":pw@"),
            "{printed}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err = Config::from_toml("[ingest]\nbatch_sise = 5\n", "f", &env(&[])).unwrap_err();
        assert!(err.to_string().contains("batch_sise"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_field_and_the_fix() {
        let cases = [
            ("[consume]\nread_count = 0\n", "consume.read_count"),
            ("[yellowstone]\ncommitment = \"fast\"\n", "yellowstone.commitment"),
            ("[yellowstone]\ncommitment = \"processed\"\n", "yellowstone.commitment"),
            ("[yellowstone]\nendpoint = \"grpc.example.com\"\n", "yellowstone.endpoint"),
            ("[ingest]\nbacklog_cap = 10\nbacklog_resume = 20\n", "ingest.backlog_resume"),
            ("[metrics]\nlisten = \"nope\"\n", "metrics.listen"),
            ("[[venues]]\nprogram = \"xx\"\nname = \"a\"\nkind = \"amm\"\n", "venues[0].program"),
            (
                "[[venues]]\nprogram = \"6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P\"\nname = \"a\"\nkind = \"pool\"\n",
                "venues[0].kind",
            ),
            ("[redis]\nurl = \"localhost:6379\"\n", "redis.url"),
            (
                "[alerts]\nmax_delivery_delay_secs = 5\n",
                "alerts.max_delivery_delay_secs",
            ),
            ("[detect]\nunknown_mcap = \"maybe\"\n", "detect.unknown_mcap"),
            ("[detect]\nlease_ttl_ms = 1000\nlease_renew_ms = 900\n", "detect.lease_renew_ms"),
            ("[alerts]\nclaim_secs = 5\nrequest_timeout_secs = 10\n", "alerts.claim_secs"),
            ("[alerts]\ntelegram_chat_id = \"42\"\n", "alerts.telegram_chat_id"),
            ("[enrich]\nhot_trace_budget_pct = 101\n", "enrich.hot_trace_budget_pct"),
            ("[enrich]\nrpc_url = \"ftp://x\"\n", "enrich.rpc_url"),
            ("[detect]\nunknown_mcap = \"maybe\"\n", "detect.unknown_mcap"),
            ("[detect]\nlease_ttl_ms = 1000\nlease_renew_ms = 900\n", "detect.lease_renew_ms"),
            ("[alerts]\nclaim_secs = 5\nrequest_timeout_secs = 10\n", "alerts.claim_secs"),
            ("[alerts]\ntelegram_chat_id = \"42\"\n", "alerts.telegram_chat_id"),
            ("[enrich]\nrpc_url = \"ftp://x\"\n", "enrich.rpc_url"),
            ("[swap_store]\nretention_days = 1\n", "swap_store.retention_days"),
            ("[outcomes]\nbatch = 0\n", "outcomes.batch"),
            (
                "[counters]\ntop_buyers_per_minute = 99\n",
                "counters.top_buyers_per_minute",
            ),
            ("[outcomes]\nsettle_secs = 7200\n", "outcomes.settle_secs"),
        ];
        for (text, field) in cases {
            let err = Config::from_toml(text, "f", &env(&[]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(field) && err.contains("Fix:"), "{text}: {err}");
        }
    }

    #[test]
    fn a_bad_url_error_does_not_echo_the_url() {
        let err = Config::from_toml(
            "",
            "f",
            &env(&[("POCKETWATCHER_REDIS_URL", "secret-pw@host")]),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("secret-pw"), "{err}");
    }
}
