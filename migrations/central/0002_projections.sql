-- Projections of central's log, written in the same transaction as the
-- events they come from; `rebuild-projections` recreates them from the log.

-- Stock per (store, SKU). Chain-wide availability of a SKU is the sum over
-- its rows, served by the index on sku.
CREATE TABLE central_stock
(
    store_id text   NOT NULL,
    sku      text   NOT NULL,
    name     text   NOT NULL,
    quantity bigint NOT NULL CHECK (quantity >= 0),
    version  bigint NOT NULL CHECK (version >= 0),
    PRIMARY KEY (store_id, sku)
);
CREATE INDEX central_stock_by_sku ON central_stock (sku, store_id);

-- The idempotency record: the final outcome of every operation id, per
-- store across all SKUs. The primary key makes two racing pushes of one
-- operation apply it at most once. Retryable outcomes (version_ahead,
-- sku_not_found) are not recorded.
CREATE TABLE operations
(
    store_id         text        NOT NULL,
    operation_id     uuid        NOT NULL,
    sku              text        NOT NULL,
    delta            bigint      NOT NULL,
    expected_version bigint,
    outcome          text        NOT NULL
        CHECK (outcome IN ('applied', 'version_conflict', 'insufficient_stock')),
    version          bigint      NOT NULL,
    quantity         bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, operation_id)
);
