-- A delivery being processed holds a short claim, so concurrent copies of
-- the same event are acknowledged without processing it twice, and a
-- crashed processor's claim lapses for the next delivery.
ALTER TABLE payment_webhook_logs ADD COLUMN claimed_until timestamptz;
