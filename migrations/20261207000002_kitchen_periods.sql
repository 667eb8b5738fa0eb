-- A capacity of its own for an opening period (lunch with one pizzaiolo, the evening with
-- three): Paris local minutes since midnight, the shop's figure outside them.
CREATE TABLE kitchen_periods (
    pizzeria_id   BIGINT UNSIGNED   NOT NULL,
    opens_minute  SMALLINT UNSIGNED NOT NULL,
    closes_minute SMALLINT UNSIGNED NOT NULL,
    per_quarter   SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (pizzeria_id, opens_minute),
    CONSTRAINT kitchen_periods_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id)
) ENGINE = InnoDB;
