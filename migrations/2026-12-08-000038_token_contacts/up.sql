-- Contact records learnt from tokens (docs/notifications.md#addresses):
-- a record the platform put through the API wins, and a token's claims
-- only fill in or follow a record that came from a token.
ALTER TABLE contacts ADD COLUMN source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'token'));
