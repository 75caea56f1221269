//! What a token did after an alert, and how alerts are scored: the horizons, the run-up and
//! drawdown arithmetic, hit rates and the track-record line of a message.

/// Seconds after the alert of each price point: at the alert, 5 m, 15 m, 1 h, 6 h, 24 h.
pub const HORIZONS: [i64; 6] = [0, 300, 900, 3_600, 21_600, 86_400];
/// Names of the points, for tables and JSON.
pub const HORIZON_NAMES: [&str; 6] = ["0", "5m", "15m", "1h", "6h", "24h"];
/// Points filled once the 1-hour horizon is reached / the 24-hour one.
pub const POINTS_1H: usize = 4;
pub const POINTS_24H: usize = 6;

/// How many points of an alert at `alert_time` are due when the stored swaps reach `chain_now`,
/// waiting `settle_secs` past each point for swaps still on their way.
pub fn points_reached(alert_time: i64, chain_now: i64, settle_secs: i64) -> usize {
    HORIZONS
        .iter()
        .take_while(|h| alert_time + **h + settle_secs <= chain_now)
        .count()
}

/// What the database computes for an alert (every point, reached or not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Raw {
    /// The last priced trade at or before each point (SOL per whole token).
    pub prices: [Option<f64>; 6],
    /// Highest and lowest trade price after the alert, within 1 h and 24 h (None: no trade).
    pub high_low_1h: (Option<f64>, Option<f64>),
    pub high_low_24h: (Option<f64>, Option<f64>),
    /// Buy and sell volume (SOL) after the alert.
    pub volume_1h: (f64, f64),
    pub volume_24h: (f64, f64),
    pub trades_24h: u32,
    pub last_trade_time: Option<i64>,
    /// No trade in the last 6 hours of the 24-hour horizon.
    pub no_late_trades: bool,
}

/// An alert's outcome with the points reached so far (later fields are None until reached).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Points filled in (0–6).
    pub points: usize,
    pub prices: [Option<f64>; 6],
    /// Largest rise above / fall below the alert price, as a fraction (1.0 = +100 %, i.e. 2×);
    /// 0 when the mint did not trade in the period.
    pub runup_1h: Option<f64>,
    pub drawdown_1h: Option<f64>,
    pub runup_24h: Option<f64>,
    pub drawdown_24h: Option<f64>,
    pub buy_volume_1h: Option<f64>,
    pub sell_volume_1h: Option<f64>,
    pub buy_volume_24h: Option<f64>,
    pub sell_volume_24h: Option<f64>,
    pub trades_24h: Option<u32>,
    pub last_trade_time: Option<i64>,
    pub stopped_trading: Option<bool>,
}

/// The rise of `high` above `base` and the fall of `low` below it, as fractions; 0 when there was
/// no trade; None without a base price.
fn excursion(
    base: Option<f64>,
    (high, low): (Option<f64>, Option<f64>),
) -> (Option<f64>, Option<f64>) {
    match base {
        Some(b) if b > 0.0 => (
            Some(high.map_or(0.0, |h| (h / b - 1.0).max(0.0))),
            Some(low.map_or(0.0, |l| (l / b - 1.0).min(0.0))),
        ),
        _ => (None, None),
    }
}

impl Outcome {
    /// The outcome of `raw` with its first `points` points.
    pub fn from_raw(raw: &Raw, points: usize) -> Outcome {
        let points = points.min(6);
        let mut prices = [None; 6];
        prices[..points].copy_from_slice(&raw.prices[..points]);
        let mut o = Outcome {
            points,
            prices,
            ..Outcome::default()
        };
        if points >= POINTS_1H {
            (o.runup_1h, o.drawdown_1h) = excursion(raw.prices[0], raw.high_low_1h);
            o.buy_volume_1h = Some(raw.volume_1h.0);
            o.sell_volume_1h = Some(raw.volume_1h.1);
        }
        if points >= POINTS_24H {
            (o.runup_24h, o.drawdown_24h) = excursion(raw.prices[0], raw.high_low_24h);
            o.buy_volume_24h = Some(raw.volume_24h.0);
            o.sell_volume_24h = Some(raw.volume_24h.1);
            o.trades_24h = Some(raw.trades_24h);
            o.last_trade_time = raw.last_trade_time;
            o.stopped_trading = Some(raw.no_late_trades);
        }
        o
    }
}

/// The value at quantile `q` (0–1) of `values` (nearest rank); None when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// A trigger's hit rate over scored alerts: `hits` of `scored` reached a run-up of at least
/// `threshold` (1.0 = 2×).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HitRate {
    pub hits: u64,
    pub scored: u64,
}

/// Alerts needed before a message shows the trigger's track record.
pub const TRACK_RECORD_MIN_SCORED: u64 = 5;

