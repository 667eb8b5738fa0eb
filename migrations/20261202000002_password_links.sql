-- Single-use links that prove an e-mail address (a forgotten password, or claiming an account
-- created at the counter): only the token's SHA-256 is kept; each link expires and works once.
CREATE TABLE password_links (
    id          BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    user_id     BIGINT UNSIGNED NOT NULL,
    token_hash  CHAR(64)        NOT NULL,
    created_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    expires_at  DATETIME(6)     NOT NULL,
    used_at     DATETIME(6)     NULL,
    CONSTRAINT password_links_token_unique UNIQUE (token_hash),
    CONSTRAINT password_links_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    INDEX password_links_user (user_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
