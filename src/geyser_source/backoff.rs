//! Exponential reconnect backoff with jitter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Delays `initial × 2^failures`, capped at `max`, each scaled by a random factor in
/// [0.8, 1.2] (and still capped), so that many clients cut at once do not return at once.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::with_seed(initial, max, seed)
    }

    pub(crate) fn with_seed(initial: Duration, max: Duration, seed: u64) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
            rng: seed,
        }
    }

    /// The delay before the next attempt; each call counts one more failure in a row.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        let base = self.initial.saturating_mul(factor).min(self.max);
        self.failures = self.failures.saturating_add(1);
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(0.8 + 0.4 * unit)
            .min(self.max)
            .max(Duration::from_millis(1))
    }

    /// After a healthy connection: the next failure waits `initial` again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        // (failure in a row, lower bound, upper bound) for initial 100 ms, max 1 s.
        let table = [
            (0, 80, 120),
            (1, 160, 240),
            (2, 320, 480),
            (3, 640, 960),
            (4, 800, 1000),
            (5, 800, 1000),
            (40, 800, 1000),
        ];
        for seed in 0..50 {
            let mut b = Backoff::with_seed(ms(100), ms(1000), seed);
            let delays: Vec<Duration> = (0..=40).map(|_| b.next_delay()).collect();
            for (i, lo, hi) in table {
                let d = delays[i];
                assert!(d >= ms(lo) && d <= ms(hi), "seed {seed} failure {i}: {d:?}");
            }
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::with_seed(ms(100), ms(1000), 7);
        for _ in 0..5 {
            b.next_delay();
        }
        assert_eq!(b.failures(), 5);
        b.reset();
        assert!(b.next_delay() <= ms(120));
    }

    #[test]
    fn jitter_varies() {
        let mut b = Backoff::with_seed(ms(1000), ms(1000), 3);
        let delays: std::collections::HashSet<Duration> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.len() > 10);
    }
}
