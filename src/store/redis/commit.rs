//! The one atomic commit that closes a batch (DESIGN.md invariants 1–2).
//!
//! A single Lua script, per batch, does all of: check that every entry is still pending for this
//! consumer; claim the duplicate markers of the entries that carry swaps; write dead letters; apply
//! the batch's aggregated counter deltas, HyperLogLogs, first-seen and active-mint indexes; XACK
//! every entry. If an entry was reclaimed by another
//! consumer the script changes nothing and names it ([`CommitOutcome::NotOwned`]); if a signature
//! was already counted from another entry it changes nothing and names it
//! ([`CommitOutcome::Duplicates`]). The caller drops those and commits again, so an entry's effects
//! are applied exactly once, by whoever acknowledges it. Cost is per distinct key, not per entry
//! (see the Redis budget in STACK.md); the duplicate guard is one `SMISMEMBER` and one `SADD` per
//! marker set, not a call per entry.

use std::collections::{BTreeMap, HashMap};

use redis::aio::ConnectionLike;
use redis::{RedisError, Script, Value};

use super::keys;
use super::stream::EntryId;
use crate::domain::counters::CounterDeltas;
use crate::domain::{Pubkey, Signature};

const SCRIPT: &str = include_str!("commit.lua");

/// The loaded commit script (EVALSHA, with EVAL fallback after a Redis restart).
pub fn script() -> Script {
    Script::new(SCRIPT)
}

/// An entry that cannot be processed, with the reason operators will read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: EntryId,
    pub reason: String,
    pub payload: Vec<u8>,
}

/// How long commit-written keys live, and how many members the wallet-keyed per-minute ones keep.
#[derive(Debug, Clone, Copy)]
pub struct Ttls {
    /// Per-minute counters: must outlive the longest window (1 h) with margin (default 65 min).
    pub counter_secs: u64,
    /// Duplicate markers: longer than any redelivery or reconnect overlap.
    pub dedup_secs: u64,
    /// Daily first-seen hashes.
    pub first_seen_secs: u64,
    /// Most wallets a `pw:wv:{mint}:{minute}` set keeps (the largest buyers); the script drops
    /// the smallest beyond it and reports how many ([`crate::metrics::WALLET_CAP_TRIMMED`]).
    pub top_buyers_per_minute: u64,
}

impl Default for Ttls {
    fn default() -> Self {
        Ttls {
            counter_secs: 3900,
            dedup_secs: 900,
            first_seen_secs: 8 * 86_400,
            top_buyers_per_minute: crate::domain::counters::TOP_BUYERS_PER_MINUTE as u64,
        }
    }
}

/// One batch to close.
#[derive(Debug, Default)]
pub struct CommitBatch<'a> {
    pub consumer: &'a str,
    /// Every entry to acknowledge: counted, filtered and dead-lettered alike.
    pub ids: Vec<EntryId>,
    /// `(slot, signature)` of each entry whose swaps are in `deltas`.
    pub markers: Vec<(u64, Signature)>,
    pub dead: Vec<DeadLetter>,
    pub deltas: Option<&'a CounterDeltas>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Applied and acknowledged this many entries.
    Committed(u64),
    /// These entries are no longer pending for this consumer; nothing was applied.
    NotOwned(Vec<EntryId>),
    /// These signatures were already counted; nothing was applied.
    Duplicates(Vec<Signature>),
}

/// Base58 names of keys, cached: a batch touches the same mints and wallets many times and the
/// encoding costs about a microsecond each. Also holds the consumer's [`ExpiryMemo`].
#[derive(Default)]
pub struct NameCache {
    names: HashMap<Pubkey, String>,
    expiries: ExpiryMemo,
}

impl NameCache {
    const LIMIT: usize = 200_000;

    pub fn get(&mut self, key: &Pubkey) -> &str {
        if self.names.len() >= Self::LIMIT && !self.names.contains_key(key) {
            self.names.clear();
        }
        self.names.entry(*key).or_insert_with(|| keys::text(key))
    }

    /// A commit built with `ticket` was applied: its keys have their TTL for this bucket.
    pub fn confirm(&mut self, ticket: ExpiryTicket) {
        self.expiries.confirm(ticket);
    }

