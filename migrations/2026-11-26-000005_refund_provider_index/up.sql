-- Refund webhooks look refunds up by the gateway's id.
CREATE INDEX refunds_provider_refund_idx ON refunds (provider_refund_id) WHERE provider_refund_id IS NOT NULL;
