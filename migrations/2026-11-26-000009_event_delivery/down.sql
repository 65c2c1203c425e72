DROP TABLE event_delivery_attempts;
DROP TABLE event_deliveries;
DROP INDEX outbox_events_unrouted_idx;
ALTER TABLE outbox_events DROP COLUMN routed_at;
DROP TABLE event_endpoints;
