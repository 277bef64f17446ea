-- Projections of the store's log, written in the same transaction as the
-- events they come from; `rebuild-projections` recreates them from the log.

-- Stock per SKU.
CREATE TABLE stock
(
    sku                text PRIMARY KEY,
    name               text        NOT NULL,
    quantity           bigint      NOT NULL,
    confirmed_quantity bigint      NOT NULL,
    confirmed_version  bigint      NOT NULL,
    version            bigint      NOT NULL,
    pending_changes    integer     NOT NULL,
    last_operation_id  uuid,
    last_synced_at     timestamptz
);

-- Every local change and its sync status. The primary key is also the
-- store's idempotency record: one operation id per store, across all SKUs.
CREATE TABLE changes
(
    operation_id     uuid PRIMARY KEY,
    sku              text        NOT NULL,
    delta            bigint      NOT NULL,
    expected_version bigint,
    reason           text,
    occurred_at      timestamptz NOT NULL,
    quantity_after   bigint      NOT NULL,
    version_after    bigint      NOT NULL,
    position         bigint      NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'synced', 'rejected')),
    result_code      text,
    because_of       uuid,
    central_version  bigint,
    central_quantity bigint,
    settled_at       timestamptz,
    -- Operational retry state, set by the worker; not part of the log.
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    next_attempt_at  timestamptz
);
CREATE INDEX changes_pending_in_log_order ON changes (position) WHERE status = 'pending';

-- How far the store has read central's log of changes to this store.
CREATE TABLE central_checkpoint
(
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    cursor text NOT NULL
);
