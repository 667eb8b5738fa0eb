-- OC Pizza schema. Runs unchanged on MariaDB 10.11 and MySQL 8.
-- Conventions: ids are BIGINT UNSIGNED; money is integer cents; times are UTC in DATETIME(6)
-- (every connection sets time_zone = '+00:00'); foreign keys are table constraints because MySQL
-- ignores inline REFERENCES.

CREATE TABLE pizzerias (
    id              BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    code            VARCHAR(32)  NOT NULL,
    name            VARCHAR(120) NOT NULL,
    street          VARCHAR(200) NOT NULL,
    postal_code     VARCHAR(10)  NOT NULL,
    city            VARCHAR(100) NOT NULL,
    phone           VARCHAR(30)  NOT NULL,
    email           VARCHAR(254) NOT NULL,
    -- Local (Europe/Paris) opening ranges, e.g. "11:30-14:30 18:00-23:00", parsed by the catalog crate.
    opening_hours   VARCHAR(200) NOT NULL,
    -- Space-separated weekdays the shop is closed ("mon tue ..."), empty when open every day.
    closed_days     VARCHAR(40)  NOT NULL DEFAULT '',
    offers_delivery BOOLEAN      NOT NULL DEFAULT TRUE,
    offers_pickup   BOOLEAN      NOT NULL DEFAULT TRUE,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT pizzerias_code_unique UNIQUE (code)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE users (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    email         VARCHAR(254) NOT NULL,
    full_name     VARCHAR(120) NOT NULL,
    phone         VARCHAR(30)  NULL,
    role          ENUM('customer', 'counter', 'pizzaiolo', 'delivery', 'manager', 'admin') NOT NULL,
    -- Staff other than the group admin belong to exactly one pizzeria.
    pizzeria_id   BIGINT UNSIGNED NULL,
    -- Argon2id PHC string; NULL for phone customers created by the counter who never set a password.
    password_hash VARCHAR(255) NULL,
    active        BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT users_email_unique UNIQUE (email),
    CONSTRAINT users_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT users_staff_pizzeria CHECK (role IN ('customer', 'admin') OR pizzeria_id IS NOT NULL)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE addresses (
    id           BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    user_id      BIGINT UNSIGNED NOT NULL,
    label        VARCHAR(60)  NOT NULL,
    street       VARCHAR(200) NOT NULL,
    complement   VARCHAR(200) NOT NULL DEFAULT '',
    postal_code  VARCHAR(10)  NOT NULL,
    city         VARCHAR(100) NOT NULL,
    instructions VARCHAR(300) NOT NULL DEFAULT '',
    created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT addresses_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE ingredients (
    id   BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    code VARCHAR(32)  NOT NULL,
    name VARCHAR(120) NOT NULL,
    unit ENUM('g', 'ml', 'piece') NOT NULL,
    CONSTRAINT ingredients_code_unique UNIQUE (code)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE pizzas (
    id          BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    code        VARCHAR(32)  NOT NULL,
    name        VARCHAR(120) NOT NULL,
    description VARCHAR(500) NOT NULL DEFAULT '',
    price_cents INT UNSIGNED NOT NULL,
    active      BOOLEAN      NOT NULL DEFAULT TRUE,
    CONSTRAINT pizzas_code_unique UNIQUE (code),
    CONSTRAINT pizzas_price_positive CHECK (price_cents > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Which pizzas a pizzeria sells. A pizza with no row here is on every pizzeria's menu.
CREATE TABLE pizzeria_pizzas (
    pizzeria_id BIGINT UNSIGNED NOT NULL,
    pizza_id    BIGINT UNSIGNED NOT NULL,
    available   BOOLEAN NOT NULL,
    PRIMARY KEY (pizzeria_id, pizza_id),
    CONSTRAINT pizzeria_pizzas_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT pizzeria_pizzas_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id)
) ENGINE = InnoDB;

CREATE TABLE recipe_lines (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    pizza_id      BIGINT UNSIGNED NOT NULL,
    ingredient_id BIGINT UNSIGNED NOT NULL,
    -- In the ingredient's unit.
    quantity      INT UNSIGNED NOT NULL,
    note          VARCHAR(200) NOT NULL DEFAULT '',
    CONSTRAINT recipe_lines_unique UNIQUE (pizza_id, ingredient_id),
    CONSTRAINT recipe_lines_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id) ON DELETE CASCADE,
    CONSTRAINT recipe_lines_ingredient_fk FOREIGN KEY (ingredient_id) REFERENCES ingredients (id),
    CONSTRAINT recipe_lines_quantity_positive CHECK (quantity > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE recipe_steps (
    id       BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    pizza_id BIGINT UNSIGNED NOT NULL,
    position SMALLINT UNSIGNED NOT NULL,
    text     VARCHAR(500) NOT NULL,
    CONSTRAINT recipe_steps_unique UNIQUE (pizza_id, position),
    CONSTRAINT recipe_steps_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE stock (
    pizzeria_id   BIGINT UNSIGNED NOT NULL,
    ingredient_id BIGINT UNSIGNED NOT NULL,
    quantity      BIGINT      NOT NULL,
    low_threshold BIGINT      NOT NULL DEFAULT 0,
    -- Set when the low-stock alert went out, cleared when a restock lifts the quantity above the
    -- threshold again: the manager is alerted once per crossing.
    low_alerted   BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (pizzeria_id, ingredient_id),
    CONSTRAINT stock_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT stock_ingredient_fk FOREIGN KEY (ingredient_id) REFERENCES ingredients (id),
    CONSTRAINT stock_never_negative CHECK (quantity >= 0),
    CONSTRAINT stock_threshold_non_negative CHECK (low_threshold >= 0)
) ENGINE = InnoDB;

CREATE TABLE orders (
    id                BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    pizzeria_id       BIGINT UNSIGNED NOT NULL,
    customer_id       BIGINT UNSIGNED NOT NULL,
    channel           ENUM('web', 'counter', 'phone') NOT NULL,
    fulfilment        ENUM('delivery', 'pickup') NOT NULL,
    status            ENUM('awaiting_payment', 'placed', 'confirmed', 'preparing', 'ready',
                           'out_for_delivery', 'delivered', 'picked_up', 'cancelled', 'rejected') NOT NULL,
    -- online: Stripe at checkout; on_site: paid to the delivery rider or at the counter.
    payment_mode      ENUM('online', 'on_site') NOT NULL,
    -- Snapshots: what the kitchen and the rider need even if the customer edits their profile.
    customer_name     VARCHAR(120) NOT NULL,
    customer_phone    VARCHAR(30)  NOT NULL DEFAULT '',
    delivery_street       VARCHAR(200) NULL,
    delivery_complement   VARCHAR(200) NULL,
    delivery_postal_code  VARCHAR(10)  NULL,
    delivery_city         VARCHAR(100) NULL,
    delivery_instructions VARCHAR(300) NULL,
    -- NULL means as soon as possible.
    desired_at        DATETIME(6)  NULL,
    notes             VARCHAR(500) NOT NULL DEFAULT '',
    total_cents       INT UNSIGNED NOT NULL,
    -- Client-chosen key: a double submit of the same checkout finds the first order.
    idempotency_key   VARCHAR(64)  NOT NULL,
    -- Bumped by every change, so concurrent edits are detected.
    version           INT UNSIGNED NOT NULL DEFAULT 1,
    rejection_reason  VARCHAR(500) NULL,
    created_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT orders_idempotency_unique UNIQUE (customer_id, idempotency_key),
    CONSTRAINT orders_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES users (id),
    CONSTRAINT orders_delivery_has_address CHECK (fulfilment = 'pickup' OR delivery_street IS NOT NULL),
    INDEX orders_pizzeria_status (pizzeria_id, status, created_at),
    INDEX orders_customer (customer_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_lines (
    id               BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    order_id         BIGINT UNSIGNED NOT NULL,
    pizza_id         BIGINT UNSIGNED NOT NULL,
    -- Name and price as sold, so later menu changes never rewrite past orders.
    pizza_name       VARCHAR(120) NOT NULL,
    unit_price_cents INT UNSIGNED NOT NULL,
    quantity         INT UNSIGNED NOT NULL,
    notes            VARCHAR(300) NOT NULL DEFAULT '',
    CONSTRAINT order_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT order_lines_pizza_fk FOREIGN KEY (pizza_id) REFERENCES pizzas (id),
    CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_status_history (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    order_id      BIGINT UNSIGNED NOT NULL,
    from_status   VARCHAR(20)  NULL,
    to_status     VARCHAR(20)  NOT NULL,
    -- Who: a user (customer or staff) or the system (a worker), never anonymous.
    actor_user_id BIGINT UNSIGNED NULL,
    actor_kind    ENUM('customer', 'staff', 'system') NOT NULL,
    reason        VARCHAR(500) NOT NULL DEFAULT '',
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT order_status_history_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT order_status_history_actor_fk FOREIGN KEY (actor_user_id) REFERENCES users (id),
    INDEX order_status_history_order (order_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE payments (
    id                 BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    order_id           BIGINT UNSIGNED NOT NULL,
    -- stripe for online payments; the others are collected by the rider or at the counter.
    method             ENUM('stripe', 'cash', 'card', 'meal_voucher', 'cheque') NOT NULL,
    status             ENUM('pending', 'authorised', 'captured', 'voided', 'refunded', 'failed', 'collected') NOT NULL,
    amount_cents       INT UNSIGNED NOT NULL,
    captured_cents     INT UNSIGNED NOT NULL DEFAULT 0,
    refunded_cents     INT UNSIGNED NOT NULL DEFAULT 0,
    stripe_payment_intent_id VARCHAR(255) NULL,
    collected_by       BIGINT UNSIGNED NULL,
    failure_reason     VARCHAR(500) NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT payments_intent_unique UNIQUE (stripe_payment_intent_id),
    CONSTRAINT payments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT payments_collected_by_fk FOREIGN KEY (collected_by) REFERENCES users (id),
    INDEX payments_order (order_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Stripe webhook events already handled: a replayed event is acknowledged and ignored.
CREATE TABLE stripe_events (
    id          VARCHAR(255) PRIMARY KEY,
    event_type  VARCHAR(100) NOT NULL,
    received_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB;

CREATE TABLE stock_ledger (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    pizzeria_id   BIGINT UNSIGNED NOT NULL,
    ingredient_id BIGINT UNSIGNED NOT NULL,
    order_id      BIGINT UNSIGNED NULL,
    delta         BIGINT       NOT NULL,
    reason        ENUM('seed', 'reservation', 'release', 'restock', 'correction') NOT NULL,
    note          VARCHAR(300) NOT NULL DEFAULT '',
    user_id       BIGINT UNSIGNED NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    -- An order reserves, and gives back, each ingredient at most once.
    CONSTRAINT stock_ledger_once_per_order UNIQUE (order_id, ingredient_id, reason),
    CONSTRAINT stock_ledger_stock_fk FOREIGN KEY (pizzeria_id, ingredient_id) REFERENCES stock (pizzeria_id, ingredient_id),
    CONSTRAINT stock_ledger_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT stock_ledger_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    INDEX stock_ledger_shop (pizzeria_id, ingredient_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE printers (
    id           BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    pizzeria_id  BIGINT UNSIGNED NULL,
    name         VARCHAR(120) NOT NULL,
    host         VARCHAR(255) NOT NULL,
    port         SMALLINT UNSIGNED NOT NULL DEFAULT 9100,
    -- main: the pizzeria's kitchen printer; backup: used when the main one keeps failing.
    role         ENUM('main', 'backup') NOT NULL,
    active       BOOLEAN      NOT NULL DEFAULT TRUE,
    last_error   VARCHAR(500) NULL,
    last_ok_at   DATETIME(6)  NULL,
    CONSTRAINT printers_name_unique UNIQUE (pizzeria_id, name),
    CONSTRAINT printers_pizzeria_fk FOREIGN KEY (pizzeria_id) REFERENCES pizzerias (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE tickets (
    id           BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    order_id     BIGINT UNSIGNED NOT NULL,
    kind         ENUM('original', 'reprint') NOT NULL,
    printer_id   BIGINT UNSIGNED NULL,
    via_backup   BOOLEAN      NOT NULL DEFAULT FALSE,
    status       ENUM('pending', 'printed', 'failed') NOT NULL DEFAULT 'pending',
    attempts     INT UNSIGNED NOT NULL DEFAULT 0,
    last_error   VARCHAR(500) NULL,
    requested_by BIGINT UNSIGNED NULL,
    created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    printed_at   DATETIME(6)  NULL,
    -- One original ticket per order, however often the confirmation is redelivered.
    original_of  BIGINT UNSIGNED AS (IF(kind = 'original', order_id, NULL)) STORED,
    CONSTRAINT tickets_one_original UNIQUE (original_of),
    CONSTRAINT tickets_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT tickets_printer_fk FOREIGN KEY (printer_id) REFERENCES printers (id),
    CONSTRAINT tickets_requested_by_fk FOREIGN KEY (requested_by) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE email_log (
    id          BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    -- Stable per (order, template) or per alert: a redelivered message finds its row and sends nothing.
    message_id  VARCHAR(255) NOT NULL,
    order_id    BIGINT UNSIGNED NULL,
    template    VARCHAR(60)  NOT NULL,
    recipient   VARCHAR(254) NOT NULL,
    subject     VARCHAR(255) NOT NULL,
    status      ENUM('sending', 'sent', 'failed') NOT NULL,
    attempts    INT UNSIGNED NOT NULL DEFAULT 0,
    last_error  VARCHAR(500) NULL,
    created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    sent_at     DATETIME(6)  NULL,
    CONSTRAINT email_log_message_unique UNIQUE (message_id),
    CONSTRAINT email_log_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Transactional outbox: written in the same transaction as the change it announces, published by
-- the relay with publisher confirms, marked published only after the broker confirmed.
CREATE TABLE outbox (
    id            BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    message_id    CHAR(36)     NOT NULL,
    routing_key   VARCHAR(120) NOT NULL,
    payload       MEDIUMTEXT   NOT NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    published_at  DATETIME(6)  NULL,
    -- A relay leases a batch so that several relays rarely publish the same row.
    claimed_by    VARCHAR(64)  NULL,
    claimed_until DATETIME(6)  NULL,
    attempts      INT UNSIGNED NOT NULL DEFAULT 0,
    last_error    VARCHAR(500) NULL,
    CONSTRAINT outbox_message_unique UNIQUE (message_id),
    INDEX outbox_pending (published_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Idempotent consumers: the effect of a message and this row commit together.
CREATE TABLE processed_messages (
    consumer     VARCHAR(64) NOT NULL,
    message_id   CHAR(36)    NOT NULL,
    processed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (consumer, message_id)
) ENGINE = InnoDB;
