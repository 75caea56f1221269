ALTER TABLE alerts DROP COLUMN IF EXISTS wallet_intel;
ALTER TABLE wallet_profiles
    DROP COLUMN IF EXISTS funded_at,
    DROP COLUMN IF EXISTS funding_signature,
    DROP COLUMN IF EXISTS funding_source,
    DROP COLUMN IF EXISTS funding_fee_payer,
    DROP COLUMN IF EXISTS funding_status,
    DROP COLUMN IF EXISTS signature_count,
    DROP COLUMN IF EXISTS funding_traced_at;
