DROP TABLE IF EXISTS wallet_profiles;
DROP TABLE IF EXISTS token_profiles;
