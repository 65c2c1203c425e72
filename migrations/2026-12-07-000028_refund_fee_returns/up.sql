-- What a gateway gave back of its processing fee with a refund (PayPal
-- returns part of it; Stripe keeps it), read after the refund succeeded
-- and recorded once (domain::usecases::refunds::fees). NULL until read;
-- `fee_read_after` spaces the reads of a gateway that has not reported it.
ALTER TABLE refunds ADD COLUMN gateway_fee_returned_minor bigint;
ALTER TABLE refunds ADD COLUMN fee_read_after timestamptz;
-- The sweep's claim: processed gateway refunds whose figure is missing.
CREATE INDEX refunds_fee_unread_idx ON refunds (processed_at)
    WHERE gateway_fee_returned_minor IS NULL AND status = 'processed' AND provider_refund_id IS NOT NULL;
