-- The pending compare-and-set changes of a SKU, which a rejection drags
-- along (DESIGN.md, "Store side"). Without it, recording a rejected outcome
-- scans every pending change of the store.
CREATE INDEX changes_pending_conditional_by_sku ON changes (sku, position)
    WHERE status = 'pending' AND expected_version IS NOT NULL;
