-- Money given back: each refund is a row, asked for by staff (or by the end of an order whose
-- payment was captured), carried out once by the payments worker for Stripe, or handed back from
-- the till at once for a payment collected on site. The end-of-day report sums the `done` ones.
CREATE TABLE refunds (
    id               BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    order_id         BIGINT UNSIGNED NOT NULL,
    payment_id       BIGINT UNSIGNED NOT NULL,
    method           ENUM('stripe', 'cash', 'card', 'meal_voucher', 'cheque') NOT NULL,
    amount_cents     INT UNSIGNED NOT NULL,
    status           ENUM('requested', 'done', 'failed') NOT NULL,
    -- Why (the complaint, the lines given back), shown on the order.
    reason           VARCHAR(500) NOT NULL DEFAULT '',
    -- NULL when the end of the order asked for it (cancelled or rejected after capture).
    requested_by     BIGINT UNSIGNED NULL,
    stripe_refund_id VARCHAR(255) NULL,
    failure_reason   VARCHAR(500) NULL,
    created_at       DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    done_at          DATETIME(6)  NULL,
    CONSTRAINT refunds_amount_positive CHECK (amount_cents > 0),
    CONSTRAINT refunds_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT refunds_payment_fk FOREIGN KEY (payment_id) REFERENCES payments (id),
    CONSTRAINT refunds_requested_by_fk FOREIGN KEY (requested_by) REFERENCES users (id),
    INDEX refunds_order (order_id, id),
    INDEX refunds_done (status, done_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
