UPDATE alert_deliveries SET status = 'sent' WHERE status = 'coalesced';
ALTER TABLE alert_deliveries
    DROP CONSTRAINT alert_deliveries_coalesced_has_digest,
    DROP COLUMN digest_id,
    DROP CONSTRAINT alert_deliveries_status_check,
    ADD CONSTRAINT alert_deliveries_status_check CHECK (status IN ('pending', 'sent', 'failed'));
DROP TABLE alert_digests;
