-- The kind of each recorded operation (sale, receipt, …), so a repeat of an
-- operation id with another kind is refused as a reuse, not replayed.
-- Operations from before kinds existed are adjustments.
ALTER TABLE operations ADD COLUMN kind text NOT NULL DEFAULT 'adjustment';