impl HitRate {
    /// "2× within 1 h: 7 of 31", shown once at least [`TRACK_RECORD_MIN_SCORED`] alerts are
    /// scored.
    pub fn line(&self) -> Option<String> {
        (self.scored >= TRACK_RECORD_MIN_SCORED)
            .then(|| format!("2× within 1 h: {} of {}", self.hits, self.scored))
    }
}

/// One alert's stored outcome, as the scoreboard reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    pub trigger: String,
    pub outcome: Outcome,
}

/// Run-up thresholds the scoreboard counts (fractions: 1.0 = 2×, 0.5 = +50 %).
pub const DOUBLED: f64 = 1.0;
pub const UP_HALF: f64 = 0.5;

/// A trigger's scoreboard row. Shares are over the alerts scored for that horizon (None when no
/// alert has reached it yet).
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerScore {
    pub trigger: String,
    pub alerts: u64,
    /// Alerts whose 1 h / 24 h point is filled and that had a price at the alert.
    pub scored_1h: u64,
    pub scored_24h: u64,
    pub doubled_1h: u64,
    pub up_half_1h: u64,
    pub doubled_24h: u64,
    pub up_half_24h: u64,
    /// Over the alerts scored at 24 h.
    pub median_runup_24h: Option<f64>,
    pub p90_runup_24h: Option<f64>,
    pub median_drawdown_24h: Option<f64>,
    pub stopped: u64,
}

impl TriggerScore {
    pub fn share(part: u64, of: u64) -> Option<f64> {
        (of > 0).then(|| part as f64 / of as f64)
    }
}

/// Per-trigger scoreboard of `alerts`, ordered by trigger name.
pub fn scoreboard(alerts: &[Scored]) -> Vec<TriggerScore> {
    let mut names: Vec<&str> = alerts.iter().map(|a| a.trigger.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let of: Vec<&Outcome> = alerts
                .iter()
                .filter(|a| a.trigger == name)
                .map(|a| &a.outcome)
                .collect();
            let runups_1h: Vec<f64> = of.iter().filter_map(|o| o.runup_1h).collect();
            let runups_24h: Vec<f64> = of.iter().filter_map(|o| o.runup_24h).collect();
            let drawdowns_24h: Vec<f64> = of.iter().filter_map(|o| o.drawdown_24h).collect();
            let at_least = |v: &[f64], t: f64| v.iter().filter(|r| **r >= t).count() as u64;
            TriggerScore {
                trigger: name.to_string(),
                alerts: of.len() as u64,
                scored_1h: runups_1h.len() as u64,
                scored_24h: runups_24h.len() as u64,
                doubled_1h: at_least(&runups_1h, DOUBLED),
                up_half_1h: at_least(&runups_1h, UP_HALF),
                doubled_24h: at_least(&runups_24h, DOUBLED),
                up_half_24h: at_least(&runups_24h, UP_HALF),
                median_runup_24h: quantile(&runups_24h, 0.5),
                p90_runup_24h: quantile(&runups_24h, 0.9),
                median_drawdown_24h: quantile(&drawdowns_24h, 0.5),
                stopped: of
                    .iter()
                    .filter(|o| o.runup_24h.is_some() && o.stopped_trading == Some(true))
                    .count() as u64,
            }
        })
        .collect()
}

