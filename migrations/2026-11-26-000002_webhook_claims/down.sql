ALTER TABLE payment_webhook_logs DROP COLUMN claimed_until;
