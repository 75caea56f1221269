-- Per-token and per-wallet profiles, shaped like the reference schema (same table and column
-- names). Counters are BIGINT (INTEGER in the reference).

CREATE TABLE token_profiles (
    mint             TEXT COLLATE "C" PRIMARY KEY,
    state            TEXT             NOT NULL DEFAULT 'cold'
                     CHECK (state IN ('cold', 'warm', 'hot')),
    first_seen       TIMESTAMPTZ,
    last_seen        TIMESTAMPTZ,
    became_hot_at    TIMESTAMPTZ,
    total_buys       BIGINT           NOT NULL DEFAULT 0,
    total_sells      BIGINT           NOT NULL DEFAULT 0,
    total_volume_sol DOUBLE PRECISION NOT NULL DEFAULT 0,
    unique_buyers    BIGINT           NOT NULL DEFAULT 0,
    unique_sellers   BIGINT           NOT NULL DEFAULT 0,
    trigger_reason   TEXT,
    name             TEXT,
    symbol           TEXT,
    decimals         SMALLINT         NOT NULL DEFAULT 9,
    token_supply     NUMERIC,
    created_at       TIMESTAMPTZ      NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ      NOT NULL DEFAULT now()
);

CREATE TABLE wallet_profiles (
    address            TEXT COLLATE "C" PRIMARY KEY,
    first_seen         TIMESTAMPTZ,
    last_seen          TIMESTAMPTZ,
    total_buys         BIGINT           NOT NULL DEFAULT 0,
    total_sells        BIGINT           NOT NULL DEFAULT 0,
    total_volume_sol   DOUBLE PRECISION NOT NULL DEFAULT 0,
    tokens_traded      TEXT[]           NOT NULL DEFAULT '{}',
    cluster_id         TEXT,
    cluster_size       INTEGER          NOT NULL DEFAULT 1,
    -- The wallet that funded this one (first inbound SOL transfer), and how many hops back.
    funded_by          TEXT COLLATE "C",
    funding_amount_sol DOUBLE PRECISION,
    funding_hop        INTEGER          NOT NULL DEFAULT 0,
    is_new_wallet      BOOLEAN          NOT NULL DEFAULT FALSE,
    cto_score          DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ      NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ      NOT NULL DEFAULT now()
);

-- Clustering: siblings funded by the same wallet, members of a cluster.
CREATE INDEX idx_wallet_profiles_funded_by ON wallet_profiles (funded_by)
    WHERE funded_by IS NOT NULL;
CREATE INDEX idx_wallet_profiles_cluster_id ON wallet_profiles (cluster_id)
    WHERE cluster_id IS NOT NULL;
