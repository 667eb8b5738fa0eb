-- VAT is a property of the product (France: 10 % for food eaten soon, 5.5 % for food to keep,
-- 20 % for alcohol) and each order line keeps the rate it was sold at, like its price.
ALTER TABLE pizzas
    ADD COLUMN vat_rate ENUM('5.5', '10', '20') NOT NULL DEFAULT '10' AFTER price_cents;
ALTER TABLE order_lines
    ADD COLUMN vat_rate ENUM('5.5', '10', '20') NOT NULL DEFAULT '10' AFTER unit_price_cents;

-- « 86 »: a pizza a shop stops selling for now (out of dough balls, the oven's stone cracked),
-- without touching the stock or the group's menu. A row means sold out until someone lifts it.
CREATE TABLE sold_out (
    pizzeria_id BIGINT UNSIGNED NOT NULL,
    pizza_id    BIGINT UNSIGNED NOT NULL,
    since       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    by_user     BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (pizzeria_id, pizza_id),
    CONSTRAINT sold_out_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT sold_out_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id),
    CONSTRAINT sold_out_user_fk FOREIGN KEY (by_user) REFERENCES users (id)
) ENGINE = InnoDB;

-- When the money was taken, for the end-of-day report (a refund later changes `updated_at`).
ALTER TABLE payments ADD COLUMN captured_at DATETIME(6) NULL AFTER refunded_cents;
UPDATE payments SET captured_at = updated_at WHERE status IN ('captured', 'refunded', 'collected');
