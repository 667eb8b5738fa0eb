-- The rider who took a delivery: their run comes first on their screen, and closing someone
-- else's delivery has to be said.
ALTER TABLE orders
    ADD COLUMN driver_id BIGINT UNSIGNED NULL AFTER customer_id,
    ADD CONSTRAINT orders_driver_fk FOREIGN KEY (driver_id) REFERENCES users (id),
    ADD INDEX orders_driver (driver_id, status);
