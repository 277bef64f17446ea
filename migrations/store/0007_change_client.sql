-- The store client (till or staff) whose token made each local change, as
-- its StockAdjusted event records it; empty when the local API ran without
-- authentication (LOCAL_AUTH=off) and for changes made before this column.
ALTER TABLE changes ADD COLUMN client_id text;
