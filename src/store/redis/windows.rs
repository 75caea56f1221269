//! Reads the sliding windows of many mints per round trip (`windows.lua`).
//!
//! Two depths: the counts alone (60 `HMGET`s per mint, enough to rule most mints out), and the
//! detail (HyperLogLog unions, the per-wallet buy volumes, first-seen times) for the few that could
//! fire a trigger.

use redis::aio::ConnectionLike;
use redis::{RedisError, Script, Value};

use super::keys;
use crate::domain::counters::MinuteCounts;
use crate::domain::windows::WindowInput;

const SCRIPT: &str = include_str!("windows.lua");

/// Daily first-seen sets consulted (they live 8 days).
pub const FIRST_SEEN_DAYS: i64 = 8;

pub fn script() -> Script {
    Script::new(SCRIPT)
}

/// Which expensive parts of the windows to read; what no trigger could use is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetailParts {
    /// HyperLogLog unions (unique buyers and sellers), 5 m and 1 h.
    pub unique: [bool; 2],
    /// Per-wallet buy volumes (top-3 share, top buyers), 5 m and 1 h.
    pub top: [bool; 2],
    /// First-seen times of the largest buyers (new-wallet share), 5 m and 1 h.
    pub new: [bool; 2],
}

impl DetailParts {
    pub const ALL: DetailParts = DetailParts {
        unique: [true; 2],
        top: [true; 2],
        new: [true; 2],
    };

    pub fn any(&self) -> bool {
        *self != DetailParts::default()
    }

    /// Whether every part of `other` is also in `self`.
    pub fn covers(&self, other: DetailParts) -> bool {
        let within = |a: [bool; 2], b: [bool; 2]| (0..2).all(|i| a[i] || !b[i]);
        within(self.unique, other.unique)
            && within(self.top, other.top)
            && within(self.new, other.new)
    }

    /// Adds what `metric` needs.
    pub fn add(&mut self, metric: crate::domain::windows::Metric) {
        use crate::domain::windows::{MetricKind, WindowClass};
        let w = usize::from(metric.window == WindowClass::OneHour);
        match metric.kind {
            MetricKind::UniqueBuyers | MetricKind::UniqueSellers => self.unique[w] = true,
            MetricKind::Top3BuyersVolumeShare => self.top[w] = true,
            MetricKind::NewWalletPct => self.new[w] = true,
            _ => {}
        }
    }

    fn flags(&self) -> String {
        [
            self.unique[0],
            self.unique[1],
            self.top[0],
            self.top[1],
            self.new[0],
            self.new[1],
        ]
        .iter()
        .map(|b| if *b { '1' } else { '0' })
        .collect()
    }
}

/// Both windows of one mint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MintWindows {
    pub five_minutes: WindowInput,
    pub one_hour: WindowInput,
    /// Largest buyers (base58 wallet, lamports), largest first, at most 5; empty without detail.
    pub top_five_minutes: Vec<(String, u64)>,
    pub top_one_hour: Vec<(String, u64)>,
}

/// Reads the windows ending at `now_minute` for `mints` (in order): the counts, plus the `detail`
/// parts when given.
pub async fn read_windows<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    now_minute: i64,
    detail: Option<DetailParts>,
    mints: &[String],
) -> Result<Vec<MintWindows>, RedisError> {
    let mut windows = read_counts(conn, now_minute, mints).await?;
    if let Some(parts) = detail {
        read_detail(conn, script, now_minute, parts, mints, &mut windows).await?;
    }
    Ok(windows)
}

/// The minute counters of both windows and the hour's SOL price: one pipelined round trip of
/// plain reads (the hour hashes covering the window, the price minutes), summed here rather than
/// in a Redis script, so Redis only serves the bytes.
pub async fn read_counts<C: ConnectionLike>(
    conn: &mut C,
    now_minute: i64,
    mints: &[String],
) -> Result<Vec<MintWindows>, RedisError> {
    let first = now_minute - 59;
    let hours: Vec<i64> = if first.div_euclid(60) == now_minute.div_euclid(60) {
        vec![now_minute]
    } else {
        vec![first, now_minute]
    };
    let mut pipe = redis::pipe();
    for minute in first..=now_minute {
        pipe.cmd("HMGET")
            .arg(keys::minute_price(minute))
            .arg("l")
            .arg("u");
    }
    for mint in mints {
        for minute in &hours {
            pipe.cmd("HGETALL").arg(keys::hour_counts(mint, *minute));
        }
    }
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    let (prices, counts) = replies.split_at(60);
    let (mut lamports, mut micro_usd) = (0u64, 0u64);
    for p in prices {
        let v = array(p)?;
        lamports += v.first().map(int).transpose()?.unwrap_or(0);
        micro_usd += v.get(1).map(int).transpose()?.unwrap_or(0);
    }
    let price = sol_usd(lamports, micro_usd);
    let mut out = Vec::with_capacity(mints.len());
    for per_mint in counts.chunks(hours.len()) {
        let mut five = MinuteCounts::default();
        let mut hour = MinuteCounts::default();
        for reply in per_mint {
            add_hour(reply, now_minute, &mut five, &mut hour)?;
        }
        out.push(MintWindows {
            five_minutes: WindowInput {
                counts: five,
                sol_usd: price,
                ..WindowInput::default()
            },
            one_hour: WindowInput {
                counts: hour,
                sol_usd: price,
                ..WindowInput::default()
            },
            ..MintWindows::default()
        });
    }
    Ok(out)
}

