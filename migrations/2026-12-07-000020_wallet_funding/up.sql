-- The funding trace (issue 11): for each wallet looked up, who sent it its first SOL and when,
-- fetched once from the JSON-RPC provider and never again (a row with funding_status set is the
-- cache). Wallets whose trace could not run (no RPC, budget spent, provider errors) get no row:
-- they are unknown, retried at a later alert, never guessed.
--
--   funding_status   'funded'       funded_by / funded_at / funding_amount_sol / funding_signature
--                                   describe the first inbound SOL transfer;
--                    'no_inbound'   the oldest transaction moved no SOL into the wallet;
--                    'established'  the history is longer than the trace pages through (an old,
--                                   busy wallet: not fresh, its funder is not looked for).
--   funding_hop      how far from an alert's buyer the wallet was first traced (0 = a buyer).
--   funding_source   the label of funded_by when it is a labelled exchange or program.
--   funding_fee_payer who paid the fee of the funding transaction (a shared payer links wallets).
--   signature_count  signatures seen while paging (exact unless 'established').
ALTER TABLE wallet_profiles
    ADD COLUMN funded_at         TIMESTAMPTZ,
    ADD COLUMN funding_signature TEXT,
    ADD COLUMN funding_source    TEXT,
    ADD COLUMN funding_fee_payer TEXT,
    ADD COLUMN funding_status    TEXT CHECK (funding_status IS NULL OR
                                   funding_status IN ('funded', 'no_inbound', 'established')),
    ADD COLUMN signature_count   INTEGER,
    ADD COLUMN funding_traced_at TIMESTAMPTZ;

-- What an alert learned about its buyers: clusters with their members, sizes and volumes, the
-- largest cluster's share of the window's buy volume, the funding chains, and which inputs were
-- missing (the "Limited Analysis" section). Filled later when the trace outlived the latency
-- budget (wallet_intel.late = true).
ALTER TABLE alerts
    ADD COLUMN wallet_intel JSONB CHECK (wallet_intel IS NULL OR jsonb_typeof(wallet_intel) = 'object');
