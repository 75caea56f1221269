//! When a wallet counts as "new" for `new_wallet_pct`: the one definition the live window read
//! (`store/redis/windows.lua`, over the daily `pw:fs:{day}` sets) and the backtest's in-memory
//! windows both follow.
//!
//! The record: for each UTC day, the earliest block time the wallet traded that day (any mint,
//! buy or sell), as each committed batch writes it (`ZADD LT` of the batch's earliest time into
//! that time's day). Only the last [`FIRST_SEEN_DAYS`] days up to the evaluation's day are
//! consulted. A buyer is new in a window starting at `window_start` unless one of those days
//! records it before `window_start`.

/// Daily first-seen records consulted (the sets live this many days).
pub const FIRST_SEEN_DAYS: i64 = 8;

/// The UTC day of a unix time (`pw:fs:{day}`).
pub fn day_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(86_400)
}

/// The day of the evaluation at minute `now_minute` (the window's last minute).
pub fn today(now_minute: i64) -> i64 {
    now_minute.div_euclid(1_440)
}

/// Whether a wallet whose daily records are `(day, earliest block time)` is new in a window
/// starting at `window_start` (unix seconds), evaluated on day `today`.
pub fn is_new(
    records: impl IntoIterator<Item = (i64, i64)>,
    window_start: i64,
    today: i64,
) -> bool {
    !records
        .into_iter()
        .any(|(day, t)| day > today - FIRST_SEEN_DAYS && day <= today && t < window_start)
}

/// One wallet's daily records, kept as the commit keeps them: the earliest time per day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstSeen {
    days: Vec<(i64, i64)>,
}

impl FirstSeen {
    /// Records a batch's earliest trade time `t` of this wallet (`ZADD LT` into `day_of(t)`).
    pub fn record(&mut self, t: i64) {
        let day = day_of(t);
        match self.days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, earliest)) => *earliest = (*earliest).min(t),
            None => self.days.push((day, t)),
        }
    }

    /// Forgets days that no evaluation on `today` or later consults.
    pub fn forget_before(&mut self, today: i64) {
        self.days.retain(|(d, _)| *d > today - FIRST_SEEN_DAYS);
    }

    pub fn is_new(&self, window_start: i64, today: i64) -> bool {
        is_new(self.days.iter().copied(), window_start, today)
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_wallet_is_new_unless_recorded_before_the_window_within_eight_days() {
        let today = 20_000;
        let start = today * DAY + 3_600;
        assert!(is_new([], start, today), "never seen");
        assert!(
            is_new([(today, start)], start, today),
            "first seen at the start"
        );
        assert!(!is_new([(today, start - 1)], start, today));
        assert!(!is_new([(today - 7, today * DAY - 7 * DAY)], start, today));
        assert!(
            is_new([(today - 8, today * DAY - 8 * DAY)], start, today),
            "older days are not consulted"
        );
        assert!(
            is_new([(today + 1, start - 10)], start, today),
            "a later day's set is not consulted"
        );
    }

    #[test]
    fn records_keep_the_earliest_time_per_day_and_forget_old_days() {
        let mut f = FirstSeen::default();
        f.record(10 * DAY + 500);
        f.record(10 * DAY + 100);
        f.record(11 * DAY + 50);
        assert!(!f.is_new(10 * DAY + 101, 11));
        assert!(f.is_new(10 * DAY + 100, 11));
        f.forget_before(18);
        assert!(!f.is_empty(), "day 11 is still consulted on day 18");
        assert!(f.is_new(10 * DAY + 101, 18), "day 10 is not");
        f.forget_before(19);
        assert!(f.is_empty());
    }

    #[test]
    fn days_and_today_follow_utc() {
        assert_eq!(day_of(DAY - 1), 0);
        assert_eq!(day_of(DAY), 1);
        assert_eq!(day_of(-1), -1);
        assert_eq!(today(1_439), 0);
        assert_eq!(today(1_440), 1);
    }
}
