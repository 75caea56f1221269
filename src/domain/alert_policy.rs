//! Which matching trigger becomes an alert, and what an alert (or a skipped one) leaves behind:
//! the per-(mint, trigger) cooldown in wall-clock time and in chain time, and the HOT state.
//!
//! The live detector keeps this state in Redis (`pw:cd:…` for the wall-clock cooldown, `pw:last:…`
//! for the chain-time one, `pw:hot`) and applies [`AlertPolicy::claim`]'s rule atomically in the
//! claim script (`store/redis/alert_claim.rs`); the backtest keeps it in memory. Both choose the
//! trigger with [`AlertPolicy::select`] and apply the same rules, so a replay of the same swaps
//! raises the same alerts.
//!
//! The rules:
//! 1. Triggers are looked at in evaluation order (every 5-minute trigger in file order, then every
//!    1-hour one); the first that matches and whose wall-clock cooldown is not running is chosen.
//!    A matching trigger that cools down does not hide the ones after it.
//! 2. The claim refuses when the chain clock has not moved a full cooldown past the last alert of
//!    that (mint, trigger) (a frozen clock after a restart or stall must not re-send an alert), or
//!    when the wall-clock cooldown started meanwhile. A refusal does not fall through to the next
//!    trigger: that mint waits for its next evaluation.
//! 3. A granted claim starts both cooldowns (`cooldown_secs`, at least one second) and makes the
//!    mint HOT until `hot_ttl_secs` after the decision (never shortening a later HOT period).
//! 4. HOT never suppresses an alert: it is the token's state for operators (status, profiles).
//! 5. A match skipped for its market cap blocks that (mint, trigger) for
//!    [`MCAP_RECHECK_SECS`] of wall-clock time, unless a cooldown already runs.

/// A match skipped for its market cap is looked at again after this long (wall clock).
pub const MCAP_RECHECK_SECS: u64 = 60;

/// The cooldown and HOT durations (`[detect] cooldown_secs`, `hot_ttl_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPolicy {
    pub cooldown_secs: u64,
    pub hot_ttl_secs: u64,
}

/// What one (mint, trigger) remembers between evaluations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cooldown {
    /// Unix ms at which the wall-clock cooldown ends; None when none runs (the `pw:cd` key's
    /// expiry).
    pub wall_until_ms: Option<i64>,
    /// Block time (unix seconds) of the chain clock at the last alert (`pw:last`).
    pub last_alert_chain: Option<i64>,
}

impl Cooldown {
    /// The state Redis reports for a `pw:cd` key: `PTTL` in ms (-2: no key, -1: no expiry).
    pub fn from_pttl(wall_now_ms: i64, pttl_ms: i64) -> Cooldown {
        Cooldown {
            wall_until_ms: match pttl_ms {
                -2 => None,
                ms if ms < 0 => Some(i64::MAX),
                ms => Some(wall_now_ms.saturating_add(ms)),
            },
            last_alert_chain: None,
        }
    }

    /// Whether the wall-clock cooldown runs at `wall_now_ms`.
    pub fn wall_cooling(&self, wall_now_ms: i64) -> bool {
        self.wall_until_ms.is_some_and(|until| wall_now_ms < until)
    }
}

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The alert is sent; the (mint, trigger) now has this cooldown and the mint is HOT until
    /// `hot_until_ms`.
    Granted {
        cooldown: Cooldown,
        hot_until_ms: i64,
    },
    /// Cooling down (in wall-clock or chain time): no alert, nothing changes.
    Refused,
}

impl AlertPolicy {
    /// The cooldown as both clocks apply it (the claim script uses at least one second too).
    pub fn cooldown_secs(&self) -> i64 {
        self.cooldown_secs.max(1) as i64
    }

    /// Rule 1: the position in `matching` (in evaluation order) of the trigger to alert on, given
    /// each one's cooldown; None when every match cools down.
    pub fn select(&self, cooldowns: &[Cooldown], wall_now_ms: i64) -> Option<usize> {
        cooldowns.iter().position(|c| !c.wall_cooling(wall_now_ms))
    }

    /// Rules 2 and 3: whether an alert decided at `wall_now_ms` with the windows evaluated at
    /// chain time `chain_now` is sent, and the state it leaves.
    pub fn claim(&self, current: &Cooldown, wall_now_ms: i64, chain_now: i64) -> Claim {
        let secs = self.cooldown_secs();
        if current
            .last_alert_chain
            .is_some_and(|last| chain_now < last.saturating_add(secs))
        {
            return Claim::Refused;
        }
        if current.wall_cooling(wall_now_ms) {
            return Claim::Refused;
        }
        Claim::Granted {
            cooldown: Cooldown {
                wall_until_ms: Some(wall_now_ms.saturating_add(secs * 1000)),
                last_alert_chain: Some(chain_now),
            },
            hot_until_ms: self.hot_until_ms(wall_now_ms),
        }
    }

    /// Rule 5: the state after a match was skipped for its market cap at `wall_now_ms`.
    pub fn skipped_for_mcap(&self, current: &Cooldown, wall_now_ms: i64) -> Cooldown {
        if current.wall_cooling(wall_now_ms) {
            return *current;
        }
        Cooldown {
            wall_until_ms: Some(wall_now_ms.saturating_add(MCAP_RECHECK_SECS as i64 * 1000)),
            ..*current
        }
    }

