//! Readiness: is this process able to do its job right now?
//!
//! Checks are registered while the daemon is wired (Redis and PostgreSQL probes, the gRPC feed's
//! connection state, pipeline progress) and run together in the background every
//! [`REFRESH_EVERY`], each bounded by [`CHECK_TIMEOUT`]; `/readyz` only reads the last
//! [`Snapshot`], so a scrape or a probe never adds load on Redis. A snapshot older than
//! [`STALE_AFTER`] (the refresher itself is stuck) counts as not ready.

pub mod checks;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::metrics as m;

pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// A check's verdict: `Err` holds a short reason, free of URLs and secrets.
pub type Verdict = Result<(), String>;
pub type CheckFuture = Pin<Box<dyn Future<Output = Verdict> + Send>>;

/// One readiness condition.
pub trait Check: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self) -> CheckFuture;
}

/// The set of checks and their last results. Cheap to clone; pass it to whatever registers checks.
#[derive(Clone, Default)]
pub struct Readiness(Arc<Inner>);

#[derive(Default)]
struct Inner {
    checks: Mutex<Vec<Arc<dyn Check>>>,
    started: AtomicBool,
    snapshot: RwLock<Snapshot>,
}

/// The results of one refresh.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub taken: Option<Instant>,
    /// Whether the daemon finished wiring when the snapshot was taken.
    pub started: bool,
    pub results: Vec<(&'static str, Verdict)>,
}

impl Snapshot {
    /// Ready: wired, fresh, and every check passed.
    pub fn ready(&self, now: Instant) -> bool {
        self.problem(now).is_none() && self.results.iter().all(|(_, r)| r.is_ok())
    }

    fn problem(&self, now: Instant) -> Option<String> {
        match self.taken {
            None => Some("checks: not run yet".into()),
            Some(t) if now.saturating_duration_since(t) > STALE_AFTER => Some(format!(
                "checks: stale (last run {} s ago)",
                now.saturating_duration_since(t).as_secs()
            )),
            _ if !self.started => Some("startup: still wiring the pipeline".into()),
            _ => None,
        }
    }

    /// The `/readyz` body: `ready` or `not ready`, then one `name: ok|failing (reason)` line per
    /// check.
    pub fn body(&self, now: Instant) -> String {
        let mut out = String::from(if self.ready(now) {
            "ready\n"
        } else {
            "not ready\n"
        });
        if let Some(problem) = self.problem(now) {
            out.push_str(&problem);
            out.push('\n');
        }
        for (name, result) in &self.results {
            match result {
                Ok(()) => out.push_str(&format!("{name}: ok\n")),
                Err(reason) => out.push_str(&format!("{name}: failing ({reason})\n")),
            }
        }
        out
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&self, check: impl Check + 'static) {
        self.0
            .checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(check));
    }

    /// A check whose state the owner pushes (e.g. the feed on connect and disconnect); it starts
    /// failing with `initial`.
    pub fn flag(&self, name: &'static str, initial: &str) -> Flag {
        let flag = Flag {
            name,
            state: Arc::new(Mutex::new(Err(initial.to_string()))),
        };
        self.register(flag.clone());
        flag
    }

    /// Called once the daemon is wired; until then the process is not ready.
    pub fn mark_started(&self) {
        self.0.started.store(true, Ordering::Release);
    }

    /// Runs every check (concurrently, each within [`CHECK_TIMEOUT`]), stores the snapshot and
    /// sets the `ready` gauge.
    pub async fn refresh(&self) -> Snapshot {
        // Read before the list: every check is registered before `mark_started`, so a snapshot
        // that says "started" always ran all of them (reading it after the checks ran could pair
        // a partial list with "started" and report ready too early).
        let started = self.0.started.load(Ordering::Acquire);
        let checks: Vec<Arc<dyn Check>> = self
            .0
            .checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let runs = checks.iter().map(|c| {
            let fut = c.run();
            async move {
                let verdict = match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
                    Ok(v) => v,
                    Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
                };
                (c.name(), verdict)
            }
        });
        let results = futures::future::join_all(runs).await;
        let snapshot = Snapshot {
            taken: Some(Instant::now()),
            started,
            results,
        };
        let ready = snapshot.ready(Instant::now());
        metrics::gauge!(m::READY).set(if ready { 1.0 } else { 0.0 });
        *self.0.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot.clone();
        snapshot
    }

    pub fn snapshot(&self) -> Snapshot {
        self.0
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Refreshes every [`REFRESH_EVERY`], forever.
    pub async fn refresh_forever(self) {
        loop {
            self.refresh().await;
            tokio::time::sleep(REFRESH_EVERY).await;
        }
    }
}

/// A pushed check state.
#[derive(Clone)]
pub struct Flag {
    name: &'static str,
    state: Arc<Mutex<Verdict>>,
}

impl Flag {
    pub fn set_ok(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Ok(());
    }

    pub fn set_failing(&self, reason: impl Into<String>) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Err(reason.into());
    }
}

impl Check for Flag {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self) -> CheckFuture {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slow;

    impl Check for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }

        fn run(&self) -> CheckFuture {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn ready_only_when_started_and_every_check_passes() {
        let r = Readiness::new();
        assert!(!r.snapshot().ready(Instant::now()), "never refreshed");
        let feed = r.flag("grpc", "connecting");
        let s = r.refresh().await;
        assert!(!s.ready(Instant::now()));
        let body = s.body(Instant::now());
        assert!(body.starts_with("not ready\n"), "{body}");
        assert!(body.contains("startup: still wiring"), "{body}");
        assert!(body.contains("grpc: failing (connecting)"), "{body}");

        r.mark_started();
        feed.set_ok();
        let s = r.refresh().await;
        assert!(s.ready(Instant::now()), "{}", s.body(Instant::now()));
        assert_eq!(s.body(Instant::now()), "ready\ngrpc: ok\n");

        feed.set_failing("disconnected");
        assert!(!r.refresh().await.ready(Instant::now()));
    }

    #[tokio::test]
    async fn a_hanging_check_fails_by_timeout_and_old_snapshots_go_stale() {
        let r = Readiness::new();
        r.register(Slow);
        r.mark_started();
        let s = r.refresh().await;
        assert!(s
            .body(Instant::now())
            .contains("slow: failing (no answer within 2 s)"));

        let r = Readiness::new();
        r.mark_started();
        let s = r.refresh().await;
        assert!(s.ready(Instant::now()));
        let later = Instant::now() + STALE_AFTER + Duration::from_secs(1);
        assert!(!s.ready(later));
        assert!(s.body(later).contains("stale"), "{}", s.body(later));
    }
}
