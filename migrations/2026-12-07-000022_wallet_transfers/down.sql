DROP TABLE IF EXISTS wallet_transfers;
