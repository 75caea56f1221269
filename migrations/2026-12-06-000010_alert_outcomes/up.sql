-- What the token did after each alert, from our own swap_events (no outside price feed), filled in
-- by the detect role as each horizon passes: the price at the alert and 5 m, 15 m, 1 h, 6 h and
-- 24 h after it (the last priced trade at or before each point), the largest run-up and drawdown
-- within 1 h and 24 h, the buy/sell volume after the alert, and whether the token stopped trading.
-- Kept after swap_events retention removes the rows it was computed from.
--
-- Prices are SOL per whole token. Run-ups and drawdowns are fractions of the alert price
-- (1.0 = +100 %, i.e. 2×; -0.5 = half); 0 when the mint did not trade in the period.

-- The chain time of an alert: the newest block time stored when the alert row was written (the
-- detector's windows were evaluated at the newest block counted, and every counted swap is in
-- swap_events before it is counted). A writer that knows it better may set it.
ALTER TABLE alerts ADD COLUMN chain_time BIGINT;

CREATE FUNCTION alerts_chain_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.chain_time IS NULL THEN
        NEW.chain_time := (SELECT max(block_time) FROM swap_events);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER alerts_chain_time BEFORE INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION alerts_chain_time();

CREATE TABLE alert_outcomes (
    alert_id            BIGINT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    mint                TEXT COLLATE "C" NOT NULL,
    trigger_name        TEXT             NOT NULL,
    -- Unix seconds on the block-time axis (alerts.chain_time, else its created_at).
    alert_time          BIGINT           NOT NULL,
    price_0             DOUBLE PRECISION,
    price_5m            DOUBLE PRECISION,
    price_15m           DOUBLE PRECISION,
    price_1h            DOUBLE PRECISION,
    price_6h            DOUBLE PRECISION,
    price_24h           DOUBLE PRECISION,
    max_runup_1h        DOUBLE PRECISION,
    max_drawdown_1h     DOUBLE PRECISION,
    max_runup_24h       DOUBLE PRECISION,
    max_drawdown_24h    DOUBLE PRECISION,
    buy_volume_sol_1h   DOUBLE PRECISION,
    sell_volume_sol_1h  DOUBLE PRECISION,
    buy_volume_sol_24h  DOUBLE PRECISION,
    sell_volume_sol_24h DOUBLE PRECISION,
    -- Trades of the mint (any quote) within 24 h after the alert, and the last one's block time.
    trades_24h          INTEGER,
    last_trade_time     BIGINT,
    -- No trade in the last 6 hours of the 24 h horizon.
    stopped_trading     BOOLEAN,
    -- How many of the six points (alert, 5 m, 15 m, 1 h, 6 h, 24 h) are filled in, in order.
    horizons_done       SMALLINT         NOT NULL DEFAULT 0 CHECK (horizons_done BETWEEN 0 AND 6),
    updated_at          TIMESTAMPTZ      NOT NULL DEFAULT now()
);

-- The filler's work queue: unfinished outcomes, oldest first.
CREATE INDEX idx_alert_outcomes_due ON alert_outcomes (alert_time) WHERE horizons_done < 6;
-- Scoreboards and track records per trigger.
CREATE INDEX idx_alert_outcomes_trigger ON alert_outcomes (trigger_name, alert_time DESC);
