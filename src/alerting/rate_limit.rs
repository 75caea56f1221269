//! A sliding-window rate limit per channel: at most `limit` requests in any `window`. A message
//! over the limit waits in the outbox for the next free slot; nothing is dropped (the reference
//! skipped alerts over its fixed per-minute window).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
    /// Set by a 429: nothing is sent before this.
    paused_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit: limit.max(1) as usize,
            window,
            sent: VecDeque::new(),
            paused_until: None,
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.sent.pop_front();
        }
    }

    /// When the next request may go: None = now.
    pub fn next_slot(&mut self, now: Instant) -> Option<Instant> {
        self.forget_old(now);
        let by_window = (self.sent.len() >= self.limit)
            .then(|| self.sent[self.sent.len() - self.limit] + self.window);
        let by_pause = self.paused_until.filter(|p| *p > now);
        match (by_window, by_pause) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counts a request made at `now` (whatever its answer: the service counts it too).
    pub fn record(&mut self, now: Instant) {
        self.forget_old(now);
        self.sent.push_back(now);
    }

    /// The service said to wait until `until` (a 429): the whole channel waits.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_request_in_a_window_of_two_waits_for_the_first_to_age_out() {
        let t0 = Instant::now();
        let w = Duration::from_secs(60);
        let mut l = RateLimiter::new(2, w);
        assert_eq!(l.next_slot(t0), None);
        l.record(t0);
        assert_eq!(l.next_slot(t0 + Duration::from_secs(1)), None);
        l.record(t0 + Duration::from_secs(10));
        assert_eq!(l.next_slot(t0 + Duration::from_secs(11)), Some(t0 + w));
        assert_eq!(l.next_slot(t0 + w), None);
        l.record(t0 + w);
        assert_eq!(l.next_slot(t0 + w), Some(t0 + Duration::from_secs(10) + w));
    }

    #[test]
    fn a_pause_holds_the_channel() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(30, Duration::from_secs(60));
        l.pause_until(t0 + Duration::from_millis(1500));
        assert_eq!(l.next_slot(t0), Some(t0 + Duration::from_millis(1500)));
        assert_eq!(l.next_slot(t0 + Duration::from_secs(2)), None);
    }
}
