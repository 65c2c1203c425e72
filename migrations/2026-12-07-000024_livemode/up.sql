-- Every payment, and every refund of it, belongs to one mode: live money,
-- or test money (the sandbox, Stripe test keys, PayPal's sandbox). Rows
-- from before: sandbox payments and their refunds are test money,
-- everything else live.
-- (The service always names the mode; the default serves rows written
-- by hand, such as the benchmark's seeds.)
ALTER TABLE payments ADD COLUMN livemode boolean NOT NULL DEFAULT true;
UPDATE payments SET livemode = false WHERE payment_method = 'sandbox';
-- What a refund's foreign key names, so a refund can only take its
-- payment's mode: the database refuses a mix, not only the code.
ALTER TABLE payments ADD CONSTRAINT payments_id_livemode_key UNIQUE (id, livemode);

ALTER TABLE refunds ADD COLUMN livemode boolean;
UPDATE refunds r SET livemode = p.livemode FROM payments p WHERE p.id = r.payment_id;
ALTER TABLE refunds ALTER COLUMN livemode SET NOT NULL;
ALTER TABLE refunds ADD CONSTRAINT refunds_payment_mode_fkey
    FOREIGN KEY (payment_id, livemode) REFERENCES payments (id, livemode);

-- A dispute is about one payment's money, of its mode.
ALTER TABLE payment_disputes ADD COLUMN livemode boolean;
UPDATE payment_disputes d SET livemode = p.livemode FROM payments p WHERE p.id = d.payment_id;
ALTER TABLE payment_disputes ALTER COLUMN livemode SET NOT NULL;
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_payment_mode_fkey
    FOREIGN KEY (payment_id, livemode) REFERENCES payments (id, livemode);
