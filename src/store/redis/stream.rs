//! The transaction stream and its consumer group, with replies parsed into plain structs.

use std::fmt;

use redis::aio::ConnectionLike;
use redis::{RedisError, Value};

use super::keys::{DATA_FIELD, GROUP, STREAM};

/// A stream entry id (`<ms>-<seq>`), ordered the way Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl EntryId {
    pub fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry as read from the group. `payload` is `None` when the entry has no `data` field
/// (malformed) — it still has to be dead-lettered and acked, never ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: EntryId,
    pub payload: Option<Vec<u8>>,
}

/// Group health, from `XINFO GROUPS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Delivered but not acknowledged.
    pub pending: u64,
    /// Not yet delivered to any consumer (Redis ≥ 7).
    pub lag: u64,
    pub consumers: u64,
    pub last_delivered: Option<EntryId>,
    /// Entries ever delivered to the group (Redis ≥ 7).
    pub entries_read: u64,
}

impl GroupInfo {
    /// Entries the group still has to finish.
    pub fn backlog(&self) -> u64 {
        self.pending + self.lag
    }

    /// Entries delivered and acknowledged.
    pub fn acknowledged(&self) -> u64 {
        self.entries_read.saturating_sub(self.pending)
    }
}

fn protocol_error(what: &str) -> RedisError {
    RedisError::from((
        redis::ErrorKind::Parse,
        "unexpected reply",
        what.to_string(),
    ))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => as_text(other)?.parse().ok(),
    }
}

/// The name/value pairs of an `XINFO` record (a flat array in RESP2, a map in RESP3).
fn field_list(record: Value) -> Option<Vec<(String, Value)>> {
    match record {
        Value::Array(flat) => Some(
            flat.chunks(2)
                .filter_map(|c| Some((as_text(&c[0])?, c.get(1)?.clone())))
                .collect(),
        ),
        Value::Map(pairs) => Some(
            pairs
                .into_iter()
                .filter_map(|(k, v)| Some((as_text(&k)?, v)))
                .collect(),
        ),
        _ => None,
    }
}

/// Creates the stream and the consumer group if missing (idempotent).
pub async fn ensure_group<C: ConnectionLike>(conn: &mut C) -> Result<(), RedisError> {
    let created: Result<Value, RedisError> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(STREAM)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Appends payloads in one pipelined round trip; returns their ids in order.
pub async fn append<C: ConnectionLike>(
    conn: &mut C,
    payloads: &[Vec<u8>],
) -> Result<Vec<EntryId>, RedisError> {
    if payloads.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for p in payloads {
        pipe.cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(DATA_FIELD)
            .arg(p.as_slice());
    }
    let ids: Vec<String> = pipe.query_async(conn).await?;
    ids.iter()
        .map(|id| EntryId::parse(id).ok_or_else(|| protocol_error("XADD id")))
        .collect()
}

fn parse_entries(v: &Value) -> Result<Vec<StreamEntry>, RedisError> {
    let Value::Array(items) = v else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let parts = match item {
            Value::Array(parts) => parts,
            Value::Nil => continue,
            _ => return Err(protocol_error("stream entry")),
        };
        let id = parts
            .first()
            .and_then(as_text)
            .and_then(|t| EntryId::parse(&t))
            .ok_or_else(|| protocol_error("entry id"))?;
        let mut payload = None;
        if let Some(Value::Array(fields)) = parts.get(1) {
            for pair in fields.chunks(2) {
                if let [Value::BulkString(name), Value::BulkString(value)] = pair {
                    if name.as_slice() == DATA_FIELD.as_bytes() {
                        payload = Some(value.clone());
                    }
                }
            }
        }
        out.push(StreamEntry { id, payload });
    }
    Ok(out)
}

/// `XREADGROUP … STREAMS stream:tx >`: new entries for `consumer`, waiting up to `block_ms`
/// (0: return at once).
pub async fn read_new<C: ConnectionLike>(
    conn: &mut C,
    consumer: &str,
    count: usize,
    block_ms: u64,
) -> Result<Vec<StreamEntry>, RedisError> {
    read_group(conn, consumer, count, block_ms, ">").await
}