/// A trigger's hit rate for the track-record line: alerts scored at 1 h and those of them that
/// doubled.
pub fn hit_rate_1h(outcomes: &[Outcome]) -> HitRate {
    let runups: Vec<f64> = outcomes.iter().filter_map(|o| o.runup_1h).collect();
    HitRate {
        hits: runups.iter().filter(|r| **r >= DOUBLED).count() as u64,
        scored: runups.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_due_in_order_after_their_settle_time() {
        assert_eq!(points_reached(1_000, 999, 60), 0);
        assert_eq!(points_reached(1_000, 1_060, 60), 1);
        assert_eq!(points_reached(1_000, 1_359, 60), 1);
        assert_eq!(points_reached(1_000, 1_360, 60), 2);
        assert_eq!(points_reached(1_000, 1_000 + 3_660, 60), 4);
        assert_eq!(points_reached(1_000, 1_000 + 86_460, 60), 6);
        assert_eq!(points_reached(1_000, i64::MAX / 2, 60), 6);
    }

    #[test]
    fn run_ups_and_drawdowns_are_fractions_of_the_alert_price() {
        let raw = Raw {
            prices: [Some(2.0), Some(3.0), Some(5.0), Some(1.0), Some(1.5), None],
            high_low_1h: (Some(6.0), Some(1.0)),
            high_low_24h: (Some(8.0), Some(0.5)),
            volume_1h: (10.0, 4.0),
            volume_24h: (12.0, 9.0),
            trades_24h: 17,
            last_trade_time: Some(5_000),
            no_late_trades: true,
        };
        let o = Outcome::from_raw(&raw, 6);
        assert_eq!(o.runup_1h, Some(2.0), "6 / 2 - 1: a 3× is a +200 % run-up");
        assert_eq!(o.drawdown_1h, Some(-0.5));
        assert_eq!((o.runup_24h, o.drawdown_24h), (Some(3.0), Some(-0.75)));
        assert_eq!(o.stopped_trading, Some(true));
        assert_eq!(o.prices[5], None);
        let early = Outcome::from_raw(&raw, 2);
        assert_eq!(early.prices, [Some(2.0), Some(3.0), None, None, None, None]);
        assert_eq!(early.runup_1h, None, "not reached");
        let at_1h = Outcome::from_raw(&raw, 4);
        assert_eq!(at_1h.buy_volume_1h, Some(10.0));
        assert_eq!(at_1h.stopped_trading, None);
    }

    #[test]
    fn no_trade_after_the_alert_is_no_excursion_and_no_price_is_unknown() {
        let raw = Raw {
            prices: [Some(2.0); 6],
            ..Raw::default()
        };
        let o = Outcome::from_raw(&raw, 6);
        assert_eq!((o.runup_24h, o.drawdown_24h), (Some(0.0), Some(0.0)));
        let raw = Raw::default();
        assert_eq!(Outcome::from_raw(&raw, 6).runup_1h, None);
        // A high below the alert price is no run-up; a low above it no drawdown.
        let raw = Raw {
            prices: [Some(2.0); 6],
            high_low_1h: (Some(1.5), Some(2.5)),
            ..Raw::default()
        };
        let o = Outcome::from_raw(&raw, 4);
        assert_eq!((o.runup_1h, o.drawdown_1h), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&ten, 0.9), Some(9.0));
        assert_eq!(quantile(&ten, 1.0), Some(10.0));
    }

    #[test]
    fn the_track_record_line_needs_five_scored_alerts() {
        assert_eq!(HitRate { hits: 3, scored: 4 }.line(), None);
        assert_eq!(
            HitRate {
                hits: 7,
                scored: 31
            }
            .line()
            .as_deref(),
            Some("2× within 1 h: 7 of 31")
        );
    }

    fn scored(trigger: &str, runup_1h: Option<f64>, day: Option<(f64, f64, bool)>) -> Scored {
        let mut o = Outcome {
            runup_1h,
            ..Outcome::default()
        };
        if let Some((up, down, stopped)) = day {
            o.runup_24h = Some(up);
            o.drawdown_24h = Some(down);
            o.stopped_trading = Some(stopped);
        }
        Scored {
            trigger: trigger.into(),
            outcome: o,
        }
    }

    #[test]
    fn the_scoreboard_counts_shares_over_the_alerts_scored_for_each_horizon() {
        let alerts = vec![
            scored("whale", Some(1.0), Some((3.0, -0.2, false))),
            scored("whale", Some(0.5), Some((0.6, -0.9, true))),
            scored("whale", Some(0.49), Some((0.0, -0.5, true))),
            scored("whale", Some(0.0), None),
            scored("whale", None, None),
            scored("stealth", Some(2.0), None),
        ];
        let board = scoreboard(&alerts);
        assert_eq!(board.len(), 2);
        assert_eq!(board[0].trigger, "stealth");
        let w = &board[1];
        assert_eq!((w.alerts, w.scored_1h, w.scored_24h), (5, 4, 3));
        assert_eq!(
            (w.doubled_1h, w.up_half_1h),
            (1, 2),
            "exactly 2× and +50 % count"
        );
        assert_eq!((w.doubled_24h, w.up_half_24h), (1, 2));
        assert_eq!(w.median_runup_24h, Some(0.6));
        assert_eq!(w.p90_runup_24h, Some(3.0));
        assert_eq!(w.median_drawdown_24h, Some(-0.5));
        assert_eq!(w.stopped, 2);
        assert_eq!(TriggerScore::share(w.doubled_1h, w.scored_1h), Some(0.25));
        assert_eq!(board[0].median_runup_24h, None, "nothing scored at 24 h");
        assert_eq!(TriggerScore::share(0, 0), None);
    }

    #[test]
    fn the_hit_rate_counts_only_alerts_scored_at_one_hour() {
        let outcomes: Vec<Outcome> = [Some(1.0), Some(0.99), None, Some(4.0)]
            .into_iter()
            .map(|r| Outcome {
                runup_1h: r,
                ..Outcome::default()
            })
            .collect();
        assert_eq!(hit_rate_1h(&outcomes), HitRate { hits: 2, scored: 3 });
    }
}
