ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_fee_within_amount;
ALTER TABLE payment_disputes DROP COLUMN fee_held_minor;
