-- Where each pizzeria delivers, one row per postal code with its terms (see catalog::zone): a
-- shop with no row does not deliver. Existing delivering shops start with their own postal
-- code, free and without minimum, so an upgrade does not stop their deliveries; managers then
-- set their real area.
CREATE TABLE delivery_zones (
    pizzeria_id     BIGINT UNSIGNED NOT NULL,
    postal_code     CHAR(5)         NOT NULL,
    fee_cents       INT UNSIGNED    NOT NULL,
    minimum_cents   INT UNSIGNED    NOT NULL,
    free_from_cents INT UNSIGNED    NULL,
    PRIMARY KEY (pizzeria_id, postal_code),
    CONSTRAINT delivery_zones_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO delivery_zones (pizzeria_id, postal_code, fee_cents, minimum_cents, free_from_cents)
SELECT id, postal_code, 0, 0, NULL FROM pizzerias WHERE offers_delivery;

-- The fee is part of the order's total; kept apart so tickets, e-mails and reports show it.
ALTER TABLE orders ADD COLUMN delivery_fee_cents INT UNSIGNED NOT NULL DEFAULT 0 AFTER total_cents;
