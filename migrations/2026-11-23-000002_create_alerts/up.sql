-- The alert outbox. The Alerter inserts the alert and one alert_deliveries row per channel in one
-- transaction, then sends; each delivery row records its own status, attempts and next attempt, so
-- a crash between "decided" and "sent" loses nothing and a retry never sends twice what was sent.
--
-- Names follow the reference schema; its defects are fixed: top_buyers must be a JSON array (the
-- reference stored a Python repr and lost every alert with buyers), token_supply is NUMERIC (raw
-- supplies overflow BIGINT), and dedup_key makes an alert decision replayed after a crash insert
-- once (INSERT ... ON CONFLICT (dedup_key) DO NOTHING).
CREATE TABLE alerts (
    id                  BIGSERIAL PRIMARY KEY,
    mint                TEXT             NOT NULL,
    token_name          TEXT,
    token_symbol        TEXT,
    trigger_name        TEXT             NOT NULL,
    trigger_reason      TEXT             NOT NULL,
    -- Every metric of the window that fired, by its trigger-grammar name
    -- ({"buy_count_5m": 12, "buy_volume_sol_5m": 3.5, ...}).
    metrics             JSONB            NOT NULL DEFAULT '{}'::jsonb
                        CHECK (jsonb_typeof(metrics) = 'object'),
    top_buyers          JSONB            NOT NULL DEFAULT '[]'::jsonb
                        CHECK (jsonb_typeof(top_buyers) = 'array'),
    cluster_summary     TEXT,
    enrichment_degraded BOOLEAN          NOT NULL DEFAULT FALSE,
    price_sol           DOUBLE PRECISION,
    mcap_sol            DOUBLE PRECISION,
    token_supply        NUMERIC,
    venue               TEXT,
    token_image         TEXT,
    created_at          TIMESTAMPTZ      NOT NULL DEFAULT now(),
    -- Identifies the decision (e.g. mint + trigger + window); a replay inserts nothing.
    dedup_key           TEXT             NOT NULL UNIQUE,

    -- The reference's per-metric columns, derived from `metrics` so that its API and scripts keep
    -- working. Only JSON numbers in range are taken; anything else (absent, a string, null, out of
    -- range) gives NULL rather than failing the insert of an alert.
    buy_count_5m        INTEGER GENERATED ALWAYS AS (
        CASE WHEN jsonb_typeof(metrics -> 'buy_count_5m') = 'number'
                  AND (metrics ->> 'buy_count_5m')::numeric BETWEEN -2147483648 AND 2147483647
             THEN round((metrics ->> 'buy_count_5m')::numeric)::integer END) STORED,
    unique_buyers_5m    INTEGER GENERATED ALWAYS AS (
        CASE WHEN jsonb_typeof(metrics -> 'unique_buyers_5m') = 'number'
                  AND (metrics ->> 'unique_buyers_5m')::numeric BETWEEN -2147483648 AND 2147483647
             THEN round((metrics ->> 'unique_buyers_5m')::numeric)::integer END) STORED,
    volume_sol_5m       DOUBLE PRECISION GENERATED ALWAYS AS (
        CASE WHEN jsonb_typeof(metrics -> 'buy_volume_sol_5m') = 'number'
             THEN (metrics ->> 'buy_volume_sol_5m')::double precision END) STORED,
    buy_sell_ratio_5m   DOUBLE PRECISION GENERATED ALWAYS AS (
        CASE WHEN jsonb_typeof(metrics -> 'buy_sell_ratio_5m') = 'number'
             THEN (metrics ->> 'buy_sell_ratio_5m')::double precision END) STORED
);

CREATE INDEX idx_alerts_mint ON alerts (mint, created_at DESC);
CREATE INDEX idx_alerts_created_at ON alerts (created_at DESC);

-- One row per (alert, channel): 'discord', 'telegram', ...
-- last_error must never hold a webhook URL or bot token (invariant 7).
CREATE TABLE alert_deliveries (
    alert_id        BIGINT      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel         TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, channel)
);

-- The sender's work queue: WHERE status = 'pending' AND next_attempt_at <= now().
CREATE INDEX idx_alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
