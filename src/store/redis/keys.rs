//! Every Redis key Pocketwatcher reads or writes, and why it exists.
//!
//! | key | type | written by | TTL |
//! |---|---|---|---|
//! | `pocketwatcher:live_stats` | string: JSON of the reference's live-stats fields, merged over the running processes | every process (`telemetry::live_stats`), every 5 s | 30 s |
//! | `pocketwatcher:live_stats:parts` | hash `<role>@<consumer>` → that process's JSON part | every process; stale parts dropped after 30 s | 1 h |
//! | `stream:tx` (group `parsers`) | stream, field `data` = wire payload | ingest | never trimmed past unacked entries |
//! | `stream:tx:dead` | stream: `id`, `reason`, `data` | acker | none (operators inspect and delete) |
//! | `pw:sig:{slot/100}` | set of raw 64-byte signatures already counted | commit (only with the swap's counters) | `dedup_ttl` |
//! | `pw:ch:{mint}:{hour}` | hash `{minute}:{counter}`, counter = `b`,`s` (counts), `bv`,`sv` (lamports), `bu`,`su` (micro-USD); one hash per hour so a 1-hour window is two reads, not sixty | commit | `counter_ttl` |
//! | `pw:px:{minute}` | hash `l`,`u`: lamports and micro-USD of SOL↔USD trades (the SOL/USD price) | commit | `counter_ttl` |
//! | `pw:hb:{mint}:{minute}` / `pw:hs:…` | HyperLogLog of buyers / sellers | commit | `counter_ttl` |
//! | `pw:wv:{mint}:{minute}` | sorted set wallet → buy lamports, at most `top_buyers_per_minute` members (the largest; the commit trims the rest) | commit | `counter_ttl` |
//! | `pw:fs:{day}` | sorted set wallet → first block time seen that day (`ZADD LT`) | commit | 8 days |
//! | `pw:active` | sorted set mint → last trade block time | commit (`ZADD GT`) | trimmed by the detector |
//! | `pw:ingest:checkpoint` | string: highest slot fully written to the stream | ingest | none |
//! | `pw:touched` | sorted set mint → wall-clock ms of the earliest commit not yet evaluated (`ZADD LT`) | commit; popped by the detector | `counter_ttl` |
//! | `pw:clock` | sorted set, one member `t` → newest block time committed (`ZADD GT`): the detector's "now" | commit | none |
//! | `pw:hot` | sorted set mint → HOT until (unix ms) | detector (lease holder) | trimmed by the detector |
//! | `pw:cd:{mint}:{trigger}` | string: the alert that started the cooldown | detector | `cooldown_secs` |
//! | `pw:last:{mint}:{trigger}` | string: block time of the last alert (the cooldown in chain time) | detector | cooldown + 1 day |
//! | `pw:alerts:dead` | hash dedup key → why Postgres refused the decision for good | detector | none (operators) |
//! | `pw:alerts:pending` | hash dedup key → msgpack alert decided but not yet in the outbox | detector | emptied into Postgres |
//! | `pw:detector:lease` | string `{holder}:{epoch}` | detector | `lease_ttl_ms`, renewed |
//! | `pw:detector:epoch` | integer, incremented per lease acquisition (fencing) | detector | none |
//! | `pw:tmp:window-union` | scratch sorted set inside the window script (deleted before it returns) | detector | none |
//! | `pw:rpc:budget:{day}` | integer: JSON-RPC requests made that UTC day | detector | 2 days |
//!
//! Mints and wallets appear in base58, so the keys can be read with `redis-cli`. Minute = unix
//! block time / 60.

use crate::domain::Pubkey;

pub const STREAM: &str = "stream:tx";
pub const GROUP: &str = "parsers";
pub const DEAD_STREAM: &str = "stream:tx:dead";
/// The field of a stream entry that holds the wire payload (compatible with the reference).
pub const DATA_FIELD: &str = "data";
pub const ACTIVE_MINTS: &str = "pw:active";
pub const INGEST_CHECKPOINT: &str = "pw:ingest:checkpoint";
pub const TOUCHED_MINTS: &str = "pw:touched";
pub const CHAIN_CLOCK: &str = "pw:clock";
/// The single member of [`CHAIN_CLOCK`].
pub const CHAIN_CLOCK_MEMBER: &str = "t";
pub const HOT_MINTS: &str = "pw:hot";
pub const PENDING_ALERTS: &str = "pw:alerts:pending";
pub const DEAD_ALERTS: &str = "pw:alerts:dead";
pub const DETECTOR_LEASE: &str = "pw:detector:lease";
pub const DETECTOR_EPOCH: &str = "pw:detector:epoch";

pub fn cooldown(mint: &str, trigger: &str) -> String {
    format!("pw:cd:{mint}:{trigger}")
}

pub fn last_alert(mint: &str, trigger: &str) -> String {
    format!("pw:last:{mint}:{trigger}")
}

/// Day = unix time / 86 400 (UTC).
pub fn rpc_budget(day: i64) -> String {
    format!("pw:rpc:budget:{day}")
}

/// Slots per duplicate-marker set: one set per ~40 s of chain time.
pub const SLOTS_PER_MARKER_HASH: u64 = 100;

pub fn signature_markers(slot: u64) -> String {
    format!("pw:sig:{}", slot / SLOTS_PER_MARKER_HASH)
}

/// The hash holding `mint`'s counters of `minute` (one hash per hour; hour = minute / 60).
pub fn hour_counts(mint: &str, minute: i64) -> String {
    format!("pw:ch:{mint}:{}", minute.div_euclid(60))
}

/// The field of counter `counter` (`b`, `s`, `bv`, `sv`, `bu`, `su`) of `minute` in its hour hash.
pub fn minute_field(minute: i64, counter: &str) -> String {
    format!("{minute}:{counter}")
}

pub fn minute_price(minute: i64) -> String {
    format!("pw:px:{minute}")
}

pub fn minute_buyers(mint: &str, minute: i64) -> String {
    format!("pw:hb:{mint}:{minute}")
}

pub fn minute_sellers(mint: &str, minute: i64) -> String {
    format!("pw:hs:{mint}:{minute}")
}

pub fn minute_wallet_volume(mint: &str, minute: i64) -> String {
    format!("pw:wv:{mint}:{minute}")
}

/// Day = unix block time / 86 400.
pub fn first_seen(day: i64) -> String {
    format!("pw:fs:{day}")
}

/// Live stats for people and scripts (name kept from the reference), and its per-process parts.
pub const LIVE_STATS: &str = "pocketwatcher:live_stats";
pub const LIVE_STATS_PARTS: &str = "pocketwatcher:live_stats:parts";

/// Base58 text of a key, for key names and members.
pub fn text(key: &Pubkey) -> String {
    key.to_base58()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        assert_eq!(hour_counts("M", 125), "pw:ch:M:2");
        assert_eq!(minute_field(125, "bv"), "125:bv");
        assert_eq!(signature_markers(12_345), "pw:sig:123");
        assert_eq!(first_seen(19_000), "pw:fs:19000");
    }
}
