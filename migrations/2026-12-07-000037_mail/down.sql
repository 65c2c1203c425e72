DROP TABLE mail_messages;
DROP INDEX outbox_events_mail_unrouted_idx;
ALTER TABLE outbox_events DROP COLUMN mail_routed_at;
DROP TABLE contacts;
