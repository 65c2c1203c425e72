-- The processing fee a gateway kept out of a payment's charge, once it has
-- reported it (domain::usecases::payments::gateway_fees); its journal is
-- `gateway_fee`.
ALTER TABLE payments ADD COLUMN gateway_fee_minor bigint CHECK (gateway_fee_minor >= 0);
-- The sweep reads the fees of recently completed gateway payments.
CREATE INDEX payments_fee_unrecorded_idx ON payments (completed_at)
    WHERE gateway_fee_minor IS NULL AND provider_payment_id IS NOT NULL AND completed_at IS NOT NULL;
