-- Holds for online orders at this store, as central last told it (through
-- the worker's pull of the store's part of central's log): a copy of
-- central's figures, not a projection of this store's log.
CREATE TABLE holds
(
    reservation_id uuid PRIMARY KEY,
    sku            text        NOT NULL,
    quantity       bigint      NOT NULL,
    status         text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    -- The hold stream's sequence at central: an older copy never wins.
    version        bigint      NOT NULL
);
CREATE INDEX holds_held ON holds (sku) WHERE status = 'held';

-- The reservation a sale picks up, as its StockAdjusted event records it.
ALTER TABLE changes ADD COLUMN reservation_id uuid;
CREATE INDEX changes_by_reservation ON changes (reservation_id) WHERE reservation_id IS NOT NULL;
