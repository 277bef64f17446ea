-- A disabled client obtains no new token; tokens it already holds work until
-- they expire (the token lifetime, TOKEN_TTL).
ALTER TABLE clients ADD COLUMN disabled_at timestamptz;
