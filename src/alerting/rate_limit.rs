//! A sliding-window rate limit per channel: at most `limit` requests in any `window`, paced at
//! one per `window / limit` (the channel's interval). A message over the limit waits in the
//! outbox for the next free slot; nothing is dropped (the reference skipped alerts over its fixed
//! per-minute window).
//!
//! Why paced rather than bursting the whole window's allowance: a burst of `limit` messages
//! closes the channel for a whole window, so an alert arriving just after it waits a window; paced,
//! the next slot is never more than one interval away, which is what lets the freshness bound
//! (`alerts.max_delivery_delay_secs`) promise "the bound plus one interval".

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    interval: Duration,
    sent: VecDeque<Instant>,
    /// Set by a 429: nothing is sent before this.
    paused_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit: limit.max(1) as usize,
            window,
            interval: window / limit.max(1),
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
        let by_pace = self
            .sent
            .back()
            .map(|last| *last + self.interval)
            .filter(|at| *at > now);
        let by_window = match (by_window, by_pace) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let by_pause = self.paused_until.filter(|p| *p > now);
        match (by_window, by_pause) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The pace: one request per this long (`window / limit`).
    pub fn interval(&self) -> Duration {
        self.interval
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
        assert_eq!(l.interval(), Duration::from_secs(30));
        assert_eq!(l.next_slot(t0), None);
        l.record(t0);
        assert_eq!(l.next_slot(t0 + Duration::from_secs(30)), None);
        l.record(t0 + Duration::from_secs(40));
        assert_eq!(
            l.next_slot(t0 + Duration::from_secs(41)),
            Some(t0 + w + Duration::from_secs(10))
        );
        l.record(t0 + Duration::from_secs(70));
        assert_eq!(
            l.next_slot(t0 + Duration::from_secs(71)),
            Some(t0 + Duration::from_secs(100))
        );
    }

    #[test]
    fn requests_are_paced_one_interval_apart() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(30, Duration::from_secs(60));
        l.record(t0);
        assert_eq!(l.next_slot(t0), Some(t0 + Duration::from_secs(2)));
        assert_eq!(l.next_slot(t0 + Duration::from_secs(2)), None);
        // Paced, the window never binds: 30 requests span 58 s.
        for i in 1..30 {
            let at = t0 + Duration::from_secs(2 * i);
            assert_eq!(l.next_slot(at), None, "request {i}");
            l.record(at);
        }
        assert_eq!(
            l.next_slot(t0 + Duration::from_secs(58)),
            Some(t0 + Duration::from_secs(60))
        );
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
