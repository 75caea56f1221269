//! What to do after an attempt: the retry policy as a pure function of the outcome, the attempt
//! number and a jitter draw.
//!
//! - 5xx, timeouts, network errors: retry after `retry_initial_ms · 2^(attempt−1)`, capped at
//!   `retry_max_secs`, plus up to 25 % jitter (never below the un-jittered delay, never above the
//!   cap); failed for good after `max_attempts` attempts.
//! - 429: retry exactly after the service's `retry_after`. A rate limit is the service pacing us,
//!   not the message failing, so it does not use up the `max_attempts` budget — but it is bounded
//!   too (the reference retried for ever, defect 55): after `RATE_LIMITED_ATTEMPTS_FACTOR ×
//!   max_attempts` attempts in all, a 429 fails the delivery.
//! - any other 4xx: failed at once, with the response.

use std::time::Duration;

use super::channel::Outcome;
use crate::config::AlertsConfig;

/// A 429 fails a delivery only once this many times `max_attempts` attempts were made.
pub const RATE_LIMITED_ATTEMPTS_FACTOR: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl RetryPolicy {
    pub fn from_config(config: &AlertsConfig) -> Self {
        RetryPolicy {
            initial: Duration::from_millis(config.retry_initial_ms.max(1)),
            max: Duration::from_secs(config.retry_max_secs.max(1)),
            max_attempts: config.max_attempts.max(1),
        }
    }

    /// The delay after the `attempt`-th attempt (1-based) failed transiently; `jitter` in [0, 1).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(40);
        let base = self
            .initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max);
        let extra = base.mul_f64(0.25 * jitter.clamp(0.0, 1.0));
        (base + extra).min(self.max.max(base))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Sent,
    RetryAfter(Duration),
    Fail,
}

/// What follows the `attempt`-th attempt (1-based) that ended with `outcome`.
pub fn decide(outcome: &Outcome, attempt: u32, policy: &RetryPolicy, jitter: f64) -> Decision {
    match outcome {
        Outcome::Sent => Decision::Sent,
        Outcome::Permanent { .. } => Decision::Fail,
        Outcome::Transient { .. } => {
            if attempt >= policy.max_attempts {
                Decision::Fail
            } else {
                Decision::RetryAfter(policy.backoff(attempt, jitter))
            }
        }
        Outcome::RateLimited { retry_after, .. } => {
            if attempt
                >= policy
                    .max_attempts
                    .saturating_mul(RATE_LIMITED_ATTEMPTS_FACTOR)
            {
                Decision::Fail
            } else {
                Decision::RetryAfter(*retry_after)
            }
        }
    }
}

/// A draw in [0, 1) for jitter, from the standard library's randomly keyed hasher.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let n = RandomState::new().hash_one(std::time::Instant::now());
    (n >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::channel::RetryReason;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1000),
            max: Duration::from_secs(300),
            max_attempts: 5,
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let p = policy();
        let table = [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (4, 8_000),
            (9, 256_000),
            (10, 300_000),
            (60, 300_000),
        ];
        for (attempt, ms) in table {
            assert_eq!(
                p.backoff(attempt, 0.0),
                Duration::from_millis(ms),
                "attempt {attempt}"
            );
            let high = p.backoff(attempt, 0.999);
            assert!(high >= Duration::from_millis(ms), "attempt {attempt}");
            assert!(
                high <= Duration::from_millis(ms).mul_f64(1.25).min(p.max),
                "attempt {attempt}: {high:?}"
            );
        }
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn decisions() {
        let p = policy();
        let transient = Outcome::Transient {
            reason: RetryReason::ServerError,
            error: "HTTP 500".into(),
        };
        let limited = Outcome::RateLimited {
            retry_after: Duration::from_millis(1500),
            error: "HTTP 429".into(),
        };
        let permanent = Outcome::Permanent {
            error: "HTTP 400".into(),
        };
        assert_eq!(decide(&Outcome::Sent, 1, &p, 0.5), Decision::Sent);
        assert_eq!(decide(&permanent, 1, &p, 0.5), Decision::Fail);
        assert_eq!(
            decide(&transient, 1, &p, 0.0),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&transient, 4, &p, 0.0),
            Decision::RetryAfter(Duration::from_secs(8))
        );
        assert_eq!(decide(&transient, 5, &p, 0.0), Decision::Fail);
        // A rate limit waits exactly as told and outlasts max_attempts, up to twice it.
        assert_eq!(
            decide(&limited, 5, &p, 0.9),
            Decision::RetryAfter(Duration::from_millis(1500))
        );
        assert_eq!(
            decide(&limited, 9, &p, 0.9),
            Decision::RetryAfter(Duration::from_millis(1500))
        );
        assert_eq!(decide(&limited, 10, &p, 0.9), Decision::Fail);
    }
}
