-- The address a counter or phone customer gave when it belongs to a web account the order is
-- not attached to (see account::user::walk_in): the order's e-mails go there.
ALTER TABLE orders ADD COLUMN contact_email VARCHAR(254) NULL AFTER customer_phone;

-- Counter and phone orders are found by their staff-scoped key alone (their customer record is
-- new each time): see order::place::find_by_staff_key.
CREATE INDEX orders_idempotency_key ON orders (idempotency_key);
