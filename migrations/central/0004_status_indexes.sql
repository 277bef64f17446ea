-- Indexes for the operators' status page (`GET /status`, every 5 s), so a
-- load reads a few index pages instead of scanning `events` and `operations`.
-- Both are partial: rows the page never asks for get no entry.

-- Applied changes by store, origin and time. It serves each store's newest
-- store-origin and newest head-office change (one backward descent per
-- store and origin), and the store changes of the propagation window (one
-- range per store, the stores found by skipping through the index), so
-- neither depends on the log's size.
CREATE INDEX events_changes_by_store_origin
    ON events (store_id, (payload -> 'ChangeApplied' ->> 'origin'), recorded_at)
    WHERE event_type = 'ChangeApplied';

-- The latest refused operations, in the page's order. Refusals are a small
-- share of operations; `applied` ones get no entry.
CREATE INDEX operations_refused_by_recorded_at
    ON operations (recorded_at DESC, store_id, operation_id DESC)
    WHERE outcome IN ('version_conflict', 'insufficient_stock');
