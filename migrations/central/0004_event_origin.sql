-- Where each change was made (`store` or `head_office`; NULL for events that
-- are not changes), so a store's sync reads only head office's changes to
-- it instead of reading back every change the store itself pushed.
ALTER TABLE events
    ADD COLUMN origin text GENERATED ALWAYS AS (payload #>> '{ChangeApplied,origin}') STORED;
CREATE INDEX events_store_origin_log_order ON events (store_id, origin, tx_id, position);
