-- The staff screens ask "has anything changed in this pizzeria's orders?" every second:
-- MAX(updated_at) per pizzeria, answered from this index alone.
CREATE INDEX orders_pizzeria_updated ON orders (pizzeria_id, updated_at);
