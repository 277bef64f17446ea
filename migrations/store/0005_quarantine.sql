-- A pending change the worker set aside because central refuses any batch
-- holding it (a 4xx for the whole batch, not an answer for the change):
-- the worker's bookkeeping, like `attempts`, not part of the log. The
-- worker's pending list skips it until an operator releases it.
ALTER TABLE changes ADD COLUMN quarantined_at timestamptz;
