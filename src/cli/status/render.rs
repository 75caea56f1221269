//! The one-screen text view of a [`Status`].

use std::fmt::Write as _;

use super::gather::Status;

/// Most consumers, HOT tokens and alerts shown on the screen (`--json` has them all).
const ROWS: usize = 10;

/// `12.3 s`, `4 m 05 s`, `2 h 10 m`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} m {:02} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{} h {:02} m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

pub fn render(s: &Status) -> String {
    let mut o = String::new();
    let pg = s.postgres.as_deref().unwrap_or("-");
    let _ = writeln!(
        o,
        "pocketwatcher status    redis {}    postgres {pg}",
        s.redis
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Stream      {:<12} length {:<10} dead letters {:<8} last XADD {}",
        s.stream.name,
        s.stream.length,
        s.stream.dead_letters,
        s.stream
            .last_entry_age_seconds
            .map_or_else(|| "never".to_string(), |a| format!("{} ago", duration(a))),
    );
    let _ = writeln!(
        o,
        "Group       {:<12} lag {:<10}    pending {:<13} entries read {}   consumers {}",
        s.group.name, s.group.lag, s.group.pending, s.group.entries_read, s.group.consumers
    );
    let rate = match (s.processing.tx_per_second, s.processing.rate_source) {
        (Some(r), Some("live_stats")) => format!("{r:.1} tx/s (last 60 s)"),
        (Some(r), _) => format!("{r:.1} tx/s (sampled)"),
        _ => "- tx/s".to_string(),
    };
    let _ = writeln!(
        o,
        "Processing  {rate:<28} oldest unacknowledged entry {}",
        if s.processing.lag_seconds > 0.0 {
            format!("{} old", duration(s.processing.lag_seconds))
        } else {
            "none (caught up)".to_string()
        }
    );
    let _ = writeln!(
        o,
        "Ingest      checkpoint slot {}   chain tip {}   written {}   lag {} slots   {}",
        opt(s.ingest.checkpoint_slot),
        opt(s.ingest.chain_tip_slot),
        opt(s.ingest.ingested_slot),
        opt(s.ingest.slot_lag),
        s.ingest.tx_per_second.map_or_else(
            || "no ingest running".to_string(),
            |r| format!("{r:.1} tx/s in")
        ),
    );

    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Consumers   {:<32} {:>10} {:>12} {:>12}",
        "name", "pending", "idle", "inactive"
    );
    if s.consumers.is_empty() {
        let _ = writeln!(o, "            (none)");
    }
    for c in s.consumers.iter().take(ROWS) {
        let _ = writeln!(
            o,
            "            {:<32} {:>10} {:>12} {:>12}",
            c.name,
            c.pending,
            duration(c.idle_seconds),
            c.inactive_seconds.map_or_else(|| "-".into(), duration),
        );
    }
    more(&mut o, s.consumers.len());
    if let Some(age) = s.pending.oldest_age_seconds {
        let _ = writeln!(
            o,
            "            pending total {} (oldest {} old)",
            s.pending.total,
            duration(age)
        );
    }

    let _ = writeln!(o);
    let _ = writeln!(o, "HOT tokens  {}", s.hot_tokens_total);
    for h in s.hot_tokens.iter().take(ROWS) {
        let _ = writeln!(
            o,
            "            {:<46} expires in {}",
            h.mint,
            duration(h.expires_in_seconds)
        );
    }
    more(&mut o, s.hot_tokens_total as usize);

    let _ = writeln!(o);
    let _ = writeln!(o, "Last alerts");
    if s.alerts.is_empty() {
        let _ = writeln!(o, "            (none)");
    }
    for a in s.alerts.iter().take(ROWS) {
        let deliveries: Vec<String> = a
            .deliveries
            .iter()
            .map(|d| format!("{} {} ({})", d.channel, d.status, d.attempts))
            .collect();
        let _ = writeln!(
            o,
            "            #{:<6} {:>12} ago  {:<10} {:<46} {:<20} {}",
            a.id,
            duration(s.taken_at - a.created_at),
            a.symbol
                .as_deref()
                .map_or_else(|| "-".into(), |x| format!("${x}")),
            a.mint,
            a.trigger,
            deliveries.join(", ")
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Deliveries  {:<12} {:>10} {:>10} {:>8} {:>8} {:>8} {:>15}",
        "channel", "delivered", "coalesced", "digests", "waiting", "failed", "oldest waiting"
    );
    if s.channels.is_empty() {
        let _ = writeln!(o, "            (none)");
    }
    for c in &s.channels {
        let _ = writeln!(
            o,
            "            {:<12} {:>10} {:>10} {:>8} {:>8} {:>8} {:>15}",
            c.channel,
            c.delivered,
            c.coalesced,
            c.digests,
            c.waiting,
            c.failed,
            c.oldest_waiting_seconds
                .map_or_else(|| "-".into(), duration),
        );
    }
    if !s.problems.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Problems");
        for p in &s.problems {
            let _ = writeln!(o, "            {p}");
        }
    }
    o
}

fn more(o: &mut String, total: usize) {
    if total > ROWS {
        let _ = writeln!(
            o,
            "            ... {} more (--json lists them)",
            total - ROWS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.34), "0.3 s");
        assert_eq!(duration(65.0), "1 m 05 s");
        assert_eq!(duration(7_800.0), "2 h 10 m");
        assert_eq!(duration(-3.0), "0.0 s");
    }
}
