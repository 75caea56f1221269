DROP TABLE IF EXISTS swap_events;