/// This consumer's own pending entries after `after` (`XREADGROUP … STREAMS stream:tx <id>`): what
/// a restarted instance had read but not finished. Empty when there are none left.
pub async fn read_own_pending<C: ConnectionLike>(
    conn: &mut C,
    consumer: &str,
    count: usize,
    after: EntryId,
) -> Result<Vec<StreamEntry>, RedisError> {
    read_group(conn, consumer, count, 0, &after.to_string()).await
}

async fn read_group<C: ConnectionLike>(
    conn: &mut C,
    consumer: &str,
    count: usize,
    block_ms: u64,
    from: &str,
) -> Result<Vec<StreamEntry>, RedisError> {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(count);
    // BLOCK 0 would wait forever: 0 means "do not block".
    if block_ms > 0 {
        cmd.arg("BLOCK").arg(block_ms);
    }
    let reply: Value = cmd
        .arg("STREAMS")
        .arg(STREAM)
        .arg(from)
        .query_async(conn)
        .await?;
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => match streams.first() {
            Some(Value::Array(pair)) => parse_entries(pair.get(1).unwrap_or(&Value::Nil)),
            _ => Ok(Vec::new()),
        },
        Value::Map(streams) => match streams.first() {
            Some((_, entries)) => parse_entries(entries),
            None => Ok(Vec::new()),
        },
        _ => Err(protocol_error("XREADGROUP")),
    }
}

/// One row of `XPENDING … IDLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub id: EntryId,
    pub consumer: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// Entries idle for at least `min_idle_ms`, from any consumer (dead ones included), oldest first,
/// starting at `start` (`-`, or `(<id>` to continue after a page).
pub async fn pending_idle<C: ConnectionLike>(
    conn: &mut C,
    min_idle_ms: u64,
    count: usize,
    start: &str,
) -> Result<Vec<PendingRow>, RedisError> {
    let reply: Value = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .arg("IDLE")
        .arg(min_idle_ms)
        .arg(start)
        .arg("+")
        .arg(count)
        .query_async(conn)
        .await?;
    let Value::Array(rows) = reply else {
        return Ok(Vec::new());
    };
    Ok(rows
        .iter()
        .filter_map(|row| match row {
            Value::Array(f) if f.len() >= 4 => Some(PendingRow {
                id: EntryId::parse(&as_text(&f[0])?)?,
                consumer: as_text(&f[1])?,
                idle_ms: as_int(&f[2])?,
                deliveries: as_int(&f[3])?,
            }),
            _ => None,
        })
        .collect())
}

/// `XCLAIM`s `ids` for `consumer` if still idle for `min_idle_ms`; returns the claimed entries
/// (entries deleted from the stream are dropped from the pending list by Redis and not returned).
pub async fn claim<C: ConnectionLike>(
    conn: &mut C,
    consumer: &str,
    min_idle_ms: u64,
    ids: &[EntryId],
) -> Result<Vec<StreamEntry>, RedisError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = redis::cmd("XCLAIM");
    cmd.arg(STREAM).arg(GROUP).arg(consumer).arg(min_idle_ms);
    for id in ids {
        cmd.arg(id.to_string());
    }
    let reply: Value = cmd.query_async(conn).await?;
    let entries = parse_entries(&reply)?;
    Ok(entries)
}

/// The result of one `XAUTOCLAIM` call.
#[derive(Debug, Default)]
pub struct Claimed {
    /// Where the next call continues (`0-0` when the scan wrapped around).
    pub next: String,
    pub entries: Vec<StreamEntry>,
    /// Pending ids whose entries no longer exist; they can only be acknowledged.
    pub deleted: Vec<EntryId>,
}

