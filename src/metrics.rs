//! The metric catalogue: every name, its unit and meaning, in one place. Code records metrics only
//! through these constants, and only per batch, never per entry in a hot loop.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

pub const ENTRIES_INGESTED: &str = "pocketwatcher_entries_ingested_total";
pub const ENTRIES_PROCESSED: &str = "pocketwatcher_entries_processed_total";
pub const ENTRIES_FILTERED: &str = "pocketwatcher_entries_filtered_total";
pub const ENTRIES_DEAD_LETTERED: &str = "pocketwatcher_entries_dead_lettered_total";
pub const ENTRIES_RECLAIMED: &str = "pocketwatcher_entries_reclaimed_total";
pub const DUPLICATES: &str = "pocketwatcher_duplicate_signatures_total";
pub const COMMIT_CONFLICTS: &str = "pocketwatcher_commit_conflicts_total";
pub const WALLET_CAP_TRIMMED: &str = "pocketwatcher_wallet_cap_trimmed_total";
pub const SWAPS: &str = "pocketwatcher_swaps_total";
pub const SWAP_ROWS_INSERTED: &str = "pocketwatcher_swap_rows_inserted_total";
pub const STAGE_SECONDS: &str = "pocketwatcher_stage_seconds";
pub const END_TO_END_SECONDS: &str = "pocketwatcher_end_to_end_seconds";
pub const BATCH_SIZE: &str = "pocketwatcher_batch_entries";
pub const COMMIT_ENTRIES: &str = "pocketwatcher_commit_entries";
pub const INSERT_ROWS: &str = "pocketwatcher_insert_rows";
pub const BATCHES_IN_FLIGHT: &str = "pocketwatcher_batches_in_flight";
pub const DOWNSTREAM_WAIT_SECONDS: &str = "pocketwatcher_downstream_wait_seconds";
pub const ACTOR_RESTARTS: &str = "pocketwatcher_actor_restarts_total";
pub const INGEST_RECONNECTS: &str = "pocketwatcher_ingest_reconnects_total";
pub const INGEST_SLOT_GAPS: &str = "pocketwatcher_ingest_slot_gaps_total";
pub const INGEST_BACKPRESSURE: &str = "pocketwatcher_ingest_backpressure";
pub const INGEST_BACKPRESSURE_SECONDS: &str = "pocketwatcher_ingest_backpressure_seconds_total";
pub const INGEST_UNDECODABLE: &str = "pocketwatcher_ingest_undecodable_total";
pub const SLOT_LAG: &str = "pocketwatcher_slot_lag";
pub const BLOCK_TIME_LAG_SECONDS: &str = "pocketwatcher_block_time_lag_seconds";
pub const CHAIN_TIP_SLOT: &str = "pocketwatcher_chain_tip_slot";
pub const INGESTED_SLOT: &str = "pocketwatcher_ingested_slot";
pub const STREAM_LENGTH: &str = "pocketwatcher_stream_length";
pub const PENDING_ENTRIES: &str = "pocketwatcher_pending_entries";
pub const GROUP_LAG: &str = "pocketwatcher_group_lag";
pub const REDIS_ERRORS: &str = "pocketwatcher_redis_errors_total";
pub const POSTGRES_ERRORS: &str = "pocketwatcher_postgres_errors_total";
pub const RETENTION_DELETED: &str = "pocketwatcher_retention_deleted_rows_total";

// Detection.
pub const DETECT_EVALUATIONS: &str = "pocketwatcher_detector_evaluations_total";
pub const DETECT_DETAIL_REUSED: &str = "pocketwatcher_detector_detail_reused_total";
pub const DETECT_CYCLE_SECONDS: &str = "pocketwatcher_detector_cycle_seconds";
pub const DETECTION_DELAY_SECONDS: &str = "pocketwatcher_detection_delay_seconds";
pub const DETECTOR_LEADER: &str = "pocketwatcher_detector_leader";
pub const DETECTOR_LEASE_ACQUIRED: &str = "pocketwatcher_detector_lease_acquired_total";
pub const TRIGGERS_FIRED: &str = "pocketwatcher_triggers_fired_total";
pub const TRIGGERS_ACTIVE: &str = "pocketwatcher_triggers_active";
pub const TRIGGER_RELOADS: &str = "pocketwatcher_trigger_reloads_total";
pub const ALERTS_SUPPRESSED: &str = "pocketwatcher_alerts_suppressed_total";
pub const HOT_TOKENS: &str = "pocketwatcher_hot_tokens";
pub const OUTCOMES_FILLED: &str = "pocketwatcher_alert_outcomes_filled_total";
pub const RPC_REQUESTS: &str = "pocketwatcher_rpc_requests_total";
pub const HOT_TRACE_WALLETS: &str = "pocketwatcher_hot_trace_wallets_total";

// Alert delivery.
pub const ALERTS_CREATED: &str = "pocketwatcher_alerts_created_total";
pub const ALERTS: &str = "pocketwatcher_alerts_total";
pub const WEBHOOK_RETRIES: &str = "pocketwatcher_webhook_retries_total";
pub const ALERT_DELIVERY_SECONDS: &str = "pocketwatcher_alert_delivery_seconds";
pub const ALERT_DELIVERIES_PENDING: &str = "pocketwatcher_alert_deliveries_pending";
pub const ALERT_DIGESTS: &str = "pocketwatcher_alert_digests_total";

