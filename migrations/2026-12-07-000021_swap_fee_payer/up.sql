-- Who paid each swap's transaction fee (its first account key, the first signer). Usually the
-- trading wallet itself; when it is another wallet (a bundle signed by one payer, a wallet paying
-- for a buyer), the buyer and the payer's other buyers are one actor for the clusters (issue 11).
--
-- NULL for rows written before this migration (unknown: such rows link nothing). No index: the
-- cluster query reads one mint's recent buys through idx_swap_events_base_mint and groups them.
-- Adding a nullable column without a default is a catalogue change only (no table rewrite).
ALTER TABLE swap_events ADD COLUMN fee_payer TEXT COLLATE "C";
