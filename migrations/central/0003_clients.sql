-- OAuth2 clients allowed to obtain access tokens. Secrets are stored only as
-- argon2 PHC hashes.
CREATE TABLE clients
(
    client_id   text PRIMARY KEY,
    secret_hash text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('sync-worker', 'store', 'admin')),
    store_id    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'store') = (store_id IS NOT NULL))
);
