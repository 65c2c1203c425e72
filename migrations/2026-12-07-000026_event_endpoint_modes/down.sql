-- Endpoints receive both modes again. Deliveries ended by the up migration
-- stay dead: replay them to send them.
ALTER TABLE event_endpoints DROP COLUMN livemode;
