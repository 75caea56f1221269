//! A rate over a sliding window of counter samples: what `tx_per_second` means in live stats (the
//! reference divided a lifetime total by uptime, so a stalled process still showed its average).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The change of a monotonic total per second over the last `window`.
#[derive(Debug, Clone)]
pub struct WindowRate {
    window: Duration,
    /// Oldest first; the front is the newest sample at or before the window's start, if any.
    samples: VecDeque<(Instant, u64)>,
}

impl WindowRate {
    pub fn new(window: Duration) -> Self {
        WindowRate {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Records the total at `at`. A total below the previous one (a restarted source) starts the
    /// window over.
    pub fn observe(&mut self, at: Instant, total: u64) {
        if self.samples.back().is_some_and(|&(_, last)| total < last) {
            self.samples.clear();
        }
        self.samples.push_back((at, total));
        let start = at.checked_sub(self.window);
        while let (Some(start), Some(&(second, _))) = (start, self.samples.get(1)) {
            if second > start {
                break;
            }
            self.samples.pop_front();
        }
    }

    /// Per second, between the window's base sample and the newest one; 0 until two samples
    /// exist. Shorter than `window` only while the process is younger than that.
    pub fn per_second(&self) -> f64 {
        let (Some(&(t0, c0)), Some(&(t1, c1))) = (self.samples.front(), self.samples.back()) else {
            return 0.0;
        };
        let span = t1.saturating_duration_since(t0).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        (c1 - c0) as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_steady_flow_gives_its_rate() {
        let t0 = Instant::now();
        let mut r = WindowRate::new(secs(60));
        for i in 0..=40 {
            r.observe(t0 + secs(5 * i), 500 * i);
        }
        assert!((r.per_second() - 100.0).abs() < 1e-9, "{}", r.per_second());
    }

    #[test]
    fn a_burst_leaves_the_rate_after_the_window_unlike_a_lifetime_average() {
        let t0 = Instant::now();
        let mut r = WindowRate::new(secs(60));
        r.observe(t0, 0);
        r.observe(t0 + secs(5), 6_000);
        assert!((r.per_second() - 1_200.0).abs() < 1e-9);
        // Nothing more for a minute: the lifetime average would still be 6000/70 ≈ 86 tx/s.
        for i in 2..=14 {
            r.observe(t0 + secs(5 * i), 6_000);
        }
        assert_eq!(r.per_second(), 0.0);
    }

    #[test]
    fn the_window_is_sixty_seconds_wide() {
        let t0 = Instant::now();
        let mut r = WindowRate::new(secs(60));
        // 10/s for the first 100 s, then 40/s.
        let mut total = 0;
        for i in 0..=40 {
            let t = 5 * i;
            r.observe(t0 + secs(t), total);
            total += if t < 100 { 50 } else { 200 };
        }
        // At t = 200 s the last 60 s ran at 40/s.
        assert!((r.per_second() - 40.0).abs() < 1e-9, "{}", r.per_second());
    }

    #[test]
    fn young_processes_use_what_they_have_and_one_sample_is_no_rate() {
        let t0 = Instant::now();
        let mut r = WindowRate::new(secs(60));
        assert_eq!(r.per_second(), 0.0);
        r.observe(t0, 100);
        assert_eq!(r.per_second(), 0.0);
        r.observe(t0 + secs(10), 300);
        assert!((r.per_second() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_reset_total_starts_over_instead_of_going_negative() {
        let t0 = Instant::now();
        let mut r = WindowRate::new(secs(60));
        r.observe(t0, 1_000);
        r.observe(t0 + secs(5), 2_000);
        r.observe(t0 + secs(10), 50);
        assert_eq!(r.per_second(), 0.0);
        r.observe(t0 + secs(15), 100);
        assert!((r.per_second() - 10.0).abs() < 1e-9);
    }
}
