-- An order's ticket about to be written to a printer, recorded and committed on its own before
-- the bytes leave: if the transaction that marks the ticket printed is then cut (the database
-- restarting, the worker killed), the next attempt knows the kitchen may already hold a copy
-- and prints « DOUBLON POSSIBLE ». state: sending (bytes may have left), failed (every printer
-- refused before taking anything), printed (committed with the ticket). No foreign key: the
-- mark is written while the printing transaction holds the order's row, and the key's check
-- would wait for it.
CREATE TABLE ticket_sends (
    order_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    state      ENUM('sending', 'failed', 'printed') NOT NULL,
    sends      INT UNSIGNED NOT NULL DEFAULT 0,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB;

ALTER TABLE tickets ADD COLUMN possible_duplicate BOOLEAN NOT NULL DEFAULT FALSE AFTER via_backup;
