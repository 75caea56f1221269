//! Progress of long commands (`replay`, `bench`): a bar with rate and ETA on a terminal, a plain
//! line every [`PLAIN_EVERY`] otherwise (logs and CI keep a readable record).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Interval of the plain lines when stderr is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    label: &'static str,
    unit: &'static str,
    total: u64,
    started: Instant,
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
}

impl Progress {
    /// `unit` names what is counted (`written`, `acknowledged`).
    pub fn new(label: &'static str, unit: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label);
            bar.set_message(unit);
            bar
        });
        Progress {
            label,
            unit,
            total,
            started: Instant::now(),
            bar,
            last_line: None,
        }
    }

    /// Reports `done` so far.
    pub fn set(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let due = self.last_line.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
        if due {
            self.last_line = Some(Instant::now());
            eprintln!(
                "{}",
                plain_line(
                    self.label,
                    self.unit,
                    done,
                    self.total,
                    self.started.elapsed()
                )
            );
        }
    }

    pub fn finish(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.finish(),
            None => eprintln!(
                "{}",
                plain_line(
                    self.label,
                    self.unit,
                    done,
                    self.total,
                    self.started.elapsed()
                )
            ),
        }
    }
}

/// `replay: 1200/5000 written (24.0%), 400 tx/s, ETA 10 s`.
pub fn plain_line(label: &str, unit: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let pct = done as f64 * 100.0 / total.max(1) as f64;
    let eta = if rate > 0.0 && done < total {
        format!("ETA {:.0} s", total.saturating_sub(done) as f64 / rate)
    } else if done >= total {
        "done".to_string()
    } else {
        "ETA -".to_string()
    };
    format!("{label}: {done}/{total} {unit} ({pct:.1}%), {rate:.0} tx/s, {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_carry_rate_and_eta() {
        let line = plain_line("replay", "written", 1_200, 5_000, Duration::from_secs(3));
        assert_eq!(
            line,
            "replay: 1200/5000 written (24.0%), 400 tx/s, ETA 10 s"
        );
        let line = plain_line("bench", "acknowledged", 0, 10, Duration::ZERO);
        assert_eq!(line, "bench: 0/10 acknowledged (0.0%), 0 tx/s, ETA -");
        let line = plain_line("bench", "acknowledged", 10, 10, Duration::from_secs(2));
        assert!(line.ends_with("5 tx/s, done"), "{line}");
    }
}
