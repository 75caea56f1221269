//! Points in time as people type them on the command line (`--since`, `--from`, `--to`), and as
//! the tables print them.

use crate::alerting::format::common::iso8601_utc;

/// Parses `T` relative to `now` (unix seconds): unix seconds (`1733500000`), a UTC date or date
/// and time (`2026-12-06`, `2026-12-06T14:30`, `2026-12-06 14:30:05`, optional `Z`), or a
/// duration before now (`90m`, `24h`, `7d`, `30s`).
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let t = text.trim();
    let hint = "use unix seconds, a UTC date such as 2026-12-06T14:30, or a duration before now such as 24h or 7d";
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    if let Some(secs) = parse_duration(t) {
        return Ok(now - secs);
    }
    parse_utc(t).ok_or_else(|| format!("{text:?} is not a time: {hint}"))
}

/// `30s`, `90m`, `24h`, `7d` in seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.len().checked_sub(1)?);
    let n: i64 = number.parse().ok()?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    (n >= 0).then_some(n * per)
}

fn parse_utc(text: &str) -> Option<i64> {
    let t = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(y, m, day) * 86_400;
    if let Some(time) = time {
        let parts: Vec<&str> = time.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let min: i64 = parts[1].parse().ok()?;
        let s: i64 = parts.get(2).map_or(Some(0), |s| s.parse().ok())?;
        if h > 23 || min > 59 || s > 60 {
            return None;
        }
        secs += h * 3_600 + min * 60 + s;
    }
    Some(secs)
}

/// (year, month, day) → days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-12-06 14:30:05` (UTC) for tables.
pub fn format_utc(unix_seconds: i64) -> String {
    let iso = iso8601_utc(unix_seconds * 1000);
    iso[..19].replace('T', " ")
}

/// Now, in unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        let now = 1_800_000_000;
        assert_eq!(parse_time("1733500000", now), Ok(1_733_500_000));
        assert_eq!(parse_time("24h", now), Ok(now - 86_400));
        assert_eq!(parse_time("90m", now), Ok(now - 5_400));
        assert_eq!(parse_time("2024-12-06", now), Ok(1_733_443_200));
        assert_eq!(parse_time("2024-12-06T14:30", now), Ok(1_733_495_400));
        assert_eq!(parse_time("2024-12-06 14:30:05Z", now), Ok(1_733_495_405));
        assert_eq!(parse_time("1970-01-01", now), Ok(0));
        assert_eq!(parse_time("2000-03-01", now), Ok(951_868_800));
        let err = parse_time("yesterday", now).unwrap_err();
        assert!(
            err.contains("\"yesterday\" is not a time") && err.contains("24h"),
            "{err}"
        );
        assert!(parse_time("2024-13-01", now).is_err());
    }

    #[test]
    fn formatted_times_read_back() {
        assert_eq!(format_utc(1_733_495_405), "2024-12-06 14:30:05");
        assert_eq!(parse_time(&format_utc(1_733_495_405), 0), Ok(1_733_495_405));
    }
}
