-- When the account's owner last proved they read its e-mail address: a password link mailed to
-- it was used (which also set the password and ended every session). Only a proven account gets
-- the orders placed without an account under that address (see order::claim): anyone can sign
-- up with anyone's address.
ALTER TABLE users ADD COLUMN email_proven_at DATETIME(6) NULL AFTER password_hash;
