DROP INDEX payment_webhook_logs_attention_idx;
ALTER TABLE payment_webhook_logs DROP COLUMN needs_attention;
DROP INDEX refunds_provider_refund_idx;
CREATE INDEX refunds_provider_refund_idx ON refunds (provider_refund_id) WHERE provider_refund_id IS NOT NULL;
ALTER TABLE refunds DROP CONSTRAINT refunds_requester_check;
-- The payer stands in for a requester the older schema cannot leave out.
UPDATE refunds r SET requested_by = p.user_id FROM payments p WHERE p.id = r.payment_id AND r.requested_by IS NULL;
ALTER TABLE refunds ALTER COLUMN requested_by SET NOT NULL;
ALTER TABLE refunds DROP COLUMN origin;
