DROP TABLE alert_outcomes;
DROP TRIGGER alerts_chain_time ON alerts;
DROP FUNCTION alerts_chain_time();
ALTER TABLE alerts DROP COLUMN chain_time;
