-- Transfers between stores. Their events are in `events` under aggregate
-- type 'Transfer' (aggregate id = the transfer id), with store_id set to
-- '~transfers' so no store's feed of changes holds them and the transfer
-- feed reads them through events_store_log_order.

-- A transfer step central refused (a shipment of a cancelled transfer) is
-- a final outcome like a refusal for stock or version.
ALTER TABLE operations DROP CONSTRAINT operations_outcome_check;
ALTER TABLE operations ADD CONSTRAINT operations_outcome_check
    CHECK (outcome IN ('applied', 'version_conflict', 'insufficient_stock', 'transfer_refused'));

-- Every transfer and where it stands, written with its events.
CREATE TABLE transfers
(
    transfer_id  uuid PRIMARY KEY,
    from_store   text        NOT NULL,
    to_store     text        NOT NULL,
    sku          text        NOT NULL,
    quantity     bigint      NOT NULL CHECK (quantity > 0),
    status       text        NOT NULL
        CHECK (status IN ('requested', 'shipped', 'received', 'cancelled')),
    shipped      bigint,
    received     bigint,
    -- shipped minus received, once received.
    discrepancy  bigint,
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    -- The transfer stream's last sequence: a store keeps the newest copy.
    version      bigint      NOT NULL
);
-- Units in transit per SKU (shipped, not yet received).
CREATE INDEX transfers_in_transit ON transfers (sku) WHERE status = 'shipped';
CREATE INDEX transfers_from_store ON transfers (from_store, transfer_id);
CREATE INDEX transfers_to_store ON transfers (to_store, transfer_id);
