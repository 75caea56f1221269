//! The process's own telemetry: the Prometheus recorder (rendered by [`crate::http`]), the
//! counters a process reads back about itself ([`tap`]), process metrics ([`process`]), series
//! that must exist from start-up ([`baseline`]), and the `pocketwatcher:live_stats` key
//! ([`live_stats`], with the windowed rates of [`rate`]).

pub mod baseline;
pub mod live_stats;
pub mod process;
pub mod rate;
pub mod tap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::actors::Role;
use crate::metrics as m;
use tap::{Tallies, Tap};

/// How often process metrics are sampled and histogram upkeep runs.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The installed recorder and what this process reads back from it. Cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    handle: PrometheusHandle,
    tallies: Arc<Tallies>,
    /// CPU seconds (f64 bits), rendered by hand: the recorder's counters are integers.
    cpu_seconds: Arc<AtomicU64>,
}

/// Installs the global metrics recorder (explicit buckets, every metric described), sets
/// `build_info`, and makes the counters with known labels exist at zero for `role`. Once per
/// process.
pub fn install(role: Role, venues: &[String]) -> anyhow::Result<Telemetry> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), m::LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(m::BATCH_SIZE.into()), m::BATCH_SIZE_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(m::COMMIT_ENTRIES.into()),
            m::BATCH_SIZE_BUCKETS,
        )?
        .set_buckets_for_metric(Matcher::Full(m::INSERT_ROWS.into()), m::BATCH_SIZE_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    let tallies = Arc::new(Tallies::default());
    metrics::set_global_recorder(Tap::new(recorder, tallies.clone()))
        .context("a metrics recorder is already installed")?;
    m::describe();
    metrics::gauge!(m::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "role" => role_name(role))
        .set(1.0);
    baseline::register(role, venues);
    Ok(Telemetry {
        handle,
        tallies,
        cpu_seconds: Arc::new(AtomicU64::new(0f64.to_bits())),
    })
}

/// The role as it is spelled on the command line.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::All => "all",
        Role::Ingest => "ingest",
        Role::Consume => "consume",
        Role::Detect => "detect",
    }
}

impl Telemetry {
    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> String {
        let mut text = self.handle.render();
        process::render_cpu(
            &mut text,
            f64::from_bits(self.cpu_seconds.load(Ordering::Relaxed)),
        );
        text
    }

    pub fn tallies(&self) -> Arc<Tallies> {
        self.tallies.clone()
    }

    /// Samples process metrics and runs histogram upkeep every [`SAMPLE_EVERY`], forever. Spawn
    /// it once.
    pub async fn sample_forever(self) {
        loop {
            if let Some(s) = process::sample() {
                metrics::gauge!(m::PROCESS_RSS_BYTES).set(s.rss_bytes as f64);
                self.cpu_seconds
                    .store(s.cpu_seconds.to_bits(), Ordering::Relaxed);
            }
            self.handle.run_upkeep();
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    }
}
