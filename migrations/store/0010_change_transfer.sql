-- The transfer a `transfer_out` change ships or a `transfer_in` change
-- receives, as its StockAdjusted event records it.
ALTER TABLE changes ADD COLUMN transfer_id uuid;
