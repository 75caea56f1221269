-- What a message shows besides the alert's metrics, so that a message formatted from the outbox
-- (also after a restart) is the one the detector decided: the window of the trigger that fired
-- ('5m' or '1h'), the CTO score with its evidence and components
-- ({"score": 0.41, "evidence": ["..."], "components": [["concentration", 0.8], ...]}), and the
-- SOL/USD price the market cap is shown in.
ALTER TABLE alerts
    ADD COLUMN window_class TEXT NOT NULL DEFAULT '5m' CHECK (window_class IN ('5m', '1h')),
    ADD COLUMN cto JSONB CHECK (cto IS NULL OR jsonb_typeof(cto) = 'object'),
    ADD COLUMN sol_usd DOUBLE PRECISION;
