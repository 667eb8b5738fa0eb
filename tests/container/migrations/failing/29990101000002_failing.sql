-- A migration that fails half-way, for update.sh's rollback in the install test
-- (tests/it/install.rs): built with the db crate's `failing-migration` feature. MariaDB commits
-- DDL at once, so the first table stays: "the database may be partly migrated".
CREATE TABLE failing_probe (id BIGINT UNSIGNED NOT NULL PRIMARY KEY) ENGINE = InnoDB;
INSERT INTO table_that_does_not_exist (id) VALUES (1);
