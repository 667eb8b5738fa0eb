-- Kitchen pacing: what each kitchen makes per quarter of an hour, which quarters each order's
-- pizzas take, and the time each order was promised for.

-- Set by the manager, changed live (« on est deux ce soir »). A new shop starts at 12 pizzas a
-- quarter and a 60-minute limit beyond which « dès que possible » is said as a time.
CREATE TABLE kitchen_capacity (
    pizzeria_id      BIGINT UNSIGNED   NOT NULL PRIMARY KEY,
    per_quarter      SMALLINT UNSIGNED NOT NULL DEFAULT 12,
    max_wait_minutes SMALLINT UNSIGNED NOT NULL DEFAULT 60,
    updated_at       DATETIME(6)       NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_by       BIGINT UNSIGNED   NULL,
    CONSTRAINT kitchen_capacity_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT kitchen_capacity_user_fk FOREIGN KEY (updated_by) REFERENCES users (id)
) ENGINE = InnoDB;

INSERT INTO kitchen_capacity (pizzeria_id) SELECT id FROM pizzerias;

-- The quarters an order's pizzas take (drinks take none). Written with the order under the
-- lock of the shop's kitchen_capacity row, removed when the order ends unmade.
CREATE TABLE kitchen_bookings (
    order_id    BIGINT UNSIGNED   NOT NULL,
    quarter_at  DATETIME(6)       NOT NULL,
    pizzeria_id BIGINT UNSIGNED   NOT NULL,
    pizzas      SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (order_id, quarter_at),
    CONSTRAINT kitchen_bookings_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT kitchen_bookings_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    INDEX kitchen_bookings_shop (pizzeria_id, quarter_at)
) ENGINE = InnoDB;

-- promised_at: when the customer was told it would be ready (pickup) or at the door
-- (delivery); kitchen_at: when the kitchen should start it.
ALTER TABLE orders
    ADD COLUMN promised_at DATETIME(6) NULL AFTER desired_at,
    ADD COLUMN kitchen_at  DATETIME(6) NULL AFTER promised_at;

-- From the oven to the door, per zone.
ALTER TABLE delivery_zones ADD COLUMN travel_minutes SMALLINT UNSIGNED NOT NULL DEFAULT 20;
