-- The menu beyond one size of each pizza: product categories, sizes with their own prices and
-- recipe quantities, option groups (extras, alternatives), ingredient removals, allergens and
-- diet tags, and what each order line was sold with and takes from the stock.

-- Drinks, desserts and starters are products like pizzas: a recipe of one stocked item each.
ALTER TABLE pizzas
    ADD COLUMN category ENUM('pizza', 'starter', 'drink', 'dessert') NOT NULL DEFAULT 'pizza' AFTER description,
    ADD COLUMN position SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER category;

-- The 14 allergens of EU regulation 1169/2011 (space-separated codes, parsed by the catalog),
-- what the ingredient means for a diet, and whether it is hot. An ingredient not yet described
-- counts as animal: no dish claims to be vegetarian by omission.
ALTER TABLE ingredients
    ADD COLUMN allergens VARCHAR(200) NOT NULL DEFAULT '',
    ADD COLUMN diet ENUM('vegan', 'vegetarian', 'animal') NOT NULL DEFAULT 'animal',
    ADD COLUMN spicy BOOLEAN NOT NULL DEFAULT FALSE;

-- Whether the customer may ask for the pizza without it (not the dough).
ALTER TABLE recipe_lines ADD COLUMN removable BOOLEAN NOT NULL DEFAULT TRUE AFTER note;

