DROP INDEX console_sessions_by_user;
ALTER TABLE console_sessions DROP COLUMN last_seen_at, DROP COLUMN idle_secs;