    /// Rule 3: HOT until this many unix ms after an alert decided at `decided_ms`.
    pub fn hot_until_ms(&self, decided_ms: i64) -> i64 {
        decided_ms.saturating_add(self.hot_ttl_secs as i64 * 1000)
    }

    /// Rule 3: a new HOT period never shortens a later one (`ZADD GT`).
    pub fn hot_after(previous_until_ms: Option<i64>, new_until_ms: i64) -> i64 {
        previous_until_ms.map_or(new_until_ms, |p| p.max(new_until_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: AlertPolicy = AlertPolicy {
        cooldown_secs: 1800,
        hot_ttl_secs: 3600,
    };

    fn cooling_until(ms: i64) -> Cooldown {
        Cooldown {
            wall_until_ms: Some(ms),
            last_alert_chain: None,
        }
    }

    #[test]
    fn the_first_match_not_cooling_in_wall_time_is_chosen() {
        let free = Cooldown::default();
        assert_eq!(POLICY.select(&[free, free], 0), Some(0));
        assert_eq!(
            POLICY.select(&[cooling_until(10), free, free], 5),
            Some(1),
            "a cooling trigger does not hide the next one"
        );
        assert_eq!(
            POLICY.select(&[cooling_until(10), cooling_until(10)], 9),
            None
        );
        assert_eq!(
            POLICY.select(&[cooling_until(10)], 10),
            Some(0),
            "the key expires at its instant"
        );
        assert_eq!(POLICY.select(&[], 0), None);
    }

    #[test]
    fn a_claim_needs_both_clocks_past_the_cooldown() {
        let granted = POLICY.claim(&Cooldown::default(), 1_000, 500);
        assert_eq!(
            granted,
            Claim::Granted {
                cooldown: Cooldown {
                    wall_until_ms: Some(1_000 + 1_800_000),
                    last_alert_chain: Some(500),
                },
                hot_until_ms: 1_000 + 3_600_000,
            }
        );
        let Claim::Granted { cooldown, .. } = granted else {
            unreachable!()
        };
        // Wall clock past, chain clock frozen (a restart or a stalled feed): refused.
        assert_eq!(POLICY.claim(&cooldown, 10_000_000, 500), Claim::Refused);
        assert_eq!(POLICY.claim(&cooldown, 10_000_000, 2_299), Claim::Refused);
        assert!(matches!(
            POLICY.claim(&cooldown, 10_000_000, 2_300),
            Claim::Granted { .. }
        ));
        // Chain clock past, wall clock not (an accelerated replay): refused.
        assert_eq!(POLICY.claim(&cooldown, 1_000_000, 9_999), Claim::Refused);
    }

    #[test]
    fn a_zero_cooldown_still_lasts_one_second() {
        let p = AlertPolicy {
            cooldown_secs: 0,
            hot_ttl_secs: 0,
        };
        let Claim::Granted { cooldown, .. } = p.claim(&Cooldown::default(), 0, 100) else {
            panic!("granted")
        };
        assert_eq!(cooldown.wall_until_ms, Some(1_000));
        assert_eq!(p.claim(&cooldown, 2_000, 100), Claim::Refused);
        assert!(matches!(
            p.claim(&cooldown, 2_000, 101),
            Claim::Granted { .. }
        ));
    }

    #[test]
    fn a_market_cap_skip_blocks_for_a_minute_unless_a_cooldown_runs() {
        let skipped = POLICY.skipped_for_mcap(&Cooldown::default(), 1_000);
        assert_eq!(skipped.wall_until_ms, Some(61_000));
        assert!(skipped.wall_cooling(60_999) && !skipped.wall_cooling(61_000));
        let running = cooling_until(5_000_000);
        assert_eq!(POLICY.skipped_for_mcap(&running, 1_000), running);
        let last = Cooldown {
            wall_until_ms: Some(10),
            last_alert_chain: Some(7),
        };
        assert_eq!(
            POLICY.skipped_for_mcap(&last, 1_000).last_alert_chain,
            Some(7),
            "the chain-time cooldown is kept"
        );
    }

    #[test]
    fn hot_periods_only_grow() {
        assert_eq!(POLICY.hot_until_ms(1_000), 3_601_000);
        assert_eq!(AlertPolicy::hot_after(None, 5), 5);
        assert_eq!(AlertPolicy::hot_after(Some(9), 5), 9);
        assert_eq!(AlertPolicy::hot_after(Some(3), 5), 5);
    }

    #[test]
    fn redis_pttl_replies_map_to_cooldowns() {
        assert_eq!(Cooldown::from_pttl(100, -2).wall_until_ms, None);
        assert_eq!(Cooldown::from_pttl(100, -1).wall_until_ms, Some(i64::MAX));
        assert_eq!(Cooldown::from_pttl(100, 50).wall_until_ms, Some(150));
        assert!(Cooldown::from_pttl(100, 50).wall_cooling(149));
    }
}