    /// Forget every TTL given (after a Redis error: the server may have restarted and lost keys).
    pub fn forget_expiries(&mut self) {
        self.expiries = ExpiryMemo::default();
    }
}

/// Seconds per TTL bucket: a key gets at most one EXPIRE per bucket from a consumer.
pub const EXPIRY_BUCKET_SECS: u64 = 60;

/// Bucketed TTLs (fewer EXPIRE calls): within one wall-clock minute a consumer sends a key's
/// EXPIRE once, with `ttl + EXPIRY_BUCKET_SECS`, so the key still lives at least `ttl` after any
/// write of that minute; later batches of the minute skip it. A key touched in a later minute gets
/// a new EXPIRE then. Only keys of applied commits are remembered ([`NameCache::confirm`]): a
/// refused attempt writes nothing, so its keys are sent again. A key deleted and rewritten within
/// the minute (Redis lost its data, FLUSHALL) would miss its TTL, so the memo is dropped on any
/// commit error; `pw:touched` (emptied by the detector) is never memoised.
#[derive(Default)]
struct ExpiryMemo {
    bucket: u64,
    given: std::collections::HashSet<String>,
}

/// The keys a built commit gives an EXPIRE, and the bucket it was built in.
#[derive(Debug, Default)]
pub struct ExpiryTicket {
    bucket: u64,
    keys: Vec<String>,
}

impl ExpiryTicket {
    /// Keys this commit sends an EXPIRE for.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

impl ExpiryMemo {
    const LIMIT: usize = 500_000;

    fn enter(&mut self, now_secs: u64) -> u64 {
        let bucket = now_secs / EXPIRY_BUCKET_SECS;
        if bucket != self.bucket || self.given.len() >= Self::LIMIT {
            self.bucket = bucket;
            self.given.clear();
        }
        bucket
    }

