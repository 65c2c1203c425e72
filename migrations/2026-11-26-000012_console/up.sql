-- The admin console: sign-in links, sessions and the audit log.

-- One-time sign-in links printed by `skillpay admin-link`. Only the SHA-256
-- of the link's secret is kept, so the table leaks nothing usable.
CREATE TABLE console_sign_in_links (
    token_hash  bytea       PRIMARY KEY,
    user_id     bigint      NOT NULL,
    role        text        NOT NULL CHECK (role IN ('admin', 'instructor')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

-- Console sessions, looked up by the SHA-256 of the cookie's secret. The
-- CSRF token every form carries is per session.
CREATE TABLE console_sessions (
    token_hash  bytea       PRIMARY KEY,
    user_id     bigint      NOT NULL,
    role        text        NOT NULL CHECK (role IN ('admin', 'instructor')),
    csrf_token  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- Who did what from the console, when, with the object before and after.
CREATE TABLE console_audit_log (
    id          bigserial   PRIMARY KEY,
    actor_id    bigint      NOT NULL,
    actor_role  text        NOT NULL,
    action      text        NOT NULL,
    object_id   text        NOT NULL,
    before      jsonb,
    after       jsonb,
    at          timestamptz NOT NULL
);
CREATE INDEX console_audit_log_object_idx ON console_audit_log (object_id, id);

CREATE FUNCTION console_audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER console_audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON console_audit_log
    FOR EACH ROW EXECUTE FUNCTION console_audit_log_is_append_only();
