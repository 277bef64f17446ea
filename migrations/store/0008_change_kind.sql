-- What kind of movement each local change is (sale, return, receipt,
-- damage, adjustment, count, transfer_out, transfer_in), as its
-- StockAdjusted event records it; changes from before kinds existed are
-- adjustments.
ALTER TABLE changes ADD COLUMN kind text NOT NULL DEFAULT 'adjustment';
