-- What the metrics scrape reads, kept cheap whatever the history.
CREATE INDEX payment_webhook_logs_unprocessed_idx ON payment_webhook_logs (created_at) WHERE NOT processed;
CREATE INDEX event_deliveries_dead_idx ON event_deliveries (created_at) WHERE status = 'dead';
