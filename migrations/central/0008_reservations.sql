-- Holds for online orders. A hold's events are in `events` under aggregate
-- type 'Hold' (aggregate id = the reservation id) with the store's id and
-- the SKU, so they travel in the store's own part of the log.

-- Every reservation and where it stands, written with its events.
CREATE TABLE reservations
(
    reservation_id uuid PRIMARY KEY,
    store_id       text        NOT NULL,
    sku            text        NOT NULL,
    quantity       bigint      NOT NULL CHECK (quantity > 0),
    status         text        NOT NULL
        CHECK (status IN ('held', 'fulfilled', 'released', 'expired', 'short')),
    expires_at     timestamptz NOT NULL,
    placed_at      timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL
);
-- Units held per (store, SKU), and the holds due to expire.
CREATE INDEX reservations_held ON reservations (store_id, sku) WHERE status = 'held';
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'held';
CREATE INDEX reservations_by_store ON reservations (store_id, reservation_id);

-- Reorder points: below or at `level` available units, a SKU is low.
CREATE TABLE reorder_points
(
    store_id text   NOT NULL,
    sku      text   NOT NULL,
    level    bigint NOT NULL CHECK (level >= 0),
    PRIMARY KEY (store_id, sku)
);

-- What is low now: one row per (store, SKU) from its `stock.low` until its
-- `stock.restored`.
CREATE TABLE low_stock
(
    store_id  text        NOT NULL,
    sku       text        NOT NULL,
    available bigint      NOT NULL,
    level     bigint      NOT NULL,
    since     timestamptz NOT NULL,
    PRIMARY KEY (store_id, sku)
);

-- Messages to publish, written in the transaction that decided them and
-- deleted once the broker confirmed them.
CREATE TABLE outbox
(
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  uuid        NOT NULL,
    routing_key text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
