-- A session opened by a one-time link ends after `idle_secs` without a
-- request; `last_seen_at` is when it was last used.
ALTER TABLE console_sessions
    ADD COLUMN idle_secs INTEGER CHECK (idle_secs > 0),
    ADD COLUMN last_seen_at TIMESTAMPTZ;
UPDATE console_sessions SET last_seen_at = created_at;
ALTER TABLE console_sessions ALTER COLUMN last_seen_at SET NOT NULL;
CREATE INDEX console_sessions_by_user ON console_sessions (user_id) WHERE ended_at IS NULL;