    fn confirm(&mut self, ticket: ExpiryTicket) {
        if ticket.bucket == self.bucket {
            self.given.extend(ticket.keys);
        }
    }
}

/// The script's write sections: HINCRBY triples, ZINCRBY triples, variadic PFADDs, variadic
/// ZADDs (first-seen with LT, active mints with GT), then one EXPIRE per key touched.
fn push_writes(
    cmd: &mut redis::Cmd,
    d: &CounterDeltas,
    ttls: &Ttls,
    names: &mut NameCache,
    now_secs: u64,
) -> ExpiryTicket {
    let mut expire: BTreeMap<String, u64> = BTreeMap::new();
    let mut incr: Vec<(String, String, u64)> = Vec::with_capacity(d.minutes.len() * 3);
    for ((mint, minute), c) in &d.minutes {
        let key = keys::hour_counts(names.get(mint), *minute);
        for (field, value) in [
            ("b", c.buys),
            ("s", c.sells),
            ("bv", c.buy_lamports),
            ("sv", c.sell_lamports),
            ("bu", c.buy_micro_usd),
            ("su", c.sell_micro_usd),
        ] {
            if value > 0 {
                incr.push((key.clone(), keys::minute_field(*minute, field), value));
            }
        }
        expire.insert(key, ttls.counter_secs);
    }
    for (minute, p) in &d.prices {
        let key = keys::minute_price(*minute);
        incr.push((key.clone(), "l".into(), p.lamports));
        incr.push((key.clone(), "u".into(), p.micro_usd));
        expire.insert(key, ttls.counter_secs);
    }
    cmd.arg(incr.len());
    for (key, field, value) in &incr {
        cmd.arg(key).arg(field).arg(*value);
    }
    cmd.arg(d.wallet_buy_lamports.len());
    for ((mint, minute, wallet), lamports) in &d.wallet_buy_lamports {
        let key = keys::minute_wallet_volume(names.get(mint), *minute);
        cmd.arg(&key).arg(*lamports).arg(names.get(wallet));
        expire.insert(key, ttls.counter_secs);
    }

    cmd.arg(d.buyers.len() + d.sellers.len());
    for (map, name) in [
        (&d.buyers, keys::minute_buyers as fn(&str, i64) -> String),
        (&d.sellers, keys::minute_sellers),
    ] {
        for ((mint, minute), wallets) in map {
            let key = name(names.get(mint), *minute);
            cmd.arg(&key).arg(wallets.len());
            for w in wallets {
                cmd.arg(names.get(w));
            }
            expire.insert(key, ttls.counter_secs);
        }
    }

    let mut by_day: BTreeMap<i64, Vec<(&Pubkey, i64)>> = BTreeMap::new();
    for (wallet, time) in &d.wallet_first_seen {
        by_day
            .entry(time.div_euclid(86_400))
            .or_default()
            .push((wallet, *time));
    }
    let touched = !d.mint_last_trade.is_empty();
    cmd.arg(by_day.len() + if touched { 3 } else { 0 });
    for (day, wallets) in &by_day {
        let key = keys::first_seen(*day);
        cmd.arg(&key).arg("LT").arg(wallets.len());
        for (wallet, time) in wallets {
            cmd.arg(*time).arg(names.get(wallet));
        }
        expire.insert(key, ttls.first_seen_secs);
    }
    if touched {
        cmd.arg(keys::ACTIVE_MINTS)
            .arg("GT")
            .arg(d.mint_last_trade.len());
        for (mint, time) in &d.mint_last_trade {
            cmd.arg(*time).arg(names.get(mint));
        }
        // What the detector evaluates next, with the time of the earliest commit it has not seen
        // (its detection delay), and the chain's "now" for the windows.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        cmd.arg(keys::TOUCHED_MINTS)
            .arg("LT")
            .arg(d.mint_last_trade.len());
        for mint in d.mint_last_trade.keys() {
            cmd.arg(now_ms).arg(names.get(mint));
        }
        expire.insert(keys::TOUCHED_MINTS.to_string(), ttls.counter_secs);
        let newest = d.mint_last_trade.values().copied().max().unwrap_or(0);
        cmd.arg(keys::CHAIN_CLOCK)
            .arg("GT")
            .arg(1)
            .arg(newest)
            .arg(keys::CHAIN_CLOCK_MEMBER);
    }

    let bucket = names.expiries.enter(now_secs);
    let mut ticket = ExpiryTicket {
        bucket,
        keys: Vec::new(),
    };
    let due: Vec<(String, u64)> = expire
        .into_iter()
        .filter(|(key, _)| !names.expiries.given.contains(key))
        .collect();
    cmd.arg(due.len());
    for (key, ttl) in due {
        cmd.arg(&key).arg(ttl + EXPIRY_BUCKET_SECS);
        if key != keys::TOUCHED_MINTS {
            ticket.keys.push(key);
        }
    }
    ticket
}

/// Runs the commit script for `batch`.
pub async fn commit<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    batch: &CommitBatch<'_>,
    ttls: &Ttls,
    names: &mut NameCache,
) -> Result<CommitOutcome, RedisError> {
    let (cmd, ticket) = build(script, batch, ttls, names);
    let outcome = send(conn, script, &cmd).await;
    match &outcome {
        Ok(CommitOutcome::Committed(_)) => names.confirm(ticket),
        Ok(_) => {}
        Err(_) => names.forget_expiries(),
    }
    outcome
}

/// The script call for `batch` (synchronous: callers can hold a shared name cache only while
/// building, never across the round trip), and the keys it gives an EXPIRE: pass the ticket to
/// [`NameCache::confirm`] once the commit is applied.
pub fn build(
    script: &Script,
    batch: &CommitBatch<'_>,
    ttls: &Ttls,
    names: &mut NameCache,
) -> (redis::Cmd, ExpiryTicket) {
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    build_at(script, batch, ttls, names, now_secs)
}

