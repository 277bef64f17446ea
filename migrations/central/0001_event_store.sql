-- Central's event store: postgres-es's table layout, plus a global order and
-- the (store, SKU) of each stream as plain columns.
--
-- `position` numbers events as they are inserted; `tx_id` records the writing
-- transaction so readers following the log never skip an event whose
-- transaction commits after a later position was already visible (they read
-- only below pg_snapshot_xmin and order by (tx_id, position)).
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL DEFAULT '{}',
    position       bigint GENERATED ALWAYS AS IDENTITY,
    tx_id          xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz                  NOT NULL DEFAULT now(),
    -- The stream's store and SKU (aggregate_id is "<store_id>/<sku>"), so a
    -- store's changes can be read without parsing ids.
    store_id       text                         NOT NULL,
    sku            text                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE UNIQUE INDEX events_position_key ON events (position);
CREATE INDEX events_log_order ON events (tx_id, position);
CREATE INDEX events_store_log_order ON events (store_id, tx_id, position);

-- One row per stream, rewritten in the same transaction as every append, so
-- a command never replays a long history. Writers lock it FOR UPDATE to
-- serialize changes to one (store, SKU).
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