/// Adds one hour hash (`{minute}:{counter}` → n) to the windows ending at `now_minute`.
fn add_hour(
    reply: &Value,
    now_minute: i64,
    five: &mut MinuteCounts,
    hour: &mut MinuteCounts,
) -> Result<(), RedisError> {
    let kv: Vec<(String, u64)> = match reply {
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| Ok((text(k)?, int(v)?)))
            .collect::<Result<_, RedisError>>()?,
        Value::Array(flat) => flat
            .chunks(2)
            .map(|p| match p {
                [k, v] => Ok((text(k)?, int(v)?)),
                _ => Err(bad("hash pair")),
            })
            .collect::<Result<_, RedisError>>()?,
        Value::Nil => Vec::new(),
        _ => return Err(bad("hash")),
    };
    for (field, n) in kv {
        let Some((minute, counter)) = field.split_once(':') else {
            continue;
        };
        let Ok(minute) = minute.parse::<i64>() else {
            continue;
        };
        if minute > now_minute || minute <= now_minute - 60 {
            continue;
        }
        let mut targets: Vec<&mut MinuteCounts> = vec![&mut *hour];
        if minute > now_minute - 5 {
            targets.push(&mut *five);
        }
        for c in targets {
            match counter {
                "b" => c.buys += n,
                "s" => c.sells += n,
                "bv" => c.buy_lamports += n,
                "sv" => c.sell_lamports += n,
                "bu" => c.buy_micro_usd += n,
                "su" => c.sell_micro_usd += n,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Fills the `parts` of the windows' detail (HyperLogLog unions, top buyers, new wallets).
pub async fn read_detail<C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    now_minute: i64,
    parts: DetailParts,
    mints: &[String],
    windows: &mut [MintWindows],
) -> Result<(), RedisError> {
    if windows.len() != mints.len() {
        return Err(bad("row count"));
    }
    for (mints, windows) in mints
        .chunks(DETAIL_MINTS_PER_SCRIPT)
        .zip(windows.chunks_mut(DETAIL_MINTS_PER_SCRIPT))
    {
        let mut invocation = script.prepare_invoke();
        invocation
            .arg(now_minute)
            .arg(parts.flags())
            .arg(FIRST_SEEN_DAYS);
        for mint in mints {
            invocation.arg(mint);
        }
        let reply: Value = invocation.invoke_async(conn).await?;
        let rows = array(&reply)?;
        if rows.len() != mints.len() {
            return Err(bad("row count"));
        }
        for (row, w) in rows.iter().zip(windows.iter_mut()) {
            let d = array(row)?;
            if d.len() != 10 {
                return Err(bad("detail"));
            }
            let top5 = top(&d[4])?;
            let top60 = top(&d[7])?;
            w.five_minutes.unique_buyers = Some(int(&d[0])?);
            w.five_minutes.unique_sellers = Some(int(&d[1])?);
            w.one_hour.unique_buyers = Some(int(&d[2])?);
            w.one_hour.unique_sellers = Some(int(&d[3])?);
            // The per-wallet volumes are the SOL-quoted buy lamports, split by wallet: their total
            // is the window's `bv` counter.
            w.five_minutes.top_wallet_lamports = Some(top5.iter().map(|t| t.1).collect());
            w.five_minutes.wallet_lamports_total = w.five_minutes.counts.buy_lamports;
            w.five_minutes.buyers = int(&d[5])?;
            w.five_minutes.new_buyers = int(&d[6])?;
            w.one_hour.top_wallet_lamports = Some(top60.iter().map(|t| t.1).collect());
            w.one_hour.wallet_lamports_total = w.one_hour.counts.buy_lamports;
            w.one_hour.buyers = int(&d[8])?;
            w.one_hour.new_buyers = int(&d[9])?;
            w.top_five_minutes = top5;
            w.top_one_hour = top60;
        }
    }
    Ok(())
}

/// Most mints one window script reads. A script blocks Redis for its whole run, and a popular
/// mint's 1-hour union costs tens of milliseconds: the 1-hour soak at 2,000 tx/s saw scripts of
/// many mints pass Redis's 5 s limit (`BUSY` for every other client, the feed dropping ingest for
/// lagging) once the hour's keys had filled. Short scripts let commits and reads in between.
pub const DETAIL_MINTS_PER_SCRIPT: usize = 8;

fn bad(what: &str) -> RedisError {
    RedisError::from((
        redis::ErrorKind::Parse,
        "unexpected window reply",
        what.to_string(),
    ))
}

fn int(v: &Value) -> Result<u64, RedisError> {
    match v {
        Value::Int(n) => Ok((*n).max(0) as u64),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(|f| f.max(0.0) as u64)
            .ok_or_else(|| bad("number")),
        Value::Nil => Ok(0),
        _ => Err(bad("number")),
    }
}

fn array(v: &Value) -> Result<&[Value], RedisError> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(bad("array")),
    }
}

fn text(v: &Value) -> Result<String, RedisError> {
    match v {
        Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        _ => Err(bad("string")),
    }
}

fn top(v: &Value) -> Result<Vec<(String, u64)>, RedisError> {
    array(v)?
        .chunks(2)
        .map(|pair| match pair {
            [w, l] => Ok((text(w)?, int(l)?)),
            _ => Err(bad("top buyer pair")),
        })
        .collect()
}

/// SOL price in USD from the hour's SOL↔stablecoin trades.
fn sol_usd(lamports: u64, micro_usd: u64) -> Option<f64> {
    (lamports > 0 && micro_usd > 0).then(|| (micro_usd as f64 / 1e6) / (lamports as f64 / 1e9))
}
