ALTER TABLE alerts DROP COLUMN sol_usd, DROP COLUMN cto, DROP COLUMN window_class;
