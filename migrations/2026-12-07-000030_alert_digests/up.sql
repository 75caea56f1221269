-- The freshness bound (alerts.max_delivery_delay_secs): when a channel's rate limit would deliver
-- its waiting alerts too late, they go out as one digest message. Each digest sent is a row here;
-- every alert it covered keeps its delivery row, now 'coalesced' and pointing at the digest, so
-- nothing is dropped silently and `status` can say delivered / coalesced / waiting.
CREATE TABLE alert_digests (
    id          BIGSERIAL   PRIMARY KEY,
    channel     TEXT        NOT NULL,
    alert_count INTEGER     NOT NULL CHECK (alert_count >= 0),
    sent_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE alert_deliveries
    DROP CONSTRAINT alert_deliveries_status_check,
    ADD CONSTRAINT alert_deliveries_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'coalesced')),
    ADD COLUMN digest_id BIGINT REFERENCES alert_digests (id),
    ADD CONSTRAINT alert_deliveries_coalesced_has_digest
        CHECK ((status = 'coalesced') = (digest_id IS NOT NULL));

CREATE INDEX idx_alert_deliveries_digest ON alert_deliveries (digest_id) WHERE digest_id IS NOT NULL;