/// [`build`] at a given wall-clock time (unix seconds), for tests of the TTL buckets.
pub fn build_at(
    script: &Script,
    batch: &CommitBatch<'_>,
    ttls: &Ttls,
    names: &mut NameCache,
    now_secs: u64,
) -> (redis::Cmd, ExpiryTicket) {
    let empty = CounterDeltas::default();
    let deltas = batch.deltas.unwrap_or(&empty);
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(0);
    cmd.arg(keys::STREAM)
        .arg(keys::GROUP)
        .arg(batch.consumer)
        .arg(keys::DEAD_STREAM)
        .arg(ttls.dedup_secs)
        .arg(ttls.top_buyers_per_minute);
    cmd.arg(batch.ids.len());
    for id in &batch.ids {
        cmd.arg(id.to_string());
    }
    let lo = batch
        .ids
        .iter()
        .min()
        .copied()
        .unwrap_or(EntryId { ms: 0, seq: 0 });
    let hi = batch
        .ids
        .iter()
        .max()
        .copied()
        .unwrap_or(EntryId { ms: 0, seq: 0 });
    cmd.arg(lo.to_string()).arg(hi.to_string());

    let mut by_set: BTreeMap<String, Vec<&Signature>> = BTreeMap::new();
    for (slot, sig) in &batch.markers {
        by_set
            .entry(keys::signature_markers(*slot))
            .or_default()
            .push(sig);
    }
    cmd.arg(by_set.len());
    for (key, sigs) in &by_set {
        cmd.arg(key).arg(sigs.len());
        for s in sigs {
            cmd.arg(&s.0[..]);
        }
    }

    cmd.arg(batch.dead.len());
    for d in &batch.dead {
        cmd.arg(d.id.to_string())
            .arg(&d.reason)
            .arg(d.payload.as_slice());
    }
    let ticket = push_writes(&mut cmd, deltas, ttls, names, now_secs);
    (cmd, ticket)
}

/// Sends a built commit; loads the script first if Redis lost it (it has not run then). Members
/// the script dropped from over-full top-buyer sets are counted in
/// `pocketwatcher_wallet_cap_trimmed_total{structure="top_buyers_minute"}`.
pub async fn send<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    cmd: &redis::Cmd,
) -> Result<CommitOutcome, RedisError> {
    let reply = match cmd.query_async::<Value>(conn).await {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            // Redis restarted (or flushed its script cache): load it; the script has not run.
            script.load_async(conn).await?;
            cmd.query_async::<Value>(conn).await?
        }
        other => other?,
    };
    let (outcome, trimmed) = parse_outcome(reply)?;
    if trimmed > 0 {
        metrics::counter!(crate::metrics::WALLET_CAP_TRIMMED, "structure" => TOP_BUYERS_MINUTE)
            .increment(trimmed);
    }
    Ok(outcome)
}

/// The `structure` label of the top-buyers cap.
pub const TOP_BUYERS_MINUTE: &str = "top_buyers_minute";

/// The outcome, and how many wallets an applied commit trimmed from top-buyer sets.
fn parse_outcome(reply: Value) -> Result<(CommitOutcome, u64), RedisError> {
    let bad = || RedisError::from((redis::ErrorKind::Parse, "unexpected commit reply"));
    let Value::Array(parts) = reply else {
        return Err(bad());
    };
    let tag = match parts.first() {
        Some(Value::BulkString(b)) => b.clone(),
        Some(Value::SimpleString(s)) => s.clone().into_bytes(),
        _ => return Err(bad()),
    };
    let outcome = match (tag.as_slice(), parts.get(1)) {
        (b"ok", Some(Value::Int(n))) => {
            let trimmed = match parts.get(2) {
                Some(Value::Int(t)) => (*t).max(0) as u64,
                _ => 0,
            };
            return Ok((CommitOutcome::Committed(*n as u64), trimmed));
        }
        (b"lost", Some(Value::Array(ids))) => CommitOutcome::NotOwned(
            ids.iter()
                .filter_map(|v| match v {
                    Value::BulkString(b) => EntryId::parse(std::str::from_utf8(b).ok()?),
                    _ => None,
                })
                .collect(),
        ),
        (b"dup", Some(Value::Array(sigs))) => CommitOutcome::Duplicates(
            sigs.iter()
                .filter_map(|v| match v {
                    Value::BulkString(b) => Signature::from_slice(b, "marker").ok(),
                    _ => None,
                })
                .collect(),
        ),
        _ => return Err(bad()),
    };
    Ok((outcome, 0))
}
