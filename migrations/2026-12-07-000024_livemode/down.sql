ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_payment_mode_fkey;
ALTER TABLE payment_disputes DROP COLUMN livemode;
ALTER TABLE refunds DROP CONSTRAINT refunds_payment_mode_fkey;
ALTER TABLE refunds DROP COLUMN livemode;
ALTER TABLE payments DROP CONSTRAINT payments_id_livemode_key;
ALTER TABLE payments DROP COLUMN livemode;
