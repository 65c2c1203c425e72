-- The platform-fee part of a dispute's held amount (the rest is the
-- instructor's), so release and loss reverse exactly what was held.
ALTER TABLE payment_disputes ADD COLUMN fee_held_minor bigint NOT NULL DEFAULT 0 CHECK (fee_held_minor >= 0);
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_fee_within_amount CHECK (fee_held_minor <= amount_minor);
