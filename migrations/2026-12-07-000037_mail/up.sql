-- E-mail notifications (docs/notifications.md): contact records kept by
-- the platform, and the messages derived from outbox events.

CREATE TABLE contacts (
    user_id    bigint      PRIMARY KEY CHECK (user_id > 0),
    email      text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email !~ '[\r\n]'),
    name       text        CHECK (char_length(name) <= 200 AND name !~ '[\r\n]'),
    locale     text        NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'de', 'fr', 'ja')),
    updated_at timestamptz NOT NULL
);

-- Every event already written predates mail: none is mailed.
ALTER TABLE outbox_events ADD COLUMN mail_routed_at timestamptz;
UPDATE outbox_events SET mail_routed_at = now();
CREATE INDEX outbox_events_mail_unrouted_idx ON outbox_events (created_at, id) WHERE mail_routed_at IS NULL;

CREATE TABLE mail_messages (
    id               uuid        PRIMARY KEY,
    event_id         uuid        NOT NULL REFERENCES outbox_events (id),
    template         text        NOT NULL CHECK (char_length(template) BETWEEN 1 AND 100),
    audience         text        NOT NULL CHECK (audience IN ('buyer', 'instructor', 'admins')),
    status           text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    locked_until     timestamptz,
    first_attempt_at timestamptz,
    last_error       text,
    recipients       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    UNIQUE (event_id, template)
);
CREATE INDEX mail_messages_due_idx ON mail_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_messages_created_idx ON mail_messages (created_at DESC, id DESC);