-- The group's sizes; a recipe's quantities are for the size of factor 100.
CREATE TABLE sizes (
    id         BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    code       VARCHAR(32)       NOT NULL,
    name       VARCHAR(60)       NOT NULL,
    factor_pct SMALLINT UNSIGNED NOT NULL,
    position   SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    CONSTRAINT sizes_code_unique UNIQUE (code),
    CONSTRAINT sizes_factor_positive CHECK (factor_pct > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The sizes a pizza is sold in, each at its price. A pizza without rows has one size, at
-- `pizzas.price_cents`.
CREATE TABLE pizza_sizes (
    pizza_id    BIGINT UNSIGNED NOT NULL,
    size_id     BIGINT UNSIGNED NOT NULL,
    price_cents INT UNSIGNED    NOT NULL,
    PRIMARY KEY (pizza_id, size_id),
    CONSTRAINT pizza_sizes_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id) ON DELETE CASCADE,
    CONSTRAINT pizza_sizes_size_fk FOREIGN KEY (size_id) REFERENCES sizes (id) ON DELETE CASCADE,
    CONSTRAINT pizza_sizes_price_positive CHECK (price_cents > 0)
) ENGINE = InnoDB;

-- A recipe quantity for one size where the factor's rule does not fit (one dough ball for
-- every size, say).
CREATE TABLE recipe_size_quantities (
    pizza_id      BIGINT UNSIGNED NOT NULL,
    ingredient_id BIGINT UNSIGNED NOT NULL,
    size_id       BIGINT UNSIGNED NOT NULL,
    quantity      INT UNSIGNED    NOT NULL,
    PRIMARY KEY (pizza_id, ingredient_id, size_id),
    CONSTRAINT recipe_size_line_fk FOREIGN KEY (pizza_id, ingredient_id) REFERENCES recipe_lines (pizza_id, ingredient_id) ON DELETE CASCADE,
    CONSTRAINT recipe_size_size_fk FOREIGN KEY (size_id) REFERENCES sizes (id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- « Suppléments » (0 to 2), « Base » (exactly 1 of tomate or crème): the customer's choices
-- within a group are bounded, and the server checks the bounds.
CREATE TABLE option_groups (
    id          BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    code        VARCHAR(32)      NOT NULL,
    name        VARCHAR(120)     NOT NULL,
    min_choices TINYINT UNSIGNED NOT NULL DEFAULT 0,
    max_choices TINYINT UNSIGNED NOT NULL DEFAULT 1,
    CONSTRAINT option_groups_code_unique UNIQUE (code),
    CONSTRAINT option_groups_bounds CHECK (min_choices <= max_choices AND max_choices > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One choice in a group: the ingredient it adds (for the size of factor 100) and its price
-- (`option_prices` for a size that costs more). A default is what a customer who says nothing
-- gets.
CREATE TABLE options (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    group_id      BIGINT UNSIGNED   NOT NULL,
    code          VARCHAR(32)       NOT NULL,
    name          VARCHAR(120)      NOT NULL,
    ingredient_id BIGINT UNSIGNED   NULL,
    quantity      INT UNSIGNED      NOT NULL DEFAULT 0,
    price_cents   INT UNSIGNED      NOT NULL DEFAULT 0,
    is_default    BOOLEAN           NOT NULL DEFAULT FALSE,
    position      SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    CONSTRAINT options_code_unique UNIQUE (code),
    CONSTRAINT options_group_fk FOREIGN KEY (group_id) REFERENCES option_groups (id) ON DELETE CASCADE,
    CONSTRAINT options_ingredient_fk FOREIGN KEY (ingredient_id) REFERENCES ingredients (id),
    CONSTRAINT options_quantity_with_ingredient CHECK (ingredient_id IS NOT NULL OR quantity = 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE option_prices (
    option_id   BIGINT UNSIGNED NOT NULL,
    size_id     BIGINT UNSIGNED NOT NULL,
    price_cents INT UNSIGNED    NOT NULL,
    PRIMARY KEY (option_id, size_id),
    CONSTRAINT option_prices_option_fk FOREIGN KEY (option_id) REFERENCES options (id) ON DELETE CASCADE,
    CONSTRAINT option_prices_size_fk FOREIGN KEY (size_id) REFERENCES sizes (id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Which groups a pizza offers.
CREATE TABLE pizza_option_groups (
    pizza_id BIGINT UNSIGNED   NOT NULL,
    group_id BIGINT UNSIGNED   NOT NULL,
    position SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (pizza_id, group_id),
    CONSTRAINT pizza_option_groups_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id) ON DELETE CASCADE,
    CONSTRAINT pizza_option_groups_group_fk FOREIGN KEY (group_id) REFERENCES option_groups (id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- A line as sold: its size, its options and removals (with names and prices, so later menu
-- changes never rewrite past orders) and what one unit takes from the stock.
ALTER TABLE order_lines
    ADD COLUMN size_code VARCHAR(32) NULL AFTER pizza_name,
    ADD COLUMN size_name VARCHAR(60) NULL AFTER size_code,
    ADD COLUMN category ENUM('pizza', 'starter', 'drink', 'dessert') NOT NULL DEFAULT 'pizza' AFTER size_name;

CREATE TABLE order_line_choices (
    order_line_id BIGINT UNSIGNED   NOT NULL,
    position      SMALLINT UNSIGNED NOT NULL,
    -- choice: one of alternatives (a base); option: an extra; removal: an ingredient left out.
    kind          ENUM('choice', 'option', 'removal') NOT NULL,
    -- An option's code, or a removed ingredient's.
    code          VARCHAR(32)       NOT NULL,
    name          VARCHAR(120)      NOT NULL,
    group_name    VARCHAR(120)      NOT NULL DEFAULT '',
    price_cents   INT UNSIGNED      NOT NULL DEFAULT 0,
    PRIMARY KEY (order_line_id, position),
    CONSTRAINT order_line_choices_line_fk FOREIGN KEY (order_line_id) REFERENCES order_lines (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_line_ingredients (
    order_line_id BIGINT UNSIGNED NOT NULL,
    ingredient_id BIGINT UNSIGNED NOT NULL,
    quantity      INT UNSIGNED    NOT NULL,
    PRIMARY KEY (order_line_id, ingredient_id),
    CONSTRAINT order_line_ingredients_line_fk FOREIGN KEY (order_line_id) REFERENCES order_lines (id) ON DELETE CASCADE,
    CONSTRAINT order_line_ingredients_ingredient_fk FOREIGN KEY (ingredient_id) REFERENCES ingredients (id)
) ENGINE = InnoDB;

-- Lines sold before this change took their pizza's recipe as it stood.
INSERT INTO order_line_ingredients (order_line_id, ingredient_id, quantity)
SELECT ol.id, rl.ingredient_id, rl.quantity
FROM order_lines ol JOIN recipe_lines rl ON rl.pizza_id = ol.pizza_id;
