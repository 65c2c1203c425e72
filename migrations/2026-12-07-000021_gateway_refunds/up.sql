-- Where a refund came from (domain::refund::RefundOrigin): asked for
-- through the API or the console (`request`), made at the gateway outside
-- Skillpay and recorded from its report (`gateway`), or made by Skillpay
-- itself for money it could not deliver against (`recovery`). Only a
-- request has a requester.
ALTER TABLE refunds ADD COLUMN origin text NOT NULL DEFAULT 'request'
    CHECK (origin IN ('request', 'gateway', 'recovery'));
ALTER TABLE refunds ALTER COLUMN requested_by DROP NOT NULL;
ALTER TABLE refunds ADD CONSTRAINT refunds_requester_check CHECK ((origin = 'request') = (requested_by IS NOT NULL));
-- A gateway's refund is recorded once, however many deliveries report it.
DROP INDEX refunds_provider_refund_idx;
CREATE UNIQUE INDEX refunds_provider_refund_idx ON refunds (provider_refund_id) WHERE provider_refund_id IS NOT NULL;
-- A webhook acted on as far as it could be, but needing a person (a
-- gateway refund above what is left, a payment Skillpay does not know):
-- processed, so the gateway stops delivering it, and why.
ALTER TABLE payment_webhook_logs ADD COLUMN needs_attention text;
CREATE INDEX payment_webhook_logs_attention_idx ON payment_webhook_logs (created_at) WHERE needs_attention IS NOT NULL;
