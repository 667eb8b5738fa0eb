-- "A newer version" for the install test (tests/it/install.rs): the binaries built with the db
-- crate's `next-migration` feature carry this migration after the real ones. It changes
-- nothing the programs use.
CREATE TABLE update_probe (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    note VARCHAR(100) NOT NULL
) ENGINE = InnoDB;
INSERT INTO update_probe (note) VALUES ('applied by the newer version');
