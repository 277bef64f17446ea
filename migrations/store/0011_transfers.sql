-- The transfers this store sends or receives, as central last told it
-- (through the worker's pull of central's transfer feed): a copy of
-- central's figures, not a projection of this store's log. The store's own
-- steps are its changes (`changes.transfer_id`).
CREATE TABLE transfers
(
    transfer_id  uuid PRIMARY KEY,
    from_store   text        NOT NULL,
    to_store     text        NOT NULL,
    sku          text        NOT NULL,
    quantity     bigint      NOT NULL,
    status       text        NOT NULL,
    shipped      bigint,
    received     bigint,
    discrepancy  bigint,
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    -- Central's step count: an older copy never replaces a newer one.
    version      bigint      NOT NULL
);

-- How far the store has read central's transfer feed.
CREATE TABLE transfer_checkpoint
(
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    cursor text NOT NULL
);

-- A transfer's steps at this store (at most one change of each kind).
CREATE INDEX changes_by_transfer ON changes (transfer_id) WHERE transfer_id IS NOT NULL;
