//! A recorder in front of the Prometheus one that also keeps this process's totals of a few
//! metrics, so `live_stats` reports exactly what `/metrics` counts (the reference's live stats
//! were sums of its own counters too) without hooks in the actors that record them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};

use crate::metrics as m;

/// This process's totals since start.
#[derive(Debug, Default)]
pub struct Tallies {
    /// Σ `entries_processed_total`.
    pub processed: AtomicU64,
    /// Σ `entries_ingested_total`.
    pub ingested: AtomicU64,
    /// Σ `swaps_total` over sides and venues.
    pub swaps: AtomicU64,
    /// Σ `alerts_total{status="sent"}` over channels.
    pub alerts_sent: AtomicU64,
    /// Last value of `chain_tip_slot`.
    pub chain_tip_slot: AtomicU64,
    /// Last value of `ingested_slot`.
    pub ingested_slot: AtomicU64,
}

impl Tallies {
    fn counter_slot(&self, key: &Key) -> Option<&AtomicU64> {
        match key.name() {
            m::ENTRIES_PROCESSED => Some(&self.processed),
            m::ENTRIES_INGESTED => Some(&self.ingested),
            m::SWAPS => Some(&self.swaps),
            m::ALERTS
                if key
                    .labels()
                    .any(|l| l.key() == "status" && l.value() == "sent") =>
            {
                Some(&self.alerts_sent)
            }
            _ => None,
        }
    }

    fn gauge_slot(&self, key: &Key) -> Option<&AtomicU64> {
        match key.name() {
            m::CHAIN_TIP_SLOT => Some(&self.chain_tip_slot),
            m::INGESTED_SLOT => Some(&self.ingested_slot),
            _ => None,
        }
    }

    pub fn get(slot: &AtomicU64) -> u64 {
        slot.load(Ordering::Relaxed)
    }
}

/// Forwards everything to `inner`; adds the tallied metrics into [`Tallies`] on the way.
pub struct Tap<R> {
    inner: R,
    tallies: Arc<Tallies>,
}

impl<R> Tap<R> {
    pub fn new(inner: R, tallies: Arc<Tallies>) -> Self {
        Tap { inner, tallies }
    }
}

/// Which field of [`Tallies`] a tapped handle feeds (a pointer would tie the handle's lifetime to
/// the recorder's).
struct Tapped<H> {
    inner: H,
    tallies: Arc<Tallies>,
    key: Key,
}

impl CounterFn for Tapped<Counter> {
    fn increment(&self, value: u64) {
        self.inner.increment(value);
        if let Some(slot) = self.tallies.counter_slot(&self.key) {
            slot.fetch_add(value, Ordering::Relaxed);
        }
    }

    fn absolute(&self, value: u64) {
        self.inner.absolute(value);
        if let Some(slot) = self.tallies.counter_slot(&self.key) {
            slot.fetch_max(value, Ordering::Relaxed);
        }
    }
}

impl GaugeFn for Tapped<Gauge> {
    fn increment(&self, value: f64) {
        self.inner.increment(value);
    }

    fn decrement(&self, value: f64) {
        self.inner.decrement(value);
    }

    fn set(&self, value: f64) {
        self.inner.set(value);
        if let Some(slot) = self.tallies.gauge_slot(&self.key) {
            slot.store(value.max(0.0) as u64, Ordering::Relaxed);
        }
    }
}

impl<R: Recorder> Recorder for Tap<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        let inner = self.inner.register_counter(key, metadata);
        if self.tallies.counter_slot(key).is_none() {
            return inner;
        }
        Counter::from_arc(Arc::new(Tapped {
            inner,
            tallies: self.tallies.clone(),
            key: key.clone(),
        }))
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        let inner = self.inner.register_gauge(key, metadata);
        if self.tallies.gauge_slot(key).is_none() {
            return inner;
        }
        Gauge::from_arc(Arc::new(Tapped {
            inner,
            tallies: self.tallies.clone(),
            key: key.clone(),
        }))
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(key, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    #[test]
    fn tallies_follow_the_recorded_counters_and_the_exporter_still_sees_them() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let tallies = Arc::new(Tallies::default());
        let tap = Tap::new(recorder, tallies.clone());
        metrics::with_local_recorder(&tap, || {
            metrics::counter!(m::ENTRIES_PROCESSED).increment(7);
            metrics::counter!(m::ENTRIES_PROCESSED).increment(3);
            metrics::counter!(m::SWAPS, "side" => "buy", "venue" => "a").increment(2);
            metrics::counter!(m::SWAPS, "side" => "sell", "venue" => "b").increment(5);
            metrics::counter!(m::ALERTS, "channel" => "discord", "status" => "sent").increment(1);
            metrics::counter!(m::ALERTS, "channel" => "discord", "status" => "failed").increment(4);
            metrics::counter!(m::DUPLICATES).increment(9);
            metrics::gauge!(m::CHAIN_TIP_SLOT).set(1234.0);
            metrics::gauge!(m::INGESTED_SLOT).set(1200.0);
        });
        assert_eq!(Tallies::get(&tallies.processed), 10);
        assert_eq!(Tallies::get(&tallies.swaps), 7);
        assert_eq!(
            Tallies::get(&tallies.alerts_sent),
            1,
            "failed alerts not counted"
        );
        assert_eq!(Tallies::get(&tallies.ingested), 0);
        assert_eq!(Tallies::get(&tallies.chain_tip_slot), 1234);
        assert_eq!(Tallies::get(&tallies.ingested_slot), 1200);
        let text = handle.render();
        assert!(
            text.contains("pocketwatcher_entries_processed_total 10"),
            "{text}"
        );
        assert!(
            text.contains("pocketwatcher_duplicate_signatures_total 9"),
            "{text}"
        );
        assert!(text.contains("pocketwatcher_chain_tip_slot 1234"), "{text}");
    }
}