/// `XAUTOCLAIM`: takes over entries idle for at least `min_idle_ms` from any consumer, dead ones
/// included.
pub async fn autoclaim<C: ConnectionLike>(
    conn: &mut C,
    consumer: &str,
    min_idle_ms: u64,
    start: &str,
    count: usize,
) -> Result<Claimed, RedisError> {
    let reply: Value = redis::cmd("XAUTOCLAIM")
        .arg(STREAM)
        .arg(GROUP)
        .arg(consumer)
        .arg(min_idle_ms)
        .arg(start)
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    let Value::Array(parts) = reply else {
        return Err(protocol_error("XAUTOCLAIM"));
    };
    let next = parts
        .first()
        .and_then(as_text)
        .unwrap_or_else(|| "0-0".into());
    let entries = parse_entries(parts.get(1).unwrap_or(&Value::Nil))?;
    let deleted = match parts.get(2) {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| as_text(v).and_then(|t| EntryId::parse(&t)))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Claimed {
        next,
        entries,
        deleted,
    })
}

/// Entries not yet delivered to the group, robust to Redis's own `lag` going wrong.
///
/// Redis derives `lag` from two counters (`entries-added` minus the group's `entries-read`).
/// After a Redis crash and AOF reload those counters can disagree for good: the soak saw a
/// constant lag of 69,445 with the group's last delivered id equal to the stream's last id, and
/// Redis answers nil when it cannot estimate at all. A false lag is a false alarm on every
/// dashboard, and a nil read as 0 hides a real backlog, so: nothing is undelivered when the
/// group has delivered the stream's newest id; otherwise the figure is capped by what the stream
/// can hold beyond the pending entries (an upper bound, and the estimate when Redis gives none).
pub fn undelivered(
    redis_lag: Option<u64>,
    last_delivered: Option<EntryId>,
    stream: &StreamInfo,
    pending: u64,
) -> u64 {
    let Some(newest) = stream.last_generated else {
        return 0;
    };
    if last_delivered.is_some_and(|id| id >= newest) {
        return 0;
    }
    let at_most = stream.length.saturating_sub(pending);
    redis_lag.map_or(at_most, |lag| lag.min(at_most))
}

/// `XINFO GROUPS` for our group (zeros when the stream or group does not exist yet).
pub async fn group_info<C: ConnectionLike>(conn: &mut C) -> Result<GroupInfo, RedisError> {
    let reply: Result<Value, RedisError> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(STREAM)
        .query_async(conn)
        .await;
    let groups = match reply {
        Ok(Value::Array(groups)) => groups,
        Ok(_) => return Ok(GroupInfo::default()),
        Err(e) if e.code() == Some("ERR") => return Ok(GroupInfo::default()),
        Err(e) => return Err(e),
    };
    for g in groups {
        let Some(fields) = field_list(g) else {
            continue;
        };
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        if get("name").and_then(as_text).as_deref() != Some(GROUP) {
            continue;
        }
        let pending = get("pending").and_then(as_int).unwrap_or(0);
        let last_delivered = get("last-delivered-id")
            .and_then(as_text)
            .and_then(|t| EntryId::parse(&t));
        let stream = stream_info(conn, STREAM).await?;
        return Ok(GroupInfo {
            pending,
            lag: undelivered(
                get("lag").and_then(as_int),
                last_delivered,
                &stream,
                pending,
            ),
            consumers: get("consumers").and_then(as_int).unwrap_or(0),
            last_delivered,
            entries_read: get("entries-read").and_then(as_int).unwrap_or(0),
        });
    }
    Ok(GroupInfo::default())
}

/// The oldest entry the group has not acknowledged, if any.
pub async fn oldest_pending<C: ConnectionLike>(
    conn: &mut C,
) -> Result<Option<EntryId>, RedisError> {
    let reply: Value = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(conn)
        .await?;
    Ok(match reply {
        Value::Array(parts) => parts
            .get(1)
            .and_then(as_text)
            .and_then(|t| EntryId::parse(&t)),
        _ => None,
    })
}

/// Trims entries that every consumer has finished: strictly older than both the oldest pending
/// entry and the first undelivered one. Never removes unacknowledged work (no MAXLEN).
pub async fn trim_acknowledged<C: ConnectionLike>(conn: &mut C) -> Result<u64, RedisError> {
    let info = group_info(conn).await?;
    let Some(last_delivered) = info.last_delivered else {
        return Ok(0);
    };
    let first_undelivered = EntryId {
        ms: last_delivered.ms,
        seq: last_delivered.seq.saturating_add(1),
    };
    let floor = match oldest_pending(conn).await? {
        Some(p) => p.min(first_undelivered),
        None => first_undelivered,
    };
    let removed: u64 = redis::cmd("XTRIM")
        .arg(STREAM)
        .arg("MINID")
        .arg(floor.to_string())
        .query_async(conn)
        .await?;
    Ok(removed)
}

