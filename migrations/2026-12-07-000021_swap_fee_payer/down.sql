ALTER TABLE swap_events DROP COLUMN IF EXISTS fee_payer;
