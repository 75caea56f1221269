//! Reads the sliding windows of many mints per round trip (`windows.lua`).
//!
//! Two depths: the counts alone (60 `HMGET`s per mint, enough to rule most mints out), and the
//! detail (HyperLogLog unions, the per-wallet buy volumes, first-seen times) for the few that could
//! fire a trigger.

use redis::aio::ConnectionLike;
use redis::{RedisError, Script, Value};

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
    let mut invocation = script.prepare_invoke();
    invocation
        .arg(now_minute)
        .arg(detail.map(|d| d.flags()).unwrap_or_default())
        .arg(FIRST_SEEN_DAYS);
    for mint in mints {
        invocation.arg(mint);
    }
    let reply: Value = invocation.invoke_async(conn).await?;
    parse(reply, mints.len(), detail.is_some())
}

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

fn counts(v: &[Value]) -> Result<MinuteCounts, RedisError> {
    Ok(MinuteCounts {
        buys: int(&v[0])?,
        sells: int(&v[1])?,
        buy_lamports: int(&v[2])?,
        sell_lamports: int(&v[3])?,
        buy_micro_usd: int(&v[4])?,
        sell_micro_usd: int(&v[5])?,
    })
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

fn parse(reply: Value, n: usize, detail: bool) -> Result<Vec<MintWindows>, RedisError> {
    let parts = array(&reply)?;
    if parts.len() != n + 2 {
        return Err(bad("row count"));
    }
    let price = sol_usd(int(&parts[0])?, int(&parts[1])?);
    let mut out = Vec::with_capacity(n);
    for row in &parts[2..] {
        let row = array(row)?;
        let sums = array(row.first().ok_or_else(|| bad("sums"))?)?;
        if sums.len() != 12 {
            return Err(bad("sums"));
        }
        let mut w = MintWindows {
            five_minutes: WindowInput {
                counts: counts(&sums[..6])?,
                sol_usd: price,
                ..WindowInput::default()
            },
            one_hour: WindowInput {
                counts: counts(&sums[6..])?,
                sol_usd: price,
                ..WindowInput::default()
            },
            ..MintWindows::default()
        };
        if detail {
            let d = array(row.get(1).ok_or_else(|| bad("detail"))?)?;
            if d.len() != 12 {
                return Err(bad("detail"));
            }
            let top5 = top(&d[4])?;
            let top60 = top(&d[8])?;
            w.five_minutes.unique_buyers = Some(int(&d[0])?);
            w.five_minutes.unique_sellers = Some(int(&d[1])?);
            w.one_hour.unique_buyers = Some(int(&d[2])?);
            w.one_hour.unique_sellers = Some(int(&d[3])?);
            w.five_minutes.top_wallet_lamports = Some(top5.iter().map(|t| t.1).collect());
            w.five_minutes.wallet_lamports_total = int(&d[5])?;
            w.five_minutes.buyers = int(&d[6])?;
            w.five_minutes.new_buyers = int(&d[7])?;
            w.one_hour.top_wallet_lamports = Some(top60.iter().map(|t| t.1).collect());
            w.one_hour.wallet_lamports_total = int(&d[9])?;
            w.one_hour.buyers = int(&d[10])?;
            w.one_hour.new_buyers = int(&d[11])?;
            w.top_five_minutes = top5;
            w.top_one_hour = top60;
        }
        out.push(w);
    }
    Ok(out)
}
