-- The store's event store: postgres-es's table layout, plus a global order.
--
-- `position` numbers events as they are inserted; `tx_id` records the writing
-- transaction so readers following the log never skip an event whose
-- transaction commits after a later position was already visible
-- (they read only below pg_snapshot_xmin and order by (tx_id, position)).
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
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE UNIQUE INDEX events_position_key ON events (position);
CREATE INDEX events_log_order ON events (tx_id, position);

-- One row per stream, rewritten in the same transaction as every append, so
-- a command never replays a long history.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
