-- A modified order re-reserves only the difference, so an order may hold several reservation
-- (or release) rows per ingredient: one per order version. The unique key still stops a
-- redelivered message from applying the same version twice.
ALTER TABLE stock_ledger ADD COLUMN order_version INT UNSIGNED NULL AFTER order_id;
ALTER TABLE stock_ledger ADD CONSTRAINT stock_ledger_once_per_version UNIQUE (order_id, ingredient_id, reason, order_version);
ALTER TABLE stock_ledger DROP INDEX stock_ledger_once_per_order;