// Process and stores.
pub const REDIS_SECONDS: &str = "pocketwatcher_redis_operation_seconds";
pub const POSTGRES_SECONDS: &str = "pocketwatcher_postgres_operation_seconds";
pub const DEAD_LETTER_LENGTH: &str = "pocketwatcher_dead_letter_length";
pub const READY: &str = "pocketwatcher_ready";
pub const PROCESS_RSS_BYTES: &str = "pocketwatcher_process_resident_memory_bytes";
pub const PROCESS_CPU_SECONDS: &str = "pocketwatcher_process_cpu_seconds_total";
pub const BUILD_INFO: &str = "pocketwatcher_build_info";

/// Buckets for latencies from sub-millisecond stages to multi-second stalls.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
pub const BATCH_SIZE_BUCKETS: &[f64] =
    &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0];

/// Registers descriptions (shown as `# HELP` lines).
pub fn describe() {
    describe_counter!(
        ENTRIES_INGESTED,
        Unit::Count,
        "Transactions written to the stream by ingest"
    );
    describe_counter!(ENTRIES_PROCESSED, Unit::Count, "Stream entries acknowledged after all their effects committed (swaps, filtered, duplicates)");
    describe_counter!(
        ENTRIES_FILTERED,
        Unit::Count,
        "Entries without swaps, by reason (vote, failed, no_balance_change, not_swap)"
    );
    describe_counter!(
        ENTRIES_DEAD_LETTERED,
        Unit::Count,
        "Entries moved to stream:tx:dead, by reason kind"
    );
    describe_counter!(
        ENTRIES_RECLAIMED,
        Unit::Count,
        "Idle entries taken over from a consumer (crashed or stalled)"
    );
    describe_counter!(
        DUPLICATES,
        Unit::Count,
        "Entries whose signature was already counted from another entry"
    );
    describe_counter!(
        COMMIT_CONFLICTS,
        Unit::Count,
        "Batch commits refused, by kind (not_owned, duplicate)"
    );
    describe_counter!(
        WALLET_CAP_TRIMMED,
        Unit::Count,
        "Wallets dropped from a capped wallet-keyed structure, by structure (top_buyers_minute: the smallest buyers beyond counters.top_buyers_per_minute in a mint-minute)"
    );
    describe_counter!(SWAPS, Unit::Count, "Swaps counted, by side and venue");
    describe_counter!(
        SWAP_ROWS_INSERTED,
        Unit::Count,
        "New rows in swap_events (duplicates excluded)"
    );
    describe_histogram!(
        STAGE_SECONDS,
        Unit::Seconds,
        "Time a batch spends in each stage (linger, parse, aggregate, store, commit; pipeline: read to ack)"
    );
    describe_histogram!(
        END_TO_END_SECONDS,
        Unit::Seconds,
        "From XADD by ingest to XACK, per batch (oldest entry)"
    );
    describe_histogram!(
        BATCH_SIZE,
        Unit::Count,
        "Entries per batch read from the stream"
    );
    describe_histogram!(
        COMMIT_ENTRIES,
        Unit::Count,
        "Stream entries closed per commit-script call (counters, markers, dead letters, XACK)"
    );
    describe_histogram!(
        INSERT_ROWS,
        Unit::Count,
        "Rows per swap_events insert statement"
    );
    describe_gauge!(
        BATCHES_IN_FLIGHT,
        Unit::Count,
        "Batches between read and acknowledgement (at most consume.pipeline_depth)"
    );
    describe_histogram!(
        DOWNSTREAM_WAIT_SECONDS,
        Unit::Seconds,
        "Time a consume stage waited to hand a batch on, by stage (in_flight_slot: the reader waiting for a free slot)"
    );
    describe_counter!(
        ACTOR_RESTARTS,
        Unit::Count,
        "Actors rebuilt by the supervisor, by actor"
    );
    describe_counter!(INGEST_RECONNECTS, Unit::Count, "gRPC reconnects by ingest");
    describe_counter!(
        INGEST_SLOT_GAPS,
        Unit::Count,
        "Slots skipped because the feed no longer had them on resume"
    );
    describe_gauge!(
        INGEST_BACKPRESSURE,
        Unit::Count,
        "1 while ingest pauses the feed because the backlog reached its cap"
    );
    describe_counter!(
        INGEST_BACKPRESSURE_SECONDS,
        Unit::Seconds,
        "Time ingest spent paused by backpressure"
    );
    describe_counter!(
        INGEST_UNDECODABLE,
        Unit::Count,
        "Feed updates that could not be decoded"
    );
    describe_gauge!(
        SLOT_LAG,
        Unit::Count,
        "Chain tip slot (blocks_meta) minus the newest slot written to the stream"
    );
    describe_gauge!(
        BLOCK_TIME_LAG_SECONDS,
        Unit::Seconds,
        "Wall clock minus the block time of the newest acknowledged swap"
    );
    describe_gauge!(
        CHAIN_TIP_SLOT,
        Unit::Count,
        "Newest slot announced by blocks_meta"
    );
    describe_gauge!(
        INGESTED_SLOT,
        Unit::Count,
        "Newest slot written to the stream"
    );
    describe_gauge!(STREAM_LENGTH, Unit::Count, "XLEN of stream:tx");
    describe_gauge!(
        PENDING_ENTRIES,
        Unit::Count,
        "Entries delivered but not acknowledged (XINFO GROUPS pending)"
    );
    describe_gauge!(
        GROUP_LAG,
        Unit::Count,
        "Entries not yet delivered to any consumer (XINFO GROUPS lag)"
    );
    describe_counter!(REDIS_ERRORS, Unit::Count, "Redis errors, by operation");
    describe_counter!(
        POSTGRES_ERRORS,
        Unit::Count,
        "PostgreSQL errors, by operation"
    );
    describe_counter!(
        RETENTION_DELETED,
        Unit::Count,
        "swap_events rows deleted by retention"
    );
    describe_counter!(
        DETECT_EVALUATIONS,
        Unit::Count,
        "Mints evaluated by the detector, by path (event: touched by a commit; sweep: periodic)"
    );
    describe_counter!(
        DETECT_DETAIL_REUSED,
        Unit::Count,
        "Mints whose window detail (top buyers, unique counts) the in-play filter reused from a read under 1 s old"
    );
    describe_histogram!(
        DETECT_CYCLE_SECONDS,
        Unit::Seconds,
        "Time of one detector cycle (read windows, evaluate, decide)"
    );
    describe_histogram!(
        DETECTION_DELAY_SECONDS,
        Unit::Seconds,
        "From the commit (ack) of a batch touching a mint to that mint's evaluation"
    );
    describe_gauge!(
        DETECTOR_LEADER,
        Unit::Count,
        "1 while this process holds the detector lease"
    );
    describe_counter!(
        DETECTOR_LEASE_ACQUIRED,
        Unit::Count,
        "Times this process acquired the detector lease"
    );
    describe_counter!(TRIGGERS_FIRED, Unit::Count, "Trigger matches, by trigger");
    describe_gauge!(
        TRIGGERS_ACTIVE,
        Unit::Count,
        "Enabled triggers in the running set"
    );
    describe_counter!(
        TRIGGER_RELOADS,
        Unit::Count,
        "Trigger file reloads, by result (applied, refused)"
    );
    describe_counter!(
        ALERTS_SUPPRESSED,
        Unit::Count,
        "Trigger matches that did not alert, by reason (cooldown, low_mcap, unknown_mcap)"
    );
    describe_gauge!(HOT_TOKENS, Unit::Count, "Mints currently HOT");
    describe_counter!(
        OUTCOMES_FILLED,
        Unit::Count,
        "Alert outcomes moved forward by a horizon (alert_outcomes updates)"
    );
    describe_counter!(
        RPC_REQUESTS,
        Unit::Count,
        "Solana JSON-RPC requests, by method and result"
    );
    describe_counter!(
        HOT_TRACE_WALLETS,
        Unit::Count,
        "New buyers of HOT tokens looked at by the funding tracer, by result (traced, cached, deferred, unknown)"
    );
    describe_counter!(
        ALERTS_CREATED,
        Unit::Count,
        "Alerts written to the outbox, by trigger"
    );
    describe_counter!(
        ALERTS,
        Unit::Count,
        "Alert delivery outcomes, by channel and status (sent, failed, coalesced into a digest)"
    );
    describe_counter!(
        ALERT_DIGESTS,
        Unit::Count,
        "Digest messages sent in place of alerts a rate limit would deliver too late, by channel"
    );
    describe_counter!(
        WEBHOOK_RETRIES,
        Unit::Count,
        "Delivery attempts that will be retried, by channel and reason"
    );
    describe_histogram!(
        ALERT_DELIVERY_SECONDS,
        Unit::Seconds,
        "From the alert row to its delivery, by channel"
    );
    describe_gauge!(
        ALERT_DELIVERIES_PENDING,
        Unit::Count,
        "Deliveries waiting in the outbox, by channel"
    );
    describe_histogram!(
        REDIS_SECONDS,
        Unit::Seconds,
        "Redis round trips, by operation"
    );
    describe_histogram!(
        POSTGRES_SECONDS,
        Unit::Seconds,
        "PostgreSQL statements, by operation"
    );
    describe_gauge!(DEAD_LETTER_LENGTH, Unit::Count, "XLEN of stream:tx:dead");
    describe_gauge!(
        READY,
        Unit::Count,
        "1 while /readyz reports ready (stores reachable, pipeline progressing)"
    );
    describe_gauge!(
        PROCESS_RSS_BYTES,
        Unit::Bytes,
        "Resident memory of this process"
    );
    describe_counter!(
        PROCESS_CPU_SECONDS,
        Unit::Seconds,
        "CPU time (user + system) used by this process"
    );
    describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "Always 1; labels carry the version and role"
    );
}
