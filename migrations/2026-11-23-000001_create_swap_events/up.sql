-- One row per inferred swap leg. (signature, leg) is the idempotency key: a transaction processed
-- twice (redelivery, reclaim, duplicate ingest) inserts nothing the second time
-- (INSERT ... ON CONFLICT (signature, leg) DO NOTHING).
--
-- Column names follow the reference schema so its queries keep working; its defects are fixed:
-- raw amounts are NUMERIC(20,0) (a u64 does not fit BIGINT), the key is (signature, leg) (one
-- transaction can hold several swaps of the same mint), and rows are deleted by block_time.
--
-- Write cost matters (tens of thousands of rows/s): only two secondary indexes. Base58 keys use the
-- "C" collation so btree comparisons are byte comparisons whatever the database's locale.
CREATE TABLE swap_events (
    signature          TEXT COLLATE "C" NOT NULL,
    leg                SMALLINT         NOT NULL,
    slot               BIGINT           NOT NULL,
    -- Unix seconds. The writer always supplies one (the block time, or its receive time).
    block_time         BIGINT           NOT NULL,
    venue              TEXT             NOT NULL,
    user_wallet        TEXT COLLATE "C" NOT NULL,
    side               TEXT             NOT NULL CHECK (side IN ('buy', 'sell')),
    base_mint          TEXT COLLATE "C" NOT NULL,
    base_amount        NUMERIC(20, 0)   NOT NULL,
    base_decimals      SMALLINT         NOT NULL,
    quote_mint         TEXT COLLATE "C" NOT NULL,
    quote_amount       NUMERIC(20, 0)   NOT NULL,
    quote_decimals     SMALLINT         NOT NULL,
    -- The swap's value in lamports; NULL when unknown (token->token, or no SOL/USD price yet).
    sol_value_lamports NUMERIC(20, 0),
    created_at         TIMESTAMPTZ      NOT NULL DEFAULT now(),
    PRIMARY KEY (signature, leg)
);

-- Per-mint history (recent swaps, top buyers of a mint).
CREATE INDEX idx_swap_events_base_mint ON swap_events (base_mint, block_time DESC);
-- Retention (DELETE ... WHERE block_time < cutoff) and "last N seconds" queries.
CREATE INDEX idx_swap_events_block_time ON swap_events (block_time);
