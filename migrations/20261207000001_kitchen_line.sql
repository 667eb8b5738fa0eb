-- The kitchen's line: one row per order with pizzas to make, written with its bookings under
-- the lock of the shop's kitchen_capacity row, so a checkout reading it with a locking read
-- sees every order placed before it (its own snapshot may be older than the lock). Rows of
-- orders made or ended are removed by the promise keeper's rounds.
CREATE TABLE kitchen_line (
    order_id       BIGINT UNSIGNED   NOT NULL PRIMARY KEY,
    pizzeria_id    BIGINT UNSIGNED   NOT NULL,
    pizzas         SMALLINT UNSIGNED NOT NULL,
    -- When the kitchen may start it (orders.kitchen_at) and the ride after it.
    may_start      DATETIME(6)       NOT NULL,
    travel_minutes SMALLINT UNSIGNED NOT NULL,
    -- What the customer holds now (orders.promised_at), moved with it.
    promised_at    DATETIME(6)       NOT NULL,
    CONSTRAINT kitchen_line_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT kitchen_line_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    INDEX kitchen_line_shop (pizzeria_id)
) ENGINE = InnoDB;

INSERT INTO kitchen_line (order_id, pizzeria_id, pizzas, may_start, travel_minutes, promised_at)
SELECT o.id, o.pizzeria_id, SUM(b.pizzas), COALESCE(o.kitchen_at, o.created_at),
       CASE WHEN o.fulfilment = 'delivery' THEN COALESCE(MIN(z.travel_minutes), 20) ELSE 0 END,
       COALESCE(o.promised_at, o.desired_at, o.created_at)
FROM orders o
JOIN kitchen_bookings b ON b.order_id = o.id
LEFT JOIN delivery_zones z ON z.pizzeria_id = o.pizzeria_id AND z.postal_code = o.delivery_postal_code
WHERE o.status IN ('awaiting_payment', 'placed', 'confirmed', 'preparing')
GROUP BY o.id;
