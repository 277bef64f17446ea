-- Physical counts. A count that differs from the store's quantity is also a
-- change of kind `count` in `changes`; one that matches moves nothing and
-- is only here. The primary key is the count's idempotency record.
CREATE TABLE counts
(
    operation_id     uuid PRIMARY KEY,
    sku              text        NOT NULL,
    counted          bigint      NOT NULL,
    -- counted minus the store's quantity at the time; 0 when it matched.
    delta            bigint      NOT NULL,
    expected_version bigint,
    reason           text,
    client_id        text,
    counted_at       timestamptz NOT NULL,
    version_after    bigint      NOT NULL
);

-- When each SKU was last physically counted at this store.
ALTER TABLE stock ADD COLUMN last_counted_at timestamptz;
