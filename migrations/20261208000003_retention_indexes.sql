-- The retention rounds (db::retention) find old rows by these times.
CREATE INDEX processed_messages_at ON processed_messages (processed_at);
CREATE INDEX email_log_created ON email_log (created_at);
CREATE INDEX stripe_events_received ON stripe_events (received_at);
CREATE INDEX password_links_expiry ON password_links (expires_at);
