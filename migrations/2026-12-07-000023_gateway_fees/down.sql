DROP INDEX payments_fee_unrecorded_idx;
ALTER TABLE payments DROP COLUMN gateway_fee_minor;
