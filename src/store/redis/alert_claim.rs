//! Claims an alert decision atomically: fencing check, per-(mint, trigger) cooldown, HOT state and
//! the decision itself (kept in `pw:alerts:pending` until it is in the Postgres outbox).
//!
//! Either all of it happens or none: a crash after the claim leaves the decision in the pending
//! hash, and whoever holds the lease next moves it into Postgres (`INSERT … ON CONFLICT (dedup_key)
//! DO NOTHING`), so a decision is neither lost nor sent twice.
//!
//! The script is the atomic form of [`crate::domain::alert_policy::AlertPolicy::claim`] (the rule
//! the backtest applies in memory); `tests/alert_policy.rs` checks that they agree.

use redis::aio::ConnectionLike;
use redis::{RedisError, Script};

use super::keys;

// The cooldown holds in wall-clock time (KEYS[2], EX) AND in chain time (KEYS[5]: the block time
// of the last alert): after a restart or an ingest stall the windows are evaluated at a frozen
// chain clock, and the same window must not alert again just because wall-clock time passed.
const CLAIM: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
local last = redis.call('GET', KEYS[5])
if last and tonumber(ARGV[7]) < tonumber(last) + tonumber(ARGV[3]) then return 'cooldown' end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return 'cooldown' end
redis.call('SET', KEYS[5], ARGV[7], 'EX', tonumber(ARGV[3]) + 86400)
redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[6])
return 'ok'
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    /// The (mint, trigger) alerted less than a cooldown ago.
    Cooldown,
    /// We no longer hold the lease: another detector acts now.
    Fenced,
}

pub struct AlertClaim<'a> {
    pub lease_token: &'a str,
    pub mint: &'a str,
    pub trigger: &'a str,
    pub dedup_key: &'a str,
    pub cooldown_secs: u64,
    pub hot_until_ms: u64,
    /// Chain time (block time, unix seconds) the windows were evaluated at.
    pub chain_now: i64,
    /// The decided alert (msgpack), kept until it is in the outbox.
    pub payload: &'a [u8],
}

pub fn script() -> Script {
    Script::new(CLAIM)
}

pub async fn claim<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    c: &AlertClaim<'_>,
) -> Result<ClaimOutcome, RedisError> {
    let reply: String = script
        .key(keys::DETECTOR_LEASE)
        .key(keys::cooldown(c.mint, c.trigger))
        .key(keys::HOT_MINTS)
        .key(keys::PENDING_ALERTS)
        .key(keys::last_alert(c.mint, c.trigger))
        .arg(c.lease_token)
        .arg(c.dedup_key)
        .arg(c.cooldown_secs.max(1))
        .arg(c.hot_until_ms)
        .arg(c.mint)
        .arg(c.payload)
        .arg(c.chain_now)
        .invoke_async(conn)
        .await?;
    Ok(match reply.as_str() {
        "ok" => ClaimOutcome::Claimed,
        "cooldown" => ClaimOutcome::Cooldown,
        _ => ClaimOutcome::Fenced,
    })
}

/// Keeps a decision Postgres refuses for good (operators inspect `pw:alerts:dead`).
pub async fn bury_pending<C: ConnectionLike>(
    conn: &mut C,
    dedup_key: &str,
    reason: &str,
) -> Result<(), RedisError> {
    redis::pipe()
        .atomic()
        .cmd("HSET")
        .arg(keys::DEAD_ALERTS)
        .arg(dedup_key)
        .arg(reason)
        .cmd("HDEL")
        .arg(keys::PENDING_ALERTS)
        .arg(dedup_key)
        .query_async(conn)
        .await
}

/// Decisions not yet moved into the outbox: (dedup key, msgpack alert).
pub async fn pending<C: ConnectionLike>(
    conn: &mut C,
) -> Result<Vec<(String, Vec<u8>)>, RedisError> {
    redis::cmd("HGETALL")
        .arg(keys::PENDING_ALERTS)
        .query_async(conn)
        .await
}

pub async fn forget_pending<C: ConnectionLike>(
    conn: &mut C,
    dedup_key: &str,
) -> Result<(), RedisError> {
    redis::cmd("HDEL")
        .arg(keys::PENDING_ALERTS)
        .arg(dedup_key)
        .query_async(conn)
        .await
}
