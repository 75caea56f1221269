//! The freshness bound (`alerts.max_delivery_delay_secs`), as pure rules: when would sending the
//! waiting alerts one message each deliver one of them too late, and what a digest that replaces
//! them shows. An alert minutes late is worthless to a trader; a digest of what happened,
//! delivered now, is not — and every alert stays in the outbox, marked coalesced into it.

use std::collections::HashMap;
use std::time::Duration;

/// Most alerts a digest lists one by one; the rest are counted.
pub const DIGEST_SHOWN: usize = 15;
/// Most alerts listed under one trigger (the trigger's count covers the others).
pub const DIGEST_SHOWN_PER_TRIGGER: usize = 5;

/// Whether the waiting alerts, in sending order, must go out as one digest now: true when
/// sending them one per `interval` (the channel's pace; the first goes now) would deliver one of
/// them — other than the first, which goes now either way — more than `bound` after it was
/// decided, counting `send_time` for the request itself. `ages` are the waiting alerts' ages
/// now, in the order the channel would send them.
pub fn must_coalesce(
    ages: &[Duration],
    interval: Duration,
    bound: Duration,
    send_time: Duration,
) -> bool {
    ages.iter()
        .enumerate()
        .skip(1)
        .any(|(k, age)| *age + interval.saturating_mul(k as u32) + send_time > bound)
}

/// How many waiting alerts are enough to decide: past `bound / interval + 1` alerts the last one
/// is late whatever their ages, so the sender never needs to read more of the queue than this.
pub fn lookahead(interval: Duration, bound: Duration) -> usize {
    let per = interval.as_secs_f64().max(1e-3);
    (bound.as_secs_f64() / per).ceil() as usize + 2
}

/// One alert in a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestEntry {
    pub alert_id: i64,
    pub mint: String,
    pub symbol: Option<String>,
    pub trigger: String,
    /// When the alert was decided (Unix ms).
    pub created_at_ms: i64,
}

/// One trigger's part of a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerGroup {
    pub trigger: String,
    /// Alerts of this trigger in the digest.
    pub count: usize,
    /// The newest of them, newest first, at most [`DIGEST_SHOWN_PER_TRIGGER`].
    pub shown: Vec<DigestEntry>,
}

/// What a digest message says: the triggers by how many alerts they raised (most first), their
/// newest alerts, and how many are only counted.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSummary {
    pub total: usize,
    pub groups: Vec<TriggerGroup>,
    /// Alerts counted but not listed.
    pub not_shown: usize,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

impl DigestSummary {
    pub fn of(entries: &[DigestEntry]) -> Self {
        let mut by_trigger: HashMap<&str, Vec<&DigestEntry>> = HashMap::new();
        for e in entries {
            by_trigger.entry(e.trigger.as_str()).or_default().push(e);
        }
        let mut groups: Vec<(&str, Vec<&DigestEntry>)> = by_trigger.into_iter().collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        let mut budget = DIGEST_SHOWN;
        let mut shown_total = 0;
        let groups: Vec<TriggerGroup> = groups
            .into_iter()
            .map(|(trigger, mut list)| {
                list.sort_by(|a, b| {
                    b.created_at_ms
                        .cmp(&a.created_at_ms)
                        .then(b.alert_id.cmp(&a.alert_id))
                });
                let take = list.len().min(DIGEST_SHOWN_PER_TRIGGER).min(budget);
                budget -= take;
                shown_total += take;
                TriggerGroup {
                    trigger: trigger.to_string(),
                    count: list.len(),
                    shown: list.into_iter().take(take).cloned().collect(),
                }
            })
            .collect();
        DigestSummary {
            total: entries.len(),
            groups,
            not_shown: entries.len() - shown_total,
            oldest_ms: entries.iter().map(|e| e.created_at_ms).min().unwrap_or(0),
            newest_ms: entries.iter().map(|e| e.created_at_ms).max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_queue_that_the_pace_delivers_in_time_is_sent_one_by_one() {
        let ages = [s(10.0), s(5.0), s(0.0)];
        assert!(!must_coalesce(&ages, s(2.0), s(300.0), s(0.5)));
        // A lone alert goes as itself, however old.
        assert!(!must_coalesce(&[s(900.0)], s(2.0), s(300.0), s(0.5)));
        assert!(!must_coalesce(&[], s(2.0), s(300.0), s(0.5)));
    }

    #[test]
    fn the_alert_the_pace_would_deliver_late_makes_a_digest() {
        // 151 fresh alerts at 2 s each: the last would go 300 s from now, + the send is late.
        let ages = vec![s(0.0); 151];
        assert!(must_coalesce(&ages, s(2.0), s(300.0), s(0.5)));
        assert!(!must_coalesce(&ages[..150], s(2.0), s(300.0), s(0.5)));
        // The second alert is already 299 s old: two seconds more is late.
        assert!(must_coalesce(&[s(0.0), s(299.0)], s(2.0), s(300.0), s(0.0)));
        assert!(!must_coalesce(
            &[s(0.0), s(297.0)],
            s(2.0),
            s(300.0),
            s(0.0)
        ));
    }

    #[test]
    fn lookahead_covers_every_alert_that_could_still_be_on_time() {
        let (interval, bound) = (s(2.0), s(300.0));
        let n = lookahead(interval, bound);
        assert!(must_coalesce(
            &vec![s(0.0); n],
            interval,
            bound,
            Duration::ZERO
        ));
    }

    fn entry(id: i64, trigger: &str, at: i64) -> DigestEntry {
        DigestEntry {
            alert_id: id,
            mint: format!("Mint{id}"),
            symbol: Some(format!("S{id}")),
            trigger: trigger.into(),
            created_at_ms: at,
        }
    }

    #[test]
    fn a_digest_lists_triggers_by_count_their_newest_alerts_and_counts_the_rest() {
        let mut entries = Vec::new();
        for i in 0..12 {
            entries.push(entry(i, "whale", 1_000 + i));
        }
        for i in 12..20 {
            entries.push(entry(i, "stealth", 1_000 + i));
        }
        entries.push(entry(20, "cabal", 500));
        let d = DigestSummary::of(&entries);
        assert_eq!(d.total, 21);
        let names: Vec<&str> = d.groups.iter().map(|g| g.trigger.as_str()).collect();
        assert_eq!(names, vec!["whale", "stealth", "cabal"]);
        assert_eq!(d.groups[0].count, 12);
        assert_eq!(
            d.groups[0]
                .shown
                .iter()
                .map(|e| e.alert_id)
                .collect::<Vec<_>>(),
            vec![11, 10, 9, 8, 7]
        );
        assert_eq!(d.groups[1].shown.len(), 5);
        assert_eq!(d.groups[2].shown.len(), 1);
        assert_eq!(d.not_shown, 21 - 11);
        assert_eq!((d.oldest_ms, d.newest_ms), (500, 1_019));
    }

    #[test]
    fn a_digest_lists_at_most_its_budget() {
        let entries: Vec<DigestEntry> = (0..40)
            .map(|i| entry(i, &format!("t{}", i % 8), i))
            .collect();
        let d = DigestSummary::of(&entries);
        let shown: usize = d.groups.iter().map(|g| g.shown.len()).sum();
        assert_eq!(shown, DIGEST_SHOWN);
        assert_eq!(d.not_shown, 40 - DIGEST_SHOWN);
        assert_eq!(d.groups.iter().map(|g| g.count).sum::<usize>(), 40);
    }
}