/// Deletes a consumer only if it still has nothing pending; -1 otherwise.
const DELETE_IF_IDLE: &str = r"
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
";

/// Removes consumers that have nothing pending and have been idle longer than `idle_ms`.
pub async fn remove_idle_consumers<C: ConnectionLike>(
    conn: &mut C,
    idle_ms: u64,
) -> Result<Vec<String>, RedisError> {
    let reply: Value = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(conn)
        .await?;
    let Value::Array(consumers) = reply else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for c in consumers {
        let Some(fields) = field_list(c) else {
            continue;
        };
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let (Some(name), Some(pending), Some(idle)) = (
            get("name").and_then(as_text),
            get("pending").and_then(as_int),
            get("idle").and_then(as_int),
        ) else {
            continue;
        };
        if pending == 0 && idle > idle_ms {
            // Re-checked atomically: the consumer may have read entries since XINFO, and deleting
            // it would drop them from the pending list for good.
            let deleted: i64 = redis::Script::new(DELETE_IF_IDLE)
                .key(STREAM)
                .arg(GROUP)
                .arg(&name)
                .invoke_async(conn)
                .await?;
            if deleted >= 0 {
                removed.push(name);
            }
        }
    }
    Ok(removed)
}

/// Stream facts from `XINFO STREAM` (zeros when the stream does not exist).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamInfo {
    pub length: u64,
    /// Id of the newest entry ever added (its ms part is the time of the last XADD).
    pub last_generated: Option<EntryId>,
    /// Entries ever added (Redis ≥ 7).
    pub entries_added: u64,
}

/// `XINFO STREAM key`.
pub async fn stream_info<C: ConnectionLike>(
    conn: &mut C,
    key: &str,
) -> Result<StreamInfo, RedisError> {
    let reply: Result<Value, RedisError> = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .query_async(conn)
        .await;
    let record = match reply {
        Ok(v) => v,
        Err(e) if e.code() == Some("ERR") => return Ok(StreamInfo::default()),
        Err(e) => return Err(e),
    };
    let fields = field_list(record).ok_or_else(|| protocol_error("XINFO STREAM"))?;
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    Ok(StreamInfo {
        length: get("length").and_then(as_int).unwrap_or(0),
        last_generated: get("last-generated-id")
            .and_then(as_text)
            .and_then(|t| EntryId::parse(&t))
            .filter(|id| id.ms > 0 || id.seq > 0),
        entries_added: get("entries-added").and_then(as_int).unwrap_or(0),
    })
}

/// One consumer of the group, from `XINFO CONSUMERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerInfo {
    pub name: String,
    pub pending: u64,
    /// Since its last attempted interaction (read, claim).
    pub idle_ms: u64,
    /// Since its last successful interaction (Redis ≥ 7.2; `None` before, or if it never had one).
    pub inactive_ms: Option<u64>,
}

/// `XINFO CONSUMERS stream:tx parsers` (empty when the group does not exist).
pub async fn consumers<C: ConnectionLike>(conn: &mut C) -> Result<Vec<ConsumerInfo>, RedisError> {
    let reply: Result<Value, RedisError> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(conn)
        .await;
    let list = match reply {
        Ok(Value::Array(list)) => list,
        Ok(_) => return Ok(Vec::new()),
        Err(e) if matches!(e.code(), Some("ERR") | Some("NOGROUP")) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(list
        .into_iter()
        .filter_map(field_list)
        .filter_map(|fields| {
            let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            Some(ConsumerInfo {
                name: get("name").and_then(as_text)?,
                pending: get("pending").and_then(as_int).unwrap_or(0),
                idle_ms: get("idle").and_then(as_int).unwrap_or(0),
                // -1 (never active) does not parse as u64: None.
                inactive_ms: get("inactive").and_then(as_int),
            })
        })
        .collect())
}

/// The `XPENDING stream:tx parsers` summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingSummary {
    pub total: u64,
    pub oldest: Option<EntryId>,
    pub newest: Option<EntryId>,
    /// Pending entries per consumer that has any, as Redis lists them.
    pub by_consumer: Vec<(String, u64)>,
}

