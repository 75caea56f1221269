-- SOL sent from one traced buyer to another (issue 11): found by the funding trace in the
-- transactions two buyers' signature lists share, confirmed by reading the transaction. Kept
-- for good like the funding cache, so a later alert on the same wallets is linked the same way
-- without a request. lamports: what the receiver's balance rose by.
CREATE TABLE wallet_transfers (
    sender     TEXT COLLATE "C" NOT NULL,
    receiver   TEXT COLLATE "C" NOT NULL,
    signature  TEXT COLLATE "C" NOT NULL,
    lamports   BIGINT           NOT NULL,
    block_time BIGINT,
    found_at   TIMESTAMPTZ      NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, receiver, signature)
);
CREATE INDEX idx_wallet_transfers_receiver ON wallet_transfers (receiver);
