-- Web sessions (tower-sessions records): the cookie holds only the random id.
CREATE TABLE sessions (
    id          VARCHAR(64)  PRIMARY KEY,
    data        MEDIUMTEXT   NOT NULL,
    expires_at  BIGINT       NOT NULL,
    INDEX sessions_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
