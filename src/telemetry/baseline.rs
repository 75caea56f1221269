//! Series that exist from start-up. Prometheus has no series for a counter that was never
//! incremented, so a dashboard panel on "restarts" or "dead letters" would show "no data" — and a
//! `rate()` of it would start from the first event instead of from zero. Every counter whose label
//! values are known in advance is registered at 0 for the roles that record it.

use crate::actors::Role;
use crate::domain::FilterReason;
use crate::metrics as m;
use crate::pipeline::parse::dead_kind;

/// Alert channels and delivery outcomes (labels of [`m::ALERTS`]).
pub const ALERT_CHANNELS: [&str; 2] = ["discord", "telegram"];
pub const ALERT_STATUSES: [&str; 3] = ["sent", "failed", "coalesced"];

fn zero(name: &'static str, labels: &[(&'static str, String)]) {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|(k, v)| metrics::Label::new(*k, v.clone()))
        .collect();
    metrics::counter!(name, labels).increment(0);
}

/// Registers the known series of `role`'s counters at 0. `venues` are the venue names of the
/// configuration (swaps are labelled with them, or `unknown`).
pub fn register(role: Role, venues: &[String]) {
    let ingests = matches!(role, Role::All | Role::Ingest);
    let consumes = matches!(role, Role::All | Role::Consume);
    let detects = matches!(role, Role::All | Role::Detect);
    if ingests {
        for name in [
            m::ENTRIES_INGESTED,
            m::INGEST_RECONNECTS,
            m::INGEST_SLOT_GAPS,
            m::INGEST_BACKPRESSURE_SECONDS,
            m::INGEST_UNDECODABLE,
        ] {
            zero(name, &[]);
        }
        zero(m::REDIS_ERRORS, &[("op", "xadd".into())]);
        metrics::gauge!(m::INGEST_BACKPRESSURE).set(0.0);
    }
    if consumes {
        for name in [
            m::ENTRIES_PROCESSED,
            m::ENTRIES_RECLAIMED,
            m::DUPLICATES,
            m::SWAP_ROWS_INSERTED,
            m::RETENTION_DELETED,
        ] {
            zero(name, &[]);
        }
        for reason in FilterReason::ALL {
            zero(m::ENTRIES_FILTERED, &[("reason", reason.as_str().into())]);
        }
        for kind in [
            dead_kind::MISSING_PAYLOAD,
            dead_kind::UNDECODABLE,
            dead_kind::INCONSISTENT,
            dead_kind::PANIC,
            dead_kind::MAX_DELIVERIES,
        ] {
            zero(m::ENTRIES_DEAD_LETTERED, &[("reason", kind.into())]);
        }
        for kind in ["not_owned", "duplicate"] {
            zero(m::COMMIT_CONFLICTS, &[("kind", kind.into())]);
        }
        zero(
            m::WALLET_CAP_TRIMMED,
            &[(
                "structure",
                crate::store::redis::commit::TOP_BUYERS_MINUTE.into(),
            )],
        );
        metrics::gauge!(m::BATCHES_IN_FLIGHT).set(0.0);
        let mut names: Vec<&str> = venues.iter().map(String::as_str).collect();
        names.push("unknown");
        names.sort_unstable();
        names.dedup();
        for venue in names {
            for side in ["buy", "sell"] {
                zero(
                    m::SWAPS,
                    &[("side", side.into()), ("venue", venue.to_string())],
                );
            }
        }
        for op in ["connect", "xreadgroup", "commit", "xinfo", "reclaim"] {
            zero(m::REDIS_ERRORS, &[("op", op.into())]);
        }
        for op in ["insert_swaps", "retention"] {
            zero(m::POSTGRES_ERRORS, &[("op", op.into())]);
        }
    }
    if detects {
        zero(m::DETECTOR_LEASE_ACQUIRED, &[]);
        zero(m::OUTCOMES_FILLED, &[]);
        zero(m::POSTGRES_ERRORS, &[("op", "outcomes".into())]);
        for path in ["event", "sweep"] {
            zero(m::DETECT_EVALUATIONS, &[("path", path.into())]);
        }
        for result in ["applied", "refused"] {
            zero(m::TRIGGER_RELOADS, &[("result", result.into())]);
        }
        for reason in ["cooldown", "low_mcap", "unknown_mcap"] {
            zero(m::ALERTS_SUPPRESSED, &[("reason", reason.into())]);
        }
        for method in ["getTokenSupply", "getAsset"] {
            for result in ["ok", "error"] {
                zero(
                    m::RPC_REQUESTS,
                    &[("method", method.into()), ("result", result.into())],
                );
            }
        }
        for channel in ALERT_CHANNELS {
            for reason in ["rate_limited", "server_error", "timeout", "network"] {
                zero(
                    m::WEBHOOK_RETRIES,
                    &[("channel", channel.into()), ("reason", reason.into())],
                );
            }
            zero(m::ALERT_DIGESTS, &[("channel", channel.into())]);
            for status in ALERT_STATUSES {
                zero(
                    m::ALERTS,
                    &[("channel", channel.into()), ("status", status.into())],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    fn rendered(role: Role) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || register(role, &["pumpfun".into()]));
        handle.render()
    }

    #[test]
    fn each_role_gets_its_own_series_at_zero() {
        let consume = rendered(Role::Consume);
        for line in [
            "pocketwatcher_entries_filtered_total{reason=\"not_swap\"} 0",
            "pocketwatcher_entries_dead_lettered_total{reason=\"max_deliveries\"} 0",
            "pocketwatcher_swaps_total{side=\"sell\",venue=\"pumpfun\"} 0",
            "pocketwatcher_swaps_total{side=\"buy\",venue=\"unknown\"} 0",
        ] {
            assert!(consume.contains(line), "missing {line}:\n{consume}");
        }
        assert!(!consume.contains("pocketwatcher_entries_ingested_total"));
        assert!(!consume.contains("pocketwatcher_alerts_total"));

        let ingest = rendered(Role::Ingest);
        assert!(ingest.contains("pocketwatcher_ingest_reconnects_total 0"));
        assert!(!ingest.contains("pocketwatcher_swaps_total"));

        let all = rendered(Role::All);
        assert!(
            all.contains("pocketwatcher_alerts_total{channel=\"telegram\",status=\"failed\"} 0")
        );
        assert!(all.contains("pocketwatcher_entries_ingested_total 0"));
    }
}
