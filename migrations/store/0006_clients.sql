-- The store's own OAuth2 clients: its tills (`pos`), staff (`manager`) and
-- read-only users (`viewer`). The store issues their tokens itself, so they
-- keep working while central is unreachable. Same shape as central's
-- `clients` table, so one piece of code serves both; a store's clients act
-- for this store only, so `store_id` stays empty. Secrets are stored only
-- as argon2 PHC hashes.
CREATE TABLE clients
(
    client_id   text PRIMARY KEY,
    secret_hash text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('pos', 'manager', 'viewer')),
    store_id    text CHECK (store_id IS NULL),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