pub async fn pending_summary<C: ConnectionLike>(
    conn: &mut C,
) -> Result<PendingSummary, RedisError> {
    let reply: Result<Value, RedisError> = redis::cmd("XPENDING")
        .arg(STREAM)
        .arg(GROUP)
        .query_async(conn)
        .await;
    let parts = match reply {
        Ok(Value::Array(parts)) => parts,
        Ok(_) => return Ok(PendingSummary::default()),
        Err(e) if matches!(e.code(), Some("ERR") | Some("NOGROUP")) => {
            return Ok(PendingSummary::default())
        }
        Err(e) => return Err(e),
    };
    let id = |i: usize| {
        parts
            .get(i)
            .and_then(as_text)
            .and_then(|t| EntryId::parse(&t))
    };
    let by_consumer = match parts.get(3) {
        Some(Value::Array(rows)) => rows
            .iter()
            .filter_map(|row| match row {
                Value::Array(pair) if pair.len() == 2 => {
                    Some((as_text(&pair[0])?, as_int(&pair[1])?))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(PendingSummary {
        total: parts.first().and_then(as_int).unwrap_or(0),
        oldest: id(1),
        newest: id(2),
        by_consumer,
    })
}

/// The oldest entry the group has not finished: the oldest pending one or the first not yet
/// delivered, whichever is older. `None` when the group has caught up.
pub async fn oldest_unacknowledged<C: ConnectionLike>(
    conn: &mut C,
) -> Result<Option<EntryId>, RedisError> {
    let info = group_info(conn).await?;
    let pending = pending_summary(conn).await?.oldest;
    let start = match info.last_delivered {
        Some(id) => format!("({id}"),
        None => "-".to_string(),
    };
    let next: Value = redis::cmd("XRANGE")
        .arg(STREAM)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    let undelivered = parse_entries(&next)?.first().map(|e| e.id);
    Ok(match (pending, undelivered) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order_numerically() {
        let a = EntryId::parse("9-5").unwrap();
        let b = EntryId::parse("10-0").unwrap();
        assert!(a < b, "string order would say otherwise");
        assert_eq!(b.to_string(), "10-0");
        assert!(EntryId::parse("garbage").is_none());
    }

    fn stream(length: u64, newest: &str) -> StreamInfo {
        StreamInfo {
            length,
            last_generated: EntryId::parse(newest),
            entries_added: 0,
        }
    }

    #[test]
    fn a_group_that_delivered_the_newest_id_has_no_lag_whatever_redis_says() {
        // The soak's reading after a Redis crash: lag 69,445, last delivered = newest.
        let newest = EntryId::parse("1796642107267-19");
        let s = stream(6_655, "1796642107267-19");
        assert_eq!(undelivered(Some(69_445), newest, &s, 0), 0);
    }

    #[test]
    fn a_wrong_lag_is_capped_by_what_the_stream_holds_beyond_pending() {
        let s = stream(6_655, "200-0");
        let delivered = EntryId::parse("100-0");
        assert_eq!(undelivered(Some(69_445), delivered, &s, 655), 6_000);
    }

    #[test]
    fn a_plausible_lag_is_kept_and_a_missing_one_is_the_upper_bound() {
        let s = stream(1_000, "200-0");
        let delivered = EntryId::parse("100-0");
        assert_eq!(undelivered(Some(42), delivered, &s, 10), 42);
        assert_eq!(undelivered(None, delivered, &s, 10), 990, "nil is not zero");
        assert_eq!(
            undelivered(None, None, &s, 0),
            1_000,
            "nothing delivered yet"
        );
    }

    #[test]
    fn an_empty_stream_has_no_lag() {
        assert_eq!(undelivered(Some(5), None, &StreamInfo::default(), 0), 0);
    }
}
