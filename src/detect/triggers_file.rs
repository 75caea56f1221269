//! The running trigger set and its hot reload (SIGHUP, or the file changing on disk).
//!
//! A valid new file replaces the whole set at once; an invalid one is refused, logged and counted,
//! and the running set stays.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use crate::domain::triggers::{parse_triggers_toml, TriggerSet};
use crate::metrics as m;

/// The current trigger set, shared by the detector and the reloader.
#[derive(Clone)]
pub struct Triggers(Arc<RwLock<Arc<TriggerSet>>>);

impl Triggers {
    pub fn new(set: TriggerSet) -> Self {
        publish(&set);
        Triggers(Arc::new(RwLock::new(Arc::new(set))))
    }

    pub fn current(&self) -> Arc<TriggerSet> {
        self.0
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn replace(&self, set: TriggerSet) {
        publish(&set);
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(set);
    }
}

/// The set's size, and its triggers' counters at 0 (a trigger that never fired still has a
/// series, so dashboards and `increase()` work from the start).
fn publish(set: &TriggerSet) {
    metrics::gauge!(m::TRIGGERS_ACTIVE).set(set.len() as f64);
    for t in set.iter() {
        metrics::counter!(m::TRIGGERS_FIRED, "trigger" => t.name.clone()).increment(0);
        metrics::counter!(m::ALERTS_CREATED, "trigger" => t.name.clone()).increment(0);
    }
}

/// Loads the configured triggers: the file when one is set, else the six defaults.
pub fn load(path: &str) -> anyhow::Result<TriggerSet> {
    if path.is_empty() {
        return Ok(TriggerSet::defaults());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("detect.triggers_file {path}: {e}"))?;
    parse_triggers_toml(&text).map_err(|e| {
        anyhow::anyhow!(
            "detect.triggers_file {path}: {e}. Fix the condition or the trigger, then start again"
        )
    })
}

/// What identifies a version of the file on disk (modification time and size).
pub type Fingerprint = Option<(SystemTime, u64)>;

/// Taken before the file is first loaded, so a change made while the daemon starts is not missed.
pub fn fingerprint_of(path: &str) -> Fingerprint {
    fingerprint(&PathBuf::from(path))
}

fn fingerprint(path: &PathBuf) -> Fingerprint {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads on SIGHUP and when the file's modification time or size changes; runs until shutdown.
pub async fn watch(
    path: String,
    triggers: Triggers,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    loaded: Fingerprint,
) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP; trigger reload only on file change");
            None
        }
    };
    let file = PathBuf::from(&path);
    let mut seen = loaded;
    loop {
        let by_signal = tokio::select! {
            _ = tokio::time::sleep(poll) => false,
            _ = async {
                match hangup.as_mut() {
                    Some(h) => { h.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => true,
            _ = shutdown.changed() => return,
        };
        if path.is_empty() {
            if by_signal {
                info!("SIGHUP: no detect.triggers_file configured; the default triggers stay");
            }
            continue;
        }
        let now = fingerprint(&file);
        if !by_signal && now == seen {
            continue;
        }
        seen = now;
        match load(&path) {
            Ok(set) => {
                info!(triggers = set.len(), path = %path, "trigger file reloaded");
                metrics::counter!(m::TRIGGER_RELOADS, "result" => "applied").increment(1);
                triggers.replace(set);
            }
            Err(e) => {
                warn!(error = %e, "trigger file refused; the running triggers stay");
                metrics::counter!(m::TRIGGER_RELOADS, "result" => "refused").increment(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_the_default_set() {
        let example = parse_triggers_toml(include_str!("../../config/triggers.example.toml"))
            .expect("the example trigger file is valid");
        assert_eq!(example, TriggerSet::defaults());
    }

    #[test]
    fn no_file_means_the_defaults_and_a_bad_file_names_itself() {
        assert_eq!(load("").unwrap(), TriggerSet::defaults());
        let err = load("/nonexistent/triggers.toml").unwrap_err().to_string();
        assert!(err.contains("detect.triggers_file"), "{err}");
    }
}
